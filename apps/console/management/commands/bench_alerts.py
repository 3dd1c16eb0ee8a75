"""Benchmark alert-rule evaluation on whatever cluster the settings point at (run it on the large
seed): temporary rules watch from ``--since`` so one pass reads that much history, as a backlog
would. Prints events per second for a grouped threshold rule and an "any event" rule; asserts
nothing about time; deletes its rules (and their alerts) afterwards."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.access.services import assign_role
from apps.core.benchmarking import require_migrated
from apps.explorer.query import AuditQuery
from apps.watch.alerts import evaluate_rule
from apps.watch.models import SavedSearch
from apps.watch.services import create_rule, save_search

NAME = "bench_alerts (temporary)"


class Command(BaseCommand):
    help = "Measure alert-rule evaluation throughput (events per second)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--since", default="2000-01-01", help="how far back the temporary rules start")
        parser.add_argument(
            "--user", default=None,
            help="the rules' owner (its visibility applies); default: a 'bench-alerts' compliance officer",
        )  # fmt: skip
        parser.add_argument("--any-event-type", default="order.*", help="the 'any event' rule's event type")

    def handle(self, *args: Any, since: str, user: str | None, any_event_type: str, **options: Any) -> None:
        require_migrated()
        if user is None:  # works on a fresh clone: no demo accounts needed
            owner, _ = get_user_model().objects.get_or_create(username="bench-alerts")
            assign_role(user=owner, role="compliance", brands=(), platform_wide=True)
        else:
            found = get_user_model().objects.filter(username=user).first()
            if found is None:
                raise CommandError(f"No staff member {user!r}.")
            owner = found
        start = dt.datetime.fromisoformat(since).replace(tzinfo=dt.UTC)
        cases: tuple[tuple[str, AuditQuery, dict[str, Any]], ...] = (
            ("threshold, every event, by actor", AuditQuery(), {"kind": "threshold", "threshold": 10**9}),
            (f"any {any_event_type}", AuditQuery(event_type=any_event_type), {}),
        )
        try:
            for label, query, options_ in cases:
                search = save_search(owner=owner, name=NAME, query=query)
                rule = create_rule(search=search, actor=owner, start_at=start, email=False, **options_)
                began = time.perf_counter()
                result = evaluate_rule(rule=rule)
                seconds = time.perf_counter() - began
                self.stdout.write(
                    f"{label:<36} events={result.events:>10,} alerts={result.alerts:>8,} "
                    f"seconds={seconds:8.2f} events/s={result.events / seconds:>10,.0f}"
                )
        finally:
            SavedSearch.objects.filter(name=NAME).delete()
