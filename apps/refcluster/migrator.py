"""Numbered, forward-only SQL migrations per service schema, applied the way services do.

Each schema's migrations live in ``sql/<schema>/NNNN_name.sql``; every schema also gets the
platform's standard audit table from ``sql/_audit_log.sql`` as ``0000_audit_log``. A migration
runs in its own transaction as the schema's owner role (``svc_<schema>``), with the schema as
``search_path``, so everything it creates belongs to that service. Applied migrations are
recorded with a checksum in ``public.schema_migrations``; editing an applied file is refused,
because migrations are forward-only.

The runner needs a superuser connection (it creates roles and schemas); the back-office never
uses it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

from backoffice.platform_schemas import READONLY_ROLE, SCHEMAS, ServiceSchema, get_schema

SQL_DIR = Path(__file__).resolve().parent / "sql"
AUDIT_LOG_TEMPLATE = SQL_DIR / "_audit_log.sql"
# The same table as monthly range partitions on occurred_at (``migrate(..., partitioned=True)``).
# Either layout is accepted as an applied 0000_audit_log: it is chosen once, when the schema is built.
AUDIT_LOG_PARTITIONED_TEMPLATE = SQL_DIR / "_audit_log_partitioned.sql"
AUDIT_LOG_VERSION = "0000_audit_log"

# Read-only sessions for the back-office roles, enforced by the server whatever the client or
# pooler sends: these survive PgBouncer/RDS Proxy, which drop startup parameters. The statement
# timeout is the back-office's own (PLATFORM_STATEMENT_TIMEOUT_MS' default), so a page behind the
# pooler is cut off exactly where a direct one is.
READONLY_ROLE_SETTINGS = {
    "default_transaction_read_only": "on",
    "statement_timeout": "5s",
    "idle_in_transaction_session_timeout": "60s",
}


class MigrationError(Exception):
    pass


@dataclass(frozen=True)
class Migration:
    schema: str
    version: str  # e.g. "0001_initial"
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def migrations_for(schema: ServiceSchema, *, partitioned: bool = False) -> list[Migration]:
    """Every migration of one schema, in the order it must be applied (``partitioned``: its
    audit_log as monthly range partitions)."""
    template = AUDIT_LOG_PARTITIONED_TEMPLATE if partitioned else AUDIT_LOG_TEMPLATE
    found = [Migration(schema.name, AUDIT_LOG_VERSION, template.read_text())]
    directory = SQL_DIR / schema.name
    for path in sorted(directory.glob("[0-9][0-9][0-9][0-9]_*.sql")):
        found.append(Migration(schema.name, path.stem, path.read_text()))
    return found


def bootstrap_roles(conn: psycopg.Connection, schemas: Iterable[ServiceSchema] = SCHEMAS) -> None:
    """Create the owner and read-only roles (cluster-wide; idempotent)."""
    wanted = [READONLY_ROLE]
    for schema in schemas:
        wanted += [schema.owner_role, schema.readonly_role]
    existing = {r[0] for r in conn.execute("SELECT rolname FROM pg_roles WHERE rolname = ANY(%s)", [wanted])}
    for role in wanted:
        if role not in existing:
            conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role)))
    for role in [READONLY_ROLE, *(s.readonly_role for s in schemas)]:
        for name, value in READONLY_ROLE_SETTINGS.items():
            conn.execute(
                sql.SQL("ALTER ROLE {} SET {} = {}").format(
                    sql.Identifier(role), sql.Identifier(name), sql.Literal(value)
                )
            )
    for schema in schemas:
        conn.execute(
            sql.SQL("ALTER ROLE {} SET search_path = {}").format(
                sql.Identifier(schema.readonly_role), sql.Identifier(schema.name)
            )
        )


def _ensure_ledger(conn: psycopg.Connection) -> None:
    conn.execute(
        """
        CREATE TABLE IF NOT EXISTS public.schema_migrations (
          schema_name  TEXT NOT NULL,
          version      TEXT NOT NULL,
          checksum     TEXT NOT NULL,
          applied_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
          PRIMARY KEY (schema_name, version)
        )
        """
    )
    # Nobody but the superuser sees the migration ledger; it is tooling, not platform data.
    conn.execute("REVOKE ALL ON public.schema_migrations FROM PUBLIC")


def _ensure_schema(conn: psycopg.Connection, schema: ServiceSchema) -> None:
    ident = sql.Identifier(schema.name)
    owner = sql.Identifier(schema.owner_role)
    conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {} AUTHORIZATION {}").format(ident, owner))
    # Least privilege: only the owner may use the schema, plus the read-only roles below.
    conn.execute(sql.SQL("REVOKE ALL ON SCHEMA {} FROM PUBLIC").format(ident))
    for reader in (READONLY_ROLE, schema.readonly_role):
        reader_ident = sql.Identifier(reader)
        conn.execute(sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(ident, reader_ident))
        conn.execute(
            sql.SQL("ALTER DEFAULT PRIVILEGES FOR ROLE {} IN SCHEMA {} GRANT SELECT ON TABLES TO {}").format(
                owner, ident, reader_ident
            )
        )


def applied_versions(conn: psycopg.Connection) -> dict[tuple[str, str], str]:
    _ensure_ledger(conn)
    rows = conn.execute("SELECT schema_name, version, checksum FROM public.schema_migrations")
    return {(s, v): c for s, v, c in rows}


def migrate(
    conn: psycopg.Connection,
    *,
    schemas: Iterable[str] | None = None,
    on_apply: Callable[[Migration], None] | None = None,
    partitioned: bool = False,
) -> list[Migration]:
    """Apply every pending migration of the given schemas (all by default); return what ran.

    ``conn`` must be a superuser connection in autocommit mode. ``partitioned`` builds a new
    schema's audit_log as monthly range partitions; an audit_log already built keeps its layout.
    """
    chosen = [get_schema(name) for name in schemas] if schemas else list(SCHEMAS)
    bootstrap_roles(conn, SCHEMAS)
    applied = applied_versions(conn)
    ran: list[Migration] = []
    for schema in chosen:
        _ensure_schema(conn, schema)
        for migration in migrations_for(schema, partitioned=partitioned):
            key = (migration.schema, migration.version)
            if key in applied:
                if applied[key] not in _accepted_checksums(migration):
                    raise MigrationError(
                        f"{migration.schema}/{migration.version} was changed after it was applied. "
                        "Migrations are forward-only: restore the file and add a new numbered migration."
                    )
                continue
            _apply(conn, schema, migration)
            ran.append(migration)
            if on_apply:
                on_apply(migration)
    return ran


def _accepted_checksums(migration: Migration) -> set[str]:
    if migration.version != AUDIT_LOG_VERSION:
        return {migration.checksum}
    return {
        Migration(migration.schema, migration.version, template.read_text()).checksum
        for template in (AUDIT_LOG_TEMPLATE, AUDIT_LOG_PARTITIONED_TEMPLATE)
    }


def audit_logs_partitioned(conn: psycopg.Connection) -> dict[str, bool]:
    """Each service schema's audit_log: whether it is a partitioned table (relkind 'p')."""
    rows = conn.execute(
        "SELECT n.nspname, c.relkind = 'p' FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE c.relname = 'audit_log' AND n.nspname = ANY(%s)",
        [[s.name for s in SCHEMAS]],
    )
    return dict(rows.fetchall())


def _apply(conn: psycopg.Connection, schema: ServiceSchema, migration: Migration) -> None:
    try:
        with conn.transaction():
            conn.execute(sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(schema.owner_role)))
            conn.execute(sql.SQL("SET LOCAL search_path TO {}").format(sql.Identifier(schema.name)))
            conn.execute(migration.sql.encode())
            conn.execute("RESET ROLE")
            conn.execute(
                "INSERT INTO public.schema_migrations (schema_name, version, checksum) VALUES (%s, %s, %s)",
                [migration.schema, migration.version, migration.checksum],
            )
    except psycopg.Error as exc:
        raise MigrationError(f"{migration.schema}/{migration.version} failed: {exc}") from exc
