"""A compliance officer's review, in a real browser, with TOTP enforced at login: the audit
explorer filtered by actor and brand, a request's story across services, a reasoned PHI reveal, a
CSV export, and all of it found again in the back-office audit log."""

from __future__ import annotations

import csv

import pytest
from django.contrib.admin.utils import quote
from django.test import override_settings
from django.urls import reverse

from apps.refcluster import generator

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")

JOURNEY = "compliance"
HEAVY = str(generator.user_id(generator.HEAVY_USER_INDEX))


def totp_code_for(user):
    """A confirmed TOTP device for ``user`` and a function computing its current code."""
    from django_otp.oath import TOTP
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.create(user=user, name="officer's phone", confirmed=True)
    return lambda: f"{TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift).token():06d}"


def a_pending_refund(requested_by, cluster_admin):
    """A refund above the four-eyes limit, waiting for a second person (the dashboard lists it)."""
    from apps.services.models import ActionRequest

    charge_id = cluster_admin.execute(
        "SELECT id FROM payments.charges WHERE user_id = %s AND status = 'succeeded' LIMIT 1", [HEAVY]
    ).fetchone()[0]
    return ActionRequest.objects.create(
        action="refund_charge",
        model_label="payments.Charge",
        object_pk=str(charge_id),
        brand_id="capri",
        params={"amount": "250.00"},
        reason="Charged twice, ticket 812",
        status=ActionRequest.Status.PENDING_APPROVAL,
        requested_by=requested_by,
        amount_cents=25_000,
    )


@override_settings(REQUIRE_2FA=True)
def test_compliance_reviews_audit_reveals_phi_exports_and_finds_it_all_logged(
    page, staff_user, cluster_admin
):
    officer = staff_user("compliance", "cora.compliance")
    pending = a_pending_refund(staff_user("support", "sid.support"), cluster_admin)

    # Log in: with 2FA enforced, the form asks for the authenticator's code.
    page.log_in("cora.compliance", otp=totp_code_for(officer), shot=(JOURNEY, 1))
    dashboard = page.text("#content-main")
    assert "Pending approvals" in dashboard and "Refund of 250.00" in dashboard
    assert page.find(f"a[href='{reverse('admin:services_actionrequest_change', args=[pending.pk])}']")
    assert page.find("a[href='/audit/']") and page.find("a[href='/admin/conformance/']")
    page.shot(JOURNEY, 3, "dashboard")

    # The audit explorer, filtered by actor and brand.
    page.open("/audit/")
    page.wait_for_page("form.filters")
    page.fill("input[name=actor_id]", HEAVY)
    page.fill("input[name=brand]", "capri")
    page.submit("form.filters button[type=submit]", "table.audit-rows")
    rows = page.find_all("table.audit-rows tbody tr")
    # Long ids read shortened; the whole id is in the markup (hover, copy).
    assert rows and all(HEAVY in r.get_attribute("innerHTML") and "capri" in r.text for r in rows)
    explorer_url = page.path
    page.shot(JOURNEY, 4, "explorer-filtered")
    page.shot(JOURNEY, 5, "explorer-rows", at="table.audit-rows")

    # One checkout's story: the same request id across several services.
    placed = next(r for r in rows if "order.placed" in r.text).find_element("css selector", "td.request a")
    request_id = placed.find_element("css selector", "[data-copy]").get_attribute("data-copy")  # the whole id
    page.click_link(placed, "ol.timeline")
    services = {li.find_element("css selector", "strong").text for li in page.find_all("ol.timeline li")}
    assert len(services) >= 3 and {"commerce", "payments"} <= services, services
    assert f"across {len(services)} services" in page.text("#content-main")
    page.shot(JOURNEY, 6, "request-story")

    # A clinical record: masked until revealed with a reason.
    biomarker_id, value = cluster_admin.execute(
        "SELECT id, value::text FROM clinical.biomarkers WHERE user_id = %s ORDER BY measured_at DESC LIMIT 1",
        [HEAVY],
    ).fetchone()
    page.open(reverse("admin:clinical_biomarker_change", args=[quote(str(biomarker_id))]))
    page.wait_for_page(".phi-banner")
    assert page.find_all(".masked") and value not in page.text("#content-main form")
    page.shot(JOURNEY, 7, "biomarker-masked")
    page.click_link(page.find("a.reveal-phi"), "#id_reason")
    page.fill("#id_reason", "Investigating complaint 2231 about this lab result")
    page.shot(JOURNEY, 8, "reveal-reason")
    page.submit("#content-main form input[type=submit]", ".phi-revealed")
    assert "Protected fields revealed until" in page.text(".messagelist")
    assert value in page.text("#content-main form") and not page.find_all("#content-main form .masked")
    page.shot(JOURNEY, 9, "biomarker-revealed")

    # Export the filtered events as CSV, through the page's own link.
    page.open(explorer_url)
    page.wait_for_page("a.export")
    page.find("a.export[href*='export.csv']").click()
    with page.wait_for_download(".csv").open(newline="") as exported:
        records = list(csv.DictReader(exported))
    assert (
        records
        and {r["actor_id"] for r in records} == {HEAVY}
        and {r["brand_id"] for r in records} == {"capri"}
    )
    assert request_id in {r["request_id"] for r in records}

    # Everything above is in the back-office audit log, under the officer's id.
    page.open(f"/admin/auditlog/auditevent/?q={officer.pk}")
    page.wait_for_page("#result_list")
    logged = page.text("#result_list")
    for event_type in ("staff.login", "phi.viewed", "phi.revealed", "export.audit"):
        assert event_type in logged, event_type
    page.shot(JOURNEY, 10, "backoffice-audit-log")
