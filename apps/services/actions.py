"""The actions staff can take on platform records, each one a call to the owning service.

One declaration per action: which record it applies to, which service endpoint it calls, the
form that confirms it (always with a reason), whether it moves money (four-eyes), and when it
applies. Permissions are ``services.run_<name>``; roles get them in apps.access.roles.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, TypeAlias

from django import forms
from django.db import models
from django.db.models import Sum

from apps.access.permissions import run_action
from apps.access.policy import may_see_brand
from apps.core.types import StaffUser
from apps.payments.models import Refund


class ReasonForm(forms.Form):
    idempotency_key = forms.UUIDField(widget=forms.HiddenInput)
    reason = forms.CharField(
        min_length=5,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Sent to the service and kept in both audit logs.",
    )


def _cents(value: Decimal) -> int:
    return int((value * 100).to_integral_value())


class RefundForm(ReasonForm):
    amount = forms.DecimalField(
        min_value=Decimal("0.01"), max_digits=12, decimal_places=2, help_text="In the charge's currency."
    )


class AdjustmentForm(ReasonForm):
    amount = forms.DecimalField(
        max_digits=12, decimal_places=2, help_text="Positive credits the account, negative debits it."
    )
    reference_id = forms.CharField(required=False, max_length=100, help_text="Ticket or case id, if any.")

    def clean_amount(self) -> Decimal:
        amount: Decimal = self.cleaned_data["amount"]
        if amount == 0:
            raise forms.ValidationError("An adjustment of zero changes nothing.")
        return amount


class SuppressionForm(ReasonForm):
    channel = forms.ChoiceField(choices=[("email", "email"), ("sms", "sms")])


#: A record of the action's own model (``ServiceAction.model``): each declaration's callables read
#: that model's fields (a charge's status, a user's email), which no one type can name for all.
Record: TypeAlias = Any


@dataclass(frozen=True)
class ServiceAction:
    name: str
    label: str
    service: str
    model: str  # the model label whose record pages offer this action
    path: Callable[[Record], str]
    payload: Callable[[Record, dict[str, Any]], dict[str, Any]]
    form_class: type[ReasonForm] = ReasonForm
    applies: Callable[[Record], bool] = field(default=lambda obj: True)
    moves_money: bool = False
    always_four_eyes: bool = False
    #: What the service already moved on the record (a charge's refunds), in cents: the four-eyes
    #: limit applies to that plus what is pending plus this request (apps.services.services).
    moved_cents: Callable[[Record], int] | None = None
    initial: Callable[[Record], dict[str, Any]] = field(default=lambda obj: {})
    style: str = "default"  # "danger" for what is hard to undo

    @property
    def permission(self) -> str:
        return run_action(self.name)

    def amount_cents(self, cleaned: dict[str, Any]) -> int | None:
        return _cents(abs(cleaned["amount"])) if "amount" in cleaned else None


def _refunded_cents(charge: models.Model) -> int:
    """What the payments service has refunded on a charge (its succeeded refunds)."""
    refunds = Refund.objects.filter(charge_id=charge.pk, status="succeeded")
    return refunds.aggregate(total=Sum("amount_cents"))["total"] or 0


def _reason(obj: models.Model, cleaned: dict[str, Any]) -> dict[str, Any]:
    return {"reason": cleaned["reason"]}


ACTIONS: tuple[ServiceAction, ...] = (
    ServiceAction(
        "refund_charge", "Refund", "payments", "payments.Charge",
        path=lambda c: f"/v1/charges/{c.pk}/refunds",
        payload=lambda c, d: {"amount_cents": _cents(d["amount"]), "reason": d["reason"]},
        form_class=RefundForm,
        applies=lambda c: c.status in ("succeeded", "partially_refunded"),
        moves_money=True,
        moved_cents=_refunded_cents,
        initial=lambda c: {"amount": Decimal(c.amount_cents) / 100},
    ),
    ServiceAction(
        "cancel_subscription", "Cancel subscription", "commerce", "commerce.Subscription",
        path=lambda s: f"/v1/subscriptions/{s.pk}/cancel", payload=_reason,
        applies=lambda s: s.status != "cancelled", style="danger",
    ),
    ServiceAction(
        "revoke_sessions", "Revoke all sessions", "identity", "identity.User",
        path=lambda u: f"/v1/users/{u.pk}/sessions/revoke", payload=_reason,
    ),
    ServiceAction(
        "lock_user", "Lock account", "identity", "identity.User",
        path=lambda u: f"/v1/users/{u.pk}/lock", payload=_reason,
        applies=lambda u: u.status == "active", style="danger",
    ),
    ServiceAction(
        "unlock_user", "Unlock account", "identity", "identity.User",
        path=lambda u: f"/v1/users/{u.pk}/unlock", payload=_reason, applies=lambda u: u.status == "locked",
    ),
    ServiceAction(
        "add_suppression", "Suppress messages", "comms", "identity.User",
        path=lambda u: "/v1/suppressions",
        payload=lambda u, d: {
            "address": u.email if d["channel"] == "email" else u.phone,
            "channel": d["channel"],
            "reason": d["reason"],
            "brand_id": u.brand_id,
        },
        form_class=SuppressionForm,
    ),
    ServiceAction(
        "remove_suppression", "Remove suppression", "comms", "comms.Suppression",
        path=lambda s: f"/v1/suppressions/{s.pk}/remove", payload=_reason,
    ),
    ServiceAction(
        "hide_post", "Hide post", "community", "community.Post",
        path=lambda p: f"/v1/posts/{p.pk}/hide", payload=_reason, applies=lambda p: p.status == "visible",
    ),
    ServiceAction(
        "restore_post", "Restore post", "community", "community.Post",
        path=lambda p: f"/v1/posts/{p.pk}/restore", payload=_reason, applies=lambda p: p.status == "hidden",
    ),
    ServiceAction(
        "redeliver_webhook", "Redeliver", "webhooks", "webhooks.OutboundDelivery",
        path=lambda d: f"/v1/outbound-deliveries/{d.pk}/redeliver", payload=_reason,
        applies=lambda d: d.status != "pending",
    ),
    ServiceAction(
        "hold_payout", "Hold payout", "affiliates", "affiliates.Payout",
        path=lambda p: f"/v1/payouts/{p.pk}/hold", payload=_reason, applies=lambda p: p.status == "pending",
    ),
    ServiceAction(
        "release_payout", "Release payout", "affiliates", "affiliates.Payout",
        path=lambda p: f"/v1/payouts/{p.pk}/release", payload=_reason, applies=lambda p: p.status == "held",
    ),
    ServiceAction(
        "acknowledge_red_flag", "Acknowledge", "clinical", "clinical.RedFlag",
        path=lambda f: f"/v1/red-flags/{f.pk}/acknowledge",
        payload=lambda f, d: {"note": d["reason"]},
        applies=lambda f: f.acknowledged_at is None,
    ),
    ServiceAction(
        "post_adjustment", "Post ledger adjustment", "accounting", "accounting.Account",
        path=lambda a: "/v1/adjustments",
        payload=lambda a, d: {
            "account_id": str(a.pk),
            "amount_cents": _cents(d["amount"]),
            "reason": d["reason"],
            "reference_type": "adjustment",
            "reference_id": d.get("reference_id") or None,
        },
        form_class=AdjustmentForm,
        moves_money=True,
        always_four_eyes=True,
    ),
)  # fmt: skip
BY_NAME: dict[str, ServiceAction] = {action.name: action for action in ACTIONS}


def actions_for(model: type[models.Model]) -> list[ServiceAction]:
    return [action for action in ACTIONS if action.model == model._meta.label]


def available_actions(user: StaffUser, obj: models.Model) -> list[ServiceAction]:
    """The actions ``user`` may take on ``obj`` now: the one answer every page gives.

    The role's permission, a record of a brand the visibility policy lets them see (a staff
    member bound to no brand may take none), and the record's state.
    """
    if not may_see_brand(user, getattr(obj, "brand_id", None)):
        return []
    return [a for a in actions_for(type(obj)) if user.has_perm(a.permission) and a.applies(obj)]


def get_action(name: str) -> ServiceAction:
    try:
        return BY_NAME[name]
    except KeyError:
        raise KeyError(f"No action {name!r}; actions are {', '.join(BY_NAME)}") from None
