"""Liveness and readiness for load balancers and orchestrators."""

from __future__ import annotations

import time

from django.db import DatabaseError, connections, transaction
from django.http import HttpRequest, JsonResponse

from backoffice.databases import CATALOG_ALIAS

READY_TIMEOUT_MS = 1000


def healthz(request: HttpRequest) -> JsonResponse:
    """The process is alive and serving; touches nothing else."""
    return JsonResponse({"status": "ok"})


def _probe(alias: str) -> str | None:
    try:
        # SET LOCAL in a transaction: behind a transaction-mode pooler a plain SET would stay on
        # a server connection the next client gets.
        with transaction.atomic(using=alias), connections[alias].cursor() as cursor:
            cursor.execute(f"SET LOCAL statement_timeout = {READY_TIMEOUT_MS}")
            cursor.execute("SELECT 1")
    except DatabaseError as exc:
        connections[alias].close()  # do not hand a broken connection to the next request
        return str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
    return None


def readyz(request: HttpRequest) -> JsonResponse:
    """Ready when our own database and the platform cluster both answer within a second."""
    checks: dict[str, dict[str, bool | float | str]] = {}
    for alias in ("default", CATALOG_ALIAS):
        started = time.perf_counter()
        error = _probe(alias)
        checks[alias] = {"ok": error is None, "ms": round((time.perf_counter() - started) * 1000, 1)}
        if error:
            checks[alias]["error"] = error
    ready = all(check["ok"] for check in checks.values())
    return JsonResponse(
        {"status": "ready" if ready else "not ready", "checks": checks}, status=200 if ready else 503
    )
