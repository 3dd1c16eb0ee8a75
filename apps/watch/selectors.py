"""Reads of the watch app: a person's inbox, the searches they may use, open flags."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from apps.access import permissions
from apps.access.roles import ROLE_NAMES
from apps.watch.models import AccessFlag, Alert, SavedSearch

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
