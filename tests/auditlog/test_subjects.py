"""Each back-office event records the person it concerns; records name their people through
the registry's cross-service ids and in-schema relations."""

from __future__ import annotations

import pytest

from apps.auditlog.models import MANY_SUBJECTS
from apps.auditlog.services import record_event
from apps.auditlog.subjects import LOGGED_SUBJECTS, subject_of, subjects_of_audit_rows, user_paths

pytestmark = pytest.mark.django_db(databases="__all__")


def test_record_event_keeps_one_several_or_too_many_subjects():
    one = record_event(event_type="test.one", actor_id="t", subject_id="u1")
    several = record_event(event_type="test.several", actor_id="t", subjects=["u1", "u2", "u1"])
    many = record_event(
        event_type="test.many", actor_id="t", subjects=[f"u{i}" for i in range(LOGGED_SUBJECTS + 1)]
    )
    nobody = record_event(event_type="test.none", actor_id="t")
    assert (one.subject_id, one.subject_ids) == ("u1", None)
    assert (several.subject_id, several.subject_ids) == (None, ["u1", "u2"])
    assert (many.subject_id, many.subject_ids) == (MANY_SUBJECTS, None)
    assert (nobody.subject_id, nobody.subject_ids) == (None, None)


def test_user_paths_come_from_the_registry():
    assert [p.lookup() for p in user_paths("payments.Charge")] == ["user_id"]
    assert [p.lookup() for p in user_paths("payments.Refund")] == ["charge__user_id"]
    assert [p.lookup() for p in user_paths("identity.Token")] == ["grant__user_id"]
    owned = user_paths("accounting.Transaction")[0]
    assert owned.lookup() == "account__owner_id" and owned.filters() == {"account__owner_type": "user"}
    assert user_paths("webhooks.Endpoint") == ()


def test_records_and_audit_rows_name_their_people(cluster_admin):
    refund_id, user_id = cluster_admin.execute(
        "SELECT r.id::text, c.user_id FROM payments.refunds r JOIN payments.charges c ON c.id = r.charge_id LIMIT 1"
    ).fetchone()
    assert subject_of("payments.Refund", refund_id) == [user_id]
    assert subject_of("identity.User", user_id) == [user_id]
    assert subject_of("payments.Refund", "00000000-0000-0000-0000-000000000000") == []
    rows = [
        ("payments", "service", "commerce", "refund", refund_id),
        ("identity", "user", "someone", None, None),  # a user acting is about themself
        ("backoffice", "staff", "1", "payments.Refund", refund_id),  # our own rows name labels
        ("jobs", "system", "scheduler", "job_run", "not-a-uuid"),
    ]
    assert subjects_of_audit_rows(rows) == ["someone", user_id]
