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

        from apps.access import signals  # noqa: F401 - logs brand binding changes
        from apps.access.policy import actor_brand
        from apps.auditlog.services import set_actor_brand

        set_actor_brand(actor_brand)

        from apps.access.preferences import time_zone_name
        from apps.core.formatting import set_time_zone_resolver

        set_time_zone_resolver(time_zone_name)
