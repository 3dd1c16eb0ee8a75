"""The customer page's panels: one declaration each, every one read from its own schema through
its own alias, bounded, brand-scoped and masked; a panel that fails says why and the others
still render.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from django.apps import apps
from django.contrib.admin.utils import quote
from django.db import models, router
from django.urls import NoReverseMatch, reverse
from django.utils.http import urlencode

from apps.access import policy
from apps.core import fanout
from apps.core.db import QUERY_CANCELED, sqlstate
from apps.core.display import admin_url, render_cell
from apps.core.formatting import currency_joins
from apps.services.actions import available_actions

ROWS = 10


@dataclass(frozen=True)
class Panel:
    key: str
    title: str
    model: str  # model label
    columns: tuple[str, ...]
    lookup: Callable[[str, dict[str, Any]], dict[str, Any]]  # (user_id, profile facts) -> filter kwargs
    order_by: tuple[str, ...] = ()
    #: Link "all rows" to the admin changelist filtered exactly as the panel is.
    links_full_list: bool = True
    related: tuple[str, ...] = ()
    limit: int = ROWS

    def get_model(self) -> type[models.Model]:
        return apps.get_model(self.model)


def _by(field_name: str) -> Callable[[str, dict[str, Any]], dict[str, Any]]:
    return lambda user_id, facts: {field_name: user_id}


PANELS: tuple[Panel, ...] = (
    Panel("sessions", "Active sessions", "identity.Session", ("id", "ip", "user_agent", "created_at", "expires_at"),
          lambda u, f: {"user_id": u, "revoked_at__isnull": True}, ("-created_at",)),
    Panel("orders", "Orders", "commerce.Order", ("id", "number", "status", "total_cents", "placed_at"),
          _by("user_id"), ("-placed_at",)),
    Panel("subscriptions", "Subscriptions", "commerce.Subscription",
          ("id", "plan_sku", "status", "started_at", "next_renewal_at", "cancelled_at"), _by("user_id"), ("-started_at",)),
    Panel("charges", "Charges", "payments.Charge",
          ("id", "amount_cents", "status", "processor_ref", "created_at"), _by("user_id"), ("-created_at",)),
    Panel("refunds", "Refunds", "payments.Refund", ("id", "charge", "amount_cents", "status", "reason", "created_at"),
          _by("charge__user_id"), ("-created_at",)),
    Panel("disputes", "Disputes", "payments.Dispute", ("id", "charge", "amount_cents", "status", "reason", "opened_at"),
          _by("charge__user_id"), ("-opened_at",)),
    Panel("balance", "Ledger balance", "accounting.Balance", ("account", "balance_cents", "as_of"),
          lambda u, f: {"account__owner_type": "user", "account__owner_id": u}),
    Panel("wallet", "Cash wallet", "cash.Wallet", ("id", "balance_cents", "updated_at"), _by("user_id")),
    Panel("membership", "Membership", "membership.MemberStatus", ("id", "tier", "status", "since", "until"),
          _by("user_id"), ("-since",), related=("tier",)),
    Panel("messages", "Messages", "comms.Message", ("id", "channel", "template", "status", "sent_at"),
          _by("user_id"), ("-sent_at",)),
    # Matched by address, a contact column the admin does not filter on: no full-list link.
    Panel("suppressions", "Suppressions", "comms.Suppression", ("id", "address", "channel", "reason", "created_at"),
          lambda u, f: {"address__in": [a for a in (f.get("email"), f.get("phone")) if a]}, ("-created_at",),
          links_full_list=False),
    Panel("visits", "Bookings", "booking.Visit", ("id", "provider", "visit_type", "status", "scheduled_at", "notes"),
          _by("user_id"), ("-scheduled_at",)),
    Panel("wearables", "Wearable connections", "integrations.WearableConnection",
          ("id", "provider", "status", "connected_at", "token_expires_at"), _by("user_id"), ("-connected_at",)),
    Panel("posts", "Community posts", "community.Post", ("id", "status", "body", "created_at"),
          _by("author_user_id"), ("-created_at",)),
    Panel("blocks", "Blocks", "follows.Block", ("id", "blocked_id", "created_at"), _by("blocker_id"), ("-created_at",)),
    Panel("attribution", "Affiliate attribution", "affiliates.Attribution",
          ("id", "affiliate", "channel", "order_id", "attributed_at"), _by("customer_user_id"), ("-attributed_at",)),
    Panel("biomarkers", "Biomarkers", "clinical.Biomarker", ("id", "code", "value", "unit", "measured_at"),
          _by("user_id"), ("-measured_at",)),
    Panel("red_flags", "Red flags", "clinical.RedFlag", ("id", "severity", "raised_at", "acknowledged_at"),
          _by("user_id"), ("-raised_at",)),
    Panel("patient_profile", "Patient graph", "patient_graph.CustomerProfile",
          ("id", "date_of_birth", "sex", "conditions", "updated_at"), _by("user_id")),
)  # fmt: skip


@dataclass
class PanelResult:
    panel: Panel
    headers: list[str] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)  # {"cells": [...], "url": ..., "actions": [...]}
    more_url: str | None = None
    error: str | None = None
    has_phi: bool = False
    elapsed_ms: float = 0.0


def _changelist_url(model: type[models.Model], params: dict[str, str]) -> str | None:
    try:
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    except NoReverseMatch:
        return None
    return f"{url}?{urlencode(params)}"


def _unavailable(exc: Exception, alias: str) -> str:
    cause = exc.__cause__ or exc
    if sqlstate(exc) == QUERY_CANCELED:
        return f"The {alias.removeprefix('platform_')} schema did not answer in time; try again shortly."
    first_line = str(cause).strip().splitlines()[0] if str(cause).strip() else type(cause).__name__
    return f"The {alias.removeprefix('platform_')} schema is unavailable right now ({first_line[:160]})."


def _ordering(panel: Panel, model: type[models.Model], user: Any) -> list[str]:
    """The panel's order, without any column the policy keeps from this person (a masked date
    would still leak through the order of the rows): newest key first instead."""
    allowed = [
        name
        for name in panel.order_by
        if policy.may_use_as_key(
            user, cast("models.Field[Any, Any]", model._meta.get_field(name.lstrip("-")))
        )
    ]
    return allowed if len(allowed) == len(panel.order_by) else [*allowed, "-pk"]


@dataclass
class PanelRead:
    """A panel prepared on the caller's thread (permission, scope, masking decided): ``task``
    only reads its rows, on any thread; ``finish`` renders them, on the caller's."""

    result: PanelResult
    task: fanout.Task[list[models.Model]]
    fields: list[models.Field[Any, Any]]
    kinds: dict[str, str]
    user_id: str
    facts: dict[str, Any]
    user: Any

    def finish(self, outcome: fanout.Outcome[list[models.Model]]) -> PanelResult:
        """The rendered panel from its rows, or what went wrong reading them."""
        result, panel = self.result, self.result.panel
        result.elapsed_ms = outcome.elapsed_ms
        if outcome.error is not None:
            result.error = _unavailable(outcome.error, self.task.using)
            return result
        objects = outcome.value or []
        opts = panel.get_model()._meta
        for obj in objects[: panel.limit]:
            cells = []
            for f in self.fields:
                kind = self.kinds[f.name]
                cells.append(render_cell(obj, f, masked_kind=None if policy.sees(self.user, kind) else kind))
            actions = [
                (
                    a,
                    reverse(
                        f"admin:{opts.app_label}_{opts.model_name}_act", args=[quote(str(obj.pk)), a.name]
                    ),
                )
                for a in available_actions(self.user, obj)
            ]
            # The first cell opens the record, unless it is a link already (a relation such as a
            # balance's account): a link inside a link is no link to a screen reader.
            url = None if str(cells[0]).lstrip().startswith("<a ") else admin_url(opts.label, obj.pk)
            result.rows.append({"cells": cells, "url": url, "actions": actions})
        if panel.links_full_list and objects:
            result.more_url = _changelist_url(panel.get_model(), panel.lookup(self.user_id, self.facts))
        return result


