"""Parallel fan-out (apps.core.fanout) behind the explorer's and the customer page's reads: the
same rows as one-after-another for every role, a source that does not answer in time is
cancelled and named on the page, no connection outlives its page, and the access trail records
what it recorded before."""

from __future__ import annotations

import time

import pytest
from django.db import DatabaseError, connections
from django.test import override_settings
from django.urls import reverse

from apps.access.roles import ROLE_NAMES, get_role
from apps.auditlog.models import AuditEvent
from apps.core import fanout
from apps.customers import selectors as customers
from apps.explorer import selectors as explorer
from apps.explorer.query import AuditQuery
from apps.refcluster import generator

pytestmark = pytest.mark.django_db(databases="__all__")

HEAVY = str(generator.user_id(generator.HEAVY_USER_INDEX))
ROLES = [*ROLE_NAMES, "superuser"]
SEQUENTIAL = override_settings(PLATFORM_FANOUT_WORKERS=1)


@pytest.fixture
def heavy_brand(cluster_admin):
    return cluster_admin.execute("SELECT brand_id FROM identity.users WHERE id = %s", [HEAVY]).fetchone()[0]


def staff(make_staff, role, brand):
    return make_staff(role, brands=(brand,) if role != "superuser" and get_role(role).brand_bound else ())


def audit_rows(page):
    return [(r.source, r.id, r.details, r.masked, r.revealed) for r in page.rows]


def customer_view(page):
    panels = [
        (p.panel.key, p.headers, [(r["cells"], r["url"]) for r in p.rows], p.more_url, p.error)
        for p in page.panels
    ]
    return panels, [(r.source, r.id, r.details, r.masked) for r in page.audit_rows], page.audit_error


def platform_backends(cluster_admin):
    """The back-office's connections to the test cluster, as the server counts them."""
    return cluster_admin.execute(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
        "AND application_name LIKE 'backoffice:%%'"
    ).fetchone()[0]


# --- same results ---------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_fanout_gives_every_role_the_rows_it_read_one_after_another(role, make_staff, heavy_brand):
    user = staff(make_staff, role, heavy_brand).user
    queries = [
        AuditQuery(),
        AuditQuery(brands=(heavy_brand,)),
        AuditQuery(subject_id=HEAVY, entity_type="user"),
    ]
    for query in queries:
        parallel = explorer.audit_page(query=query, user=user)
        with SEQUENTIAL:
            sequential = explorer.audit_page(query=query, user=user)
        assert audit_rows(parallel) == audit_rows(sequential), query
        assert parallel.next_position == sequential.next_position
        assert parallel.unanswered == sequential.unanswered == []
    record = customers.customer(user_id=HEAVY, staff=user)
    if record is None:  # a role that may not see this customer sees no page either way
        return
    parallel_page = customers.customer_page(customer_record=record, staff=user)
    with SEQUENTIAL:
        sequential_page = customers.customer_page(customer_record=record, staff=user)
    assert customer_view(parallel_page) == customer_view(sequential_page)
    assert any(p.rows for p in parallel_page.panels)


@pytest.mark.parametrize("role", ROLES)
def test_fanout_pages_leave_the_same_access_trail(role, make_staff, heavy_brand):
    client = staff(make_staff, role, heavy_brand)

    def trail_of(url):
        before = set(AuditEvent.objects.values_list("id", flat=True))
        status = client.get(url).status_code
        new = AuditEvent.objects.exclude(id__in=before).order_by("seq")
        return status, [(e.event_type, e.entity_type, e.entity_id, e.subject_id, e.details) for e in new]

    for url in (reverse("explorer:index"), reverse("customers:detail", args=[HEAVY])):
        parallel = trail_of(url)
        with SEQUENTIAL:
            sequential = trail_of(url)
        assert parallel == sequential, url


# --- deadline and cancellation ------------------------------------------------------------


