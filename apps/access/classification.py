"""What every platform column holds: protected health information, contact details, or neither.

The one reviewable declaration of data sensitivity. ``apps.access.policy`` reads it and nothing
else decides. Three categories:

- ``PHI``: protected health information: measurements, conditions, care received, dates of care,
  anything a person wrote about their health. Masked for everyone by default; roles with
  ``access.reveal_phi`` reveal one record at a time, with a written reason.
- ``CONTACT``: what reaches or identifies a person outside the platform: email, phone, postal
  address, name, network address and device. Visible to roles with ``access.view_contact``.
- ``PLAIN``: neither.

Keys are classified by structure, not listed here: a table's primary key, ``brand_id``, foreign
keys inside the schema and cross-service ids (``ServiceRef``) are ``PLAIN``, so a masked record
can still be found, linked and revealed.

A column this declaration does not list (an expand migration added it, and the models were
regenerated) is **unclassified**, and the policy fails closed: it is treated as PHI in a schema
that holds any PHI and as contact details elsewhere, until someone classifies it here.
``schema_drift`` and ``platform_check`` list unclassified columns of the live cluster.

Every table is listed ``"<schema>.<table>": {column: category}``; a tuple ``(category, reason)``
gives the one-line reason for a choice that is not obvious.
"""

from __future__ import annotations

from functools import cache

PHI = "phi"
CONTACT = "contact"
PLAIN = "plain"
CATEGORIES = (PHI, CONTACT, PLAIN)

# Every service's standard audit_log. ``details`` is JSON whose keys are classified one by one
# (AUDIT_DETAIL_KEYS below); the other columns describe the event, not the person.
AUDIT_LOG = {
    "occurred_at": PLAIN,
    "actor_type": PLAIN,
    "actor_id": PLAIN,
    "actor_brand_id": PLAIN,
    "event_type": PLAIN,
    "entity_type": PLAIN,
    "entity_id": PLAIN,
    "request_id": PLAIN,
    "details": (PHI, "classified key by key: see AUDIT_DETAIL_KEYS; unlisted keys fail closed"),
}

