"""Platform conformance: does the live cluster obey the platform's six data rules?

Every check reads the catalogue (pg_catalog only) through a read-only Django alias and returns
findings; none ever attempts a write to find something out. The catalogue alias's role
(``backoffice_ro``) cannot see other roles' objects in the privilege-filtered
information_schema views, which is why everything here is read from pg_catalog, readable by all.

Rule numbers are those of ../shared/platform-reference.md:

1. one schema per service, owned by its ``svc_<schema>`` role (and nothing unexpected beside them);
2. no cross-schema reads or writes (grants, views, functions);
3. every table has ``brand_id`` NOT NULL;
4. every service schema has the standard, append-only ``audit_log``;
5. no foreign key crosses a schema;
6. the ledger ``accounting.transactions`` rejects UPDATE and DELETE.

The indexes the audit explorer relies on are checked too, as warnings only.
"""

from __future__ import annotations

import re
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Literal

from django.db import connections
from django.utils import timezone

from apps.access.policy import unclassified_live_columns
from apps.core.modelgen import STANDARD_AUDIT_COLUMNS
from backoffice.databases import CATALOG_ALIAS
from backoffice.platform_schemas import BY_NAME, SCHEMA_NAMES, get_schema

Severity = Literal["violation", "warning"]
Status = Literal["green", "warnings", "violations"]

# The reference cluster's migration ledger is the only thing allowed in public.
MIGRATION_LEDGER = "schema_migrations"
# Schemas whose objects a view or function may always use.
SYSTEM_SCHEMAS = ("pg_catalog", "information_schema")

# pg_trigger.tgtype bits (src/include/catalog/pg_trigger.h).
TRIGGER_BEFORE = 1 << 1
TRIGGER_DELETE = 1 << 3
TRIGGER_UPDATE = 1 << 4
TRIGGER_INSTEAD = 1 << 6
# tgenabled: 'O' fires in ordinary sessions, 'A' always; 'R' fires only in replica sessions and
# 'D' never, so neither protects the ledger from an ordinary UPDATE or DELETE.
TRIGGER_FIRES = ("O", "A")

# The audit explorer's access paths: (index name in the reference cluster, key columns). An index
# serves a path when its leading key columns are the path's columns.
AUDIT_INDEXES: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = (
    ("audit_log_time_idx", ("occurred_at",), ("occurred_at", "id")),
    ("audit_log_brand_time_idx", ("brand_id", "occurred_at"), ("brand_id", "occurred_at", "id")),
    ("audit_log_actor_time_idx", ("actor_id", "occurred_at"), ("actor_id", "occurred_at", "id")),
    ("audit_log_request_idx", ("request_id",), ("request_id",)),
    ("audit_log_entity_idx", ("entity_type", "entity_id"), ("entity_type", "entity_id", "occurred_at")),
)

_PLAIN_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]*")
_RAISES = re.compile(r"\braise\s+exception\b", re.IGNORECASE)


@dataclass(frozen=True)
class Finding:
    schema: str
    table: str | None  # None for a finding about the schema itself; "name()" for a function
    rule: int
    severity: Severity
    message: str
    fix: str  # one line, usually SQL the owning service would run


@dataclass(frozen=True)
class SchemaStatus:
    schema: str
    status: Status
    violations: int
    warnings: int


@dataclass
class Report:
    checked_at: datetime
    schemas: list[str]  # the service schemas asked for, in the catalogue's order
    elapsed_ms: float = 0.0
    findings: list[Finding] = field(default_factory=list)

    @property
    def violations(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "violation"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "warning"]

    @property
    def ok(self) -> bool:
        return not self.violations

    def statuses(self) -> list[SchemaStatus]:
        """One status per schema checked, then any other schema a finding names (unknown, public)."""
        counts: dict[str, dict[str, int]] = {s: {"violation": 0, "warning": 0} for s in self.schemas}
        for finding in self.findings:
            counts.setdefault(finding.schema, {"violation": 0, "warning": 0})[finding.severity] += 1
        result = []
        for schema, count in counts.items():
            status: Status = (
                "violations" if count["violation"] else "warnings" if count["warning"] else "green"
            )
            result.append(SchemaStatus(schema, status, count["violation"], count["warning"]))
        return result

    def as_dict(self) -> dict[str, object]:
        return {
            "checked_at": self.checked_at.isoformat(),
            "elapsed_ms": round(self.elapsed_ms, 1),
            "ok": self.ok,
            "schemas": {
                s.schema: {"status": s.status, "violations": s.violations, "warnings": s.warnings}
                for s in self.statuses()
            },
            "findings": [asdict(f) for f in self.findings],
        }


