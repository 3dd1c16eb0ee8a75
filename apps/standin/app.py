"""The stand-in's WSGI app: routing, bearer tokens, idempotency keys and injected faults.

An action request goes through, in order:

1. routing (an unknown path is a 404, a wrong method a 405, both as JSON errors);
2. a ``before`` fault for the service, if one is armed;
3. the bearer token of the service named by the path's first segment (401), then the
   Idempotency-Key and actor headers (400); these answers are not remembered;
4. the idempotency slot of (service, key), held for the rest of the action: a repeat waits
   here for the first request, then gets its remembered answer (or 422 when its method, path or
   body differ);
5. the handler, in one transaction on a connection logged in as the service's owner role;
6. the answer is remembered unless it is a 5xx, the slot is released, and then an ``after``
   fault, if armed, delays, replaces or drops the answer the client sees.

The control endpoints (``/__faults``, ``/__health``) take no token: the stand-in is a loopback
tool for tests and demos and must never be reachable from another machine.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from ipaddress import IPv4Address, IPv6Address
from typing import Any

import psycopg
from psycopg.rows import DictRow, dict_row
from psycopg_pool import ConnectionPool, PoolTimeout
from werkzeug.exceptions import HTTPException, MethodNotAllowed
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from apps.standin import handlers
from apps.standin.handlers import Actor, ApiError, Call
from backoffice.platform_schemas import get_schema

logger = logging.getLogger(__name__)

Handler = Callable[..., handlers.Result]

# Every action endpoint, as OpenAPI path templates; the first segment is the service (schema).
ROUTES: tuple[tuple[str, Handler], ...] = (
    ("/payments/v1/charges/{charge_id}/refunds", handlers.refund_charge),
    ("/commerce/v1/subscriptions/{subscription_id}/cancel", handlers.cancel_subscription),
    ("/identity/v1/users/{user_id}/sessions/revoke", handlers.revoke_sessions),
    ("/identity/v1/users/{user_id}/lock", handlers.lock_user),
    ("/identity/v1/users/{user_id}/unlock", handlers.unlock_user),
    ("/comms/v1/suppressions", handlers.add_suppression),
    ("/comms/v1/suppressions/{suppression_id}/remove", handlers.remove_suppression),
    ("/community/v1/posts/{post_id}/hide", handlers.hide_post),
    ("/community/v1/posts/{post_id}/restore", handlers.restore_post),
    ("/webhooks/v1/outbound-deliveries/{delivery_id}/redeliver", handlers.redeliver),
    ("/affiliates/v1/payouts/{payout_id}/hold", handlers.hold_payout),
    ("/affiliates/v1/payouts/{payout_id}/release", handlers.release_payout),
    ("/clinical/v1/red-flags/{red_flag_id}/acknowledge", handlers.acknowledge_red_flag),
    ("/accounting/v1/adjustments", handlers.post_adjustment),
)
SERVICES: frozenset[str] = frozenset(path.split("/")[1] for path, _ in ROUTES)

IDEMPOTENCY_KEY_LENGTH = (8, 128)
FAULT_KINDS = ("slow", "error", "drop")
FAULT_PHASES = ("before", "after")
FAULT_STATUSES = {
    500: ("internal_error", "The {service} service failed; try again."),
    502: ("bad_gateway", "The {service} service could not be reached through its gateway; try again."),
    503: ("service_unavailable", "The {service} service is temporarily unavailable; try again."),
    504: ("gateway_timeout", "The {service} service took too long to answer; try again."),
}
MAX_FAULT_DELAY = 60.0


@dataclass(frozen=True)
class _Action:
    service: str
    handler: Handler


@dataclass
class Fault:
    """One armed fault; ``remaining`` counts the matching requests it still applies to."""

    service: str
    kind: str
    phase: str
    delay: float
    status: int
    remaining: int


@dataclass
class _Slot:
    lock: threading.Lock = field(default_factory=threading.Lock)
    fingerprint: str | None = None
    answer: tuple[int, bytes] | None = None


class _Dropped(ConnectionAbortedError):
    """Raised after closing the client's socket: Werkzeug's server treats it as a dropped connection."""


def _jsonable(value: Any) -> Any:
    if isinstance(value, uuid.UUID | IPv4Address | IPv6Address | Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _json(status: int, body: Mapping[str, Any] | None, headers: Mapping[str, str] | None = None) -> Response:
    data = b"" if body is None else json.dumps(body, default=_jsonable).encode()
    return Response(data, status=status, mimetype="application/json", headers=dict(headers or {}))


def _error(status: int, code: str, message: str, headers: Mapping[str, str] | None = None) -> Response:
    return _json(status, ApiError(status, code, message).body(), headers)


class StandinApp:
    """The WSGI application. ``close()`` releases its database pools.

    ``database_url_for_role`` maps an owner role (``svc_payments``) to a libpq connection
    string that logs in as that role; ``tokens`` maps a service (schema name) to its bearer
    token. Idempotency answers and armed faults live in memory for the app's lifetime.
    """

    def __init__(
        self,
        *,
        database_url_for_role: Callable[[str], str],
        tokens: Mapping[str, str],
        pool_max_size: int = 8,
    ) -> None:
        self._url_for_role = database_url_for_role
        self._tokens = dict(tokens)
        self._pool_max_size = pool_max_size
        self._pools: dict[str, ConnectionPool[psycopg.Connection[DictRow]]] = {}
        self._pools_lock = threading.Lock()
        self._faults: list[Fault] = []
        self._faults_lock = threading.Lock()
        self._slots: dict[tuple[str, str], _Slot] = {}
        self._slots_lock = threading.Lock()
        rules = [
            Rule(
                re.sub(r"\{(\w+)\}", r"<\1>", path),
                endpoint=_Action(path.split("/")[1], handler),
                methods=["POST"],
            )
            for path, handler in ROUTES
        ]
        rules += [
            Rule("/__faults", endpoint="faults", methods=["POST", "DELETE"]),
            Rule("/__health", endpoint="health", methods=["GET"]),
        ]
        self.url_map = Map(rules, strict_slashes=False, merge_slashes=False)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        return self.dispatch(Request(environ))(environ, start_response)

    def close(self) -> None:
        with self._pools_lock:
            pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            pool.close()

    # --- dispatch -------------------------------------------------------------------------

    def dispatch(self, request: Request) -> Response:
        adapter = self.url_map.bind_to_environ(request.environ)
        try:
            endpoint, args = adapter.match()
        except MethodNotAllowed as exc:
            allowed = ", ".join(exc.valid_methods or ())
            return _error(
                405,
                "method_not_allowed",
                f"{request.method} is not allowed on {request.path}; use {allowed}.",
                {"Allow": allowed},
            )
        except HTTPException:
            return _error(404, "not_found", f"There is no endpoint {request.method} {request.path}.")
        if endpoint == "health":
            return _json(200, {"ok": True})
        if endpoint == "faults":
            return self._control_faults(request)
        return self._action(request, endpoint, args)

    def _action(self, request: Request, action: _Action, args: Mapping[str, Any]) -> Response:
        service = action.service
        request_id = request.headers.get("X-Request-Id") or f"req_{uuid.uuid4().hex[:24]}"
        echo = {"X-Request-Id": request_id}
        injected = self._inject(service, "before", request, echo)
        if injected is not None:
            return injected

        expected = self._tokens.get(service)
        given = request.headers.get("Authorization", "")
        if not expected or not hmac.compare_digest(given.encode(), f"Bearer {expected}".encode()):
            return _error(
                401,
                "unauthorized",
                f"The request did not carry the {service} service's API token.",
                {**echo, "WWW-Authenticate": "Bearer"},
            )
        key = request.headers.get("Idempotency-Key", "")
        lo, hi = IDEMPOTENCY_KEY_LENGTH
        if not lo <= len(key) <= hi:
            return _error(
                400,
                "idempotency_key_required",
                f"Send an Idempotency-Key header of {lo} to {hi} characters, the same on every retry.",
                echo,
            )
        actor_id = request.headers.get("X-Actor-Id", "").strip()
        actor_brands = request.headers.get("X-Actor-Brand-Id", "").strip()
        if not actor_id or not actor_brands:
            return _error(
                400,
                "actor_required",
                "Send X-Actor-Id and X-Actor-Brand-Id ('*' for every brand) to say who is acting.",
                echo,
            )
        actor_type = request.headers.get("X-Actor-Type", "").strip() or "staff"
        actor = Actor(
            type=actor_type,
            id=actor_id,
            brand_header=actor_brands,
            requested_by=request.headers.get("X-Actor-Requested-By", "").strip() or None,
            approved_by=request.headers.get("X-Actor-Approved-By", "").strip() or None,
        )

        raw = request.get_data()
        body: dict[str, Any] | None = None
        try:
            parsed = json.loads(raw) if raw.strip() else {}
            canonical = json.dumps(parsed, sort_keys=True, separators=(",", ":")).encode()
            body = parsed if isinstance(parsed, dict) else None
        except ValueError:
            canonical = raw
        fingerprint = hashlib.sha256(
            b"%s %s\n%s" % (request.method.encode(), request.path.encode(), canonical)
        )

        with self._slot(service, key) as slot:
            if slot.fingerprint is not None and slot.fingerprint != fingerprint.hexdigest():
                return _error(
                    422,
                    "idempotency_key_reused",
                    "This Idempotency-Key was already used for a different request; use a new key per action.",
                    echo,
                )
            slot.fingerprint = fingerprint.hexdigest()
            if slot.answer is not None:
                status, data = slot.answer
                return Response(
                    data,
                    status=status,
                    mimetype="application/json",
                    headers={**echo, "Idempotent-Replayed": "true"},
                )
            if body is None:
                status, payload = 400, ApiError(400, "invalid_json", "The body must be a JSON object.").body()
            else:
                status, payload = self._run(action, args, actor, request_id, body)
            data = json.dumps(payload, default=_jsonable).encode()
            if status < 500:
                slot.answer = (status, data)
        injected = self._inject(service, "after", request, echo)
        if injected is not None:
            return injected
        return Response(data, status=status, mimetype="application/json", headers=echo)

    def _run(
        self, action: _Action, args: Mapping[str, Any], actor: Actor, request_id: str, body: dict[str, Any]
    ) -> handlers.Result:
        try:
            with self._pool(action.service).connection() as conn, conn.transaction():
                status, payload = action.handler(Call(action.service, conn, actor, request_id, body), **args)
        except ApiError as exc:
            return exc.status, exc.body()
        except PoolTimeout:
            logger.exception("stand-in: no database connection for %s", action.service)
            return 503, ApiError(
                503,
                "service_unavailable",
                f"The {action.service} service cannot reach its database; try again.",
            ).body()
        except Exception:
            # Whatever went wrong, the client gets the JSON error shape and the key stays open for a retry.
            logger.exception("stand-in: %s failed", action.handler.__name__)
            return 500, ApiError(
                500, "internal_error", f"The {action.service} service failed; try again."
            ).body()
        return status, {**payload, "request_id": request_id}

    @contextmanager
    def _slot(self, service: str, key: str) -> Iterator[_Slot]:
        with self._slots_lock:
            slot = self._slots.setdefault((service, key), _Slot())
        with slot.lock:
            yield slot

    def _pool(self, service: str) -> ConnectionPool[psycopg.Connection[DictRow]]:
        with self._pools_lock:
            pool = self._pools.get(service)
            if pool is None:
                pool = ConnectionPool(
                    self._url_for_role(get_schema(service).owner_role),
                    min_size=1,
                    max_size=self._pool_max_size,
                    timeout=10,
                    name=f"standin-{service}",
                    # Autocommit so that conn.transaction() is exactly the action's transaction.
                    kwargs={
                        "autocommit": True,
                        "row_factory": dict_row,
                        "application_name": f"standin:{service}",
                        "options": "-c statement_timeout=10000 -c lock_timeout=5000",
                    },
                    open=True,
                )
                self._pools[service] = pool
        return pool

    # --- faults ---------------------------------------------------------------------------

    def _inject(self, service: str, phase: str, request: Request, echo: Mapping[str, str]) -> Response | None:
        """Apply the next armed fault for this service and phase: sleep, answer a 5xx, or drop."""
        with self._faults_lock:
            fault = next((f for f in self._faults if f.service == service and f.phase == phase), None)
            if fault is None:
                return None
            fault.remaining -= 1
            if fault.remaining == 0:
                self._faults.remove(fault)
        if fault.kind == "slow":
            time.sleep(fault.delay)
            return None
        if fault.kind == "error":
            code, message = FAULT_STATUSES[fault.status]
            return _error(fault.status, code, message.format(service=service), echo)
        # Consume the body first: left unread, the server would parse it as a next request.
        request.get_data()
        sock = request.environ.get("werkzeug.socket")
        if sock is not None:
            sock.shutdown(socket.SHUT_RDWR)
        raise _Dropped(f"connection dropped by an injected fault ({service}, {phase})")

    def _control_faults(self, request: Request) -> Response:
        if request.method == "DELETE":
            with self._faults_lock:
                self._faults.clear()
            return Response(status=204)
        try:
            fault = self._parse_fault(json.loads(request.get_data() or b"null"))
        except (ValueError, TypeError) as exc:
            return _error(400, "invalid_fault", str(exc))
        with self._faults_lock:
            self._faults.append(fault)
        return Response(status=204)

    @staticmethod
    def _parse_fault(spec: Any) -> Fault:
        if not isinstance(spec, dict):
            raise ValueError("The body must be a JSON object describing the fault.")
        service, kind, phase = spec.get("service"), spec.get("kind"), spec.get("phase", "before")
        delay, status, count = spec.get("delay", 1.0), spec.get("status", 503), spec.get("count", 1)
        if service not in SERVICES:
            raise ValueError(f"service must be one of {', '.join(sorted(SERVICES))}.")
        if kind not in FAULT_KINDS:
            raise ValueError(f"kind must be one of {', '.join(FAULT_KINDS)}.")
        if phase not in FAULT_PHASES:
            raise ValueError(f"phase must be one of {', '.join(FAULT_PHASES)}.")
        if isinstance(delay, bool) or not isinstance(delay, int | float) or not 0 <= delay <= MAX_FAULT_DELAY:
            raise ValueError(f"delay must be a number of seconds from 0 to {MAX_FAULT_DELAY:g}.")
        if status not in FAULT_STATUSES or isinstance(status, bool):
            raise ValueError(f"status must be one of {', '.join(map(str, FAULT_STATUSES))}.")
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise ValueError("count must be a whole number of requests, at least 1.")
        return Fault(service, kind, phase, float(delay), status, count)
