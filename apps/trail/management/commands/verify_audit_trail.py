import datetime as dt

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.dateparse import parse_date, parse_datetime

from apps.trail.report import TrailReport
from apps.trail.verify import verify_trail
from backoffice.platform_schemas import SCHEMA_NAMES


def parse_since(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    day = parse_date(value)
    moment = dt.datetime.combine(day, dt.time.min, tzinfo=dt.UTC) if day else parse_datetime(value)
    if moment is None:
        raise CommandError(f"--since must be a date (2026-03-01) or a date and time, not {value!r}.")
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


class Command(BaseCommand):
    help = (
        "Verify the audit trail: the back-office log's hash chain and signed anchors, and every "
        "service audit_log against its checkpoints. Exit 0 when everything holds, 1 otherwise, "
        "naming the rows and windows at fault."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--schema", action="append", dest="schemas", metavar="SCHEMA",
                            help="Verify only this service's checkpoints (repeatable); the chain is always verified.")  # fmt: skip
        parser.add_argument("--since", help="Start at this date: chain rows and windows from then on.")

    def handle(self, *args: object, schemas: list[str] | None, since: str | None, **options: object) -> None:
        unknown = sorted(set(schemas or []) - set(SCHEMA_NAMES))
        if unknown:
            raise CommandError(
                f"Unknown schema(s): {', '.join(unknown)}. Known schemas: {', '.join(SCHEMA_NAMES)}"
            )
        report = verify_trail(
            schemas=tuple(schemas or ()), since=parse_since(since), progress=self.stdout.write
        )
        self.write_report(report)
        if not report.ok:
            raise SystemExit(1)

    def write_report(self, report: TrailReport) -> None:
        self.stdout.write("")
        self.stdout.write("Checked:")
        for checked in report.checked:
            rate = (
                f", {checked.rows / checked.seconds:,.0f} rows/s" if checked.rows and checked.seconds else ""
            )
            self.stdout.write(
                f"  {checked.part:11} {checked.where:14} {checked.summary} ({checked.seconds:.2f} s{rate})"
            )
        if report.findings:
            self.stdout.write("")
            self.stdout.write(self.style.ERROR(f"Found {len(report.findings)} problem(s):"))
            for finding in report.findings:
                self.stdout.write(self.style.ERROR(f"  [{finding.part}/{finding.kind}] {finding.message}"))
        verdict = "everything holds" if report.ok else "the trail does NOT hold"
        self.stdout.write("")
        self.stdout.write(
            f"{report.rows:,} rows verified in {report.elapsed:.2f} s: {verdict}.",
            style_func=self.style.SUCCESS if report.ok else self.style.ERROR,
        )