def run_checks(*, schemas: list[str] | None = None, using: str = CATALOG_ALIAS) -> Report:
    """Check the given service schemas (all by default) and return every finding.

    Only a whole-cluster run (``schemas=None``) looks for unknown schemas and stray tables in
    public, and checks the unknown schemas' tables too. An unknown name in ``schemas`` raises
    KeyError. Each call reads the catalogue afresh: there is no cache.
    """
    started = time.perf_counter()
    schemas = schemas or None  # an empty list means the whole cluster, as on the command line
    requested = [get_schema(name).name for name in schemas] if schemas else list(SCHEMA_NAMES)
    report = Report(checked_at=timezone.now(), schemas=requested)
    present = cluster_schemas(using=using)
    services = [s for s in requested if s in present]
    scanned = services + ([s for s in present if s not in BY_NAME] if schemas is None else [])
    report.findings += check_schemas(schemas=schemas, using=using)
    report.findings += check_isolation(schemas=scanned, using=using)
    report.findings += check_brand_id(schemas=scanned, using=using)
    report.findings += check_audit_logs(schemas=services, using=using)
    report.findings += check_foreign_keys(schemas=scanned, using=using)
    if "accounting" in services:
        report.findings += check_ledger(using=using)
    report.findings += check_audit_indexes(schemas=services, using=using)
    report.findings += check_classification(schemas=services, using=using)
    order = {name: i for i, name in enumerate(SCHEMA_NAMES)}
    report.findings.sort(
        key=lambda f: (
            order.get(f.schema, len(order)),
            f.schema,
            f.severity != "violation",
            f.rule,
            f.table or "",
        )
    )
    report.elapsed_ms = (time.perf_counter() - started) * 1000
    return report


# --- selectors ---------------------------------------------------------------------------------


def _fetch(sql: str, params: Sequence[Any], *, using: str) -> list[tuple[Any, ...]]:
    with connections[using].cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _ident(name: str) -> str:
    """A name as SQL would need it in a fix: bare when plain, double-quoted otherwise."""
    return name if _PLAIN_IDENTIFIER.fullmatch(name) else '"' + name.replace('"', '""') + '"'


def _qualified(schema: str, name: str) -> str:
    return f"{_ident(schema)}.{_ident(name)}"


def _grantee(role: str) -> str:
    """A grantee in a REVOKE: PUBLIC is a keyword, anything else a role name."""
    return role if role == "PUBLIC" else _ident(role)


def cluster_schemas(*, using: str = CATALOG_ALIAS) -> dict[str, str]:
    """Every non-system schema of the cluster with its owner's role name.

    System schemas are pg_*, information_schema, public and those an extension created:
    extensions (pg_stat_statements, RDS's aws_commons, ...) are the operator's, not a service's,
    so neither their schemas, nor their tables in public, nor their functions are findings.
    """
    rows = _fetch(
        "SELECT n.nspname, pg_get_userbyid(n.nspowner) FROM pg_namespace n "
        "WHERE n.nspname NOT IN ('information_schema', 'public') AND left(n.nspname, 3) <> 'pg_' "
        "AND NOT EXISTS (SELECT 1 FROM pg_depend e WHERE e.classid = 'pg_namespace'::regclass "
        "AND e.objid = n.oid AND e.deptype = 'e') ORDER BY 1",
        [],
        using=using,
    )
    return dict(rows)


# --- rule 1: one schema per service, owned by its role ------------------------------------------


