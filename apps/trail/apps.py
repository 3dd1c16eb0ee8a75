from django.apps import AppConfig


class TrailConfig(AppConfig):
    """Tamper evidence: the back-office chain's anchors and checkpoints of every service's audit_log."""

    name = "apps.trail"
    label = "trail"
    verbose_name = "Audit trail integrity"
