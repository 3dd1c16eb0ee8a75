"""The audit explorer over HTTP: filters, drill-downs, cursor paging, scoping, export, bad input."""

from __future__ import annotations

import csv
import io
import json
import re
import uuid
from html import unescape

import pytest
from django.test import override_settings
from django.urls import reverse

from apps.auditlog.models import AuditEvent
from apps.core.display import MASK
from backoffice.platform_schemas import SCHEMA_NAMES

pytestmark = pytest.mark.django_db(databases="__all__")

INDEX = "/audit/"
UNION = " UNION ALL ".join(
    f"SELECT '{s}' AS source, id, occurred_at, actor_type, actor_id, actor_brand_id, event_type, entity_type, "
    f"entity_id, brand_id, request_id FROM {s}.audit_log"
    for s in SCHEMA_NAMES
)


def all_events(cluster_admin, where="true", params=()):
    """What the platform's audit logs really hold (a test may span schemas; the app never does)."""
    return cluster_admin.execute(f"SELECT * FROM ({UNION}) a WHERE {where}", params).fetchall()


def export(client, **params):
    response = client.get(reverse("explorer:export_jsonl"), params)
    assert response.status_code == 200, response
    return [json.loads(line) for line in b"".join(response.streaming_content).decode().splitlines()]


def next_link(html):
    match = re.search(r'href="(\?[^"]*cursor=[^"]*)" rel="next"', html)
    return unescape(match.group(1)) if match else None


def shown_ids(html):
    return re.findall(r'data-id="([0-9a-f-]{36})"', html)


@pytest.fixture
def compliance(make_staff):
    return make_staff("compliance")


@pytest.fixture
def checkout(cluster_admin):
    """A request_id that a checkout left in several services."""
    row = cluster_admin.execute(
        f"SELECT request_id, count(DISTINCT source) FROM ({UNION}) a WHERE request_id IS NOT NULL "
        "GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1"
    ).fetchone()
    assert row[1] >= 4
    return row[0]


# --- the page and its filters ---------------------------------------------------------------


def test_first_page_is_newest_first_across_services(compliance, cluster_admin):
    # Our own events as the page saw them (it logs its own view of PHI-bearing rows afterwards).
    ours = list(AuditEvent.objects.values_list("occurred_at", "id"))  # staff set-up events of this test
    html = compliance.get(INDEX).content.decode()
    ids = shown_ids(html)
    assert len(ids) == 50
    platform = [
        (r[2], r[1]) for r in all_events(cluster_admin, "true ORDER BY occurred_at DESC, id DESC LIMIT 50 --")
    ]
    newest = sorted(platform + ours, reverse=True)[:50]
    assert ids == [str(pk) for _, pk in newest]
    assert next_link(html)


@pytest.mark.parametrize(
    ("params", "where", "values"),
    [
        ({"brand": "loop"}, "brand_id = %s", ["loop"]),
        ({"actor_type": "system"}, "actor_type = %s", ["system"]),
        ({"event_type": "order.placed"}, "event_type = %s", ["order.placed"]),
        ({"event_type": "charge.*"}, "event_type LIKE %s", ["charge.%"]),
        ({"event_type": "user."}, "event_type LIKE %s", ["user.%"]),
        ({"service": "payments"}, "source = %s", ["payments"]),
        (
            {"since": "2026-03-01", "until": "2026-03-02"},
            "occurred_at >= %s AND occurred_at < %s",
            ["2026-03-01T00:00:00Z", "2026-03-03T00:00:00Z"],
        ),
    ],
)
def test_each_filter_returns_exactly_the_matching_events(compliance, cluster_admin, params, where, values):
    expected = {str(r[1]) for r in all_events(cluster_admin, where, values)}
    assert expected, "the seed has matching events"
    got = [row["id"] for row in export(compliance, **params)]
    assert len(got) == len(set(got))
    assert set(got) == expected
    html = compliance.get(INDEX, params).content.decode()
    assert set(shown_ids(html)) <= expected and shown_ids(html)


def test_actor_entity_and_request_filters(compliance, cluster_admin, checkout):
    source, _, _, _, actor_id, actor_brand, _, entity_type, entity_id, _, _ = all_events(
        cluster_admin,
        "actor_type = 'user' AND entity_id IS NOT NULL AND actor_brand_id IS NOT NULL LIMIT 1 --",
    )[0]
    for params, where, values in (
        ({"actor_id": actor_id}, "actor_id = %s", [actor_id]),
        (
            {"actor_brand_id": actor_brand, "service": source},
            "actor_brand_id = %s AND source = %s",
            [actor_brand, source],
        ),
        (
            {"entity_type": entity_type, "entity_id": entity_id},
            "entity_type = %s AND entity_id = %s",
            [entity_type, entity_id],
        ),
        ({"request_id": checkout}, "request_id = %s", [checkout]),
        (
            {"service": ["commerce", "cash"], "brand": "capri"},
            "source IN ('commerce', 'cash') AND brand_id = %s",
            ["capri"],
        ),
    ):
        expected = {str(r[1]) for r in all_events(cluster_admin, where, values)}
        assert expected
        assert {row["id"] for row in export(compliance, **params)} == expected, params


