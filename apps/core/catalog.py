"""Selectors over the platform cluster's catalogue (pg_catalog), read through a platform alias.

The model generator, the schema-drift report and the conformance checks all describe the live
cluster through these functions, so they agree on what the cluster looks like.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from django.db import connections

from backoffice.databases import CATALOG_ALIAS


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # format_type(): "uuid", "text", "character(3)", "numeric(12,4)", "text[]", "identity.user_status"
    base_type: str  # pg_type.typname of the column or of its array element: "uuid", "bpchar", "int4", ...
    is_array: bool
    is_enum: bool
    not_null: bool
    default: str | None
    char_length: int | None
    numeric_precision: int | None
    numeric_scale: int | None


@dataclass(frozen=True)
class ForeignKey:
    column: str
    target_table: str
    target_column: str


@dataclass
class Table:
    schema: str
    name: str
    columns: list[Column] = field(default_factory=list)
    primary_key: list[str] = field(default_factory=list)
    unique_columns: set[str] = field(default_factory=set)  # single-column unique constraints/indexes
    foreign_keys: dict[str, ForeignKey] = field(default_factory=dict)  # single-column FKs inside the schema

    def column(self, name: str) -> Column | None:
        return next((c for c in self.columns if c.name == name), None)


def _fetch(sql: str, params: Sequence[Any], *, using: str) -> list[tuple[Any, ...]]:
    with connections[using].cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


@cache
def indexed_leads(*, schema: str, using: str = CATALOG_ALIAS) -> frozenset[tuple[str, str]]:
    """(table, column) of every column that leads an index in ``schema``: what an equality
    lookup may filter on without reading the table (an expression index leads with no column)."""
    rows = _fetch(
        "SELECT c.relname, a.attname FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid "
        "JOIN pg_namespace n ON n.oid = c.relnamespace "
        "JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0] WHERE n.nspname = %s",
        [schema],
        using=using,
    )
    return frozenset((table, column) for table, column in rows)


def list_tables(*, schema: str, using: str = CATALOG_ALIAS) -> list[str]:
    rows = _fetch(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %s AND c.relkind IN ('r', 'p') AND NOT c.relispartition ORDER BY c.relname",
        [schema],
        using=using,
    )
    return [r[0] for r in rows]


def list_schemas(*, using: str = CATALOG_ALIAS) -> list[str]:
    rows = _fetch(
        "SELECT nspname FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%%' "
        "AND nspname NOT IN ('information_schema', 'public') ORDER BY 1",
        [],
        using=using,
    )
    return [r[0] for r in rows]


def enum_labels(*, schema: str, using: str = CATALOG_ALIAS) -> dict[str, list[str]]:
    """Every enum type of a schema with its labels in declaration order."""
    rows = _fetch(
        "SELECT t.typname, array_agg(e.enumlabel ORDER BY e.enumsortorder) "
        "FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace JOIN pg_enum e ON e.enumtypid = t.oid "
        "WHERE n.nspname = %s GROUP BY t.typname ORDER BY t.typname",
        [schema],
        using=using,
    )
    return {name: list(labels) for name, labels in rows}


def describe_schema(*, schema: str, using: str = CATALOG_ALIAS) -> dict[str, Table]:
    """Every table of a schema with its columns, keys and in-schema foreign keys, in one go."""
    tables = {name: Table(schema=schema, name=name) for name in list_tables(schema=schema, using=using)}
    if not tables:
        return tables
    columns = _fetch(
        """
        SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod),
               COALESCE(elem.typname, t.typname), t.typcategory = 'A',
               COALESCE(elem.typtype, t.typtype) = 'e', a.attnotnull, pg_get_expr(d.adbin, d.adrelid),
               information_schema._pg_char_max_length(a.atttypid, a.atttypmod),
               information_schema._pg_numeric_precision(a.atttypid, a.atttypmod),
               information_schema._pg_numeric_scale(a.atttypid, a.atttypmod)
        FROM pg_attribute a
        JOIN pg_class c ON c.oid = a.attrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        JOIN pg_type t ON t.oid = a.atttypid
        LEFT JOIN pg_type elem ON elem.oid = t.typelem AND t.typcategory = 'A'
        LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
        WHERE n.nspname = %s AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped
        ORDER BY c.relname, a.attnum
        """,
        [schema],
        using=using,
    )
    for table, name, type_, base, is_array, is_enum, not_null, default, length, precision, scale in columns:
        if table in tables:
            tables[table].columns.append(
                Column(name, type_, base, is_array, is_enum, not_null, default, length, precision, scale)
            )
    constraints = _fetch(
        """
        SELECT c.relname, con.contype,
               ARRAY(SELECT a.attname FROM unnest(con.conkey) WITH ORDINALITY k(num, ord)
                     JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.num ORDER BY k.ord),
               tn.nspname, t.relname,
               ARRAY(SELECT a.attname FROM unnest(con.confkey) WITH ORDINALITY k(num, ord)
                     JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.num ORDER BY k.ord)
        FROM pg_constraint con
        JOIN pg_class c ON c.oid = con.conrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        LEFT JOIN pg_class t ON t.oid = con.confrelid
        LEFT JOIN pg_namespace tn ON tn.oid = t.relnamespace
        WHERE n.nspname = %s AND con.contype IN ('p', 'u', 'f')
        ORDER BY c.relname, con.conname
        """,
        [schema],
        using=using,
    )
    for table, kind, cols, target_schema, target_table, target_cols in constraints:
        described = tables.get(table)
        if described is None:
            continue
        if kind == "p":
            described.primary_key = list(cols)
        elif kind == "u" and len(cols) == 1:
            described.unique_columns.add(cols[0])
        elif kind == "f" and len(cols) == 1 and target_schema == schema:
            described.foreign_keys[cols[0]] = ForeignKey(cols[0], target_table, target_cols[0])
    # Unique indexes on one plain column count as unique too (CREATE UNIQUE INDEX ... (col)).
    unique_indexes = _fetch(
        """
        SELECT c.relname, a.attname
        FROM pg_index i
        JOIN pg_class c ON c.oid = i.indrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
        WHERE n.nspname = %s AND i.indisunique AND NOT i.indisprimary AND i.indnatts = 1
          AND i.indexprs IS NULL AND i.indpred IS NULL
        """,
        [schema],
        using=using,
    )
    for table, column in unique_indexes:
        if table in tables:
            tables[table].unique_columns.add(column)
    return tables
