"""The service stand-in over real HTTP on loopback: each action's write and audit row, tokens,
validation, brand checks, idempotency keys and injected faults; every answer is checked against
apps/standin/openapi.json.

The stand-in commits for real into the session's test cluster, which other tests share, so each
test picks rows of its own (see ``pick``) and asserts on those rows only.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.conf import settings
from jsonschema import Draft202012Validator
from psycopg.rows import dict_row

from apps.standin.app import ROUTES

OPENAPI = json.loads((Path(__file__).resolve().parents[2] / "apps" / "standin" / "openapi.json").read_text())
ACTOR = {"X-Actor-Type": "staff", "X-Actor-Id": "staff:standin-tests", "X-Actor-Brand-Id": "*"}
REASON = "Customer asked on the phone"

REFUND = "/payments/v1/charges/{charge_id}/refunds"
CANCEL = "/commerce/v1/subscriptions/{subscription_id}/cancel"
REVOKE = "/identity/v1/users/{user_id}/sessions/revoke"
LOCK = "/identity/v1/users/{user_id}/lock"
UNLOCK = "/identity/v1/users/{user_id}/unlock"
SUPPRESS = "/comms/v1/suppressions"
UNSUPPRESS = "/comms/v1/suppressions/{suppression_id}/remove"
HIDE = "/community/v1/posts/{post_id}/hide"
RESTORE = "/community/v1/posts/{post_id}/restore"
REDELIVER = "/webhooks/v1/outbound-deliveries/{delivery_id}/redeliver"
HOLD = "/affiliates/v1/payouts/{payout_id}/hold"
RELEASE = "/affiliates/v1/payouts/{payout_id}/release"
ACKNOWLEDGE = "/clinical/v1/red-flags/{red_flag_id}/acknowledge"
ADJUST = "/accounting/v1/adjustments"


# --- the contract -----------------------------------------------------------------------------


def _validate(instance: Any, schema: dict[str, Any]) -> None:
    # The components ride along at the root so that "#/components/..." references resolve.
    validator = Draft202012Validator(
        {**schema, "components": OPENAPI["components"]}, format_checker=Draft202012Validator.FORMAT_CHECKER
    )
    validator.validate(instance)


def _resolve(spec: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in spec:
        node: Any = OPENAPI
        for part in spec["$ref"].removeprefix("#/").split("/"):
            node = node[part]
        spec = node
    return spec


def conforms(template: str, method: str, response: httpx.Response, sent: Any = None) -> None:
    """The answer's status is documented for this operation and its body matches the schema."""
    operation = OPENAPI["paths"][template][method]
    documented = operation["responses"]
    spec = documented.get(str(response.status_code)) or documented.get(f"{response.status_code // 100}XX")
    assert spec is not None, f"{response.status_code} is not documented for {method.upper()} {template}"
    spec = _resolve(spec)
    if "Idempotent-Replayed" in response.headers:
        assert "Idempotent-Replayed" in spec.get("headers", {}), f"{response.status_code} is never a replay"
    schema = spec.get("content", {}).get("application/json", {}).get("schema")
    if schema is None:
        assert response.content == b""
    else:
        _validate(response.json(), schema)
    if response.is_success and "requestBody" in operation:
        _validate(sent, operation["requestBody"]["content"]["application/json"]["schema"])