def check_schemas(*, schemas: list[str] | None, using: str = CATALOG_ALIAS) -> list[Finding]:
    """Rule 1: each known schema exists and is owned by ``svc_<schema>``.

    With ``schemas=None`` (the whole cluster) also: every non-system schema is a known one, and
    public holds nothing but the reference cluster's migration ledger.
    """
    present = cluster_schemas(using=using)
    findings = []
    for name in schemas or SCHEMA_NAMES:
        role = get_schema(name).owner_role
        owner = present.get(name)
        if owner is None:
            findings.append(
                Finding(
                    name,
                    None,
                    1,
                    "violation",
                    f"The service schema {name} does not exist in the cluster.",
                    f"CREATE SCHEMA {_ident(name)} AUTHORIZATION {_ident(role)};  -- then run the service's migrations",
                )
            )
        elif owner != role:
            findings.append(
                Finding(
                    name,
                    None,
                    1,
                    "violation",
                    f"Schema {name} is owned by {owner}, not by its service role {role}.",
                    f"ALTER SCHEMA {_ident(name)} OWNER TO {_ident(role)};",
                )
            )
    if schemas is not None:
        return findings
    for name, owner in present.items():
        if name not in BY_NAME:
            findings.append(
                Finding(
                    name,
                    None,
                    1,
                    "violation",
                    f"Schema {name} (owner {owner}) is not a known service schema.",
                    f"DROP SCHEMA {_ident(name)} CASCADE;  -- or declare its service in backoffice/platform_schemas.py",
                )
            )
    stray = _fetch(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'f') AND NOT c.relispartition "
        "AND c.relname <> %s AND NOT EXISTS (SELECT 1 FROM pg_depend e "
        "WHERE e.classid = 'pg_class'::regclass AND e.objid = c.oid AND e.deptype = 'e') ORDER BY 1",
        [MIGRATION_LEDGER],
        using=using,
    )
    for (table,) in stray:
        findings.append(
            Finding(
                "public",
                table,
                1,
                "violation",
                f"public.{table} belongs to no service: public may hold only the migration ledger.",
                f"ALTER TABLE {_qualified('public', table)} SET SCHEMA <owning_service_schema>;  -- or drop it",
            )
        )
    return findings


# --- rule 2: no cross-schema reads or writes ----------------------------------------------------


def check_isolation(*, schemas: list[str], using: str = CATALOG_ALIAS) -> list[Finding]:
    """Rule 2: no other service's role, nor PUBLIC, holds a privilege on a schema or its relations,
    and no view or function of one schema reads another schema's tables.

    Privileges come from the ACLs (an unset ACL is the owner's defaults). Views and SQL-standard
    function bodies are checked through their recorded dependencies; other functions only by a
    best-effort scan of their source for ``<other_schema>.``.
    """
    if not schemas:
        return []
    return (
        _schema_grant_findings(schemas, using)
        + _relation_grant_findings(schemas, using)
        + _view_findings(schemas, using)
        + _function_findings(schemas, using)
    )


def _is_foreign_role(grantee: str, schema: str) -> bool:
    """PUBLIC is every role, so also every other service's; ``svc_*`` other than the owner's."""
    return grantee == "PUBLIC" or (grantee.startswith("svc_") and grantee != f"svc_{schema}")


def _schema_grant_findings(schemas: list[str], using: str) -> list[Finding]:
    rows = _fetch(
        """
        SELECT n.nspname,
               CASE WHEN acl.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(acl.grantee) END,
               string_agg(acl.privilege_type, ', ' ORDER BY acl.privilege_type)
        FROM pg_namespace n, aclexplode(COALESCE(n.nspacl, acldefault('n', n.nspowner))) acl
        WHERE n.nspname = ANY(%s)
        GROUP BY 1, 2 ORDER BY 1, 2
        """,
        [schemas],
        using=using,
    )
    return [
        Finding(
            schema,
            None,
            2,
            "violation",
            f"{grantee} holds {privileges} on schema {schema}, which only svc_{schema} may use.",
            f"REVOKE ALL ON SCHEMA {_ident(schema)} FROM {_grantee(grantee)};",
        )
        for schema, grantee, privileges in rows
        if _is_foreign_role(grantee, schema)
    ]


