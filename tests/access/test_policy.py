"""The visibility policy's own promises, each over HTTP where a person would notice it."""

from __future__ import annotations

import base64
import re
from urllib.parse import unquote

import pytest
from django.apps import apps
from django.contrib.admin.utils import quote
from django.core.management import call_command
from django.urls import reverse

from apps.access import classification, policy
from apps.auditlog.models import AuditEvent
from apps.core.models import split_db_table
from apps.refcluster import generator
from backoffice.platform_schemas import SCHEMA_NAMES

pytestmark = pytest.mark.django_db(databases="__all__")

CAPRI_USER = str(generator.user_id(generator.KNOWN_CAPRI_USER_INDEX))


def platform_models():
    return [m for s in SCHEMA_NAMES for m in apps.get_app_config(s).get_models()]


def test_classification_covers_every_column_of_every_platform_model():
    for model in platform_models():
        assert policy.unclassified_fields(model) == [], f"{model._meta.label}: classify these columns"
    declared = {name for name in classification.TABLES}
    mapped = {
        ".".join(split_db_table(m._meta.db_table)) for m in platform_models() if m.__name__ != "AuditLog"
    }
    assert declared == mapped, "the declaration lists a table the models do not map, or misses one"


def test_health_measurements_outside_clinical_schemas_are_phi():
    for label, column in (
        ("analytics.Outcome", "value"),
        ("analytics.Outcome", "metric"),
        ("ai.Conversation", "title"),
        ("capri.CheckIn", "answers"),
        ("booking.Visit", "notes"),
    ):
        assert policy.category(apps.get_model(label)._meta.get_field(column)) == policy.PHI, (label, column)
    assert policy.category(apps.get_model("identity.Session")._meta.get_field("ip")) == policy.CONTACT


def test_brand_manager_bound_to_no_brand_sees_no_row_and_can_take_no_action(make_staff, cluster_admin):
    client = make_staff("brand_manager", brands=())
    order_id = cluster_admin.execute(
        "SELECT id::text FROM commerce.orders WHERE brand_id = 'capri' LIMIT 1"
    ).fetchone()[0]
    post_id = cluster_admin.execute(
        "SELECT id::text FROM community.posts WHERE brand_id = 'capri' AND status = 'visible' LIMIT 1"
    ).fetchone()[0]
    listing = client.get(reverse("admin:commerce_order_changelist")).content.decode()
    assert (order_id not in listing and "0 orders" in listing) or "0 results" in listing
    assert client.get(reverse("admin:commerce_order_change", args=[order_id])).status_code == 404
    assert client.get(reverse("customers:detail", args=[CAPRI_USER])).status_code == 404
    assert (
        client.get(reverse("admin:community_post_act", args=[quote(post_id), "hide_post"])).status_code == 404
    )
    home = client.get(reverse("admin:index")).content.decode()
    assert "bound to no brand" in home


def test_platform_wide_is_an_explicit_grant_shown_on_the_staff_page(make_staff, django_user_model):
    superuser = make_staff("superuser")
    unbound = make_staff("support", platform_wide=False, username="support-unbound")
    granted = make_staff("support", username="support-granted")
    assert policy.allowed_brands(unbound.user) == frozenset()
    assert policy.allowed_brands(granted.user) is None
    listing = superuser.get(reverse("admin:auth_user_changelist")).content.decode()
    assert "every brand (platform-wide grant)" in listing and "none: sees no platform rows" in listing
    page = superuser.get(reverse("admin:auth_user_change", args=[unbound.user.pk])).content.decode()
    assert "bound to no brand and has no platform-wide grant" in page
    with pytest.raises(ValueError, match="cannot be platform-wide"):
        from apps.access.services import assign_role

        assign_role(user=unbound.user, role="brand_manager", brands=(), platform_wide=True)


def test_unclassified_live_columns_are_listed_and_masked_until_classified(cluster_admin, capsys):
    cluster_admin.execute("ALTER TABLE clinical.biomarkers ADD COLUMN zq_lab_comment text")
    cluster_admin.execute("ALTER TABLE commerce.orders ADD COLUMN zq_gift_note text")
    cluster_admin.commit()
    try:
        call_command("schema_drift")
        out = capsys.readouterr().out
        assert "unclassified clinical.biomarkers.zq_lab_comment: masked as phi" in out
        assert "unclassified commerce.orders.zq_gift_note: masked as contact" in out
        from apps.conformance.checks import run_checks

        findings = [f for f in run_checks(schemas=["clinical", "commerce"]).warnings if f.rule == 0]
        assert {(f.schema, f.table) for f in findings} == {("clinical", "biomarkers"), ("commerce", "orders")}
        assert policy.column_category("clinical", "biomarkers", "zq_lab_comment") == policy.PHI
        assert policy.column_category("commerce", "orders", "zq_gift_note") == policy.CONTACT
    finally:
        cluster_admin.execute("ALTER TABLE clinical.biomarkers DROP COLUMN zq_lab_comment")
        cluster_admin.execute("ALTER TABLE commerce.orders DROP COLUMN zq_gift_note")
        cluster_admin.commit()