def conforms_to_error(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    _validate(response.json(), {"$ref": "#/components/schemas/Error"})
    assert response.json()["error"]["code"] == code


# --- calling the stand-in ---------------------------------------------------------------------


def new_request_id() -> str:
    return f"req_standin_{uuid.uuid4().hex[:16]}"


def send(
    standin,
    template: str,
    body: Any = None,
    *,
    request_id: str | None = None,
    key: str | None = None,
    headers: dict[str, str | None] | None = None,
    content: bytes | None = None,
    timeout: float = 10.0,
    **ids: Any,
) -> httpx.Response:
    """POST one action the way the back-office does; a header given as None is left out."""
    service = template.split("/")[1]
    sent = {
        "Authorization": f"Bearer {settings.SERVICE_TOKENS[service]}",
        "Idempotency-Key": key or f"key-{uuid.uuid4()}",
        "X-Request-Id": request_id or new_request_id(),
        **ACTOR,
        **(headers or {}),
    }
    response = httpx.post(
        standin.url + template.format(**{k: str(v) for k, v in ids.items()}),
        json=body if content is None else None,
        content=content,
        headers={k: v for k, v in sent.items() if v is not None},
        timeout=timeout,
    )
    conforms(template, "post", response, body)
    return response


@pytest.fixture
def faults(standin):
    """Arm a fault with ``faults(service=..., kind=..., ...)``; all are cleared after the test."""

    def arm(**fault: Any) -> None:
        response = httpx.post(f"{standin.url}/__faults", json=fault)
        conforms("/__faults", "post", response, fault)
        assert response.status_code == 204, response.text

    yield arm
    httpx.delete(f"{standin.url}/__faults").raise_for_status()


# --- reading the cluster ------------------------------------------------------------------------

_taken: set[str] = set()


def pick(cluster_admin, table: str, where: str = "TRUE", params: tuple = ()) -> dict[str, Any]:
    """A row this module has not picked yet, in an order of its own (a hash of the id), so that
    tests of other modules, which take the first rows, are unlikely to touch it."""
    rows = cluster_admin.cursor(row_factory=dict_row).execute(
        f"SELECT * FROM {table} WHERE {where} ORDER BY md5(id::text || 'standin') LIMIT 200", params
    )
    for row in rows:
        if str(row["id"]) not in _taken:
            _taken.add(str(row["id"]))
            return row
    raise AssertionError(f"no unused row in {table} WHERE {where}")


def row(cluster_admin, table: str, record_id: Any) -> dict[str, Any] | None:
    return (
        cluster_admin.cursor(row_factory=dict_row)
        .execute(f"SELECT * FROM {table} WHERE id = %s", [record_id])
        .fetchone()
    )


def audit_rows(cluster_admin, schema: str, request_id: str) -> list[dict[str, Any]]:
    return (
        cluster_admin.cursor(row_factory=dict_row)
        .execute(f"SELECT * FROM {schema}.audit_log WHERE request_id = %s", [request_id])
        .fetchall()
    )


def one_audit_row(
    cluster_admin, schema: str, request_id: str, event_type: str, entity_type: str, entity_id: Any
):
    rows = audit_rows(cluster_admin, schema, request_id)
    assert len(rows) == 1, rows
    audit = rows[0]
    what = (audit["event_type"], audit["entity_type"], audit["entity_id"])
    assert what == (event_type, entity_type, str(entity_id))
    who = (audit["actor_type"], audit["actor_id"], audit["actor_brand_id"])
    assert who == ("staff", ACTOR["X-Actor-Id"], "*")
    return audit


def count(cluster_admin, sql: str, params: tuple = ()) -> int:
    return cluster_admin.execute(sql, params).fetchone()[0]


def refunds_of(cluster_admin, charge_id: Any) -> int:
    return count(cluster_admin, "SELECT count(*) FROM payments.refunds WHERE charge_id = %s", (charge_id,))


def fresh_charge(cluster_admin) -> dict[str, Any]:
    return pick(
        cluster_admin,
        "payments.charges AS c",
        "status = 'succeeded' AND amount_cents >= 1000"
        " AND NOT EXISTS (SELECT 1 FROM payments.refunds AS r WHERE r.charge_id = c.id)",
    )


# --- the document -------------------------------------------------------------------------------


def test_the_openapi_document_describes_every_route_and_is_valid_json_schema():
    documented = {path for path in OPENAPI["paths"] if not path.startswith("/__")}
    assert documented == {path for path, _ in ROUTES}
    for path, item in OPENAPI["paths"].items():
        for method, operation in item.items():
            for spec in operation["responses"].values():
                schema = _resolve(spec).get("content", {}).get("application/json", {}).get("schema")
                if schema:
                    Draft202012Validator.check_schema({**schema, "components": OPENAPI["components"]})
            if not path.startswith("/__"):
                assert method == "post"
                assert {"400", "401", "403", "422", "5XX"} <= set(operation["responses"]), path


def test_health_unknown_routes_and_wrong_methods_answer_json(standin):
    health = httpx.get(f"{standin.url}/__health")
    conforms("/__health", "get", health)
    assert health.json() == {"ok": True}
    conforms_to_error(httpx.post(f"{standin.url}/payments/v1/nothing-here", json={}), 404, "not_found")
    conforms_to_error(httpx.post(f"{standin.url}/booking/v1/visits/x/cancel", json={}), 404, "not_found")
    wrong = httpx.get(f"{standin.url}/payments/v1/charges/{uuid.uuid4()}/refunds")
    conforms_to_error(wrong, 405, "method_not_allowed")
    assert wrong.headers["Allow"] == "POST"


# --- payments -----------------------------------------------------------------------------------


def test_a_partial_then_a_full_refund(standin, cluster_admin):
    charge = fresh_charge(cluster_admin)
    rid = new_request_id()
    first = send(
        standin, REFUND, {"amount_cents": 300, "reason": REASON}, request_id=rid, charge_id=charge["id"]
    )
    assert first.status_code == 201, first.text
    body = first.json()
    assert body["request_id"] == rid and first.headers["X-Request-Id"] == rid
    assert body["charge"] == {
        "id": str(charge["id"]),
        "status": "partially_refunded",
        "amount_cents": charge["amount_cents"],
        "refunded_cents": 300,
    }
    refund = row(cluster_admin, "payments.refunds", body["refund"]["id"])
    assert (refund["charge_id"], refund["amount_cents"], refund["status"]) == (charge["id"], 300, "succeeded")
    assert (refund["requested_by"], refund["reason"], refund["brand_id"]) == (
        ACTOR["X-Actor-Id"],
        REASON,
        charge["brand_id"],
    )
    assert row(cluster_admin, "payments.charges", charge["id"])["status"] == "partially_refunded"
    audit = one_audit_row(cluster_admin, "payments", rid, "refund.created", "refund", refund["id"])
    assert audit["brand_id"] == charge["brand_id"]
    assert audit["details"] == {
        "charge_id": str(charge["id"]),
        "amount_cents": 300,
        "reason": REASON,
        "before": {"charge_status": "succeeded"},
        "after": {"charge_status": "partially_refunded"},
    }

    rest = charge["amount_cents"] - 300
    second = send(standin, REFUND, {"amount_cents": rest, "reason": REASON}, charge_id=charge["id"])
    assert second.status_code == 201, second.text
    assert second.json()["charge"]["status"] == "refunded"
    assert second.json()["charge"]["refunded_cents"] == charge["amount_cents"]
    assert row(cluster_admin, "payments.charges", charge["id"])["status"] == "refunded"

    third = send(standin, REFUND, {"amount_cents": 1, "reason": REASON}, charge_id=charge["id"])
    conforms_to_error(third, 409, "charge_not_refundable")
    assert refunds_of(cluster_admin, charge["id"]) == 2


def test_an_approved_refund_names_its_requester_and_approver(standin, cluster_admin):
    charge = fresh_charge(cluster_admin)
    rid = new_request_id()
    people = {"X-Actor-Requested-By": "41", "X-Actor-Approved-By": "42"}
    response = send(
        standin,
        REFUND,
        {"amount_cents": 200, "reason": REASON},
        request_id=rid,
        headers=people,
        charge_id=charge["id"],
    )
    assert response.status_code == 201, response.text
    refund = row(cluster_admin, "payments.refunds", response.json()["refund"]["id"])
    assert refund["requested_by"] == "41"
    audit = one_audit_row(cluster_admin, "payments", rid, "refund.created", "refund", refund["id"])
    assert audit["actor_id"] == ACTOR["X-Actor-Id"]
    assert (audit["details"]["requested_by"], audit["details"]["approved_by"]) == ("41", "42")


def test_a_refund_above_what_remains_is_refused_and_writes_nothing(standin, cluster_admin):
    charge = pick(cluster_admin, "payments.charges", "status = 'partially_refunded'")
    refunded = count(
        cluster_admin,
        "SELECT sum(amount_cents)::bigint FROM payments.refunds WHERE charge_id = %s",
        (charge["id"],),
    )
    before = refunds_of(cluster_admin, charge["id"])
    rid = new_request_id()
    response = send(
        standin,
        REFUND,
        {"amount_cents": charge["amount_cents"] - refunded + 1, "reason": REASON},
        request_id=rid,
        charge_id=charge["id"],
    )
    conforms_to_error(response, 422, "refund_exceeds_charge")
    assert "left to refund" in response.json()["error"]["message"]
    assert refunds_of(cluster_admin, charge["id"]) == before
    assert row(cluster_admin, "payments.charges", charge["id"])["status"] == "partially_refunded"
    assert audit_rows(cluster_admin, "payments", rid) == []


@pytest.mark.parametrize("status", ["pending", "failed"])
def test_a_charge_that_was_not_paid_cannot_be_refunded(standin, cluster_admin, status):
    charge = pick(cluster_admin, "payments.charges", "status = %s", (status,))
    rid = new_request_id()
    response = send(
        standin, REFUND, {"amount_cents": 1, "reason": REASON}, request_id=rid, charge_id=charge["id"]
    )
    conforms_to_error(response, 409, "charge_not_refundable")
    assert refunds_of(cluster_admin, charge["id"]) == 0
    assert audit_rows(cluster_admin, "payments", rid) == []


@pytest.mark.parametrize(
    ("body", "content", "code"),
    [
        ({"amount_cents": 100}, None, "reason_required"),
        ({"amount_cents": 100, "reason": "  x "}, None, "reason_required"),
        ({"amount_cents": 100, "reason": "x" * 501}, None, "reason_required"),
        ({"amount_cents": 0, "reason": REASON}, None, "invalid_amount"),
        ({"amount_cents": "100", "reason": REASON}, None, "invalid_amount"),
        ({"amount_cents": True, "reason": REASON}, None, "invalid_amount"),
        ({"amount_cents": 1.5, "reason": REASON}, None, "invalid_amount"),
        (None, b"{not json", "invalid_json"),
        (None, b"[1, 2]", "invalid_json"),
    ],
)
def test_a_malformed_refund_is_a_400_and_writes_nothing(standin, cluster_admin, body, content, code):
    charge = fresh_charge(cluster_admin)
    rid = new_request_id()
    response = send(standin, REFUND, body, content=content, request_id=rid, charge_id=charge["id"])
    conforms_to_error(response, 400, code)
    assert refunds_of(cluster_admin, charge["id"]) == 0
    assert audit_rows(cluster_admin, "payments", rid) == []


@pytest.mark.parametrize("charge_id", ["not-a-uuid", str(uuid.uuid4())])
def test_an_unknown_record_is_a_404(standin, cluster_admin, charge_id):
    rid = new_request_id()
    response = send(
        standin, REFUND, {"amount_cents": 1, "reason": REASON}, request_id=rid, charge_id=charge_id
    )
    conforms_to_error(response, 404, "not_found")
    assert audit_rows(cluster_admin, "payments", rid) == []


# --- tokens, headers and brands --------------------------------------------------------------------


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "Bearer wrong-token",
        f"Bearer {settings.SERVICE_TOKENS['identity']}",
        settings.SERVICE_TOKENS["payments"],
    ],
    ids=["none", "wrong", "another-service", "not-bearer"],
)
def test_without_the_service_token_nothing_is_written_or_remembered(standin, cluster_admin, authorization):
    charge = fresh_charge(cluster_admin)
    rid, key = new_request_id(), f"key-{uuid.uuid4()}"
    body = {"amount_cents": 100, "reason": REASON}
    response = send(
        standin,
        REFUND,
        body,
        request_id=rid,
        key=key,
        headers={"Authorization": authorization},
        charge_id=charge["id"],
    )
    conforms_to_error(response, 401, "unauthorized")
    assert refunds_of(cluster_admin, charge["id"]) == 0
    assert audit_rows(cluster_admin, "payments", rid) == []
    # A 401 is not the key's answer: the same key with the token does the refund.
    retried = send(standin, REFUND, body, key=key, charge_id=charge["id"])
    assert retried.status_code == 201 and "Idempotent-Replayed" not in retried.headers


