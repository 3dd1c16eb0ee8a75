"""The back-office admin site: platform apps grouped by schema, every platform model registered."""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.conf import settings
from django.contrib import admin
from django.db import models
from django.http import HttpRequest
from django.template.response import TemplateResponse

from backoffice.platform_schemas import BY_NAME, SCHEMA_NAMES


class BackofficeAdminSite(admin.AdminSite):
    site_header = "Back-office"
    site_title = "Back-office"
    index_title = "Platform records"
    #: Admin class for platform models a schema's admin.py does not register itself.
    default_platform_admin: str = "apps.core.admin.PlatformModelAdmin"

    @property
    def login_form(self) -> type | None:  # type: ignore[override]
        """With REQUIRE_2FA the login form asks for a TOTP code as well as the password."""
        if settings.REQUIRE_2FA:
            from django_otp.admin import OTPAdminAuthenticationForm

            return OTPAdminAuthenticationForm
        return None

    @property
    def login_template(self) -> str | None:  # type: ignore[override]
        """With REQUIRE_2FA, django-otp's login page: the stock one would not show the code field."""
        if settings.REQUIRE_2FA:
            return "otp/admin111/login.html"
        return None

    def has_permission(self, request: HttpRequest) -> bool:
        allowed = super().has_permission(request)
        if allowed and settings.REQUIRE_2FA:
            return request.user.is_verified()
        return allowed

    def each_context(self, request: HttpRequest) -> dict[str, Any]:
        """Every admin page's context, plus the global navigation (only what this person may use)."""
        # Imported here: this module is loaded while the app registry is still being populated.
        from apps.core.dashboard import nav_links

        context = super().each_context(request)
        context["site_url"] = None  # "View site" would only lead back here: "/" is the admin
        context["backoffice_nav"] = (
            nav_links(request.user, path=request.path) if context["has_permission"] else []
        )
        return context

    def index(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> TemplateResponse:
        """The landing page: what this person's role needs first, above the records by schema."""
        from apps.core.dashboard import dashboard_for

        return super().index(request, {"dashboard": dashboard_for(request.user), **(extra_context or {})})

    def register(self, model_or_iterable: Any, admin_class: Any = None, **options: Any) -> None:
        models_ = (
            [model_or_iterable] if isinstance(model_or_iterable, models.base.ModelBase) else model_or_iterable
        )
        for model in models_:
            if model._meta.is_composite_pk:
                # Django 5.2's admin refuses composite keys; ours is read-only and addresses a
                # row by its key as JSON (CompositePrimaryKey.to_python parses it back).
                from apps.core.admin import CompositeKeyAdminMixin

                admin_class = type(
                    f"{model.__name__}Admin",
                    (CompositeKeyAdminMixin, admin_class or self._default_admin_class()),
                    options,
                )
                self._registry[model] = admin_class(model, self)
            else:
                super().register(model, admin_class, **options)

    def _default_admin_class(self) -> type:
        from django.utils.module_loading import import_string

        return import_string(self.default_platform_admin)

    def register_platform_models(self) -> None:
        """Register every platform model that its schema's admin.py left to the defaults."""
        default = self._default_admin_class()
        for schema in SCHEMA_NAMES:
            for model in apps.get_app_config(schema).get_models():
                if not self.is_registered(model):
                    self.register(model, default)

    def get_app_list(self, request: HttpRequest, app_label: str | None = None) -> list[dict[str, Any]]:
        app_list = super().get_app_list(request, app_label)
        for app in app_list:
            schema = BY_NAME.get(app["app_label"])
            if schema:
                app["name"] = f"{app['app_label']} · {schema.owner}"
                app["schema"] = schema.name
        # Our own apps first, then the platform's schemas in the reference order.
        order = {name: i for i, name in enumerate(SCHEMA_NAMES)}
        app_list.sort(key=lambda a: (a["app_label"] in order, order.get(a["app_label"], 0), a["name"]))
        return app_list
