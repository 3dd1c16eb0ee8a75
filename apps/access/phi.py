"""Which columns are sensitive, and how they are masked: the one declaration.

Two categories:
- ``phi``: protected health information. Masked for everyone by default; roles with
  ``access.reveal_phi`` reveal one record at a time, with a written reason, for a limited time.
- ``contact``: customers' contact details. Visible to roles with ``access.view_contact``
  (support, compliance), masked for everyone else (brand managers).

Keys stay visible (primary key, brand, foreign keys and cross-service ids), so a masked record
can still be found, linked and revealed.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone

from apps.core.models import ServiceRef, split_db_table

PHI = "phi"
CONTACT = "contact"

# schema -> "*" (every non-key column of every table) or {table: columns}
PHI_COLUMNS: dict[str, Any] = {
    "clinical": "*",
    "patient_graph": "*",
    "booking": {"visits": {"notes"}},
    "ai": {"conversation_messages": {"content"}},
}
CONTACT_COLUMNS: dict[str, dict[str, set[str]]] = {
    "identity": {"users": {"email", "phone"}, "sessions": {"ip"}},
    "comms": {"suppressions": {"address"}},
    "commerce": {"orders": {"shipping_address"}},
}

MASK = "\N{BLACK CIRCLE}" * 6


def _is_key(field: models.Field) -> bool:
    return (
        field.primary_key or field.is_relation or isinstance(field, ServiceRef) or field.column == "brand_id"
    )


def category(field: models.Field) -> str | None:
    """``"phi"``, ``"contact"`` or None for one model field."""
    model = field.model
    schema = model._meta.app_label
    _, table = split_db_table(model._meta.db_table)
    declared = PHI_COLUMNS.get(schema)
    if declared == "*" and not _is_key(field):
        return PHI
    if isinstance(declared, dict) and field.column in declared.get(table, ()):
        return PHI
    if field.column in CONTACT_COLUMNS.get(schema, {}).get(table, ()):
        return CONTACT
    return None


def sensitive_fields(model: type[models.Model]) -> dict[str, str]:
    """Every sensitive field of a model: attname -> category."""
    found = {}
    for field in model._meta.concrete_fields:
        kind = category(field)
        if kind:
            found[field.attname] = kind
    return found


def has_phi(model: type[models.Model]) -> bool:
    return PHI in sensitive_fields(model).values()


def can_reveal_phi(user: Any) -> bool:
    return user.has_perm("access.reveal_phi")


def can_view_contact(user: Any) -> bool:
    return user.has_perm("access.view_contact")


def reveal_duration() -> timedelta:
    return timedelta(minutes=settings.PHI_REVEAL_MINUTES)


def active_reveal(user: Any, model: type[models.Model], object_pk: str) -> Any:
    """The user's unexpired reveal of this record, if any."""
    from apps.access.models import PhiReveal

    return (
        PhiReveal.objects.filter(
            user=user, model_label=model._meta.label, object_pk=str(object_pk), expires_at__gt=timezone.now()
        )
        .order_by("-expires_at")
        .first()
    )


def visible_categories(user: Any, *, revealed: bool) -> set[str]:
    """Which sensitive categories this user sees unmasked on a page."""
    shown = set()
    if can_view_contact(user):
        shown.add(CONTACT)
    if revealed and can_reveal_phi(user):
        shown.add(PHI)
    return shown
