"""One function per service action: validate, change the service's own rows, write its audit row.

Every handler receives a :class:`Call` whose connection is logged in as the service's owner role
(``svc_<schema>``) and is already inside the action's one transaction: the record change and
the audit_log row commit together, and raising :class:`ApiError` rolls both back. A handler
returns ``(status, body)``; the app adds ``request_id`` to the body. Records are locked with
``SELECT ... FOR UPDATE`` before they are checked, so two concurrent actions on one record are
decided one after the other.

Only the service's own schema is named in any statement (rule 2 of the platform), and the
ledger is only ever appended to (rule 6).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, LiteralString

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

Result = tuple[int, dict[str, Any]]

REASON_MIN, REASON_MAX = 3, 500
CHANNELS = ("email", "sms", "push")
# Larger amounts are typing mistakes, and they keep balances far from BIGINT's limit.
MAX_CENTS = 10**12
_SMS_ADDRESS = re.compile(r"^\+?[0-9][0-9 ()-]{5,19}$")


class ApiError(Exception):
    """An answer other than success: the status, a snake_case code and a sentence for support staff."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message

    def body(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message}}


@dataclass(frozen=True)
class Actor:
    """Who asks, from the X-Actor-* headers; ``brand_header`` is kept verbatim for the audit row.

    For an action a second person approved, ``requested_by`` and ``approved_by`` name both
    people (X-Actor-Requested-By, X-Actor-Approved-By); ``id`` is whoever sends it now.
    """

    type: str
    id: str
    brand_header: str
    requested_by: str | None = None
    approved_by: str | None = None

    @property
    def people(self) -> dict[str, str]:
        """The requester and approver, for the audit row's details (empty when nobody approved)."""
        named = {"requested_by": self.requested_by, "approved_by": self.approved_by}
        return {key: value for key, value in named.items() if value}

    @property
    def brands(self) -> frozenset[str] | None:
        """The brands the actor may act on, or None for every brand ("*")."""
        if self.brand_header.strip() == "*":
            return None
        return frozenset(b.strip() for b in self.brand_header.split(",") if b.strip())


@dataclass
class Call:
    """One action request, inside its transaction."""

    service: str  # the schema name
    conn: psycopg.Connection[dict[str, Any]]
    actor: Actor
    request_id: str
    body: dict[str, Any]

    def table(self, name: str) -> sql.Identifier:
        return sql.Identifier(self.service, name)

    def check_brand(self, brand_id: str) -> None:
        brands = self.actor.brands
        if brands is not None and brand_id not in brands:
            raise ApiError(
                403,
                "brand_forbidden",
                f"This record belongs to brand {brand_id!r}, which you may not act on.",
            )

    def load(self, table: str, record_id: str, noun: str) -> dict[str, Any]:
        """The record, locked for this transaction; 404 when there is none, 403 for another brand."""
        try:
            key = uuid.UUID(record_id)
        except ValueError:
            key = None
        row = None
        if key is not None:
            query = sql.SQL("SELECT * FROM {} WHERE id = %s FOR UPDATE").format(self.table(table))
            row = self.conn.execute(query, [key]).fetchone()
        if row is None:
            raise ApiError(404, "not_found", f"There is no {noun} with id {record_id!r}.")
        self.check_brand(row["brand_id"])
        return row

    def update(
        self, table: str, record_id: uuid.UUID, assignments: LiteralString, params: list[Any]
    ) -> dict[str, Any]:
        """UPDATE one row by id and return it; ``assignments`` is fixed SQL with %s placeholders."""
        query = sql.SQL("UPDATE {} SET {} WHERE id = %s RETURNING *").format(
            self.table(table), sql.SQL(assignments)
        )
        return self.one(query, [*params, record_id])

    def one(self, query: LiteralString | sql.Composed, params: list[Any]) -> dict[str, Any]:
        """Run a statement that always returns one row (an aggregate, RETURNING a row it wrote)."""
        row = self.conn.execute(query, params).fetchone()
        assert row is not None, "the statement returned no row"
        return row

    def audit(
        self, event_type: str, entity_type: str, entity_id: Any, brand_id: str, details: dict[str, Any]
    ) -> None:
        self.conn.execute(
            sql.SQL(
                "INSERT INTO {} (id, occurred_at, actor_type, actor_id, actor_brand_id, event_type,"
                " entity_type, entity_id, brand_id, request_id, details)"
                " VALUES (%s, now(), %s, %s, %s, %s, %s, %s, %s, %s, %s)"
            ).format(self.table("audit_log")),
            [
                uuid.uuid4(),
                self.actor.type,
                self.actor.id,
                self.actor.brand_header,
                event_type,
                entity_type,
                str(entity_id),
                brand_id,
                self.request_id,
                Jsonb({**details, **self.actor.people}),
            ],
        )


