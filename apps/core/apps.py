from django.apps import AppConfig


class CoreConfig(AppConfig):
    """The floor: platform models and router, the catalogue and drift, display and errors.

    It imports no other app of the back-office (ARCHITECTURE.md; `make lint` enforces it).
    """

    name = "apps.core"
    label = "core"
    verbose_name = "Back-office core"

    def ready(self) -> None:
        from django.db.backends.signals import connection_created

        from apps.core.db import install_platform_wrappers

        connection_created.connect(install_platform_wrappers, dispatch_uid="core.platform_wrappers")
