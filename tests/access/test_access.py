"""Roles, brand scoping, PHI masking and reveals, tested as each role over HTTP."""

from __future__ import annotations

import re
import time

import pytest
from django.apps import apps
from django.contrib.admin.utils import quote, unquote
from django.db import DatabaseError, transaction
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from apps.access.middleware import LAST_SEEN_KEY
from apps.access.models import PhiReveal, StaffBrand
from apps.access.roles import COMMERCIAL_SCHEMAS, ROLE_NAMES, sync_roles
from apps.auditlog.models import AuditEvent
from backoffice.platform_schemas import SCHEMA_NAMES

pytestmark = pytest.mark.django_db(databases="__all__")

MASK = "\N{BLACK CIRCLE}" * 6


def changelist(model):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")


def change(model, pk):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_change", args=[quote(str(pk))])


def models_of(*schemas):
    return [m for s in schemas for m in apps.get_app_config(s).get_models()]


def result_ids(html):
    """The ids of the rows a changelist shows (from their detail links)."""
    return {
        unquote(m)
        for m in re.findall(r'<th class="field-[^"]*"><a href="/admin/\w+/\w+/([^/"]+)/change/', html)
    }


def brand_rows(cluster_admin, model, brand, limit=25):
    table = model._meta.db_table.replace('"."', ".")
    key = "id" if model._meta.pk.concrete else model._meta.pk.field_names[0]
    return [
        str(r[0])
        for r in cluster_admin.execute(
            f"SELECT {key} FROM {table} WHERE brand_id = %s LIMIT {limit}", [brand]
        )
    ]


# --- roles ----------------------------------------------------------------------------------


def test_roles_are_groups_with_schema_view_permissions():
    from django.contrib.auth.models import Group

    assert set(Group.objects.values_list("name", flat=True)) >= set(ROLE_NAMES)
    support = set(Group.objects.get(name="support").permissions.values_list("codename", flat=True))
    manager = set(Group.objects.get(name="brand_manager").permissions.values_list("codename", flat=True))
    compliance = set(Group.objects.get(name="compliance").permissions.values_list("codename", flat=True))
    assert {"view_user", "view_charge", "view_visit"} <= support
    assert "view_biomarker" not in support and "reveal_phi" not in support
    assert {"view_order", "view_affiliate", "view_event"} <= manager
    assert not {"view_user", "view_biomarker", "view_customerprofile", "view_visit"} & manager
    assert {"view_biomarker", "view_customerprofile", "reveal_phi", "export_records"} <= compliance


def test_sync_roles_is_idempotent():
    assert sync_roles() == sync_roles()


# --- brand scoping --------------------------------------------------------------------------


@pytest.mark.parametrize("model", models_of(*COMMERCIAL_SCHEMAS), ids=lambda m: m._meta.label)
def test_brand_manager_never_sees_another_brands_rows(make_staff, cluster_admin, model):
    client = make_staff("brand_manager", brands=("capri",))
    loop_ids = brand_rows(cluster_admin, model, "loop")
    capri_ids = brand_rows(cluster_admin, model, "capri", limit=1)
    page = client.get(changelist(model))
    assert page.status_code == 200
    html = page.content.decode()
    shown = result_ids(html)
    assert bool(shown) == bool(capri_ids), "capri rows are listed"
    if model._meta.pk.concrete:
        assert not shown & set(loop_ids)
    assert "?brand_id=loop" not in html  # the brand filter offers only their brands
    # Asking for the other brand by filter, by search and by URL finds nothing.
    assert result_ids(client.get(changelist(model), {"brand_id": "loop"}).content.decode()) == set()
    if loop_ids and model._meta.pk.concrete:
        assert client.get(change(model, loop_ids[0])).status_code == 404
        assert result_ids(client.get(changelist(model), {"q": loop_ids[0]}).content.decode()) == set()
    if capri_ids and model._meta.pk.concrete:
        assert client.get(change(model, capri_ids[0])).status_code == 200


