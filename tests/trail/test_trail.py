"""Tamper evidence: the back-office chain, its anchors and the platform checkpoints, tampered with
as a database superuser would, and verified by the command and the page."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection
from django.urls import reverse

from apps.auditlog.models import AuditEvent
from apps.auditlog.services import record_event
from apps.trail import anchors, chain, checkpoints
from apps.trail.models import Checkpoint

pytestmark = pytest.mark.django_db(databases="__all__")
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def anchor_dir(settings, tmp_path):
    settings.AUDIT_ANCHOR_DIR = tmp_path / "anchors"
    return settings.AUDIT_ANCHOR_DIR


def verify(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    try:
        call_command("verify_audit_trail", *args, stdout=out)
    except SystemExit as exc:
        return int(exc.code), out.getvalue()
    return 0, out.getvalue()


def log(n: int, **details) -> list[AuditEvent]:
    return [
        record_event(event_type="test.event", actor_id="tester", details={"n": i, **details})
        for i in range(n)
    ]


def as_superuser(*statements: str, params=()) -> list:
    """Run statements on our own database around the append-only and chain triggers (rolled back
    with the test's transaction)."""
    found = []
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement, params if "%s" in statement else ())
            if cursor.description:
                found.extend(cursor.fetchall())
    return found


# --- the chain ----------------------------------------------------------------------------------


def test_chain_positions_and_hashes_are_assigned_by_the_database():
    events = log(3)
    rows = list(AuditEvent.objects.filter(pk__in=[e.pk for e in events]).order_by("seq"))
    assert [r.seq for r in rows] == [rows[0].seq, rows[0].seq + 1, rows[0].seq + 2]
    assert rows[1].prev_hash == rows[0].row_hash and rows[2].prev_hash == rows[1].row_hash
    assert all(len(r.row_hash) == 64 for r in rows)
    checked, findings = chain.verify_chain()
    assert findings == [] and checked.rows >= 3


def test_chain_columns_cannot_be_chosen_by_the_writer():
    event = AuditEvent.objects.create(
        occurred_at="2026-01-01T00:00:00Z", actor_type="staff", actor_id="1", event_type="x", brand_id="*",
        seq=999_999, prev_hash="f" * 64, row_hash="f" * 64,
    )  # fmt: skip
    event.refresh_from_db()
    assert event.seq != 999_999 and event.row_hash != "f" * 64
    assert chain.verify_chain()[1] == []


def test_nothing_tampered_exits_0(anchor_dir):
    log(2)
    call_command("checkpoint_audit", "--schema", "payments", stdout=io.StringIO())
    code, out = verify("--schema", "payments")
    assert code == 0, out
    assert "everything holds" in out and "anchors" in out and "payments" in out


def test_an_edit_a_deletion_and_a_forged_row_are_each_named():
    events = log(6)
    edited, deleted = events[1], events[3]
    as_superuser(
        "ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update",
        f"UPDATE audit_log SET details = '{{\"n\": 42}}' WHERE id = '{edited.pk}'",
        "ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_update",
        "ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_delete",
        f"DELETE FROM audit_log WHERE id = '{deleted.pk}'",
        "ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_delete",
        "ALTER TABLE audit_log DISABLE TRIGGER audit_log_chain",
    )
    forged = as_superuser(
        "INSERT INTO audit_log (id, occurred_at, actor_type, actor_id, event_type, brand_id) "
        "VALUES (gen_random_uuid(), now(), 'staff', '1', 'phi.revealed', '*') RETURNING id::text"
    )[0][0]
    as_superuser("ALTER TABLE audit_log ENABLE TRIGGER audit_log_chain")
    deleted_seq = AuditEvent.objects.get(pk=events[4].pk).seq - 1

    code, out = verify("--schema", "payments")
    assert code == 1
    assert f"row {edited.pk} at position {edited_seq(edited)}: its content no longer matches its hash" in out
    assert (
        f"position {deleted_seq} missing: 1 row deleted between row {events[2].pk} and row {events[4].pk}"
        in out
    )
    assert f"row {forged} has no place in the chain: inserted around the trigger" in out


def edited_seq(event: AuditEvent) -> int:
    return AuditEvent.objects.get(pk=event.pk).seq


def test_deleting_the_newest_rows_is_caught_by_the_head():
    events = log(3)
    as_superuser(
        "ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_delete",
        f"DELETE FROM audit_log WHERE id = '{events[-1].pk}'",
        "ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_delete",
    )
    findings = chain.verify_chain()[1]
    assert [f.kind for f in findings] == ["deleted"]
    assert "the newest 1 row(s) were deleted" in findings[0].message


