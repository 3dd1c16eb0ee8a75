"""Both layouts of one service's audit_log side by side: a plain table and monthly range partitions.

A cluster is built with one layout (``cluster_seed --partitioned`` or not). To compare or test
both on the same rows, ``build_copy`` makes a copy of a schema's ``audit_log`` in the other
layout (same columns, indexes and append-only grants, from the same templates the migrator
applies, owned by the schema's owner so the read-only roles can read it) and parks it outside
the schema; ``swap`` exchanges it with the live table in one transaction, so the back-office's
models read the other layout, with the same rows.
"""

from __future__ import annotations

import psycopg
from psycopg import sql

from apps.refcluster.migrator import AUDIT_LOG_PARTITIONED_TEMPLATE, AUDIT_LOG_TEMPLATE
from backoffice.platform_schemas import get_schema

TABLE = "audit_log"
#: Where copies wait, out of every service schema (superuser-only: no role is granted anything).
PARKING = "refcluster_layouts"


def is_partitioned(conn: psycopg.Connection, *, schema: str, name: str = TABLE) -> bool | None:
    """Whether ``schema.name`` is partitioned (relkind 'p'); None when there is no such table."""
    row = conn.execute(
        "SELECT c.relkind = 'p' FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %s AND c.relname = %s AND c.relkind IN ('r', 'p')",
        [schema, name],
    ).fetchone()
    return None if row is None else bool(row[0])


def build_copy(conn: psycopg.Connection, *, schema: str, partitioned: bool) -> int:
    """Copy ``schema.audit_log`` in the given layout, every row, analysed, and park the copy as
    ``PARKING.<schema>``; returns the rows copied. ``conn``: a superuser connection, autocommit.

    The copy is built in the schema, as its owner, from the migrator's template (so it has the
    same indexes, append-only grants and read grants), then moved out of the service's schema:
    the catalogue, ``platform_check`` and ``schema_drift`` never see a parked copy. A partitioned
    copy's partitions stay in the schema, as partitions, which those tools leave out.
    """
    owner = get_schema(schema).owner_role
    name = f"{TABLE}_{'partitioned' if partitioned else 'plain'}"
    template = (AUDIT_LOG_PARTITIONED_TEMPLATE if partitioned else AUDIT_LOG_TEMPLATE).read_text()
    # The templates name the table, its indexes and partitions after "audit_log" only.
    ddl = template.replace(TABLE, name)
    conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(PARKING)))
    with conn.transaction():
        conn.execute(sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(owner)))
        conn.execute(sql.SQL("SET LOCAL search_path TO {}").format(sql.Identifier(schema)))
        conn.execute(ddl.encode())
        conn.execute("RESET ROLE")
        copied = conn.execute(
            sql.SQL("INSERT INTO {} SELECT * FROM {}").format(
                sql.Identifier(schema, name), sql.Identifier(schema, TABLE)
            )
        ).rowcount
        _move(conn, schema, name, PARKING, schema)
    conn.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(PARKING, schema)))
    return copied


def parked_is_partitioned(conn: psycopg.Connection, *, schema: str) -> bool | None:
    """Whether the copy parked for ``schema`` is partitioned; None when none is parked."""
    return is_partitioned(conn, schema=PARKING, name=schema)


def swap(conn: psycopg.Connection, *, schema: str) -> None:
    """Exchange ``schema.audit_log`` and its parked copy, in one transaction."""
    with conn.transaction():
        conn.execute(
            sql.SQL("ALTER TABLE {} RENAME TO {}").format(
                sql.Identifier(PARKING, schema), sql.Identifier(f"{schema}_swap")
            )
        )
        _move(conn, schema, TABLE, PARKING, schema)
        _move(conn, PARKING, f"{schema}_swap", schema, TABLE)


def drop_copy(conn: psycopg.Connection, *, schema: str) -> None:
    """Drop the copy parked for ``schema`` (with its partitions, if any)."""
    conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(PARKING, schema)))


def _move(conn: psycopg.Connection, schema: str, name: str, to_schema: str, to_name: str) -> None:
    conn.execute(
        sql.SQL("ALTER TABLE {} SET SCHEMA {}").format(
            sql.Identifier(schema, name), sql.Identifier(to_schema)
        )
    )
    conn.execute(
        sql.SQL("ALTER TABLE {} RENAME TO {}").format(
            sql.Identifier(to_schema, name), sql.Identifier(to_name)
        )
    )
