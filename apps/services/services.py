"""Taking an action: checks, four-eyes, the call to the owning service, and the audit trail.

Nothing here writes the platform's database. The back-office records the request in its own
database (``ActionRequest``) and its own audit log; the service validates, writes and audits.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, connection, models, transaction
from django.db.models import Sum
from django.utils import timezone

from apps.access.permissions import APPROVE_MONEY_ACTIONS as APPROVE_PERMISSION
from apps.access.policy import actor_brand, may_see_brand
from apps.auditlog import events
from apps.auditlog.services import record_event
from apps.auditlog.subjects import subject_of
from apps.core.types import StaffUser
from apps.services.actions import ACTIONS, ServiceAction, get_action
from apps.services.client import Actor, ServiceClient, ServiceError
from apps.services.models import ActionRequest

__all__ = [
    "APPROVE_PERMISSION",
    "ActionOutcome",
    "ActionRefused",
    "approve",
    "reject",
    "request_action",
    "retry",
]


class ActionRefused(Exception):
    """The back-office itself refuses (permission, four-eyes, state); the message says why."""


@dataclass(frozen=True)
class ActionOutcome:
    """What became of an action: the request as stored now, and whether a failed call may
    succeed if tried again (the service was down or slow, as opposed to refusing it). A view maps
    it to a message and a status; nothing is patched onto the model."""

    request: ActionRequest
    retryable: bool = False

    @property
    def status(self) -> str:
        return self.request.status

    @property
    def http_status(self) -> int:
        """The status a page answering with this outcome should carry."""
        if self.status != ActionRequest.Status.FAILED:
            return 200
        return 503 if self.retryable else 409


def _audit(event: str, request: ActionRequest, *, actor: StaffUser, request_id: str, **details: Any) -> None:
    record_event(
        event_type=event,
        actor=actor,
        entity_type=request.model_label,
        entity_id=request.object_pk,
        brand_id=request.brand_id,
        request_id=request_id,
        subjects=subject_of(request.model_label, request.object_pk),
        details={"action": request.action, "action_request": request.pk, **_people(request), **details},
    )


def _people(request: ActionRequest) -> dict[str, str]:
    """Who asked and, once approved, who approved: named in our audit and in the service call."""
    people = {"requested_by": str(request.requested_by_id)}
    if request.approved:
        people["approved_by"] = str(request.decided_by_id)
    return people


# --- four eyes: limits on what a request brings the totals to -------------------------------

# One transaction-scoped advisory lock serialises every money request's check-then-record, so
# two requests submitted at once cannot each pass a limit that together they exceed.
_MONEY_LOCK = 0x4F4559  # "FEY"


def _lock_money_requests() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_MONEY_LOCK])


def _money(cents: int) -> str:
    return f"{cents / 100:,.2f}"


def approval_reason(
    *,
    action: ServiceAction,
    obj: models.Model,
    user: StaffUser,
    amount_cents: int | None,
    exclude: int | None = None,
) -> str | None:
    """Why this request needs a second person, or None when its requester may send it alone.

    A refund needs approval when it is over FOUR_EYES_REFUND_CENTS, or would bring the record's
    total (what the service already refunded, plus our requests still waiting or sending) over
    it, or would bring what the requester sent on their own authority today (UTC) over
    FOUR_EYES_DAILY_REFUND_CENTS. So a large refund split into small ones waits like the large
    one. ``exclude`` leaves a request being retried out of the totals. Call it inside the
    transaction that records the request, after ``_lock_money_requests``.
    """
    if not action.moves_money:
        return None
    if action.always_four_eyes:
        return f"every {action.label.lower()} needs a second person"
    amount = amount_cents or 0
    limit = settings.FOUR_EYES_REFUND_CENTS
    if amount > limit:
        return f"{_money(amount)} is over the {_money(limit)} limit"
    open_statuses = (ActionRequest.Status.PENDING_APPROVAL, ActionRequest.Status.SENDING)
    others = ActionRequest.objects.all() if exclude is None else ActionRequest.objects.exclude(pk=exclude)
    waiting = others.filter(
        action=action.name, model_label=obj._meta.label, object_pk=str(obj.pk), status__in=open_statuses
    )
    on_record = (action.moved_cents(obj) if action.moved_cents else 0) + _total(waiting)
    if on_record + amount > limit:
        return (
            f"it brings this record's total to {_money(on_record + amount)}, over the {_money(limit)} limit"
        )
    daily = settings.FOUR_EYES_DAILY_REFUND_CENTS
    day_start = dt.datetime.combine(timezone.now().astimezone(dt.UTC).date(), dt.time.min, tzinfo=dt.UTC)
    own_authority = others.filter(
        action__in=[a.name for a in ACTIONS if a.moves_money and not a.always_four_eyes],
        requested_by=user,
        decided_by__isnull=True,
        created_at__gte=day_start,
        status__in=(ActionRequest.Status.SENDING, ActionRequest.Status.SUCCEEDED),
    )
    today = _total(own_authority) + amount
    if today > daily:
        return f"it brings what you sent alone today to {_money(today)}, over the {_money(daily)} daily limit"
    return None


def _total(requests: models.QuerySet[ActionRequest]) -> int:
    return requests.aggregate(total=Sum("amount_cents"))["total"] or 0


def request_action(
    *,
    user: StaffUser,
    action: ServiceAction,
    obj: models.Model,
    cleaned: dict[str, Any],
    request_id: str,
) -> ActionOutcome:
    """Ask for ``action`` on ``obj``: send it now, or park it for a second person's approval.

    ``cleaned`` is the confirmation form's cleaned data, with its ``idempotency_key``; a second
    submission of the same form finds the first request instead of acting twice.
    """
    if not user.has_perm(action.permission):
        raise PermissionDenied(f"Your role may not {action.label.lower()}.")
    if not may_see_brand(user, getattr(obj, "brand_id", None)) or not action.applies(obj):
        raise ActionRefused(f"{action.label} does not apply to this record now.")
    existing = ActionRequest.objects.filter(idempotency_key=cleaned["idempotency_key"]).first()
    if existing is not None:
        return _resubmitted(existing, user=user, request_id=request_id)
    params = {k: str(v) for k, v in cleaned.items() if k not in ("reason", "idempotency_key")}
    amount_cents = action.amount_cents(cleaned)
    try:
        with transaction.atomic():
            if action.moves_money:
                _lock_money_requests()
            why = approval_reason(action=action, obj=obj, user=user, amount_cents=amount_cents)
            action_request = ActionRequest.objects.create(
                action=action.name,
                model_label=obj._meta.label,
                object_pk=str(obj.pk),
                brand_id=getattr(obj, "brand_id", "") or "",
                params={**params, "payload": action.payload(obj, cleaned)},
                reason=cleaned["reason"],
                idempotency_key=cleaned["idempotency_key"],
                status=ActionRequest.Status.PENDING_APPROVAL if why else ActionRequest.Status.SENDING,
                requested_by=user,
                amount_cents=amount_cents,
                request_id=request_id,
            )
    except IntegrityError:  # the same form submitted twice at once
        existing = ActionRequest.objects.get(idempotency_key=cleaned["idempotency_key"])
        return _resubmitted(existing, user=user, request_id=request_id)
    if why:
        _audit(events.SERVICE_ACTION_REQUESTED, action_request, actor=user, request_id=request_id, reason=action_request.reason,
               payload=action_request.params["payload"], needs_approval=True, why=why)  # fmt: skip
        return ActionOutcome(action_request)
    return _send(action_request, action=action, obj=obj, sender=user, request_id=request_id)


def _resubmitted(existing: ActionRequest, *, user: StaffUser, request_id: str) -> ActionOutcome:
    # The requester's form sent again: a failed request is retried, anything else is shown as it is.
    if existing.status == ActionRequest.Status.FAILED and existing.requested_by_id == user.pk:
        return retry(user=user, action_request=existing, request_id=request_id)
    return ActionOutcome(existing)


def retry_refusal(*, user: StaffUser, action_request: ActionRequest) -> str | None:
    """Why ``user`` may not retry this request (whatever its status), or None when they may."""
    if user.pk == action_request.requested_by_id:
        action = get_action(action_request.action)
        if not user.has_perm(action.permission):
            return f"Your role may not {action.label.lower()}."
    elif not action_request.approved:
        return "Only the requester may retry a request nobody approved."
    elif not user.has_perm(APPROVE_PERMISSION):
        return "Your role may not retry another person's approved request."
    if not may_see_brand(user, action_request.brand_id):
        return "This request belongs to a brand you do not manage."
    return None


def retry(*, user: StaffUser, action_request: ActionRequest, request_id: str) -> ActionOutcome:
    """Send a failed request again, with its idempotency key: the service acts once per key.

    The requester may retry their own request. An approved request may also be retried by an
    approver other than the requester (the one who approved it may be away when the service is
    back). A request that went without approval is checked against the limits again: what
    happened since may make it need a second person now.
    """
    refusal = retry_refusal(user=user, action_request=action_request)
    if refusal:
        raise PermissionDenied(refusal)
    action = get_action(action_request.action)
    obj = _target(action_request)
    with transaction.atomic():
        if action.moves_money:
            _lock_money_requests()
        locked = ActionRequest.objects.select_for_update().get(pk=action_request.pk)
        if locked.status != ActionRequest.Status.FAILED:
            raise ActionRefused(
                f"Only a failed request can be retried; this one is {locked.get_status_display()}."
            )
        why = None
        if not locked.approved:
            why = approval_reason(
                action=action,
                obj=obj,
                user=locked.requested_by,
                amount_cents=locked.amount_cents,
                exclude=locked.pk,
            )
        locked.status = ActionRequest.Status.PENDING_APPROVAL if why else ActionRequest.Status.SENDING
        locked.save(update_fields=["status", "updated_at"])
    if why:
        _audit(events.SERVICE_ACTION_REQUESTED, locked, actor=user, request_id=request_id, reason=locked.reason,
               payload=locked.params["payload"], needs_approval=True, why=why, retry=True)  # fmt: skip
        return ActionOutcome(locked)
    return _send(locked, action=action, obj=obj, sender=user, request_id=request_id, retried=True)


def _target(action_request: ActionRequest) -> models.Model:
    from django.apps import apps

    model = apps.get_model(action_request.model_label)
    target: models.Model = model.objects.get(pk=action_request.object_pk)
    return target


def _decide(
    *, action_request: ActionRequest, approver: StaffUser, status: str, **fields: Any
) -> ActionRequest:
    """Move a pending request to ``status`` under a row lock, so of two deciders only one wins."""
    with transaction.atomic():
        locked = ActionRequest.objects.select_for_update().get(pk=action_request.pk)
        if locked.status != ActionRequest.Status.PENDING_APPROVAL:
            raise ActionRefused(f"This request is already {locked.get_status_display()}.")
        locked.status = status
        locked.decided_by = approver
        for name, value in fields.items():
            setattr(locked, name, value)
        locked.save(update_fields=["status", "decided_by", *fields, "updated_at"])
    return locked


def approve(*, approver: StaffUser, action_request: ActionRequest, request_id: str) -> ActionOutcome:
    """A second person approves a pending money action; it is sent now by the approver, naming both."""
    if not approver.has_perm(APPROVE_PERMISSION):
        raise PermissionDenied("Your role may not approve refunds or ledger adjustments.")
    if approver.pk == action_request.requested_by_id:
        raise ActionRefused("Four eyes: someone other than the requester must approve this.")
    if not may_see_brand(approver, action_request.brand_id):
        raise PermissionDenied("This request belongs to a brand you do not manage.")
    locked = _decide(action_request=action_request, approver=approver, status=ActionRequest.Status.SENDING)
    _audit(events.SERVICE_ACTION_APPROVED, locked, actor=approver, request_id=request_id)
    return _send(
        locked, action=get_action(locked.action), obj=_target(locked), sender=approver, request_id=request_id
    )


def reject(
    *, approver: StaffUser, action_request: ActionRequest, request_id: str, note: str = ""
) -> ActionOutcome:
    if not approver.has_perm(APPROVE_PERMISSION):
        raise PermissionDenied("Your role may not decide on refunds or ledger adjustments.")
    locked = _decide(
        action_request=action_request, approver=approver, status=ActionRequest.Status.REJECTED, error=note
    )
    _audit(events.SERVICE_ACTION_REJECTED, locked, actor=approver, request_id=request_id, note=note)
    return ActionOutcome(locked)


def _send(
    action_request: ActionRequest,
    *,
    action: ServiceAction,
    obj: models.Model,
    sender: StaffUser,
    request_id: str,
    retried: bool = False,
) -> ActionOutcome:
    payload = action_request.params["payload"]
    _audit(events.SERVICE_ACTION_SENT, action_request, actor=sender, request_id=request_id, service=action.service,
           payload=payload, reason=action_request.reason, **({"retry": True} if retried else {}))  # fmt: skip
    people = _people(action_request)
    client = ServiceClient.for_service(action.service)
    try:
        response = client.post(
            action.path(obj),
            json=payload,
            idempotency_key=str(action_request.idempotency_key),
            request_id=request_id,
            actor=Actor(
                staff_id=str(sender.pk),
                brand=actor_brand(sender),
                requested_by=people["requested_by"] if "approved_by" in people else None,
                approved_by=people.get("approved_by"),
            ),
        )
    except ServiceError as exc:
        action_request.status = ActionRequest.Status.FAILED
        action_request.error = str(exc)
        action_request.request_id = request_id
        action_request.save(update_fields=["status", "error", "request_id", "updated_at"])
        _audit(events.SERVICE_ACTION_FAILED, action_request, actor=sender, request_id=request_id, service=action.service,
               error=str(exc), status=exc.status, code=exc.code, kind=type(exc).__name__)  # fmt: skip
        return ActionOutcome(action_request, retryable=exc.retryable)
    action_request.status = ActionRequest.Status.SUCCEEDED
    action_request.response = response.body
    action_request.error = ""
    action_request.request_id = request_id
    action_request.save(update_fields=["status", "response", "error", "request_id", "updated_at"])
    _audit(events.SERVICE_ACTION_SUCCEEDED, action_request, actor=sender, request_id=request_id, service=action.service,
           status=response.status, attempts=response.attempts, replayed=response.replayed)  # fmt: skip
    return ActionOutcome(action_request)
