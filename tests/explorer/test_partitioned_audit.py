"""A partitioned audit_log (monthly RANGE partitions on occurred_at, as ``cluster_seed
--partitioned`` builds every one) browses, filters, pages and exports exactly like a plain one.

Every test runs on both layouts of commerce.audit_log: ``layout`` swaps in a copy in the other
layout (apps.refcluster.audit_layout) for the partitioned run, with the same rows, so the same
assertions hold against the same ground truth. Partition pruning is shown with EXPLAIN.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from html import unescape

import pytest
from django.core.management import call_command
from django.urls import reverse

from apps.conformance.checks import run_checks
from apps.explorer.query import AuditQuery
from apps.explorer.selectors import matching
from apps.explorer.sources import all_sources
from apps.refcluster import audit_layout

pytestmark = pytest.mark.django_db(databases="__all__")

SCHEMA = "commerce"
CHANGELIST = f"/admin/{SCHEMA}/auditlog/"
MARCH = (dt.datetime(2026, 3, 1, tzinfo=dt.UTC), dt.datetime(2026, 4, 1, tzinfo=dt.UTC))


@pytest.fixture(scope="module", params=["plain", "partitioned"])
def layout(request, cluster_admin):
    """commerce.audit_log in the given layout for the whole module (the cluster is built plain)."""
    partitioned = request.param == "partitioned"
    assert audit_layout.is_partitioned(cluster_admin, schema=SCHEMA) is False
    if not partitioned:
        yield request.param
        return
    audit_layout.build_copy(cluster_admin, schema=SCHEMA, partitioned=True)
    audit_layout.swap(cluster_admin, schema=SCHEMA)
    try:
        assert audit_layout.is_partitioned(cluster_admin, schema=SCHEMA) is True
        yield request.param
    finally:
        audit_layout.swap(cluster_admin, schema=SCHEMA)
        audit_layout.drop_copy(cluster_admin, schema=SCHEMA)


def truth(cluster_admin, where="true", params=()):
    """commerce.audit_log's ids newest first, as the database holds them."""
    rows = cluster_admin.execute(
        f"SELECT id FROM {SCHEMA}.audit_log WHERE {where} ORDER BY occurred_at DESC, id DESC",
        params,
    )
    return [str(r[0]) for r in rows]


def walk(client, url, params, ids, next_link):
    """Every id shown by following the 'next' links from the first page."""
    html = client.get(url, params).content.decode()
    seen, link, pages = ids(html), next_link(html), 1
    while link:
        html = client.get(url + link).content.decode()
        seen += ids(html)
        link, pages = next_link(html), pages + 1
    return seen, pages


def explorer_ids(html):
    return re.findall(r'data-id="([0-9a-f-]{36})"', html)


def explorer_next(html):
    match = re.search(r'href="(\?[^"]*cursor=[^"]*)" rel="next"', html)
    return unescape(match.group(1)) if match else None


def changelist_ids(html):
    found = re.findall(rf'href="{CHANGELIST}([0-9a-f-]{{36}})/change/', html)
    return list(dict.fromkeys(found))


def changelist_next(html):
    match = re.search(r'href="([^"]+)" rel="next" class="older"', html)
    return unescape(match.group(1)) if match else None