TABLES: dict[str, dict[str, str | tuple[str, str]]] = {
    # --- platform ------------------------------------------------------------------------
    "platform.brands": {"name": PLAIN, "status": PLAIN, "created_at": PLAIN},
    "platform.settings": {"key": PLAIN, "value": PLAIN, "updated_at": PLAIN},
    # --- identity ------------------------------------------------------------------------
    "identity.users": {
        "email": CONTACT,
        "phone": CONTACT,
        "display_name": (CONTACT, "a person's name identifies them as surely as their email"),
        "status": PLAIN,
        "mfa_enabled": PLAIN,
        "created_at": PLAIN,
        "last_login_at": PLAIN,
    },
    "identity.oauth_clients": {"client_id": PLAIN, "name": PLAIN, "redirect_uris": PLAIN, "scopes": PLAIN},
    "identity.grants": {"scopes": PLAIN, "granted_at": PLAIN, "revoked_at": PLAIN},
    "identity.tokens": {
        "kind": PLAIN,
        "token_hash": (PLAIN, "a one-way hash: the token itself is never stored"),
        "expires_at": PLAIN,
        "revoked_at": PLAIN,
    },
    "identity.sessions": {
        "ip": (CONTACT, "a network address locates a person"),
        "user_agent": (CONTACT, "a device fingerprint: personal data under GDPR"),
        "created_at": PLAIN,
        "expires_at": PLAIN,
        "revoked_at": PLAIN,
    },
    "identity.role_assignments": {"role": PLAIN, "scope": PLAIN, "assigned_by": PLAIN},
    # --- accounting ----------------------------------------------------------------------
    "accounting.accounts": {
        "owner_type": PLAIN,
        "owner_id": (PLAIN, "an id of another service's record, stored as text"),
        "currency": PLAIN,
        "kind": PLAIN,
    },
    "accounting.balances": {"balance_cents": PLAIN, "as_of": PLAIN},
    "accounting.transactions": {
        "amount_cents": PLAIN,
        "entry_type": PLAIN,
        "reference_type": PLAIN,
        "reference_id": PLAIN,
        "occurred_at": PLAIN,
        "request_id": PLAIN,
    },
    # --- payments ------------------------------------------------------------------------
    "payments.charges": {
        "amount_cents": PLAIN,
        "currency": PLAIN,
        "status": PLAIN,
        "processor": PLAIN,
        "processor_ref": PLAIN,
        "created_at": PLAIN,
    },
    "payments.refunds": {
        "amount_cents": PLAIN,
        "reason": (PLAIN, "a reason code or a staff member's short note about the money"),
        "status": PLAIN,
        "requested_by": PLAIN,
        "created_at": PLAIN,
    },
    "payments.disputes": {
        "reason": PLAIN,
        "status": PLAIN,
        "amount_cents": PLAIN,
        "evidence": (CONTACT, "evidence bundles carry the customer's address and correspondence"),
        "opened_at": PLAIN,
        "closed_at": PLAIN,
    },
    "payments.subscriptions": {
        "plan": PLAIN,
        "status": PLAIN,
        "current_period_end": PLAIN,
        "processor_ref": PLAIN,
    },
    # --- commerce ------------------------------------------------------------------------
    "commerce.carts": {"status": PLAIN, "updated_at": PLAIN},
    "commerce.cart_items": {"sku": PLAIN, "quantity": PLAIN, "unit_price_cents": PLAIN},
    "commerce.orders": {
        "number": PLAIN,
        "status": PLAIN,
        "total_cents": PLAIN,
        "currency": PLAIN,
        "shipping_address": CONTACT,
        "placed_at": PLAIN,
    },
    "commerce.order_items": {"sku": PLAIN, "quantity": PLAIN, "unit_price_cents": PLAIN},
    "commerce.subscriptions": {
        "plan_sku": PLAIN,
        "status": PLAIN,
        "started_at": PLAIN,
        "cancelled_at": PLAIN,
        "next_renewal_at": PLAIN,
    },
    # --- clinical: every value is about a patient's health -------------------------------
    "clinical.biomarkers": {
        "code": PHI,
        "name": PHI,
        "value": PHI,
        "unit": PHI,
        "measured_at": (PHI, "a date of care is one of HIPAA's identifiers"),
        "source": PHI,
    },
    "clinical.protocols": {"name": PHI, "status": PHI, "details": PHI, "started_at": PHI},
    "clinical.recommendations": {"body": PHI, "status": PHI, "created_at": PHI},
    "clinical.red_flags": {
        "severity": PHI,
        "note": PHI,
        "raised_at": PHI,
        "acknowledged_at": PHI,
        "acknowledged_by": (PLAIN, "the clinician's staff id, not about the patient"),
    },
    # --- affiliates ----------------------------------------------------------------------
    "affiliates.affiliates": {"code": PLAIN, "status": PLAIN, "tier": PLAIN, "joined_at": PLAIN},
    "affiliates.attributions": {"channel": PLAIN, "attributed_at": PLAIN},
    "affiliates.commissions": {"amount_cents": PLAIN, "status": PLAIN},
    "affiliates.payouts": {"amount_cents": PLAIN, "status": PLAIN, "scheduled_for": PLAIN, "paid_at": PLAIN},
    # --- membership ----------------------------------------------------------------------
    "membership.tiers": {"name": PLAIN, "rank": PLAIN, "benefits": PLAIN},
    "membership.member_status": {"status": PLAIN, "since": PLAIN, "until": PLAIN},
    "membership.commission_locks": {"locked_until": PLAIN, "reason": PLAIN},
    # --- comms ---------------------------------------------------------------------------
    "comms.messages": {
        "channel": PLAIN,
        "template": PLAIN,
        "status": PLAIN,
        "provider_ref": PLAIN,
        "sent_at": PLAIN,
    },
    "comms.inbox_items": {"read_at": PLAIN, "archived_at": PLAIN},
    "comms.preferences": {"channel": PLAIN, "topic": PLAIN, "opted_in": PLAIN},
    "comms.suppressions": {
        "address": (CONTACT, "an email address or a phone number"),
        "channel": PLAIN,
        "reason": PLAIN,
        "created_by": PLAIN,
        "created_at": PLAIN,
    },
    # --- community: public posts, moderated by brand managers ----------------------------
    "community.posts": {
        "body": (PLAIN, "published to the community; moderators must read it to hide it"),
        "status": PLAIN,
        "created_at": PLAIN,
    },
    "community.comments": {"body": (PLAIN, "published to the community"), "status": PLAIN},
    "community.likes": {"created_at": PLAIN},
    # --- follows -------------------------------------------------------------------------
    "follows.follows": {"created_at": PLAIN},
    "follows.blocks": {"created_at": PLAIN},
    # --- content: published CMS content --------------------------------------------------
    "content.pages": {"slug": PLAIN, "title": PLAIN, "status": PLAIN, "layout": PLAIN, "published_at": PLAIN},
    "content.articles": {
        "slug": PLAIN,
        "title": PLAIN,
        "author": PLAIN,
        "body": PLAIN,
        "published_at": PLAIN,
    },
    "content.media": {
        "filename": PLAIN,
        "mime_type": PLAIN,
        "filesize": PLAIN,
        "url": PLAIN,
        "alt": PLAIN,
    },
    # --- analytics: health outcomes live here too ----------------------------------------
    "analytics.events": {
        "anonymous_id": (PLAIN, "a pseudonymous device id, a key for joining events"),
        "name": PLAIN,
        "properties": (CONTACT, "free-form per-person properties: paths, sessions, any identifier"),
        "occurred_at": PLAIN,
    },
    "analytics.attributions": {
        "source": PLAIN,
        "medium": PLAIN,
        "campaign": PLAIN,
        "first_touch_at": PLAIN,
    },
    "analytics.cohorts": {"name": PLAIN, "definition": PLAIN},
    "analytics.outcomes": {
        "metric": (PHI, "names a person's health measurement: weight, VO2max, sleep, resting heart rate"),
        "value": (PHI, "the measurement itself"),
        "measured_at": (PHI, "a date of care"),
    },
    # --- patient graph: every value is about a patient's health ---------------------------
    "patient_graph.customer_profiles": {
        "date_of_birth": PHI,
        "sex": PHI,
        "conditions": PHI,
        "medications": PHI,
        "updated_at": PHI,
    },
    "patient_graph.order_history": {
        "summary": (PHI, "what a patient ordered from a health platform"),
        "ordered_at": PHI,
    },
    "patient_graph.wearable_syncs": {"device": PHI, "metric": PHI, "value": PHI, "recorded_at": PHI},
    # --- webhooks ------------------------------------------------------------------------
    "webhooks.endpoints": {"url": PLAIN, "secret_hash": PLAIN, "events": PLAIN, "active": PLAIN},
    "webhooks.inbound_deliveries": {
        "source": PLAIN,
        "event_type": PLAIN,
        "payload": (PHI, "wearable vendors post sleep and recovery measurements"),
        "status": PLAIN,
        "error": PLAIN,
        "received_at": PLAIN,
    },
    "webhooks.outbound_deliveries": {
        "event_type": PLAIN,
        "payload": (CONTACT, "order and customer events sent to partners carry contact details"),
        "attempt": PLAIN,
        "status": PLAIN,
        "response_code": PLAIN,
        "next_attempt_at": PLAIN,
        "delivered_at": PLAIN,
    },
    # --- events --------------------------------------------------------------------------
    "events.outbox": {
        "aggregate_type": PLAIN,
        "aggregate_id": PLAIN,
        "event_type": PLAIN,
        "payload": (CONTACT, "domain events carry whatever their aggregate holds"),
        "created_at": PLAIN,
        "published_at": PLAIN,
    },
    "events.delivery_audit": {"consumer": PLAIN, "status": PLAIN, "error": PLAIN, "attempted_at": PLAIN},
    # --- entitlements --------------------------------------------------------------------
    "entitlements.features": {"key": PLAIN, "description": PLAIN},
    "entitlements.tier_features": {"limits": PLAIN},
    # --- cash ----------------------------------------------------------------------------
    "cash.wallets": {"balance_cents": PLAIN, "updated_at": PLAIN},
    "cash.ledger_entries": {
        "amount_cents": PLAIN,
        "kind": PLAIN,
        "reference_type": PLAIN,
        "reference_id": PLAIN,
        "occurred_at": PLAIN,
    },
    # --- booking -------------------------------------------------------------------------
    "booking.providers": {
        "name": (PLAIN, "clinicians, not patients"),
        "specialty": PLAIN,
        "license_state": PLAIN,
        "active": PLAIN,
    },
    "booking.availability": {"starts_at": PLAIN, "ends_at": PLAIN, "status": PLAIN},
    "booking.visits": {
        "visit_type": (PHI, "names the care a person booked"),
        "status": (PLAIN, "scheduled, completed, cancelled: support reschedules with it"),
        "scheduled_at": (PLAIN, "support moves appointments; the time alone says nothing clinical"),
        "notes": (PHI, "clinicians' free-text notes"),
    },
    # --- ai ------------------------------------------------------------------------------
    "ai.conversations": {
        "title": (PHI, "titles summarise what a person asked about their health"),
        "started_at": PLAIN,
    },
    "ai.conversation_messages": {
        "role": PLAIN,
        "content": (PHI, "what a person told the assistant"),
        "created_at": PLAIN,
    },
    "ai.corpus_documents": {
        "source": PLAIN,
        "title": (PLAIN, "the reference corpus, not about anyone"),
        "body": PLAIN,
        "updated_at": PLAIN,
    },
    "ai.embeddings": {"chunk": PLAIN, "embedding": PLAIN, "created_at": PLAIN},
    # --- capri ---------------------------------------------------------------------------
    "capri.program_enrollments": {
        "program": (PHI, "the programme names the health goal (sleep, metabolic reset)"),
        "status": PLAIN,
        "enrolled_at": PLAIN,
    },
    "capri.check_ins": {
        "answers": (PHI, "self-reported sleep, energy, mood and adherence"),
        "submitted_at": PLAIN,
    },
    # --- integrations --------------------------------------------------------------------
    "integrations.wearable_connections": {
        "provider": PLAIN,
        "status": PLAIN,
        "connected_at": PLAIN,
        "token_expires_at": PLAIN,
    },
    "integrations.sync_runs": {
        "status": PLAIN,
        "records": PLAIN,
        "error": PLAIN,
        "started_at": PLAIN,
        "finished_at": PLAIN,
    },
    # --- jobs ----------------------------------------------------------------------------
    "jobs.job_runs": {
        "job_name": PLAIN,
        "status": PLAIN,
        "attempt": PLAIN,
        "args": (CONTACT, "job arguments name users and addresses"),
        "error": PLAIN,
        "started_at": PLAIN,
        "finished_at": PLAIN,
    },
}

