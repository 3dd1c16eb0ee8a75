"""Evaluating alert rules incrementally: each rule reads only the events after its watermark.

A rule is evaluated once per recipient (its owner, and the members of the role it is shared
with), each time through the explorer's ``events_after``, which applies the visibility policy
for that recipient: a rule shared with a brand-bound role only ever matches each member's
brands. The alerts, the window's hits and the new watermark commit together, so a rule fires
exactly once per matching event however often the process restarts. Email and webhook follow
the commit (at least once: a crash between sending and marking resends).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
import urllib.request
import uuid
from collections import defaultdict, deque
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import transaction
from django.http import QueryDict
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode

from apps.explorer.cursor import Position
from apps.explorer.query import AuditQuery, parse_query
from apps.explorer.selectors import AuditRow, iter_events_after
from apps.watch.models import Alert, AlertRule, RuleHit

logger = logging.getLogger(__name__)

#: The largest uuid: a watermark (t, MAX_ID) stands after every event at t.
MAX_ID = uuid.UUID(int=(1 << 128) - 1)
BATCH = 2000


def query_of(params: dict[str, Any]) -> AuditQuery:
    data = QueryDict(mutable=True)
    for key, value in params.items():
        data.setlist(key, [str(v) for v in value] if isinstance(value, list) else [str(value)])
    return parse_query(data)


def explorer_url(params: dict[str, Any]) -> str:
    return reverse("explorer:index") + ("?" + urlencode(params, doseq=True) if params else "")


def audience(rule: AlertRule) -> list[Any]:
    """Who receives a rule's alerts: its owner, and every active member of the role it is shared with."""
    owner = rule.search.owner
    people = {owner.pk: owner} if owner.is_active else {}
    if rule.search.shared_role:
        for user in get_user_model().objects.filter(groups__name=rule.search.shared_role, is_active=True):
            people.setdefault(user.pk, user)
    return [people[pk] for pk in sorted(people)]


def group_key(rule: AlertRule, row: AuditRow) -> str:
    if rule.group_by == AlertRule.GroupBy.BRAND:
        return row.brand_id or ""
    if rule.group_by == AlertRule.GroupBy.ENTITY:
        return f"{row.entity_type or ''}:{row.entity_id or ''}"
    return row.actor_id or ""


def _group_params(rule: AlertRule, key: str) -> dict[str, str]:
    if rule.group_by == AlertRule.GroupBy.BRAND:
        return {"brand": key}
    if rule.group_by == AlertRule.GroupBy.ENTITY:
        entity_type, _, entity_id = key.partition(":")
        return {"entity_type": entity_type, "entity_id": entity_id}
    return {"actor_id": key}


def _window_params(base: dict[str, Any], first: dt.datetime, last: dt.datetime) -> dict[str, Any]:
    return {**base, "since": first.isoformat(), "until": last.isoformat()}


@dataclass
class Evaluation:
    rules: int = 0
    events: int = 0  # matching events read, summed over recipients
    alerts: int = 0


def _stream(rule: AlertRule, query: AuditQuery, user: Any, horizon: dt.datetime) -> Iterator[AuditRow]:
    after = Position(rule.watermark_at, rule.watermark_id)
    # Alerts carry keys, counts and a link, never details: none are read, so none need masking.
    return iter_events_after(query=query, user=user, after=after, until=horizon, chunk=BATCH, details=False)


def _evaluate_any(
    rule: AlertRule, query: AuditQuery, user: Any, horizon: dt.datetime, out: Evaluation
) -> list[Alert]:
    alerts = []
    base = rule.search.params
    for row in _stream(rule, query, user, horizon):
        out.events += 1
        alerts.append(
            Alert(
                rule=rule,
                recipient=user,
                first_at=row.occurred_at,
                last_at=row.occurred_at,
                event_source=row.source,
                event_id=row.id,
                explorer_params=_window_params(
                    {**base, "service": [row.source]}, row.occurred_at, row.occurred_at
                ),
            )
        )
    return alerts


def _evaluate_threshold(
    rule: AlertRule, query: AuditQuery, user: Any, horizon: dt.datetime, out: Evaluation
) -> tuple[list[Alert], list[RuleHit]]:
    window = dt.timedelta(minutes=rule.window_minutes)
    hits: dict[str, deque[dt.datetime]] = defaultdict(deque)
    for key, at in (
        RuleHit.objects.filter(rule=rule, recipient=user)
        .order_by("occurred_at")
        .values_list("group_key", "occurred_at")
    ):
        hits[key].append(at)
    last_fired: dict[str, dt.datetime] = {}
    for key, at in (
        Alert.objects.filter(rule=rule, recipient=user)
        .order_by("last_at")
        .values_list("group_key", "last_at")
    ):
        last_fired[key] = at
    alerts: list[Alert] = []
    new_hits: list[RuleHit] = []
    base = rule.search.params
    for row in _stream(rule, query, user, horizon):
        out.events += 1
        key = group_key(rule, row)
        times = hits[key]
        times.append(row.occurred_at)
        new_hits.append(RuleHit(rule=rule, recipient=user, group_key=key, occurred_at=row.occurred_at))
        while times and times[0] <= row.occurred_at - window:
            times.popleft()
        fired = last_fired.get(key)
        # Once per episode: a group fires again only after a whole window without an alert.
        if len(times) > rule.threshold and (fired is None or fired <= row.occurred_at - window):
            last_fired[key] = row.occurred_at
            alerts.append(
                Alert(
                    rule=rule,
                    recipient=user,
                    group_key=key,
                    count=len(times),
                    first_at=times[0],
                    last_at=row.occurred_at,
                    explorer_params=_window_params(
                        {**base, **_group_params(rule, key)}, times[0], row.occurred_at
                    ),
                )
            )
    return alerts, new_hits


