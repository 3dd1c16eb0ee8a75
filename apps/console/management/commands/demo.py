import io
import os
import signal
import subprocess
import sys
from types import FrameType

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connections

from apps.console import demo
from apps.standin.server import role_urls, start_standin
from backoffice.databases import CATALOG_ALIAS, url_of


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _url(alias: str) -> str:
    return url_of(connections[alias].settings_dict)


class Command(BaseCommand):
    help = "Build and seed the reference cluster if needed, create demo staff, and serve the back-office."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--addr", default="127.0.0.1:8000", help="Where to serve (host:port).")
        parser.add_argument("--no-serve", action="store_true", help="Set everything up, then exit.")

    def handle(self, *args: object, addr: str, no_serve: bool, **options: object) -> None:
        if not settings.REFCLUSTER_ADMIN_URL:
            raise CommandError(
                "The demo needs the reference cluster: unset PLATFORM_DATABASE_URL or set REFCLUSTER_ADMIN_URL."
            )

        self.stdout.write("Reference cluster: migrating and seeding (once)...")
        call_command("cluster_seed", scale="demo", stdout=self.stdout, stderr=self.stderr)
        call_command("migrate", interactive=False, verbosity=0)
        # The audit trail's first checkpoints and anchor, so its page has something to verify.
        self.stdout.write("Audit trail: checkpoints of every service's audit_log and an anchor...")
        call_command("checkpoint_audit", stdout=io.StringIO())

        staff = demo.create_demo_staff()
        base_url = f"http://{addr}"
        demo_file = settings.VAR_DIR / "demo.json"
        demo.write_demo_file(
            demo_file,
            base_url=base_url,
            database_url=_url("default"),
            platform_database_url=_url(CATALOG_ALIAS),
            staff=staff,
        )
        self.stdout.write(self.style.SUCCESS(f"Demo accounts written to {demo_file}:"))
        for member in staff:
            brands = ", ".join(member.brands) or "all brands"
            self.stdout.write(f"  {member.role:<14} {member.username:<14} {member.password}  ({brands})")
        flags = demo.seed_watch_demo()
        self.stdout.write(
            f"Watch: seeded behaviour scanned, {flags} new access flag(s) on the compliance dashboard."
        )
        if no_serve:
            return
        # The platform's services, played by the stand-in, so staff actions work end to end.
        standin = start_standin(
            database_url_for_role=role_urls(settings.REFCLUSTER_ADMIN_URL),
            tokens=settings.SERVICE_TOKENS,
            port=settings.STANDIN_PORT,
        )
        self.stdout.write(f"Service stand-in on {standin.url}/<service>.")
        # Ctrl-C, and a plain `kill`, stop everything this command started (runserver, the
        # stand-in, and through atexit the embedded PostgreSQL), even when the shell that
        # started us in the background made it ignore SIGINT.
        signal.signal(signal.SIGINT, _interrupt)
        signal.signal(signal.SIGTERM, _interrupt)
        self.stdout.write(self.style.SUCCESS(f"Serving {base_url}/ (Ctrl-C stops everything)."))
        os.environ.setdefault("DJANGO_COLORS", "nocolor")
        # The alert scheduler beside the server; its emails go to its console (EMAIL_BACKEND).
        alerts = subprocess.Popen([sys.executable, str(settings.BASE_DIR / "manage.py"), "run_alerts"])  # noqa: S603
        self.stdout.write(f"Alert scheduler (run_alerts) running as process {alerts.pid}.")
        try:
            call_command("runserver", addr, use_reloader=False)
        finally:
            alerts.terminate()
            alerts.wait(timeout=10)
            standin.stop()
