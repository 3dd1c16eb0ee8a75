"""The customer search and page: thin views over apps.customers.search and selectors."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.utils import quote
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse

from apps.access import permissions, policy
from apps.access.services import record_customer_view
from apps.core import params
from apps.core.display import EMPTY, MASK
from apps.core.types import StaffRequest
from apps.customers import selectors
from apps.customers.search import MAX_TERM, LookupRefused, accepted_kinds, find_customers
from apps.services.actions import available_actions

#: The profile panel's rows: label, identity.users column.
PROFILE_FIELDS = (
    ("User id", "id"),
    ("Brand", "brand_id"),
    ("Status", "status"),
    ("Email", "email"),
    ("Phone", "phone"),
    ("MFA", "mfa_enabled"),
    ("Joined", "created_at"),
    ("Last login", "last_login_at"),
)


def search(request: StaffRequest) -> HttpResponse:
    term = params.text("q", request.GET.get("q", ""), max_length=MAX_TERM).strip()
    refused = ""
    try:
        matches = find_customers(term=term, user=request.user) if term else []
    except LookupRefused as exc:
        matches, refused = [], str(exc)
    if len(matches) == 1:
        return redirect("customers:detail", user_id=matches[0].user_id)
    context = {
        **admin.site.each_context(request),
        "title": "Find a customer",
        "term": term,
        "matches": matches,
        "refused": refused,
        "accepted": accepted_kinds(request.user),
    }
    status = 403 if refused else 200 if matches or not term else 404
    return TemplateResponse(request, "customers/search.html", context, status=status)


def detail(request: StaffRequest, user_id: str) -> HttpResponse:
    params.uuid_value("customer id", user_id)
    record = selectors.customer(user_id=user_id, staff=request.user)
    if record is None:
        raise Http404("No such customer is visible to you.")
    page = selectors.customer_page(customer_record=record, staff=request.user)
    record_customer_view(user=request.user, customer=record, phi_panels=page.phi_panels)
    fields = {f.name: f for f in type(record)._meta.concrete_fields}

    def shown(name: str) -> str:
        if not policy.field_visible(request.user, fields[name]):
            return MASK
        return getattr(record, name) or EMPTY

    user_actions = [
        (a, reverse("admin:identity_user_act", args=[quote(str(record.pk)), a.name]))
        for a in available_actions(request.user, record)
    ]
    name = shown("display_name")
    # The profile as the staff member reads it: masked first (the policy), then formatted.
    profile = {
        label: policy.shown_value(request.user, record, fields[column]) for label, column in PROFILE_FIELDS
    }
    context = {
        **admin.site.each_context(request),
        "title": name if name not in (MASK, EMPTY) else f"Customer {record.pk}",
        "page": page,
        "customer": record,
        "profile": profile,
        "can_open_profile": request.user.has_perm("identity.view_user"),
        "can_see_accesses": request.user.has_perm(permissions.VIEW_ACCESS_REPORTS),
        "user_actions": user_actions,
    }
    return TemplateResponse(request, "customers/detail.html", context)
