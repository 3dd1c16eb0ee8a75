"""Alert rules over the explorer's filters: incremental, exactly once, grouped thresholds, policy-bound."""

from __future__ import annotations

import datetime as dt
import io
import uuid

import pytest
from django.core import mail
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from apps.auditlog.models import AuditEvent
from apps.explorer.query import AuditQuery
from apps.watch.alerts import evaluate_all
from apps.watch.models import Alert
from apps.watch.services import create_rule, save_search

pytestmark = pytest.mark.django_db(databases="__all__")


@pytest.fixture(autouse=True)
def settled(settings):
    settings.ALERTS_SETTLE_SECONDS = 0  # events here are committed before they are evaluated


def run_alerts() -> str:
    out = io.StringIO()
    call_command("run_alerts", "--once", "--no-anomalies", stdout=out)
    return out.getvalue()


def ours(event_type: str, *, at: dt.datetime, actor_id: str = "7", brand_id: str = "capri") -> AuditEvent:
    return AuditEvent.objects.create(
        occurred_at=at, actor_type="staff", actor_id=actor_id, event_type=event_type, brand_id=brand_id,
        entity_type="probe", entity_id=str(uuid.uuid4()),
    )  # fmt: skip


@pytest.fixture
def officer(make_staff):
    client = make_staff("compliance")
    client.user.email = "officer@example.test"
    client.user.save()
    return client


def test_run_alerts_fires_exactly_once_per_new_matching_event_across_restarts(officer):
    now = timezone.now()
    probe = f"probe.{uuid.uuid4().hex[:8]}"
    search = save_search(
        owner=officer.user, name="probes", query=AuditQuery(event_type=probe, services=("backoffice",))
    )
    ours(probe, at=now - dt.timedelta(hours=2))  # history before the rule: never read
    create_rule(search=search, actor=officer.user, start_at=now - dt.timedelta(hours=1))
    first = [ours(probe, at=now - dt.timedelta(minutes=m)) for m in (30, 20, 10)]
    ours("probe.other", at=now - dt.timedelta(minutes=15))

    output = run_alerts()
    assert "events=3 alerts=3" in output
    assert "events_per_second=" in output
    assert "events=0 alerts=0" in run_alerts()  # a restart reads nothing again

    later = [ours(probe, at=timezone.now()) for _ in range(2)]
    run_alerts()
    run_alerts()
    alerts = Alert.objects.filter(recipient=officer.user)
    assert sorted(a.event_id for a in alerts) == sorted(e.id for e in first + later)
    assert len(mail.outbox) == 5
    assert "/audit/?" in mail.outbox[0].body


def test_grouped_threshold_fires_at_n_plus_one_not_n(officer):
    start = timezone.now() - dt.timedelta(hours=2)
    kind = f"probe.{uuid.uuid4().hex[:8]}"
    search = save_search(owner=officer.user, name="bursts", query=AuditQuery(event_type=kind))
    rule = create_rule(
        search=search, actor=officer.user, kind="threshold", threshold=3, window_minutes=10,
        group_by="actor", start_at=start,
    )  # fmt: skip

    def at(minute):
        return start + dt.timedelta(minutes=minute)

    for minute in (5, 6, 7):
        ours(kind, at=at(minute), actor_id="a")
        ours(kind, at=at(minute), actor_id="b")
    evaluate_all(now=at(8))
    assert not Alert.objects.filter(rule=rule).exists()  # N events: nothing

    ours(kind, at=at(9), actor_id="a")  # N+1 for actor a only, in the next pass (the window survives)
    evaluate_all(now=at(10))
    (alert,) = Alert.objects.filter(rule=rule)
    assert (alert.group_key, alert.count) == ("a", 4)
    assert alert.explorer_params["actor_id"] == "a"

    ours(kind, at=at(11), actor_id="a")  # the same episode: no second alert
    ours(kind, at=at(30), actor_id="b")  # b's earlier events have left the window
    evaluate_all(now=at(31))
    assert Alert.objects.filter(rule=rule).count() == 1


def test_shared_rule_matches_only_each_members_brands(officer, make_staff, cluster_admin):
    start = timezone.now() - dt.timedelta(minutes=5)
    kind = f"order.probe_{uuid.uuid4().hex[:8]}"
    capri_manager = make_staff("brand_manager", brands=("capri",))
    loop_manager = make_staff("brand_manager", brands=("loop",))
    search = save_search(
        owner=officer.user,
        name="commerce probes",
        query=AuditQuery(event_type=kind),
        shared_role="brand_manager",
    )
    create_rule(search=search, actor=officer.user, start_at=start)
    ids = {}
    for brand in ("capri", "loop"):
        ids[brand] = uuid.uuid4()
        cluster_admin.execute(
            "INSERT INTO commerce.audit_log (id, occurred_at, actor_type, actor_id, event_type, brand_id) "
            "VALUES (%s, now() - interval '1 minute', 'user', 'x', %s, %s)",
            [ids[brand], kind, brand],
        )
    cluster_admin.commit()
    run_alerts()

    def seen(client):
        return {a.event_id for a in Alert.objects.filter(recipient=client.user)}

    assert seen(capri_manager) == {ids["capri"]}
    assert seen(loop_manager) == {ids["loop"]}
    assert seen(officer) == {ids["capri"], ids["loop"]}


def test_inbox_lists_the_persons_alerts_with_links_to_the_events(officer, make_staff):
    other = make_staff("support")
    probe = f"probe.{uuid.uuid4().hex[:8]}"
    search = save_search(owner=officer.user, name="my probe watch", query=AuditQuery(event_type=probe))
    create_rule(search=search, actor=officer.user, start_at=timezone.now() - dt.timedelta(minutes=5))
    ours(probe, at=timezone.now() - dt.timedelta(minutes=1))
    run_alerts()
    html = officer.get(reverse("watch:inbox")).content.decode()
    assert "my probe watch" in html
    assert f"event_type={probe}" in html
    assert "my probe watch" not in other.get(reverse("watch:inbox")).content.decode()


def test_new_search_page_saves_a_filter_with_a_rule(officer):
    response = officer.post(
        reverse("watch:new_search") + "?event_type=phi.revealed",
        {"event_type": "phi.revealed", "name": "reveals", "kind": "threshold", "threshold": "5",
         "window_minutes": "10", "group_by": "actor", "email": "on"},
    )  # fmt: skip
    assert response.status_code == 302
    rule = Alert.rule.field.related_model.objects.get(search__name="reveals")
    assert (rule.kind, rule.threshold, rule.search.params) == ("threshold", 5, {"event_type": "phi.revealed"})
    assert AuditEvent.objects.filter(event_type="watch.rule_created", actor_id=str(officer.user.pk)).exists()
