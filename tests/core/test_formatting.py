"""Values as people read them (apps.core.formatting), over HTTP: money in its currency with its
ISO 4217 minor units, capped counts, local times with UTC on hover, shortened ids with the whole
id kept, badges; masking first; exports untouched."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import uuid

import pytest
from django.contrib.admin.utils import quote
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.access import preferences
from apps.core import formatting
from apps.refcluster import generator

pytestmark = pytest.mark.django_db(databases="__all__")

MARKER = "fmt-test"
HEAVY = str(generator.user_id(generator.HEAVY_USER_INDEX))
WHEN = dt.datetime(2026, 7, 1, 12, 34, 56, tzinfo=dt.UTC)  # summer: London is on BST (UTC+1)
# (currency, amount in minor units, how it reads)
AMOUNTS = (
    ("GBP", 12900, "£129.00"),  # 2 minor units
    ("JPY", 1290, "¥1,290"),  # 0 minor units
    ("KWD", 12900, "KWD 12.900"),  # 3 minor units
)


@pytest.fixture
def charges(cluster_admin):
    """A capri customer with one charge per currency (and a refund of the KWD one, whose row has
    no currency of its own), all at WHEN; deleted afterwards."""
    user_id = uuid.uuid4()
    ids = {code: uuid.uuid4() for code, _, _ in AMOUNTS}
    refund = uuid.uuid4()
    cluster_admin.execute(
        "INSERT INTO identity.users (id, brand_id, email, phone, display_name, status, mfa_enabled, created_at)"
        " VALUES (%s, 'capri', %s, '+15550100', 'Formatting Test', 'active', true, %s)",
        [user_id, f"{user_id}@example.com", WHEN],
    )
    for code, amount, _ in AMOUNTS:
        cluster_admin.execute(
            "INSERT INTO payments.charges (id, brand_id, user_id, amount_cents, currency, status, processor,"
            " processor_ref, created_at) VALUES (%s, 'capri', %s, %s, %s, 'succeeded', 'stripe', %s, %s)",
            [ids[code], str(user_id), amount, code, f"{MARKER}-{code.lower()}-{user_id}", WHEN],
        )
    cluster_admin.execute(
        "INSERT INTO payments.refunds (id, brand_id, charge_id, amount_cents, reason, status, requested_by,"
        " created_at) VALUES (%s, 'capri', %s, 500, 'duplicate', 'succeeded', 'support', %s)",
        [refund, ids["KWD"], WHEN],
    )
    yield {"user": user_id, "charges": ids, "refund": refund}
    cluster_admin.execute("DELETE FROM payments.refunds WHERE id = %s", [refund])
    cluster_admin.execute("DELETE FROM payments.charges WHERE user_id = %s", [str(user_id)])
    cluster_admin.execute("DELETE FROM identity.users WHERE id = %s", [user_id])


def page(client, url: str, status: int = 200) -> str:
    response = client.get(url)
    assert response.status_code == status, (url, response.status_code)
    return response.content.decode()


def charge_url(pk) -> str:
    return reverse("admin:payments_charge_change", args=[quote(str(pk))])


def charge_list(user_id) -> str:
    return reverse("admin:payments_charge_changelist") + f"?q={MARKER}-"


# --- money ------------------------------------------------------------------------------------
def test_money_reads_in_its_currency_with_its_minor_units(make_staff, charges):
    client = make_staff("support")
    listing = page(client, charge_list(charges["user"]))
    for code, amount, shown in AMOUNTS:
        assert shown in listing, code
        detail = page(client, charge_url(charges["charges"][code]))
        assert shown in detail and f"{amount} minor units of {code}" in detail
    assert ">12900<" not in listing and ">1290<" not in listing  # no raw minor units left


def test_money_of_a_row_without_currency_takes_its_charges(make_staff, charges):
    """A refund has no currency column: its charge's is joined (one join, no query per row)."""
    client = make_staff("support")
    detail = page(client, reverse("admin:payments_refund_change", args=[charges["refund"]]))
    assert "KWD 0.500" in detail
    listing = page(client, reverse("admin:payments_refund_changelist") + f"?q={charges['refund']}")
    assert "KWD 0.500" in listing


