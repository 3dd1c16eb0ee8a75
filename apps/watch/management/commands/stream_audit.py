"""Stream the back-office audit log and alerts to the configured SIEM sinks: a loop, or --once."""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.watch.stream import DeliveryError, configured_sinks, deliver


class Command(BaseCommand):
    help = "Deliver audit events and alerts to AUDIT_STREAM_URL / AUDIT_STREAM_SYSLOG (a loop; --once)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="deliver what is pending and exit")
        parser.add_argument("--max-attempts", type=int, default=None,
                            help="with --once: give up after this many failures in a row (exit 1)")  # fmt: skip

    def handle(self, *args: Any, once: bool = False, max_attempts: int | None = None, **options: Any) -> None:
        sinks = configured_sinks()
        if not sinks:
            raise CommandError(
                "No sink configured: set AUDIT_STREAM_URL (and AUDIT_STREAM_SECRET) or AUDIT_STREAM_SYSLOG."
            )
        if settings.AUDIT_STREAM_URL and not settings.AUDIT_STREAM_SECRET:
            raise CommandError("AUDIT_STREAM_URL needs AUDIT_STREAM_SECRET to sign its batches.")
        while True:
            for sink in sinks:
                started = time.perf_counter()
                try:
                    result = deliver(sink=sink, max_attempts=max_attempts if once else None)
                except DeliveryError as exc:
                    raise CommandError(
                        f"{sink.name}: gave up after {max_attempts} failed attempts: {exc}"
                    ) from exc
                seconds = time.perf_counter() - started
                rate = result.delivered / seconds if seconds > 0 else 0.0
                self.stdout.write(
                    f"sink={sink.name} delivered={result.delivered} retries={result.failures} "
                    f"seconds={seconds:.3f} events_per_second={rate:,.0f}"
                )
            if once:
                return
            time.sleep(settings.AUDIT_STREAM_INTERVAL_SECONDS)
