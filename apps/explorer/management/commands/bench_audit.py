"""Benchmark the audit explorer against the stock Django admin and bare SQL, on whatever cluster
the settings point at (run it on the large seed: `make seed-large`). Prints medians and ratios.

Not a test: it asserts nothing about time; it measures and reports.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import psutil
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connections
from django.test import Client, override_settings
from django.urls import include, path, reverse

from apps.commerce.models import AuditLog as CommerceAuditLog
from apps.core.benchmarking import median_ms, require_migrated
from apps.explorer import selectors
from apps.explorer.cursor import Position, encode
from apps.explorer.query import AuditQuery
from backoffice.databases import alias_for_schema

stock_site = admin.AdminSite(name="stock")


class StockAuditAdmin(admin.ModelAdmin[CommerceAuditLog]):
    """What `admin.site.register(AuditLog)` with the obvious options gives: counts, offsets, DISTINCT."""

    list_display = (
        "occurred_at",
        "event_type",
        "actor_type",
        "actor_id",
        "brand_id",
        "entity_type",
        "entity_id",
    )
    list_filter = ("brand_id", "actor_type")
    search_fields = ("=actor_id", "=request_id")
    list_per_page = 50


stock_site.register(CommerceAuditLog, StockAuditAdmin)

urlpatterns = [
    path("stock-admin/", stock_site.urls),
    path("", include("backoffice.urls")),
]


class Command(BaseCommand):
    help = "Benchmark the audit explorer vs the stock admin vs bare SQL (medians, ratios, export throughput)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--runs", type=int, default=7)
        parser.add_argument("--deep-page", type=int, default=1000)
        parser.add_argument("--export-rows", type=int, default=1_000_000)

    def handle(self, *args: Any, runs: int, deep_page: int, export_rows: int, **options: Any) -> None:
        require_migrated()
        with override_settings(ROOT_URLCONF=__name__, ALLOWED_HOSTS=["*"], AUDIT_EXPORT_MAX_ROWS=export_rows):
            self._run(runs=runs, deep_page=deep_page, export_rows=export_rows)

    def _run(self, *, runs: int, deep_page: int, export_rows: int) -> None:
        user, _ = get_user_model().objects.get_or_create(
            username="benchmark", defaults={"is_staff": True, "is_superuser": True}
        )
        client = Client()
        client.force_login(user)
        sql = connections[alias_for_schema("commerce")]
        with sql.cursor() as cursor:
            cursor.execute(
                "SELECT actor_id, request_id FROM commerce.audit_log WHERE actor_type = 'user' "
                "AND request_id IS NOT NULL ORDER BY occurred_at DESC LIMIT 1"
            )
            actor_id, request_id = cursor.fetchone()
        self.stdout.write(f"actor_id={actor_id} request_id={request_id}")

        # The position after (deep_page - 1) pages, found by walking big pages through the selector.
        position: Position | None = None
        walked = 0
        target = (deep_page - 1) * selectors.PAGE_SIZE
        while walked < target:
            step = min(5000, target - walked)
            page = selectors.audit_page(query=AuditQuery(), user=user, after=position, limit=step)
            position, walked = page.rows[-1].position, walked + len(page.rows)
        if position is None:
            raise CommandError("--deep-page must be 2 or more: the deep page is one past the first.")
        deep_cursor = encode(position)

        def get(url: str, params: dict[str, Any] | None = None) -> Callable[[], Any]:
            def run() -> None:
                response = client.get(url, params or {})
                assert response.status_code == 200, (url, response.status_code)

            return run

        def bare(query: str, params: list[Any]) -> Callable[[], Any]:
            def run() -> None:
                with sql.cursor() as cursor:
                    cursor.execute(query, params)
                    cursor.fetchall()

            return run

        base = (
            "SELECT id, occurred_at, actor_type, actor_id, actor_brand_id, event_type, entity_type, entity_id, "
            "brand_id, request_id, details FROM commerce.audit_log"
        )
        order = "ORDER BY occurred_at DESC, id DESC LIMIT 50"
        explorer = reverse("explorer:index")
        stock = reverse("stock:commerce_auditlog_changelist")
        cases = [
            ("first page, no filter", get(explorer), get(stock), bare(f"{base} {order}", [])),
            ("first page, brand=capri", get(explorer, {"brand": "capri"}), get(stock, {"brand_id": "capri"}),
             bare(f"{base} WHERE brand_id = %s {order}", ["capri"])),
            ("first page, actor", get(explorer, {"actor_id": actor_id}), get(stock, {"q": actor_id}),
             bare(f"{base} WHERE actor_id = %s {order}", [actor_id])),
            ("first page, request_id", get(explorer, {"request_id": request_id}), get(stock, {"q": request_id}),
             bare(f"{base} WHERE request_id = %s {order}", [request_id])),
            (f"page {deep_page}, no filter", get(explorer, {"cursor": deep_cursor}), get(stock, {"p": deep_page}),
             bare(f"{base} WHERE (occurred_at, id) < (%s, %s) {order}", [position.occurred_at, position.id])),
        ]  # fmt: skip
        self.stdout.write(
            f"\nmedians of {runs} runs (ms); explorer reads 24 audit logs, stock admin and SQL one"
        )
        self.stdout.write(
            f"{'question':<28}{'explorer':>10}{'stock admin':>13}{'bare SQL':>10}{'stock/expl':>12}{'expl/SQL':>10}"
        )
        results = {}
        for label, ours, theirs, floor in cases:
            a, b, c = median_ms(ours, runs), median_ms(theirs, max(3, runs // 2)), median_ms(floor, runs)
            results[label] = a
            self.stdout.write(f"{label:<28}{a:>10.1f}{b:>13.1f}{c:>10.2f}{b / a:>11.1f}x{a / c:>9.0f}x")
        first = results["first page, no filter"]
        self.stdout.write(
            f"page {deep_page} / page 1 (explorer): {results[f'page {deep_page}, no filter'] / first:.2f}x"
        )
        self._export(client, export_rows)

    def _export(self, client: Client, rows: int) -> None:
        process = psutil.Process()
        baseline = process.memory_info().rss
        peak = baseline
        done = threading.Event()

        def sample() -> None:
            nonlocal peak
            while not done.is_set():
                peak = max(peak, process.memory_info().rss)
                time.sleep(0.05)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        started = time.perf_counter()
        response = client.get(reverse("explorer:export_csv"))
        lines = 0
        for chunk in response:  # a streaming response iterates over its streaming_content
            lines += chunk.count(b"\n")
        elapsed = time.perf_counter() - started
        done.set()
        sampler.join()
        self.stdout.write(
            f"\nCSV export: {lines - 1:,} rows in {elapsed:.1f}s = {(lines - 1) / elapsed:,.0f} rows/s; "
            f"peak RSS growth {(peak - baseline) / 2**20:.0f} MB (process peak {peak / 2**20:.0f} MB)"
        )
