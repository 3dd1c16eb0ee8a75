"""The whole back-office through PgBouncer in transaction mode, reading the standby, as production
reads Aurora's reader through a pooler: every platform changelist, the explorer, the export and
the customer page; sessions read-only with the roles' statement timeout; no prepared statement;
and an export that holds nothing between its chunks and keeps flat memory however long it runs."""

from __future__ import annotations

import tracemalloc

import pytest
from django.apps import apps
from django.contrib import admin
from django.db import connections, transaction
from django.urls import reverse
from psycopg.pq import TransactionStatus

from apps.core.db import platform_route
from apps.core.routers import is_platform_alias, schema_of
from apps.explorer import selectors
from apps.explorer.query import AuditQuery
from apps.refcluster import generator
from backoffice import embedded, pgbouncer

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")

PLATFORM_ALIASES = [alias for alias in connections if is_platform_alias(alias)]


def platform_changelists() -> list[str]:
    """Every registered admin of a platform model (the registry, not a list of URLs)."""
    return [
        reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        for model in apps.get_models()
        if schema_of(model) and admin.site.is_registered(model)
    ]


def test_every_platform_alias_goes_through_pgbouncer_read_only_with_the_roles_timeout(through_pgbouncer):
    for alias in PLATFORM_ALIASES:
        with connections[alias].cursor() as cursor:
            cursor.execute(
                "SELECT current_setting('default_transaction_read_only'), current_setting('statement_timeout'), "
                "pg_is_in_recovery()"
            )
            # From the role (ALTER ROLE ... SET): no startup option crosses the pooler.
            assert cursor.fetchone() == ("on", "5s", True), alias
        info = connections[alias].connection.info
        assert (info.port, info.host) == (
            pgbouncer.PORT,
            str(pgbouncer.state_dir(_var(), embedded.REPLICA)),
        ), alias
        assert connections[alias].connection.prepare_threshold is None
    with pgbouncer.admin_connection(embedded.server_for(server=embedded.REPLICA, pooled=True)) as console:
        pools = {(row[0], row[1]) for row in console.execute("SHOW POOLS").fetchall()}
        modes = {row[-1] for row in console.execute("SHOW POOLS").fetchall() if row[0] != "pgbouncer"}
    users = {connections[alias].settings_dict["USER"] for alias in PLATFORM_ALIASES}
    assert {(connections["platform"].settings_dict["NAME"], user) for user in users} <= pools
    assert modes == {"transaction"}


def _var():
    from pathlib import Path

    from django.conf import settings

    return Path(settings.VAR_DIR)


def test_a_repeated_query_is_never_prepared_behind_the_pooler(through_pgbouncer):
    alias = "platform_payments"
    for _ in range(20):  # psycopg prepares from the 5th run when allowed to
        with connections[alias].cursor() as cursor:
            cursor.execute("SELECT count(*) FROM payments.charges WHERE amount_cents > %s", [100])
    with transaction.atomic(using=alias), connections[alias].cursor() as cursor:
        # One transaction: the server connection it sees is the one our statements ran on.
        cursor.execute("SELECT count(*) FROM payments.charges WHERE amount_cents > %s", [100])
        cursor.execute("SELECT count(*) FROM pg_prepared_statements")
        assert cursor.fetchone() == (0,)


def test_every_platform_changelist_renders_through_pgbouncer(through_pgbouncer, make_staff):
    # One test walks the registry (each test of this module pays a flush of our own database).
    client = make_staff("superuser")
    urls = platform_changelists()
    failed = {url: status for url in urls if (status := client.get(url).status_code) != 200}
    assert len(urls) > 50
    assert not failed, failed


def test_explorer_customer_page_and_export_render_through_pgbouncer(through_pgbouncer, make_staff):
    compliance = make_staff("compliance")
    explorer = compliance.get(reverse("explorer:index"), {"brand": "capri"})
    assert explorer.status_code == 200
    customer = compliance.get(
        reverse("customers:detail", args=[str(generator.user_id(generator.HEAVY_USER_INDEX))])
    )
    assert customer.status_code == 200
    export = compliance.get(reverse("explorer:export_csv"), {"brand": "capri"})
    assert export.status_code == 200
    lines = b"".join(export.streaming_content).decode().splitlines()
    assert len(lines) > 100 and lines[0].startswith("source,")


def test_the_export_in_keyset_chunks_through_pgbouncer_equals_one_direct_read(through_pgbouncer, make_staff):
    user = make_staff("compliance").user
    query = AuditQuery()
    through_pgbouncer.catch_up()
    chunked = list(selectors.iter_export_rows(query=query, user=user, max_rows=10**6, chunk_size=7))
    with platform_route(server=embedded.PRIMARY, pooled=False):
        whole = list(selectors.iter_export_rows(query=query, user=user, max_rows=10**6, chunk_size=10**6))
    assert len(chunked) > 1000
    assert chunked == whole  # no row skipped or repeated at a chunk boundary, same order
    assert len({(row[2], row[1]) for row in chunked}) == len(chunked)


def test_the_export_holds_no_transaction_between_chunks(through_pgbouncer, make_staff):
    rows = selectors.iter_export_rows(
        query=AuditQuery(), user=make_staff("compliance").user, max_rows=5000, chunk_size=50
    )
    for _ in range(500):  # well past every source's first chunk
        next(rows)
    for alias in PLATFORM_ALIASES:
        connection = connections[alias]
        if connection.connection is not None:
            assert not connection.in_atomic_block, alias
            assert connection.connection.info.transaction_status == TransactionStatus.IDLE, alias


def _export_peak(user, rows: int) -> int:
    """Peak memory allocated while streaming ``rows`` export rows (consumed, not kept)."""
    tracemalloc.start()
    try:
        stream = selectors.iter_export_rows(query=AuditQuery(), user=user, max_rows=rows, chunk_size=25)
        count = sum(1 for _ in stream)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert count == rows
    return peak


def test_the_exports_memory_stays_flat_over_a_long_stream(through_pgbouncer, make_staff):
    user = make_staff("compliance").user
    short, long = 300, 3000
    _export_peak(user, short)  # warm-up: first queries compile, caches fill
    small, large = _export_peak(user, short), _export_peak(user, long)
    # Ten times the rows, about the same memory: one chunk per source at a time, never the stream.
    assert large < small * 1.5 + 256 * 1024, (small, large)
