"""Error pages: 400, 403 and 404 inside the back-office's frame (navigation, header, user links,
or a login link for a visitor) with a next step and the request id to quote, and a 500 handler
for which a database that is down or full, or a read the platform's replica kept cancelling, is
a clear 503, never a stack trace."""

from __future__ import annotations

import sys
from typing import Any
from urllib.parse import urlencode

from django.contrib import admin
from django.db import DatabaseError, InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, HttpResponseServerError
from django.template import TemplateDoesNotExist
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import Resolver404, resolve, reverse
from django.utils.html import format_html

from apps.core.db import RecoveryConflict, is_recovery_conflict
from apps.core.params import InvalidParameter


def frame_context(request: HttpRequest) -> dict[str, Any]:
    """The admin frame's context for an error page: the person's navigation and user links, or,
    for a visitor, a request raised before authentication ran or a database that cannot answer,
    the bare frame (the page then offers the login)."""
    minimal: dict[str, Any] = {"has_permission": False, "is_nav_sidebar_enabled": False, "site_url": None}
    if not hasattr(request, "user"):
        return minimal
    try:
        context = {**admin.site.each_context(request), "is_popup": False}
    except DatabaseError:
        return minimal
    if not context.get("has_permission"):
        context["is_nav_sidebar_enabled"] = False  # a visitor has no records to list
    return context


def next_steps(request: HttpRequest, *, signed_in: bool) -> list[tuple[str, str]]:
    """Where a person can go from an error: the list the missing record belongs to, the customer
    search and the dashboard; a visitor, the login page (back to this address afterwards)."""
    if not signed_in:
        return [("Log in", f"{reverse('admin:login')}?{urlencode({'next': request.path})}")]
    steps: list[tuple[str, str]] = []
    parts = request.path.rstrip("/").split("/")
    for cut in range(len(parts) - 1, 1, -1):  # the nearest list above this address
        parent = "/".join(parts[:cut]) + "/"
        try:
            match = resolve(parent)
        except Resolver404:
            continue
        if match.url_name and match.url_name.endswith("_changelist"):
            steps.append(("Back to the list", parent))
            break
    steps.append(("Search for a customer", reverse("customers:search")))
    steps.append(("Your dashboard", reverse("admin:index")))
    return steps


def _error_page(request: HttpRequest, template: str, *, status: int, extra: dict[str, Any]) -> HttpResponse:
    context = frame_context(request)
    signed_in = bool(context.get("has_permission"))
    context.update(
        request_id=getattr(request, "request_id", ""),
        next_steps=next_steps(request, signed_in=signed_in),
        signed_in=signed_in,
        **extra,
    )
    response = TemplateResponse(request, template, context, status=status)
    response.render()
    return response


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """Django's 400 (a BadRequest or SuspiciousOperation); our own InvalidParameter says what to fix.

    Other exceptions' messages are not shown: a SuspiciousOperation's may describe a probe.
    """
    message = str(exception) if isinstance(exception, InvalidParameter) else ""
    return _error_page(request, "400.html", status=400, extra={"message": message})


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    """A 403 in the frame, with the refusal's reason (our PermissionDenied messages name the role
    or permission needed, never a record's values)."""
    return _error_page(request, "403.html", status=403, extra={"exception": str(exception)})


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """A 404 in the frame: the same page for a record that does not exist and one of a brand the
    person does not work with."""
    return _error_page(request, "404.html", status=404, extra={"request_path": request.path})


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