def test_backoffice_audit_events_are_part_of_the_stream(compliance):
    event = AuditEvent.objects.create(
        occurred_at="2030-01-01T00:00:00Z", actor_type="staff", actor_id="99", event_type="phi.viewed",
        brand_id="capri", request_id="req-backoffice-in-explorer",
    )  # fmt: skip
    html = compliance.get(INDEX, {"request_id": "req-backoffice-in-explorer"}).content.decode()
    assert shown_ids(html) == [str(event.id)]
    assert "backoffice" in html


# --- drill-downs ----------------------------------------------------------------------------


def test_request_view_tells_one_actions_story_across_services_in_order(compliance, cluster_admin, checkout):
    expected = all_events(cluster_admin, "request_id = %s ORDER BY occurred_at, id", [checkout])
    html = compliance.get(reverse("explorer:request", args=[checkout])).content.decode()
    assert shown_ids(html) == [str(r[1]) for r in expected]
    services = {r[0] for r in expected}
    assert f"across {len(services)} services" in html
    # every id is a link onwards: the entity timeline and, where there is one, the record page
    assert reverse("explorer:entity", args=[expected[0][7], expected[0][8]]) in html


def test_entity_timeline_and_actor_view_link_onwards(compliance, cluster_admin):
    order_id, user_id = cluster_admin.execute("SELECT id, user_id FROM commerce.orders LIMIT 1").fetchone()
    timeline = compliance.get(reverse("explorer:entity", args=["order", order_id])).content.decode()
    expected = {
        str(r[1])
        for r in all_events(cluster_admin, "entity_type = 'order' AND entity_id = %s", [str(order_id)])
    }
    assert set(shown_ids(timeline)) == expected
    assert reverse("admin:commerce_order_change", args=[order_id]) in timeline
    actor = compliance.get(reverse("explorer:actor", args=[user_id])).content.decode()
    assert set(shown_ids(actor)) <= {str(r[1]) for r in all_events(cluster_admin, "actor_id = %s", [user_id])}
    assert reverse("admin:identity_user_change", args=[user_id]) in actor


def test_details_show_before_and_after_as_a_diff(compliance, cluster_admin):
    row = cluster_admin.execute(
        "SELECT id FROM identity.audit_log WHERE details ? 'before' AND details ? 'after' LIMIT 1"
    ).fetchone()
    html = compliance.get(INDEX, {"service": "identity", "event_type": "user."}).content.decode()
    assert 'class="diff"' in html
    assert '<tr class="changed"><th scope="row">status</th>' in html
    assert row is not None


# --- cursor paging --------------------------------------------------------------------------


def test_cursor_walks_every_row_once_while_new_rows_arrive(compliance, cluster_admin, connect_as):
    expected = [str(r[1]) for r in all_events(
        cluster_admin, "source IN ('commerce', 'payments') AND brand_id = 'loop' ORDER BY occurred_at DESC, id DESC --"
    )]  # fmt: skip
    writer = connect_as("svc_commerce")
    seen, url, pages = [], INDEX + "?service=commerce&service=payments&brand=loop", 0
    inserted = []
    while url:
        html = compliance.get(url if url.startswith("/") else INDEX + url).content.decode()
        seen += shown_ids(html)
        # The service keeps writing while a reviewer pages: newer rows must not disturb the walk.
        new_id = uuid.uuid4()
        writer.execute(
            "INSERT INTO commerce.audit_log (id, occurred_at, actor_type, actor_id, event_type, brand_id) "
            "VALUES (%s, now(), 'user', 'x', 'order.placed', 'loop')",
            [new_id],
        )
        inserted.append(str(new_id))
        url = next_link(html)
        pages += 1
    assert pages > 3
    assert len(seen) == len(set(seen))
    assert seen == expected
    assert not set(inserted) & set(seen)


@pytest.mark.parametrize("cursor", ["abc", "eyJ0IjoxfQ", "x" * 3000, "../../etc/passwd"])
def test_malformed_or_forged_cursor_is_a_clear_400(compliance, cursor):
    response = compliance.get(INDEX, {"cursor": cursor})
    assert response.status_code == 400
    assert "page link is damaged" in response.content.decode()


# --- brand scoping --------------------------------------------------------------------------


