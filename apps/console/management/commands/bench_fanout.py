"""Benchmark the parallel fan-out and the partitioned audit logs, side by side in one run, on
whatever cluster the settings point at (run it on the large seed: `make seed-large`, which is
partitioned). Prints medians and ratios; asserts nothing about time.

Fan-out: the explorer's first page and the customer page, their reads (the page's tasks through
``apps.core.fanout.fan_out``) and the whole page over HTTP, one after another
(``PLATFORM_FANOUT_WORKERS=1``), in parallel, and in parallel with a psycopg pool per alias
(``PLATFORM_POOL_MAX_SIZE``: a worker then reuses a connection instead of opening one), next to
the slowest single source (each task alone, on the caller's warm connection) and their sum.

Layouts: both shapes of the biggest audit_log exist at once. The bench copies it in the other
layout (``apps.refcluster.audit_layout``: the same rows, indexes and grants, parked outside the
schema), measures the explorer (one service, with and without a time filter, a deep cursor page)
and its changelist (first page, brand filter, deep cursor page, month drill-down) on the live
layout, swaps the copy in, measures again, and swaps back. The copy is dropped at the end unless
``--keep-copy`` (a rerun then skips the copy).
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, cast

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connections, models
from django.test import Client, override_settings
from django.urls import reverse

from apps.core import fanout
from apps.core.benchmarking import measure, median_ms
from apps.core.changelist import encode_position, estimated_rows
from apps.core.routers import is_platform_alias
from apps.customers import panels as customer_panels
from apps.customers import selectors as customers
from apps.explorer import selectors as explorer
from apps.explorer.cursor import Position, encode
from apps.explorer.query import AuditQuery
from apps.explorer.sources import all_sources
from apps.refcluster import audit_layout, generator, services

MONTH = {"since": "2026-03-01", "until": "2026-03-31"}
_MARCH = (dt.datetime(2026, 3, 1, tzinfo=dt.UTC), dt.datetime(2026, 3, 31, 23, 59, 59, 999999, tzinfo=dt.UTC))
PLANNED = (
    ("first page", AuditQuery()),
    ("one month", AuditQuery(since=_MARCH[0], until=_MARCH[1])),
    ("brand=capri", AuditQuery(brands=("capri",))),
    ("brand=capri, one month", AuditQuery(brands=("capri",), since=_MARCH[0], until=_MARCH[1])),
)


@contextmanager
def pooled(size: int) -> Iterator[None]:
    """Every platform alias through a psycopg pool of ``size`` (as PLATFORM_POOL_MAX_SIZE sets it)."""
    aliases = [a for a in connections if is_platform_alias(a)]
    saved = {}
    for alias in aliases:
        connections[alias].close()
        config = connections.settings[alias]
        saved[alias] = (config["OPTIONS"].get("pool"), config["CONN_MAX_AGE"])
        config["OPTIONS"]["pool"] = {"min_size": 0, "max_size": size, "timeout": 5.0}
        config["CONN_MAX_AGE"] = 0
    try:
        yield
    finally:
        for alias in aliases:
            connections[alias].close()
            connections[alias].close_pool()  # type: ignore[attr-defined]  # the PostgreSQL backend's
            pool, max_age = saved[alias]
            config = connections.settings[alias]
            config["OPTIONS"].pop("pool", None)
            if pool:
                config["OPTIONS"]["pool"] = pool
            config["CONN_MAX_AGE"] = max_age


class Command(BaseCommand):
    help = "Fan-out (sequential vs parallel vs slowest source) and audit logs (partitioned vs plain), side by side."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--runs", type=int, default=7)
        parser.add_argument("--workers", type=int, default=8, help="Fan-out workers of the parallel runs.")
        parser.add_argument("--deep-page", type=int, default=1000)
        parser.add_argument("--schema", help="The audit log to compare layouts on (default: the biggest).")
        parser.add_argument(
            "--keep-copy", action="store_true", help="Keep the other layout's copy for a rerun."
        )
        parser.add_argument("--only", choices=["fanout", "layouts"], help="Run one half only.")

    def handle(
        self,
        *args: Any,
        runs: int,
        workers: int,
        deep_page: int,
        schema: str | None,
        keep_copy: bool,
        only: str | None,
        **options: Any,
    ) -> None:
        self.workers = workers
        user, _ = get_user_model().objects.get_or_create(
            username="benchmark", defaults={"is_staff": True, "is_superuser": True}
        )
        client = Client()
        client.force_login(user)
        with override_settings(ALLOWED_HOSTS=["*"]):
            if only != "layouts":
                self._fanout(client, user, runs)
            if only != "fanout":
                self._layouts(client, runs=runs, deep_page=deep_page, schema=schema, keep_copy=keep_copy)

    # --- fan-out -------------------------------------------------------------------------------

    def _fanout(self, client: Client, user: Any, runs: int) -> None:
        workers = self.workers
        heavy = str(generator.user_id(generator.HEAVY_USER_INDEX))
        record = customers.customer(user_id=heavy, staff=user)
        if record is None:
            raise CommandError(f"The heavy customer {heavy} is not in this cluster: seed it first.")

        def explorer_tasks(query: AuditQuery) -> Callable[[], list[fanout.Task[Any]]]:
            return lambda: explorer.plan_audit_page(query=query, user=user).tasks

        def customer_tasks() -> list[fanout.Task[Any]]:
            facts = {"email": record.email, "phone": record.phone, "brand_id": record.brand_id}
            reads = [
                customer_panels.prepare_panel(p, user_id=heavy, facts=facts, user=user)
                for p in customer_panels.PANELS
            ]
            plan = explorer.plan_audit_page(
                query=AuditQuery(subject_id=heavy, entity_type="user"), user=user, limit=customers.AUDIT_ROWS
            )
            return [*(r.task for r in reads if r), *plan.tasks]

        pages = [
            ("explorer, first page", explorer_tasks(AuditQuery()), reverse("explorer:index")),
            (
                "explorer, brand=capri",
                explorer_tasks(AuditQuery(brands=("capri",))),
                reverse("explorer:index") + "?brand=capri",
            ),
            (f"customer page ({heavy[:8]})", customer_tasks, reverse("customers:detail", args=[heavy])),
        ]
        self.stdout.write(
            f"\nFan-out: medians of {runs} runs, ms; parallel = {workers} workers, "
            f"a connection per source; pooled = the same through a psycopg pool per alias"
        )
        self.stdout.write(
            f"{'page':<30}{'what':<8}{'sequential':>11}{'parallel':>10}{'pooled':>9}"
            f"{'slowest source':>26}{'sum':>8}{'par/slowest':>13}{'pooled/slowest':>16}{'seq/pooled':>12}{'in SQL':>9}"
        )
        self.stdout.write(
            "(in SQL: the sequential run's time inside platform queries; the rest is Python, which one "
            "process runs one thread at a time)"
        )
        for label, make_tasks, url in pages:
            tasks = make_tasks()
            singles = sorted(((median_ms(task.run, runs), task.key) for task in tasks), reverse=True)
            slowest, slowest_key = singles[0]
            total = sum(ms for ms, _ in singles)

            def reads(tasks: list[fanout.Task[Any]] = tasks) -> None:
                for outcome in fanout.fan_out(tasks):
                    outcome.result()

            def page(url: str = url) -> None:
                response = client.get(url)
                assert response.status_code == 200, (url, response.status_code)

            for what, fn in (("reads", reads), ("page", page)):
                with override_settings(PLATFORM_FANOUT_WORKERS=1):
                    sequential, in_sql = measure(fn, runs)
                with override_settings(PLATFORM_FANOUT_WORKERS=workers):
                    parallel = median_ms(fn, runs)
                    with pooled(workers + 2):
                        pooled_ms = median_ms(fn, runs)
                source, summed = (
                    (f"{slowest:.1f} ({slowest_key})", f"{total:.1f}") if what == "reads" else ("", "")
                )
                self.stdout.write(
                    f"{label:<30}{what:<8}{sequential:>11.1f}{parallel:>10.1f}{pooled_ms:>9.1f}{source:>26}"
                    f"{summed:>8}{parallel / slowest:>12.1f}x{pooled_ms / slowest:>15.1f}x"
                    f"{sequential / pooled_ms:>11.1f}x{in_sql / sequential:>9.0%}"
                )

    # --- layouts -------------------------------------------------------------------------------

    def _layouts(
        self, client: Client, *, runs: int, deep_page: int, schema: str | None, keep_copy: bool
    ) -> None:
        sources = {s.name: s for s in all_sources() if s.name != "backoffice"}
        if schema is None:
            schema = max(sources, key=lambda name: estimated_rows(sources[name].model) or 0)
        elif schema not in sources:
            raise CommandError(f"No audit log in schema {schema!r}.")
        model = sources[schema].model
        admin_url = settings.REFCLUSTER_ADMIN_URL
        if not admin_url:
            raise CommandError("Set REFCLUSTER_ADMIN_URL: the layouts bench copies and swaps a table.")
        with services.connect_admin(admin_url) as conn:
            live = audit_layout.is_partitioned(conn, schema=schema)
            parked = audit_layout.parked_is_partitioned(conn, schema=schema)
            if parked is not None and parked == live:
                raise CommandError(
                    f"The parked copy of {schema}.audit_log has the live layout; drop it first."
                )
            if parked is None:
                self.stderr.write(
                    f"Copying {schema}.audit_log as {'plain' if live else 'partitioned'} rows..."
                )
                started = time.monotonic()
                rows = audit_layout.build_copy(conn, schema=schema, partitioned=not live)
                self.stderr.write(f"  {rows:,} rows in {time.monotonic() - started:.0f}s")

            alias = sources[schema].using
            with connections[alias].cursor() as cursor:
                cursor.execute(
                    f'SELECT occurred_at, id FROM "{schema}".audit_log ORDER BY occurred_at DESC, id DESC '  # noqa: S608 - a known schema name
                    "OFFSET %s LIMIT 1",
                    [(deep_page - 1) * explorer.PAGE_SIZE - 1],
                )
                occurred_at, row_id = cursor.fetchone()
            explorer_url = reverse("explorer:index")
            changelist = reverse(f"admin:{schema}_auditlog_changelist")
            deep_explorer = encode(Position(occurred_at, row_id))
            time_field = cast("models.Field[Any, Any]", model._meta.get_field("occurred_at"))
            deep_changelist = encode_position(model, time_field, occurred_at, row_id)
            cases = [
                ("explorer, first page", explorer_url, {"service": schema}),
                ("explorer, one month", explorer_url, {"service": schema, **MONTH}),
                ("explorer, brand=capri", explorer_url, {"service": schema, "brand": "capri"}),
                (
                    "explorer, brand=capri, one month",
                    explorer_url,
                    {"service": schema, "brand": "capri", **MONTH},
                ),
                (f"explorer, page {deep_page:,}", explorer_url, {"service": schema, "cursor": deep_explorer}),
                ("changelist, first page", changelist, {}),
                ("changelist, brand=capri", changelist, {"brand_id": "capri"}),
                (f"changelist, page {deep_page:,}", changelist, {"cursor": deep_changelist}),
                (
                    "changelist, March 2026",
                    changelist,
                    {"occurred_at__gte": "2026-03-01", "occurred_at__lt": "2026-04-01"},
                ),
            ]

            def get(url: str, params: dict[str, str]) -> Callable[[], None]:
                def run() -> None:
                    response = client.get(url, params)
                    assert response.status_code == 200, (url, params, response.status_code)

                return run

            # Two rounds, the layouts alternating (live, other, live, other): each figure is the
            # better of its two medians, so a burst of load on a shared machine hits one round only.
            results: dict[bool, list[tuple[float, float]]] = {}
            plans: dict[bool, list[tuple[int, int, float, float]]] = {}
            for turn in range(4):
                layout = bool(live) if turn % 2 == 0 else not live
                if turn % 2:
                    audit_layout.swap(conn, schema=schema)
                try:
                    medians = [measure(get(url, params), runs) for _, url, params in cases]
                    if turn < 2:
                        plans[layout] = [self._plan_cost(sources[schema], query) for _, query in PLANNED]
                finally:
                    if turn % 2:
                        audit_layout.swap(conn, schema=schema)
                results[layout] = [
                    min(pair) for pair in zip(results.get(layout, medians), medians, strict=True)
                ]
            if not keep_copy:
                audit_layout.drop_copy(conn, schema=schema)

        self.stdout.write(
            f"\nAudit-log layouts: {schema}.audit_log (~{estimated_rows(model) or 0:,} rows), "
            f"partitioned by month vs plain, same rows; best of two alternating medians of {runs} runs, ms "
            "(SQL: the page's time inside platform queries)"
        )
        self.stdout.write(
            f"{'page':<40}{'partitioned':>12}{'plain':>8}{'part/plain':>12}{'SQL part':>10}{'SQL plain':>11}"
        )
        for (label, _, _), part, plain in zip(cases, results[True], results[False], strict=True):
            self.stdout.write(
                f"{label:<40}{part[0]:>12.1f}{plain[0]:>8.1f}{part[0] / plain[0]:>11.2f}x"
                f"{part[1]:>10.1f}{plain[1]:>11.1f}"
            )
        self.stdout.write(
            "\nThe explorer's query on that audit log, EXPLAIN (ANALYZE, BUFFERS): shared buffers touched "
            "(load-independent), tables scanned, the server's planning and execution ms"
        )
        self.stdout.write(
            f"{'query':<26}{'buffers part':>13}{'plain':>7}{'tables part':>12}"
            f"{'plan ms part':>13}{'plain':>7}{'exec ms part':>13}{'plain':>7}"
        )
        for (label, _), cost, plain_cost in zip(PLANNED, plans[True], plans[False], strict=True):
            self.stdout.write(
                f"{label:<26}{cost[0]:>13,}{plain_cost[0]:>7,}{cost[1]:>12}"
                f"{cost[2]:>13.2f}{plain_cost[2]:>7.2f}{cost[3]:>13.2f}{plain_cost[3]:>7.2f}"
            )

    def _plan_cost(self, source: Any, query: AuditQuery) -> tuple[int, int, float, float]:
        """Buffers the explorer's first-page query on one source touches, the tables it scans, and
        the server's planning and execution times (ms)."""
        queryset = explorer.matching(source, query, None)
        assert queryset is not None
        plan = (
            queryset.order_by("-occurred_at", "-id")
            .values(*explorer.FIELDS)[: explorer.PAGE_SIZE + 1]
            .explain(analyze=True, buffers=True)
        )
        first = re.search(r"Buffers: shared((?: \w+=\d+)+)", plan)
        buffers = sum(int(n) for n in re.findall(r"=(\d+)", first.group(1))) if first else 0
        planning = re.search(r"Planning Time: ([\d.]+) ms", plan)
        executing = re.search(r"Execution Time: ([\d.]+) ms", plan)
        return (
            buffers,
            len(set(re.findall(r" on (audit_log\w*)", plan))),
            float(planning.group(1)) if planning else 0.0,
            float(executing.group(1)) if executing else 0.0,
        )