@pytest.mark.parametrize(
    ("headers", "code"),
    [
        ({"Idempotency-Key": None}, "idempotency_key_required"),
        ({"Idempotency-Key": "short"}, "idempotency_key_required"),
        ({"Idempotency-Key": "k" * 129}, "idempotency_key_required"),
        ({"X-Actor-Id": None}, "actor_required"),
        ({"X-Actor-Brand-Id": None}, "actor_required"),
    ],
)
def test_missing_headers_are_a_400_and_write_nothing(standin, cluster_admin, headers, code):
    user = pick(cluster_admin, "identity.users", "status = 'active'")
    rid = new_request_id()
    response = send(standin, LOCK, {"reason": REASON}, request_id=rid, headers=headers, user_id=user["id"])
    conforms_to_error(response, 400, code)
    assert row(cluster_admin, "identity.users", user["id"])["status"] == "active"
    assert audit_rows(cluster_admin, "identity", rid) == []


def test_a_missing_request_id_is_generated_and_audited(standin, cluster_admin):
    user = pick(cluster_admin, "identity.users", "status = 'active'")
    response = send(standin, LOCK, {"reason": REASON}, headers={"X-Request-Id": None}, user_id=user["id"])
    assert response.status_code == 200, response.text
    generated = response.json()["request_id"]
    assert generated and response.headers["X-Request-Id"] == generated
    one_audit_row(cluster_admin, "identity", generated, "user.locked", "user", user["id"])


