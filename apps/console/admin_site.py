"""The back-office admin site: platform apps grouped by schema, every platform model registered."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

from django.apps import apps
from django.conf import settings
from django.contrib import admin
from django.core.cache import cache
from django.db import models
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.module_loading import import_string

from apps.access.forms import TwoFactorLoginForm
from apps.console.dashboard import dashboard_for, nav_links
from apps.core.admin import CompositeKeyAdminMixin
from apps.core.params import checked_changelist
from apps.core.types import staff_request
from backoffice.platform_schemas import BY_NAME, SCHEMA_NAMES


class BackofficeAdminSite(admin.AdminSite):
    site_header = "Back-office"
    site_title = "Back-office"
    index_title = "Platform records"
    #: Admin class for platform models a schema's admin.py does not register itself.
    default_platform_admin: str = "apps.console.admin.PlatformModelAdmin"
    #: Seconds a person's app list, and the navigation sidebar drawn from it, are reused. Both are
    #: keyed by that person's permissions, so a role change shows on the next page. 0 turns it off.
    #: Why: 94 models across 23 schemas cost every admin page ~18 ms of permission checks, URL
    #: reversing and 50 KB of sidebar markup, more than the page's own query and rows together.
    app_list_cache_timeout: int = 300

    @property
    def login_form(self) -> type | None:  # type: ignore[override]  # Django's is a class attribute
        """With REQUIRE_2FA the login form asks for a TOTP code with the password, checking both together."""
        if settings.REQUIRE_2FA:
            return TwoFactorLoginForm
        return None

    @property
    def login_template(self) -> str | None:  # type: ignore[override]  # Django's is a class attribute
        """With REQUIRE_2FA, django-otp's login page: the stock one would not show the code field."""
        if settings.REQUIRE_2FA:
            return "otp/admin111/login.html"
        return None

    def admin_view(self, view: Any, cacheable: bool = False) -> Any:
        """Every admin view; a model's changelist first checks its parameters (apps.core.params)."""
        model_admin = getattr(view, "__self__", None)
        if isinstance(model_admin, admin.ModelAdmin) and view.__name__ == "changelist_view":
            view = checked_changelist(model_admin, view)
        return super().admin_view(view, cacheable)

    def has_permission(self, request: HttpRequest) -> bool:
        allowed = super().has_permission(request)
        if allowed and settings.REQUIRE_2FA:
            return request.user.is_verified()  # type: ignore[union-attr]  # django-otp's OTPMiddleware adds it
        return allowed

    def each_context(self, request: HttpRequest) -> dict[str, Any]:
        """Every admin page's context, plus the global navigation (only what this person may use)."""
        context = super().each_context(request)
        context["site_url"] = None  # "View site" would only lead back here: "/" is the admin
        key = self.get_app_list_cache_key(request)
        context["nav_sidebar_cache"] = (
            (self.app_list_cache_timeout, key, self._current_model_path(request)) if key else None
        )
        context["backoffice_nav"] = (
            nav_links(staff_request(request).user, path=request.path) if context["has_permission"] else []
        )
        return context

    def index(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> TemplateResponse:
        """The landing page: what this person's role needs first, above the records by schema."""
        return super().index(
            request, {"dashboard": dashboard_for(staff_request(request).user), **(extra_context or {})}
        )

    def register(
        self,
        model_or_iterable: type[models.Model] | Iterable[type[models.Model]],
        admin_class: Any = None,
        **options: Any,
    ) -> None:
        models_: Iterable[type[models.Model]] = (
            [model_or_iterable] if isinstance(model_or_iterable, models.base.ModelBase) else model_or_iterable
        )
        for model in models_:
            if model._meta.is_composite_pk:
                # Django 5.2's AdminSite.register refuses composite keys (support is Django ticket
                # #35953); there is no public way around it, so the model is put in the registry
                # directly. Ours is read-only and addresses a row by its key as JSON
                # (CompositePrimaryKey.to_python parses it back). A test fails loudly the day
                # Django accepts them, so this can go: tests/console/test_private_apis.py.
                admin_class = type(
                    f"{model.__name__}Admin",
                    (CompositeKeyAdminMixin, admin_class or self._default_admin_class()),
                    options,
                )
                self._registry[model] = admin_class(model, self)
            else:
                super().register(model, admin_class, **options)

    def _default_admin_class(self) -> type:
        return import_string(self.default_platform_admin)

    def register_platform_models(self) -> None:
        """Register every platform model that its schema's admin.py left to the defaults."""
        default = self._default_admin_class()
        for schema in SCHEMA_NAMES:
            for model in apps.get_app_config(schema).get_models():
                if not self.is_registered(model):
                    self.register(model, default)

    def get_app_list_cache_key(self, request: HttpRequest) -> str | None:
        """The cache key of this person's app list, or None not to cache it.

        An override must return a key that changes whenever the list would: the default hashes
        the person's permissions (what Django's admin builds the list from).
        """
        user = request.user
        if not self.app_list_cache_timeout or not user.is_active or not user.is_staff:
            return None
        perms = "*" if user.is_superuser else "\n".join(sorted(user.get_all_permissions()))
        return f"admin-app-list:{self.name}:{hashlib.sha256(perms.encode()).hexdigest()[:32]}"

    def _current_model_path(self, request: HttpRequest) -> str:
        """``<app>/<model>`` of the page, what the sidebar marks as current ("" outside models).

        The cached sidebar varies by it, not by the whole path, so a record's page reuses its list's.
        """
        index = reverse("admin:index", current_app=self.name)
        if not request.path.startswith(index):
            return ""
        return "/".join(request.path[len(index) :].split("/")[:2])

    def get_app_list(self, request: HttpRequest, app_label: str | None = None) -> list[dict[str, Any]]:
        key = self.get_app_list_cache_key(request) if app_label is None else None
        if key is None:
            return self._build_app_list(request, app_label)
        app_list = cache.get(key)
        if app_list is None:
            app_list = self._build_app_list(request, app_label)
            # Lazy translations (the names) do not pickle; the list is built in one language.
            for app in app_list:
                app["name"] = str(app["name"])
                for model in app["models"]:
                    model["name"] = str(model["name"])
            cache.set(key, app_list, self.app_list_cache_timeout)
        return app_list

    def _build_app_list(self, request: HttpRequest, app_label: str | None) -> list[dict[str, Any]]:
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
