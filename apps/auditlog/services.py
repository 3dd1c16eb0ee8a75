"""Writing the back-office audit log. Every entry goes through ``record_event``."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from django.http import HttpRequest
from django.utils import timezone

from apps.auditlog.context import current_request
from apps.auditlog.models import ALL_BRANDS, MANY_SUBJECTS, AuditEvent
from apps.auditlog.subjects import LOGGED_SUBJECTS
from apps.core.request_id import current_request_id
from apps.core.types import StaffUser

ActorBrand = Callable[[StaffUser], str]
_actor_brand: ActorBrand | None = None


def set_actor_brand(resolver: ActorBrand) -> None:
    """Say how a staff member's brands are written as ``actor_brand_id``.

    The visibility policy (apps.access, a layer above this one) registers its answer when the
    app registry is ready; until then, or without it, an event records no actor brand.
    """
    global _actor_brand
    _actor_brand = resolver


def record_event(
    *,
    event_type: str,
    actor: StaffUser | None = None,
    actor_id: str | None = None,
    request: HttpRequest | None = None,
    entity_type: str | None = None,
    entity_id: str | int | None = None,
    brand_id: str | None = None,
    details: dict[str, Any] | None = None,
    request_id: str | None = None,
    subject_id: str | None = None,
    subjects: Iterable[str] | None = None,
    actor_type: str | None = None,
) -> AuditEvent:
    """Append one event. ``actor`` defaults to the user of the request being served.

    ``subject_id`` is the person (identity user id) the event concerns; ``subjects`` the people
    an event about several concerns (a list, an export): one is kept as ``subject_id``, up to
    LOGGED_SUBJECTS as ``subject_ids``, and more as ``subject_id = MANY_SUBJECTS``, whose
    details must then say how to find them again (an export's filters). The chain columns are
    the database's (apps.auditlog migration 0004).

    ``actor_id`` names an actor without an account (a failed login's attempted username, or a
    command run by cron with ``actor_type="system"``).
    An X-Request-Id the client sent (not the request id unless it came from a trusted proxy,
    see apps.core.request_id) is kept in ``details`` as ``client_request_id``.
    """
    request = request or current_request()
    client_request_id = getattr(request, "client_request_id", None)
    if client_request_id:
        details = {**(details or {}), "client_request_id": client_request_id}
    subject_ids = list(dict.fromkeys(str(s) for s in (subjects or ()) if s))
    if subject_id is not None:
        subject_ids = [str(subject_id), *(s for s in subject_ids if s != str(subject_id))]
    many = len(subject_ids) > LOGGED_SUBJECTS or MANY_SUBJECTS in subject_ids
    if actor is None and request is not None and getattr(request, "user", None) is not None:
        actor = request.user if request.user.is_authenticated else None
    return AuditEvent.objects.create(
        occurred_at=timezone.now(),
        actor_type="staff" if actor is not None else (actor_type or "anonymous"),
        actor_id=str(actor.pk) if actor is not None else (actor_id or "anonymous"),
        actor_brand_id=_actor_brand(actor) if actor is not None and _actor_brand is not None else None,
        event_type=event_type,
        entity_type=entity_type,
        entity_id=None if entity_id is None else str(entity_id),
        brand_id=brand_id or ALL_BRANDS,
        request_id=request_id or getattr(request, "request_id", None) or current_request_id(),
        details=details,
        subject_id=MANY_SUBJECTS if many else subject_ids[0] if len(subject_ids) == 1 else None,
        subject_ids=None if many or len(subject_ids) < 2 else subject_ids,
    )