def test_another_brands_record_is_forbidden_and_an_actor_of_several_brands_may_act(standin, cluster_admin):
    post = pick(cluster_admin, "community.posts", "status = 'visible' AND brand_id = 'capri'")
    rid = new_request_id()
    refused = send(
        standin,
        HIDE,
        {"reason": REASON},
        request_id=rid,
        headers={"X-Actor-Brand-Id": "loop"},
        post_id=post["id"],
    )
    conforms_to_error(refused, 403, "brand_forbidden")
    assert row(cluster_admin, "community.posts", post["id"])["status"] == "visible"
    assert audit_rows(cluster_admin, "community", rid) == []

    rid = new_request_id()
    allowed = send(
        standin,
        HIDE,
        {"reason": REASON},
        request_id=rid,
        headers={"X-Actor-Brand-Id": "loop, capri"},
        post_id=post["id"],
    )
    assert allowed.status_code == 200, allowed.text
    [audit] = audit_rows(cluster_admin, "community", rid)
    assert audit["actor_brand_id"] == "loop, capri"


# --- the other actions ----------------------------------------------------------------------------


def test_cancel_a_subscription(standin, cluster_admin):
    subscription = pick(cluster_admin, "commerce.subscriptions", "status = 'active'")
    rid = new_request_id()
    response = send(standin, CANCEL, {"reason": REASON}, request_id=rid, subscription_id=subscription["id"])
    assert response.status_code == 200, response.text
    assert response.json()["subscription"]["status"] == "cancelled"
    stored = row(cluster_admin, "commerce.subscriptions", subscription["id"])
    assert stored["status"] == "cancelled" and stored["cancelled_at"] is not None
    audit = one_audit_row(
        cluster_admin, "commerce", rid, "subscription.cancelled", "subscription", subscription["id"]
    )
    assert audit["details"] == {
        "reason": REASON,
        "before": {"status": "active"},
        "after": {"status": "cancelled"},
    }
    again = send(standin, CANCEL, {"reason": REASON}, subscription_id=subscription["id"])
    conforms_to_error(again, 409, "already_cancelled")


def test_revoke_every_session_of_a_user(standin, cluster_admin):
    user = pick(
        cluster_admin,
        "identity.users AS u",
        "(SELECT count(*) FROM identity.sessions AS s WHERE s.user_id = u.id AND s.revoked_at IS NULL) >= 2",
    )
    open_sessions = count(
        cluster_admin,
        "SELECT count(*) FROM identity.sessions WHERE user_id = %s AND revoked_at IS NULL",
        (user["id"],),
    )
    rid = new_request_id()
    response = send(standin, REVOKE, {"reason": REASON}, request_id=rid, user_id=user["id"])
    assert response.status_code == 200, response.text
    assert response.json()["revoked"] == open_sessions and response.json()["user_id"] == str(user["id"])
    assert (
        count(
            cluster_admin,
            "SELECT count(*) FROM identity.sessions WHERE user_id = %s AND revoked_at IS NULL",
            (user["id"],),
        )
        == 0
    )
    audit = one_audit_row(cluster_admin, "identity", rid, "sessions.revoked", "user", user["id"])
    assert audit["details"] == {"reason": REASON, "revoked": open_sessions}


