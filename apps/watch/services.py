"""Writes of the watch app: saving searches, making rules, reading alerts, dismissing flags."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils import timezone

from apps.access.roles import ROLE_NAMES
from apps.auditlog import events
from apps.auditlog.services import record_event
from apps.explorer.query import AuditQuery
from apps.watch.models import MIN_ID, AccessFlag, Alert, AlertRule, SavedSearch


class WatchError(ValueError):
    """A request the watch app refuses; the message says why."""


def save_search(*, owner: Any, name: str, query: AuditQuery, shared_role: str = "") -> SavedSearch:
    name = name.strip()
    if not name:
        raise WatchError("A saved search needs a name.")
    if shared_role and shared_role not in ROLE_NAMES:
        raise WatchError(f"Unknown role {shared_role!r}. Known: {', '.join(ROLE_NAMES)}.")
    params = {k: v for k, v in query.as_params().items()}
    search = SavedSearch.objects.create(owner=owner, name=name[:200], params=params, shared_role=shared_role)
    record_event(
        event_type=events.WATCH_SEARCH_SAVED,
        actor=owner,
        entity_type="watch.SavedSearch",
        entity_id=str(search.pk),
        details={"name": search.name, "shared_role": shared_role, "filters": params},
    )
    return search


def create_rule(
    *,
    search: SavedSearch,
    actor: Any,
    kind: str = AlertRule.Kind.ANY,
    threshold: int = 0,
    window_minutes: int = 60,
    group_by: str = AlertRule.GroupBy.ACTOR,
    email: bool = True,
    webhook_url: str = "",
    start_at: dt.datetime | None = None,
) -> AlertRule:
    """A rule over a saved search; it watches events from ``start_at`` (default: now), never history."""
    if kind not in AlertRule.Kind.values:
        raise WatchError(f"Unknown rule kind {kind!r}.")
    if group_by not in AlertRule.GroupBy.values:
        raise WatchError(f"Unknown grouping {group_by!r}.")
    if kind == AlertRule.Kind.THRESHOLD and window_minutes < 1:
        raise WatchError("A threshold rule needs a window of at least one minute.")
    rule = AlertRule.objects.create(
        search=search,
        kind=kind,
        threshold=threshold,
        window_minutes=window_minutes,
        group_by=group_by,
        email=email,
        webhook_url=webhook_url,
        watermark_at=start_at or timezone.now(),
        watermark_id=MIN_ID,
    )
    record_event(
        event_type=events.WATCH_RULE_CREATED,
        actor=actor,
        entity_type="watch.AlertRule",
        entity_id=str(rule.pk),
        details={"search_id": search.pk, "kind": kind, "threshold": threshold, "window_minutes": window_minutes,
                 "group_by": group_by},
    )  # fmt: skip
    return rule


def mark_read(*, user: Any, alert_ids: list[int]) -> int:
    return Alert.objects.filter(recipient=user, pk__in=alert_ids, read_at__isnull=True).update(
        read_at=timezone.now()
    )


def dismiss_flag(*, flag: AccessFlag, user: Any, reason: str) -> AccessFlag:
    reason = reason.strip()
    if not reason:
        raise WatchError("Say why the flag is dismissed.")
    with transaction.atomic():
        flag = AccessFlag.objects.select_for_update().get(pk=flag.pk)
        if flag.dismissed_at is not None:
            raise WatchError("This flag was already dismissed.")
        flag.dismissed_at, flag.dismissed_by, flag.dismiss_reason = timezone.now(), user, reason[:2000]
        flag.save(update_fields=["dismissed_at", "dismissed_by", "dismiss_reason"])
        record_event(
            event_type=events.WATCH_FLAG_DISMISSED,
            actor=user,
            entity_type="watch.AccessFlag",
            entity_id=str(flag.pk),
            details={"kind": flag.kind, "staff_id": flag.actor_id, "reason": flag.dismiss_reason},
        )
    return flag
