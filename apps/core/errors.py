"""Error pages: a 400 that says what to fix, and a 500 handler for which a database that is down
or full, or a read the platform's replica kept cancelling, is a clear 503, never a stack trace."""

from __future__ import annotations

import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, HttpResponseServerError
from django.template import TemplateDoesNotExist
from django.template.loader import render_to_string
from django.utils.html import format_html

from apps.core.db import RecoveryConflict, is_recovery_conflict
from apps.core.params import InvalidParameter


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """Django's 400 (a BadRequest or SuspiciousOperation); our own InvalidParameter says what to fix.

    Other exceptions' messages are not shown: a SuspiciousOperation's may describe a probe.
    """
    message = str(exception) if isinstance(exception, InvalidParameter) else ""
    body = render_to_string(
        "400.html", {"message": message, "request_id": getattr(request, "request_id", "")}
    )
    return HttpResponseBadRequest(body)


def server_error(request: HttpRequest) -> HttpResponse:
    """Django calls this while handling the exception, so sys.exception() is the cause."""
    exception = sys.exception()
    reference = getattr(request, "request_id", "")
    if isinstance(exception, RecoveryConflict) or (exception is not None and is_recovery_conflict(exception)):
        # The replica cancelled the read twice while applying the platform's changes
        # (apps.core.db.retry_recovery_conflict): nothing is wrong, reading again will work.
        body = render_to_string("replica_conflict.html", {"request_id": reference})
        response = HttpResponse(body, status=503)
        response["Retry-After"] = "2"
        return response
    if isinstance(exception, OperationalError | InterfaceError):
        body = render_to_string("database_unavailable.html", {"request_id": reference})
        response = HttpResponse(body, status=503)
        response["Retry-After"] = "10"
        return response
    try:
        body = render_to_string("500.html", {"request_id": reference})
    except TemplateDoesNotExist:
        body = format_html(
            "<h1>Server error</h1><p>Something went wrong; nothing was changed. Reference: {}</p>", reference
        )
    return HttpResponseServerError(body)