def test_a_rewritten_and_rehashed_chain_is_caught_by_its_anchor(anchor_dir):
    events = log(4)
    anchor = chain.anchor_head()
    assert anchor is not None and (anchor_dir / anchor.name).stat().st_mode & 0o222 == 0  # read-only
    # A superuser edits a row, then recomputes every hash after it so the chain itself holds.
    as_superuser(
        "ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update",
        f"UPDATE audit_log SET actor_id = 'someone-else' WHERE id = '{events[1].pk}'",
        """
        DO $$ DECLARE r audit_log; prev text; BEGIN
          FOR r IN SELECT * FROM audit_log ORDER BY seq LOOP
            IF prev IS NOT NULL THEN r.prev_hash := prev; END IF;
            prev := audit_log_row_hash(r);
            UPDATE audit_log SET prev_hash = r.prev_hash, row_hash = prev WHERE id = r.id;
          END LOOP;
          UPDATE audit_log_chain_head SET row_hash = prev;
        END $$""",
        "ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_update",
    )
    assert chain.verify_chain()[1] == []  # the chain alone cannot tell
    findings = chain.verify_anchors()[1]
    assert [f.kind for f in findings] == ["rewritten"]
    assert f"position {anchor.seq} no longer has the hash anchored in {anchor.name}" in findings[0].message


def test_anchors_are_signed_chained_and_never_overwritten(anchor_dir):
    log(1)
    first = chain.anchor_head()
    log(1)
    second = chain.anchor_head()
    assert second.previous == first.digest and chain.verify_anchors()[1] == []
    with pytest.raises(FileExistsError):
        anchors.DirectoryStore(anchor_dir).write(second.name, b"{}")
    forged = dict(json.loads(second.body), row_hash="0" * 64)
    (anchor_dir / "anchor-999999999999-forged.json").write_text(json.dumps(forged))
    os.chmod(anchor_dir / first.name, 0o644)
    (anchor_dir / first.name).unlink()
    kinds = sorted(f.kind for f in chain.verify_anchors()[1])
    # The forged one is unsigned; the second no longer follows anything; the first's record is orphaned.
    assert kinds == ["missing", "missing", "unsigned"]


@pytest.mark.django_db(transaction=True, databases="__all__")
def test_concurrent_writers_in_several_processes_give_one_chain():
    script = (
        "import os, sys, django\n"
        "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'backoffice.settings.test')\n"
        "django.setup()\n"
        "from django.db import connections\n"
        "connections['default'].settings_dict['NAME'] = sys.argv[1]\n"
        "from apps.auditlog.services import record_event\n"
        "for i in range(int(sys.argv[2])):\n"
        "    record_event(event_type='test.concurrent', actor_id='writer-' + sys.argv[3], details={'i': i})\n"
    )
    name = connection.settings_dict["NAME"]
    writers = [
        subprocess.Popen([sys.executable, "-c", script, name, "25", str(n)], cwd=ROOT, env={**os.environ})
        for n in range(4)
    ]
    assert [w.wait(timeout=120) for w in writers] == [0, 0, 0, 0]
    seqs = list(
        AuditEvent.objects.filter(event_type="test.concurrent").order_by("seq").values_list("seq", flat=True)
    )
    assert len(seqs) == 100 and len(set(seqs)) == 100
    checked, findings = chain.verify_chain()
    assert findings == [] and checked.rows >= 100


# --- platform checkpoints -----------------------------------------------------------------------

SAVED = "SELECT * FROM {schema}.audit_log WHERE occurred_at < now() - interval '3 days' ORDER BY id LIMIT 1 OFFSET {offset}"


