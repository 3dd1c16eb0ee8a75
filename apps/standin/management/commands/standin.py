from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.standin.server import role_urls, start_standin


class Command(BaseCommand):
    help = (
        "Serve the service stand-in on 127.0.0.1 until Ctrl-C, writing the reference cluster as each "
        "service's owner role. A demo and test tool: never expose it."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", type=int, default=settings.STANDIN_PORT)
        parser.add_argument("--database", help="Cluster database name (default: the admin URL's).")

    def handle(self, *args: object, port: int, database: str | None, **options: object) -> None:
        admin_url = settings.REFCLUSTER_ADMIN_URL
        if not admin_url:
            raise CommandError("Set REFCLUSTER_ADMIN_URL (a superuser URL of the reference cluster).")
        server = start_standin(
            database_url_for_role=role_urls(admin_url, database=database),
            tokens=settings.SERVICE_TOKENS,
            port=port,
        )
        self.stdout.write(self.style.SUCCESS(f"Service stand-in on {server.url}/<service>; Ctrl-C stops it."))
        try:
            server.thread.join()
        except KeyboardInterrupt:
            pass
        finally:
            server.stop()
