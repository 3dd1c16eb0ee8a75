"""The access report of one customer: the page (a timeline by day), its CSV and its PDF."""

from __future__ import annotations

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.http import urlencode

from apps.access import permissions
from apps.core import params
from apps.customers import accesses, report_formats, selectors
from apps.customers.services import record_access_report
from apps.explorer.query import InvalidQuery, parse_query

PERMISSION = permissions.VIEW_ACCESS_REPORTS


def access_report(request: HttpRequest, user_id: str, fmt: str = "html") -> HttpResponse:
    """Compliance and superusers; a customer of a brand this person cannot see is a 404."""
    if not request.user.has_perm(PERMISSION):
        raise PermissionDenied("Only compliance staff and superusers may build access reports.")
    params.uuid_value("customer id", user_id)
    record = selectors.customer(user_id=user_id, staff=request.user)
    if record is None:
        raise Http404("No such customer is visible to you.")
    period = QueryDict(mutable=True)
    for name in ("since", "until"):
        period[name] = params.text(name, request.GET.get(name, ""), max_length=64)
    try:
        query = parse_query(period)
    except InvalidQuery as exc:
        raise params.InvalidParameter(str(exc)) from exc
    report = accesses.build(customer_record=record, staff=request.user, since=query.since, until=query.until)
    record_access_report(staff=request.user, customer=record, report=report, fmt=fmt)
    filename = f"access-report-{record.pk}"
    if fmt == "csv":
        response = HttpResponse(report_formats.csv_text(report), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{filename}.csv"'
        return response
    if fmt == "pdf":
        body = report_formats.pdf_bytes(
            report, generated_at=timezone.now(), generated_by=request.user.get_username()
        )
        response = HttpResponse(body, content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="{filename}.pdf"'
        return response
    period_params: dict[str, str] = {name: str(period[name]) for name in ("since", "until") if period[name]}
    suffix = "?" + urlencode(period_params) if period_params else ""
    context = {
        **admin.site.each_context(request),
        "title": f"Access report: {record.pk}",
        "customer": record,
        "report": report,
        "days": report.by_day(),
        "since": period.get("since", ""),
        "until": period.get("until", ""),
        "suffix": suffix,
    }
    return TemplateResponse(request, "customers/accesses.html", context)