def test_brand_manager_search_by_natural_key_stays_in_brand(make_staff, cluster_admin):
    from apps.commerce.models import Order

    client = make_staff("brand_manager", brands=("capri",))
    loop_number = cluster_admin.execute(
        "SELECT number FROM commerce.orders WHERE brand_id='loop' LIMIT 1"
    ).fetchone()
    capri_number = cluster_admin.execute(
        "SELECT number FROM commerce.orders WHERE brand_id='capri' LIMIT 1"
    ).fetchone()
    assert result_ids(client.get(changelist(Order), {"q": loop_number[0]}).content.decode()) == set()
    assert capri_number[0] in client.get(changelist(Order), {"q": capri_number[0]}).content.decode()


@pytest.mark.parametrize(
    "model", models_of("identity", "clinical", "patient_graph", "payments"), ids=lambda m: m._meta.label
)
def test_brand_manager_cannot_open_schemas_outside_their_role(make_staff, model):
    client = make_staff("brand_manager", brands=("capri",))
    assert client.get(changelist(model)).status_code == 403


def test_platform_wide_staff_see_every_brand(make_staff, cluster_admin):
    from apps.commerce.models import Order

    client = make_staff("support")
    html = client.get(changelist(Order)).content.decode()
    brands = [r[0] for r in cluster_admin.execute("SELECT id FROM platform.brands")]
    assert all(f"?brand_id={b}" in html for b in brands)


def test_admin_index_lists_only_the_roles_schemas(make_staff):
    html = make_staff("brand_manager", brands=("capri",)).get(reverse("admin:index")).content.decode()
    assert "services/commerce" in html
    assert "services/identity" not in html and "services/clinical" not in html


# --- PHI and contact masking ----------------------------------------------------------------


def test_support_sees_contact_details_but_phi_masked(make_staff, cluster_admin):
    from apps.booking.models import Visit
    from apps.identity.models import User

    client = make_staff("support")
    user_id, email = cluster_admin.execute("SELECT id, email FROM identity.users LIMIT 1").fetchone()
    assert email in client.get(change(User, user_id)).content.decode()
    visit_id, notes = cluster_admin.execute(
        "SELECT id, notes FROM booking.visits WHERE notes IS NOT NULL LIMIT 1"
    ).fetchone()
    html = client.get(change(Visit, visit_id)).content.decode()
    assert notes not in html and MASK in html
    assert notes not in client.get(changelist(Visit), {"q": str(visit_id)}).content.decode()
    assert client.get(reverse("admin:clinical_biomarker_changelist")).status_code == 403


def test_brand_manager_sees_contact_details_masked(make_staff, cluster_admin):
    from apps.comms.models import Suppression

    client = make_staff("brand_manager", brands=("capri",))
    suppression_id, address = cluster_admin.execute(
        "SELECT id, address FROM comms.suppressions WHERE brand_id = 'capri' LIMIT 1"
    ).fetchone()
    for url in (change(Suppression, suppression_id), changelist(Suppression)):
        html = client.get(url).content.decode()
        assert address not in html
        assert MASK in html


@pytest.fixture
def biomarker(cluster_admin):
    from apps.clinical.models import Biomarker

    row = cluster_admin.execute("SELECT id, brand_id, code, unit FROM clinical.biomarkers LIMIT 1").fetchone()
    return Biomarker.objects.get(pk=row[0])


