"""Schema drift: what the models expect versus what the live cluster has.

Services migrate on their own schedule, expand then contract. A table or column the models use
but the cluster lacks is *breaking*; a table or column the cluster has but the models do not is
*expand-phase news* (regenerate the models when convenient).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field

from django.apps import apps
from django.db import connections, models

from apps.core import catalog
from apps.core.models import split_db_table
from backoffice.databases import CATALOG_ALIAS, alias_for_schema
from backoffice.platform_schemas import SCHEMA_NAMES


@dataclass(frozen=True)
class Finding:
    schema: str
    table: str
    column: str | None
    kind: str  # "missing_table", "missing_column" (breaking); "new_table", "new_column" (news)
    breaking: bool
    message: str


@dataclass
class DriftReport:
    findings: list[Finding] = field(default_factory=list)

    @property
    def breaking(self) -> list[Finding]:
        return [f for f in self.findings if f.breaking]

    @property
    def news(self) -> list[Finding]:
        return [f for f in self.findings if not f.breaking]

    def as_dict(self) -> dict[str, object]:
        return {
            "breaking": [asdict(f) for f in self.breaking],
            "news": [asdict(f) for f in self.news],
            "ok": not self.breaking,
        }


def model_columns(model: type[models.Model]) -> list[str]:
    return [f.column for f in model._meta.concrete_fields]


def platform_models(schema: str) -> list[type[models.Model]]:
    return list(apps.get_app_config(schema).get_models())


def live_columns(*, schema: str, table: str, using: str) -> set[str] | None:
    """The columns a table has now, or None if the table does not exist (or cannot be seen)."""
    with connections[using].cursor() as cursor:
        cursor.execute(
            "SELECT a.attname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND c.relname = %s AND a.attnum > 0 AND NOT a.attisdropped",
            [schema, table],
        )
        rows = cursor.fetchall()
    return {r[0] for r in rows} or None


def compare(*, schemas: list[str] | None = None, using: str = CATALOG_ALIAS) -> DriftReport:
    """Compare every platform model of the given schemas (all by default) with the cluster."""
    report = DriftReport()
    for schema in schemas or SCHEMA_NAMES:
        live = catalog.describe_schema(schema=schema, using=using)
        mapped: set[str] = set()
        for model in platform_models(schema):
            _, table = split_db_table(model._meta.db_table)
            mapped.add(table)
            described = live.get(table)
            if described is None:
                report.findings.append(
                    Finding(
                        schema, table, None, "missing_table", True, f"{schema}.{table} is mapped but gone"
                    )
                )
                continue
            have = {c.name for c in described.columns}
            want = model_columns(model)
            for column in want:
                if column not in have:
                    report.findings.append(
                        Finding(
                            schema,
                            table,
                            column,
                            "missing_column",
                            True,
                            f"{schema}.{table}.{column} is used by {model._meta.label} but the cluster dropped it",
                        )
                    )
            for column in sorted(have - set(want)):
                report.findings.append(
                    Finding(
                        schema,
                        table,
                        column,
                        "new_column",
                        False,
                        f"{schema}.{table}.{column} is new in the cluster (expand phase); regenerate models",
                    )
                )
        for table in sorted(set(live) - mapped):
            report.findings.append(
                Finding(schema, table, None, "new_table", False, f"{schema}.{table} is new in the cluster")
            )
    return report


# --- what a page needs: which of a model's columns are missing right now --------------------

MISSING_TTL_SECONDS = 60.0
_missing: dict[str, tuple[float, frozenset[str]]] = {}


def missing_columns(model: type[models.Model], *, refresh: bool = False) -> frozenset[str]:
    """Columns the model maps that its table lacks, remembered for a minute per process.

    Pages call this on every request, so the catalogue is read only when the memo is stale or
    a query has just failed on an unknown column (``refresh=True``).
    """
    key = model._meta.label
    cached = _missing.get(key)
    now = time.monotonic()
    if cached and not refresh and now - cached[0] < MISSING_TTL_SECONDS:
        return cached[1]
    schema, table = split_db_table(model._meta.db_table)
    have = live_columns(schema=schema, table=table, using=alias_for_schema(schema))
    missing = frozenset(model_columns(model)) if have is None else frozenset(set(model_columns(model)) - have)
    _missing[key] = (now, missing)
    return missing


def forget_missing_columns() -> None:
    _missing.clear()
