"""Build, migrate and seed the reference platform cluster (services for the commands and tests)."""

from __future__ import annotations

from collections.abc import Callable

import psycopg
from psycopg import sql

from apps.refcluster import generator, migrator
from backoffice import embedded
from backoffice.databases import parse_url


def connect_admin(
    admin_url: str, *, database: str | None = None, role: str | None = None
) -> psycopg.Connection:
    """A superuser connection (autocommit) to the reference cluster, or to another database on it.

    With ``role``, log in as that role instead, without a password: that works on servers that
    trust local connections (the embedded one), which is how tests act as a service or reader.
    An ``embedded://`` URL starts the embedded server if it is not running yet.
    """
    config = parse_url(embedded.resolve(admin_url))
    return psycopg.connect(
        host=config["HOST"] or None,
        port=config["PORT"] or None,
        user=role or config["USER"] or None,
        password=None if role else config["PASSWORD"] or None,
        dbname=database or config["NAME"],
        autocommit=True,
    )


def create_database(*, admin_url: str, name: str, replace: bool = False) -> None:
    """Create an empty cluster database on the admin URL's server (dropping it first if asked)."""
    with connect_admin(admin_url, database="postgres") as conn:
        if replace:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def drop_database(*, admin_url: str, name: str) -> None:
    with connect_admin(admin_url, database="postgres") as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def migrate_cluster(
    *,
    admin_url: str,
    database: str | None = None,
    schemas: list[str] | None = None,
    on_apply: Callable[[migrator.Migration], None] | None = None,
    partitioned: bool = False,
) -> list[migrator.Migration]:
    """Apply pending migrations; ``partitioned`` builds new audit logs as monthly partitions."""
    with connect_admin(admin_url, database=database) as conn:
        return migrator.migrate(conn, schemas=schemas, on_apply=on_apply, partitioned=partitioned)


def audit_log_layout(*, admin_url: str, database: str | None = None) -> dict[str, bool]:
    """Each service schema's audit_log: True when it is partitioned."""
    with connect_admin(admin_url, database=database) as conn:
        return migrator.audit_logs_partitioned(conn)


def seed_cluster(
    *,
    admin_url: str,
    database: str | None = None,
    scale: str = "demo",
    seed: int = 1,
    progress: Callable[[str, int], None] | None = None,
) -> dict[str, int] | None:
    """Fill a migrated cluster with synthetic data; returns row counts, or None if already seeded."""
    with connect_admin(admin_url, database=database) as conn:
        if generator.is_seeded(conn):
            return None
        return generator.seed_cluster(conn, scale=generator.SCALES[scale], seed=seed, progress=progress)
