"""The customer search and page over HTTP, for each role."""

from __future__ import annotations

import pytest
from django.db import connections
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apps.auditlog.models import AuditEvent
from apps.refcluster import generator
from backoffice.platform_schemas import SCHEMA_NAMES

pytestmark = pytest.mark.django_db(databases="__all__")

HEAVY = str(generator.user_id(generator.HEAVY_USER_INDEX))
LOOP_USER = str(generator.user_id(generator.KNOWN_LOOP_USER_INDEX))
SEARCH = "/customers/"


def page_of(client, user_id):
    return client.get(reverse("customers:detail", args=[user_id]))


@pytest.fixture
def known(cluster_admin):
    order_number, charge_id, processor_ref = cluster_admin.execute(
        "SELECT o.number, c.id, c.processor_ref FROM commerce.orders o JOIN payments.charges c ON c.order_id = o.id::text "
        "WHERE o.user_id = %s AND c.processor_ref IS NOT NULL LIMIT 1",
        [HEAVY],
    ).fetchone()
    phone = cluster_admin.execute("SELECT phone FROM identity.users WHERE id = %s", [HEAVY]).fetchone()[0]
    code_user, code = cluster_admin.execute(
        "SELECT user_id, code FROM affiliates.affiliates LIMIT 1"
    ).fetchone()
    return {
        "email": generator.HEAVY_USER_EMAIL.upper(),
        "user id": HEAVY,
        "phone": phone,
        "order number": order_number,
        "charge id": str(charge_id),
        "processor reference": processor_ref,
        "affiliate code": (code, code_user),
    }


def test_every_lookup_kind_finds_the_right_customer(make_staff, known):
    client = make_staff("support")
    for how, term in known.items():
        expected = HEAVY
        if how == "affiliate code":
            term, expected = term
        if term is None:
            continue
        response = client.get(SEARCH, {"q": term})
        assert response.status_code == 302, how
        assert response["Location"] == reverse("customers:detail", args=[expected]), how


def test_unknown_or_hostile_terms_answer_clearly(make_staff):
    client = make_staff("support")
    for term in ("nobody@nowhere.invalid", "NOPE-123", "' OR 1=1 --"):
        response = client.get(SEARCH, {"q": term})
        assert response.status_code == 404
        assert "No customer you may see matches" in response.content.decode()
    for term, message in (
        ("x" * 500, "q is 500 characters long; the longest accepted is 200."),
        ("x" * 5000, "q is 5,000 characters long; the longest accepted is 4,096."),  # any parameter
        ("a\x00b", "q contains a NUL character"),
    ):
        response = client.get(SEARCH, {"q": term})
        assert response.status_code == 400
        assert message in response.content.decode()


def test_a_customer_address_that_is_not_an_id_is_a_400_that_says_so(make_staff):
    response = make_staff("support").get(reverse("customers:detail", args=["not-a-uuid"]))
    assert response.status_code == 400
    assert "is not a customer id: it is a UUID like" in response.content.decode()


def test_every_panel_shows_the_customers_rows(make_staff, cluster_admin):
    client = make_staff("compliance")
    html = page_of(client, HEAVY).content.decode()
    for title in ("Active sessions", "Orders", "Subscriptions", "Charges", "Refunds", "Ledger balance", "Cash wallet",
                  "Membership", "Messages", "Bookings", "Wearable connections", "Community posts", "Blocks",
                  "Affiliate attribution", "Biomarkers", "Red flags", "Patient graph",
                  "Latest audit events about this customer"):  # fmt: skip
        assert title in html, title
    newest_orders = [r[0] for r in cluster_admin.execute(
        "SELECT number FROM commerce.orders WHERE user_id = %s ORDER BY placed_at DESC LIMIT 10", [HEAVY]
    )]  # fmt: skip
    assert all(number in html for number in newest_orders)
    assert "unavailable" not in html.lower().replace("unavailable right now", "")
    assert f"/admin/commerce/order/?user_id={HEAVY}" in html  # the full list, filtered to this customer


def test_a_failing_schema_degrades_one_panel_only(make_staff, cluster_admin):
    cluster_admin.execute("ALTER TABLE cash.wallets RENAME TO wallets_moved")
    try:
        response = page_of(make_staff("support"), HEAVY)
    finally:
        cluster_admin.execute("ALTER TABLE cash.wallets_moved RENAME TO wallets")
    assert response.status_code == 200
    html = response.content.decode()
    wallet = html.split('id="panel-wallet"')[1].split("</section>")[0]
    assert "The cash schema is unavailable right now" in wallet
    orders = html.split('id="panel-orders"')[1].split("</section>")[0]
    assert "unavailable" not in orders and "<tbody>" in orders


