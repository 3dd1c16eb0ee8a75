"""Reading the platform from a streaming hot standby while the services write the primary: reads
come from the standby, the page after an action says when the standby has not applied it yet,
and a read the standby cancels for a conflict with recovery is retried once, then answered with a
clear page."""

from __future__ import annotations

import logging
import re
import threading
import time

import pytest
from django.contrib.admin.utils import quote
from django.db import connections
from django.urls import reverse

from backoffice.databases import alias_for_schema

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")

NOTE = "has not applied every change"


def confirm(client, url, **data):
    page = client.get(url)
    assert page.status_code == 200, page.content[:500]
    key = re.search(r'name="idempotency_key" value="([0-9a-f-]+)"', page.content.decode()).group(1)
    return client.post(url, {"idempotency_key": key, **data})


def shown_status(page) -> str:
    """The charge's status as its change page shows it."""
    match = re.search(r'field-status">.*?<div class="readonly">(.*?)</div>', page.content.decode(), re.S)
    assert match, "no status field on the charge page"
    return re.sub(r"<[^>]+>", "", match.group(1)).strip()  # the status reads as a badge


def test_replica_serves_every_platform_read(on_replica, make_staff, cluster_admin):
    for alias in [a for a in connections if a.startswith("platform")]:
        with connections[alias].cursor() as cursor:
            cursor.execute("SELECT pg_is_in_recovery()")
            assert cursor.fetchone() == (True,), alias
    expected = cluster_admin.execute("SELECT count(*) FROM payments.charges").fetchone()[0]
    with connections[alias_for_schema("payments")].cursor() as cursor:
        cursor.execute("SELECT count(*) FROM payments.charges")
        assert cursor.fetchone()[0] == expected
    page = make_staff("support").get(reverse("explorer:index"))
    assert page.status_code == 200
    assert "event-row" in page.content.decode() or "<tr" in page.content.decode()


def test_the_page_after_an_action_shows_the_old_value_and_says_so_until_replay_catches_up(
    on_replica, standin, make_staff, cluster_admin
):
    charge_id = cluster_admin.execute(
        "SELECT id FROM payments.charges WHERE status = 'succeeded' AND amount_cents > 3000 OFFSET 29 LIMIT 1"
    ).fetchone()[0]
    support = make_staff("support")
    charge_url = reverse("admin:payments_charge_change", args=[quote(str(charge_id))])
    assert NOTE not in support.get(charge_url).content.decode()
    on_replica.catch_up()
    on_replica.pause_replay()  # the standby falls behind, as it does under a heavy write load

    response = confirm(
        support,
        reverse("admin:payments_charge_act", args=[quote(str(charge_id)), "refund_charge"]),
        amount="5.00",
        reason="Replica lag test, ticket 19",
    )
    assert response.status_code == 302
    # The service wrote the primary ...
    assert cluster_admin.execute(
        "SELECT status FROM payments.charges WHERE id = %s", [charge_id]
    ).fetchone() == ("partially_refunded",)
    # ... the page the agent returns to reads the standby: the old value, the service's success
    # message, and a note that this page may not show the change yet.
    page = support.get(response["Location"])
    text = page.content.decode()
    assert "Refund: done by the payments service." in text
    assert shown_status(page) == "Succeeded"
    assert NOTE in text
    assert NOTE in support.get(charge_url).content.decode()  # still behind: still said

    on_replica.resume_replay()
    on_replica.catch_up()
    page = support.get(charge_url)
    assert shown_status(page) == "Partially Refunded"
    assert NOTE not in page.content.decode()


@pytest.fixture
def conflict_probe(cluster_admin, on_replica):
    """A table the payments reader may read, and a short max_standby_streaming_delay on the standby,
    so that a lock taken on the primary cancels a standby query holding it (a real conflict)."""
    cluster_admin.execute("CREATE TABLE payments.conflict_probe (id int)")
    cluster_admin.execute("GRANT SELECT ON payments.conflict_probe TO backoffice_ro_payments")
    with on_replica.connect() as standby:
        standby.execute("ALTER SYSTEM SET max_standby_streaming_delay = '100ms'")
        standby.execute("SELECT pg_reload_conf()")
    on_replica.catch_up()
    yield
    with on_replica.connect() as standby:
        standby.execute("ALTER SYSTEM RESET max_standby_streaming_delay")
        standby.execute("SELECT pg_reload_conf()")
    cluster_admin.execute("DROP TABLE payments.conflict_probe")


def test_a_read_the_standby_cancels_for_a_conflict_with_recovery_is_retried_once(
    conflict_probe, cluster_admin, caplog
):
    results, errors = [], []

    def read() -> None:
        # Its own thread, so its own connection (autocommit, as platform reads run in production).
        try:
            with connections[alias_for_schema("payments")].cursor() as cursor:
                cursor.execute(
                    "SELECT count(*), pg_is_in_recovery() FROM payments.conflict_probe, pg_sleep(1.5)"
                )
                results.append(cursor.fetchone())
        except Exception as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    caplog.set_level(logging.WARNING, logger="apps.core.db")
    reader = threading.Thread(target=read)
    reader.start()
    time.sleep(0.5)  # the standby query now holds its lock on the table
    with cluster_admin.transaction():
        # Replayed on the standby, this lock waits 100 ms for the query, then cancels it (40001).
        cluster_admin.execute("LOCK TABLE payments.conflict_probe IN ACCESS EXCLUSIVE MODE")
    reader.join(timeout=30)
    assert not errors, errors
    assert results == [(0, True)]
    assert "Read cancelled by the replica's recovery on platform_payments; retrying once." in caplog.text


@pytest.fixture
def recovery_conflicts(cluster_admin, on_replica):
    """Make the next ``n`` statements on the payments alias fail as a real server error with SQLSTATE
    40001 and the standby's message (a plpgsql RAISE), then run normally."""
    cluster_admin.execute(
        "CREATE FUNCTION public.raise_recovery_conflict() RETURNS void LANGUAGE plpgsql AS $$ BEGIN "
        "RAISE EXCEPTION 'canceling statement due to conflict with recovery' USING ERRCODE = '40001', "
        "DETAIL = 'User query might have needed to see row versions that must be removed.'; END $$"
    )
    on_replica.catch_up()
    connection = connections[alias_for_schema("payments")]

    def inject(n: int):
        left = [n]

        def conflicting(execute, sql, params, many, context):
            if left[0] > 0:
                left[0] -= 1
                return execute("SELECT public.raise_recovery_conflict()", None, False, context)
            return execute(sql, params, many, context)

        return connection.execute_wrapper(conflicting)

    yield inject
    cluster_admin.execute("DROP FUNCTION public.raise_recovery_conflict()")


def test_one_recovery_conflict_is_invisible_to_the_page(recovery_conflicts, make_staff):
    client = make_staff("superuser")
    with recovery_conflicts(1):
        page = client.get(reverse("admin:payments_charge_changelist"))
    assert page.status_code == 200
    assert "Select charge to" in page.content.decode() or "result_list" in page.content.decode()


def test_a_read_cancelled_twice_is_a_clear_503_not_a_500(recovery_conflicts, make_staff):
    client = make_staff("superuser")
    client.raise_request_exception = False
    with recovery_conflicts(1000):
        page = client.get(reverse("admin:payments_charge_changelist"))
    assert page.status_code == 503
    assert page["Retry-After"] == "2"
    text = page.content.decode()
    assert "read replica is busy applying recent changes" in text
    assert "Traceback" not in text
