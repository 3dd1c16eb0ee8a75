import json

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.access.policy import unclassified_live_columns
from apps.core import drift
from backoffice.platform_schemas import SCHEMA_NAMES


class Command(BaseCommand):
    help = (
        "Compare the platform models with the live cluster. Exit 1 when a mapped table or column "
        "is missing (breaking); new tables and columns are reported as expand-phase news."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--format", choices=["text", "json"], default="text")
        parser.add_argument("--schema", action="append", dest="schemas", metavar="SCHEMA")

    def handle(self, *args: object, format: str, schemas: list[str] | None, **options: object) -> None:
        unknown = sorted(set(schemas or []) - set(SCHEMA_NAMES))
        if unknown:
            raise CommandError(f"Unknown schema(s): {', '.join(unknown)}")
        report = drift.compare(schemas=schemas)
        unclassified = unclassified_live_columns(schemas=schemas or SCHEMA_NAMES, using=drift.CATALOG_ALIAS)
        if format == "json":
            document = report.as_dict()
            document["unclassified"] = [
                {"schema": s, "table": t, "column": c, "masked_as": treated}
                for s, t, c, treated in unclassified
            ]
            self.stdout.write(json.dumps(document, indent=2))
        else:
            for finding in report.breaking:
                self.stdout.write(self.style.ERROR(f"BREAKING  {finding.message}"))
            for finding in report.news:
                self.stdout.write(self.style.WARNING(f"news      {finding.message}"))
            for schema, table, column, treated in unclassified:
                self.stdout.write(
                    self.style.WARNING(
                        f"unclassified {schema}.{table}.{column}: masked as {treated} until classified in "
                        "apps/access/classification.py"
                    )
                )
            checked = len(schemas or SCHEMA_NAMES)
            summary = (
                f"{checked} schema(s) checked: {len(report.breaking)} breaking, {len(report.news)} news, "
                f"{len(unclassified)} unclassified column(s)."
            )
            self.stdout.write(self.style.SUCCESS(summary) if report.breaking == [] else summary)
        if report.breaking:
            raise SystemExit(1)