def test_compliance_reveals_phi_with_a_reason_and_both_are_logged(make_staff, biomarker):
    from apps.clinical.models import Biomarker

    client = make_staff("compliance")
    detail_url = change(Biomarker, biomarker.pk)
    masked = client.get(detail_url)
    assert masked.status_code == 200
    assert biomarker.unit not in masked.content.decode().split("<fieldset")[1]
    assert "Reveal protected fields" in masked.content.decode()

    reveal_url = reverse("admin:clinical_biomarker_reveal", args=[biomarker.pk])
    too_short = client.post(reveal_url, {"reason": "because"})
    assert too_short.status_code == 400
    assert not PhiReveal.objects.filter(user=client.user).exists()

    reason = "Customer called about a critical lab value; ticket SUP-1234"
    revealed = client.post(reveal_url, {"reason": reason})
    assert revealed.status_code == 302
    shown = client.get(detail_url)
    html = shown.content.decode()
    assert biomarker.code in html and biomarker.unit in html
    assert "is shown until" in html

    events = AuditEvent.objects.filter(actor_id=str(client.user.pk), entity_id=str(biomarker.pk))
    reveal_event = events.get(event_type="phi.revealed")
    assert reveal_event.details["reason"] == reason
    assert reveal_event.brand_id == biomarker.brand_id
    assert reveal_event.actor_type == "staff"
    views = events.filter(event_type="phi.viewed").order_by("occurred_at")
    assert [e.details["revealed"] for e in views] == [False, True]
    assert views.last().request_id == shown["X-Request-Id"]


def test_a_reveal_expires(make_staff, biomarker):
    from apps.clinical.models import Biomarker

    client = make_staff("compliance")
    client.post(
        reverse("admin:clinical_biomarker_reveal", args=[biomarker.pk]),
        {"reason": "Reviewing escalation 42 today"},
    )
    PhiReveal.objects.filter(user=client.user).update(expires_at=timezone.now())
    html = client.get(change(Biomarker, biomarker.pk)).content.decode()
    assert "is masked" in html


def test_support_cannot_reveal_phi(make_staff, cluster_admin):
    client = make_staff("support")
    visit_id = cluster_admin.execute("SELECT id FROM booking.visits LIMIT 1").fetchone()[0]
    response = client.post(
        reverse("admin:booking_visit_reveal", args=[visit_id]), {"reason": "I would like to see it"}
    )
    assert response.status_code == 403
    assert not PhiReveal.objects.exists()


def test_brand_bound_compliance_cannot_reveal_another_brands_record(make_staff, cluster_admin):
    client = make_staff("compliance", brands=("capri",))
    loop_id = cluster_admin.execute(
        "SELECT id FROM clinical.biomarkers WHERE brand_id = 'loop' LIMIT 1"
    ).fetchone()[0]
    response = client.post(
        reverse("admin:clinical_biomarker_reveal", args=[loop_id]), {"reason": "Trying another brand"}
    )
    assert response.status_code == 404
    assert not PhiReveal.objects.exists()


# --- the back-office audit log --------------------------------------------------------------


def test_audit_log_refuses_update_and_delete():
    event = AuditEvent.objects.create(
        occurred_at=timezone.now(), actor_type="staff", actor_id="1", event_type="test.event", brand_id="*"
    )
    for write in (
        lambda: AuditEvent.objects.filter(pk=event.pk).update(event_type="tampered"),
        lambda: AuditEvent.objects.filter(pk=event.pk).delete(),
    ):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            write()
    assert AuditEvent.objects.get(pk=event.pk).event_type == "test.event"


def test_logins_and_failed_logins_are_logged(client, django_user_model):
    django_user_model.objects.create_user("agent", password="correct horse battery", is_staff=True)
    client.post(reverse("admin:login"), {"username": "agent", "password": "wrong"})
    assert AuditEvent.objects.filter(event_type="staff.login_failed", actor_id="agent").exists()
    response = client.post(reverse("admin:login"), {"username": "agent", "password": "correct horse battery"})
    assert response.status_code == 302
    login = AuditEvent.objects.get(event_type="staff.login")
    # Bound to no brand and not platform-wide: the event says so, never "*" (every brand).
    assert login.actor_type == "staff" and login.actor_brand_id == ""


def test_repeated_failed_logins_lock_the_account(client, django_user_model):
    django_user_model.objects.create_user("target", password="correct horse battery", is_staff=True)
    for _ in range(5):
        client.post(reverse("admin:login"), {"username": "target", "password": "guess"})
    locked = client.post(reverse("admin:login"), {"username": "target", "password": "correct horse battery"})
    assert locked.status_code == 429
    assert "Too many failed sign-ins" in locked.content.decode()
    assert "_auth_user_id" not in client.session