def test_lock_and_unlock_a_user(standin, cluster_admin):
    user = pick(cluster_admin, "identity.users", "status = 'active'")
    rid = new_request_id()
    locked = send(standin, LOCK, {"reason": REASON}, request_id=rid, user_id=user["id"])
    assert locked.status_code == 200 and locked.json()["user"]["status"] == "locked"
    assert row(cluster_admin, "identity.users", user["id"])["status"] == "locked"
    one_audit_row(cluster_admin, "identity", rid, "user.locked", "user", user["id"])
    conforms_to_error(send(standin, LOCK, {"reason": REASON}, user_id=user["id"]), 409, "already_locked")

    rid = new_request_id()
    unlocked = send(standin, UNLOCK, {"reason": REASON}, request_id=rid, user_id=user["id"])
    assert unlocked.status_code == 200 and unlocked.json()["user"]["status"] == "active"
    audit = one_audit_row(cluster_admin, "identity", rid, "user.unlocked", "user", user["id"])
    assert (audit["details"]["before"], audit["details"]["after"]) == (
        {"status": "locked"},
        {"status": "active"},
    )
    conforms_to_error(send(standin, UNLOCK, {"reason": REASON}, user_id=user["id"]), 409, "not_locked")

    deleted = pick(cluster_admin, "identity.users", "status = 'deleted'")
    conforms_to_error(send(standin, LOCK, {"reason": REASON}, user_id=deleted["id"]), 409, "user_deleted")


def test_add_and_remove_a_suppression(standin, cluster_admin):
    address = f"Standin.{uuid.uuid4().hex[:8]}@Example.com"
    body = {"address": address, "channel": "email", "reason": REASON, "brand_id": "capri"}
    rid = new_request_id()
    added = send(standin, SUPPRESS, body, request_id=rid)
    assert added.status_code == 201, added.text
    suppression = added.json()["suppression"]
    stored = row(cluster_admin, "comms.suppressions", suppression["id"])
    assert (stored["address"], stored["channel"], stored["created_by"]) == (
        address,
        "email",
        ACTOR["X-Actor-Id"],
    )
    audit = one_audit_row(cluster_admin, "comms", rid, "suppression.added", "suppression", suppression["id"])
    assert audit["details"] == {"reason": REASON, "channel": "email"}  # never the address: contact data

    duplicate = send(standin, SUPPRESS, {**body, "address": address.lower()})
    conforms_to_error(duplicate, 409, "already_suppressed")

    rid = new_request_id()
    removed = send(standin, UNSUPPRESS, {"reason": REASON}, request_id=rid, suppression_id=suppression["id"])
    assert removed.status_code == 200 and removed.json()["removed"] == suppression["id"]
    assert row(cluster_admin, "comms.suppressions", suppression["id"]) is None
    one_audit_row(cluster_admin, "comms", rid, "suppression.removed", "suppression", suppression["id"])
    gone = send(standin, UNSUPPRESS, {"reason": REASON}, suppression_id=suppression["id"])
    conforms_to_error(gone, 404, "not_found")


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"channel": "fax"}, "invalid_channel"),
        ({"channel": None}, "invalid_channel"),
        ({"address": "no-at-sign"}, "invalid_address"),
        ({"channel": "sms", "address": "call me"}, "invalid_address"),
        ({"brand_id": ""}, "invalid_brand_id"),
        ({"reason": ""}, "reason_required"),
    ],
)
def test_a_malformed_suppression_is_a_400_and_writes_nothing(standin, cluster_admin, change, code):
    address = f"standin.{uuid.uuid4().hex[:8]}@example.com"
    body = {"address": address, "channel": "email", "reason": REASON, "brand_id": "capri", **change}
    rid = new_request_id()
    conforms_to_error(send(standin, SUPPRESS, body, request_id=rid), 400, code)
    assert (
        count(cluster_admin, "SELECT count(*) FROM comms.suppressions WHERE address = %s", (body["address"],))
        == 0
    )
    assert audit_rows(cluster_admin, "comms", rid) == []


def test_hide_and_restore_a_post(standin, cluster_admin):
    post = pick(cluster_admin, "community.posts", "status = 'visible'")
    rid = new_request_id()
    hidden = send(standin, HIDE, {"reason": REASON}, request_id=rid, post_id=post["id"])
    assert hidden.status_code == 200 and hidden.json()["post"]["status"] == "hidden"
    audit = one_audit_row(cluster_admin, "community", rid, "post.hidden", "post", post["id"])
    assert audit["details"] == {
        "reason": REASON,
        "before": {"status": "visible"},
        "after": {"status": "hidden"},
    }
    conforms_to_error(send(standin, HIDE, {"reason": REASON}, post_id=post["id"]), 409, "already_hidden")

    rid = new_request_id()
    restored = send(standin, RESTORE, {"reason": REASON}, request_id=rid, post_id=post["id"])
    assert restored.status_code == 200 and restored.json()["post"]["status"] == "visible"
    assert row(cluster_admin, "community.posts", post["id"])["status"] == "visible"
    one_audit_row(cluster_admin, "community", rid, "post.restored", "post", post["id"])
    conforms_to_error(send(standin, RESTORE, {"reason": REASON}, post_id=post["id"]), 409, "not_hidden")

    removed = pick(cluster_admin, "community.posts", "status = 'removed'")
    conforms_to_error(send(standin, HIDE, {"reason": REASON}, post_id=removed["id"]), 409, "post_removed")


def test_redeliver_an_outbound_webhook(standin, cluster_admin):
    delivery = pick(cluster_admin, "webhooks.outbound_deliveries", "status = 'failed'")
    rid = new_request_id()
    response = send(standin, REDELIVER, {"reason": REASON}, request_id=rid, delivery_id=delivery["id"])
    assert response.status_code == 202, response.text
    stored = row(cluster_admin, "webhooks.outbound_deliveries", delivery["id"])
    assert (stored["status"], stored["attempt"]) == ("pending", delivery["attempt"] + 1)
    assert stored["next_attempt_at"] is not None
    audit = one_audit_row(
        cluster_admin, "webhooks", rid, "delivery.redelivery_requested", "outbound_delivery", delivery["id"]
    )
    assert audit["details"]["after"] == {"status": "pending", "attempt": delivery["attempt"] + 1}
    again = send(standin, REDELIVER, {"reason": REASON}, delivery_id=delivery["id"])
    conforms_to_error(again, 409, "redelivery_in_progress")


