"""Every permission the back-office checks, named once. Roles (roles.py) grant them; the policy,
the features and the console check them by these names only.

Action permissions are per action: ``services.run_<action name>`` (apps.services.actions).
"""

from __future__ import annotations

#: Platform-wide: every brand's records (never implied by having no brand bound).
VIEW_ALL_BRANDS = "access.view_all_brands"
#: Customers' contact details in clear (email, phone, address, name, network address).
VIEW_CONTACT = "access.view_contact"
#: Reveal one record's PHI with a written reason, for PHI_REVEAL_MINUTES.
REVEAL_PHI = "access.reveal_phi"
#: Export records and audit events (CSV, JSON Lines).
EXPORT_RECORDS = "access.export_records"
#: Read the back-office's own audit log, conformance and the other compliance pages.
VIEW_BACKOFFICE_AUDIT = "access.view_backoffice_audit"
#: Build a customer's access report: who saw their data, when and why (apps.customers).
VIEW_ACCESS_REPORTS = "access.view_access_reports"
#: The back-office audit log's admin list.
VIEW_AUDIT_EVENTS = "auditlog.view_auditevent"
#: Approve (or reject, or retry) another person's money action: four eyes.
APPROVE_MONEY_ACTIONS = "services.approve_money_actions"
#: See action requests.
VIEW_ACTION_REQUESTS = "services.view_actionrequest"


def run_action(name: str) -> str:
    """The permission to take one service action."""
    return f"services.run_{name}"
