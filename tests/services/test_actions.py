"""Staff actions over HTTP against the real service stand-in: each one changes the service's rows
and leaves matching audit rows in the service and the back-office under one request_id."""

from __future__ import annotations

import re
import uuid

import pytest
from django.contrib.admin.utils import quote
from django.urls import reverse

from apps.auditlog.models import AuditEvent
from apps.services import client as service_client
from apps.services.models import ActionRequest

pytestmark = pytest.mark.django_db(databases="__all__")


def act_url(model_label: str, pk, action: str) -> str:
    app, model = model_label.lower().split(".")
    return reverse(f"admin:{app}_{model}_act", args=[quote(str(pk)), action])


def confirm(client, url, **data):
    """Open the confirmation form, then submit it with its idempotency key and ``data``."""
    page = client.get(url)
    assert page.status_code == 200, page.content[:500]
    key = re.search(r'name="idempotency_key" value="([0-9a-f-]+)"', page.content.decode()).group(1)
    return client.post(url, {"idempotency_key": key, **data}), key


def one(cluster_admin, sql, params=()):
    return cluster_admin.execute(sql, params).fetchone()


@pytest.fixture
def faults(standin):
    import httpx

    base = standin.url
    yield lambda **fault: httpx.post(f"{base}/__faults", json=fault).raise_for_status()
    httpx.delete(f"{base}/__faults").raise_for_status()


def service_audit(cluster_admin, schema, request_id):
    return cluster_admin.execute(
        f"SELECT event_type, actor_type, actor_id, entity_id FROM {schema}.audit_log WHERE request_id = %s",
        [request_id],
    ).fetchall()


# --- each action, end to end ----------------------------------------------------------------

