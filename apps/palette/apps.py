from django.apps import AppConfig


class PaletteConfig(AppConfig):
    """The command palette (Ctrl-K): jump to a customer, an order, a charge, a request's story or
    any record by id or natural key, through the visibility policy."""

    name = "apps.palette"
    label = "palette"
    verbose_name = "Command palette"
