"""Taking an action: checks, four-eyes, the call to the owning service, and the audit trail.

Nothing here writes the platform's database. The back-office records the request in its own
database (``ActionRequest``) and its own audit log; the service validates, writes and audits.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, models, transaction

from apps.access.policy import may_see_brand
from apps.auditlog.services import actor_brand, record_event
from apps.services.actions import ServiceAction, get_action
from apps.services.client import Actor, ServiceClient, ServiceError
from apps.services.models import ActionRequest

APPROVE_PERMISSION = "services.approve_money_actions"


class ActionRefused(Exception):
    """The back-office itself refuses (permission, four-eyes, state); the message says why."""


def _audit(event: str, request: ActionRequest, *, actor: Any, request_id: str, **details: Any) -> None:
    record_event(
        event_type=f"service.{event}",
        actor=actor,
        entity_type=request.model_label,
        entity_id=request.object_pk,
        brand_id=request.brand_id,
        request_id=request_id,
        details={"action": request.action, "action_request": request.pk, **details},
    )


def request_action(
    *,
    user: Any,
    action: ServiceAction,
    obj: models.Model,
    cleaned: dict[str, Any],
    request_id: str,
) -> ActionRequest:
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
    needs_approval = action.needs_approval(cleaned)
    try:
        with transaction.atomic():
            action_request = ActionRequest.objects.create(
                action=action.name,
                model_label=obj._meta.label,
                object_pk=str(obj.pk),
                brand_id=getattr(obj, "brand_id", "") or "",
                params={**params, "payload": action.payload(obj, cleaned)},
                reason=cleaned["reason"],
                idempotency_key=cleaned["idempotency_key"],
                status=ActionRequest.Status.PENDING_APPROVAL
                if needs_approval
                else ActionRequest.Status.SENDING,
                requested_by=user,
                amount_cents=action.amount_cents(cleaned),
                request_id=request_id,
            )
    except IntegrityError:  # the same form submitted twice at once
        existing = ActionRequest.objects.get(idempotency_key=cleaned["idempotency_key"])
        return _resubmitted(existing, user=user, request_id=request_id)
    if needs_approval:
        _audit("action_requested", action_request, actor=user, request_id=request_id, reason=action_request.reason,
               payload=action_request.params["payload"], needs_approval=True)  # fmt: skip
        return action_request
    return _send(action_request, action=action, obj=obj, sender=user, request_id=request_id)


def _resubmitted(existing: ActionRequest, *, user: Any, request_id: str) -> ActionRequest:
    # A failed call may be retried with the same key: the service answers once per key.
    if existing.status == ActionRequest.Status.FAILED and existing.requested_by_id == user.pk:
        action = get_action(existing.action)
        obj = _target(existing)
        return _send(existing, action=action, obj=obj, sender=user, request_id=request_id)
    return existing


def _target(action_request: ActionRequest) -> models.Model:
    from django.apps import apps

    model = apps.get_model(action_request.model_label)
    return model.objects.get(pk=action_request.object_pk)


def _decide(*, action_request: ActionRequest, approver: Any, status: str, **fields: Any) -> ActionRequest:
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


def approve(*, approver: Any, action_request: ActionRequest, request_id: str) -> ActionRequest:
    """A second person approves a pending money action; it is sent now, under the approver's name."""
    if not approver.has_perm(APPROVE_PERMISSION):
        raise PermissionDenied("Your role may not approve refunds or ledger adjustments.")
    if approver.pk == action_request.requested_by_id:
        raise ActionRefused("Four eyes: someone other than the requester must approve this.")
    if not may_see_brand(approver, action_request.brand_id):
        raise PermissionDenied("This request belongs to a brand you do not manage.")
    locked = _decide(action_request=action_request, approver=approver, status=ActionRequest.Status.SENDING)
    _audit(
        "action_approved", locked, actor=approver, request_id=request_id, requested_by=locked.requested_by_id
    )
    return _send(
        locked, action=get_action(locked.action), obj=_target(locked), sender=approver, request_id=request_id
    )


def reject(*, approver: Any, action_request: ActionRequest, request_id: str, note: str = "") -> ActionRequest:
    if not approver.has_perm(APPROVE_PERMISSION):
        raise PermissionDenied("Your role may not decide on refunds or ledger adjustments.")
    locked = _decide(
        action_request=action_request, approver=approver, status=ActionRequest.Status.REJECTED, error=note
    )
    _audit("action_rejected", locked, actor=approver, request_id=request_id, note=note)
    return locked


def _send(
    action_request: ActionRequest, *, action: ServiceAction, obj: models.Model, sender: Any, request_id: str
) -> ActionRequest:
    payload = action_request.params["payload"]
    _audit("action_sent", action_request, actor=sender, request_id=request_id, service=action.service,
           payload=payload, reason=action_request.reason)  # fmt: skip
    client = ServiceClient.for_service(action.service)
    try:
        response = client.post(
            action.path(obj),
            json=payload,
            idempotency_key=str(action_request.idempotency_key),
            request_id=request_id,
            actor=Actor(staff_id=str(sender.pk), brand=actor_brand(sender)),
        )
    except ServiceError as exc:
        action_request.failure = exc  # not stored: lets the page answer with the right status
        action_request.status = ActionRequest.Status.FAILED
        action_request.error = str(exc)
        action_request.request_id = request_id
        action_request.save(update_fields=["status", "error", "request_id", "updated_at"])
        _audit("action_failed", action_request, actor=sender, request_id=request_id, service=action.service,
               error=str(exc), status=exc.status, code=exc.code, kind=type(exc).__name__)  # fmt: skip
        return action_request
    action_request.status = ActionRequest.Status.SUCCEEDED
    action_request.response = response.body
    action_request.error = ""
    action_request.request_id = request_id
    action_request.save(update_fields=["status", "response", "error", "request_id", "updated_at"])
    _audit("action_succeeded", action_request, actor=sender, request_id=request_id, service=action.service,
           status=response.status, attempts=response.attempts, replayed=response.replayed)  # fmt: skip
    return action_request