# Keys of JSON details (audit logs, action payloads, service answers) known to be harmless in any
# source: ids, states, field names, counts. Every key ending in "_id" or "_ids" is an id too.
# Inside ``before``/``after`` the keys are the entity's field names, classified like its columns.
HARMLESS_DETAIL_KEYS = frozenset({
    "id", "action", "action_request", "status", "state", "kind", "type", "event", "channel",
    "fields", "field", "panels", "service", "services", "code", "attempt", "attempts", "replayed",
    "needs_approval", "revealed", "format", "rows", "completed", "limit_reached", "filters",
    "count", "currency", "amount_cents", "expires_at", "mfa", "role", "requested_by", "approved_by",
    "decided_by", "request_id", "client_request_id", "processor", "template", "topic", "severity_changed",
})  # fmt: skip
# Detail keys that are contact details wherever they appear.
CONTACT_DETAIL_KEYS = frozenset({
    "email", "phone", "address", "ip", "user_agent", "display_name", "shipping_address", "name",
})  # fmt: skip


def declared(schema: str, table: str, column: str) -> tuple[str, str] | None:
    """``(category, reason)`` as declared for one column, or None when it is not listed."""
    columns = AUDIT_LOG if table == "audit_log" else TABLES.get(f"{schema}.{table}", {})
    entry = columns.get(column)
    if entry is None:
        return None
    return entry if isinstance(entry, tuple) else (entry, "")


@cache  # the declaration is fixed at import: computed once, asked on every masked value
def schemas_with_phi() -> frozenset[str]:
    """Schemas where at least one column is PHI: unclassified columns there are PHI too."""
    return frozenset(
        name.split(".")[0]
        for name, columns in TABLES.items()
        if any((c[0] if isinstance(c, tuple) else c) == PHI for c in columns.values())
    )