def _relation_grant_findings(schemas: list[str], using: str) -> list[Finding]:
    rows = _fetch(
        """
        SELECT n.nspname, c.relname, c.relkind, NULL::text,
               CASE WHEN acl.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(acl.grantee) END,
               string_agg(acl.privilege_type, ', ' ORDER BY acl.privilege_type)
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace,
             aclexplode(COALESCE(c.relacl, acldefault(CASE c.relkind WHEN 'S' THEN 's' ELSE 'r' END::"char",
                                                      c.relowner))) acl
        WHERE n.nspname = ANY(%s) AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
        GROUP BY 1, 2, 3, 5
        UNION ALL
        SELECT n.nspname, c.relname, c.relkind, string_agg(DISTINCT a.attname, ', '),
               CASE WHEN acl.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(acl.grantee) END,
               string_agg(DISTINCT acl.privilege_type, ', ')
        FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace, aclexplode(a.attacl) acl
        WHERE n.nspname = ANY(%s) AND a.attacl IS NOT NULL AND NOT a.attisdropped
        GROUP BY 1, 2, 3, 5
        ORDER BY 1, 2, 4 NULLS FIRST, 5
        """,
        [schemas, schemas],
        using=using,
    )
    findings = []
    for schema, table, kind, columns, grantee, privileges in rows:
        if not _is_foreign_role(grantee, schema):
            continue
        role = _grantee(grantee)
        target = _qualified(schema, table)
        if columns:
            what = f"{privileges} on columns {columns} of {schema}.{table}"
            fix = f"REVOKE ALL ({columns}) ON {target} FROM {role};"
        else:
            what = f"{privileges} on {schema}.{table}"
            fix = f"REVOKE ALL ON {'SEQUENCE ' if kind == 'S' else ''}{target} FROM {role};"
        findings.append(
            Finding(
                schema,
                table,
                2,
                "violation",
                f"{grantee} holds {what}: only svc_{schema} may touch {schema}.",
                fix,
            )
        )
    return findings


_RELATION_KIND = {"v": "view", "m": "materialized view"}


def _view_findings(schemas: list[str], using: str) -> list[Finding]:
    # A view (or a rule on a table) depends, through its rewrite rule, on every relation it reads.
    rows = _fetch(
        """
        SELECT DISTINCT n.nspname, v.relname, v.relkind, rn.nspname, r.relname
        FROM pg_rewrite rw
        JOIN pg_class v ON v.oid = rw.ev_class
        JOIN pg_namespace n ON n.oid = v.relnamespace
        JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = rw.oid
             AND d.refclassid = 'pg_class'::regclass
        JOIN pg_class r ON r.oid = d.refobjid
        JOIN pg_namespace rn ON rn.oid = r.relnamespace
        WHERE n.nspname = ANY(%s) AND rn.nspname <> n.nspname AND rn.nspname <> ALL(%s)
        ORDER BY 1, 2, 4, 5
        """,
        [schemas, list(SYSTEM_SCHEMAS)],
        using=using,
    )
    findings = []
    for schema, view, kind, other_schema, other_table in rows:
        noun = _RELATION_KIND.get(kind, "rule on table")
        drop = (
            f"DROP {noun.upper()} {_qualified(schema, view)};"
            if kind in _RELATION_KIND
            else f"DROP RULE <rule> ON {_qualified(schema, view)};"
        )
        findings.append(
            Finding(
                schema,
                view,
                2,
                "violation",
                f"The {noun} {schema}.{view} reads {other_schema}.{other_table}, another service's table.",
                f"{drop}  -- reach {other_schema} over its service's HTTP API instead",
            )
        )
    return findings


def _function_findings(schemas: list[str], using: str) -> list[Finding]:
    others = sorted((set(cluster_schemas(using=using)) | set(SCHEMA_NAMES)) - set(SYSTEM_SCHEMAS))
    mention = re.compile(
        r'(?<![\w$."])"?(' + "|".join(re.escape(s) for s in others) + r')"?\s*\.', re.IGNORECASE
    )
    # SQL-standard bodies (BEGIN ATOMIC) record their dependencies: those are exact.
    depends = _fetch(
        """
        SELECT DISTINCT p.oid, rn.nspname
        FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid
             AND d.refclassid = 'pg_class'::regclass
        JOIN pg_class r ON r.oid = d.refobjid JOIN pg_namespace rn ON rn.oid = r.relnamespace
        WHERE n.nspname = ANY(%s) AND rn.nspname <> n.nspname AND rn.nspname <> ALL(%s)
        """,
        [schemas, list(SYSTEM_SCHEMAS)],
        using=using,
    )
    recorded: dict[int, set[str]] = defaultdict(set)
    for oid, other in depends:
        recorded[oid].add(other)
    functions = _fetch(
        """
        SELECT p.oid, n.nspname, p.proname, pg_get_function_identity_arguments(p.oid), p.prokind, p.prosrc
        FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        JOIN pg_language l ON l.oid = p.prolang
        WHERE n.nspname = ANY(%s) AND l.lanname NOT IN ('c', 'internal')
          AND NOT EXISTS (SELECT 1 FROM pg_depend e WHERE e.classid = 'pg_proc'::regclass
                          AND e.objid = p.oid AND e.deptype = 'e')
        ORDER BY 2, 3
        """,
        [schemas],
        using=using,
    )
    canonical = {name.lower(): name for name in others}
    findings = []
    for oid, schema, name, arguments, kind, source in functions:
        scanned = {canonical[m.lower()] for m in mention.findall(source or "")} - {schema}
        noun = "PROCEDURE" if kind == "p" else "FUNCTION"
        for other in sorted(recorded.get(oid, set()) | scanned):
            exact = other in recorded.get(oid, set())
            how = "depends on" if exact else "mentions"
            caveat = "" if exact else " (best-effort scan of the function's source: check it by hand)"
            findings.append(
                Finding(
                    schema,
                    f"{name}()",
                    2,
                    "violation",
                    f"The {noun.lower()} {schema}.{name}({arguments}) {how} {other}'s tables{caveat}.",
                    f"DROP {noun} {_qualified(schema, name)}({arguments});  -- reach {other} over its service's HTTP API instead",
                )
            )
    return findings


