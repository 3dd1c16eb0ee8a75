"""The reference cluster obeys the platform's six data rules, as a real one must."""

from __future__ import annotations

import psycopg
import pytest

from apps.refcluster import migrator
from backoffice.platform_schemas import SCHEMA_NAMES, SCHEMAS

STANDARD_AUDIT_COLUMNS = [
    ("id", "uuid", "NO"),
    ("occurred_at", "timestamp with time zone", "NO"),
    ("actor_type", "text", "NO"),
    ("actor_id", "text", "NO"),
    ("actor_brand_id", "text", "YES"),
    ("event_type", "text", "NO"),
    ("entity_type", "text", "YES"),
    ("entity_id", "text", "YES"),
    ("brand_id", "text", "NO"),
    ("request_id", "text", "YES"),
    ("details", "jsonb", "YES"),
]


def service_tables(conn: psycopg.Connection) -> list[tuple[str, str]]:
    return conn.execute(
        "SELECT table_schema, table_name FROM information_schema.tables "
        "WHERE table_schema = ANY(%s) AND table_type = 'BASE TABLE' ORDER BY 1, 2",
        [list(SCHEMA_NAMES)],
    ).fetchall()


def test_cluster_has_every_schema_of_the_reference(cluster_admin):
    present = {r[0] for r in cluster_admin.execute("SELECT nspname FROM pg_namespace")}
    assert set(SCHEMA_NAMES) <= present
    assert len(SCHEMA_NAMES) == 23


def test_every_table_has_brand_id_not_null(cluster_admin):
    tables = service_tables(cluster_admin)
    assert len(tables) > 90
    missing = []
    for schema, table in tables:
        row = cluster_admin.execute(
            "SELECT is_nullable, data_type FROM information_schema.columns "
            "WHERE table_schema = %s AND table_name = %s AND column_name = 'brand_id'",
            [schema, table],
        ).fetchone()
        if row != ("NO", "text"):
            missing.append(f"{schema}.{table}: {row}")
    assert missing == []


@pytest.mark.parametrize("schema", SCHEMA_NAMES)
def test_every_schema_has_the_standard_audit_log(cluster_admin, schema):
    columns = cluster_admin.execute(
        "SELECT column_name, data_type, is_nullable FROM information_schema.columns "
        "WHERE table_schema = %s AND table_name = 'audit_log' ORDER BY ordinal_position",
        [schema],
    ).fetchall()
    assert columns == STANDARD_AUDIT_COLUMNS


def test_no_foreign_key_crosses_a_schema(cluster_admin):
    crossing = cluster_admin.execute(
        """
        SELECT c.conname, src.nspname, dst.nspname
        FROM pg_constraint c
        JOIN pg_class s ON s.oid = c.conrelid JOIN pg_namespace src ON src.oid = s.relnamespace
        JOIN pg_class d ON d.oid = c.confrelid JOIN pg_namespace dst ON dst.oid = d.relnamespace
        WHERE c.contype = 'f' AND src.nspname <> dst.nspname
        """
    ).fetchall()
    inside = cluster_admin.execute("SELECT count(*) FROM pg_constraint WHERE contype = 'f'").fetchone()[0]
    assert crossing == []
    assert inside > 30  # foreign keys do exist, inside their schemas


@pytest.mark.parametrize("role", ["svc_accounting", "postgres"])
@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE accounting.transactions SET amount_cents = amount_cents + 1",
        "DELETE FROM accounting.transactions",
        "TRUNCATE accounting.transactions",
    ],
)
def test_ledger_rejects_update_and_delete_whoever_asks(connect_as, cluster_admin, role, statement):
    before = cluster_admin.execute(
        "SELECT count(*), sum(amount_cents) FROM accounting.transactions"
    ).fetchone()
    assert before[0] > 0
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
        connect_as(role).execute(statement)
    after = cluster_admin.execute(
        "SELECT count(*), sum(amount_cents) FROM accounting.transactions"
    ).fetchone()
    assert after == before


