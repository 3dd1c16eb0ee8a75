from django.apps import AppConfig


class AuditlogConfig(AppConfig):
    """The back-office's own audit log: who looked at what, revealed, exported or changed."""

    name = "apps.auditlog"
    label = "auditlog"
    verbose_name = "Back-office audit log"

    def ready(self) -> None:
        from apps.auditlog import signals  # noqa: F401 - connects the receivers
