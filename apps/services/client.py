"""One small HTTP client for the platform's services.

Per service: a base URL and bearer token (settings.SERVICE_URLS / SERVICE_TOKENS, read from
SERVICE_<NAME>_URL / SERVICE_<NAME>_TOKEN). Every call carries the staff action's
Idempotency-Key (the same on every retry), the staff request's X-Request-Id and the actor
headers (for an approved action, X-Actor-Requested-By and X-Actor-Approved-By name both
people). Retries, with backoff, only where a retry is safe: the connection failed, timed out or
dropped (the Idempotency-Key makes a repeat harmless), or the service said 502/503/504.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import httpx
from django.conf import settings

CONNECT_TIMEOUT = 2.0
READ_TIMEOUT = 5.0
ATTEMPTS = 3
BACKOFF = 0.2  # seconds, doubled after each failed attempt
RETRY_STATUSES = {502, 503, 504}


class ServiceError(Exception):
    """A service call that did not succeed. ``str()`` is written for a support agent."""

    retryable = False

    def __init__(
        self, message: str, *, service: str, status: int | None = None, code: str | None = None
    ) -> None:
        super().__init__(message)
        self.service = service
        self.status = status
        self.code = code


class ServiceUnavailable(ServiceError):
    """The service could not be reached, or kept failing; nothing is known to have happened."""

    retryable = True


class ServiceRejected(ServiceError):
    """The service refused the request (validation, state conflict, not found): nothing changed."""


class ServiceMisconfigured(ServiceError):
    """Our token or configuration is wrong (401/403 from the service): an engineer must fix it."""


@dataclass(frozen=True)
class Actor:
    """Who acts: the staff member sending the call and, for an approved action, both people."""

    staff_id: str
    brand: str  # "*" for platform-wide staff, else the staff member's brand(s), comma-separated
    requested_by: str | None = None  # an approved action: who asked for it
    approved_by: str | None = None  # an approved action: who approved it

    def headers(self) -> dict[str, str]:
        headers = {"X-Actor-Type": "staff", "X-Actor-Id": self.staff_id, "X-Actor-Brand-Id": self.brand}
        if self.requested_by:
            headers["X-Actor-Requested-By"] = self.requested_by
        if self.approved_by:
            headers["X-Actor-Approved-By"] = self.approved_by
        return headers


@dataclass(frozen=True)
class ServiceResponse:
    status: int
    body: dict[str, Any]
    attempts: int
    replayed: bool


class ServiceClient:
    """Calls one service. Construct with ``for_service``; swap ``transport`` in tests if needed."""

    def __init__(
        self, *, service: str, base_url: str, token: str, transport: httpx.BaseTransport | None = None
    ) -> None:
        self.service = service
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.transport = transport

    @classmethod
    def for_service(cls, service: str) -> ServiceClient:
        try:
            return cls(
                service=service,
                base_url=settings.SERVICE_URLS[service],
                token=settings.SERVICE_TOKENS[service],
            )
        except KeyError:
            raise ServiceMisconfigured(
                f"No URL is configured for the {service} service.", service=service
            ) from None

    def post(
        self, path: str, *, json: dict[str, Any], idempotency_key: str, request_id: str, actor: Actor
    ) -> ServiceResponse:
        """POST with retries where safe; returns the success or raises a ServiceError subclass."""
        headers = {
            "Authorization": f"Bearer {self.token}",
            "Idempotency-Key": idempotency_key,
            "X-Request-Id": request_id,
            **actor.headers(),
        }
        timeout = httpx.Timeout(READ_TIMEOUT, connect=CONNECT_TIMEOUT)
        last_error: ServiceError | None = None
        with httpx.Client(base_url=self.base_url, timeout=timeout, transport=self.transport) as http:
            for attempt in range(1, ATTEMPTS + 1):
                if attempt > 1:
                    time.sleep(BACKOFF * 2 ** (attempt - 2))
                try:
                    response = http.post(path, json=json, headers=headers)
                except httpx.TimeoutException:
                    last_error = ServiceUnavailable(
                        f"The {self.service} service did not answer in time.", service=self.service
                    )
                    continue
                except httpx.TransportError:
                    last_error = ServiceUnavailable(
                        f"The {self.service} service could not be reached.", service=self.service
                    )
                    continue
                if response.status_code in RETRY_STATUSES:
                    last_error = ServiceUnavailable(
                        f"The {self.service} service is unavailable right now (HTTP {response.status_code}).",
                        service=self.service,
                        status=response.status_code,
                    )
                    continue
                return self._result(response, attempt)
        assert last_error is not None
        raise ServiceUnavailable(
            f"{last_error} Tried {ATTEMPTS} times; nothing was changed that we know of. Try again in a few minutes.",
            service=self.service,
            status=last_error.status,
        )

    def _result(self, response: httpx.Response, attempts: int) -> ServiceResponse:
        try:
            body = response.json()
        except ValueError:
            body = {}
        if response.is_success:
            replayed = response.headers.get("Idempotent-Replayed", "").lower() == "true"
            return ServiceResponse(response.status_code, body, attempts, replayed)
        error = body.get("error", {}) if isinstance(body, dict) else {}
        message = (
            error.get("message")
            or f"The {self.service} service refused the request (HTTP {response.status_code})."
        )
        code = error.get("code")
        if response.status_code in (401, 403) and code != "brand_forbidden":
            raise ServiceMisconfigured(
                f"The back-office is not authorised by the {self.service} service ({message}). Tell an engineer.",
                service=self.service,
                status=response.status_code,
                code=code,
            )
        if response.status_code >= 500:
            raise ServiceUnavailable(
                f"The {self.service} service failed (HTTP {response.status_code}): {message}",
                service=self.service,
                status=response.status_code,
                code=code,
            )
        raise ServiceRejected(message, service=self.service, status=response.status_code, code=code)
