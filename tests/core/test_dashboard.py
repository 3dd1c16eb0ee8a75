"""The landing dashboard and global navigation per role, and the error pages, over HTTP."""

from __future__ import annotations

import pytest
from django.db import connections
from django.template.loader import render_to_string
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apps.services.models import ActionRequest
from backoffice.platform_schemas import SCHEMA_NAMES

pytestmark = pytest.mark.django_db(databases="__all__")

INDEX = "/admin/"
CONFORMANCE = "/admin/conformance/"
APPROVALS = "/admin/services/actionrequest/?status__exact=pending_approval"


def dashboard_of(client) -> tuple[str, str]:
    """The whole page and its main content (what the dashboard itself shows, below the nav)."""
    response = client.get(INDEX)
    assert response.status_code == 200
    html = response.content.decode()
    return html, html.split('id="content-main"', 1)[1]


def nav_of(html: str) -> str:
    return html.split('class="backoffice-nav"', 1)[1].split("</nav>", 1)[0]


def pending_refund(requested_by, *, brand: str = "capri") -> ActionRequest:
    return ActionRequest.objects.create(
        action="refund_charge", model_label="payments.Charge", object_pk="a-charge", brand_id=brand,
        params={"amount": "250.00"}, reason="Charged twice", requested_by=requested_by,
        status=ActionRequest.Status.PENDING_APPROVAL, amount_cents=25_000,
    )  # fmt: skip


def test_support_sees_the_customer_search_first_and_their_pending_requests(make_staff):
    client = make_staff("support")
    pending_refund(client.user)
    html, main = dashboard_of(client)
    assert main.index('id="dashboard-customer-q"') < main.index("dash-mine-h")
    assert 'for="dashboard-customer-q"' in main and 'action="/customers/"' in main
    mine = main.split('id="dash-mine-h"', 1)[1].split("</section>", 1)[0]
    assert "Refund of 250.00" in mine
    assert "Locked accounts" in main and "status__exact=locked" in main
    for other in ("dash-approvals-h", "dash-audit-h", "dash-conformance-h", "dash-brands-h", CONFORMANCE):
        assert other not in main, other
    nav = nav_of(html)
    assert "/customers/" in nav and "/audit/" in nav
    assert CONFORMANCE not in html and "Pending approvals" not in nav


def test_compliance_sees_approvals_the_audit_explorer_and_conformance(make_staff):
    asker = make_staff("support")
    request = pending_refund(asker.user)
    client = make_staff("compliance")
    html, main = dashboard_of(client)
    approvals = main.split('id="dash-approvals-h"', 1)[1].split("</section>", 1)[0]
    assert reverse("admin:services_actionrequest_change", args=[request.pk]) in approvals
    assert "asked by support-all" in approvals
    assert 'href="/audit/"' in main and f'href="{CONFORMANCE}"' in main
    assert "Latest events" in main and "staff.groups_changed" in main  # newest back-office events
    for other in ('id="dashboard-customer-q"', "dash-mine-h", "dash-brands-h"):
        assert other not in main, other
    nav = nav_of(html)
    for link in ("/customers/", "/audit/", APPROVALS.replace("&", "&amp;"), CONFORMANCE):
        assert link in nav, link


def test_brand_manager_sees_their_brand_and_nothing_of_the_other_roles(make_staff):
    client = make_staff("brand_manager", brands=("capri",))
    pending_refund(make_staff("support").user, brand="capri")
    html, main = dashboard_of(client)
    brands = main.split('id="dash-brands-h"', 1)[1].split("</section>", 1)[0]
    assert "Capri Health (capri)" in brands and "(loop)" not in brands
    for path in ("/admin/commerce/order/", "/admin/affiliates/affiliate/", "/admin/affiliates/payout/"):
        assert f"{path}?brand_id=capri" in brands, path
    for other in ("/audit/", CONFORMANCE, "Pending approvals", 'id="dashboard-customer-q"', "dash-mine-h",
                  "Latest events"):  # fmt: skip
        assert other not in main, other
    assert CONFORMANCE not in html and "Pending approvals" not in html


def test_a_superuser_sees_every_section(make_staff):
    _, main = dashboard_of(make_staff("superuser"))
    for section in ('id="dashboard-customer-q"', "dash-mine-h", "dash-audit-h", "dash-approvals-h",
                    "dash-conformance-h", "dash-brands-h"):  # fmt: skip
        assert section in main, section
    assert "Capri Health (capri)" in main and "Loop" in main


def test_the_dashboard_never_counts_an_audit_table(make_staff):
    client = make_staff("superuser")
    aliases = ["default", *(f"platform_{s}" for s in SCHEMA_NAMES)]
    contexts = [CaptureQueriesContext(connections[a]) for a in aliases]
    for context in contexts:
        context.__enter__()
    dashboard_of(client)
    for context in contexts:
        context.__exit__(None, None, None)
    audit_reads = [q["sql"] for c in contexts for q in c.captured_queries if "audit_log" in q["sql"].lower()]
    assert audit_reads, "the latest events come from the audit logs"
    assert not [sql for sql in audit_reads if "count(" in sql.lower()]
    assert all("limit" in sql.lower() for sql in audit_reads)


def test_the_header_search_is_labelled_and_everywhere_but_the_login_page(make_staff, client):
    html = make_staff("support").get("/customers/").content.decode()
    assert '<label for="header-customer-q">' in html and 'id="header-customer-q"' in html
    assert 'href="/static/core/backoffice.css"' in html
    login = client.get(reverse("admin:login")).content.decode()
    assert "header-customer-q" not in login and "core/backoffice.css" in login


def test_no_inline_style_or_script_on_the_dashboard(make_staff):
    html, _ = dashboard_of(make_staff("superuser"))
    assert " style=" not in html and "<style" not in html
    assert "<script>" not in html  # every script has a src: the CSP allows no inline script


# --- error pages ----------------------------------------------------------------------------


def test_another_brands_record_is_the_friendly_404(make_staff, cluster_admin):
    loop_order = cluster_admin.execute(
        "SELECT id FROM commerce.orders WHERE brand_id = 'loop' LIMIT 1"
    ).fetchone()[0]
    client = make_staff("brand_manager", brands=("capri",))
    response = client.get(reverse("admin:commerce_order_change", args=[loop_order]))
    assert response.status_code == 404
    assert "Nothing here you may see" in response.content.decode()


def test_a_refused_page_is_the_friendly_403_with_the_reason(make_staff):
    response = make_staff("support").get(CONFORMANCE)
    assert response.status_code == 403
    html = response.content.decode()
    assert "Your role does not allow this" in html and "Only compliance staff" in html


@pytest.mark.parametrize("template", ["500.html", "400.html"])
def test_the_context_free_error_pages_render_without_a_request(template):
    html = render_to_string(template)  # how Django renders them: no request, no context
    assert "Back-office" in html and "core/backoffice.css" in html and " style=" not in html


def test_the_500_page_quotes_the_request_id_it_is_given():
    html = render_to_string("500.html", {"request_id": "req-<b>42"})  # apps.core.errors.server_error
    assert "req-&lt;b&gt;42" in html
