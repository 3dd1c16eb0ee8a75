"""axe-core over every page type the journeys do not already screenshot (each screenshot runs it:
conftest's ``Browser.shot``), in the light and the dark theme, plus the command palette open."""

from __future__ import annotations

import pytest
from django.contrib.admin.utils import quote
from django.urls import reverse

from apps.refcluster import generator

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")

HEAVY = str(generator.user_id(generator.HEAVY_USER_INDEX))


def page_types(cluster_admin) -> list[tuple[str, str, str]]:
    """(name, path, an element of the loaded page) for each kind of page."""
    charge_id = cluster_admin.execute(
        "SELECT id FROM payments.charges WHERE user_id = %s AND status = 'succeeded' LIMIT 1", [HEAVY]
    ).fetchone()[0]
    request_id = cluster_admin.execute(
        "SELECT request_id FROM commerce.audit_log WHERE brand_id = 'capri' AND request_id LIKE 'req_%' LIMIT 1"
    ).fetchone()[0]
    charge = quote(str(charge_id))
    return [
        ("dashboard", "/admin/", "#content-main"),
        ("schema-index", "/admin/payments/", "#content-main"),
        ("changelist", "/admin/payments/charge/", "#result_list"),
        ("record", reverse("admin:payments_charge_change", args=[charge]), "#content-main"),
        ("action-form", reverse("admin:payments_charge_act", args=[charge, "refund_charge"]), "#id_amount"),
        ("customer-search", "/customers/", "#customer-q"),
        ("customer-page", f"/customers/{HEAVY}/", "#panel-charges"),
        ("access-report", f"/customers/{HEAVY}/accesses/", "#content-main"),
        ("explorer", "/audit/", "table.audit-rows"),
        ("request-story", f"/audit/request/{request_id}/", "ol.timeline"),
        ("entity-timeline", f"/audit/entity/user/{HEAVY}/", "table.audit-rows"),
        ("conformance", "/admin/conformance/", "#content-main"),
        ("audit-trail", "/admin/audit-trail/", "#content-main"),
        ("watch-inbox", "/watch/", "#content-main"),
        ("watch-flags", "/watch/flags/", "#content-main"),
        ("access-reviews", "/watch/reviews/", "#content-main"),
        ("action-requests", "/admin/services/actionrequest/", "#content-main"),
        ("backoffice-audit-log", "/admin/auditlog/auditevent/", "#result_list"),
        ("staff", "/admin/auth/user/", "#result_list"),
    ]


def use_theme(page, theme: str) -> None:
    """The admin follows the system's colour scheme until someone picks one (theme.js)."""
    page.driver.execute_cdp_cmd(
        "Emulation.setEmulatedMedia", {"features": [{"name": "prefers-color-scheme", "value": theme}]}
    )


def test_every_page_type_has_no_serious_accessibility_violation_in_either_theme(
    page, staff_user, cluster_admin
):
    staff_user("superuser", "ada.admin")
    page.log_in("ada.admin")
    pages = page_types(cluster_admin)
    try:
        for theme in ("light", "dark"):
            use_theme(page, theme)
            for name, path, ready in pages:
                page.open(path)
                page.wait_for_page(ready)
                if theme == "dark":
                    assert page.driver.execute_script(
                        "return matchMedia('(prefers-color-scheme: dark)').matches"
                    ), name
                page.assert_accessible()

            # The command palette, open with results.
            page.open("/admin/")
            page.wait_for_page("#palette-open")
            page.find("#palette-open").click()
            page.find("#palette-input").send_keys(generator.HEAVY_USER_EMAIL)
            page.wait_for(lambda d: page.find_all("#palette-results [role=option]"), "no palette results")
            page.assert_accessible()
    finally:
        use_theme(page, "light")
