"""What each role needs first: the landing dashboard's sections and the global navigation.

Everything here is a cheap, bounded read: a handful of indexed rows per section and never a COUNT
over an audit table (the explorer's newest-first keyset read gives the latest events).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import DatabaseError
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode

from apps.access import permissions, policy
from apps.access.filters import brand_choices
from apps.access.roles import ROLE_NAMES
from apps.core.types import StaffUser
from apps.customers.search import accepted_kinds
from apps.explorer.query import AuditQuery
from apps.explorer.selectors import AuditRow, audit_page
from apps.explorer.sources import sources_for
from apps.services.actions import BY_NAME
from apps.services.models import ActionRequest
from apps.watch.selectors import WatchSummary
from apps.watch.selectors import summary as watch_summary

logger = logging.getLogger(__name__)

APPROVE_PERMISSION = permissions.APPROVE_MONEY_ACTIONS
CONFORMANCE_PERMISSION = permissions.VIEW_BACKOFFICE_AUDIT
SECTION_ROWS = 10
LATEST_EVENTS = 5
# (label, admin changelist URL name) of the brand manager's everyday lists.
BRAND_SHORTCUTS = (
    ("Orders", "admin:commerce_order_changelist"),
    ("Affiliates", "admin:affiliates_affiliate_changelist"),
    ("Payouts", "admin:affiliates_payout_changelist"),
)
# (label, admin changelist URL name, filter, permission) of support's everyday queues.
SUPPORT_SHORTCUTS = (
    ("Locked accounts", "admin:identity_user_changelist", {"status__exact": "locked"}, "identity.view_user"),
    ("Failed webhook deliveries", "admin:webhooks_outbounddelivery_changelist", {"status__exact": "failed"},
     "webhooks.view_outbounddelivery"),
    ("Disputes needing a response", "admin:payments_dispute_changelist", {"status__exact": "needs_response"},
     "payments.view_dispute"),
)  # fmt: skip


@dataclass(frozen=True)
class Link:
    """A labelled destination; ``current`` marks the navigation entry of the page being shown."""

    label: str
    url: str
    current: bool = False


@dataclass(frozen=True)
class RequestItem:
    """An ActionRequest with the action's human name, for a dashboard list."""

    request: ActionRequest
    label: str

    @property
    def amount(self) -> str:
        cents = self.request.amount_cents
        return "" if cents is None else f"{cents / 100:,.2f}"


def _items(requests: Iterable[ActionRequest]) -> list[RequestItem]:
    return [RequestItem(r, BY_NAME[r.action].label if r.action in BY_NAME else r.action) for r in requests]


@dataclass
class BrandShortcuts:
    """One brand with its everyday lists, already filtered to it."""

    brand_id: str
    name: str
    links: list[Link]


@dataclass
class Dashboard:
    """The sections one staff member's landing page shows; a section that is None is not theirs."""

    roles: frozenset[str]
    customer_search: bool = False
    customer_search_kinds: list[str] | None = None  # what this person may find a customer by
    #: Why the person sees no platform row (bound to no brand and not platform-wide), if so.
    no_brands: str = ""
    my_pending: list[RequestItem] | None = None  # asked for by this person, awaiting a second one
    approvals: list[RequestItem] | None = None  # awaiting this person's four-eyes decision
    latest_events: list[AuditRow] | None = None  # newest first
    latest_error: str = ""
    explorer_url: str = ""
    today_url: str = ""
    conformance_url: str = ""
    trail_url: str = ""
    approvals_url: str = ""
    requests_url: str = ""
    shortcuts: list[Link] | None = None
    brands: list[BrandShortcuts] | None = None
    watch: WatchSummary | None = None  # alerts; for compliance also flags and today's reveals and exports


