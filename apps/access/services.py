"""Writes of the access app (reveals), each recorded in the back-office audit log."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import models, transaction
from django.utils import timezone

from apps.access import policy
from apps.access.models import PhiReveal
from apps.access.roles import get_role
from apps.auditlog import events
from apps.auditlog.models import MANY_SUBJECTS
from apps.auditlog.services import record_event
from apps.auditlog.subjects import subjects_of_audit_rows, subjects_of_records
from apps.core.types import StaffUser


@transaction.atomic
def reveal_phi(*, user: StaffUser, obj: models.Model, reason: str) -> PhiReveal:
    """Let ``user`` see ``obj``'s protected fields for PHI_REVEAL_MINUTES, and log why."""
    if not policy.can_reveal_phi(user):
        raise PermissionDenied("Your role may not reveal protected health information.")
    model = type(obj)
    object_pk = str(obj.pk)
    reveal = PhiReveal.objects.create(
        user=user,
        model_label=model._meta.label,
        object_pk=object_pk,
        reason=reason.strip(),
        expires_at=timezone.now() + policy.reveal_duration(),
    )
    record_event(
        event_type=events.PHI_REVEALED,
        actor=user,
        entity_type=model._meta.label,
        entity_id=object_pk,
        brand_id=getattr(obj, "brand_id", None),
        subjects=subjects_of_records(model, [obj]),
        details={
            "reason": reveal.reason,
            "expires_at": reveal.expires_at.isoformat(),
            "fields": sorted(
                name
                for name, kind in policy.sensitive_fields(model).items()
                if kind in (policy.PHI, policy.DETAILS)
            ),
        },
    )
    return reveal


def record_phi_view(
    *, user: StaffUser, obj: models.Model, revealed: bool, panels: list[str] | None = None
) -> None:
    """A PHI-bearing record was opened (masked or not): compliance wants to know who looked."""
    record_event(
        event_type=events.PHI_VIEWED,
        actor=user,
        entity_type=obj._meta.label,
        entity_id=str(obj.pk),
        brand_id=getattr(obj, "brand_id", None),
        subjects=subjects_of_records(type(obj), [obj]),
        details={"revealed": revealed, **({"panels": panels} if panels else {})},
    )


def record_customer_view(*, user: Any, customer: models.Model, phi_panels: list[str]) -> None:
    """The customer page was opened: ``phi.viewed`` when it showed PHI panels (masked), else
    ``customer.viewed``; either way one event whose subject is the customer."""
    if phi_panels:
        record_phi_view(user=user, obj=customer, revealed=False, panels=phi_panels)
        return
    record_event(
        event_type=events.CUSTOMER_VIEWED,
        actor=user,
        entity_type=customer._meta.label,
        entity_id=str(customer.pk),
        brand_id=getattr(customer, "brand_id", None),
        subject_id=str(customer.pk),
    )


def record_contact_view(*, user: Any, obj: models.Model) -> None:
    """A record page showed contact details in clear (an email, a phone, an address)."""
    subjects = subjects_of_records(type(obj), [obj])
    if not subjects:
        return  # contact details of nobody in particular (a provider, a suppression list entry)
    record_event(
        event_type=events.CONTACT_VIEWED,
        actor=user,
        entity_type=obj._meta.label,
        entity_id=str(obj.pk),
        brand_id=getattr(obj, "brand_id", None),
        subjects=subjects,
    )


# At most this many entity ids are listed in one phi.viewed / phi.exported event; the count and
# the filter say the rest.
LOGGED_ENTITIES = 1000


def record_phi_access(
    *,
    user: StaffUser,
    event_type: str,
    where: str,
    entities: list[tuple[str, str, str]],
    revealed: list[tuple[str, str]] | None = None,
    subjects: Iterable[str] | None = None,
    **details: Any,
) -> None:
    """PHI-bearing rows were shown in a list (a changelist, the audit explorer) or exported.

    ``event_type`` is ``phi.viewed`` or ``phi.exported``; ``entities`` are the
    ``(source, entity_type, entity_id)`` concerned (the first LOGGED_ENTITIES of them, with the
    total); ``revealed`` those shown in clear because the viewer had revealed them. ``subjects``
    (the people concerned) default to those the entities name; past LOGGED_ENTITIES entities
    the event keeps MANY_SUBJECTS and the caller's ``filters``.
    """
    unique = list(dict.fromkeys(entities))
    if subjects is None:
        if len(unique) > LOGGED_ENTITIES:
            subjects = [MANY_SUBJECTS]
        else:
            subjects = subjects_of_audit_rows((src, None, None, etype, eid) for src, etype, eid in unique)
    record_event(
        event_type=event_type,
        actor=user,
        entity_type=where,
        subjects=subjects,
        details={
            "entities": [list(e) for e in unique[:LOGGED_ENTITIES]],
            "entity_count": len(unique),
            "revealed": [list(r) for r in (revealed or [])],
            **details,
        },
    )


@transaction.atomic
def assign_role(*, user: StaffUser, role: str, brands: tuple[str, ...], platform_wide: bool) -> None:
    """Make ``user`` a staff member of exactly ``role`` (a group, or "superuser"), bound to
    ``brands``, and platform-wide (every brand) only when ``platform_wide`` says so.

    Both are explicit: a staff member with no brand and no platform-wide grant sees no platform
    row. A brand-bound role (``Role.brand_bound``) is never platform-wide. Idempotent: groups,
    brands and the grant the user had beyond these are removed.
    """
    from django.contrib.auth.models import Group, Permission

    if role != "superuser" and platform_wide and get_role(role).brand_bound:
        raise ValueError(f"The {role} role is bound to brands; it cannot be platform-wide.")
    user.is_staff = True
    user.is_superuser = role == "superuser"
    user.save()
    user.groups.set([] if role == "superuser" else [Group.objects.get(name=role)])
    app_label, codename = policy.ALL_BRANDS_PERMISSION.split(".")
    grant = Permission.objects.get(content_type__app_label=app_label, codename=codename)
    if platform_wide:
        user.user_permissions.add(grant)
    else:
        user.user_permissions.remove(grant)
    user.staff_brands.exclude(brand_id__in=brands).delete()
    for brand in brands:
        user.staff_brands.get_or_create(brand_id=brand)
    for cached in ("_perm_cache", "_user_perm_cache", "_group_perm_cache", "_backoffice_allowed_brands"):
        user.__dict__.pop(cached, None)


GRANT_KINDS = ("superuser", "role", "brand", "platform_wide")


@transaction.atomic
def revoke_grant(*, user: Any, kind: str, value: str = "") -> None:
    """Take one grant away from a staff member, effective on their next request: the superuser
    flag, a role (its group), a brand binding, or the platform-wide grant."""
    from django.contrib.auth.models import Permission

    if kind == "superuser":
        user.is_superuser = False
        user.save(update_fields=["is_superuser"])
    elif kind == "role":
        user.groups.remove(*user.groups.filter(name=value))
    elif kind == "brand":
        user.staff_brands.filter(brand_id=value).delete()
    elif kind == "platform_wide":
        app_label, codename = policy.ALL_BRANDS_PERMISSION.split(".")
        user.user_permissions.remove(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
        )
    else:
        raise ValueError(f"Unknown grant {kind!r}; known: {', '.join(GRANT_KINDS)}.")
    for cached in ("_perm_cache", "_user_perm_cache", "_group_perm_cache", "_backoffice_allowed_brands"):
        user.__dict__.pop(cached, None)