def evaluate_rule(*, rule: AlertRule, now: dt.datetime | None = None) -> Evaluation:
    """Read the rule's new events up to a settled horizon, raise its alerts, move its watermark."""
    now = now or timezone.now()
    horizon = now - dt.timedelta(seconds=settings.ALERTS_SETTLE_SECONDS)
    out = Evaluation(rules=1)
    if horizon <= rule.watermark_at:
        return out
    query = query_of(rule.search.params)
    with transaction.atomic():
        rule = AlertRule.objects.select_for_update().select_related("search__owner").get(pk=rule.pk)
        alerts: list[Alert] = []
        hits: list[RuleHit] = []
        for user in audience(rule):
            if rule.kind == AlertRule.Kind.ANY:
                alerts += _evaluate_any(rule, query, user, horizon, out)
            else:
                found, new_hits = _evaluate_threshold(rule, query, user, horizon, out)
                alerts += found
                hits += new_hits
        Alert.objects.bulk_create(alerts, ignore_conflicts=True)
        RuleHit.objects.bulk_create(hits)
        RuleHit.objects.filter(
            rule=rule, occurred_at__lte=horizon - dt.timedelta(minutes=rule.window_minutes)
        ).delete()
        rule.watermark_at, rule.watermark_id, rule.evaluated_at = horizon, MAX_ID, now
        rule.save(update_fields=["watermark_at", "watermark_id", "evaluated_at"])
        out.alerts = len(alerts)
    return out


def evaluate_all(*, now: dt.datetime | None = None) -> Evaluation:
    total = Evaluation()
    for rule in AlertRule.objects.filter(active=True).select_related("search__owner"):
        result = evaluate_rule(rule=rule, now=now)
        total.rules += 1
        total.events += result.events
        total.alerts += result.alerts
    notify_pending()
    return total


def _payload(alert: Alert) -> dict[str, Any]:
    return {
        "alert_id": alert.pk,
        "rule": str(alert.rule),
        "rule_id": alert.rule_id,
        "group": alert.group_key,
        "count": alert.count,
        "first_at": alert.first_at.isoformat(),
        "last_at": alert.last_at.isoformat(),
        "url": settings.BACKOFFICE_BASE_URL + explorer_url(alert.explorer_params),
    }


def notify_pending() -> None:
    """Email and webhook for alerts not yet sent: nothing but the rule, counts and a link (no
    event details, so nothing the policy masks can travel)."""
    pending = Alert.objects.select_related("rule__search", "recipient").filter(
        rule__email=True, emailed_at__isnull=True
    )
    for alert in pending[:500]:
        if alert.recipient.email:
            payload = _payload(alert)
            send_mail(
                subject=f"[back-office alert] {alert.rule.search.name}: {alert.count} matching event(s)",
                message=f"{payload['rule']}\n{alert.count} matching event(s) from {payload['first_at']} "
                f"to {payload['last_at']}.\nSee them in the audit explorer: {payload['url']}\n",
                from_email=settings.ALERTS_FROM_EMAIL,
                recipient_list=[alert.recipient.email],
            )
        Alert.objects.filter(pk=alert.pk).update(emailed_at=timezone.now())
    hooked = (
        Alert.objects.select_related("rule__search")
        .filter(webhook_at__isnull=True)
        .exclude(rule__webhook_url="")
    )
    for alert in hooked[:500]:
        body = json.dumps(_payload(alert)).encode()
        request = urllib.request.Request(alert.rule.webhook_url, data=body, method="POST")  # noqa: S310 - an https URL a staff member configured
        request.add_header("Content-Type", "application/json")
        if settings.ALERT_WEBHOOK_SECRET:
            digest = hmac.new(settings.ALERT_WEBHOOK_SECRET.encode(), body, hashlib.sha256).hexdigest()
            request.add_header("X-Signature", f"sha256={digest}")
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
                response.read()
        except OSError as exc:
            logger.warning("alert webhook failed for alert %s: %s", alert.pk, exc)
            continue
        Alert.objects.filter(pk=alert.pk).update(webhook_at=timezone.now())
