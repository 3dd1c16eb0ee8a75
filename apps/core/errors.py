"""The 500 handler: a database that is down or full is a clear 503, never a stack trace."""

from __future__ import annotations

import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, HttpResponseServerError
from django.template import TemplateDoesNotExist
from django.template.loader import render_to_string
from django.utils.html import format_html


def server_error(request: HttpRequest) -> HttpResponse:
    """Django calls this while handling the exception, so sys.exception() is the cause."""
    exception = sys.exception()
    reference = getattr(request, "request_id", "")
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
