"""Reading many schemas for one page at once: bounded, one connection per source, one deadline.

A page that reads every service (the audit explorer's first page, the customer page) hands
``fan_out`` one ``Task`` per source: a callable that reads one alias and returns plain values.
The tasks run on at most ``max_workers`` threads (``settings.PLATFORM_FANOUT_WORKERS``), each
on that thread's own connection (Django's connections are per thread), so the page costs about
its slowest source instead of the sum. What the contract guarantees:

* **Same results.** A task gets nothing from the caller's thread but its closure; the caller
  builds every queryset (brand scoping, the policy) before and masks after, on its own thread.
* **Only read-only platform aliases leave the caller's thread.** Their rows are committed data,
  the same from any connection. A task on any other alias (our own database, whose transaction
  may hold the caller's uncommitted writes: an atomic request, a test) runs in the caller, on
  its connection, inside a savepoint when a transaction is open.
* **No connection outlives its task.** A worker closes its thread's connections when the task
  ends (with ``PLATFORM_POOL_MAX_SIZE`` set, closing returns the connection to the alias's pool,
  which is what makes a fan-out cheap: without a pool each source pays a connect).
* **One deadline per page** (``timeout``, ``settings.PLATFORM_FANOUT_TIMEOUT_MS``). When it
  passes, every query still running is cancelled through the server (psycopg's
  ``Connection.cancel``, which poolers pass on) and tasks not started yet are not started; their
  outcomes carry a ``DeadlineExceeded`` (SQLSTATE 57014, like a statement timeout) so the page
  can say which source did not answer in time instead of failing. The roles' statement timeout
  stays the backstop for a source the deadline could not reach.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass
from functools import partial
from typing import Any, Generic, TypeVar

from django.conf import settings
from django.db import DatabaseError, connections
from django.db.models import QuerySet

from apps.core.db import QUERY_CANCELED, isolated, sqlstate
from apps.core.routers import is_platform_alias

T = TypeVar("T")


class DeadlineExceeded(DatabaseError):
    """A source did not answer before the page's deadline (its query was cancelled, or never run)."""

    sqlstate = QUERY_CANCELED


@dataclass(frozen=True)
class Task(Generic[T]):
    """One source's read: ``run`` reads ``using`` only and returns values, not lazy querysets."""

    key: str  # how the page names the source (a schema, a panel)
    using: str  # the database alias ``run`` reads
    run: Callable[[], T]


@dataclass
class Outcome(Generic[T]):
    task: Task[T]
    value: T | None = None
    error: Exception | None = None
    elapsed_ms: float = 0.0

    @property
    def timed_out(self) -> bool:
        """The source did not answer in time (the page's deadline or a statement timeout)."""
        return self.error is not None and sqlstate(self.error) == QUERY_CANCELED

    def result(self) -> T:
        """The task's value, or its error raised."""
        if self.error is not None:
            raise self.error
        return self.value  # type: ignore[return-value]


def queryset_task(key: str, queryset: QuerySet[Any]) -> Task[list[Any]]:
    """A task reading ``queryset`` on its own alias: each run evaluates a fresh copy (a queryset
    caches its rows; a task may run again, and never shares that cache between threads)."""
    return Task(key, queryset.db, partial(_evaluate, queryset))


def _evaluate(queryset: QuerySet[Any]) -> list[Any]:
    return list(queryset.all())


def fan_out(
    tasks: Sequence[Task[T]], *, max_workers: int | None = None, timeout: float | None = None
) -> list[Outcome[T]]:
    """Run ``tasks`` concurrently; one ``Outcome`` per task, in the tasks' order.

    ``max_workers``: threads at most (default ``settings.PLATFORM_FANOUT_WORKERS``; 1 or less
    runs everything in the caller, one after another, as before fan-out existed). ``timeout``:
    seconds for the whole fan-out (default ``settings.PLATFORM_FANOUT_TIMEOUT_MS``; None or 0:
    no deadline beyond the statement timeout). An error in one task is that task's outcome;
    the others are unaffected.
    """
    workers = settings.PLATFORM_FANOUT_WORKERS if max_workers is None else max_workers
    if timeout is None:
        timeout = settings.PLATFORM_FANOUT_TIMEOUT_MS / 1000
    deadline = time.monotonic() + timeout if timeout else None
    outcomes: list[Outcome[T] | None] = [None] * len(tasks)
    parallel = [i for i, t in enumerate(tasks) if is_platform_alias(t.using)] if workers > 1 else []
    if len(parallel) < 2:
        parallel = []
    running = _Running()
    with ThreadPoolExecutor(
        max_workers=max(1, min(workers, len(parallel))), thread_name_prefix="fanout"
    ) as pool:
        futures = {pool.submit(_in_worker, tasks[i], deadline, running): i for i in parallel}
        # The caller's own share runs meanwhile, on its own connections.
        for i in sorted(set(range(len(tasks))) - set(parallel)):
            outcomes[i] = _in_caller(tasks[i])
        remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
        _, late = wait(futures, timeout=remaining)
        if late:
            running.cancel_all()
        for future, i in futures.items():
            outcomes[i] = future.result()  # _in_worker never raises
    done = [o for o in outcomes if o is not None]
    for outcome in done:
        if outcome.error is not None and not isinstance(outcome.error, DatabaseError):
            raise outcome.error  # a bug, not a source's trouble: as loud as without fan-out
    return done


class _Running:
    """The raw connections of queries in flight, so the deadline can cancel them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._connections: dict[int, Any] = {}
        self.expired = False

    def start(self, raw: Any) -> None:
        with self._lock:
            if self.expired:
                raise DeadlineExceeded("The page's deadline passed before this source was read.")
            self._connections[threading.get_ident()] = raw

    def finish(self) -> None:
        with self._lock:
            self._connections.pop(threading.get_ident(), None)

    def cancel_all(self) -> None:
        with self._lock:
            self.expired = True
            for raw in self._connections.values():
                # The query may have ended meanwhile; the statement timeout remains the backstop.
                with contextlib.suppress(Exception):
                    raw.cancel_safe(timeout=1.0)


def _in_worker(task: Task[T], deadline: float | None, running: _Running) -> Outcome[T]:
    started = time.perf_counter()
    try:
        if deadline is not None and time.monotonic() >= deadline:
            raise DeadlineExceeded("The page's deadline passed before this source was read.")
        connection = connections[task.using]
        connection.ensure_connection()
        running.start(connection.connection)
        try:
            value = task.run()
        finally:
            running.finish()
        return Outcome(task, value=value, elapsed_ms=(time.perf_counter() - started) * 1000)
    except Exception as exc:
        if running.expired and sqlstate(exc) == QUERY_CANCELED and not isinstance(exc, DeadlineExceeded):
            exc = DeadlineExceeded(f"Cancelled at the page's deadline ({exc.__class__.__name__}).")
        return Outcome(task, error=exc, elapsed_ms=(time.perf_counter() - started) * 1000)
    finally:
        connections.close_all()  # this thread's connections: closed, or back in their pool


def _in_caller(task: Task[T]) -> Outcome[T]:
    started = time.perf_counter()
    try:
        with isolated(task.using):  # a failure stays inside this task
            value = task.run()
    except DatabaseError as exc:
        return Outcome(task, error=exc, elapsed_ms=(time.perf_counter() - started) * 1000)
    return Outcome(task, value=value, elapsed_ms=(time.perf_counter() - started) * 1000)
