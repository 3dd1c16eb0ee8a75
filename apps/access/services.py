"""Writes of the access app (reveals), each recorded in the back-office audit log."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import models, transaction
from django.utils import timezone

from apps.access import phi
from apps.access.models import PhiReveal
from apps.auditlog.services import record_event


@transaction.atomic
def reveal_phi(*, user: Any, obj: models.Model, reason: str) -> PhiReveal:
    """Let ``user`` see ``obj``'s protected fields for PHI_REVEAL_MINUTES, and log why."""
    if not phi.can_reveal_phi(user):
        raise PermissionDenied("Your role may not reveal protected health information.")
    model = type(obj)
    object_pk = str(obj.pk)
    reveal = PhiReveal.objects.create(
        user=user,
        model_label=model._meta.label,
        object_pk=object_pk,
        reason=reason.strip(),
        expires_at=timezone.now() + phi.reveal_duration(),
    )
    record_event(
        event_type="phi.revealed",
        actor=user,
        entity_type=model._meta.label,
        entity_id=object_pk,
        brand_id=getattr(obj, "brand_id", None),
        details={
            "reason": reveal.reason,
            "expires_at": reveal.expires_at.isoformat(),
            "fields": sorted(name for name, kind in phi.sensitive_fields(model).items() if kind == phi.PHI),
        },
    )
    return reveal


def record_phi_view(*, user: Any, obj: models.Model, revealed: bool, panels: list[str] | None = None) -> None:
    """A PHI-bearing record was opened (masked or not): compliance wants to know who looked."""
    record_event(
        event_type="phi.viewed",
        actor=user,
        entity_type=obj._meta.label,
        entity_id=str(obj.pk),
        brand_id=getattr(obj, "brand_id", None),
        details={"revealed": revealed, **({"panels": panels} if panels else {})},
    )


@transaction.atomic
def assign_role(*, user: Any, role: str, brands: tuple[str, ...] = ()) -> None:
    """Make ``user`` a staff member of exactly ``role`` (a group, or "superuser") and ``brands``.

    Idempotent: groups and brands the user had beyond these are removed.
    """
    from django.contrib.auth.models import Group

    user.is_staff = True
    user.is_superuser = role == "superuser"
    user.save()
    user.groups.set([] if role == "superuser" else [Group.objects.get(name=role)])
    user.staff_brands.exclude(brand_id__in=brands).delete()
    for brand in brands:
        user.staff_brands.get_or_create(brand_id=brand)