# --- validation ---------------------------------------------------------------------------


def _text(body: dict[str, Any], field: str, code: str, message: str, *, lo: int, hi: int) -> str:
    value = body.get(field)
    if not isinstance(value, str) or not lo <= len(value.strip()) <= hi:
        raise ApiError(400, code, message)
    return value.strip()


def _reason(body: dict[str, Any]) -> str:
    return _text(
        body,
        "reason",
        "reason_required",
        f"Give a reason of {REASON_MIN} to {REASON_MAX} characters.",
        lo=REASON_MIN,
        hi=REASON_MAX,
    )


def _cents(body: dict[str, Any], *, positive: bool) -> int:
    value = body.get("amount_cents")
    # bool is an int in Python, never an amount.
    valid = isinstance(value, int) and not isinstance(value, bool) and 0 < abs(value) <= MAX_CENTS
    if not valid or not isinstance(value, int) or (positive and value < 0):
        kind = "a positive" if positive else "a non-zero"
        raise ApiError(400, "invalid_amount", f"amount_cents must be {kind} whole number of cents.")
    return value


def _money(cents: int, currency: str) -> str:
    return f"{cents / 100:,.2f} {currency.strip()}"


def _status_change(reason: str, before: Any, after: Any, key: str = "status") -> dict[str, Any]:
    return {"reason": reason, "before": {key: before}, "after": {key: after}}


@dataclass(frozen=True)
class StatusMove:
    """One status transition of one record, as its owning service enforces it."""

    table: str
    entity: str  # the audit entity_type and the response's key
    event: str
    source: str  # the only status the move starts from
    target: str
    conflict: tuple[str, str]  # (code, message) when the record is in another status; {status} is filled in
    terminal: dict[str, tuple[str, str]] = field(default_factory=dict)  # statuses no move may leave


def _status_handler(move: StatusMove) -> Callable[..., Result]:
    """A handler that moves one record from ``move.source`` to ``move.target`` and audits it."""

    def handle(call: Call, **route: str) -> Result:
        (record_id,) = route.values()  # the route's one id parameter, whatever it is named
        reason = _reason(call.body)
        record = call.load(move.table, record_id, move.entity)
        status = record["status"]
        if status in move.terminal:
            raise ApiError(409, *move.terminal[status])
        if status != move.source:
            code, message = move.conflict
            raise ApiError(409, code, message.format(status=status))
        updated = call.update(move.table, record["id"], "status = %s", [move.target])
        call.audit(
            move.event,
            move.entity,
            record["id"],
            record["brand_id"],
            _status_change(reason, status, move.target),
        )
        return 200, {move.entity: updated}

    handle.__name__ = move.event.replace(".", "_")
    return handle


# --- payments -----------------------------------------------------------------------------


