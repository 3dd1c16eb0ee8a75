"""Verifying the back-office audit log's hash chain, its head and its anchors.

The database computes each row's hash with the same function its trigger used
(``audit_log_row_hash``); Python walks the rows in chain order and checks that each one's
content still hashes to its ``row_hash``, sits at the next position and links to the hash of the
row before. What each break means:

- content no longer matches its hash: the row was **edited**;
- positions missing: rows were **deleted** (named by position, hash and neighbours: their ids
  are gone with them);
- a row that does not link to the one before: the row before was replaced or re-hashed;
- a row without a position, or past the recorded head: **inserted** around the trigger;
- the head (``audit_log_chain_head``) ahead of the last row: the newest rows were deleted;
- an anchored position whose hash changed: the chain was rewritten and re-hashed up to it.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.db import connection, transaction

from apps.auditlog import events
from apps.auditlog.models import AuditEvent, ChainHead
from apps.trail import anchors as anchor_store
from apps.trail.report import BACKOFFICE, Checked, Finding

GENESIS = anchor_store.GENESIS
BATCH = 5000
ANCHORED_EVENT = events.TRAIL_ANCHORED

Progress = Callable[[str], None]


@dataclass
class _Link:
    seq: int
    row_hash: str
    id: str


def _finding(kind: str, message: str, *rows: str, part: str = "chain") -> Finding:
    return Finding(part=part, where=BACKOFFICE, kind=kind, message=message, rows=tuple(r for r in rows if r))


def verify_chain(
    *, since: dt.datetime | None = None, progress: Progress | None = None
) -> tuple[Checked, list[Finding]]:
    """Walk the chain (from the first row at or after ``since``, else from its start)."""
    started = time.perf_counter()
    findings: list[Finding] = []
    start_seq: int | None = 1
    if since is not None:
        first = AuditEvent.objects.filter(occurred_at__gte=since, seq__isnull=False).order_by("seq").first()
        start_seq = first.seq if first else None
    previous = _Link(0, GENESIS, "") if start_seq == 1 else None
    rows = 0
    last: _Link | None = None
    if start_seq is not None:
        with transaction.atomic(), connection.chunked_cursor() as cursor:
            cursor.execute(
                "SELECT a.id::text, a.seq, a.prev_hash, a.row_hash, audit_log_row_hash(a) "
                "FROM audit_log AS a WHERE a.seq >= %s ORDER BY a.seq",
                [start_seq],
            )
            while batch := cursor.fetchmany(BATCH):
                for row_id, seq, prev_hash, row_hash, recomputed in batch:
                    rows += 1
                    findings.extend(_check_row(previous, row_id, seq, prev_hash, row_hash, recomputed))
                    previous = last = _Link(seq, row_hash, row_id)
                if progress:
                    progress(f"  chain: {rows:,} rows checked (position {last.seq if last else 0:,})")
    outside = list(AuditEvent.objects.filter(seq__isnull=True).values_list("id", flat=True)[:1000])
    for row_id in outside:
        findings.append(
            _finding(
                "inserted",
                f"row {row_id} has no place in the chain: inserted around the trigger",
                str(row_id),
            )
        )
    findings.extend(_check_head(last))
    summary = f"{rows:,} rows of the back-office audit log chained from position {start_seq or '-'}"
    return Checked("chain", BACKOFFICE, summary, rows=rows, seconds=time.perf_counter() - started), findings


def _check_row(
    previous: _Link | None,
    row_id: str,
    seq: int,
    prev_hash: str | None,
    row_hash: str | None,
    recomputed: str,
) -> list[Finding]:
    found = []
    if row_hash != recomputed:
        found.append(
            _finding(
                "edited",
                f"row {row_id} at position {seq}: its content no longer matches its hash (edited)",
                row_id,
            )
        )
    if previous is None:
        return found
    if seq > previous.seq + 1:
        missing = seq - previous.seq - 1
        positions = f"{previous.seq + 1}" if missing == 1 else f"{previous.seq + 1}-{seq - 1}"
        found.append(
            _finding(
                "deleted",
                f"position{'s' if missing > 1 else ''} {positions} missing: {missing} row{'s' if missing > 1 else ''} "
                f"deleted between row {previous.id or '(start)'} and row {row_id} "
                f"(the first deleted row's hash was {prev_hash})",
                previous.id,
                row_id,
            )
        )
    elif prev_hash != previous.row_hash:
        found.append(
            _finding(
                "relinked",
                f"row {row_id} at position {seq} does not follow row {previous.id or '(start)'}: "
                "the row before it was replaced or re-hashed",
                previous.id,
                row_id,
            )
        )
    return found


def _check_head(last: _Link | None) -> list[Finding]:
    head = ChainHead.objects.filter(pk=1).first()
    newest = (
        AuditEvent.objects.filter(seq__isnull=False)
        .order_by("-seq")
        .values_list("seq", "row_hash", "id")
        .first()
    )
    if head is None:
        if newest is not None:
            return [_finding("head", "the chain head record is missing while the chain has rows")]
        return []
    found = []
    if newest is None or newest[0] < head.seq:
        after = newest[0] if newest else 0
        found.append(
            _finding(
                "deleted",
                f"the head says position {head.seq} but the newest row is at {after}: "
                f"the newest {head.seq - after} row(s) were deleted",
            )
        )
    elif newest[0] > head.seq:
        beyond = AuditEvent.objects.filter(seq__gt=head.seq).values_list("id", flat=True)[:1000]
        for row_id in beyond:
            found.append(
                _finding(
                    "inserted",
                    f"row {row_id} lies past the chain head: inserted around the trigger",
                    str(row_id),
                )
            )
    elif newest[1] != head.row_hash:
        found.append(
            _finding("edited", f"the newest row {newest[2]} does not carry the head's hash", str(newest[2]))
        )
    return found


def verify_anchors(*, progress: Progress | None = None) -> tuple[Checked, list[Finding]]:
    """Every anchor is signed, follows the one before, and its position still has its hash; every
    anchor the log recorded still has its file."""
    started = time.perf_counter()
    anchors, unreadable = anchor_store.load()
    findings = [
        _finding("unreadable", f"anchor file {name} is not an anchor (altered or foreign)", part="anchors")
        for name in unreadable
    ]
    import json

    previous = GENESIS
    positions = {a.seq for a in anchors}
    hashes = dict(
        AuditEvent.objects.filter(seq__in=positions).values_list("seq", "row_hash")
    )  # one indexed lookup
    ids = dict(AuditEvent.objects.filter(seq__in=positions).values_list("seq", "id"))
    for anchor in anchors:
        if not anchor_store.signature_holds(json.loads(anchor.body)):
            findings.append(
                _finding(
                    "unsigned",
                    f"anchor {anchor.name}: its signature does not hold (forged or altered)",
                    part="anchors",
                )
            )
            continue
        if anchor.previous != previous:
            findings.append(
                _finding(
                    "missing",
                    f"anchor {anchor.name} does not follow the anchor before it: "
                    "an anchor was removed or replaced",
                    part="anchors",
                )
            )
        previous = anchor.digest
        if anchor.seq not in hashes:
            findings.append(
                _finding(
                    "deleted", f"position {anchor.seq}, anchored in {anchor.name}, is gone", part="anchors"
                )
            )
        elif hashes[anchor.seq] != anchor.row_hash:
            row_id = str(ids[anchor.seq])
            findings.append(
                _finding(
                    "rewritten",
                    f"row {row_id} at position {anchor.seq} no longer has the hash anchored in {anchor.name}: "
                    "the chain was rewritten up to it",
                    row_id,
                    part="anchors",
                )
            )
    stored = {a.name for a in anchors} | set(unreadable)
    recorded = AuditEvent.objects.filter(event_type=ANCHORED_EVENT).values_list("id", "details")
    for event_id, details in recorded:
        name = (details or {}).get("file", "")
        if name and name not in stored:
            findings.append(
                _finding(
                    "missing",
                    f"anchor file {name}, recorded by event {event_id}, is missing",
                    str(event_id),
                    part="anchors",
                )
            )
    if progress:
        progress(f"  anchors: {len(anchors)} checked")
    newest = f", newest at position {anchors[-1].seq} ({anchors[-1].anchored_at})" if anchors else ""
    summary = (
        f"{len(anchors)} anchor{'s' if len(anchors) != 1 else ''} in {anchor_store.store().path}{newest}"
    )
    return Checked("anchors", BACKOFFICE, summary, rows=0, seconds=time.perf_counter() - started), findings


def anchor_head() -> anchor_store.Anchor | None:
    """Anchor the current chain head and record that in the log (the next anchor covers it)."""
    from apps.auditlog.services import record_event

    head = ChainHead.objects.filter(pk=1).first()
    if head is None or head.seq == 0:
        return None
    anchor = anchor_store.write_anchor(seq=head.seq, row_hash=head.row_hash)
    record_event(
        event_type=ANCHORED_EVENT,
        actor_type="system",
        actor_id="checkpoint_audit",
        entity_type="audit_log",
        details={"file": anchor.name, "seq": anchor.seq, "row_hash": anchor.row_hash},
    )
    return anchor
