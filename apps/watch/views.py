"""The watch pages: inbox, saved searches and rules, access flags. Thin: selectors and services."""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views.decorators.http import require_POST

from apps.access.roles import ROLE_NAMES
from apps.explorer.query import InvalidQuery, parse_query
from apps.watch import reviews as review_services
from apps.watch import selectors, services
from apps.watch.alerts import explorer_url
from apps.watch.models import AccessFlag, AlertRule, ReviewCycle, ReviewItem


def inbox(request: HttpRequest) -> HttpResponse:
    alerts = selectors.inbox(user=request.user)
    rows = [(alert, explorer_url(alert.explorer_params)) for alert in alerts]
    context = {
        **admin.site.each_context(request),
        "title": "Alerts",
        "rows": rows,
        "searches": selectors.searches_for(user=request.user),
        "flags_visible": selectors.may_see_flags(request.user),
    }
    return TemplateResponse(request, "watch/inbox.html", context)


@require_POST
def mark_read(request: HttpRequest) -> HttpResponse:
    ids = [int(v) for v in request.POST.getlist("alert") if v.isdigit()]
    services.mark_read(user=request.user, alert_ids=ids)
    return HttpResponseRedirect(reverse("watch:inbox"))


def new_search(request: HttpRequest) -> HttpResponse:
    """Save the explorer filter in the query string, with a rule (GET shows the form)."""
    source = request.POST if request.method == "POST" else request.GET
    try:
        query = parse_query(source)
    except InvalidQuery as exc:
        return TemplateResponse(
            request, "watch/new.html", {**admin.site.each_context(request), "title": "Watch a search", "error": str(exc)},
            status=400,
        )  # fmt: skip
    context = {
        **admin.site.each_context(request),
        "title": "Watch a search",
        "query": query,
        "filters": query.as_params(),
        "roles": ROLE_NAMES,
        "kinds": AlertRule.Kind.choices,
        "groupings": AlertRule.GroupBy.choices,
    }
    if request.method != "POST":
        return TemplateResponse(request, "watch/new.html", context)
    role = request.POST.get("shared_role", "")
    if role and not (request.user.is_superuser or request.user.groups.filter(name=role).exists()):
        raise PermissionDenied("You may share a search only with a role you hold.")
    try:
        search = services.save_search(
            owner=request.user, name=request.POST.get("name", ""), query=query, shared_role=role
        )
        if request.POST.get("kind"):
            services.create_rule(
                search=search,
                actor=request.user,
                kind=request.POST["kind"],
                threshold=int(request.POST.get("threshold") or 0),
                window_minutes=int(request.POST.get("window_minutes") or 60),
                group_by=request.POST.get("group_by") or AlertRule.GroupBy.ACTOR,
                email=bool(request.POST.get("email")),
                webhook_url=request.POST.get("webhook_url", "").strip(),
            )
    except (services.WatchError, ValueError) as exc:
        return TemplateResponse(request, "watch/new.html", {**context, "error": str(exc)}, status=400)
    messages.success(request, f"Saved “{search.name}”.")
    return HttpResponseRedirect(reverse("watch:inbox"))


def flags(request: HttpRequest) -> HttpResponse:
    if not selectors.may_see_flags(request.user):
        raise PermissionDenied("Access flags are for compliance.")
    rows = [(flag, explorer_url(flag.explorer_params)) for flag in selectors.open_flags()]
    return TemplateResponse(
        request,
        "watch/flags.html",
        {**admin.site.each_context(request), "title": "Access flags", "rows": rows},
    )


@require_POST
def dismiss(request: HttpRequest, pk: int) -> HttpResponse:
    if not selectors.may_see_flags(request.user):
        raise PermissionDenied("Access flags are for compliance.")
    flag = get_object_or_404(AccessFlag, pk=pk)
    try:
        services.dismiss_flag(flag=flag, user=request.user, reason=request.POST.get("reason", ""))
    except services.WatchError as exc:
        messages.error(request, str(exc))
    return HttpResponseRedirect(reverse("watch:flags"))


def _require_reviewer(request: HttpRequest) -> None:
    if not request.user.is_superuser:
        raise PermissionDenied("Access reviews are for superusers.")


def reviews(request: HttpRequest) -> HttpResponse:
    _require_reviewer(request)
    if request.method == "POST":
        cycle = review_services.start_cycle(reviewer=request.user, name=request.POST.get("name", ""))
        return HttpResponseRedirect(reverse("watch:review", args=[cycle.pk]))
    context = {
        **admin.site.each_context(request),
        "title": "Access reviews",
        "cycles": ReviewCycle.objects.all()[:50],
    }
    return TemplateResponse(request, "watch/reviews.html", context)


def review(request: HttpRequest, pk: int) -> HttpResponse:
    _require_reviewer(request)
    cycle = get_object_or_404(ReviewCycle, pk=pk)
    if request.method == "POST":
        item = get_object_or_404(ReviewItem, pk=request.POST.get("item", "0"), cycle=cycle)
        try:
            review_services.decide(
                item=item, reviewer=request.user, revoke=request.POST.get("decision") == "revoke"
            )
        except services.WatchError as exc:
            messages.error(request, str(exc))
        return HttpResponseRedirect(reverse("watch:review", args=[cycle.pk]))
    items = list(cycle.items.select_related("staff", "decided_by"))
    rows = [(item, review_services.unused(item)) for item in items]
    decided = sum(1 for item in items if item.decision != ReviewItem.Decision.PENDING)
    context = {
        **admin.site.each_context(request), "title": cycle.name, "cycle": cycle, "rows": rows,
        "decided": decided, "total": len(items), "unused_days": review_services.UNUSED_DAYS,
    }  # fmt: skip
    return TemplateResponse(request, "watch/review.html", context)


def review_csv(request: HttpRequest, pk: int) -> HttpResponse:
    _require_reviewer(request)
    cycle = get_object_or_404(ReviewCycle, pk=pk)
    response = HttpResponse(review_services.cycle_csv(cycle=cycle), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="access-review-{cycle.pk}.csv"'
    return response