@pytest.fixture
def locked(cluster_admin, connect_as):
    """Lock one schema's table from another session until the test ends: reads of it wait."""
    holder = connect_as("postgres")

    def lock(table):
        holder.execute("BEGIN")
        holder.execute(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")

    yield lock
    holder.execute("ROLLBACK")


def backstop_seconds(alias):
    """The statement timeout a cancelled query would otherwise have waited for."""
    return connections[alias].settings_dict["STATEMENT_TIMEOUT_MS"] / 1000


def waiting_backoffice_queries(cluster_admin):
    return cluster_admin.execute(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
        "AND application_name LIKE 'backoffice:%%' AND wait_event_type = 'Lock'"
    ).fetchone()[0]


@override_settings(PLATFORM_FANOUT_TIMEOUT_MS=700)
def test_a_source_that_does_not_answer_in_time_is_cancelled_and_named_on_the_explorer(
    make_staff, cluster_admin, locked
):
    client = make_staff("compliance")
    locked("jobs.audit_log")
    started = time.monotonic()
    response = client.get(reverse("explorer:index"))
    elapsed = time.monotonic() - started
    html = response.content.decode()
    assert response.status_code == 200
    assert "jobs did not answer in time" in " ".join(html.split())
    assert 'data-unanswered="jobs"' in html
    assert html.count("data-id=") == 50  # the other sources' rows are all there
    assert elapsed < backstop_seconds("platform_jobs")  # the deadline cancelled it, not the statement timeout
    assert waiting_backoffice_queries(cluster_admin) == 0  # cancelled, not left waiting on the lock


@override_settings(PLATFORM_FANOUT_TIMEOUT_MS=700)
def test_a_panel_that_does_not_answer_in_time_says_so_and_the_page_renders(make_staff, cluster_admin, locked):
    client = make_staff("compliance")
    locked("commerce.orders")
    response = client.get(reverse("customers:detail", args=[HEAVY]))
    html = " ".join(response.content.decode().split())
    assert response.status_code == 200
    assert "The commerce schema did not answer in time" in html
    assert "Charges" in html and "The payments schema" not in html
    assert waiting_backoffice_queries(cluster_admin) == 0


def test_fan_out_cancels_late_tasks_and_skips_unstarted_ones_at_the_deadline(cluster_admin, locked):
    locked("jobs.job_runs")

    def read(sql):
        def run():
            with connections["platform_jobs"].cursor() as cursor:
                cursor.execute(sql)
                return cursor.fetchall()

        return run

    tasks = [
        fanout.Task("slow", "platform_jobs", read("SELECT count(*) FROM jobs.job_runs")),
        fanout.Task("fast", "platform_jobs", read("SELECT 1")),
        fanout.Task("queued", "platform_jobs", read("SELECT 2")),
    ]
    outcomes = fanout.fan_out(tasks, max_workers=2, timeout=0.5)
    assert [o.task.key for o in outcomes] == ["slow", "fast", "queued"]
    assert outcomes[0].timed_out and isinstance(outcomes[0].error, fanout.DeadlineExceeded)
    assert outcomes[0].elapsed_ms / 1000 < backstop_seconds("platform_jobs")
    assert outcomes[1].value == [(1,)]
    assert outcomes[2].value == [(2,)] or outcomes[2].timed_out
    with pytest.raises(DatabaseError):
        outcomes[0].result()
    assert waiting_backoffice_queries(cluster_admin) == 0


def test_fan_out_raises_a_bug_instead_of_reporting_it():
    def broken():
        raise ValueError("a bug")

    tasks = [fanout.Task(name, f"platform_{name}", broken) for name in ("jobs", "capri")]
    with pytest.raises(ValueError, match="a bug"):
        fanout.fan_out(tasks, max_workers=2)


# --- connections ----------------------------------------------------------------------------


def test_fanout_pages_leak_no_connection(make_staff, cluster_admin):
    client = make_staff("compliance")
    client.get(reverse("explorer:index"))  # the request thread's own persistent connections
    client.get(reverse("customers:detail", args=[HEAVY]))
    before = platform_backends(cluster_admin)
    for _ in range(3):
        assert client.get(reverse("explorer:index")).status_code == 200
        assert client.get(reverse("customers:detail", args=[HEAVY])).status_code == 200
    assert platform_backends(cluster_admin) == before
