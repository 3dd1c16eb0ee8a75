"""Benchmark the audit export (CSV, every source) directly and through PgBouncer in transaction
mode, against the primary and against its streaming standby, side by side in one run: rows per
second (a plain run) and the peak of memory allocated while streaming (a second run under
tracemalloc, which slows Python down, so it is not timed). Run it on the large seed (`make seed-large`).

Not a test: it asserts nothing about time; it measures and reports. Needs the embedded cluster
(its standby and PgBouncer are started here) and Debian's pgbouncer (`make install-pgbouncer`).
"""

from __future__ import annotations

import time
import tracemalloc
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser
from django.test import Client, override_settings
from django.urls import reverse

from apps.core.benchmarking import require_migrated
from apps.core.db import platform_route
from backoffice import embedded

ROUTES = (
    ("primary, direct", embedded.PRIMARY, False),
    ("primary, PgBouncer", embedded.PRIMARY, True),
    ("replica, direct", embedded.REPLICA, False),
    ("replica, PgBouncer", embedded.REPLICA, True),
)


class Command(BaseCommand):
    help = (
        "Export rows/s and peak memory, direct vs through PgBouncer (transaction mode), primary vs replica."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--rows", type=int, default=1_000_000, help="Rows per export (the export's cap).")
        parser.add_argument("--runs", type=int, default=1, help="Exports per route; the best is kept.")
        parser.add_argument("--no-replica", action="store_true", help="Only the primary's two routes.")

    def handle(self, *args: Any, rows: int, runs: int, no_replica: bool, **options: Any) -> None:
        require_migrated()
        user, _ = get_user_model().objects.get_or_create(
            username="benchmark", defaults={"is_staff": True, "is_superuser": True}
        )
        client = Client()
        client.force_login(user)
        routes = [route for route in ROUTES if not (no_replica and route[1] == embedded.REPLICA)]
        self.stdout.write(
            f"CSV export of up to {rows:,} rows, every audit source; best of {runs} run(s) per route"
        )
        self.stdout.write(f"{'route':<22}{'rows':>12}{'seconds':>10}{'rows/s':>12}{'peak memory':>14}")
        results = {}
        with override_settings(ALLOWED_HOSTS=["*"]):
            for label, server, pooled in routes:
                with platform_route(server=server, pooled=pooled):
                    _export(client, 10_000)  # warm-up: connections, caches, the standby's start
                    count, seconds = min((_export(client, rows) for _ in range(runs)), key=lambda r: r[1])
                    tracemalloc.start()
                    _export(client, rows)
                    peak = tracemalloc.get_traced_memory()[1]
                    tracemalloc.stop()
                results[label] = (count, seconds)
                self.stdout.write(
                    f"{label:<22}{count:>12,}{seconds:>10.1f}{count / seconds:>12,.0f}{peak / 2**20:>11.1f} MB"
                )
        direct, pooled_ = results["primary, direct"], results["primary, PgBouncer"]
        self.stdout.write(
            f"PgBouncer / direct (primary): {(pooled_[0] / pooled_[1]) / (direct[0] / direct[1]):.2f}x rows/s"
        )


def _export(client: Client, rows: int) -> tuple[int, float]:
    """Stream one CSV export to nowhere: (rows, seconds)."""
    started = time.perf_counter()
    with override_settings(AUDIT_EXPORT_MAX_ROWS=rows):
        response = client.get(reverse("explorer:export_csv"))
        lines = sum(chunk.count(b"\n") for chunk in response)  # a streaming response iterates its content
    return lines - 1, time.perf_counter() - started
