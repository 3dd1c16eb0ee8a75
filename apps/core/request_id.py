"""One id per staff request: taken from X-Request-Id when sane, otherwise made; echoed back.

The same id goes into the back-office audit log and, as X-Request-Id, into every call to a
platform service, so one staff action can be followed across every audit_log.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from contextvars import ContextVar

from django.http import HttpRequest, HttpResponse

HEADER = "X-Request-Id"
_SANE = re.compile(r"^[A-Za-z0-9._:-]{8,128}$")
_current: ContextVar[str | None] = ContextVar("request_id", default=None)


def current_request_id() -> str | None:
    """The id of the request being served, for code far from the request (logging, clients)."""
    return _current.get()


def new_request_id() -> str:
    return str(uuid.uuid4())


class RequestIdMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get(HEADER, "")
        request.request_id = incoming if _SANE.match(incoming) else new_request_id()
        token = _current.set(request.request_id)
        try:
            response = self.get_response(request)
        finally:
            _current.reset(token)
        response[HEADER] = request.request_id
        return response
