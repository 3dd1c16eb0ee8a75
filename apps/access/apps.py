from django.apps import AppConfig


class AccessConfig(AppConfig):
    """Who may see what: roles, brand bindings, PHI and contact-data masking, reveals."""

    name = "apps.access"
    label = "access"
    verbose_name = "Access"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from apps.access.roles import sync_roles_after_migrate

        post_migrate.connect(sync_roles_after_migrate, sender=self)
