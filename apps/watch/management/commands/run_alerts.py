"""Evaluate every active alert rule (and the access-anomaly scan): a loop, or once with --once."""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from apps.watch.alerts import evaluate_all
from apps.watch.anomalies import scan


class Command(BaseCommand):
    help = (
        "Evaluate alert rules incrementally and scan for access anomalies (a loop; --once to run one pass)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="run one pass and exit (cron, CronJob)")
        parser.add_argument("--interval", type=int, default=settings.ALERTS_INTERVAL_SECONDS)
        parser.add_argument("--no-anomalies", action="store_true", help="evaluate the rules only")

    def handle(
        self, *args: Any, once: bool = False, interval: int = 30, no_anomalies: bool = False, **options: Any
    ) -> None:
        while True:
            started = time.perf_counter()
            result = evaluate_all()
            rules_seconds = time.perf_counter() - started
            flags = 0 if no_anomalies else scan().flags
            rate = result.events / rules_seconds if rules_seconds > 0 else 0.0
            self.stdout.write(
                f"rules={result.rules} events={result.events} alerts={result.alerts} flags={flags} "
                f"rules_seconds={rules_seconds:.3f} events_per_second={rate:,.0f}"
            )
            if once:
                return
            time.sleep(max(1, interval))
