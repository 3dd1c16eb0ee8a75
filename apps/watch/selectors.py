"""Reads of the watch app: a person's inbox, the searches they may use, open flags."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode

from apps.access import permissions
from apps.access.roles import ROLE_NAMES
from apps.auditlog import events
from apps.auditlog.models import AuditEvent
from apps.core.entities import BACKOFFICE
from apps.watch.models import AccessFlag, Alert, ReviewCycle, ReviewItem, SavedSearch

INBOX_ROWS = 100


def inbox(*, user: Any, limit: int = INBOX_ROWS) -> list[Alert]:
    return list(Alert.objects.filter(recipient=user).select_related("rule__search")[:limit])


def unread_count(*, user: Any) -> int:
    return Alert.objects.filter(recipient=user, read_at__isnull=True).count()


def searches_for(*, user: Any) -> QuerySet[SavedSearch]:
    """A person's own searches and those shared with a role they hold."""
    roles = set(ROLE_NAMES) if user.is_superuser else set(user.groups.values_list("name", flat=True))
    return (
        SavedSearch.objects.filter(Q(owner=user) | Q(shared_role__in=sorted(roles) or ["-"]))
        .select_related("owner")
        .prefetch_related("rules")
    )


def may_see_flags(user: Any) -> bool:
    return user.has_perm(permissions.VIEW_BACKOFFICE_AUDIT)


def open_flags(*, limit: int = INBOX_ROWS) -> list[AccessFlag]:
    return list(AccessFlag.objects.filter(dismissed_at__isnull=True)[:limit])


def open_flag_count() -> int:
    return AccessFlag.objects.filter(dismissed_at__isnull=True).count()


def today_start() -> dt.datetime:
    return timezone.now().astimezone(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)


@dataclass
class WatchSummary:
    """The dashboard's watch section: alerts for everyone, flags and today's PHI traffic for compliance."""

    unread_alerts: int
    inbox_url: str
    open_flags: list[AccessFlag] | None = None  # None: not this person's to see
    open_flag_count: int = 0
    flags_url: str = ""
    reveals_today: str = "0"  # capped: "1,000+" rather than a COUNT over an audit table
    exports_today: str = "0"
    reveals_url: str = ""
    exports_url: str = ""
    review: Any = None  # the latest access review cycle (superusers)
    review_decided: int = 0
    review_total: int = 0
    review_url: str = ""


TODAY_CAP = 1000


def _capped(queryset: QuerySet) -> str:
    """How many rows, read (never counted) up to a cap: the dashboard never counts an audit table."""
    found = len(queryset.values_list("id", flat=True)[: TODAY_CAP + 1])
    return f"{TODAY_CAP:,}+" if found > TODAY_CAP else str(found)


def summary(*, user: Any, flags: int = 5) -> WatchSummary:
    """Cheap, bounded reads: counts over our own small tables and one UTC day of our audit log."""
    board = WatchSummary(unread_alerts=unread_count(user=user), inbox_url=reverse("watch:inbox"))
    if may_see_flags(user):
        start = today_start()
        board.open_flags = open_flags(limit=flags)
        board.open_flag_count = open_flag_count()
        board.flags_url = reverse("watch:flags")
        today = AuditEvent.objects.filter(occurred_at__gte=start)
        board.reveals_today = _capped(today.filter(event_type=events.PHI_REVEALED))
        board.exports_today = _capped(today.filter(event_type=events.EXPORT_AUDIT))
        explorer = reverse("explorer:index")
        common = {"service": BACKOFFICE, "since": start.date().isoformat()}
        board.reveals_url = explorer + "?" + urlencode({**common, "event_type": events.PHI_REVEALED})
        board.exports_url = explorer + "?" + urlencode({**common, "event_type": "export."})
    if user.is_superuser:
        board.review = ReviewCycle.objects.first()
        if board.review is not None:
            items = board.review.items.all()
            board.review_total = items.count()
            board.review_decided = items.exclude(decision=ReviewItem.Decision.PENDING).count()
            board.review_url = reverse("watch:review", args=[board.review.pk])
    return board
