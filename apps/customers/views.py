"""The customer search and page: thin views over apps.customers.search and selectors."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.utils import quote
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse

from apps.access import phi
from apps.access.services import record_phi_view
from apps.core import params
from apps.customers import selectors
from apps.customers.search import MAX_TERM, find_customers
from apps.services.actions import actions_for


def search(request: HttpRequest) -> HttpResponse:
    term = params.text("q", request.GET.get("q", ""), max_length=MAX_TERM).strip()
    matches = find_customers(term=term, user=request.user) if term else []
    if len(matches) == 1:
        return redirect("customers:detail", user_id=matches[0].user_id)
    context = {
        **admin.site.each_context(request),
        "title": "Find a customer",
        "term": term,
        "matches": matches,
    }
    return TemplateResponse(
        request, "customers/search.html", context, status=200 if matches or not term else 404
    )


def detail(request: HttpRequest, user_id: str) -> HttpResponse:
    params.uuid_value("customer id", user_id)
    record = selectors.customer(user_id=user_id, staff=request.user)
    if record is None:
        raise Http404("No such customer is visible to you.")
    page = selectors.customer_page(customer_record=record, staff=request.user)
    if page.phi_panels:
        record_phi_view(user=request.user, obj=record, revealed=False, panels=page.phi_panels)
    sees_contact = phi.can_view_contact(request.user)
    user_actions = [
        (a, reverse("admin:identity_user_act", args=[quote(str(record.pk)), a.name]))
        for a in actions_for(type(record))
        if request.user.has_perm(a.permission) and a.applies(record)
    ]
    context = {
        **admin.site.each_context(request),
        "title": record.display_name or "Customer",
        "page": page,
        "customer": record,
        "email": record.email if sees_contact else phi.MASK,
        "phone": (record.phone or "\N{EM DASH}") if sees_contact else phi.MASK,
        "can_open_profile": request.user.has_perm("identity.view_user"),
        "user_actions": user_actions,
    }
    return TemplateResponse(request, "customers/detail.html", context)