# --- rule 3: brand_id NOT NULL everywhere -------------------------------------------------------


def check_brand_id(*, schemas: list[str], using: str = CATALOG_ALIAS) -> list[Finding]:
    """Rule 3: every table (not partitions, which inherit it) has ``brand_id`` NOT NULL."""
    rows = _fetch(
        """
        SELECT n.nspname, c.relname, a.attnotnull
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'brand_id' AND NOT a.attisdropped
        WHERE n.nspname = ANY(%s) AND c.relkind IN ('r', 'p') AND NOT c.relispartition
          AND (a.attnotnull IS NULL OR NOT a.attnotnull)
        ORDER BY 1, 2
        """,
        [schemas],
        using=using,
    )
    findings = []
    for schema, table, not_null in rows:
        target = _qualified(schema, table)
        if not_null is None:
            findings.append(
                Finding(
                    schema,
                    table,
                    3,
                    "violation",
                    f"{schema}.{table} has no brand_id column.",
                    f"ALTER TABLE {target} ADD COLUMN brand_id TEXT;  -- backfill it, then SET NOT NULL",
                )
            )
        else:
            findings.append(
                Finding(
                    schema,
                    table,
                    3,
                    "violation",
                    f"{schema}.{table}.brand_id is nullable.",
                    f"ALTER TABLE {target} ALTER COLUMN brand_id SET NOT NULL;",
                )
            )
    return findings


# --- rule 4: the standard, append-only audit_log ------------------------------------------------


def _audit_column_sql(name: str, type_: str, not_null: bool) -> str:
    return f"{name} {type_}{' NOT NULL' if not_null else ''}"


STANDARD_AUDIT_LOG_DDL = (
    "CREATE TABLE {table} ("
    + ", ".join(
        _audit_column_sql(name, type_, not_null) + (" PRIMARY KEY" if name == "id" else "")
        for name, type_, not_null in STANDARD_AUDIT_COLUMNS
    )
    + ");"
)


def check_audit_logs(*, schemas: list[str], using: str = CATALOG_ALIAS) -> list[Finding]:
    """Rule 4: each service schema has ``audit_log`` with exactly the standard columns, types,
    nullability and primary key (``apps.core.modelgen.STANDARD_AUDIT_COLUMNS``), and no role, not
    even its owner nor PUBLIC, holds UPDATE, DELETE or TRUNCATE on it (table or column grants).
    """
    if not schemas:
        return []
    rows = _fetch(
        """
        SELECT n.nspname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
        WHERE n.nspname = ANY(%s) AND c.relname = 'audit_log' AND c.relkind IN ('r', 'p')
        ORDER BY 1, a.attnum
        """,
        [schemas],
        using=using,
    )
    columns: dict[str, dict[str, tuple[str, bool]]] = {}
    for schema, name, type_, not_null in rows:
        table_columns = columns.setdefault(schema, {})
        if name is not None:
            table_columns[name] = (type_, not_null)
    # A partitioned audit_log (relkind 'p') must carry its partition key in its primary key:
    # (id, occurred_at) is its standard key. The partition key comes after the ':'.
    keys = {
        schema: (key, partition_key)
        for schema, key, partition_key in _fetch(
            """
            SELECT n.nspname, con.conname || ':' || string_agg(a.attname, ',' ORDER BY k.ord),
                   (SELECT string_agg(pa.attname, ',' ORDER BY pk.ord)
                    FROM pg_partitioned_table pt
                    CROSS JOIN unnest(pt.partattrs::int2[]) WITH ORDINALITY pk(num, ord)
                    JOIN pg_attribute pa ON pa.attrelid = pt.partrelid AND pa.attnum = pk.num
                    WHERE pt.partrelid = c.oid)
            FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid
            JOIN pg_namespace n ON n.oid = c.relnamespace
            CROSS JOIN unnest(con.conkey) WITH ORDINALITY k(num, ord)
            JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.num
            WHERE n.nspname = ANY(%s) AND c.relname = 'audit_log' AND con.contype = 'p'
            GROUP BY n.nspname, con.conname, c.oid
            """,
            [schemas],
            using=using,
        )
    }
    findings = []
    for schema in schemas:
        table = _qualified(schema, "audit_log")
        if schema not in columns:
            findings.append(
                Finding(
                    schema,
                    "audit_log",
                    4,
                    "violation",
                    f"{schema} has no audit_log.",
                    STANDARD_AUDIT_LOG_DDL.format(table=table),
                )
            )
            continue
        key, partition_key = keys.get(schema, (None, None))
        findings += _audit_column_findings(schema, columns[schema], key, partition_key)
    return findings + _audit_privilege_findings(schemas, using)


