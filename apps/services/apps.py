from django.apps import AppConfig


class ServicesConfig(AppConfig):
    """Writes go through the owning service's HTTP API: the client, the actions, four-eyes."""

    name = "apps.services"
    label = "services"
    verbose_name = "Service actions"
