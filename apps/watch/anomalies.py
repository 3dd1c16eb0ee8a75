"""Built-in access anomalies over the back-office's own audit log, each with its evidence.

The scan reads our audit log incrementally (a watermark, like the rules) and raises flags:

- ``above_baseline``: a staff member's PHI views and reveals in a day (UTC) reach
  ``ANOMALY_MIN_COUNT`` and exceed ``ANOMALY_BASELINE_FACTOR`` times their own daily mean over
  the ``ANOMALY_BASELINE_DAYS`` before;
- ``no_context``: a PHI view or reveal of a record with no support context by the same person
  in the ``ANOMALY_CONTEXT_MINUTES`` before it: no other event of theirs about that record
  (a customer page, an action) and no ticket reference in the reveal's reason;
- ``off_hours``: PHI access or an export outside [``ANOMALY_WORKING_START``,
  ``ANOMALY_WORKING_END``) in ``ANOMALY_WORKING_TZ``;
- ``large_export``: an export of ``ANOMALY_EXPORT_ROWS`` rows or more, or
  ``ANOMALY_EXPORTS_PER_DAY`` exports or more by one person in a day;
- ``many_revealers``: one record revealed by ``ANOMALY_REVEALERS`` or more staff within
  ``ANOMALY_REVEALERS_DAYS`` days.

A flag is unique per kind and key (a person and a day, an export, a record), so rescanning
raises nothing twice; a flag that grows keeps its first time and moves its last.
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from apps.auditlog import events
from apps.auditlog.models import AuditEvent
from apps.core.entities import BACKOFFICE
from apps.watch.models import MIN_ID, AccessFlag, AnomalyWatermark

PHI_ACCESS = (events.PHI_VIEWED, events.PHI_REVEALED)
EXPORTS = (events.EXPORT_AUDIT, events.PHI_EXPORTED)
WATCHED = (*PHI_ACCESS, *EXPORTS)
TICKET = re.compile(r"(?i)\b(?:ticket|case|zd|jira)\s*[#:-]?\s*\d+|\b[A-Z][A-Z0-9]+-\d+\b|#\d{3,}")
WATERMARK = "anomalies"
BATCH = 5000


@dataclass
class ScanResult:
    events: int = 0
    flags: int = 0


def _evidence(actor_id: str, first: dt.datetime, last: dt.datetime, **extra: str) -> dict[str, Any]:
    return {
        "service": [BACKOFFICE],
        "actor_id": actor_id,
        "since": first.isoformat(),
        "until": last.isoformat(),
        **extra,
    }


class _Flags:
    def __init__(self) -> None:
        self.raised = 0

    def raise_flag(
        self, *, kind: str, key: str, actor_id: str, summary: str, first: dt.datetime, last: dt.datetime,
        evidence: dict[str, Any],
    ) -> None:  # fmt: skip
        flag, created = AccessFlag.objects.get_or_create(
            kind=kind,
            key=key,
            defaults={"actor_id": actor_id, "summary": summary, "first_at": first, "last_at": last,
                      "explorer_params": evidence},
        )  # fmt: skip
        if created:
            self.raised += 1
        elif last > flag.last_at or first < flag.first_at or summary != flag.summary:
            flag.first_at, flag.last_at = min(first, flag.first_at), max(last, flag.last_at)
            flag.summary = summary
            flag.explorer_params = {
                **evidence,
                "since": flag.first_at.isoformat(),
                "until": flag.last_at.isoformat(),
            }
            flag.save(update_fields=["first_at", "last_at", "summary", "explorer_params"])


def _day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime.combine(day, dt.time.min, tzinfo=dt.UTC)
    return start, start + dt.timedelta(days=1)


def _rows(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


def _check_baseline(flags: _Flags, touched: set[tuple[str, dt.date]]) -> None:
    days = settings.ANOMALY_BASELINE_DAYS
    for actor_id, day in sorted(touched):
        start, end = _day_bounds(day)
        today = AuditEvent.objects.filter(
            actor_id=actor_id, event_type__in=PHI_ACCESS, occurred_at__gte=start, occurred_at__lt=end
        )
        count = today.count()
        if count < settings.ANOMALY_MIN_COUNT:
            continue
        before = AuditEvent.objects.filter(
            actor_id=actor_id, event_type__in=PHI_ACCESS,
            occurred_at__gte=start - dt.timedelta(days=days), occurred_at__lt=start,
        ).count()  # fmt: skip
        mean = before / days
        if count > settings.ANOMALY_BASELINE_FACTOR * mean:
            first = today.order_by("occurred_at").values_list("occurred_at", flat=True).first()
            last = today.order_by("-occurred_at").values_list("occurred_at", flat=True).first()
            assert first is not None and last is not None
            flags.raise_flag(
                kind=AccessFlag.Kind.ABOVE_BASELINE,
                key=f"{actor_id}:{day.isoformat()}",
                actor_id=actor_id,
                summary=f"Staff {actor_id}: {count} PHI views/reveals on {day}, against a daily mean of "
                f"{mean:.1f} over the {days} days before.",
                first=first,
                last=last,
                evidence=_evidence(actor_id, first, last, event_type="phi."),
            )


def _has_context(event: AuditEvent) -> bool:
    if event.event_type == events.PHI_REVEALED and TICKET.search(
        str((event.details or {}).get("reason", ""))
    ):
        return True
    if not event.entity_id:
        return False
    window = dt.timedelta(minutes=settings.ANOMALY_CONTEXT_MINUTES)
    return (
        AuditEvent.objects.filter(
            actor_id=event.actor_id,
            entity_id=event.entity_id,
            occurred_at__gte=event.occurred_at - window,
            occurred_at__lte=event.occurred_at,
        )
        .exclude(event_type__startswith="phi.")
        .exists()
    )


def scan(*, now: dt.datetime | None = None, since: dt.datetime | None = None) -> ScanResult:
    """Read our audit log after the scan's watermark (first run: ``since``, default a day ago)."""
    now = now or timezone.now()
    horizon = now - dt.timedelta(seconds=settings.ALERTS_SETTLE_SECONDS)
    result = ScanResult()
    flags = _Flags()
    working_tz = zoneinfo.ZoneInfo(settings.ANOMALY_WORKING_TZ)
    with transaction.atomic():
        mark, _ = AnomalyWatermark.objects.select_for_update().get_or_create(
            name=WATERMARK,
            defaults={"position_at": since or now - dt.timedelta(days=1), "position_id": MIN_ID},
        )
        if since is not None and since < mark.position_at:
            mark.position_at, mark.position_id = since, MIN_ID
        touched: set[tuple[str, dt.date]] = set()
        off_hours: dict[tuple[str, dt.date], list[dt.datetime]] = defaultdict(list)
        no_context: dict[tuple[str, dt.date], list[AuditEvent]] = defaultdict(list)
        exports: set[tuple[str, dt.date]] = set()
        revealed: set[tuple[str, str]] = set()
        position = (mark.position_at, mark.position_id)
        while True:
            batch = list(
                AuditEvent.objects.filter(event_type__in=WATCHED, occurred_at__lte=horizon)
                .extra(where=["(occurred_at, id) > (%s, %s)"], params=list(position))
                .order_by("occurred_at", "id")[:BATCH]
            )
            for event in batch:
                result.events += 1
                day = event.occurred_at.astimezone(dt.UTC).date()
                local = event.occurred_at.astimezone(working_tz)
                if not settings.ANOMALY_WORKING_START <= local.hour < settings.ANOMALY_WORKING_END:
                    off_hours[(event.actor_id, local.date())].append(event.occurred_at)
                if event.event_type in PHI_ACCESS:
                    touched.add((event.actor_id, day))
                    if event.entity_id and not _has_context(event):
                        no_context[(event.actor_id, day)].append(event)
                if event.event_type == events.PHI_REVEALED and event.entity_id:
                    revealed.add((event.entity_type or "", event.entity_id))
                if event.event_type in EXPORTS:
                    exports.add((event.actor_id, day))
                    details = event.details or {}
                    rows = max(_rows(details.get("rows")), _rows(details.get("phi_rows")))
                    if rows >= settings.ANOMALY_EXPORT_ROWS:
                        flags.raise_flag(
                            kind=AccessFlag.Kind.LARGE_EXPORT,
                            key=f"{event.actor_id}:{event.request_id or event.id}",
                            actor_id=event.actor_id,
                            summary=f"Staff {event.actor_id} exported {rows:,} rows ({event.event_type}).",
                            first=event.occurred_at,
                            last=event.occurred_at,
                            evidence=_evidence(event.actor_id, event.occurred_at, event.occurred_at,
                                               event_type="export."),
                        )  # fmt: skip
            if batch:
                position = (batch[-1].occurred_at, batch[-1].id)
            if len(batch) < BATCH:
                break
        for (actor_id, day), times in off_hours.items():
            flags.raise_flag(
                kind=AccessFlag.Kind.OFF_HOURS,
                key=f"{actor_id}:{day.isoformat()}",
                actor_id=actor_id,
                summary=f"Staff {actor_id}: PHI access or exports outside working hours on {day} "
                f"({settings.ANOMALY_WORKING_START}:00-{settings.ANOMALY_WORKING_END}:00 {settings.ANOMALY_WORKING_TZ}).",
                first=min(times),
                last=max(times),
                evidence=_evidence(actor_id, min(times), max(times)),
            )
        for (actor_id, day), found in no_context.items():
            first, last = found[0].occurred_at, found[-1].occurred_at
            records = len({(e.entity_type, e.entity_id) for e in found})
            flags.raise_flag(
                kind=AccessFlag.Kind.NO_CONTEXT,
                key=f"{actor_id}:{day.isoformat()}",
                actor_id=actor_id,
                summary=f"Staff {actor_id}: PHI of {records} record(s) on {day} with no support context "
                "(no page, action or ticket reference about them just before).",
                first=first,
                last=last,
                evidence=_evidence(actor_id, first, last, event_type="phi."),
            )
        _check_baseline(flags, touched)
        for actor_id, day in sorted(exports):
            start, end = _day_bounds(day)
            made = AuditEvent.objects.filter(
                actor_id=actor_id, event_type__in=EXPORTS, occurred_at__gte=start, occurred_at__lt=end
            )
            count = made.values("request_id").distinct().count()
            if count >= settings.ANOMALY_EXPORTS_PER_DAY:
                flags.raise_flag(
                    kind=AccessFlag.Kind.LARGE_EXPORT,
                    key=f"{actor_id}:{day.isoformat()}:repeated",
                    actor_id=actor_id,
                    summary=f"Staff {actor_id}: {count} exports on {day}.",
                    first=start,
                    last=min(end, horizon),
                    evidence=_evidence(actor_id, start, min(end, horizon), event_type="export."),
                )
        since_revealers = horizon - dt.timedelta(days=settings.ANOMALY_REVEALERS_DAYS)
        for entity_type, entity_id in sorted(revealed):
            by = (
                AuditEvent.objects.filter(
                    event_type=events.PHI_REVEALED, entity_type=entity_type, entity_id=entity_id,
                    occurred_at__gte=since_revealers, occurred_at__lte=horizon,
                )
                .values("actor_id")
                .annotate(n=Count("id"))
            )  # fmt: skip
            staff = sorted(row["actor_id"] for row in by)
            if len(staff) >= settings.ANOMALY_REVEALERS:
                flags.raise_flag(
                    kind=AccessFlag.Kind.MANY_REVEALERS,
                    key=f"{entity_type}:{entity_id}",
                    actor_id=",".join(staff)[:500],
                    summary=f"{entity_type} {entity_id} revealed by {len(staff)} staff in "
                    f"{settings.ANOMALY_REVEALERS_DAYS} days.",
                    first=since_revealers,
                    last=horizon,
                    evidence={"service": [BACKOFFICE], "event_type": events.PHI_REVEALED,
                              "entity_type": entity_type, "entity_id": entity_id},
                )  # fmt: skip
        mark.position_at, mark.position_id = position
        mark.save()
    result.flags = flags.raised
    return result
