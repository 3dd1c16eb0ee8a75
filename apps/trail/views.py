"""The audit trail's verification as a page for compliance: what ``verify_audit_trail`` prints."""

from __future__ import annotations

import datetime as dt

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.dateparse import parse_date

from apps.access import permissions
from apps.core import params
from apps.trail.checkpoints import platform_sources
from apps.trail.verify import verify_trail

PERMISSION = permissions.VIEW_BACKOFFICE_AUDIT


def trail(request: HttpRequest) -> HttpResponse:
    """Compliance and superusers; computed on each visit (``?schema=`` and ``?since=`` narrow it)."""
    if not request.user.has_perm(PERMISSION):
        raise PermissionDenied("Only compliance staff and superusers may verify the audit trail.")
    names = [s.name for s in platform_sources()]
    schema = params.text("schema", request.GET.get("schema", ""), max_length=64)
    if schema and schema not in names:
        raise params.InvalidParameter(f"Unknown schema {schema[:64]!r}; known: {', '.join(names)}.")
    raw_since = params.text("since", request.GET.get("since", ""), max_length=32)
    since = None
    if raw_since:
        day = parse_date(raw_since) if len(raw_since) == 10 else None
        if day is None:
            raise params.InvalidParameter("since must be a date such as 2026-03-01.")
        since = dt.datetime.combine(day, dt.time.min, tzinfo=dt.UTC)
    report = verify_trail(schemas=(schema,) if schema else (), since=since)
    context = {
        **admin.site.each_context(request),
        "title": "Audit trail integrity",
        "report": report,
        "schemas": names,
        "schema": schema,
        "since": raw_since,
    }
    return TemplateResponse(request, "trail/index.html", context)
