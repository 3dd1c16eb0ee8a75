"""Local development and the demo: debug on, a throwaway secret key if none is set, the demo tools."""

from .base import *  # noqa: F403
from .base import DEMO_APPS, INSTALLED_APPS, env

DEBUG = env.bool("DJANGO_DEBUG", default=True)
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="insecure-local-only-key-do-not-deploy")
INSTALLED_APPS = INSTALLED_APPS + DEMO_APPS

# Local runs (runserver, make demo) need no collectstatic; `make serve` uses the manifest.
if DEBUG:
    STORAGES = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }

# A fixed, public key: local anchors prove nothing to anyone else. Set AUDIT_ANCHOR_KEY to test your own.
AUDIT_ANCHOR_KEY = env.str("AUDIT_ANCHOR_KEY", default="local-only-anchor-key-do-not-deploy")
