"""A brand manager for capri, in a real browser: orders filtered by brand, another brand's record
out of reach by URL, and only capri offered by every brand filter."""

from __future__ import annotations

import pytest
from django.contrib.admin.utils import quote
from django.urls import reverse

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")

JOURNEY = "brand-manager"
BRAND_FILTER = "#changelist-filter details[data-filter-title='brand'] li a"
# Changelists of every commercial schema a brand manager works in, each with a brand filter.
CHANGELISTS = (
    "commerce/order", "commerce/subscription", "affiliates/affiliate", "affiliates/payout",
    "membership/memberstatus", "comms/message", "community/post", "cash/wallet", "content/article",
    "analytics/event",
)  # fmt: skip


def brand_filter_options(page) -> list[str]:
    return [link.text for link in page.find_all(BRAND_FILTER)]


def test_capri_manager_sees_only_capri_everywhere(page, staff_user, cluster_admin):
    staff_user("brand_manager", "bea.capri", brands=("capri",))
    page.log_in("bea.capri", shot=(JOURNEY, 1))
    main = page.find("#content-main")
    assert "Capri Health (capri)" in main.text
    links = [a.get_attribute("href") for a in main.find_elements("css selector", "a")]
    assert not any("/audit/" in href or "/conformance/" in href for href in links)
    assert "/admin/conformance/" not in page.driver.page_source
    page.shot(JOURNEY, 2, "dashboard")

    # Orders, filtered by brand through the changelist's brand filter.
    page.open("/admin/commerce/order/")
    page.wait_for_page("#result_list")
    assert brand_filter_options(page) == ["All", "Capri Health (capri)"]
    capri = next(link for link in page.find_all(BRAND_FILTER) if link.text == "Capri Health (capri)")
    page.click_link(capri, "#result_list")
    assert "brand_id=capri" in page.path
    headers = [th.text.strip().lower() for th in page.find_all("#result_list thead th")]
    column = headers.index("brand id") + 1
    brands = {td.text for td in page.find_all(f"#result_list tbody tr > :nth-child({column})")}
    assert brands == {"capri"}
    page.shot(JOURNEY, 3, "orders-by-brand")

    # A loop order, typed in by URL: the same answer as no such order.
    loop_order, number = cluster_admin.execute(
        "SELECT id, number FROM commerce.orders WHERE brand_id = 'loop' LIMIT 1"
    ).fetchone()
    page.open(reverse("admin:commerce_order_change", args=[quote(str(loop_order))]))
    page.wait_for_page("h1")
    assert page.text("h1") == "Nothing here you may see"
    assert number not in page.driver.page_source
    page.shot(JOURNEY, 4, "loop-order-not-found")

    # Pages of other roles: a clear refusal, not a stack trace.
    page.open("/admin/conformance/")
    page.wait_for_page("h1")
    assert page.text("h1") == "Your role does not allow this"
    page.shot(JOURNEY, 5, "conformance-refused")

    # Every brand filter offers capri alone.
    for changelist in CHANGELISTS:
        page.open(f"/admin/{changelist}/")
        page.wait_for_page("#changelist-filter")
        assert brand_filter_options(page) == ["All", "Capri Health (capri)"], changelist
    page.shot(JOURNEY, 6, "brand-filter")
