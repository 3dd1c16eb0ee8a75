"""Access anomalies: seeded suspicious behaviour raises the expected flags, normal behaviour none."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.auditlog import events
from apps.auditlog.models import AuditEvent
from apps.watch.anomalies import scan
from apps.watch.models import AccessFlag

pytestmark = pytest.mark.django_db(databases="__all__")


def event(
    event_type, *, actor, at, entity_type="clinical.Patient", entity_id=None, details=None, request_id=None
):
    return AuditEvent.objects.create(
        occurred_at=at, actor_type="staff", actor_id=str(actor), event_type=event_type, brand_id="capri",
        entity_type=entity_type, entity_id=entity_id, details=details, request_id=request_id,
    )  # fmt: skip


@pytest.fixture
def yesterday():
    return (
        (timezone.now() - dt.timedelta(days=1))
        .astimezone(dt.UTC)
        .replace(hour=0, minute=0, second=0, microsecond=0)
    )


def seed_normal(yesterday, actor="normal-1"):
    """Support context first (an action about the record, or a ticket in the reason), in office hours."""
    for n in range(3):
        at = yesterday.replace(hour=10) + dt.timedelta(minutes=20 * n)
        event(events.SERVICE_ACTION_REQUESTED, actor=actor, at=at, entity_id=f"n-{n}")
        event(events.PHI_VIEWED, actor=actor, at=at + dt.timedelta(minutes=2), entity_id=f"n-{n}")
    event(events.PHI_REVEALED, actor=actor, at=yesterday.replace(hour=14), entity_id="n-9",
          details={"reason": "Ticket #48213: patient asked for a copy"})  # fmt: skip
    event(events.EXPORT_AUDIT, actor=actor, at=yesterday.replace(hour=15), entity_type="audit_log",
          details={"rows": 120}, request_id="r-normal-export")  # fmt: skip


def seed_suspicious(yesterday, actor="night-1"):
    """30 patients revealed in ten minutes at 3 a.m., no customer search or action before."""
    for n in range(30):
        at = yesterday.replace(hour=3) + dt.timedelta(seconds=20 * n)
        event(events.PHI_REVEALED, actor=actor, at=at, entity_id=f"p-{n}", details={"reason": "checking"})


def flags_of(actor):
    return set(AccessFlag.objects.filter(actor_id=actor).values_list("kind", flat=True))


def test_scan_flags_the_night_reveal_spree_and_not_normal_work(yesterday):
    seed_normal(yesterday)
    seed_suspicious(yesterday)
    result = scan(since=yesterday)
    assert flags_of("night-1") == {"above_baseline", "no_context", "off_hours"}
    assert flags_of("normal-1") == set()
    assert result.flags == 3
    assert scan().flags == 0  # a rescan raises nothing twice
    assert AccessFlag.objects.count() == 3


def test_scan_flags_large_and_repeated_exports_and_many_revealers(yesterday, settings):
    settings.ANOMALY_EXPORT_ROWS = 1000
    at = yesterday.replace(hour=11)
    event(
        events.EXPORT_AUDIT,
        actor="exp-1",
        at=at,
        entity_type="audit_log",
        details={"rows": 5000},
        request_id="big",
    )
    for n in range(settings.ANOMALY_EXPORTS_PER_DAY):
        event(events.EXPORT_AUDIT, actor="exp-2", at=at + dt.timedelta(minutes=n), entity_type="audit_log",
              details={"rows": 10}, request_id=f"small-{n}")  # fmt: skip
    for staff in ("r-1", "r-2", "r-3"):
        event(events.PHI_REVEALED, actor=staff, at=at, entity_id="famous", details={"reason": "CASE-1234"})
    scan(since=yesterday)
    assert flags_of("exp-1") == {"large_export"}
    assert flags_of("exp-2") == {"large_export"}
    (many,) = AccessFlag.objects.filter(kind="many_revealers")
    assert many.actor_id == "r-1,r-2,r-3"
    assert many.explorer_params["entity_id"] == "famous"


def test_flag_dismissed_with_a_reason_is_logged_and_leaves_the_list(yesterday, make_staff):
    seed_suspicious(yesterday)
    scan(since=yesterday)
    officer = make_staff("compliance")
    page = officer.get(reverse("watch:flags")).content.decode()
    assert "night-1" in page and "actor_id=night-1" in page  # the evidence, one click away
    flag = AccessFlag.objects.get(kind="off_hours")
    assert officer.post(reverse("watch:dismiss", args=[flag.pk]), {"reason": ""}).status_code == 302
    flag.refresh_from_db()
    assert flag.dismissed_at is None  # a reason is required
    officer.post(reverse("watch:dismiss", args=[flag.pk]), {"reason": "on-call incident INC-7"})
    flag.refresh_from_db()
    assert flag.dismiss_reason == "on-call incident INC-7"
    logged = AuditEvent.objects.get(event_type=events.WATCH_FLAG_DISMISSED)
    assert logged.details["reason"] == "on-call incident INC-7"
    assert logged.actor_id == str(officer.user.pk)
    assert f"/watch/flags/{flag.pk}/dismiss/" not in officer.get(reverse("watch:flags")).content.decode()


def test_flags_page_is_for_compliance_only(make_staff):
    assert make_staff("support").get(reverse("watch:flags")).status_code == 403


def test_compliance_dashboard_shows_open_flags_and_todays_reveals(yesterday, make_staff):
    seed_suspicious(yesterday)
    scan(since=yesterday)
    event(
        events.PHI_REVEALED, actor="today-1", at=timezone.now(), entity_id="t-1", details={"reason": "CASE-9"}
    )
    html = make_staff("compliance").get(reverse("admin:index")).content.decode()
    assert "Open access flags</a>: 3" in html
    assert "reveals today</a>: 1" in html
    assert "outside working hours" in html
    support = make_staff("support").get(reverse("admin:index")).content.decode()
    assert "Your alerts</a>: 0 unread" in support and "Open access flags" not in support
