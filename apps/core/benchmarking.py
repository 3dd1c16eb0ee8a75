"""Timing helpers the benchmark commands share: medians after a warm-up, platform SQL time."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

from django.core.management.base import CommandError
from django.db import DEFAULT_DB_ALIAS, connections

from apps.core.routers import is_platform_alias


def require_migrated() -> None:
    """Stop a benchmark with a clear message when our own database is not migrated (the benches
    log staff in: a fresh clone has no auth_user until ``migrate`` runs; ``make bench`` does)."""
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connections[DEFAULT_DB_ALIAS])
    if executor.migration_plan(executor.loader.graph.leaf_nodes()):
        raise CommandError(
            "The back-office's own database is not migrated: run `python manage.py migrate` first "
            "(`make bench` does)."
        )


def median_ms(fn: Callable[[], Any], runs: int) -> float:
    return measure(fn, runs)[0]


def measure(fn: Callable[[], Any], runs: int) -> tuple[float, float]:
    """Median wall time and median time spent in platform queries, in ms, after one warm-up
    (it warms caches and connections: the first run is not representative)."""
    fn()
    wall, sql = [], []
    for _ in range(runs):
        with platform_sql_time() as spent:
            started = time.perf_counter()
            fn()
            wall.append((time.perf_counter() - started) * 1000)
        sql.append(spent[0])
    return statistics.median(wall), statistics.median(sql)


@contextmanager
def platform_sql_time() -> Iterator[list[float]]:
    spent = [0.0]

    def timed(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            spent[0] += (time.perf_counter() - started) * 1000

    with ExitStack() as stack:
        for alias in filter(is_platform_alias, connections):
            stack.enter_context(connections[alias].execute_wrapper(timed))
        yield spent