def _audit_column_findings(
    schema: str, have: dict[str, tuple[str, bool]], primary_key: str | None, partition_key: str | None = None
) -> list[Finding]:
    table = _qualified(schema, "audit_log")
    problems: list[tuple[str, str]] = []  # (message, fix)
    for name, type_, not_null in STANDARD_AUDIT_COLUMNS:
        if name not in have:
            problems.append(
                (
                    f"is missing the standard column {name} ({type_}).",
                    f"ALTER TABLE {table} ADD COLUMN {_audit_column_sql(name, type_, not_null)};",
                )
            )
        elif have[name][0] != type_:
            problems.append(
                (
                    f"column {name} is {have[name][0]}, the standard says {type_}.",
                    f"ALTER TABLE {table} ALTER COLUMN {name} TYPE {type_} USING {name}::{type_};",
                )
            )
        elif have[name][1] != not_null:
            problems.append(
                (
                    f"column {name} is {'NOT NULL' if have[name][1] else 'nullable'}, "
                    f"the standard says {'NOT NULL' if not_null else 'nullable'}.",
                    f"ALTER TABLE {table} ALTER COLUMN {name} {'SET' if not_null else 'DROP'} NOT NULL;",
                )
            )
    standard = {name for name, _, _ in STANDARD_AUDIT_COLUMNS}
    for name in have:
        if name not in standard:
            problems.append(
                (
                    f"has a non-standard column {name}.",
                    f"ALTER TABLE {table} DROP COLUMN {_ident(name)};  -- expand-contract: stop writing it first",
                )
            )
    constraint, _, key = (primary_key or "").partition(":")
    # Partitioned by month, the key must hold the partition key too (PostgreSQL's rule): (id, occurred_at).
    expected_key = f"id,{partition_key}" if partition_key and partition_key != "id" else "id"
    if key != expected_key:
        shown = expected_key.replace(",", ", ")
        problems.append(
            (
                f"primary key is ({key or 'none'}), the standard says ({shown}).",
                f"ALTER TABLE {table} "
                + (f"DROP CONSTRAINT {_ident(constraint)}, " if constraint else "")
                + f"ADD PRIMARY KEY ({shown});",
            )
        )
    return [
        Finding(schema, "audit_log", 4, "violation", f"{schema}.audit_log {message}", fix)
        for message, fix in problems
    ]


# The audit_log and, when it is partitioned, each of its partitions (at any depth).
_AUDIT_RELATION = """(c.relname = 'audit_log' OR (c.relispartition AND EXISTS (
    SELECT 1 FROM pg_partition_ancestors(c.oid) anc JOIN pg_class ac ON ac.oid = anc.relid
    WHERE ac.relname = 'audit_log' AND ac.relnamespace = c.relnamespace)))"""