def test_idle_session_expires_and_is_logged(make_staff):
    client = make_staff("support")
    assert client.get(reverse("admin:index")).status_code == 200
    session = client.session
    session[LAST_SEEN_KEY] = time.time() - 31 * 60
    session.save()
    response = client.get(reverse("admin:index"))
    assert response.status_code == 302 and "/login/" in response["Location"]
    assert AuditEvent.objects.filter(
        event_type="staff.session_expired", actor_id=str(client.user.pk)
    ).exists()


def test_activity_keeps_a_session_alive_without_a_write_per_page(make_staff):
    client = make_staff("support")
    session = client.session
    session[LAST_SEEN_KEY] = twenty_minutes_ago = time.time() - 20 * 60
    session.save()
    assert client.get(reverse("admin:index")).status_code == 200
    refreshed = client.session[LAST_SEEN_KEY]
    assert refreshed > twenty_minutes_ago + 19 * 60
    # Within a few seconds of the last write the session is not rewritten.
    assert client.get(reverse("admin:index")).status_code == 200
    assert client.session[LAST_SEEN_KEY] == refreshed


def test_reassigning_a_role_removes_what_the_old_one_gave(make_staff, cluster_admin):
    from apps.access.services import assign_role
    from apps.commerce.models import Order

    client = make_staff("brand_manager", brands=("capri", "loop"))
    loop_order = brand_rows(cluster_admin, Order, "loop", limit=1)[0]
    assert client.get(change(Order, loop_order)).status_code == 200
    assign_role(user=client.user, role="brand_manager", brands=("capri",), platform_wide=False)
    assert client.get(change(Order, loop_order)).status_code == 404
    assign_role(user=client.user, role="support", brands=(), platform_wide=True)
    assert [g.name for g in client.user.groups.all()] == ["support"]
    assert client.get(changelist(apps.get_model("affiliates.Affiliate"))).status_code == 403


def test_brand_and_role_changes_are_logged(make_staff, django_user_model):
    from django.contrib.auth.models import Group

    admin_client = make_staff("superuser")
    target = django_user_model.objects.create_user("newhire", is_staff=True)
    StaffBrand.objects.create(user=target, brand_id="loop")
    target.groups.add(Group.objects.get(name="support"))
    added = AuditEvent.objects.get(event_type="staff.brand_added")
    assert added.brand_id == "loop" and added.entity_id == str(target.pk)
    groups = AuditEvent.objects.get(event_type="staff.groups_changed", entity_id=str(target.pk))
    assert groups.details["groups"] == ["support"]
    assert admin_client.get(reverse("admin:auth_user_change", args=[target.pk])).status_code == 200


def test_compliance_reviews_the_audit_log_filtered_by_actor(make_staff):
    compliance = make_staff("compliance")
    support = make_staff("support")
    support.get(reverse("admin:index"))
    AuditEvent.objects.create(
        occurred_at=timezone.now(), actor_type="staff", actor_id=str(support.user.pk), event_type="phi.viewed",
        brand_id="capri", request_id="req-filter-test",
    )  # fmt: skip
    url = reverse("admin:auditlog_auditevent_changelist")
    html = compliance.get(url, {"q": str(support.user.pk)}).content.decode()
    assert "req-filter-test" in html
    assert compliance.get(url, {"event_type": "phi."}).status_code == 200
    assert support.get(url).status_code == 403


def test_every_response_carries_a_request_id_of_ours(make_staff):
    client = make_staff("support")
    first = client.get(reverse("admin:index"))
    given = client.get(reverse("admin:index"), HTTP_X_REQUEST_ID="support-trace-0001")
    assert len(first["X-Request-Id"]) >= 32
    assert given["X-Request-Id"] not in ("support-trace-0001", first["X-Request-Id"])
    with override_settings(REQUEST_ID_TRUSTED_PROXIES=["127.0.0.1"]):  # the test client's address
        forwarded = client.get(reverse("admin:index"), HTTP_X_REQUEST_ID="support-trace-0001")
        hostile = client.get(reverse("admin:index"), HTTP_X_REQUEST_ID="<script>" * 50)
    assert forwarded["X-Request-Id"] == "support-trace-0001"
    assert "<" not in hostile["X-Request-Id"]


