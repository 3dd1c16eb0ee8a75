"""A support agent's day, in a real browser: find a customer, see PHI masked, refund part of a charge."""

from __future__ import annotations

import pytest
from django.conf import settings

from apps.core.display import MASK
from apps.refcluster import generator

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")

JOURNEY = "support"
HEAVY = str(generator.user_id(generator.HEAVY_USER_INDEX))


def newest_refundable_charge(cluster_admin) -> tuple[str, int]:
    """One of the customer's charges shown on their page (the 10 newest) with money left to refund,
    and refunds so far small enough that 12.34 more goes without a second person (four eyes).

    The stand-in's writes are real and seen by the whole session: take the oldest such charge on
    the page, which the other suites' OFFSET-picked charges are unlikely to be.
    """
    rows = cluster_admin.execute(
        "SELECT c.id, c.amount_cents, coalesce((SELECT sum(r.amount_cents) FROM payments.refunds r "
        "WHERE r.charge_id = c.id), 0) FROM payments.charges c WHERE c.user_id = %s "
        "ORDER BY c.created_at DESC LIMIT 10",
        [HEAVY],
    ).fetchall()
    statuses = dict(
        cluster_admin.execute(
            "SELECT id, status FROM payments.charges WHERE id = ANY(%s)", [[r[0] for r in rows]]
        ).fetchall()
    )
    refundable = [
        (str(cid), amount - refunded)
        for cid, amount, refunded in rows
        if statuses[cid] in ("succeeded", "partially_refunded")
        and amount - refunded > 2_000
        and refunded + 1_234 <= settings.FOUR_EYES_REFUND_CENTS
    ]
    assert refundable, "the heavy user's newest charges should include a refundable one"
    return refundable[-1]


def test_support_finds_a_customer_sees_phi_masked_and_refunds_part_of_a_charge(
    page, staff_user, standin, cluster_admin
):
    staff_user("support", "sam.support")
    page.log_in("sam.support", shot=(JOURNEY, 1))
    page.shot(JOURNEY, 2, "dashboard")
    assert page.find("#dashboard-customer-q").get_attribute("id")  # the search box comes first

    # Find the customer by email on the customer search page.
    page.open("/customers/")
    page.wait_for_page("#customer-q")
    page.fill("#customer-q", generator.HEAVY_USER_EMAIL.upper())  # any case
    page.shot(JOURNEY, 3, "customer-search")
    page.submit(".customer-search button[type=submit]", "#panel-charges")
    assert page.path == f"/customers/{HEAVY}/"
    assert generator.HEAVY_USER_EMAIL in page.text(".profile")
    page.shot(JOURNEY, 4, "customer-page")

    # PHI: the bookings' notes are masked, never the text.
    notes = [
        r[0]
        for r in cluster_admin.execute(
            "SELECT notes FROM booking.visits WHERE user_id = %s AND notes IS NOT NULL", [HEAVY]
        )
    ]
    bookings = page.find(".panel-visits")
    masked = bookings.find_elements("css selector", ".masked")
    assert masked and all(cell.text == MASK for cell in masked)
    source = page.driver.page_source
    assert notes and not any(note in source for note in notes)
    page.shot(JOURNEY, 5, "customer-bookings-masked", at=".panel-visits")

    # Refund part of a charge through its Refund button.
    charge_id, left = newest_refundable_charge(cluster_admin)
    row = next(
        r for r in page.find_all(".panel-charges tbody tr") if charge_id in r.get_attribute("innerHTML")
    )
    page.click_link(row.find_element("link text", "Refund"), "#id_amount")
    assert page.find("label[for=id_amount]").text and page.find("label[for=id_reason]").text
    page.fill("#id_amount", "12.34")
    page.fill("#id_reason", "Damaged item, ticket 4711")
    page.shot(JOURNEY, 6, "refund-form")
    page.submit(".platform-action input[type=submit]", ".messagelist")
    assert "Refund: done by the payments service." in page.text(".messagelist .success")
    page.shot(JOURNEY, 7, "refund-done")
    refund = cluster_admin.execute(
        "SELECT id, amount_cents, reason FROM payments.refunds WHERE charge_id = %s ORDER BY created_at DESC LIMIT 1",
        [charge_id],
    ).fetchone()
    assert refund[1:] == (1234, "Damaged item, ticket 4711")
    assert left > 1234

    # The refund shows in payments: the customer page's refunds panel, then its full list.
    page.open(f"/customers/{HEAVY}/")
    page.wait_for_page("#panel-refunds")
    refunds_panel = page.find(".panel-refunds")
    first = refunds_panel.find_element("css selector", "tbody tr")
    assert str(refund[0])[:8] in first.text and "12.34" in first.text  # 1234 minor units, in its currency
    page.shot(JOURNEY, 8, "customer-refunds", at=".panel-refunds")
    page.click_link(refunds_panel.find_element("css selector", ".more a"), "#result_list")
    assert str(refund[0]) in page.find("#result_list").get_attribute("innerHTML")  # shortened on screen
    page.shot(JOURNEY, 9, "refunds-list")