def _audit_privilege_findings(schemas: list[str], using: str) -> list[Finding]:
    # The owner's implicit rights are in acldefault() when relacl is unset, so an owner who never
    # revoked UPDATE/DELETE/TRUNCATE is reported too.
    rows = _fetch(
        """
        SELECT n.nspname, c.relname, NULL::text,
               CASE WHEN acl.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(acl.grantee) END,
               string_agg(acl.privilege_type, ', ' ORDER BY acl.privilege_type)
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace,
             aclexplode(COALESCE(c.relacl, acldefault('r', c.relowner))) acl
        WHERE n.nspname = ANY(%s) AND c.relkind IN ('r', 'p') AND {audit_relation}
          AND acl.privilege_type IN ('UPDATE', 'DELETE', 'TRUNCATE')
        GROUP BY 1, 2, 4
        UNION ALL
        SELECT n.nspname, c.relname, string_agg(a.attname, ', ' ORDER BY a.attnum),
               CASE WHEN acl.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(acl.grantee) END, 'UPDATE'
        FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace, aclexplode(a.attacl) acl
        WHERE n.nspname = ANY(%s) AND c.relkind IN ('r', 'p') AND {audit_relation}
          AND a.attacl IS NOT NULL AND acl.privilege_type = 'UPDATE'
        GROUP BY 1, 2, 4
        ORDER BY 1, 2, 3 NULLS FIRST, 4
        """.replace("{audit_relation}", _AUDIT_RELATION),
        [schemas, schemas],
        using=using,
    )
    findings = []
    for schema, relation, columns, grantee, privileges in rows:
        role = _grantee(grantee)
        table = _qualified(schema, relation)
        if columns:
            what, fix = (
                f"UPDATE on columns {columns} of",
                f"REVOKE UPDATE ({columns}) ON {table} FROM {role};",
            )
        else:
            what, fix = f"{privileges} on", f"REVOKE {privileges} ON {table} FROM {role};"
        findings.append(
            Finding(
                schema,
                "audit_log",
                4,
                "violation",
                f"{grantee} holds {what} {schema}.{relation}, which must be append-only"
                + (
                    " (a partition of its audit_log: named directly, it bypasses the parent's grants)."
                    if relation != "audit_log"
                    else "."
                ),
                fix,
            )
        )
    return findings


def check_audit_indexes(*, schemas: list[str], using: str = CATALOG_ALIAS) -> list[Finding]:
    """Warnings: each audit_log has a valid, non-partial B-tree index for every access path the
    audit explorer uses (``AUDIT_INDEXES``), judged by the index's leading key columns.

    A schema without an audit_log gets no warning here: rule 4 already reports it.
    """
    if not schemas:
        return []
    rows = _fetch(
        """
        SELECT n.nspname,
               ARRAY(SELECT COALESCE(a.attname, '')
                     FROM unnest(i.indkey::int2[]) WITH ORDINALITY k(num, ord)
                     LEFT JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.num
                     WHERE k.ord <= i.indnkeyatts ORDER BY k.ord)
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        LEFT JOIN pg_index i ON i.indrelid = c.oid AND i.indisvalid AND i.indpred IS NULL
             AND EXISTS (SELECT 1 FROM pg_class ic JOIN pg_am am ON am.oid = ic.relam
                         WHERE ic.oid = i.indexrelid AND am.amname = 'btree')
        WHERE n.nspname = ANY(%s) AND c.relname = 'audit_log' AND c.relkind IN ('r', 'p')
        """,
        [schemas],
        using=using,
    )
    keys: dict[str, list[tuple[str, ...]]] = defaultdict(list)
    for schema, columns in rows:
        keys[schema].append(tuple(columns or ()))
    findings = []
    for schema in schemas:
        if schema not in keys:
            continue
        for name, leading, definition in AUDIT_INDEXES:
            if any(key[: len(leading)] == leading for key in keys[schema]):
                continue
            findings.append(
                Finding(
                    schema,
                    "audit_log",
                    4,
                    "warning",
                    f"{schema}.audit_log has no index led by ({', '.join(leading)}): "
                    "the audit explorer will scan the table.",
                    f"CREATE INDEX CONCURRENTLY {name} ON {_qualified(schema, 'audit_log')} "
                    f"({', '.join(definition)});",
                )
            )
    return findings


# Not one of the platform's six rules: the back-office's own data classification. Reported under
# rule 0, as warnings (the policy already masks what it does not know).
CLASSIFICATION_RULE = 0


def check_classification(*, schemas: list[str], using: str = CATALOG_ALIAS) -> list[Finding]:
    """Warnings: live columns the back-office's classification does not list. Until someone
    classifies them (apps/access/classification.py), they are masked: as PHI in a schema that
    holds PHI, as contact details elsewhere."""
    return [
        Finding(
            schema,
            table,
            CLASSIFICATION_RULE,
            "warning",
            f"{schema}.{table}.{column} is not classified; the back-office masks it as {treated} until it is.",
            f'Classify it in apps/access/classification.py: "{schema}.{table}": {{"{column}": PHI | CONTACT | PLAIN}}.',
        )
        for schema, table, column, treated in unclassified_live_columns(schemas=schemas, using=using)
    ]


