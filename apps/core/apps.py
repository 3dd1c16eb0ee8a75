from django.apps import AppConfig


class CoreConfig(AppConfig):
    """Shared mechanisms: the platform router, read-only models and admin base classes."""

    default = True
    name = "apps.core"
    label = "core"
    verbose_name = "Back-office core"