def test_ledger_accepts_new_entries_from_its_owner(connect_as):
    conn = connect_as("svc_accounting")
    with conn.transaction(force_rollback=True):
        account, brand = conn.execute("SELECT id, brand_id FROM accounting.accounts LIMIT 1").fetchone()
        conn.execute(
            "INSERT INTO accounting.transactions (id, brand_id, account_id, amount_cents, entry_type, occurred_at) "
            "VALUES (gen_random_uuid(), %s, %s, 100, 'credit', now())",
            [brand, account],
        )


@pytest.mark.parametrize("schema", SCHEMA_NAMES)
def test_audit_log_refuses_update_and_delete_from_its_owner(connect_as, schema):
    conn = connect_as(f"svc_{schema}")
    for statement in (f"UPDATE {schema}.audit_log SET actor_id = 'x'", f"DELETE FROM {schema}.audit_log"):
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(statement)
    with conn.transaction(force_rollback=True):  # but it may append
        conn.execute(
            f"INSERT INTO {schema}.audit_log (id, occurred_at, actor_type, actor_id, event_type, brand_id) "
            "VALUES (gen_random_uuid(), now(), 'system', 'test', 'test.event', 'capri')"
        )


def test_service_roles_cannot_touch_other_schemas(connect_as):
    conn = connect_as("svc_identity")
    for statement in (
        "SELECT 1 FROM payments.charges LIMIT 1",
        "INSERT INTO payments.audit_log (id, occurred_at, actor_type, actor_id, event_type, brand_id) "
        "VALUES (gen_random_uuid(), now(), 'system', 'x', 'x', 'capri')",
        "CREATE TABLE payments.intruder (id int)",
    ):
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(statement)
    assert conn.execute("SELECT count(*) FROM identity.users").fetchone()[0] > 0


def test_service_roles_hold_no_privilege_outside_their_schema(cluster_admin):
    leaks = cluster_admin.execute(
        """
        SELECT grantee, table_schema, table_name, privilege_type
        FROM information_schema.role_table_grants
        WHERE grantee LIKE 'svc\\_%%' AND grantee <> 'svc_' || table_schema
        """
    ).fetchall()
    assert leaks == []


def test_readonly_roles_may_select_and_nothing_else(connect_as):
    conn = connect_as("backoffice_ro")
    assert conn.execute("SELECT count(*) FROM payments.charges").fetchone()[0] > 0
    for statement in (
        "UPDATE payments.charges SET status = 'failed'",
        "DELETE FROM identity.sessions",
        "INSERT INTO comms.audit_log (id, occurred_at, actor_type, actor_id, event_type, brand_id) "
        "VALUES (gen_random_uuid(), now(), 'staff', 'x', 'x', 'capri')",
    ):
        with pytest.raises((psycopg.errors.ReadOnlySqlTransaction, psycopg.errors.InsufficientPrivilege)):
            conn.execute(statement)
    # Even with the read-only session switched off, the role holds no write privilege.
    conn.execute("SET default_transaction_read_only = off")
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute("UPDATE payments.charges SET status = 'failed'")


@pytest.mark.parametrize("schema", [s for s in SCHEMAS if s.name in ("identity", "clinical")], ids=str)
def test_per_schema_readonly_role_reaches_only_its_schema(connect_as, schema):
    conn = connect_as(schema.readonly_role)
    assert conn.execute(f"SELECT count(*) FROM {schema.name}.audit_log").fetchone()[0] > 0
    other = "payments" if schema.name != "payments" else "identity"
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute(f"SELECT 1 FROM {other}.audit_log LIMIT 1")


def test_migrations_are_recorded_and_not_reapplied(cluster_admin):
    applied = migrator.applied_versions(cluster_admin)
    assert ("identity", "0000_audit_log") in applied
    assert ("accounting", "0001_initial") in applied
    assert migrator.migrate(cluster_admin) == []


def test_changed_applied_migration_is_refused(cluster_admin):
    with cluster_admin.transaction(force_rollback=True):
        cluster_admin.execute(
            "UPDATE public.schema_migrations SET checksum = 'tampered' "
            "WHERE schema_name = 'jobs' AND version = '0001_initial'"
        )
        with pytest.raises(migrator.MigrationError, match="forward-only"):
            migrator.migrate(cluster_admin, schemas=["jobs"])
