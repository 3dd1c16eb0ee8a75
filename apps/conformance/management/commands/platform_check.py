import json

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.conformance import checks
from backoffice.platform_schemas import SCHEMA_NAMES


class Command(BaseCommand):
    help = (
        "Check the live platform cluster against the platform's six data rules. Exit 1 when any "
        "rule is broken; missing audit-explorer indexes are warnings and exit 0."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--format", choices=["text", "json"], default="text")
        parser.add_argument(
            "--schema",
            action="append",
            dest="schemas",
            metavar="SCHEMA",
            help="Check only this service schema (repeatable). Default: the whole cluster.",
        )

    def handle(self, *args: object, format: str, schemas: list[str] | None, **options: object) -> None:
        unknown = sorted(set(schemas or []) - set(SCHEMA_NAMES))
        if unknown:
            raise CommandError(
                f"Unknown schema(s): {', '.join(unknown)}. Known schemas: {', '.join(SCHEMA_NAMES)}"
            )
        report = checks.run_checks(schemas=schemas)
        if format == "json":
            self.stdout.write(json.dumps(report.as_dict(), indent=2))
        else:
            self._write_text(report)
        if not report.ok:
            raise SystemExit(1)

    def _write_text(self, report: checks.Report) -> None:
        by_schema: dict[str, list[checks.Finding]] = {}
        for finding in report.findings:
            by_schema.setdefault(finding.schema, []).append(finding)
        for status in report.statuses():
            found = by_schema.get(status.schema)
            if not found:
                continue
            self.stdout.write(
                f"{status.schema}: {status.status} "
                f"({status.violations} violation(s), {status.warnings} warning(s))"
            )
            for finding in found:
                where = f"{finding.schema}.{finding.table}" if finding.table else finding.schema
                line = f"  {finding.severity.upper():9}  rule {finding.rule}  {where}: {finding.message}"
                style = self.style.ERROR if finding.severity == "violation" else self.style.WARNING
                self.stdout.write(style(line))
                self.stdout.write(f"{'':13}fix: {finding.fix}")
        statuses = report.statuses()
        green = sum(s.status == "green" for s in statuses)
        summary = (
            f"{len(report.schemas)} schema(s) checked at {report.checked_at:%Y-%m-%d %H:%M:%S} UTC "
            f"in {report.elapsed_ms:.0f} ms: {green} green, "
            f"{len(report.violations)} violation(s), {len(report.warnings)} warning(s)."
        )
        self.stdout.write(self.style.SUCCESS(summary) if report.ok else summary)