def test_brand_manager_sees_only_their_brand_and_their_schemas(make_staff):
    client = make_staff("brand_manager", brands=("capri",))
    html = client.get(INDEX).content.decode()
    brands = set(re.findall(r'\?brand=([a-z]+)"', html))
    assert brands == {"capri"}
    services = set(re.findall(r'<td><a href="\?service=([a-z_]+)"', html))
    assert services and services <= {
        "commerce",
        "affiliates",
        "membership",
        "comms",
        "community",
        "content",
        "analytics",
        "cash",
        "entitlements",
    }
    assert shown_ids(client.get(INDEX, {"brand": "loop"}).content.decode()) == []
    rows = export(client, service="commerce")
    assert rows and {r["brand_id"] for r in rows} == {"capri"}
    assert client.get(INDEX, {"service": "identity"}).status_code == 200
    assert shown_ids(client.get(INDEX, {"service": "identity"}).content.decode()) == []


def test_support_cannot_export_and_staff_without_audit_access_is_refused(make_staff, client):
    assert make_staff("support").get(reverse("explorer:export_csv")).status_code == 403
    assert client.get(INDEX).status_code == 302  # anonymous: to the login page


# --- export ---------------------------------------------------------------------------------


def test_csv_export_matches_the_filter_and_is_logged(compliance, cluster_admin):
    response = compliance.get(reverse("explorer:export_csv"), {"service": "payments", "brand": "capri"})
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    expected = {str(r[1]) for r in all_events(cluster_admin, "source = 'payments' AND brand_id = 'capri'")}
    assert {r["id"] for r in rows} == expected
    assert all(r["source"] == "payments" and r["brand_id"] == "capri" for r in rows)
    logged = AuditEvent.objects.get(event_type="export.audit", actor_id=str(compliance.user.pk))
    assert logged.details["rows"] == len(rows) and logged.details["format"] == "csv"
    assert logged.details["filters"] == {"brand": ["capri"], "service": ["payments"]}
    assert logged.details["completed"] is True


FORMULAS = ['=HYPERLINK("http://evil.example","x")', "+1+1", "-2+3", "@SUM(A1)", "\tx", "\r=1"]


@pytest.fixture
def formula_rows(cluster_admin):
    """Platform audit rows whose text columns start like spreadsheet formulas; removed afterwards."""
    request_id = f"csv-injection-{uuid.uuid4().hex}"
    ids = [uuid.uuid4() for _ in FORMULAS]
    for pk, value in zip(ids, FORMULAS, strict=True):
        cluster_admin.execute(
            "INSERT INTO payments.audit_log (id, occurred_at, actor_type, actor_id, actor_brand_id, event_type,"
            " entity_type, entity_id, brand_id, request_id, details)"
            " VALUES (%s, now(), 'user', %s, NULL, %s, 'charge', %s, 'capri', %s, %s)",
            [pk, value, value, value, request_id, json.dumps({"note": value})],
        )
    yield request_id
    cluster_admin.execute("DELETE FROM payments.audit_log WHERE request_id = %s", [request_id])


def test_csv_export_neutralises_formula_cells_and_jsonl_stays_exact(compliance, client, formula_rows):
    client.post(reverse("admin:login"), {"username": "=cmd|' /C calc'!A0", "password": "whatever"})
    response = compliance.get(reverse("explorer:export_csv"), {"request_id": formula_rows})
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode(), newline="")))
    assert sorted((r["actor_id"], r["event_type"], r["entity_id"]) for r in rows) == sorted(
        ("'" + value,) * 3 for value in FORMULAS
    )
    assert all(json.loads(r["details"])["note"] in FORMULAS for r in rows)  # JSON text starts with "{"
    failed = compliance.get(reverse("explorer:export_csv"), {"event_type": "staff.login_failed"})
    logins = list(csv.DictReader(io.StringIO(b"".join(failed.streaming_content).decode(), newline="")))
    assert [r["actor_id"] for r in logins] == ["'=cmd|' /C calc'!A0"]
    exact = export(compliance, request_id=formula_rows)
    assert sorted(
        (r["actor_id"], r["event_type"], r["entity_id"], r["details"]["note"]) for r in exact
    ) == sorted((value,) * 4 for value in FORMULAS)


@override_settings(AUDIT_EXPORT_MAX_ROWS=25)
def test_export_is_bounded_by_the_row_limit(compliance):
    rows = export(compliance)
    assert len(rows) == 25
    logged = AuditEvent.objects.get(event_type="export.audit")
    assert logged.details["limit_reached"] is True


# --- bad input and the picture ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"service": "nosuch"}, "Unknown service"),
        ({"since": "last tuesday"}, "since must be a date"),
        ({"until": "2026-13-45"}, "until must be a date"),
        ({"actor_id": "x" * 1_000}, "longest accepted is 256"),
        ({"actor_id": "x" * 10_000}, "longest accepted is 4,096"),  # any parameter (apps.core.params)
        ({"entity_id": "a\x00b"}, "entity_id contains a NUL character"),
        ({"since": "2026-05-01", "until": "2026-04-01"}, "since is after until"),
    ],
)
def test_bad_input_is_a_clear_400_not_a_500(compliance, params, message):
    for url in (INDEX, reverse("explorer:export_csv"), reverse("explorer:volume")):
        response = compliance.get(url, params)
        assert response.status_code == 400
        assert message in response.content.decode()