def test_two_concurrent_redeliveries_are_one_202_and_one_409(standin, cluster_admin):
    delivery = pick(cluster_admin, "webhooks.outbound_deliveries", "status = 'delivered'")
    request_ids = [new_request_id(), new_request_id()]
    start = threading.Barrier(2)
    responses: list[httpx.Response] = []

    def redeliver(rid: str) -> None:
        start.wait()
        responses.append(
            send(standin, REDELIVER, {"reason": REASON}, request_id=rid, delivery_id=delivery["id"])
        )

    threads = [threading.Thread(target=redeliver, args=(rid,)) for rid in request_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(r.status_code for r in responses) == [202, 409]
    assert (
        row(cluster_admin, "webhooks.outbound_deliveries", delivery["id"])["attempt"]
        == delivery["attempt"] + 1
    )
    assert sum(len(audit_rows(cluster_admin, "webhooks", rid)) for rid in request_ids) == 1


def test_hold_and_release_a_payout(standin, cluster_admin):
    payout = pick(cluster_admin, "affiliates.payouts", "status = 'pending'")
    rid = new_request_id()
    held = send(standin, HOLD, {"reason": REASON}, request_id=rid, payout_id=payout["id"])
    assert held.status_code == 200 and held.json()["payout"]["status"] == "held"
    one_audit_row(cluster_admin, "affiliates", rid, "payout.held", "payout", payout["id"])
    conforms_to_error(
        send(standin, HOLD, {"reason": REASON}, payout_id=payout["id"]), 409, "payout_not_holdable"
    )

    rid = new_request_id()
    released = send(standin, RELEASE, {"reason": REASON}, request_id=rid, payout_id=payout["id"])
    assert released.status_code == 200 and released.json()["payout"]["status"] == "pending"
    assert row(cluster_admin, "affiliates.payouts", payout["id"])["status"] == "pending"
    one_audit_row(cluster_admin, "affiliates", rid, "payout.released", "payout", payout["id"])
    conforms_to_error(
        send(standin, RELEASE, {"reason": REASON}, payout_id=payout["id"]), 409, "payout_not_held"
    )

    paid = pick(cluster_admin, "affiliates.payouts", "status = 'paid'")
    conforms_to_error(
        send(standin, HOLD, {"reason": REASON}, payout_id=paid["id"]), 409, "payout_not_holdable"
    )


def test_acknowledge_a_red_flag_without_putting_the_note_in_the_audit_log(standin, cluster_admin):
    flag = pick(cluster_admin, "clinical.red_flags", "acknowledged_at IS NULL")
    note = f"Called the patient, follow-up booked {uuid.uuid4().hex[:6]}"
    conforms_to_error(
        send(standin, ACKNOWLEDGE, {"note": "ok"}, red_flag_id=flag["id"]), 400, "note_required"
    )
    rid = new_request_id()
    response = send(standin, ACKNOWLEDGE, {"note": note}, request_id=rid, red_flag_id=flag["id"])
    assert response.status_code == 200, response.text
    stored = row(cluster_admin, "clinical.red_flags", flag["id"])
    assert stored["acknowledged_at"] is not None and stored["acknowledged_by"] == ACTOR["X-Actor-Id"]
    assert stored["note"].endswith(note)
    if flag["note"]:
        assert stored["note"].startswith(flag["note"])
    audit = one_audit_row(cluster_admin, "clinical", rid, "red_flag.acknowledged", "red_flag", flag["id"])
    assert note not in json.dumps(audit["details"])
    again = send(standin, ACKNOWLEDGE, {"note": note}, red_flag_id=flag["id"])
    conforms_to_error(again, 409, "already_acknowledged")


def test_a_ledger_adjustment_appends_an_entry_and_moves_the_balance(standin, cluster_admin):
    account = pick(
        cluster_admin,
        "accounting.accounts AS a",
        "EXISTS (SELECT 1 FROM accounting.balances AS b WHERE b.account_id = a.id)",
    )

    def balance() -> int:
        return count(
            cluster_admin,
            "SELECT balance_cents FROM accounting.balances WHERE account_id = %s",
            (account["id"],),
        )

    def entries() -> int:
        return count(
            cluster_admin,
            "SELECT count(*) FROM accounting.transactions WHERE account_id = %s",
            (account["id"],),
        )

    start_balance, start_entries = balance(), entries()
    rid = new_request_id()
    credit = send(
        standin,
        ADJUST,
        {"account_id": str(account["id"]), "amount_cents": 1234, "reason": REASON},
        request_id=rid,
    )
    assert credit.status_code == 201, credit.text
    transaction = row(cluster_admin, "accounting.transactions", credit.json()["transaction"]["id"])
    assert (transaction["amount_cents"], transaction["entry_type"], transaction["reference_type"]) == (
        1234,
        "credit",
        "adjustment",
    )
    assert (transaction["request_id"], transaction["brand_id"]) == (rid, account["brand_id"])
    assert balance() == start_balance + 1234 and entries() == start_entries + 1
    audit = one_audit_row(
        cluster_admin, "accounting", rid, "ledger.adjustment_posted", "transaction", transaction["id"]
    )
    assert audit["details"]["before"] == {"balance_cents": start_balance}
    assert audit["details"]["after"] == {"balance_cents": start_balance + 1234}

    debit = send(
        standin,
        ADJUST,
        {
            "account_id": str(account["id"]),
            "amount_cents": -500,
            "reason": REASON,
            "reference_type": "ticket",
            "reference_id": "T-42",
        },
    )
    assert debit.status_code == 201, debit.text
    entry = debit.json()["transaction"]
    assert (entry["entry_type"], entry["amount_cents"], entry["reference_id"]) == ("debit", 500, "T-42")
    assert debit.json()["balance"]["balance_cents"] == start_balance + 734
    assert balance() == start_balance + 734 and entries() == start_entries + 2

    for body, code in [
        ({"account_id": str(account["id"]), "amount_cents": 0, "reason": REASON}, "invalid_amount"),
        ({"account_id": "nope", "amount_cents": 5, "reason": REASON}, "invalid_account_id"),
        (
            {"account_id": str(account["id"]), "amount_cents": 5, "reason": REASON, "reference_type": ""},
            "invalid_reference",
        ),
    ]:
        conforms_to_error(send(standin, ADJUST, body), 400, code)
    unknown = send(standin, ADJUST, {"account_id": str(uuid.uuid4()), "amount_cents": 5, "reason": REASON})
    conforms_to_error(unknown, 404, "not_found")
    assert entries() == start_entries + 2


def test_a_ledger_adjustment_creates_a_missing_balance(standin, cluster_admin):
    account_id = uuid.uuid4()
    cluster_admin.execute(
        "INSERT INTO accounting.accounts (id, brand_id, owner_type, owner_id, currency, kind)"
        " VALUES (%s, 'loop', 'user', %s, 'USD', 'customer')",
        [account_id, str(uuid.uuid4())],
    )
    response = send(standin, ADJUST, {"account_id": str(account_id), "amount_cents": -250, "reason": REASON})
    assert response.status_code == 201, response.text
    stored = cluster_admin.execute(
        "SELECT balance_cents, brand_id FROM accounting.balances WHERE account_id = %s", [account_id]
    ).fetchone()
    assert stored == (-250, "loop")


# --- idempotency ------------------------------------------------------------------------------------


def test_the_same_key_twice_writes_once_and_replays_the_answer(standin, cluster_admin):
    charge = fresh_charge(cluster_admin)
    key, body = f"key-{uuid.uuid4()}", {"amount_cents": 100, "reason": REASON}
    first_rid, second_rid = new_request_id(), new_request_id()
    first = send(standin, REFUND, body, key=key, request_id=first_rid, charge_id=charge["id"])
    second = send(standin, REFUND, body, key=key, request_id=second_rid, charge_id=charge["id"])
    assert first.status_code == second.status_code == 201
    assert "Idempotent-Replayed" not in first.headers and second.headers["Idempotent-Replayed"] == "true"
    assert second.content == first.content  # the same answer, first request_id included
    assert refunds_of(cluster_admin, charge["id"]) == 1
    assert len(audit_rows(cluster_admin, "payments", first_rid)) == 1
    assert audit_rows(cluster_admin, "payments", second_rid) == []

    other_body = send(standin, REFUND, {**body, "amount_cents": 101}, key=key, charge_id=charge["id"])
    conforms_to_error(other_body, 422, "idempotency_key_reused")
    other_charge = fresh_charge(cluster_admin)
    other_path = send(standin, REFUND, body, key=key, charge_id=other_charge["id"])
    conforms_to_error(other_path, 422, "idempotency_key_reused")
    assert refunds_of(cluster_admin, charge["id"]) == 1 and refunds_of(cluster_admin, other_charge["id"]) == 0


def test_a_validation_answer_is_remembered_too(standin, cluster_admin):
    charge = fresh_charge(cluster_admin)
    key = f"key-{uuid.uuid4()}"
    first = send(standin, REFUND, {"amount_cents": 10**9, "reason": REASON}, key=key, charge_id=charge["id"])
    again = send(standin, REFUND, {"amount_cents": 10**9, "reason": REASON}, key=key, charge_id=charge["id"])
    conforms_to_error(again, 422, "refund_exceeds_charge")
    assert again.content == first.content and again.headers["Idempotent-Replayed"] == "true"


def test_concurrent_repeats_of_one_key_write_once(standin, cluster_admin):
    charge = fresh_charge(cluster_admin)
    key, body = f"key-{uuid.uuid4()}", {"amount_cents": 100, "reason": REASON}
    start = threading.Barrier(6)
    responses: list[httpx.Response] = []

    def refund() -> None:
        start.wait()
        responses.append(send(standin, REFUND, body, key=key, charge_id=charge["id"]))

    threads = [threading.Thread(target=refund) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [r.status_code for r in responses] == [201] * 6
    assert len({r.content for r in responses}) == 1
    assert sum("Idempotent-Replayed" not in r.headers for r in responses) == 1
    assert refunds_of(cluster_admin, charge["id"]) == 1


# --- faults -------------------------------------------------------------------------------------------


def test_a_client_timeout_after_the_write_then_a_retry_writes_once(standin, cluster_admin, faults):
    charge = fresh_charge(cluster_admin)
    key, body, rid = f"key-{uuid.uuid4()}", {"amount_cents": 100, "reason": REASON}, new_request_id()
    faults(service="payments", kind="slow", phase="after", delay=1.5)
    with pytest.raises(httpx.ReadTimeout):
        send(standin, REFUND, body, key=key, request_id=rid, timeout=0.4, charge_id=charge["id"])
    retried = send(standin, REFUND, body, key=key, charge_id=charge["id"])
    assert retried.status_code == 201 and retried.headers["Idempotent-Replayed"] == "true"
    assert retried.json()["request_id"] == rid
    assert refunds_of(cluster_admin, charge["id"]) == 1


def test_a_client_timeout_before_the_write_then_a_retry_writes_once(standin, cluster_admin, faults):
    charge = fresh_charge(cluster_admin)
    key, body = f"key-{uuid.uuid4()}", {"amount_cents": 100, "reason": REASON}
    faults(service="payments", kind="slow", phase="before", delay=0.8)
    with pytest.raises(httpx.ReadTimeout):
        send(standin, REFUND, body, key=key, timeout=0.3, charge_id=charge["id"])
    retried = send(standin, REFUND, body, key=key, charge_id=charge["id"])
    assert retried.status_code == 201 and "Idempotent-Replayed" not in retried.headers
    time.sleep(1.0)  # the abandoned first request wakes up, finds the key answered and replays
    assert refunds_of(cluster_admin, charge["id"]) == 1


def test_a_5xx_before_the_write_writes_nothing_and_a_retry_succeeds(standin, cluster_admin, faults):
    charge = fresh_charge(cluster_admin)
    key, body, rid = f"key-{uuid.uuid4()}", {"amount_cents": 100, "reason": REASON}, new_request_id()
    faults(service="payments", kind="error", status=503)
    failed = send(standin, REFUND, body, key=key, request_id=rid, charge_id=charge["id"])
    conforms_to_error(failed, 503, "service_unavailable")
    assert refunds_of(cluster_admin, charge["id"]) == 0
    assert audit_rows(cluster_admin, "payments", rid) == []
    retried = send(standin, REFUND, body, key=key, charge_id=charge["id"])
    assert retried.status_code == 201 and "Idempotent-Replayed" not in retried.headers
    assert refunds_of(cluster_admin, charge["id"]) == 1


def test_a_5xx_after_the_write_then_a_retry_replays_the_success(standin, cluster_admin, faults):
    charge = fresh_charge(cluster_admin)
    key, body = f"key-{uuid.uuid4()}", {"amount_cents": 100, "reason": REASON}
    faults(service="payments", kind="error", phase="after", status=502)
    conforms_to_error(send(standin, REFUND, body, key=key, charge_id=charge["id"]), 502, "bad_gateway")
    assert refunds_of(cluster_admin, charge["id"]) == 1
    retried = send(standin, REFUND, body, key=key, charge_id=charge["id"])
    assert retried.status_code == 201 and retried.headers["Idempotent-Replayed"] == "true"
    assert refunds_of(cluster_admin, charge["id"]) == 1


@pytest.mark.parametrize(("phase", "written"), [("before", 0), ("after", 1)])
def test_a_dropped_connection_then_a_retry_writes_once(standin, cluster_admin, faults, phase, written):
    charge = fresh_charge(cluster_admin)
    key, body = f"key-{uuid.uuid4()}", {"amount_cents": 100, "reason": REASON}
    faults(service="payments", kind="drop", phase=phase)
    with pytest.raises(httpx.TransportError):
        send(standin, REFUND, body, key=key, charge_id=charge["id"])
    assert refunds_of(cluster_admin, charge["id"]) == written
    retried = send(standin, REFUND, body, key=key, charge_id=charge["id"])
    assert retried.status_code == 201
    assert (retried.headers.get("Idempotent-Replayed") == "true") == (phase == "after")
    assert refunds_of(cluster_admin, charge["id"]) == 1


def test_faults_apply_count_times_to_their_service_only_and_can_be_cleared(standin, cluster_admin, faults):
    faults(service="payments", kind="error", status=504, count=2)
    user = pick(cluster_admin, "identity.users", "status = 'active'")
    assert send(standin, LOCK, {"reason": REASON}, user_id=user["id"]).status_code == 200
    charge = fresh_charge(cluster_admin)
    body = {"amount_cents": 100, "reason": REASON}
    for _ in range(2):
        conforms_to_error(send(standin, REFUND, body, charge_id=charge["id"]), 504, "gateway_timeout")
    assert send(standin, REFUND, body, charge_id=charge["id"]).status_code == 201

    faults(service="payments", kind="error")
    cleared = httpx.delete(f"{standin.url}/__faults")
    conforms("/__faults", "delete", cleared)
    assert cleared.status_code == 204
    assert send(standin, REFUND, body, charge_id=charge["id"]).status_code == 201


@pytest.mark.parametrize(
    "fault",
    [
        {"service": "booking", "kind": "error"},
        {"service": "payments", "kind": "explode"},
        {"service": "payments", "kind": "error", "status": 404},
        {"service": "payments", "kind": "slow", "delay": -1},
        {"service": "payments", "kind": "drop", "phase": "during"},
        {"service": "payments", "kind": "drop", "count": 0},
    ],
)
def test_a_malformed_fault_is_a_400(standin, fault):
    response = httpx.post(f"{standin.url}/__faults", json=fault)
    conforms("/__faults", "post", response)
    conforms_to_error(response, 400, "invalid_fault")
