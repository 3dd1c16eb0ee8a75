from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.trail import chain, checkpoints
from backoffice.platform_schemas import SCHEMA_NAMES


class Command(BaseCommand):
    help = (
        "Take checkpoints of every service's audit_log for each closed window not taken yet, then "
        "anchor the back-office log's chain head (signed) into AUDIT_ANCHOR_DIR. Run it from cron "
        "(hourly, say); it only ever reads the platform."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--schema", action="append", dest="schemas", metavar="SCHEMA",
                            help="Checkpoint only this schema (repeatable).")  # fmt: skip
        parser.add_argument("--no-anchor", action="store_true", help="Take checkpoints only.")
        parser.add_argument(
            "--reset",
            action="store_true",
            help="Forget the stored checkpoints first (after the reference cluster was rebuilt, e.g. "
            "`make seed-large`); logged as trail.checkpoints_reset.",
        )

    def handle(
        self, *args: object, schemas: list[str] | None, no_anchor: bool, reset: bool, **options: object
    ) -> None:
        unknown = sorted(set(schemas or []) - set(SCHEMA_NAMES))
        if unknown:
            raise CommandError(
                f"Unknown schema(s): {', '.join(unknown)}. Known schemas: {', '.join(SCHEMA_NAMES)}"
            )
        if reset:
            forgotten = checkpoints.reset_checkpoints(schemas=tuple(schemas or ()))
            self.stdout.write(f"Forgot {forgotten:,} stored checkpoint(s).")
        until = checkpoints.closed_until()
        self.stdout.write(f"Checkpoints of closed windows up to {until:%Y-%m-%d %H:%M} UTC")
        total_rows = total_windows = 0
        seconds = 0.0
        for taken in checkpoints.take_checkpoints(schemas=tuple(schemas or ()), progress=self.stdout.write):
            total_rows += taken.rows
            total_windows += taken.windows
            seconds += taken.seconds
            if taken.windows:
                self.stdout.write(
                    f"  {taken.schema}: {taken.windows} window(s) from {taken.first:%Y-%m-%d}, "
                    f"{taken.rows:,} rows in {taken.seconds:.2f} s"
                )
            else:
                self.stdout.write(f"  {taken.schema}: up to date")
        rate = f" ({total_rows / seconds:,.0f} rows/s)" if seconds and total_rows else ""
        self.stdout.write(
            f"{total_windows} window(s), {total_rows:,} rows checkpointed in {seconds:.2f} s{rate}"
        )
        if not no_anchor:
            anchor = chain.anchor_head()
            if anchor is None:
                self.stdout.write("The back-office log is empty: nothing to anchor.")
            else:
                self.stdout.write(
                    f"Anchored position {anchor.seq} ({anchor.row_hash[:16]}...) as {anchor.name}"
                )
