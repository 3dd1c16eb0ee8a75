from django.core.management.base import BaseCommand

from apps.access.roles import sync_roles


class Command(BaseCommand):
    help = "Create or update the back-office roles (groups and permissions). Idempotent."

    def handle(self, *args: object, **options: object) -> None:
        for role, count in sync_roles().items():
            self.stdout.write(f"{role}: {count} permission(s)")