def test_the_customer_page_shows_amounts_in_their_currency(make_staff, charges):
    html = page(make_staff("support"), reverse("customers:detail", args=[charges["user"]]))
    charges_panel = html.split('id="panel-charges"', 1)[1].split("</section>", 1)[0]
    for code, _, shown in AMOUNTS:
        assert shown in charges_panel, code
    refunds_panel = html.split('id="panel-refunds"', 1)[1].split("</section>", 1)[0]
    assert "KWD 0.500" in refunds_panel


@pytest.mark.parametrize(
    ("code", "minor", "expected"),
    [
        ("GBP", 12900, "£129.00"),
        ("USD", 5, "$0.05"),
        ("JPY", 1290, "¥1,290"),
        ("KWD", 12900, "KWD 12.900"),
        ("BHD", 1, "BHD 0.001"),
        (None, 12900, "129.00"),
    ],
)
def test_money_text_follows_iso_4217_minor_units(code, minor, expected):
    assert formatting.money_text(minor, code) == expected


# --- counts -----------------------------------------------------------------------------------
def test_a_capped_count_reads_1000_plus_not_1001(make_staff, cluster_admin):
    brand, rows = cluster_admin.execute(
        "SELECT brand_id, count(*) FROM analytics.events GROUP BY 1 ORDER BY 2 DESC LIMIT 1"
    ).fetchone()
    assert rows > 1_000  # the test seed's busiest brand: what makes the cap bite
    html = page(make_staff("superuser"), reverse("admin:analytics_event_changelist") + f"?brand_id={brand}")
    assert "1,000+ results" in html and "1,000+ events" in html
    assert "1001" not in html


def test_counts_group_their_digits_and_stop_at_the_cap():
    assert formatting.count_text(1290) == "1,290"
    assert formatting.count_text(1001, cap=1000) == "1,000+"
    assert formatting.count_text(1000, cap=1000) == "1,000"


# --- time zones -------------------------------------------------------------------------------
def staff_in(make_staff, zone: str, username: str):
    client = make_staff("support", username=username)
    response = client.post(reverse("preferences"), {"time_zone": zone})
    assert response.status_code == 302
    return client


def test_the_same_event_reads_in_each_staff_members_zone_with_utc_on_hover(make_staff, charges):
    london = staff_in(make_staff, "Europe/London", "in-london")
    tokyo = staff_in(make_staff, "Asia/Tokyo", "in-tokyo")
    url = charge_url(charges["charges"]["GBP"])
    utc_title = 'title="2026-07-01 12:34:56 UTC"'
    london_html, tokyo_html = page(london, url), page(tokyo, url)
    assert "2026-07-01 13:34" in london_html and "BST" in london_html
    assert "2026-07-01 21:34" in tokyo_html and "JST" in tokyo_html
    assert utc_title in london_html and utc_title in tokyo_html
    assert 'datetime="2026-07-01T12:34:56+00:00"' in tokyo_html
    # The list and the customer page read the same way.
    listing = page(tokyo, reverse("admin:payments_refund_changelist") + f"?q={charges['refund']}")
    assert "2026-07-01 21:34" in listing
    assert "2026-07-01 21:34" in page(tokyo, reverse("customers:detail", args=[charges["user"]]))


def test_without_a_preference_times_read_in_utc(make_staff, charges):
    html = page(make_staff("support"), charge_url(charges["charges"]["GBP"]))
    assert "2026-07-01 12:34" in html and 'title="2026-07-01 12:34:56 UTC"' in html