def refund_charge(call: Call, charge_id: str) -> Result:
    """Refund part or all of what is left of a charge."""
    amount = _cents(call.body, positive=True)
    reason = _reason(call.body)
    charge = call.load("charges", charge_id, "charge")
    if charge["status"] not in ("succeeded", "partially_refunded"):
        raise ApiError(
            409, "charge_not_refundable", f"This charge is {charge['status']} and cannot be refunded."
        )
    refunded = call.one(
        "SELECT coalesce(sum(amount_cents), 0)::bigint AS total FROM payments.refunds"
        " WHERE charge_id = %s AND status = 'succeeded'",
        [charge["id"]],
    )["total"]
    remaining = charge["amount_cents"] - refunded
    if amount > remaining:
        raise ApiError(
            422,
            "refund_exceeds_charge",
            f"A refund of {_money(amount, charge['currency'])} is more than the "
            f"{_money(remaining, charge['currency'])} left to refund on this charge.",
        )
    refund = call.one(
        "INSERT INTO payments.refunds (id, brand_id, charge_id, amount_cents, reason, status, requested_by,"
        " created_at) VALUES (%s, %s, %s, %s, %s, 'succeeded', %s, now()) RETURNING *",
        [
            uuid.uuid4(),
            charge["brand_id"],
            charge["id"],
            amount,
            reason,
            call.actor.requested_by or call.actor.id,
        ],
    )
    status = "refunded" if amount == remaining else "partially_refunded"
    call.update("charges", charge["id"], "status = %s", [status])
    call.audit(
        "refund.created",
        "refund",
        refund["id"],
        charge["brand_id"],
        {
            "charge_id": str(charge["id"]),
            "amount_cents": amount,
            **_status_change(reason, charge["status"], status, key="charge_status"),
        },
    )
    summary = {
        "id": charge["id"],
        "status": status,
        "amount_cents": charge["amount_cents"],
        "refunded_cents": refunded + amount,
    }
    return 201, {"refund": refund, "charge": summary}


# --- commerce -----------------------------------------------------------------------------


def cancel_subscription(call: Call, subscription_id: str) -> Result:
    reason = _reason(call.body)
    subscription = call.load("subscriptions", subscription_id, "subscription")
    if subscription["status"] == "cancelled":
        raise ApiError(409, "already_cancelled", "This subscription is already cancelled.")
    updated = call.update(
        "subscriptions", subscription["id"], "status = 'cancelled', cancelled_at = now()", []
    )
    call.audit(
        "subscription.cancelled",
        "subscription",
        subscription["id"],
        subscription["brand_id"],
        _status_change(reason, subscription["status"], "cancelled"),
    )
    return 200, {"subscription": updated}


# --- identity -----------------------------------------------------------------------------


def revoke_sessions(call: Call, user_id: str) -> Result:
    """Revoke every session of the user that is not revoked yet (expired ones included)."""
    reason = _reason(call.body)
    user = call.load("users", user_id, "user")
    revoked = call.conn.execute(
        "UPDATE identity.sessions SET revoked_at = now() WHERE user_id = %s AND revoked_at IS NULL RETURNING id",
        [user["id"]],
    ).fetchall()
    call.audit(
        "sessions.revoked", "user", user["id"], user["brand_id"], {"reason": reason, "revoked": len(revoked)}
    )
    return 200, {"revoked": len(revoked), "user_id": user["id"]}


lock_user = _status_handler(
    StatusMove(
        "users",
        "user",
        "user.locked",
        source="active",
        target="locked",
        conflict=("already_locked", "This user is already locked."),
        terminal={
            "deleted": (
                "user_deleted",
                "This user is deleted; a deleted account cannot be locked or unlocked.",
            )
        },
    )
)
unlock_user = _status_handler(
    StatusMove(
        "users", "user", "user.unlocked", source="locked", target="active",
        conflict=("not_locked", "This user is not locked."),
        terminal={"deleted": ("user_deleted", "This user is deleted; a deleted account cannot be locked or unlocked.")},
    )
)  # fmt: skip


# --- comms --------------------------------------------------------------------------------


