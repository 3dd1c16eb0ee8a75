from django.apps import AppConfig


class RefclusterConfig(AppConfig):
    """The reference platform cluster: DDL, roles, migrations and synthetic data.

    A faithful local stand-in for the services that own the cluster. The back-office itself
    never imports this app's modules at request time.
    """

    name = "apps.refcluster"
    label = "refcluster"
    verbose_name = "Reference platform cluster"