def test_brand_manager_cannot_open_another_brands_customer(make_staff):
    client = make_staff("brand_manager", brands=("capri",))
    assert page_of(client, LOOP_USER).status_code == 404
    assert client.get(SEARCH, {"q": LOOP_USER}).status_code == 404
    # Emails are masked for brand managers, so they are no key at all: refused alike for a
    # customer of another brand and one of their own (the answer says nothing about either).
    other = client.get(SEARCH, {"q": generator.KNOWN_USERS[generator.KNOWN_LOOP_USER_INDEX].email})
    mine = client.get(SEARCH, {"q": generator.HEAVY_USER_EMAIL})
    assert other.status_code == mine.status_code == 403
    assert (
        other.content.replace(b"mia.laurent@example.com", b"").count(b"cannot find customers by email") == 1
    )
    own = page_of(client, HEAVY)
    assert own.status_code == 200
    html = own.content.decode()
    assert "Orders" in html and "Biomarkers" not in html and "Active sessions" not in html
    assert generator.HEAVY_USER_EMAIL not in html  # contact details masked for brand managers


def test_support_sees_phi_masked_and_no_clinical_panels(make_staff, cluster_admin):
    notes = [
        r[0]
        for r in cluster_admin.execute(
            "SELECT notes FROM booking.visits WHERE user_id = %s AND notes IS NOT NULL", [HEAVY]
        )
    ]
    html = page_of(make_staff("support"), HEAVY).content.decode()
    assert notes and not any(note in html for note in notes)
    assert "Biomarkers" not in html and "Patient graph" not in html
    assert generator.HEAVY_USER_EMAIL in html  # support sees contact details


def test_opening_a_page_with_phi_panels_is_logged(make_staff, cluster_admin):
    client = make_staff("compliance")
    values = [
        str(r[0])
        for r in cluster_admin.execute("SELECT code FROM clinical.biomarkers WHERE user_id = %s", [HEAVY])
    ]
    html = page_of(client, HEAVY).content.decode()
    assert values and not any(f">{v}<" in html for v in values)
    event = AuditEvent.objects.get(event_type="phi.viewed", actor_id=str(client.user.pk))
    assert event.entity_id == HEAVY and "biomarkers" in event.details["panels"]


def test_actions_for_this_customer_are_buttons_on_the_page(make_staff):
    html = page_of(make_staff("support"), HEAVY).content.decode()
    assert "/act/revoke_sessions/" in html
    assert "/act/refund_charge/" in html
    assert "/act/refund_charge/" not in page_of(make_staff("compliance"), HEAVY).content.decode()


def test_the_page_runs_a_bounded_number_of_queries(make_staff):
    client = make_staff("compliance")
    aliases = ["default", *(f"platform_{s}" for s in SCHEMA_NAMES)]
    contexts = [CaptureQueriesContext(connections[a]) for a in aliases]
    for context in contexts:
        context.__enter__()
    page_of(client, HEAVY)
    for context in contexts:
        context.__exit__(None, None, None)
    # Savepoints only exist because the test runs inside a transaction; count the reads.
    per_alias = {
        a: sum(1 for q in c.captured_queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE")))
        for a, c in zip(aliases, contexts, strict=True)
    }
    platform_queries = sum(n for a, n in per_alias.items() if a != "default")
    # one audit query per schema plus one per panel: no query per row
    assert platform_queries <= 50, per_alias
    assert max(n for a, n in per_alias.items() if a != "default") <= 6, per_alias


def test_every_panels_full_list_link_opens_the_filtered_changelist(make_staff):
    import re
    from html import unescape

    client = make_staff("compliance")
    html = page_of(client, HEAVY).content.decode()
    links = [unescape(u) for u in re.findall(r'<p class="more"><a href="(/admin/[^"]+)"', html)]
    assert len(links) >= 12  # every panel with rows links to its full list
    for url in links:
        response = client.get(url)
        assert response.status_code == 200, url  # a disallowed lookup would redirect with ?e=1
        assert 'class="field-' in response.content.decode(), url  # and it lists this customer's rows
