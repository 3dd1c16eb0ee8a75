"""Changelists at platform scale: bounded counts, keyset paging, query-free date drill-down,
and a friendly answer when the statement timeout fires."""

from __future__ import annotations

import re
from html import unescape

import pytest
from django.db import connections
from django.test.utils import CaptureQueriesContext

from apps.core import changelist

pytestmark = pytest.mark.django_db(databases="__all__")

ORDERS = "/admin/commerce/order/"


def row_ids(html):
    return re.findall(r'<th class="field-id"><a href="/admin/commerce/order/([0-9a-f-]{36})/change/', html)


def older_link(html):
    match = re.search(r'href="([^"]+)" rel="next" class="older"', html)
    return unescape(match.group(1)) if match else None


def test_counts_are_bounded_and_keyset_pages_walk_every_row_once(admin_client, cluster_admin, monkeypatch):
    monkeypatch.setattr(changelist, "COUNT_CAP", 60)
    expected = [str(r[0]) for r in cluster_admin.execute(
        "SELECT id FROM commerce.orders WHERE brand_id = 'loop' ORDER BY placed_at DESC, id DESC"
    )]  # fmt: skip
    assert len(expected) > 120
    html = admin_client.get(ORDERS, {"brand_id": "loop"}).content.decode()
    assert "60+ orders" in html
    seen, url, pages = row_ids(html), older_link(html), 1
    while url:
        html = admin_client.get(ORDERS + url).content.decode()
        seen += row_ids(html)
        url = older_link(html)
        pages += 1
    assert pages == -(-len(expected) // 50)
    assert seen == expected


def test_unfiltered_big_list_shows_the_catalogue_estimate(admin_client, cluster_admin, monkeypatch):
    monkeypatch.setattr(changelist, "COUNT_CAP", 60)
    cluster_admin.execute("ANALYZE commerce.orders")
    estimate = cluster_admin.execute(
        "SELECT reltuples::bigint FROM pg_class WHERE oid = 'commerce.orders'::regclass"
    ).fetchone()[0]
    html = admin_client.get(ORDERS).content.decode()
    assert f"about {estimate:,} orders" in html


def test_a_brand_scoped_list_never_shows_the_whole_tables_estimate(make_staff, cluster_admin, monkeypatch):
    monkeypatch.setattr(changelist, "COUNT_CAP", 60)
    cluster_admin.execute("ANALYZE commerce.orders")
    manager = make_staff("brand_manager", brands=("loop",))
    html = manager.get(ORDERS).content.decode()
    # "about <all brands' orders>" would tell a brand manager the other brands' volume.
    assert "60+ orders" in html and "about " not in html


def test_unfiltered_list_of_a_big_table_is_not_counted(admin_client, cluster_admin, monkeypatch):
    monkeypatch.setattr(changelist, "COUNT_CAP", 60)
    monkeypatch.setattr(changelist, "TRUSTED_ESTIMATE", 600)
    cluster_admin.execute("ANALYZE commerce.orders")
    estimate = cluster_admin.execute(
        "SELECT reltuples::bigint FROM pg_class WHERE oid = 'commerce.orders'::regclass"
    ).fetchone()[0]
    assert estimate > 600
    with CaptureQueriesContext(connections["platform_commerce"]) as queries:
        html = admin_client.get(ORDERS).content.decode()
    assert f"about {estimate:,} orders" in html
    assert len(row_ids(html)) == 50 and older_link(html)
    assert not [q["sql"] for q in queries if "COUNT(" in q["sql"].upper()]
    # A filter brings the bounded count back: the estimate is for the whole table only.
    with CaptureQueriesContext(connections["platform_commerce"]) as queries:
        html = admin_client.get(ORDERS, {"brand_id": "loop"}).content.decode()
    assert "60+ orders" in html
    assert [q["sql"] for q in queries if "COUNT(" in q["sql"].upper()]


def test_an_unknown_brand_filter_matches_nothing_without_a_query(admin_client):
    with CaptureQueriesContext(connections["platform_commerce"]) as queries:
        response = admin_client.get(ORDERS, {"brand_id": "no-such-brand"})
    assert response.status_code == 200
    assert "0 orders" in response.content.decode() and not row_ids(response.content.decode())
    assert not [q["sql"] for q in queries if "commerce" in q["sql"]]


def test_a_row_opened_from_a_filtered_list_closes_back_to_it(admin_client):
    html = admin_client.get(ORDERS, {"brand_id": "loop"}).content.decode()
    links = re.findall(r'<th class="field-id"><a href="([^"]+)"', html)
    assert len(links) == 50
    assert all(unescape(link).endswith("/change/?_changelist_filters=brand_id%3Dloop") for link in links)
    record = admin_client.get(unescape(links[0])).content.decode()
    close = re.search(r'<a href="([^"]+)" class="closelink">', record)
    assert close and unescape(close.group(1)) == ORDERS + "?brand_id=loop"


def test_a_damaged_cursor_is_refused_cleanly(admin_client):
    response = admin_client.get(ORDERS, {"cursor": "not-a-cursor"})
    assert response.status_code == 400
    assert "This page link is damaged; start again from the first page." in response.content.decode()


def test_date_drill_down_uses_ranges_not_distinct_scans(admin_client, cluster_admin):
    page = admin_client.get(ORDERS).content.decode()
    years = re.findall(r"placed_at__gte=(\d{4})-01-01&amp;placed_at__lt=(\d{4})-01-01", page)
    assert ("2026", "2027") in years
    march = admin_client.get(
        ORDERS, {"placed_at__gte": "2026-03-01", "placed_at__lt": "2026-04-01"}
    ).content.decode()
    expected = cluster_admin.execute(
        "SELECT count(*) FROM commerce.orders WHERE placed_at >= '2026-03-01T00:00Z' AND placed_at < '2026-04-01T00:00Z'"
    ).fetchone()[0]
    assert f"{min(expected, 50)}" and len(row_ids(march)) == min(expected, 50)
    assert "Mar" in march and "All dates" in march


def test_a_runaway_query_gets_a_friendly_page_not_a_stuck_worker(admin_client, cluster_admin):
    # (Nothing in this test may read analytics.events before the lock: the test's own
    # transaction would then hold a lock that LOCK TABLE waits for.)
    with connections["platform_analytics"].cursor() as cursor:
        cursor.execute("SET statement_timeout = 300")
    # Another session holds the table: the list query waits until the statement timeout stops it.
    with cluster_admin.transaction():
        cluster_admin.execute("LOCK TABLE analytics.events IN ACCESS EXCLUSIVE MODE")
        response = admin_client.get("/admin/analytics/event/")
    with connections["platform_analytics"].cursor() as cursor:
        cursor.execute("RESET statement_timeout")
    assert response.status_code == 503
    assert "took too long" in response.content.decode()
    assert "Narrow it with a brand" in response.content.decode()
