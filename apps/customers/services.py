"""Writes of the customers app: building an access report is itself an access, and logged."""

from __future__ import annotations

from typing import Any

from apps.auditlog import events
from apps.auditlog.services import record_event
from apps.customers.accesses import AccessReport


def record_access_report(*, staff: Any, customer: Any, report: AccessReport, fmt: str) -> None:
    """``report.access_built``, whose subject is the person the report is about."""
    record_event(
        event_type=events.REPORT_ACCESS_BUILT,
        actor=staff,
        entity_type=customer._meta.label,
        entity_id=str(customer.pk),
        brand_id=getattr(customer, "brand_id", None),
        subject_id=str(customer.pk),
        details={
            "format": fmt,
            "since": report.since.isoformat() if report.since else None,
            "until": report.until.isoformat() if report.until else None,
            "accesses": len(report.accesses),
        },
    )