def test_the_preferences_page_shows_and_keeps_the_zone(make_staff):
    client = staff_in(make_staff, "asia/tokyo", "lower-case")  # any case: stored as IANA spells it
    assert preferences.time_zone_name(client.user) == "Asia/Tokyo"
    html = page(client, reverse("preferences"))
    assert 'value="Asia/Tokyo"' in html and "Preferences" in html
    assert reverse("preferences") in page(client, "/admin/")  # linked from the user menu


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(junk=st.text(max_size=80))
def test_the_time_zone_form_refuses_junk_with_a_clear_message(make_staff, junk):
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.filter(username="tz-junk").first()
    client = make_staff("support", username="tz-junk") if user is None else _client_for(user)
    response = client.post(reverse("preferences"), {"time_zone": junk})
    if junk.strip().lower() in {z.lower() for z in formatting.time_zone_names()}:
        assert response.status_code == 302
        return
    assert response.status_code == 400
    html = response.content.decode()
    # A NUL is refused before the form by the parameter check, with its own message.
    assert "not a time zone this system knows" in html or "This field is required" in html or "NUL" in html
    assert "Traceback" not in html


def _client_for(user):
    from django.test import Client

    client = Client()
    client.force_login(user)
    return client


# --- ids --------------------------------------------------------------------------------------
def test_long_ids_are_shortened_with_the_whole_id_on_hover_and_to_copy(make_staff, charges):
    pk = str(charges["charges"]["GBP"])
    html = page(make_staff("support"), charge_list(charges["user"]))
    assert f'<span class="bo-id" title="{pk}" data-copy="{pk}">{pk[:8]}\u2026</span>' in html
    assert f">{pk}<" not in html  # the whole id is not the text of any cell
    assert "core/format.js" in html  # the copy button's script


# --- badges -----------------------------------------------------------------------------------
def test_booleans_and_statuses_are_badges_with_words(make_staff, charges):
    client = make_staff("support")
    html = page(client, charge_list(charges["user"]))
    assert '<span class="badge status status-ok">Succeeded</span>' in html  # the enum's label
    user = page(client, reverse("admin:identity_user_change", args=[charges["user"]]))
    assert '<span class="badge badge-yes">Yes</span>' in user  # mfa_enabled, a word, not an icon


# --- masking wins -----------------------------------------------------------------------------
def test_a_masked_value_stays_the_mask_whatever_its_kind(make_staff, charges, monkeypatch):
    from apps.access import classification

    # Declare the amount contact data for this test: a brand manager (no contact details) must
    # get the mask, never "£129.00".
    tables = {**classification.TABLES}
    tables["commerce.orders"] = {**tables["commerce.orders"], "total_cents": classification.CONTACT}
    monkeypatch.setattr(classification, "TABLES", tables)
    html = page(make_staff("brand_manager", brands=("capri",)), reverse("admin:commerce_order_changelist"))
    rows = html.split('id="result_list"', 1)[1]
    assert "\N{BLACK CIRCLE}" * 6 in rows
    assert not re.search(r"[£$]\d", rows)  # no amount in any currency
    customer = page(
        make_staff("brand_manager", brands=("capri",), username="bm2"),
        reverse("customers:detail", args=[charges["user"]]),
    )
    profile = customer.split('id="profile-h"', 1)[1].split("</section>", 1)[0]
    assert str(charges["user"]) + "@example.com" not in profile and "\N{BLACK CIRCLE}" * 6 in profile


def test_phi_dates_are_masked_not_formatted(make_staff, cluster_admin):
    pk, born = cluster_admin.execute(
        "SELECT id, date_of_birth FROM patient_graph.customer_profiles WHERE date_of_birth IS NOT NULL LIMIT 1"
    ).fetchone()
    html = page(make_staff("compliance"), reverse("admin:patient_graph_customerprofile_change", args=[pk]))
    assert born.isoformat() not in html and "\N{BLACK CIRCLE}" * 6 in html


