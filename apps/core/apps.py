from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class CoreConfig(AppConfig):
    """Shared mechanisms: the platform router, read-only models and admin base classes."""

    default = True
    name = "apps.core"
    label = "core"
    verbose_name = "Back-office core"


class BackofficeAdminConfig(admin_apps.AdminConfig):
    """Django's admin with the back-office site, which registers every platform model."""

    default = False  # named explicitly in INSTALLED_APPS; CoreConfig is this module's default
    default_site = "apps.core.admin_site.BackofficeAdminSite"

    def ready(self) -> None:
        super().ready()  # autodiscover: each schema's admin.py registers what it customises
        self.module.site.register_platform_models()
