from django.apps import AppConfig


class ConformanceConfig(AppConfig):
    """Checks the live platform cluster against the platform's six data rules (no models)."""

    name = "apps.conformance"
    label = "conformance"
    verbose_name = "Platform conformance"