def test_partitioned_audit_log_pages_through_the_explorer_with_filters(layout, make_staff, cluster_admin):
    compliance = make_staff("compliance")
    params = {"service": SCHEMA, "brand": "loop", "since": "2026-03-01", "until": "2026-05-31"}
    expected = truth(
        cluster_admin,
        "brand_id = 'loop' AND occurred_at >= '2026-03-01' AND occurred_at < '2026-06-01'",
    )
    assert len(expected) > 100  # several pages, across three partitions
    seen, pages = walk(compliance, "/audit/", params, explorer_ids, explorer_next)
    assert seen == expected
    assert pages == -(-len(expected) // 50)


def test_partitioned_audit_log_pages_through_its_changelist(layout, admin_client, cluster_admin, monkeypatch):
    expected = truth(cluster_admin, "brand_id = 'capri'")
    assert len(expected) > 150
    seen, _ = walk(admin_client, CHANGELIST, {"brand_id": "capri"}, changelist_ids, changelist_next)
    assert seen == expected
    first = changelist_ids(admin_client.get(CHANGELIST).content.decode())
    assert first == truth(cluster_admin)[: len(first)] and first


def test_partitioned_audit_log_drills_down_by_month_in_its_changelist(layout, admin_client, cluster_admin):
    expected = truth(cluster_admin, "occurred_at >= %s AND occurred_at < %s", MARCH)
    seen, _ = walk(
        admin_client,
        CHANGELIST,
        {"occurred_at__gte": "2026-03-01", "occurred_at__lt": "2026-04-01"},
        changelist_ids,
        changelist_next,
    )
    assert seen == expected and expected


def test_partitioned_audit_log_exports_like_a_plain_one(layout, make_staff, cluster_admin):
    compliance = make_staff("compliance")
    response = compliance.get(
        reverse("explorer:export_jsonl"), {"service": SCHEMA, "since": "2026-03-01", "until": "2026-03-31"}
    )
    assert response.status_code == 200
    rows = [json.loads(line) for line in b"".join(response.streaming_content).decode().splitlines()]
    assert [r["id"] for r in rows] == truth(cluster_admin, "occurred_at >= %s AND occurred_at < %s", MARCH)


def test_partitioned_audit_log_keeps_platform_check_and_schema_drift_clean(layout, capsys, cluster_admin):
    assert run_checks(schemas=[SCHEMA]).findings == []
    call_command("schema_drift", schemas=[SCHEMA])  # exits 1 on a breaking difference
    assert "0 breaking, 0 news, 0 unclassified" in capsys.readouterr().out
    if layout == "partitioned":
        # Named directly, a partition is a table of its own: append-only must hold there too.
        partition = f"{SCHEMA}.audit_log_partitioned_2026_03"
        cluster_admin.execute(f"GRANT UPDATE ON {partition} TO svc_{SCHEMA}")
        try:
            found = run_checks(schemas=[SCHEMA]).violations
        finally:
            cluster_admin.execute(f"REVOKE UPDATE ON {partition} FROM svc_{SCHEMA}")
        assert [(f.rule, f.fix) for f in found] == [(4, f"REVOKE UPDATE ON {partition} FROM svc_{SCHEMA};")]


def test_time_filter_scans_only_the_matching_partitions(layout):
    source = next(s for s in all_sources() if s.name == SCHEMA)
    since, until = MARCH[0], MARCH[1] - dt.timedelta(microseconds=1)
    queryset = matching(source, AuditQuery(since=since, until=until), None)
    plan = queryset.order_by("-occurred_at", "-id")[:51].explain()
    scanned = set(re.findall(r"\bon (audit_log\w*)", plan))
    if layout == "plain":
        assert scanned == {"audit_log"}
    else:
        assert scanned == {"audit_log_partitioned_2026_03"}, plan


def test_a_deep_cursor_page_skips_the_newer_partitions(layout):
    from apps.explorer.cursor import Position
    from apps.explorer.selectors import _before

    source = next(s for s in all_sources() if s.name == SCHEMA)
    cursor = Position(dt.datetime(2026, 3, 15, tzinfo=dt.UTC), uuid.UUID(int=0))
    queryset = _before(matching(source, AuditQuery(), None), cursor)
    plan = queryset.order_by("-occurred_at", "-id")[:51].explain()
    scanned = set(re.findall(r"\bon (audit_log\w*)", plan))
    if layout == "plain":
        assert scanned == {"audit_log"}
    else:  # March 2026 and older months, and the default partition; never April onwards
        assert "audit_log_partitioned_2026_03" in scanned and "audit_log_partitioned_2025_10" in scanned
        assert not scanned & {f"audit_log_partitioned_2026_{m:02}" for m in range(4, 13)}, plan
