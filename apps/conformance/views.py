"""The conformance page: the platform's rules per schema at a glance, with the drift report."""

from __future__ import annotations

import time

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from apps.access import permissions
from apps.conformance import checks
from apps.core import drift

PERMISSION = permissions.VIEW_BACKOFFICE_AUDIT


def conformance(request: HttpRequest) -> HttpResponse:
    """Compliance staff and superusers (``has_perm`` is true for any active superuser); else 403.

    Wrap with ``admin.site.admin_view`` so anonymous and non-staff users go to the login page.
    The report is computed on every request: it is a handful of catalogue queries.
    """
    if not request.user.has_perm(PERMISSION):
        raise PermissionDenied("Only compliance staff and superusers may see platform conformance.")
    report = checks.run_checks()
    started = time.perf_counter()
    drift_report = drift.compare()
    context = {
        **admin.site.each_context(request),
        "title": "Platform conformance",
        "report": report,
        "statuses": report.statuses(),
        "drift": drift_report,
        "drift_ms": (time.perf_counter() - started) * 1000,
    }
    return TemplateResponse(request, "conformance/index.html", context)