ACTIONS = [
    # (action, role, model, target SQL, form data, check SQL returning True when done, service schema)
    ("cancel_subscription", "support", "commerce.Subscription",
     "SELECT id FROM commerce.subscriptions WHERE status = 'active' AND brand_id = 'capri' OFFSET 3 LIMIT 1", {},
     "SELECT status = 'cancelled' AND cancelled_at IS NOT NULL FROM commerce.subscriptions WHERE id = %s", "commerce"),
    ("revoke_sessions", "support", "identity.User",
     "SELECT user_id FROM identity.sessions WHERE revoked_at IS NULL GROUP BY user_id OFFSET 5 LIMIT 1", {},
     "SELECT count(*) = 0 FROM identity.sessions WHERE user_id = %s AND revoked_at IS NULL", "identity"),
    ("lock_user", "support", "identity.User",
     "SELECT id FROM identity.users WHERE status = 'active' OFFSET 20 LIMIT 1", {},
     "SELECT status = 'locked' FROM identity.users WHERE id = %s", "identity"),
    ("unlock_user", "support", "identity.User",
     "SELECT id FROM identity.users WHERE status = 'locked' LIMIT 1", {},
     "SELECT status = 'active' FROM identity.users WHERE id = %s", "identity"),
    ("add_suppression", "support", "identity.User",
     "SELECT u.id FROM identity.users u WHERE status = 'active' AND NOT EXISTS (SELECT 1 FROM comms.suppressions s "
     "WHERE lower(s.address) = lower(u.email)) OFFSET 30 LIMIT 1", {"channel": "email"},
     "SELECT count(*) = 1 FROM comms.suppressions s JOIN identity.users u ON lower(s.address) = lower(u.email) "
     "WHERE u.id = %s", "comms"),
    ("remove_suppression", "support", "comms.Suppression",
     "SELECT id FROM comms.suppressions OFFSET 2 LIMIT 1", {},
     "SELECT count(*) = 0 FROM comms.suppressions WHERE id = %s", "comms"),
    ("hide_post", "support", "community.Post",
     "SELECT id FROM community.posts WHERE status = 'visible' OFFSET 7 LIMIT 1", {},
     "SELECT status = 'hidden' FROM community.posts WHERE id = %s", "community"),
    ("restore_post", "support", "community.Post",
     "SELECT id FROM community.posts WHERE status = 'hidden' LIMIT 1", {},
     "SELECT status = 'visible' FROM community.posts WHERE id = %s", "community"),
    ("redeliver_webhook", "support", "webhooks.OutboundDelivery",
     "SELECT id FROM webhooks.outbound_deliveries WHERE status = 'failed' LIMIT 1", {},
     "SELECT status = 'pending' FROM webhooks.outbound_deliveries WHERE id = %s", "webhooks"),
    ("hold_payout", "brand_manager", "affiliates.Payout",
     "SELECT id FROM affiliates.payouts WHERE status = 'pending' AND brand_id = 'capri' LIMIT 1", {},
     "SELECT status = 'held' FROM affiliates.payouts WHERE id = %s", "affiliates"),
    ("release_payout", "brand_manager", "affiliates.Payout",
     "SELECT id FROM affiliates.payouts WHERE status = 'held' AND brand_id = 'capri' LIMIT 1", {},
     "SELECT status = 'pending' FROM affiliates.payouts WHERE id = %s", "affiliates"),
    ("acknowledge_red_flag", "compliance", "clinical.RedFlag",
     "SELECT id FROM clinical.red_flags WHERE acknowledged_at IS NULL LIMIT 1", {},
     "SELECT acknowledged_at IS NOT NULL FROM clinical.red_flags WHERE id = %s", "clinical"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("action", "role", "model", "target", "data", "done", "schema"), ACTIONS, ids=[a[0] for a in ACTIONS]
)
def test_action_changes_service_rows_and_both_audit_logs_share_the_request_id(
    standin, make_staff, cluster_admin, action, role, model, target, data, done, schema
):
    client = make_staff(role, brands=("capri",) if role == "brand_manager" else ())
    pk = one(cluster_admin, target)[0]
    response, _ = confirm(client, act_url(model, pk, action), reason=f"Ticket {action} from a test", **data)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert one(cluster_admin, done, [pk])[0] is True
    request_id = response["X-Request-Id"]
    rows = service_audit(cluster_admin, schema, request_id)
    assert len(rows) == 1
    assert rows[0][1:3] == ("staff", str(client.user.pk))
    ours = AuditEvent.objects.filter(request_id=request_id).values_list("event_type", flat=True)
    assert set(ours) == {"service.action_sent", "service.action_succeeded"}
    assert ActionRequest.objects.get(request_id=request_id).status == "succeeded"


def test_support_refunds_part_of_a_charge_and_the_request_view_shows_both_sides(
    standin, make_staff, cluster_admin
):
    client = make_staff("support")
    charge_id, _ = one(
        cluster_admin,
        "SELECT id, amount_cents FROM payments.charges WHERE status = 'succeeded' AND amount_cents > 3000 OFFSET 11 LIMIT 1",
    )
    response, _ = confirm(
        client,
        act_url("payments.Charge", charge_id, "refund_charge"),
        amount="12.34",
        reason="Damaged item, ticket 77",
    )
    assert response.status_code == 302
    page = client.get(response["Location"])
    assert "Refund: done by the payments service." in page.content.decode()
    refund = one(
        cluster_admin,
        "SELECT amount_cents, requested_by FROM payments.refunds WHERE charge_id = %s ORDER BY created_at DESC LIMIT 1",
        [charge_id],
    )
    assert refund == (1234, str(client.user.pk))
    assert (
        one(cluster_admin, "SELECT status FROM payments.charges WHERE id = %s", [charge_id])[0]
        == "partially_refunded"
    )
    story = (
        make_staff("compliance")
        .get(reverse("explorer:request", args=[response["X-Request-Id"]]))
        .content.decode()
    )
    assert "payments" in story and "backoffice" in story and "refund.created" in story


def test_submitting_the_same_confirmation_twice_refunds_once(standin, make_staff, cluster_admin):
    client = make_staff("support")
    charge_id = one(
        cluster_admin, "SELECT id FROM payments.charges WHERE status = 'succeeded' OFFSET 13 LIMIT 1"
    )[0]
    url = act_url("payments.Charge", charge_id, "refund_charge")
    response, key = confirm(client, url, amount="1.00", reason="Goodwill credit, ticket 5")
    again = client.post(
        url, {"idempotency_key": key, "amount": "1.00", "reason": "Goodwill credit, ticket 5"}
    )
    assert response.status_code == again.status_code == 302
    assert (
        one(
            cluster_admin,
            "SELECT count(*) FROM payments.refunds WHERE charge_id = %s AND amount_cents = 100",
            [charge_id],
        )[0]
        == 1
    )


# --- failures: a clear message, nothing written ---------------------------------------------


def refunds_of(cluster_admin, charge_id):
    return one(cluster_admin, "SELECT count(*) FROM payments.refunds WHERE charge_id = %s", [charge_id])[0]


@pytest.fixture
def charge(cluster_admin):
    def pick(offset):
        return one(
            cluster_admin,
            "SELECT id, amount_cents FROM payments.charges WHERE status = 'succeeded' AND amount_cents > 500 OFFSET %s LIMIT 1",
            [offset],
        )

    return pick


def test_a_timeout_then_a_retry_writes_once(standin, make_staff, cluster_admin, faults, monkeypatch, charge):
    monkeypatch.setattr(service_client, "READ_TIMEOUT", 0.5)
    faults(service="payments", kind="slow", phase="after", delay=1.5)
    charge_id, _ = charge(17)
    before = refunds_of(cluster_admin, charge_id)
    response, _ = confirm(
        make_staff("support"),
        act_url("payments.Charge", charge_id, "refund_charge"),
        amount="2.00",
        reason="Late delivery, ticket 9",
    )
    assert response.status_code == 302
    assert refunds_of(cluster_admin, charge_id) == before + 1
    succeeded = AuditEvent.objects.get(
        event_type="service.action_succeeded", request_id=response["X-Request-Id"]
    )
    assert succeeded.details["attempts"] >= 2 and succeeded.details["replayed"] is True


def test_a_5xx_shows_a_clear_message_and_writes_nothing(standin, make_staff, cluster_admin, faults, charge):
    faults(service="payments", kind="error", status=503, count=3)
    charge_id, _ = charge(19)
    before = refunds_of(cluster_admin, charge_id)
    response, _ = confirm(
        make_staff("support"),
        act_url("payments.Charge", charge_id, "refund_charge"),
        amount="2.00",
        reason="Late delivery, ticket 10",
    )
    assert response.status_code == 503
    assert "unavailable right now" in response.content.decode()
    assert refunds_of(cluster_admin, charge_id) == before
    assert AuditEvent.objects.filter(event_type="service.action_failed").exists()


def test_a_refused_connection_shows_a_clear_message(standin, make_staff, cluster_admin, settings, charge):
    settings.SERVICE_URLS = {**settings.SERVICE_URLS, "payments": "http://127.0.0.1:9/payments"}
    charge_id, _ = charge(21)
    before = refunds_of(cluster_admin, charge_id)
    response, _ = confirm(
        make_staff("support"),
        act_url("payments.Charge", charge_id, "refund_charge"),
        amount="2.00",
        reason="Late delivery, ticket 11",
    )
    assert response.status_code == 503
    assert "could not be reached" in response.content.decode()
    assert refunds_of(cluster_admin, charge_id) == before


def test_a_validation_error_from_the_service_is_shown_and_nothing_written(
    standin, make_staff, cluster_admin, charge, settings
):
    settings.FOUR_EYES_REFUND_CENTS = 10**9  # let the refund reach the service, which must refuse it
    charge_id, amount = charge(23)
    before = refunds_of(cluster_admin, charge_id)
    too_much = f"{(amount + 100) / 100:.2f}"
    response, _ = confirm(
        make_staff("support"),
        act_url("payments.Charge", charge_id, "refund_charge"),
        amount=too_much,
        reason="Customer asked for more",
    )
    assert response.status_code == 409
    assert refunds_of(cluster_admin, charge_id) == before
    assert "refund" in response.content.decode().lower()


# --- four eyes and brands -------------------------------------------------------------------


def test_big_refund_waits_for_a_second_person_and_the_requester_cannot_approve(
    standin, make_staff, cluster_admin, settings, charge
):
    settings.FOUR_EYES_REFUND_CENTS = 100
    charge_id, _ = charge(25)
    before = refunds_of(cluster_admin, charge_id)
    officer = make_staff("compliance", username="officer-a")
    support = make_staff("support")
    response, _ = confirm(
        support,
        act_url("payments.Charge", charge_id, "refund_charge"),
        amount="5.00",
        reason="Big refund, ticket 12",
    )
    assert response.status_code == 302
    pending = ActionRequest.objects.get(object_pk=str(charge_id))
    assert pending.status == "pending_approval"
    assert refunds_of(cluster_admin, charge_id) == before
    listed = officer.get(reverse("admin:services_actionrequest_changelist"), follow=True).content.decode()
    assert str(charge_id) in listed
    decide = reverse("admin:services_actionrequest_decide", args=[pending.pk])
    assert support.post(decide, {"decision": "approve"}).status_code == 403
    officer.post(decide, {"decision": "approve"})
    pending.refresh_from_db()
    assert pending.status == "succeeded" and pending.decided_by == officer.user
    assert refunds_of(cluster_admin, charge_id) == before + 1


def test_ledger_adjustment_always_needs_another_approver(standin, make_staff, cluster_admin):
    account_id, balance = one(
        cluster_admin, "SELECT account_id, balance_cents FROM accounting.balances OFFSET 40 LIMIT 1"
    )
    first, second = (
        make_staff("compliance", username="officer-1"),
        make_staff("compliance", username="officer-2"),
    )
    response, _ = confirm(
        first,
        act_url("accounting.Account", account_id, "post_adjustment"),
        amount="-3.50",
        reason="Duplicate fee, case 88",
    )
    assert response.status_code == 302
    pending = ActionRequest.objects.get(object_pk=str(account_id))
    assert pending.status == "pending_approval"
    decide = reverse("admin:services_actionrequest_decide", args=[pending.pk])
    first.post(decide, {"decision": "approve"})
    pending.refresh_from_db()
    assert pending.status == "pending_approval"  # four eyes: not by the requester
    second.post(decide, {"decision": "approve"})
    pending.refresh_from_db()
    assert pending.status == "succeeded"
    assert (
        one(
            cluster_admin, "SELECT balance_cents FROM accounting.balances WHERE account_id = %s", [account_id]
        )[0]
        == balance - 350
    )
    assert (
        one(
            cluster_admin,
            "SELECT count(*) FROM accounting.transactions WHERE account_id = %s AND request_id = %s",
            [account_id, pending.request_id],
        )[0]
        == 1
    )


def test_brand_manager_cannot_act_on_another_brands_record(standin, make_staff, cluster_admin):
    manager = make_staff("brand_manager", brands=("capri",))
    loop_payout = one(
        cluster_admin,
        "SELECT id FROM affiliates.payouts WHERE status = 'pending' AND brand_id = 'loop' LIMIT 1",
    )[0]
    url = act_url("affiliates.Payout", loop_payout, "hold_payout")
    assert manager.get(url).status_code == 404
    response = manager.post(
        url, {"idempotency_key": str(uuid.uuid4()), "reason": "Not my brand, trying anyway"}
    )
    assert response.status_code == 404
    assert (
        one(cluster_admin, "SELECT status FROM affiliates.payouts WHERE id = %s", [loop_payout])[0]
        == "pending"
    )


def test_roles_without_the_permission_see_no_button_and_get_403(make_staff, cluster_admin):
    charge_id = one(cluster_admin, "SELECT id FROM payments.charges WHERE status = 'succeeded' LIMIT 1")[0]
    compliance = make_staff("compliance")
    page = compliance.get(reverse("admin:payments_charge_change", args=[charge_id])).content.decode()
    assert "/act/refund_charge/" not in page
    assert compliance.get(act_url("payments.Charge", charge_id, "refund_charge")).status_code == 403
    support_page = (
        make_staff("support").get(reverse("admin:payments_charge_change", args=[charge_id])).content.decode()
    )
    assert "/act/refund_charge/" in support_page


# --- four eyes that cannot be split ------------------------------------------------------------


def refund(client, charge_id, amount, reason="Split refund, ticket 31"):
    response, key = confirm(
        client, act_url("payments.Charge", charge_id, "refund_charge"), amount=amount, reason=reason
    )
    assert response.status_code in (302, 409, 503), response.content.decode()[:2000]
    return ActionRequest.objects.get(idempotency_key=key), key


def test_split_refunds_on_one_charge_wait_for_approval(standin, make_staff, cluster_admin, settings, charge):
    settings.FOUR_EYES_REFUND_CENTS = 1000
    settings.FOUR_EYES_DAILY_REFUND_CENTS = 10**9
    charge_id, _ = charge(27)
    before = refunds_of(cluster_admin, charge_id)
    support, colleague = make_staff("support"), make_staff("support", username="support-2")
    first, _ = refund(support, charge_id, "6.00")
    second, _ = refund(support, charge_id, "3.00")
    third, _ = refund(support, charge_id, "2.00")
    fourth, _ = refund(colleague, charge_id, "1.00")
    assert [r.status for r in (first, second, third, fourth)] == [
        "succeeded",
        "succeeded",
        "pending_approval",
        "pending_approval",
    ]
    assert refunds_of(cluster_admin, charge_id) == before + 2
    why = AuditEvent.objects.get(event_type="service.action_requested", details__action_request=fourth.pk)
    assert "this record's total to 12.00, over the 10.00 limit" in why.details["why"]


def test_refunds_split_across_charges_wait_past_the_daily_limit(
    standin, make_staff, cluster_admin, settings, charge
):
    settings.FOUR_EYES_REFUND_CENTS = 1000
    settings.FOUR_EYES_DAILY_REFUND_CENTS = 1500
    (first_charge, _), (second_charge, _), (third_charge, _) = charge(29), charge(31), charge(33)
    support, colleague = make_staff("support"), make_staff("support", username="support-3")
    sent, _ = refund(support, first_charge, "8.00")
    waits, _ = refund(support, second_charge, "8.00")
    other, _ = refund(colleague, third_charge, "8.00")  # the limit is per person
    assert (sent.status, waits.status, other.status) == ("succeeded", "pending_approval", "succeeded")
    why = AuditEvent.objects.get(event_type="service.action_requested", details__action_request=waits.pk)
    assert "what you sent alone today to 16.00, over the 15.00 daily limit" in why.details["why"]


def test_a_failed_refund_retried_after_others_went_through_waits_for_approval(
    standin, make_staff, cluster_admin, settings, faults, charge
):
    settings.FOUR_EYES_REFUND_CENTS = 1000
    charge_id, _ = charge(35)
    support = make_staff("support")
    faults(service="payments", kind="error", status=503, count=3)
    failed, key = refund(support, charge_id, "6.00")
    assert failed.status == "failed"
    sent, _ = refund(support, charge_id, "6.00")
    assert sent.status == "succeeded"
    url = act_url("payments.Charge", charge_id, "refund_charge")
    again = support.post(url, {"idempotency_key": key, "amount": "6.00", "reason": "Split refund, ticket 31"})
    assert again.status_code == 302
    failed.refresh_from_db()
    assert failed.status == "pending_approval"


def test_an_approver_retries_a_failed_approved_refund_and_the_service_acts_once(
    standin, make_staff, cluster_admin, settings, faults, charge, monkeypatch
):
    settings.FOUR_EYES_REFUND_CENTS = 100
    charge_id, _ = charge(37)
    before = refunds_of(cluster_admin, charge_id)
    support = make_staff("support")
    approver, other_approver = (
        make_staff("compliance", username="officer-x"),
        make_staff("compliance", username="officer-y"),
    )
    pending, _ = refund(support, charge_id, "5.00", reason="Big refund, ticket 41")
    assert pending.status == "pending_approval"
    # The service refunds, then its answer is lost (one attempt only): we cannot know it was done.
    monkeypatch.setattr(service_client, "ATTEMPTS", 1)
    faults(service="payments", kind="error", phase="after", status=503)
    approver.post(reverse("admin:services_actionrequest_decide", args=[pending.pk]), {"decision": "approve"})
    pending.refresh_from_db()
    assert pending.status == "failed" and pending.decided_by == approver.user
    assert refunds_of(cluster_admin, charge_id) == before + 1

    page = other_approver.get(
        reverse("admin:services_actionrequest_change", args=[pending.pk])
    ).content.decode()
    assert (
        f"Requested by <strong>{support.user}</strong>; approved by <strong>{approver.user}</strong>" in page
    )
    retry_url = reverse("admin:services_actionrequest_retry", args=[pending.pk])
    assert f'action="{retry_url}"' in page
    brand_manager = make_staff("brand_manager", brands=("capri",))
    assert brand_manager.post(retry_url).status_code in (403, 404)
    retried = other_approver.post(retry_url)
    assert retried.status_code == 302
    pending.refresh_from_db()
    assert pending.status == "succeeded"
    assert refunds_of(cluster_admin, charge_id) == before + 1  # replayed by its idempotency key
    again = other_approver.post(retry_url, follow=True).content.decode()
    assert "Only a failed request can be retried" in again
    assert refunds_of(cluster_admin, charge_id) == before + 1

    people = {"requested_by": str(support.user.pk), "approved_by": str(approver.user.pk)}
    service_row = cluster_admin.execute(
        "SELECT a.actor_id, a.details, r.requested_by FROM payments.audit_log a"
        " JOIN payments.refunds r ON r.id::text = a.entity_id WHERE r.charge_id = %s"
        " ORDER BY a.occurred_at DESC LIMIT 1",
        [charge_id],
    ).fetchone()
    assert service_row[0] == str(approver.user.pk)
    assert {k: service_row[1][k] for k in people} == people
    assert service_row[2] == str(support.user.pk)
    ours = AuditEvent.objects.filter(details__action_request=pending.pk)
    sent = ours.filter(event_type="service.action_sent").order_by("occurred_at")
    assert [e.actor_id for e in sent] == [str(approver.user.pk), str(other_approver.user.pk)]
    assert all({k: e.details[k] for k in people} == people for e in sent)
    assert sent.last().details["retry"] is True
    succeeded = ours.get(event_type="service.action_succeeded")
    assert succeeded.details["replayed"] is True and succeeded.details["approved_by"] == people["approved_by"]