def test_reveal_shows_a_records_audit_details_in_clear_and_every_view_is_logged(make_staff, cluster_admin):
    row_id, entity_id, request_id = cluster_admin.execute(
        "SELECT id::text, entity_id, request_id FROM clinical.audit_log WHERE entity_type = 'biomarker' "
        "AND details ? 'before' AND request_id IS NOT NULL LIMIT 1"
    ).fetchone()
    before = cluster_admin.execute(
        "SELECT details->'before'->>'value' FROM clinical.audit_log WHERE id::text = %s", [row_id]
    ).fetchone()[0]
    compliance = make_staff("compliance")
    story = reverse("explorer:request", args=[request_id])
    masked = compliance.get(story).content.decode()
    assert before not in masked and policy.MASK in masked
    viewed = AuditEvent.objects.filter(event_type="phi.viewed", actor_id=str(compliance.user.pk)).latest(
        "occurred_at"
    )
    assert ["clinical", "biomarker", entity_id] in viewed.details["entities"]
    Biomarker = apps.get_model("clinical.Biomarker")
    compliance.post(
        reverse("admin:clinical_biomarker_reveal", args=[entity_id]),
        {"reason": "Patient asked for a correction"},
    )
    shown = compliance.get(story).content.decode()
    assert before in shown
    assert Biomarker._default_manager.filter(pk=entity_id).exists()
    # Support may read no clinical log at all; a brand manager neither.
    assert make_staff("support").get(story).content.decode().count(before) == 0


def test_customer_search_says_which_kinds_it_accepts_and_refuses_masked_ones(make_staff):
    manager = make_staff("brand_manager", brands=("capri",))
    page = manager.get(reverse("customers:search")).content.decode()
    assert (
        "order number" in page and "email" not in page.split("customer-q")[0].split("Find a customer by")[-1]
    )
    refused = manager.get(reverse("customers:search"), {"q": generator.KNOWN_USERS[2].email})
    assert refused.status_code == 403 and "cannot find customers by email" in refused.content.decode()
    support = make_staff("support")
    assert support.get(reverse("customers:search"), {"q": generator.KNOWN_USERS[2].email}).status_code == 302


def test_changelist_cursor_is_opaque_and_bound_to_its_list(make_staff):
    client = make_staff("compliance")
    page = client.get(reverse("admin:commerce_order_changelist")).content.decode()
    token = unquote(re.search(r"cursor=([^&\"]+)", page).group(1))
    decoded = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    assert not re.search(rb"\d{4}-\d{2}-\d{2}", decoded)
    # Another list's cursor, or a tampered one, is refused (Django's admin answers "?e=1").
    for url, bad in (
        (reverse("admin:payments_charge_changelist"), token),
        (reverse("admin:commerce_order_changelist"), token[:-4] + "AAAA"),
    ):
        response = client.get(url, {"cursor": bad})
        assert response.status_code == 400 or (response.status_code == 302 and "e=1" in response["Location"])


def test_an_action_requests_error_never_quotes_a_value_its_viewer_sees_masked(make_staff):
    import uuid

    from apps.services.models import ActionRequest

    address = "zq.secret.address@example.com"
    manager = make_staff("brand_manager", brands=("capri",))
    action_request = ActionRequest.objects.create(
        action="add_suppression", model_label="identity.User", object_pk=CAPRI_USER, brand_id="capri",
        params={"payload": {"address": address, "channel": "email"}}, reason="customer asked",
        idempotency_key=uuid.uuid4(), status=ActionRequest.Status.FAILED, requested_by=manager.user,
        error=f"{address!r} is not a valid email address.",
    )  # fmt: skip
    url = reverse("admin:services_actionrequest_change", args=[action_request.pk])
    masked = manager.get(url).content.decode()
    assert address not in masked and f"{policy.MASK}' is not a valid email address" in masked.replace(
        "&#x27;", "'"
    )
    assert address in make_staff("compliance").get(url).content.decode()
