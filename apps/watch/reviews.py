"""Access reviews: a cycle lists every staff member's grants with their last use in our audit log;
a reviewer confirms or revokes each (revocation takes effect on the next request), all logged;
the cycle exports as CSV for auditors."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterator
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from apps.access import permissions
from apps.access.roles import ROLE_NAMES
from apps.access.services import revoke_grant
from apps.auditlog import events
from apps.auditlog.models import ALL_BRANDS, AuditEvent
from apps.auditlog.services import record_event
from apps.core import spreadsheet
from apps.watch.models import ReviewCycle, ReviewItem
from apps.watch.services import WatchError

UNUSED_DAYS = 90
CSV_HEADER = (
    "staff",
    "grant",
    "value",
    "last used",
    f"unused {UNUSED_DAYS} days",
    "decision",
    "decided by",
    "decided at",
)


def _last_used(user: Any, kind: str, value: str) -> dt.datetime | None:
    """A role or the superuser flag was last used at the person's last event; a brand at their last
    event on that brand; the platform-wide grant at their last event on a brand not bound to them."""
    mine = AuditEvent.objects.filter(actor_id=str(user.pk))
    if kind == ReviewItem.Kind.BRAND:
        mine = mine.filter(brand_id=value)
    elif kind == ReviewItem.Kind.PLATFORM_WIDE:
        bound = list(user.staff_brands.values_list("brand_id", flat=True))
        mine = mine.exclude(brand_id__in=[*bound, ALL_BRANDS])
    return mine.aggregate(last=Max("occurred_at"))["last"]


def _grants(user: Any) -> Iterator[tuple[str, str]]:
    if user.is_superuser:
        yield ReviewItem.Kind.SUPERUSER, ""
    for role in user.groups.filter(name__in=ROLE_NAMES).values_list("name", flat=True):
        yield ReviewItem.Kind.ROLE, role
    for brand in user.staff_brands.values_list("brand_id", flat=True):
        yield ReviewItem.Kind.BRAND, brand
    if user.user_permissions.filter(
        content_type__app_label=permissions.VIEW_ALL_BRANDS.split(".")[0],
        codename=permissions.VIEW_ALL_BRANDS.split(".")[1],
    ).exists():
        yield ReviewItem.Kind.PLATFORM_WIDE, ""


@transaction.atomic
def start_cycle(*, reviewer: Any, name: str = "") -> ReviewCycle:
    now = timezone.now()
    cycle = ReviewCycle.objects.create(
        started_by=reviewer,
        name=name.strip()[:100] or f"Q{(now.month - 1) // 3 + 1} {now.year} access review",
    )
    items = []
    for user in get_user_model().objects.filter(is_active=True, is_staff=True).order_by("username"):
        for kind, value in _grants(user):
            items.append(
                ReviewItem(
                    cycle=cycle,
                    staff=user,
                    kind=kind,
                    value=value,
                    last_used_at=_last_used(user, kind, value),
                )
            )
    ReviewItem.objects.bulk_create(items)
    record_event(
        event_type=events.WATCH_REVIEW_STARTED, actor=reviewer, entity_type="watch.ReviewCycle",
        entity_id=str(cycle.pk), details={"name": cycle.name, "grants": len(items)},
    )  # fmt: skip
    return cycle


def unused(item: ReviewItem, *, now: dt.datetime | None = None) -> bool:
    now = now or timezone.now()
    return item.last_used_at is None or item.last_used_at < now - dt.timedelta(days=UNUSED_DAYS)


@transaction.atomic
def decide(*, item: ReviewItem, reviewer: Any, revoke: bool) -> ReviewItem:
    """Confirm or revoke one grant; a reviewer never decides on their own grants."""
    item = ReviewItem.objects.select_for_update().select_related("staff").get(pk=item.pk)
    if item.staff_id == reviewer.pk:
        raise WatchError("Someone else reviews your own grants.")
    if item.decision != ReviewItem.Decision.PENDING:
        raise WatchError("This grant was already decided in this cycle.")
    if revoke:
        revoke_grant(user=item.staff, kind=item.kind, value=item.value)
    item.decision = ReviewItem.Decision.REVOKED if revoke else ReviewItem.Decision.CONFIRMED
    item.decided_by, item.decided_at = reviewer, timezone.now()
    item.save(update_fields=["decision", "decided_by", "decided_at"])
    record_event(
        event_type=events.WATCH_REVIEW_REVOKED if revoke else events.WATCH_REVIEW_CONFIRMED,
        actor=reviewer, entity_type="watch.ReviewItem", entity_id=str(item.pk),
        details={"cycle_id": item.cycle_id, "staff_id": item.staff_id, "grant": item.kind, "value": item.value},
    )  # fmt: skip
    return item


def cycle_csv(*, cycle: ReviewCycle) -> str:
    out = io.StringIO()
    writer = spreadsheet.writer(out)
    writer.writerow(CSV_HEADER)
    now = timezone.now()
    for item in cycle.items.select_related("staff", "decided_by"):
        writer.writerow(
            (
                item.staff.get_username(), item.get_kind_display(), item.value,
                item.last_used_at.isoformat() if item.last_used_at else "never",
                "yes" if unused(item, now=now) else "no", item.decision,
                item.decided_by.get_username() if item.decided_by else "",
                item.decided_at.isoformat() if item.decided_at else "",
            )
        )  # fmt: skip
    return out.getvalue()