def test_volume_picture_is_an_svg_per_service_or_event_type(compliance):
    by_service = compliance.get(reverse("explorer:volume"), {"brand": "capri"})
    assert by_service.status_code == 200 and by_service["Content-Type"] == "image/svg+xml"
    assert "<rect" in by_service.content.decode() and "commerce (" in by_service.content.decode()
    by_event = compliance.get(
        reverse("explorer:volume"), {"brand": "capri", "by": "event_type"}
    ).content.decode()
    assert "order.placed (" in by_event


# --- rows that hold anything ------------------------------------------------------------------

ODD_ROWS = [
    # (actor_id, entity_type, entity_id, details as JSON text)
    ("", "", "entity-without-type", "[1, 2]"),
    ("line\nbreak", "a/b", "x\ny", '"just a string"'),
    ("/", "no_such_entity", "/", '{"before": 1, "after": [2]}'),
    ("huge", "user", "u-1", '{"n": ' + "9" * 5000 + "}"),
    ("deep", "charge", "not-a-uuid", "[" * 3000 + "]" * 3000),
    ("x" * 20_000, None, None, None),
]


@pytest.fixture
def odd_rows(cluster_admin):
    request_id = f"odd-rows-{uuid.uuid4().hex}"
    ids = [uuid.uuid4() for _ in ODD_ROWS]
    for pk, (actor_id, entity_type, entity_id, details) in zip(ids, ODD_ROWS, strict=True):
        cluster_admin.execute(
            "INSERT INTO payments.audit_log (id, occurred_at, actor_type, actor_id, event_type, entity_type,"
            " entity_id, brand_id, request_id, details) VALUES (%s, now(), 'user', %s, 'odd.row', %s, %s, 'capri', %s,"
            " %s::jsonb)",
            [pk, actor_id, entity_type, entity_id, request_id, details],
        )
    yield request_id, [str(pk) for pk in ids]
    cluster_admin.execute("DELETE FROM payments.audit_log WHERE request_id = %s", [request_id])


@pytest.mark.parametrize("role", ["compliance", "support", "superuser"])
def test_rows_holding_anything_render_on_every_page(make_staff, admin_client, odd_rows, role):
    request_id, ids = odd_rows
    client = admin_client if role == "superuser" else make_staff(role)
    pages = [
        INDEX,
        reverse("explorer:request", args=[request_id]),
        reverse("explorer:entity", args=["-", "entity-without-type"]),
        reverse("explorer:actor", args=["deep"]),
        reverse("admin:index"),
        reverse("admin:payments_auditlog_changelist"),
        *(reverse("admin:payments_auditlog_change", args=[pk]) for pk in ids),
    ]
    for url in pages:
        response = client.get(url)
        assert response.status_code in (200, 403), (url, response.status_code)
    story = client.get(reverse("explorer:request", args=[request_id])).content.decode()
    assert all(f'data-id="{pk}"' in story for pk in ids)
    assert "9" * 5000 in story  # a number Python will not convert is shown as its digits
    timeline = client.get(reverse("explorer:entity", args=["-", "entity-without-type"])).content.decode()
    assert f'data-id="{ids[0]}"' in timeline
    assert f"/audit/?request_id={request_id}" not in story  # a usable id keeps its drill-down path
    assert "/audit/?actor_id=line%0Abreak" in story  # one that cannot be a path is a filter instead


def test_export_of_a_phi_service_masks_even_details_python_cannot_read_as_numbers(compliance, cluster_admin):
    """The export parses a PHI-bearing service's details to mask them: a 5,000-digit number (which
    PostgreSQL stores and int() refuses) is read as text, masked, and the export completes."""
    request_id = f"huge-number-{uuid.uuid4().hex}"
    huge = "9" * 5000
    cluster_admin.execute(
        "INSERT INTO clinical.audit_log (id, occurred_at, actor_type, actor_id, event_type, entity_type,"
        " entity_id, brand_id, request_id, details)"
        f" VALUES (%s, now(), 'service', 'labs', 'biomarker.imported', 'biomarker', 'x', 'capri', %s,"
        f' \'{{"value": {huge}, "status": "final"}}\'::jsonb)',
        [uuid.uuid4(), request_id],
    )
    try:
        rows = export(compliance, request_id=request_id)
        assert len(rows) == 1
        assert rows[0]["details"] == {"value": MASK, "status": "final"}
    finally:
        cluster_admin.execute("DELETE FROM clinical.audit_log WHERE request_id = %s", [request_id])
