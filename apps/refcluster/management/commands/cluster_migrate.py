from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.refcluster import migrator, services
from backoffice.platform_schemas import SCHEMA_NAMES


class Command(BaseCommand):
    help = "Apply the reference cluster's pending per-schema SQL migrations (forward-only)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "schemas", nargs="*", metavar="SCHEMA", help=f"Default: all of {len(SCHEMA_NAMES)}."
        )
        parser.add_argument("--database", help="Cluster database name (default: the admin URL's).")

    def handle(self, *args: object, schemas: list[str], database: str | None, **options: object) -> None:
        if not settings.REFCLUSTER_ADMIN_URL:
            raise CommandError("Set REFCLUSTER_ADMIN_URL (a superuser URL of the reference cluster).")

        def report(migration: migrator.Migration) -> None:
            self.stdout.write(f"  applied {migration.schema}/{migration.version}")

        unknown = sorted(set(schemas) - set(SCHEMA_NAMES))
        if unknown:
            raise CommandError(f"Unknown schema(s): {', '.join(unknown)}. Known: {', '.join(SCHEMA_NAMES)}")
        try:
            ran = services.migrate_cluster(
                admin_url=settings.REFCLUSTER_ADMIN_URL, database=database, schemas=schemas, on_apply=report
            )
        except migrator.MigrationError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(self.style.SUCCESS(f"{len(ran)} migration(s) applied."))
