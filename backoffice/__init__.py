"""The Django project. Every settings module lives in this package, so whatever loads the settings
(manage.py, WSGI, pytest, mypy's Django plugin) runs this first."""

import django_stubs_ext

# Django's generic classes (ModelAdmin, QuerySet, ...) subscriptable at run time, as the type
# checker sees them: ``admin.ModelAdmin[ActionRequest]`` as a base class. Nothing else changes.
django_stubs_ext.monkeypatch(include_builtins=False)
