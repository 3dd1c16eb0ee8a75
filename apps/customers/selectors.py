"""Everything the customer page reads, assembled from the panels and the audit explorer."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import DatabaseError

from apps.access import policy
from apps.customers.panels import PANELS, PanelResult, load_panels
from apps.explorer import selectors as audit
from apps.explorer.query import AuditQuery
from apps.identity.models import User

AUDIT_ROWS = 15


@dataclass
class CustomerPage:
    user: Any  # the identity.User record
    facts: dict[str, Any]
    panels: list[PanelResult] = field(default_factory=list)
    audit_rows: list[Any] = field(default_factory=list)
    audit_error: str | None = None
    #: Services whose audit logs did not answer in time (their events are missing here).
    audit_unanswered: list[str] = field(default_factory=list)

    @property
    def phi_panels(self) -> list[str]:
        return [p.panel.key for p in self.panels if p.has_phi and not p.error]


def customer(*, user_id: str, staff: Any) -> Any | None:
    """The identity record of a customer this staff member may see, or None (another brand, no such user)."""
    try:
        key = User._meta.pk.to_python(user_id)
    except ValidationError:
        return None  # not an id at all; a database error, though, must not look like "not found"
    return policy.scope(User.objects.all(), staff).filter(pk=key).first()


def customer_page(*, customer_record: Any, staff: Any) -> CustomerPage:
    user_id = str(customer_record.pk)
    facts = {
        "email": customer_record.email,
        "phone": customer_record.phone,
        "brand_id": customer_record.brand_id,
    }
    page = CustomerPage(user=customer_record, facts=facts)
    # Every panel's schema and every audit log in one fan-out: the page costs its slowest source.
    plan = audit.plan_audit_page(
        query=AuditQuery(subject_id=user_id, entity_type="user"), user=staff, limit=AUDIT_ROWS
    )
    page.panels, audit_outcomes = load_panels(
        PANELS, user_id=user_id, facts=facts, user=staff, extra=plan.tasks
    )
    try:
        assembled = plan.assemble(audit_outcomes)
    except DatabaseError as exc:
        page.audit_error = f"The audit logs are unavailable right now ({type(exc).__name__})."
    else:
        page.audit_rows = assembled.rows
        page.audit_unanswered = assembled.unanswered
    return page