def add_suppression(call: Call) -> Result:
    """Stop sending to an address on one channel for one brand."""
    channel = call.body.get("channel")
    if channel not in CHANNELS:
        raise ApiError(400, "invalid_channel", "channel must be one of email, sms or push.")
    address = _text(
        call.body, "address", "invalid_address", "address must be 3 to 320 characters.", lo=3, hi=320
    )
    if (channel == "email" and "@" not in address) or (channel == "sms" and not _SMS_ADDRESS.match(address)):
        raise ApiError(400, "invalid_address", f"{address!r} is not a valid {channel} address.")
    reason = _reason(call.body)
    brand_id = _text(call.body, "brand_id", "invalid_brand_id", "brand_id must name a brand.", lo=1, hi=64)
    call.check_brand(brand_id)
    # The unique index decides, so two concurrent adds cannot both succeed.
    suppression = call.conn.execute(
        "INSERT INTO comms.suppressions (id, brand_id, address, channel, reason, created_by, created_at)"
        " VALUES (%s, %s, %s, %s, %s, %s, now())"
        " ON CONFLICT (brand_id, channel, lower(address)) DO NOTHING RETURNING *",
        [uuid.uuid4(), brand_id, address, channel, reason, call.actor.id],
    ).fetchone()
    if suppression is None:
        raise ApiError(
            409, "already_suppressed", f"This address is already suppressed for {channel} on {brand_id}."
        )
    # The address is contact data, which the back-office masks; audit details are not masked.
    call.audit(
        "suppression.added",
        "suppression",
        suppression["id"],
        brand_id,
        {"reason": reason, "channel": channel},
    )
    return 201, {"suppression": suppression}


def remove_suppression(call: Call, suppression_id: str) -> Result:
    reason = _reason(call.body)
    suppression = call.load("suppressions", suppression_id, "suppression")
    call.conn.execute("DELETE FROM comms.suppressions WHERE id = %s", [suppression["id"]])
    call.audit(
        "suppression.removed",
        "suppression",
        suppression["id"],
        suppression["brand_id"],
        {"reason": reason, "channel": suppression["channel"]},
    )
    return 200, {"removed": suppression["id"]}


# --- community ----------------------------------------------------------------------------


_POST_REMOVED = {
    "removed": ("post_removed", "This post was removed by moderation and cannot be hidden or restored.")
}
hide_post = _status_handler(
    StatusMove(
        "posts",
        "post",
        "post.hidden",
        source="visible",
        target="hidden",
        conflict=("already_hidden", "This post is already hidden."),
        terminal=_POST_REMOVED,
    )
)
restore_post = _status_handler(
    StatusMove("posts", "post", "post.restored", source="hidden", target="visible",
               conflict=("not_hidden", "This post is not hidden."), terminal=_POST_REMOVED)
)  # fmt: skip


# --- webhooks -----------------------------------------------------------------------------


def redeliver(call: Call, delivery_id: str) -> Result:
    """Queue another attempt; the row lock makes a concurrent second request see it pending."""
    reason = _reason(call.body)
    delivery = call.load("outbound_deliveries", delivery_id, "outbound delivery")
    if delivery["status"] == "pending":
        raise ApiError(
            409, "redelivery_in_progress", "This delivery is already queued; wait for that attempt to finish."
        )
    updated = call.update(
        "outbound_deliveries",
        delivery["id"],
        "status = 'pending', attempt = attempt + 1, next_attempt_at = now()",
        [],
    )
    call.audit(
        "delivery.redelivery_requested",
        "outbound_delivery",
        delivery["id"],
        delivery["brand_id"],
        {
            "reason": reason,
            "before": {"status": delivery["status"], "attempt": delivery["attempt"]},
            "after": {"status": "pending", "attempt": updated["attempt"]},
        },
    )
    return 202, {"delivery": updated}


# --- affiliates ---------------------------------------------------------------------------