# --- exports keep machine values ---------------------------------------------------------------
def test_exports_keep_exact_machine_values_whatever_the_zone(make_staff, cluster_admin):
    row = cluster_admin.execute(
        "SELECT id, occurred_at, request_id FROM payments.audit_log WHERE request_id IS NOT NULL"
        " ORDER BY occurred_at DESC LIMIT 1"
    ).fetchone()
    client = make_staff("compliance", username="exporter")
    client.post(reverse("preferences"), {"time_zone": "Asia/Tokyo"})
    query = f"?service=payments&request_id={row[2]}"
    jsonl = client.get(reverse("explorer:export_jsonl") + query)
    assert jsonl.status_code == 200
    lines = [json.loads(line) for line in b"".join(jsonl.streaming_content).decode().splitlines() if line]
    exported = next(line for line in lines if line["id"] == str(row[0]))
    assert exported["occurred_at"].endswith("+00:00")  # UTC, not the exporter's Tokyo time
    assert dt.datetime.fromisoformat(exported["occurred_at"]) == row[1]
    assert exported["request_id"] == row[2]
    body = b"".join(client.get(reverse("explorer:export_csv") + query).streaming_content).decode()
    cells = next(r for r in csv.DictReader(io.StringIO(body)) if r["id"] == str(row[0]))
    assert cells["request_id"] == row[2] and "\u2026" not in body and "JST" not in body


# --- errors inside the frame ---------------------------------------------------------------------
def test_errors_render_inside_the_frame_for_staff(make_staff):
    client = make_staff("support")
    missing = page(client, reverse("admin:payments_charge_change", args=[uuid.uuid4()]), status=404)
    refused = page(client, "/admin/conformance/", status=403)
    bad = page(client, reverse("admin:payments_charge_changelist") + "?p=notanumber", status=400)
    for html in (missing, refused, bad):
        assert 'class="backoffice-nav"' in html and 'id="user-tools"' in html  # navigation, user links
        assert 'id="nav-sidebar"' in html
        assert "quote the reference" in html and "Traceback" not in html
    assert 'href="/admin/payments/charge/">Back to the list' in missing
    assert "Search for a customer" in refused


def test_errors_render_inside_the_frame_for_visitors_with_a_login_link(client):
    for url, status in (("/no-such-page/", 404), ("/admin/conformance/?x=\x00", 400)):
        html = page(client, url, status=status)
        assert 'id="header"' in html and "Log in" in html and "/admin/login/?next=" in html
        assert 'class="backoffice-nav"' not in html  # a visitor sees no navigation
        assert "quote the reference" in html


def test_our_own_lists_read_the_same_way(make_staff):
    """The back-office audit log and the action requests (our models) use the same layer."""
    client = make_staff("compliance", username="own-lists")
    client.post(reverse("preferences"), {"time_zone": "Asia/Tokyo"})
    page(client, reverse("customers:detail", args=[HEAVY]))  # logged, with this request's id
    html = page(client, reverse("admin:auditlog_auditevent_changelist"))
    assert re.search(
        r'<time datetime="[^"]+\+00:00" title="[^"]+ UTC">[^<]+<span class="tz"> JST</span>', html
    )
    assert 'class="bo-id" title="' in html  # request ids shortened, whole on hover


@pytest.mark.parametrize("brand", [b.id for b in generator.BRANDS if b.user_share])
def test_money_of_a_row_naming_no_currency_reads_in_its_brands_checkout_currency(make_staff, brand):
    """A cash wallet has no currency column nor a related row with one: its brand's checkout
    currency (platform.settings) is used, and the hover says where it came from."""
    from apps.cash.models import Wallet
    from apps.platform.models import Setting

    code = Setting.objects.get(brand_id=brand, key="checkout.currency").value
    wallet = Wallet.objects.filter(brand_id=brand).exclude(balance_cents=0).first()
    assert wallet is not None
    shown = formatting.money_text(wallet.balance_cents, code)
    detail = page(make_staff("superuser"), reverse("admin:cash_wallet_change", args=[quote(str(wallet.pk))]))
    assert shown in detail
    assert f"minor units of {code}, the brand&#x27;s checkout currency" in detail