def test_responses_carry_a_content_security_policy(client):
    response = client.get(reverse("admin:login"))
    assert "default-src 'self'" in response["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]


def test_platform_schemas_all_belong_to_a_role():
    from apps.access.roles import ROLES

    covered = {schema for role in ROLES for schema in role.schemas}
    assert covered == set(SCHEMA_NAMES)


@override_settings(REQUIRE_2FA=True)
def test_two_factor_is_required_when_enforced(client, django_user_model):
    from django_otp.oath import TOTP
    from django_otp.plugins.otp_totp.models import TOTPDevice

    user = django_user_model.objects.create_user("officer", password="correct horse battery", is_staff=True)
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    login = reverse("admin:login")
    without = client.post(login, {"username": "officer", "password": "correct horse battery"})
    assert without.status_code == 200 and "_auth_user_id" not in client.session
    token = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift).token()
    with_token = client.post(
        login,
        {"username": "officer", "password": "correct horse battery", "otp_device": device.persistent_id,
         "otp_token": f"{token:06d}"},
    )  # fmt: skip
    assert with_token.status_code == 302
    assert client.get(reverse("admin:index")).status_code == 200


@pytest.mark.parametrize("next_url", ["https://evil.example/steal", "//evil.example/", "javascript:alert(1)"])
def test_a_next_that_is_not_ours_lands_on_the_home_page(client, django_user_model, next_url):
    django_user_model.objects.create_user("agent", password="correct horse battery", is_staff=True)
    response = client.post(
        f"{reverse('admin:login')}?next={quote(next_url)}",
        {"username": "agent", "password": "correct horse battery", "next": next_url},
    )
    assert response.status_code == 302 and response["Location"] == reverse("admin:index")
    assert client.get(response["Location"]).status_code == 200


def totp_device(user):
    from django_otp.oath import TOTP
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    return (
        device,
        lambda: f"{TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift).token():06d}",
    )


@override_settings(REQUIRE_2FA=True)
def test_two_factor_checks_password_and_code_together(client, django_user_model):
    user = django_user_model.objects.create_user("officer", password="correct horse battery", is_staff=True)
    device, code = totp_device(user)
    wrong_code = f"{(int(code()) + 1) % 1_000_000:06d}"
    login = reverse("admin:login")
    wrong_password = client.post(login, {"username": "officer", "password": "guess", "otp_token": code()})
    right_password = client.post(
        login, {"username": "officer", "password": "correct horse battery", "otp_token": wrong_code}
    )
    no_code = client.post(login, {"username": "officer", "password": "correct horse battery"})
    pages = [r.content.decode() for r in (wrong_password, right_password, no_code)]
    errors = [re.findall(r'<p class="errornote">\s*(.*?)\s*</p>', page, re.S) for page in pages]
    assert errors[0] == errors[1] == errors[2] and "authenticator code" in errors[0][0]
    assert all('name="otp_device"' not in page and 'name="otp_challenge"' not in page for page in pages)
    assert "_auth_user_id" not in client.session
    failures = AuditEvent.objects.filter(event_type="staff.login_failed", actor_id="officer")
    assert failures.count() == 3
    device.refresh_from_db()
    device.throttle_reset()  # django-otp delays the next try after a wrong code, which is right
    logged_in = client.post(
        login, {"username": "officer", "password": "correct horse battery", "otp_token": code()}
    )
    assert logged_in.status_code == 302
    assert client.get(reverse("admin:index")).status_code == 200


@override_settings(REQUIRE_2FA=True)
def test_a_session_without_a_second_factor_gets_no_admin_page(make_staff):
    client = make_staff("support")  # logged in by password only
    response = client.get(reverse("admin:index"))
    assert response.status_code == 302 and "/login/" in response["Location"]
