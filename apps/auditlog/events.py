"""Every event type the back-office writes to its own audit log, named once.

Writers use these constants (never a string typed at the call site); the audit log's filters
and the explorer's event-type choices read ``FAMILIES`` and ``ALL``.
"""

from __future__ import annotations

# --- staff accounts -----------------------------------------------------------------------
STAFF_LOGIN = "staff.login"
STAFF_LOGIN_FAILED = "staff.login_failed"
STAFF_SESSION_EXPIRED = "staff.session_expired"
STAFF_GROUPS_CHANGED = "staff.groups_changed"
STAFF_PERMISSIONS_CHANGED = "staff.permissions_changed"
STAFF_FLAGS_CHANGED = "staff.flags_changed"
STAFF_BRAND_ADDED = "staff.brand_added"
STAFF_BRAND_CHANGED = "staff.brand_changed"
STAFF_BRAND_REMOVED = "staff.brand_removed"

# --- protected health information ---------------------------------------------------------
PHI_VIEWED = "phi.viewed"
PHI_REVEALED = "phi.revealed"
PHI_EXPORTED = "phi.exported"

# --- customers' data (the access report lists these, with phi.*, export.* and service.*) ------
CUSTOMER_VIEWED = "customer.viewed"
CONTACT_VIEWED = "contact.viewed"
REPORT_ACCESS_BUILT = "report.access_built"

# --- the audit trail's own upkeep (apps.trail) ----------------------------------------------
TRAIL_ANCHORED = "trail.anchored"
TRAIL_CHECKPOINTED = "trail.checkpointed"
TRAIL_CHECKPOINTS_RESET = "trail.checkpoints_reset"

# --- exports ------------------------------------------------------------------------------
EXPORT_AUDIT = "export.audit"

# --- watch: saved searches, alert rules, access flags ---------------------------------------
WATCH_SEARCH_SAVED = "watch.search_saved"
WATCH_RULE_CREATED = "watch.rule_created"
WATCH_FLAG_DISMISSED = "watch.flag_dismissed"
WATCH_REVIEW_STARTED = "watch.review_started"
WATCH_REVIEW_CONFIRMED = "watch.review_confirmed"
WATCH_REVIEW_REVOKED = "watch.review_revoked"

# --- service actions ----------------------------------------------------------------------
SERVICE_ACTION_REQUESTED = "service.action_requested"
SERVICE_ACTION_APPROVED = "service.action_approved"
SERVICE_ACTION_REJECTED = "service.action_rejected"
SERVICE_ACTION_SENT = "service.action_sent"
SERVICE_ACTION_FAILED = "service.action_failed"
SERVICE_ACTION_SUCCEEDED = "service.action_succeeded"

ALL: tuple[str, ...] = tuple(
    value for name, value in sorted(globals().items()) if name.isupper() and isinstance(value, str)
)
#: Event families, each a prefix ending in "." (the explorer's prefix filter takes them as they are).
FAMILIES: tuple[str, ...] = tuple(sorted({event.split(".")[0] + "." for event in ALL}))
