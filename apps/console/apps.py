from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class ConsoleConfig(AppConfig):
    """The top layer: the admin site, the dashboard, the demo and the benchmarks. It composes
    what the features contribute; nothing imports it."""

    default = True
    name = "apps.console"
    label = "console"
    verbose_name = "Back-office console"

    def ready(self) -> None:
        from apps.console.brand_currency import brand_currency
        from apps.core.formatting import set_brand_currency_resolver

        set_brand_currency_resolver(brand_currency)  # amounts whose row names no currency


class BackofficeAdminConfig(admin_apps.AdminConfig):
    """Django's admin with the back-office site, which registers every platform model."""

    default = False  # named explicitly in INSTALLED_APPS; ConsoleConfig is this module's default
    default_site = "apps.console.admin_site.BackofficeAdminSite"

    def ready(self) -> None:
        super().ready()  # autodiscover: each schema's admin.py registers what it customises
        assert self.module is not None  # Django sets it for every installed app
        self.module.site.register_platform_models()