def roles_of(user: StaffUser) -> frozenset[str]:
    """The back-office roles a staff member holds; a superuser holds every one of them."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return frozenset()
    if user.is_superuser:
        return frozenset(ROLE_NAMES)
    return frozenset(user.groups.filter(name__in=ROLE_NAMES).values_list("name", flat=True))


def nav_links(user: StaffUser, *, path: str = "") -> list[Link]:
    """The global navigation: only the destinations this person may actually use."""
    if not getattr(user, "is_authenticated", False) or not user.is_staff:
        return []
    candidates = [
        ("Customers", reverse("customers:search"), True),  # every staff member, scoped to their brands
        ("Audit explorer", reverse("explorer:index"), bool(sources_for(user))),
        ("Pending approvals", _approvals_url(), user.has_perm(APPROVE_PERMISSION)),
        ("Conformance", reverse("conformance:index"), user.has_perm(CONFORMANCE_PERMISSION)),
    ]
    return [
        Link(label, url, current=path.startswith(url.split("?")[0]))
        for label, url, allowed in candidates
        if allowed
    ]


def _approvals_url() -> str:
    return (
        reverse("admin:services_actionrequest_changelist")
        + "?"
        + urlencode({"status__exact": ActionRequest.Status.PENDING_APPROVAL})
    )


def pending_requests_of(user: StaffUser, *, limit: int = SECTION_ROWS) -> list[RequestItem]:
    """This person's own action requests still waiting for a second person's approval."""
    return _items(
        ActionRequest.objects.filter(
            requested_by=user, status=ActionRequest.Status.PENDING_APPROVAL
        ).order_by("-created_at")[:limit]
    )


def pending_approvals(user: StaffUser, *, limit: int = SECTION_ROWS) -> list[RequestItem]:
    """Requests of the brands this person may see that wait for a four-eyes decision, oldest first."""
    queryset = ActionRequest.objects.filter(status=ActionRequest.Status.PENDING_APPROVAL)
    return _items(policy.scope(queryset, user).select_related("requested_by").order_by("created_at")[:limit])


def latest_events(user: StaffUser, *, limit: int = LATEST_EVENTS) -> list[AuditRow]:
    """The newest events across every audit log this person may read (keyset reads, no counting)."""
    return audit_page(query=AuditQuery(), user=user, limit=limit).rows


def support_shortcuts(user: StaffUser) -> list[Link]:
    """Support's queues (locked accounts, failed deliveries, disputes to answer) this person may open."""
    return [
        Link(label, reverse(url_name) + "?" + urlencode(params))
        for label, url_name, params, permission in SUPPORT_SHORTCUTS
        if user.has_perm(permission)
    ]


def brand_shortcuts(user: StaffUser) -> list[BrandShortcuts]:
    """Each brand this person may see, with its orders, affiliates and payouts lists pre-filtered."""
    return [
        BrandShortcuts(
            brand_id=brand_id,
            name=label,
            links=[
                Link(title, reverse(url_name) + "?" + urlencode({"brand_id": brand_id}))
                for title, url_name in BRAND_SHORTCUTS
            ],
        )
        for brand_id, label in brand_choices(user)
    ]


def dashboard_for(user: StaffUser) -> Dashboard:
    """The landing page of one staff member: support first, then compliance, then brands."""
    roles = roles_of(user)
    board = Dashboard(roles=roles)
    if roles and policy.allowed_brands(user) == frozenset():
        board.no_brands = (
            "You are bound to no brand and have no platform-wide grant, so you see no platform records "
            "and can take no action. Ask a superuser to bind your account to your brands."
        )
    if "support" in roles:
        board.customer_search = True
        board.customer_search_kinds = accepted_kinds(user)
        board.my_pending = pending_requests_of(user)
        board.requests_url = reverse("admin:services_actionrequest_changelist")
        board.shortcuts = support_shortcuts(user)
    if "compliance" in roles:
        board.explorer_url = reverse("explorer:index")
        board.today_url = board.explorer_url + "?" + urlencode({"since": timezone.now().date().isoformat()})
        try:
            board.latest_events = latest_events(user) if sources_for(user) else []
        except DatabaseError as exc:
            # One slow or broken schema must not take the landing page down with it.
            logger.warning("dashboard: latest audit events unavailable: %s", exc)
            board.latest_events = []
            board.latest_error = "The audit logs could not be read just now; the explorer may say more."
        board.approvals = pending_approvals(user) if user.has_perm(APPROVE_PERMISSION) else None
        board.approvals_url = _approvals_url()
        if user.has_perm(CONFORMANCE_PERMISSION):
            board.conformance_url = reverse("conformance:index")
            board.trail_url = reverse("trail:index")
    if "brand_manager" in roles:
        board.brands = brand_shortcuts(user)
    if roles:
        board.watch = watch_summary(user=user)
    return board
