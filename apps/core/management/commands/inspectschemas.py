import difflib
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.core import catalog, modelgen
from backoffice.platform_schemas import SCHEMA_NAMES, get_schema


class Command(BaseCommand):
    help = (
        "Generate apps/<schema>/models.py for platform schemas from the live catalogue "
        "(a schema-aware inspectdb). --check compares instead of writing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "schemas", nargs="*", metavar="SCHEMA", help=f"Default: all of {len(SCHEMA_NAMES)}."
        )
        parser.add_argument("--check", action="store_true", help="Exit 1 with a diff if a file would change.")
        parser.add_argument(
            "--print", dest="print_only", action="store_true", help="Print instead of writing."
        )

    def handle(
        self, *args: object, schemas: list[str], check: bool, print_only: bool, **options: object
    ) -> None:
        apps_dir = Path(settings.BASE_DIR) / "apps"
        stale = []
        for name in schemas or SCHEMA_NAMES:
            try:
                schema = get_schema(name)
            except KeyError as exc:
                raise CommandError(exc.args[0]) from exc
            tables = catalog.describe_schema(schema=name)
            if not tables:
                raise CommandError(f"Schema {name!r} has no tables the read-only role can see.")
            text = modelgen.render_schema(
                schema=name, owner=schema.owner, tables=tables, enums=catalog.enum_labels(schema=name)
            )
            path = apps_dir / name / "models.py"
            if print_only:
                self.stdout.write(text, ending="")
                continue
            current = path.read_text() if path.exists() else ""
            if check:
                if current != text:
                    stale.append(name)
                    diff = difflib.unified_diff(
                        current.splitlines(True),
                        text.splitlines(True),
                        f"{path} (committed)",
                        f"{path} (cluster)",
                    )
                    self.stdout.write("".join(diff))
                continue
            path.parent.mkdir(exist_ok=True)
            (path.parent / "__init__.py").touch()
            if current != text:
                path.write_text(text)
                self.stdout.write(f"wrote {path.relative_to(settings.BASE_DIR)}")
        if stale:
            raise CommandError(f"Models differ from the cluster for: {', '.join(stale)}. Run inspectschemas.")
