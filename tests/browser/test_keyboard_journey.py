"""The support journey by keyboard alone: log in, jump to the customer through the command
palette (Ctrl-K, arrows, Enter), Tab to a charge's Refund button, fill the form and send it.
No mouse click anywhere; every element that takes focus shows it."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.admin.utils import quote
from django.urls import reverse

from apps.refcluster import generator
from tests.browser.test_support_journey import HEAVY, newest_refundable_charge

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")

JOURNEY = "keyboard"
MAX_TABS = 250
FOCUS = """
const el = document.activeElement;
const style = getComputedStyle(el);
const ring = (style.outlineStyle !== "none" && parseFloat(style.outlineWidth) >= 1) || style.boxShadow !== "none";
return {tag: el.tagName.toLowerCase(), id: el.id, href: el.getAttribute("href") || "",
        text: (el.value || el.textContent || "").trim().slice(0, 60), visible: ring,
        shown: el.getBoundingClientRect().width > 0 && el.getBoundingClientRect().height > 0};
"""


def keys(page, *sequence: Any) -> None:
    """Type into whatever has focus, as a person at the keyboard would."""
    from selenium.webdriver.common.action_chains import ActionChains

    ActionChains(page.driver).send_keys(*sequence).perform()


def chord(page, modifier: str, key: str) -> None:
    from selenium.webdriver.common.action_chains import ActionChains

    ActionChains(page.driver).key_down(modifier).send_keys(key).key_up(modifier).perform()


def focused(page) -> dict[str, Any]:
    """What has focus, and whether it shows a focus ring (outline or box shadow) on screen."""
    state = page.driver.execute_script(FOCUS)
    if state["tag"] != "body":
        assert state["visible"] and state["shown"], f"{page.path}: no visible focus on {state}"
    return state


def tab_to(page, matches, *, backwards: bool = False) -> dict[str, Any]:
    """Press Tab (or Shift-Tab) until ``matches(focused)``; every stop must show its focus."""
    from selenium.webdriver.common.keys import Keys

    for _ in range(MAX_TABS):
        if backwards:
            chord(page, Keys.SHIFT, Keys.TAB)
        else:
            keys(page, Keys.TAB)
        state = focused(page)
        if matches(state):
            return state
    raise AssertionError(f"{page.path}: {MAX_TABS} Tabs never reached the element")


def wait_for_new_page(page, old: Any, then: str) -> None:
    from selenium.webdriver.support import expected_conditions as ec

    page.wait_for(ec.staleness_of(old), "Enter did not load a page")
    page.wait_for_page(then)


def test_support_refunds_part_of_a_charge_by_keyboard_alone(page, staff_user, standin, cluster_admin):
    from selenium.webdriver.common.keys import Keys

    staff_user("support", "kim.keyboard")
    page.log_out()
    page.open("/admin/login/?next=/admin/")
    page.wait_for_page("#login-form")
    assert focused(page)["id"] == "id_username"  # the form puts the cursor in the first field
    keys(page, "kim.keyboard", Keys.TAB)
    assert focused(page)["id"] == "id_password"
    old = page.find("html")
    keys(page, "browser-journey-Pa55word!", Keys.ENTER)
    wait_for_new_page(page, old, "#user-tools")
    page.shot(JOURNEY, 1, "dashboard")

    # The palette's button is reachable by Tab and opens with Enter; Escape gives focus back.
    tab_to(page, lambda f: f["id"] == "palette-open")
    keys(page, Keys.ENTER)
    page.wait_for(
        lambda d: page.find("#palette").get_attribute("open") is not None, "the palette did not open"
    )
    assert focused(page)["id"] == "palette-input"
    dialog = page.find("#palette")
    assert dialog.get_attribute("role") == "dialog" and dialog.get_attribute("aria-modal") == "true"
    # Focus is trapped: Tab and Shift-Tab go round the dialog's own controls.
    keys(page, Keys.TAB)
    assert focused(page)["id"] == "palette-close"
    keys(page, Keys.TAB)
    assert focused(page)["id"] == "palette-input"
    chord(page, Keys.SHIFT, Keys.TAB)
    assert focused(page)["id"] == "palette-close"
    chord(page, Keys.SHIFT, Keys.TAB)
    assert focused(page)["id"] == "palette-input"
    keys(page, Keys.ESCAPE)
    page.wait_for(lambda d: page.find("#palette").get_attribute("open") is None, "Escape did not close it")
    assert focused(page)["id"] == "palette-open"

    # Ctrl-K from anywhere; type the customer's email; the live region says how many results.
    chord(page, Keys.CONTROL, "k")
    page.wait_for(lambda d: page.find("#palette").get_attribute("open") is not None, "Ctrl-K did not open it")
    combobox = page.find("#palette-input")
    assert focused(page)["id"] == "palette-input" and combobox.get_attribute("role") == "combobox"
    keys(page, generator.HEAVY_USER_EMAIL)
    page.wait_for(lambda d: page.find_all("#palette-results [role=option]"), "no result for the email")
    page.wait_for(lambda d: "result" in page.text("#palette-status"), "the live region said nothing")
    options = page.find_all("#palette-results [role=option]")
    assert page.text("#palette-status").startswith(f"{len(options)} result")
    assert combobox.get_attribute("aria-expanded") == "true"
    assert combobox.get_attribute("aria-activedescendant") == options[0].get_attribute("id")
    assert options[0].get_attribute("aria-selected") == "true"
    keys(page, Keys.ARROW_DOWN)  # one result: the arrows wrap round to it again
    keys(page, Keys.ARROW_UP)
    active = page.driver.find_element("id", combobox.get_attribute("aria-activedescendant"))
    assert active.get_attribute("aria-selected") == "true" and "Customer" in active.text
    page.shot(JOURNEY, 2, "palette")
    old = page.find("html")
    keys(page, Keys.ENTER)
    wait_for_new_page(page, old, "#panel-charges")
    assert page.path == f"/customers/{HEAVY}/"
    page.shot(JOURNEY, 3, "customer-page")

    # Tab to the Refund button of a refundable charge, and press Enter.
    charge_id, left = newest_refundable_charge(cluster_admin)
    refund_url = reverse("admin:payments_charge_act", args=[quote(charge_id), "refund_charge"])
    tab_to(page, lambda f: f["href"] == refund_url)
    old = page.find("html")
    keys(page, Keys.ENTER)
    wait_for_new_page(page, old, "#id_amount")

    # The form: Tab to the amount, type, Tab to the reason, type, Tab to the button, Enter.
    tab_to(page, lambda f: f["id"] == "id_amount")
    keys(page, "12.34")
    tab_to(page, lambda f: f["id"] == "id_reason")
    keys(page, "Damaged item, ticket 5150")
    tab_to(page, lambda f: f["tag"] == "input" and f["text"] == "Refund")
    page.shot(JOURNEY, 4, "refund-form")
    old = page.find("html")
    keys(page, Keys.ENTER)
    wait_for_new_page(page, old, ".messagelist")
    assert "Refund: done by the payments service." in page.text(".messagelist .success")
    page.shot(JOURNEY, 5, "refund-done")
    refund = cluster_admin.execute(
        "SELECT amount_cents, reason FROM payments.refunds WHERE charge_id = %s ORDER BY created_at DESC LIMIT 1",
        [charge_id],
    ).fetchone()
    assert refund == (1234, "Damaged item, ticket 5150") and left > 1234