# --- rule 5: foreign keys stay inside their schema ----------------------------------------------


def check_foreign_keys(*, schemas: list[str], using: str = CATALOG_ALIAS) -> list[Finding]:
    """Rule 5: no foreign key of a table in ``schemas`` references another schema's table."""
    if not schemas:
        return []
    # conparentid = 0: a partitioned table's key is reported once, not once per partition.
    rows = _fetch(
        """
        SELECT n.nspname, c.relname, con.conname, fn.nspname, fc.relname
        FROM pg_constraint con
        JOIN pg_class c ON c.oid = con.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
        JOIN pg_class fc ON fc.oid = con.confrelid JOIN pg_namespace fn ON fn.oid = fc.relnamespace
        WHERE con.contype = 'f' AND con.conparentid = 0 AND n.nspname = ANY(%s) AND fn.nspname <> n.nspname
        ORDER BY 1, 2, 3
        """,
        [schemas],
        using=using,
    )
    return [
        Finding(
            schema,
            table,
            5,
            "violation",
            f"Foreign key {constraint} of {schema}.{table} references {other_schema}.{other_table}: "
            "a cross-service reference must be a plain string id.",
            f"ALTER TABLE {_qualified(schema, table)} DROP CONSTRAINT {_ident(constraint)};",
        )
        for schema, table, constraint, other_schema, other_table in rows
    ]


# --- rule 6: the ledger is append-only ----------------------------------------------------------

LEDGER_SCHEMA, LEDGER_TABLE = "accounting", "transactions"


def check_ledger(*, using: str = CATALOG_ALIAS) -> list[Finding]:
    """Rule 6: ``accounting.transactions`` has, for UPDATE and for DELETE, an enabled BEFORE (or
    INSTEAD OF) trigger without a WHEN condition or column list, whose function raises.

    "Raises" is judged by a best-effort scan of the function's source for RAISE EXCEPTION.
    """
    exists = _fetch(
        "SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %s AND c.relname = %s AND c.relkind IN ('r', 'p')",
        [LEDGER_SCHEMA, LEDGER_TABLE],
        using=using,
    )
    if not exists:
        return [
            Finding(
                LEDGER_SCHEMA,
                LEDGER_TABLE,
                6,
                "violation",
                "The ledger accounting.transactions does not exist.",
                "Run the accounting service's migrations.",
            )
        ]
    triggers = _fetch(
        """
        SELECT t.tgname, t.tgtype, t.tgenabled, t.tgqual IS NULL AND cardinality(t.tgattr::int2[]) = 0,
               p.prosrc
        FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_proc p ON p.oid = t.tgfoid
        WHERE n.nspname = %s AND c.relname = %s AND NOT t.tgisinternal
        ORDER BY t.tgname
        """,
        [LEDGER_SCHEMA, LEDGER_TABLE],
        using=using,
    )
    table = _qualified(LEDGER_SCHEMA, LEDGER_TABLE)
    findings = []
    for operation, bit in (("UPDATE", TRIGGER_UPDATE), ("DELETE", TRIGGER_DELETE)):
        rejecting = [
            (name, enabled)
            for name, tgtype, enabled, unconditional, source in triggers
            if tgtype & bit
            and tgtype & (TRIGGER_BEFORE | TRIGGER_INSTEAD)
            and unconditional
            and _RAISES.search(source or "")
        ]
        if any(enabled in TRIGGER_FIRES for _, enabled in rejecting):
            continue
        if rejecting:
            name = rejecting[0][0]
            message = f"The trigger {name} that rejects {operation} on accounting.transactions is disabled."
            fix = f"ALTER TABLE {table} ENABLE TRIGGER {_ident(name)};"
        else:
            message = (
                f"No enabled trigger rejects {operation} on accounting.transactions (append-only ledger)."
            )
            fix = (
                f"CREATE TRIGGER transactions_no_{operation.lower()} BEFORE {operation} ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION accounting.reject_ledger_mutation();"
            )
        findings.append(Finding(LEDGER_SCHEMA, LEDGER_TABLE, 6, "violation", message, fix))
    return findings