hold_payout = _status_handler(
    StatusMove(
        "payouts",
        "payout",
        "payout.held",
        source="pending",
        target="held",
        conflict=("payout_not_holdable", "This payout is {status}; only a pending payout can be held."),
    )
)
release_payout = _status_handler(
    StatusMove("payouts", "payout", "payout.released", source="held", target="pending",
               conflict=("payout_not_held", "This payout is {status}, not held."))
)  # fmt: skip


# --- clinical -----------------------------------------------------------------------------


def acknowledge_red_flag(call: Call, red_flag_id: str) -> Result:
    note = _text(
        call.body,
        "note",
        "note_required",
        f"Write a note of {REASON_MIN} to {REASON_MAX} characters.",
        lo=REASON_MIN,
        hi=REASON_MAX,
    )
    flag = call.load("red_flags", red_flag_id, "red flag")
    if flag["acknowledged_at"] is not None:
        raise ApiError(409, "already_acknowledged", "This red flag has already been acknowledged.")
    updated = call.update(
        "red_flags",
        flag["id"],
        "acknowledged_at = now(), acknowledged_by = %s,"
        " note = CASE WHEN coalesce(note, '') = '' THEN %s ELSE note || E'\\n' || %s END",
        [call.actor.id, note, note],
    )
    # The note is PHI and audit details are not masked: record only that it was acknowledged.
    call.audit(
        "red_flag.acknowledged",
        "red_flag",
        flag["id"],
        flag["brand_id"],
        {"before": {"acknowledged": False}, "after": {"acknowledged": True}},
    )
    return 200, {"red_flag": updated}


# --- accounting ---------------------------------------------------------------------------


def post_adjustment(call: Call) -> Result:
    """Append one compensating ledger entry and move the account's balance by its signed amount."""
    try:
        account_id = str(uuid.UUID(str(call.body.get("account_id"))))
    except ValueError:
        raise ApiError(400, "invalid_account_id", "account_id must be a ledger account id.") from None
    amount = _cents(call.body, positive=False)
    reason = _reason(call.body)
    reference_type = call.body.get("reference_type", "adjustment")
    reference_id = call.body.get("reference_id")
    if not isinstance(reference_type, str) or not 1 <= len(reference_type) <= 100:
        raise ApiError(400, "invalid_reference", "reference_type must be 1 to 100 characters.")
    if reference_id is not None and (not isinstance(reference_id, str) or not 1 <= len(reference_id) <= 200):
        raise ApiError(400, "invalid_reference", "reference_id must be 1 to 200 characters.")
    account = call.load("accounts", account_id, "ledger account")
    transaction = call.one(
        "INSERT INTO accounting.transactions (id, brand_id, account_id, amount_cents, entry_type,"
        " reference_type, reference_id, occurred_at, request_id)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, now(), %s) RETURNING *",
        [
            uuid.uuid4(),
            account["brand_id"],
            account["id"],
            abs(amount),
            "credit" if amount > 0 else "debit",
            reference_type,
            reference_id,
            call.request_id,
        ],
    )
    balance = call.one(
        "INSERT INTO accounting.balances AS b (account_id, brand_id, balance_cents, as_of)"
        " VALUES (%s, %s, %s, now())"
        " ON CONFLICT (account_id) DO UPDATE"
        " SET balance_cents = b.balance_cents + EXCLUDED.balance_cents, as_of = EXCLUDED.as_of"
        " RETURNING *",
        [account["id"], account["brand_id"], amount],
    )
    call.audit(
        "ledger.adjustment_posted",
        "transaction",
        transaction["id"],
        account["brand_id"],
        {
            "reason": reason,
            "account_id": account_id,
            "amount_cents": amount,
            "entry_type": transaction["entry_type"],
            "reference_type": reference_type,
            "reference_id": reference_id,
            "before": {"balance_cents": balance["balance_cents"] - amount},
            "after": {"balance_cents": balance["balance_cents"]},
        },
    )
    return 201, {"transaction": transaction, "balance": balance}
