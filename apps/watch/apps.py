from django.apps import AppConfig


class WatchConfig(AppConfig):
    """Watchlists and alerts over the audit explorer, and built-in access anomalies."""

    name = "apps.watch"
    label = "watch"
    verbose_name = "Watch: alerts and access anomalies"
