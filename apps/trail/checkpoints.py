"""Checkpoints of every service's audit_log, and their verification. Read-only on the platform.

For each schema and each closed window (AUDIT_CHECKPOINT_WINDOW_MINUTES, aligned on UTC
midnight; closed once AUDIT_CHECKPOINT_DELAY_MINUTES passed after its end, for late rows), the
platform database computes, through the schema's own read-only alias, in one pass per batch of
windows:

- ``entry`` per row: its 16-byte id and the first 8 bytes of sha256 of its canonical text (every
  column, timestamps as UTC text, details as jsonb text);
- per window: the row count, and the concatenation of the entries in (occurred_at, id) order with
  its sha256 (the window's digest).

We store all three in our own database (``Checkpoint``; 24 bytes a row). Verification asks the
platform for the counts and digests again (the entries stay in the database); a window whose
count or digest differs is named, then its entries are fetched and compared with the stored
ones, which names each row that disappeared (deleted), appeared (inserted) or changed (edited),
and a row whose time was edited as moved from one window to another.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from django.conf import settings
from django.db import connections, transaction
from django.db.models import Min
from django.utils import timezone

from apps.auditlog import events
from apps.explorer.sources import AuditSource, all_sources
from apps.trail.models import Checkpoint
from apps.trail.report import Checked, Finding

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
ENTRY_BYTES = 24
EMPTY_DIGEST = hashlib.sha256(b"").hexdigest()
CHECKPOINTED_EVENT = events.TRAIL_CHECKPOINTED
RESET_EVENT = events.TRAIL_CHECKPOINTS_RESET

ROW_TEXT = (
    "jsonb_build_array(id::text, to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US'), "
    "actor_type, actor_id, actor_brand_id, event_type, entity_type, entity_id, brand_id, request_id, details)::text"
)
ENTRY = f"uuid_send(id) || substr(sha256(convert_to({ROW_TEXT}, 'UTF8')), 1, 8)"
# One pass over [start, end) through the (occurred_at, id) index; %s: start, end, width, start.
_WINDOWS = """
SELECT w, n, encode(sha256(entries), 'hex'){blob}
FROM (
  SELECT floor(extract(epoch FROM occurred_at - %s::timestamptz) / %s)::bigint AS w, count(*) AS n,
         string_agg({entry}, ''::bytea ORDER BY occurred_at, id) AS entries
  FROM {table}
  WHERE occurred_at >= %s AND occurred_at < %s
  GROUP BY 1
) AS per_window
ORDER BY w
"""

Progress = Callable[[str], None]


def platform_sources(schemas: tuple[str, ...] = ()) -> list[AuditSource]:
    """The service audit logs to checkpoint (the back-office's own has its chain)."""
    return [s for s in all_sources() if s.using != "default" and (not schemas or s.name in schemas)]


def window_seconds() -> int:
    return settings.AUDIT_CHECKPOINT_WINDOW_MINUTES * 60


def window_floor(moment: dt.datetime) -> dt.datetime:
    width = window_seconds()
    return EPOCH + dt.timedelta(seconds=int((moment - EPOCH).total_seconds() // width) * width)


def closed_until(now: dt.datetime | None = None) -> dt.datetime:
    """The end of the newest window that is closed, late rows included."""
    now = now or timezone.now()
    return window_floor(now - dt.timedelta(minutes=settings.AUDIT_CHECKPOINT_DELAY_MINUTES))


@dataclass
class WindowState:
    start: dt.datetime
    count: int
    digest: str
    entries: bytes | None = None


def _table(source: AuditSource) -> str:
    schema, table = source.model._meta.db_table.split('"."')
    return f'"{schema}"."{table}"'


def compute_windows(
    source: AuditSource, start: dt.datetime, end: dt.datetime, *, entries: bool
) -> dict[dt.datetime, WindowState]:
    """Count and digest (and the rows' entries) of each non-empty window in [start, end)."""
    width = window_seconds()
    sql = _WINDOWS.format(blob=", entries" if entries else "", entry=ENTRY, table=_table(source))
    found: dict[dt.datetime, WindowState] = {}
    with transaction.atomic(using=source.using), connections[source.using].cursor() as cursor:
        cursor.execute(f"SET LOCAL statement_timeout = {int(settings.AUDIT_CHECKPOINT_TIMEOUT_MS)}")
        cursor.execute(sql, [EPOCH, width, start, end])
        for row in cursor.fetchall():
            window = EPOCH + dt.timedelta(seconds=row[0] * width)
            found[window] = WindowState(window, row[1], row[2], bytes(row[3]) if entries else None)
    return found


def batches(start: dt.datetime, end: dt.datetime, windows: int) -> Iterator[tuple[dt.datetime, dt.datetime]]:
    step = dt.timedelta(seconds=window_seconds() * windows)
    while start < end:
        yield start, min(start + step, end)
        start += step


def _windows(start: dt.datetime, end: dt.datetime) -> Iterator[dt.datetime]:
    step = dt.timedelta(seconds=window_seconds())
    while start < end:
        yield start
        start += step


def batch_windows() -> int:
    """Windows per platform query: about a month of daily windows, or the same span otherwise."""
    return max(1, (31 * 24 * 60) // settings.AUDIT_CHECKPOINT_WINDOW_MINUTES)


@dataclass
class Taken:
    schema: str
    windows: int
    rows: int
    first: dt.datetime | None
    end: dt.datetime | None
    seconds: float


def take_checkpoints(
    *, schemas: tuple[str, ...] = (), now: dt.datetime | None = None, progress: Progress | None = None
) -> list[Taken]:
    """Checkpoint every closed window not checkpointed yet, per schema, and log each schema's run
    (``trail.checkpointed``, with a digest over its windows) in the chained back-office log."""
    from apps.auditlog.services import record_event

    until = closed_until(now)
    taken = []
    for source in platform_sources(schemas):
        started = time.perf_counter()
        last = Checkpoint.objects.filter(schema=source.name).order_by("-window_start").first()
        start: dt.datetime | None
        if last is not None:
            start = last.window_end
        else:
            oldest = source.model._default_manager.using(source.using).aggregate(first=Min("occurred_at"))[
                "first"
            ]
            start = window_floor(oldest) if oldest else None
        if start is None or start >= until:
            taken.append(Taken(source.name, 0, 0, None, None, time.perf_counter() - started))
            continue
        created: list[Checkpoint] = []
        stamp = timezone.now()
        for batch_start, batch_end in batches(start, until, batch_windows()):
            states = compute_windows(source, batch_start, batch_end, entries=True)
            for window in _windows(batch_start, batch_end):
                state = states.get(window) or WindowState(window, 0, EMPTY_DIGEST, b"")
                created.append(
                    Checkpoint(
                        schema=source.name,
                        window_start=window,
                        window_end=window + dt.timedelta(seconds=window_seconds()),
                        row_count=state.count,
                        digest=state.digest,
                        rows=state.entries or b"",
                        taken_at=stamp,
                    )
                )
            if progress:
                progress(f"  {source.name}: windows up to {batch_end:%Y-%m-%d %H:%M} computed")
        with transaction.atomic():
            Checkpoint.objects.bulk_create(created, batch_size=500)
            rows = sum(c.row_count for c in created)
            record_event(
                event_type=CHECKPOINTED_EVENT,
                actor_type="system",
                actor_id="checkpoint_audit",
                entity_type="audit_log",
                entity_id=source.name,
                details={
                    "schema": source.name,
                    "from": start.isoformat(),
                    "to": until.isoformat(),
                    "windows": len(created),
                    "rows": rows,
                    "digest": run_digest(created),
                },
            )
        taken.append(Taken(source.name, len(created), rows, start, until, time.perf_counter() - started))
    return taken


def reset_checkpoints(*, schemas: tuple[str, ...] = ()) -> int:
    """Forget stored checkpoints (the platform was rebuilt: they describe rows that are gone).
    Logged in the chain, so a reset is itself evidence; earlier runs are no longer compared."""
    from apps.auditlog.services import record_event

    names = [s.name for s in platform_sources(schemas)]
    with transaction.atomic():
        forgotten, _ = Checkpoint.objects.filter(schema__in=names).delete()
        record_event(
            event_type=RESET_EVENT,
            actor_type="system",
            actor_id="checkpoint_audit",
            entity_type="audit_log",
            details={"schemas": names, "checkpoints": forgotten},
        )
    return forgotten


def run_digest(checkpoints: list[Checkpoint]) -> str:
    """One digest over a run's windows, kept in the chained log: our own table is checked too."""
    text = "".join(f"{c.window_start.isoformat()}|{c.row_count}|{c.digest}\n" for c in checkpoints)
    return hashlib.sha256(text.encode()).hexdigest()


# --- verification ---------------------------------------------------------------------------


def _entries(blob: bytes) -> dict[str, bytes]:
    import uuid

    return {
        str(uuid.UUID(bytes=blob[i : i + 16])): blob[i + 16 : i + ENTRY_BYTES]
        for i in range(0, len(blob), ENTRY_BYTES)
    }


def _window_label(start: dt.datetime, end: dt.datetime) -> str:
    return f"{start.isoformat()}/{end.isoformat()}"


def verify_checkpoints(
    *, schemas: tuple[str, ...] = (), since: dt.datetime | None = None, progress: Progress | None = None
) -> tuple[list[Checked], list[Finding]]:
    checked: list[Checked] = []
    findings: list[Finding] = []
    for source in platform_sources(schemas):
        started = time.perf_counter()
        stored_all = Checkpoint.objects.filter(schema=source.name).order_by("window_start")
        if since is not None:
            stored_all = stored_all.filter(window_end__gt=since)
        stored = list(stored_all.defer("rows"))
        found = _verify_source(source, stored, since=since)
        findings.extend(found)
        rows = sum(c.row_count for c in stored)
        span = (
            f"{stored[0].window_start:%Y-%m-%d} to {stored[-1].window_end:%Y-%m-%d}"
            if stored
            else "nothing yet"
        )
        checked.append(
            Checked(
                "checkpoints",
                source.name,
                f"{len(stored)} window{'s' if len(stored) != 1 else ''} ({span}), {rows:,} rows",
                rows=rows,
                windows=len(stored),
                seconds=time.perf_counter() - started,
            )
        )
        if progress:
            status = "ok" if not found else f"{len(found)} finding{'s' if len(found) != 1 else ''}"
            progress(f"  {source.name}: {len(stored)} windows, {rows:,} rows: {status}")
    findings.extend(_verify_recorded_runs(schemas))
    return checked, findings


def _verify_source(
    source: AuditSource, stored: list[Checkpoint], *, since: dt.datetime | None
) -> list[Finding]:
    if not stored:
        return []
    findings: list[Finding] = []
    # Our own table first: windows must follow each other with no gap.
    for before, after in itertools.pairwise(stored):
        if after.window_start != before.window_end:
            findings.append(
                Finding("checkpoints", source.name, "missing",
                        f"{source.name}: no checkpoint for {_window_label(before.window_end, after.window_start)} "
                        "(removed from our database)", window=_window_label(before.window_end, after.window_start))
            )  # fmt: skip
    suspects: list[Checkpoint] = []
    by_start = {c.window_start: c for c in stored}
    for batch_start, batch_end in batches(stored[0].window_start, stored[-1].window_end, batch_windows()):
        current = compute_windows(source, batch_start, batch_end, entries=False)
        for window in _windows(batch_start, batch_end):
            checkpoint = by_start.get(window)
            if checkpoint is None:
                continue
            state = current.get(window) or WindowState(window, 0, EMPTY_DIGEST)
            if state.count != checkpoint.row_count or state.digest != checkpoint.digest:
                suspects.append(checkpoint)
                findings.append(
                    Finding("checkpoints", source.name, "window",
                            f"{source.name}: window {_window_label(checkpoint.window_start, checkpoint.window_end)} "
                            f"held {checkpoint.row_count:,} rows, now {state.count:,}"
                            f"{'' if state.count != checkpoint.row_count else ' with a different digest'}",
                            window=_window_label(checkpoint.window_start, checkpoint.window_end))
                )  # fmt: skip
    findings.extend(_name_rows(source, suspects))
    # Rows that appeared before the first checkpointed window (never covered, so never stored).
    first = stored[0].window_start
    if since is None or since < first:
        model = source.model._default_manager.using(source.using)
        for row_id, occurred in model.filter(occurred_at__lt=first).values_list("id", "occurred_at")[:100]:
            findings.append(
                Finding("checkpoints", source.name, "appeared",
                        f"{source.name}: row {row_id} ({occurred.isoformat()}) appeared before the first checkpoint "
                        f"({first.isoformat()}): inserted", rows=(str(row_id),))
            )  # fmt: skip
    return findings


def _name_rows(source: AuditSource, suspects: list[Checkpoint]) -> list[Finding]:
    """Compare the stored entries of each suspect window with the platform's now."""
    disappeared: dict[str, Checkpoint] = {}
    appeared: dict[str, Checkpoint] = {}
    findings: list[Finding] = []
    for checkpoint in suspects:
        then = _entries(bytes(Checkpoint.objects.values_list("rows", flat=True).get(pk=checkpoint.pk)))
        state = compute_windows(source, checkpoint.window_start, checkpoint.window_end, entries=True).get(
            checkpoint.window_start
        )
        now = _entries(state.entries) if state and state.entries else {}
        label = _window_label(checkpoint.window_start, checkpoint.window_end)
        for row_id in sorted(then.keys() & now.keys()):
            if then[row_id] != now[row_id]:
                findings.append(
                    Finding("checkpoints", source.name, "changed",
                            f"{source.name}: row {row_id} changed in window {label} (edited)", (row_id,), label)
                )  # fmt: skip
        disappeared.update((row_id, checkpoint) for row_id in then.keys() - now.keys())
        appeared.update((row_id, checkpoint) for row_id in now.keys() - then.keys())
    for row_id in sorted(disappeared.keys() & appeared.keys()):
        was, now_in = disappeared.pop(row_id), appeared.pop(row_id)
        findings.append(
            Finding("checkpoints", source.name, "changed",
                    f"{source.name}: row {row_id} moved from window {_window_label(was.window_start, was.window_end)} "
                    f"to {_window_label(now_in.window_start, now_in.window_end)} (its time was edited)",
                    (row_id,), _window_label(was.window_start, was.window_end))
        )  # fmt: skip
    for row_id, checkpoint in sorted(disappeared.items()):
        label = _window_label(checkpoint.window_start, checkpoint.window_end)
        findings.append(
            Finding("checkpoints", source.name, "disappeared",
                    f"{source.name}: row {row_id} disappeared from window {label} (deleted)", (row_id,), label)
        )  # fmt: skip
    for row_id, checkpoint in sorted(appeared.items()):
        label = _window_label(checkpoint.window_start, checkpoint.window_end)
        findings.append(
            Finding("checkpoints", source.name, "appeared",
                    f"{source.name}: row {row_id} appeared in window {label} (inserted)", (row_id,), label)
        )  # fmt: skip
    return findings


def _verify_recorded_runs(schemas: tuple[str, ...]) -> list[Finding]:
    """Each checkpoint run recorded (in the chained log) a digest over its windows: our stored
    checkpoints must still give it."""
    from apps.auditlog.models import AuditEvent

    findings = []
    resets: dict[str, int] = {}
    for seq, details in AuditEvent.objects.filter(event_type=RESET_EVENT).values_list("seq", "details"):
        for schema in (details or {}).get("schemas", []):
            resets[schema] = max(resets.get(schema, 0), seq or 0)
    events = AuditEvent.objects.filter(event_type=CHECKPOINTED_EVENT).values_list("id", "seq", "details")
    for event_id, seq, details in events:
        details = details or {}
        schema = details.get("schema", "")
        if (schemas and schema not in schemas) or (seq or 0) < resets.get(schema, 0):
            continue
        start, end = details.get("from"), details.get("to")
        stored = list(
            Checkpoint.objects.filter(schema=schema, window_start__gte=start, window_end__lte=end)
            .order_by("window_start")
            .defer("rows")
        )
        if run_digest(stored) != details.get("digest") or len(stored) != details.get("windows"):
            findings.append(
                Finding("checkpoints", schema, "altered",
                        f"{schema}: the checkpoints from {start} to {end} no longer match what event {event_id} "
                        "recorded (our checkpoint table was edited)", (str(event_id),), f"{start}/{end}")
            )  # fmt: skip
    return findings
