from django.apps import AppConfig


class ExplorerConfig(AppConfig):
    """The unified audit explorer: every service's audit_log and the back-office's own, merged."""

    name = "apps.explorer"
    label = "explorer"
    verbose_name = "Audit explorer"