def prepare_panel(panel: Panel, *, user_id: str, facts: dict[str, Any], user: Any) -> PanelRead | None:
    """One panel's read, ready to run, or None when the staff member's role does not cover its schema."""
    model = panel.get_model()
    opts = model._meta
    if not user.has_perm(f"{opts.app_label}.view_{opts.model_name}"):
        return None
    fields = [cast("models.Field[Any, Any]", opts.get_field(name)) for name in panel.columns]
    kinds = {f.name: policy.category(f) for f in fields}
    result = PanelResult(panel, headers=[str(f.verbose_name) for f in fields])
    result.has_phi = policy.PHI in kinds.values()
    alias = router.db_for_read(model)
    queryset = policy.scope(model._default_manager.all(), user).filter(**panel.lookup(user_id, facts))
    # Amounts show in their currency: the row's, or its charge's/account's, joined here.
    related = [*panel.related, *currency_joins(model)]
    if related:
        queryset = queryset.select_related(*related)
    limited = queryset.order_by(*_ordering(panel, model, user))[: panel.limit + 1]
    task: fanout.Task[list[models.Model]] = fanout.queryset_task(panel.key, limited.using(alias))
    return PanelRead(result, task, fields, kinds, user_id, facts, user)


def load_panels(
    panels: Sequence[Panel],
    *,
    user_id: str,
    facts: dict[str, Any],
    user: Any,
    extra: Sequence[fanout.Task[Any]] = (),
) -> tuple[list[PanelResult], list[fanout.Outcome[Any]]]:
    """The panels this staff member may see, their schemas read concurrently (apps.core.fanout),
    together with ``extra`` tasks (the page's other reads); returns the panels in order and the
    extra tasks' outcomes. A panel that fails or does not answer in time says why; the others render."""
    reads = [r for r in (prepare_panel(p, user_id=user_id, facts=facts, user=user) for p in panels) if r]
    outcomes = fanout.fan_out([*(r.task for r in reads), *extra])
    return [r.finish(o) for r, o in zip(reads, outcomes, strict=False)], outcomes[len(reads) :]
