from django.apps import AppConfig


class CustomersConfig(AppConfig):
    """One customer, every service: the support staff's search box and customer page."""

    name = "apps.customers"
    label = "customers"
    verbose_name = "Customers"
