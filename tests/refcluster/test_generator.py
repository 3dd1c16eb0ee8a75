"""The synthetic platform is deterministic and its cross-service ids resolve, as the page asks."""

from __future__ import annotations

import pytest
from django.conf import settings

from apps.refcluster import generator, services
from backoffice.platform_schemas import SCHEMA_NAMES

# (table.column holding another service's id, the owning table) — each must resolve, same brand.
CROSS_SERVICE = [
    ("commerce.orders", "user_id", "identity.users"),
    ("commerce.subscriptions", "user_id", "identity.users"),
    ("payments.charges", "user_id", "identity.users"),
    ("payments.charges", "order_id", "commerce.orders"),
    ("(SELECT * FROM accounting.accounts WHERE owner_type = 'user')", "owner_id", "identity.users"),
    ("cash.wallets", "user_id", "identity.users"),
    ("comms.messages", "user_id", "identity.users"),
    ("community.posts", "author_user_id", "identity.users"),
    ("follows.blocks", "blocker_id", "identity.users"),
    ("clinical.biomarkers", "user_id", "identity.users"),
    ("patient_graph.customer_profiles", "user_id", "identity.users"),
    ("patient_graph.order_history", "order_id", "commerce.orders"),
    ("booking.visits", "user_id", "identity.users"),
    ("affiliates.affiliates", "user_id", "identity.users"),
    ("affiliates.attributions", "customer_user_id", "identity.users"),
    ("affiliates.attributions", "order_id", "commerce.orders"),
    ("membership.commission_locks", "affiliate_id", "affiliates.affiliates"),
    ("entitlements.tier_features", "tier_id", "membership.tiers"),
    ("integrations.wearable_connections", "user_id", "identity.users"),
]


@pytest.fixture(scope="module")
def fresh_cluster(django_db_setup):
    """A freshly seeded copy (other tests write to the session's cluster through the stand-in)."""
    admin_url, name = settings.REFCLUSTER_ADMIN_URL, f"{settings.TEST_CLUSTER_NAME}_gen"
    services.create_database(admin_url=admin_url, name=name, replace=True)
    services.migrate_cluster(admin_url=admin_url, database=name)
    services.seed_cluster(admin_url=admin_url, database=name, scale="test", seed=1)
    with services.connect_admin(admin_url, database=name) as conn:
        yield conn
    services.drop_database(admin_url=admin_url, name=name)


@pytest.mark.parametrize(("source", "column", "target"), CROSS_SERVICE, ids=lambda v: str(v))
def test_seeded_cross_service_ids_resolve_within_the_brand(fresh_cluster, source, column, target):
    total, orphans = fresh_cluster.execute(
        f"SELECT count(*), count(*) FILTER (WHERE t.id IS NULL) FROM {source} s "
        f"LEFT JOIN {target} t ON t.id::text = s.{column} AND t.brand_id = s.brand_id "
        f"WHERE s.{column} IS NOT NULL"
    ).fetchone()
    assert total > 0
    assert orphans == 0


def test_a_checkout_leaves_audit_rows_in_five_services_under_one_request_id(fresh_cluster):
    union = " UNION ALL ".join(f"SELECT '{s}' AS source, request_id FROM {s}.audit_log" for s in SCHEMA_NAMES)
    services_per_request = fresh_cluster.execute(
        f"SELECT max(n) FROM (SELECT count(DISTINCT source) AS n FROM ({union}) a "
        "WHERE request_id IS NOT NULL GROUP BY request_id) x"
    ).fetchone()[0]
    assert services_per_request >= 5


def test_known_rows_can_be_named_from_python(fresh_cluster):
    heavy = generator.user_id(generator.HEAVY_USER_INDEX)
    row = fresh_cluster.execute(
        "SELECT email, brand_id FROM identity.users WHERE id = %s", [heavy]
    ).fetchone()
    assert row == (generator.HEAVY_USER_EMAIL, "capri")


def table_fingerprints(conn) -> dict[str, str]:
    tables = conn.execute(
        "SELECT table_schema || '.' || table_name FROM information_schema.tables "
        "WHERE table_schema = ANY(%s) AND table_type = 'BASE TABLE' ORDER BY 1",
        [list(SCHEMA_NAMES)],
    ).fetchall()
    return {
        t: conn.execute(
            f"SELECT md5(coalesce(string_agg(x::text, '|' ORDER BY x::text), '')) FROM {t} x"
        ).fetchone()[0]
        for (t,) in tables
    }


def test_the_generator_is_deterministic_and_the_seed_matters(fresh_cluster):
    admin_url, base = settings.REFCLUSTER_ADMIN_URL, settings.TEST_CLUSTER_NAME
    fingerprints = {}
    for seed in (1, 2):
        name = f"{base}_seed{seed}"
        services.create_database(admin_url=admin_url, name=name, replace=True)
        try:
            services.migrate_cluster(admin_url=admin_url, database=name)
            services.seed_cluster(admin_url=admin_url, database=name, scale="test", seed=seed)
            with services.connect_admin(admin_url, database=name) as conn:
                fingerprints[seed] = table_fingerprints(conn)
        finally:
            services.drop_database(admin_url=admin_url, name=name)
    assert fingerprints[1] == table_fingerprints(fresh_cluster)  # same seed: byte-identical rows
    changed = [t for t in fingerprints[1] if fingerprints[1][t] != fingerprints[2][t]]
    assert len(changed) > len(fingerprints[1]) // 2  # another seed: other data


def test_partitioned_seed_holds_the_same_audit_rows_in_monthly_partitions(fresh_cluster):
    from django.core.management import CommandError, call_command

    from apps.refcluster import migrator

    name = f"{settings.TEST_CLUSTER_NAME}_part"
    call_command("cluster_seed", "--scale", "test", "--database", name, "--fresh", "--partitioned")
    try:
        with services.connect_admin(settings.REFCLUSTER_ADMIN_URL, database=name) as conn:
            assert migrator.audit_logs_partitioned(conn) == dict.fromkeys(SCHEMA_NAMES, True)
            for schema in ("commerce", "identity", "jobs"):
                digest = f"SELECT md5(string_agg(a::text, ',' ORDER BY id)) FROM {schema}.audit_log a"
                assert conn.execute(digest).fetchone() == fresh_cluster.execute(digest).fetchone()
            months = conn.execute(
                "SELECT count(*) FROM pg_inherits WHERE inhparent = 'commerce.audit_log'::regclass"
            ).fetchone()[0]
            assert months > 12
            # Append-only on every partition, not only the parent.
            writable = conn.execute(
                "SELECT c.relname FROM pg_class c JOIN pg_inherits i ON i.inhrelid = c.oid "
                "WHERE i.inhparent = 'commerce.audit_log'::regclass "
                "AND has_table_privilege('svc_commerce', c.oid, 'UPDATE')"
            ).fetchall()
            assert writable == []
        # A plain cluster is not silently kept when partitions were asked for.
        call_command("cluster_seed", "--scale", "test", "--database", f"{settings.TEST_CLUSTER_NAME}_gen")
        with pytest.raises(CommandError, match="already built unpartitioned"):
            call_command(
                "cluster_seed",
                "--scale",
                "test",
                "--database",
                f"{settings.TEST_CLUSTER_NAME}_gen",
                "--partitioned",
            )
    finally:
        services.drop_database(admin_url=settings.REFCLUSTER_ADMIN_URL, name=name)