def test_platform_deletions_and_edits_are_named_by_row_and_window(cluster_admin, make_staff):
    call_command(
        "checkpoint_audit",
        "--schema",
        "payments",
        "--schema",
        "commerce",
        "--no-anchor",
        stdout=io.StringIO(),
    )
    assert Checkpoint.objects.filter(schema="payments").exists()
    deleted = cluster_admin.execute(SAVED.format(schema="payments", offset=11)).fetchone()
    edited = cluster_admin.execute(SAVED.format(schema="commerce", offset=13)).fetchone()
    columns = [d.name for d in cluster_admin.execute("SELECT * FROM payments.audit_log LIMIT 0").description]
    try:
        cluster_admin.execute("DELETE FROM payments.audit_log WHERE id = %s", [deleted[0]])
        cluster_admin.execute("UPDATE commerce.audit_log SET actor_id = 'nobody' WHERE id = %s", [edited[0]])
        code, out = verify("--schema", "payments", "--schema", "commerce")
        page = make_staff("compliance").get(reverse("trail:index")).content.decode()
    finally:
        cluster_admin.execute(
            f"INSERT INTO payments.audit_log ({', '.join(columns)}) VALUES ({', '.join(['%s'] * len(columns))})",
            [*deleted[:-1], json.dumps(deleted[-1])],
        )
        cluster_admin.execute(
            "UPDATE commerce.audit_log SET actor_id = %s WHERE id = %s",
            [edited[columns.index("actor_id")], edited[0]],
        )
    deleted_window = checkpoints.window_floor(deleted[1]).isoformat()
    edited_window = checkpoints.window_floor(edited[1]).isoformat()
    assert code == 1
    for text in (out, page):
        assert f"payments: row {deleted[0]} disappeared from window {deleted_window}/" in text
        assert f"commerce: row {edited[0]} changed in window {edited_window}/" in text
        assert f"payments: window {deleted_window}/" in text
    # Restored: everything holds again.
    assert verify("--schema", "payments", "--schema", "commerce")[0] == 0


def test_a_late_row_in_a_checkpointed_window_appears(cluster_admin):
    call_command("checkpoint_audit", "--schema", "jobs", "--no-anchor", stdout=io.StringIO())
    first = Checkpoint.objects.filter(schema="jobs", row_count__gt=0).order_by("window_start").first()
    row_id = "00000000-0000-4000-8000-00000000a17e"
    try:
        cluster_admin.execute(
            "INSERT INTO jobs.audit_log (id, occurred_at, actor_type, actor_id, event_type, brand_id) "
            "VALUES (%s, %s, 'system', 'scheduler', 'job.forged', 'capri')",
            [row_id, first.window_start],
        )
        code, out = verify("--schema", "jobs")
    finally:
        cluster_admin.execute("DELETE FROM jobs.audit_log WHERE id = %s", [row_id])
    assert code == 1
    assert f"jobs: row {row_id} appeared in window {first.window_start.isoformat()}/" in out


def test_our_checkpoint_table_is_checked_against_the_chained_record():
    call_command("checkpoint_audit", "--schema", "jobs", "--no-anchor", stdout=io.StringIO())
    changed = Checkpoint.objects.filter(schema="jobs", row_count__gt=0).first()
    Checkpoint.objects.filter(pk=changed.pk).update(row_count=0, digest=checkpoints.EMPTY_DIGEST, rows=b"")
    code, out = verify("--schema", "jobs")
    assert code == 1
    assert "no longer match what event" in out
    assert f"window {changed.window_start.isoformat()}/" in out


def test_only_closed_windows_are_checkpointed(settings):
    settings.AUDIT_CHECKPOINT_DELAY_MINUTES = 60
    call_command("checkpoint_audit", "--schema", "jobs", "--no-anchor", stdout=io.StringIO())
    newest = Checkpoint.objects.filter(schema="jobs").order_by("-window_end").first()
    assert newest.window_end == checkpoints.closed_until()
    again = io.StringIO()
    call_command("checkpoint_audit", "--schema", "jobs", "--no-anchor", stdout=again)
    assert "jobs: up to date" in again.getvalue()


# --- the page -----------------------------------------------------------------------------------


def test_the_page_is_for_compliance_and_superusers(make_staff):
    assert make_staff("support").get(reverse("trail:index")).status_code == 403
    assert make_staff("brand_manager", brands=("capri",)).get(reverse("trail:index")).status_code == 403
    page = make_staff("compliance").get(reverse("trail:index"), {"schema": "jobs"})
    assert page.status_code == 200 and "Everything holds" in page.content.decode()
    assert (
        make_staff("compliance", username="c2").get(reverse("trail:index"), {"schema": "nope"}).status_code
        == 400
    )
    assert reverse("trail:index") in make_staff("superuser").get(reverse("admin:index")).content.decode()


def test_a_reset_forgets_checkpoints_and_old_runs():
    call_command("checkpoint_audit", "--schema", "jobs", "--no-anchor", stdout=io.StringIO())
    out = io.StringIO()
    call_command("checkpoint_audit", "--schema", "jobs", "--no-anchor", "--reset", stdout=out)
    assert "Forgot" in out.getvalue() and Checkpoint.objects.filter(schema="jobs").exists()
    assert verify("--schema", "jobs")[0] == 0
    assert AuditEvent.objects.filter(event_type=checkpoints.RESET_EVENT).count() == 1
