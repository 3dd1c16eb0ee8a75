"""Reading audit events across every source: filtered, brand-scoped, merged in (occurred_at, id)
order and paged by keyset, so page 1,000 costs what page 1 costs. Nothing here counts a table.

Each source is queried through its own alias (no SQL ever spans two schemas); the streams are
merged in Python. Every row leaves here already passed through the visibility policy: scoped to
the viewer's brands, and its details masked key by key (in clear where the viewer revealed the
record it is about), so no page, export or panel built on these selectors can show more.
"""

from __future__ import annotations

import datetime as dt
import heapq
import json
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from itertools import islice
from typing import Any

from django.db import models
from django.db.models import BooleanField, TextField, Value
from django.db.models.expressions import RawSQL
from django.db.models.functions import Cast

from apps.access import policy
from apps.access.policy import allowed_brands
from apps.core import fanout
from apps.core.models import PlatformJSONDecoder
from apps.core.types import StaffUser
from apps.explorer.cursor import Position
from apps.explorer.query import AuditQuery
from apps.explorer.sources import AuditSource, sources_for

FIELDS = (
    "id", "occurred_at", "actor_type", "actor_id", "actor_brand_id", "event_type",
    "entity_type", "entity_id", "brand_id", "request_id", "details",
)  # fmt: skip
PAGE_SIZE = 50
STORY_LIMIT = 500


@dataclass
class AuditRow:
    source: str
    id: uuid.UUID
    occurred_at: dt.datetime
    actor_type: str
    actor_id: str
    actor_brand_id: str | None
    event_type: str
    entity_type: str | None
    entity_id: str | None
    brand_id: str
    request_id: str | None
    details: Any

    #: The details were masked somewhere for this viewer; ``revealed``: shown in clear by a reveal.
    masked: bool = False
    revealed: bool = False

    @property
    def position(self) -> Position:
        return Position(self.occurred_at, self.id)

    @property
    def phi_bearing(self) -> bool:
        return policy.schema_has_phi(self.source)


class _Masker:
    """Applies the policy to audit details for one viewer (reveals looked up once)."""

    def __init__(self, user: StaffUser) -> None:
        self.user = user
        self.revealed = policy.revealed_records(user)

    def details(
        self,
        source: str,
        row_id: uuid.UUID | str,
        entity_type: str | None,
        entity_id: str | None,
        details: Any,
    ) -> tuple[Any, bool]:
        return policy.mask_audit_details(
            self.user,
            details,
            source=source,
            row_id=row_id,
            entity_type=entity_type,
            entity_id=entity_id,
            revealed_records=self.revealed,
        )

    def apply(self, row: AuditRow) -> AuditRow:
        shown, revealed = self.details(row.source, row.id, row.entity_type, row.entity_id, row.details)
        row.masked = shown != row.details
        row.revealed = revealed and row.phi_bearing
        row.details = shown
        return row


@dataclass
class AuditPage:
    rows: list[AuditRow]
    next_position: Position | None
    sources: list[AuditSource] = field(default_factory=list)
    #: Sources that did not answer before the page's deadline: their events are missing here.
    unanswered: list[str] = field(default_factory=list)


def _filtered(
    source: AuditSource, query: AuditQuery, brands: frozenset[str] | None
) -> models.QuerySet[models.Model] | None:
    """One source's queryset for a query, or None when the query cannot match anything there."""
    queryset = source.model._default_manager.using(source.using).all()
    wanted = set(query.brands) if query.brands else None
    if brands is not None:
        wanted = set(brands) if wanted is None else wanted & set(brands)
    if wanted is not None:
        if not wanted:
            return None
        queryset = queryset.filter(brand_id__in=sorted(wanted))
    exact = {
        name: getattr(query, name)
        for name in ("actor_type", "actor_id", "actor_brand_id", "entity_type", "entity_id", "request_id")
        if getattr(query, name)
    }
    if exact:
        queryset = queryset.filter(**exact)
    if query.event_type:
        prefix = query.event_prefix
        queryset = (
            queryset.filter(event_type__startswith=prefix)
            if prefix
            else queryset.filter(event_type=query.event_type)
        )
    if query.since:
        queryset = queryset.filter(occurred_at__gte=query.since)
    if query.until:
        queryset = queryset.filter(occurred_at__lte=query.until)
    return queryset


def matching(
    source: AuditSource, query: AuditQuery, brands: frozenset[str] | None
) -> models.QuerySet[models.Model] | None:
    """A source's rows matching ``query`` within ``brands`` (None: every brand), unordered; None
    when nothing there can match. What an export read, re-evaluated (apps.customers.accesses)."""
    return _filtered(source, query, brands)


def _before(queryset: models.QuerySet[models.Model], position: Position) -> models.QuerySet[models.Model]:
    # A row comparison is what lets PostgreSQL start the index scan right at the cursor; the
    # redundant bound on occurred_at alone is what lets it prune the newer months of a
    # partitioned audit_log (the planner does not prune on a row comparison).
    return queryset.filter(
        RawSQL(
            "(occurred_at, id) < (%s, %s)", (position.occurred_at, position.id), output_field=BooleanField()
        ),
        occurred_at__lte=position.occurred_at,
    )


def _rows(source: AuditSource, values: Iterable[dict[str, Any]]) -> Iterator[AuditRow]:
    for value in values:
        yield AuditRow(source=source.name, **value)


def _newest_first(row: AuditRow) -> tuple[dt.datetime, uuid.UUID]:
    return (row.occurred_at, row.id)


@dataclass
class AuditPagePlan:
    """One page's reads, prepared on the caller's thread (brands and sources decided): run
    ``tasks`` (``apps.core.fanout``, possibly with other reads of the same page), then
    ``assemble`` their outcomes, in the tasks' order."""

    user: StaffUser
    sources: list[AuditSource]
    tasks: list[fanout.Task[list[dict[str, Any]]]]
    limit: int

    def assemble(self, outcomes: Sequence[fanout.Outcome[list[dict[str, Any]]]]) -> AuditPage:
        """Merged newest first and masked; a source that timed out is named in ``unanswered``,
        any other database error is raised."""
        candidates: list[AuditRow] = []
        unanswered: list[str] = []
        by_name = {source.name: source for source in self.sources}
        for outcome in outcomes:
            if outcome.timed_out:
                unanswered.append(outcome.task.key)
                continue
            candidates.extend(_rows(by_name[outcome.task.key], outcome.result()))
        candidates.sort(key=_newest_first, reverse=True)
        masker = _Masker(self.user)
        rows = [masker.apply(row) for row in candidates[: self.limit]]
        more = len(candidates) > self.limit
        return AuditPage(
            rows=rows,
            next_position=rows[-1].position if more and rows else None,
            sources=self.sources,
            unanswered=unanswered,
        )


def plan_audit_page(
    *, query: AuditQuery, user: StaffUser, after: Position | None = None, limit: int = PAGE_SIZE
) -> AuditPagePlan:
    """The reads of ``audit_page``, one task per source that can match, not run yet."""
    brands = allowed_brands(user)
    sources = sources_for(user, query.services)
    tasks: list[fanout.Task[list[dict[str, Any]]]] = []
    # With a subject, entity_type narrows only the "about" half (see below).
    base_query = replace(query, entity_type="") if query.subject_id else query
    for source in sources:
        queryset = _filtered(source, base_query, brands)
        if queryset is None:
            continue
        if after is not None:
            queryset = _before(queryset, after)
        ordered = queryset.order_by("-occurred_at", "-id").values(*FIELDS)
        if query.subject_id:
            # "By or about": two index-led halves (actor_id, entity) in one statement on this
            # schema; an OR would make the planner walk the time index past millions of rows.
            by = ordered.filter(actor_id=query.subject_id)[: limit + 1]
            about = ordered.filter(entity_id=query.subject_id).exclude(actor_id=query.subject_id)
            if query.entity_type:
                about = about.filter(entity_type=query.entity_type)
            values = by.union(about[: limit + 1], all=True).order_by("-occurred_at", "-id")[: limit + 1]
        else:
            values = ordered[: limit + 1]
        tasks.append(fanout.queryset_task(source.name, values))
    return AuditPagePlan(user=user, sources=sources, tasks=tasks, limit=limit)


def audit_page(
    *, query: AuditQuery, user: StaffUser, after: Position | None = None, limit: int = PAGE_SIZE
) -> AuditPage:
    """One page of events, newest first, starting strictly after ``after``.

    The sources are read concurrently (apps.core.fanout); a source that does not answer before
    the page's deadline is left out and named in ``unanswered``, any other database error is
    raised as before. Scoping and masking happen on the caller's thread.
    """
    plan = plan_audit_page(query=query, user=user, after=after, limit=limit)
    return plan.assemble(fanout.fan_out(plan.tasks))


def request_story(*, request_id: str, user: StaffUser, limit: int = STORY_LIMIT) -> AuditPage:
    """Every event sharing one request_id, across services, oldest first: one action's story
    (``unanswered``: the services that did not answer in time)."""
    page = audit_page(query=AuditQuery(request_id=request_id), user=user, limit=limit)
    return replace(page, rows=sorted(page.rows, key=_newest_first), next_position=None)


# Export rows are plain tuples starting (occurred_at, id) so streams merge by tuple order without
# a key function; ids and details come as text, so nothing is parsed only to be printed again.
EXPORT_FIELDS = (
    "occurred_at", "id", "source", "actor_type", "actor_id", "actor_brand_id", "event_type",
    "entity_type", "entity_id", "brand_id", "request_id", "details",
)  # fmt: skip
#: One export row, in EXPORT_FIELDS order (details as JSON text).
ExportRow = tuple[
    dt.datetime, str, str, str, str, str | None, str, str | None, str | None, str, str | None, str | None
]


EXPORT_CHUNK = 2000  # rows per keyset query of one source


def iter_export_rows(
    *, query: AuditQuery, user: StaffUser, max_rows: int, chunk_size: int = EXPORT_CHUNK
) -> Iterator[ExportRow]:
    """Every matching event as an EXPORT_FIELDS tuple, newest first, merged across sources with
    flat memory (at most one chunk per source held at a time).

    Each source is read in keyset chunks: one short query per chunk, ``(occurred_at, id) <`` the
    last row read, through the time index, LIMIT ``chunk_size``. Nothing is held between chunks:
    no transaction, no server-side cursor, no snapshot. So an export of any length works behind
    a transaction-mode pooler (PgBouncer, RDS Proxy) and is never cancelled by a replica's
    recovery for holding back its replay (and a chunk it does cancel is retried, apps.core.db).
    Each chunk reads its own snapshot: a row committed during the export with a time older than
    a source's position is not in it (audit logs are append-only and arrive nearly in time
    order; the old one-snapshot-per-schema export could not run behind a pooler).
    """
    brands = allowed_brands(user)
    found = [(s, _filtered(s, query, brands)) for s in sources_for(user, query.services)]
    sources = [(s, qs) for s, qs in found if qs is not None]
    streams = [
        _export_stream(source, queryset, max_rows=max_rows, chunk_size=chunk_size)
        for source, queryset in sources
    ]
    merged = islice(heapq.merge(*streams, reverse=True), max_rows)
    masking = {s.name for s, _ in sources if policy.details_need_masking(user, s.name)}
    if not masking:
        yield from merged
        return
    masker = _Masker(user)
    for row in merged:
        # Only rows whose details could hold something this viewer may not see are parsed.
        if row[2] in masking and row[-1] is not None:
            details = json.loads(row[-1], cls=PlatformJSONDecoder)  # any platform JSON, as a page reads it
            shown, _ = masker.details(row[2], row[1], row[7], row[8], details)
            row = (*row[:-1], json.dumps(shown, ensure_ascii=False))
        yield row


def _export_stream(
    source: AuditSource, queryset: models.QuerySet[Any], *, max_rows: int, chunk_size: int
) -> Iterator[ExportRow]:
    """One source's rows, newest first, one keyset chunk (one short query) at a time."""
    rows = (
        queryset.order_by("-occurred_at", "-id")
        .annotate(_id=Cast("id", TextField()), _source=Value(source.name), _details=Cast("details", TextField()))
        .values_list(
            "occurred_at", "_id", "_source", "actor_type", "actor_id", "actor_brand_id", "event_type",
            "entity_type", "entity_id", "brand_id", "request_id", "_details",
        )
    )  # fmt: skip
    chunk, remaining = rows, max_rows
    while remaining > 0:
        batch: list[ExportRow] = list(chunk[: min(chunk_size, remaining)])
        yield from batch
        if len(batch) < chunk_size:
            return
        remaining -= len(batch)
        last = batch[-1]
        chunk = _before(rows, Position(last[0], uuid.UUID(last[1])))


@dataclass
class Volume:
    buckets: list[dt.date]
    series: dict[str, list[int]]  # label -> count per bucket
    truncated: bool  # some source had more matching events than were sampled
    unit: str  # "day", "week" or "month"


def event_volume(*, query: AuditQuery, user: StaffUser, by: str = "service", sample: int = 10_000) -> Volume:
    """Events per day (or week, month) for the query, per service or per event type.

    Bounded cost: each source contributes at most its ``sample`` most recent matching events,
    read through the time index; ``truncated`` says when that bound was reached.
    """
    from collections import Counter, defaultdict

    from django.db import connections

    brands = allowed_brands(user)
    per_day: dict[tuple[dt.date, str], int] = Counter()
    truncated = False
    for source in sources_for(user, query.services):
        queryset = _filtered(source, query, brands)
        if queryset is None:
            continue
        inner = queryset.order_by("-occurred_at").values("occurred_at", "event_type")[:sample]
        sql, params = inner.query.sql_with_params()
        with connections[source.using].cursor() as cursor:
            cursor.execute(
                f"SELECT (occurred_at AT TIME ZONE 'UTC')::date, event_type, count(*) FROM ({sql}) AS recent "  # noqa: S608 - Django-built SQL with bound params
                "GROUP BY 1, 2",
                params,
            )
            rows = cursor.fetchall()
        total = 0
        for day, event_type, count in rows:
            label = source.name if by == "service" else event_type
            per_day[(day, label)] += count
            total += count
        truncated |= total >= sample
    if not per_day:
        return Volume([], {}, truncated, "day")
    first = min(day for day, _ in per_day)
    last = max(day for day, _ in per_day)
    span = (last - first).days
    unit = "day" if span <= 62 else "week" if span <= 7 * 60 else "month"

    def bucket_of(day: dt.date) -> dt.date:
        if unit == "week":
            return day - dt.timedelta(days=day.weekday())
        return day.replace(day=1) if unit == "month" else day

    buckets = sorted({bucket_of(day) for day, _ in per_day})
    index = {bucket: i for i, bucket in enumerate(buckets)}
    series: dict[str, list[int]] = defaultdict(lambda: [0] * len(buckets))
    for (day, label), count in per_day.items():
        series[label][index[bucket_of(day)]] += count
    return Volume(buckets, dict(series), truncated, unit)


def _after(queryset: models.QuerySet[Any], position: Position) -> models.QuerySet[Any]:
    return queryset.filter(
        RawSQL(
            "(occurred_at, id) > (%s, %s)", (position.occurred_at, position.id), output_field=BooleanField()
        )
    )


def iter_events_after(
    *,
    query: AuditQuery,
    user: Any,
    after: Position,
    until: dt.datetime,
    chunk: int = 2000,
    details: bool = True,
) -> Iterator[AuditRow]:
    """Every matching event strictly after ``after`` and at or before ``until``, oldest first:
    the incremental read behind watchlists (each caller keeps its own watermark).

    Scoped and masked for ``user`` exactly as ``audit_page`` is. Each source is read through its
    time index in chunks from its own position and the streams are merged, so every row is read
    once whatever the number of sources. With ``details=False`` rows come without their details
    (None, never read), for callers that only count and group by keys: no masking to pay for.
    """
    brands = allowed_brands(user)
    base_query = replace(query, entity_type="") if query.subject_id else query
    streams = []
    for source in sources_for(user, query.services):
        queryset = _filtered(source, base_query, brands)
        if queryset is None:
            continue
        queryset = queryset.filter(occurred_at__lte=until)
        if query.subject_id:
            about = models.Q(entity_id=query.subject_id)
            if query.entity_type:
                about &= models.Q(entity_type=query.entity_type)
            queryset = queryset.filter(models.Q(actor_id=query.subject_id) | about)
        streams.append(_source_stream(source, queryset, after, chunk, FIELDS if details else _KEY_FIELDS))
    merged = heapq.merge(*streams, key=_newest_first)
    if not details:
        yield from merged
        return
    masker = _Masker(user)
    for row in merged:
        yield masker.apply(row)


_KEY_FIELDS = tuple(name for name in FIELDS if name != "details")


def _source_stream(
    source: AuditSource, queryset: models.QuerySet[Any], after: Position, chunk: int, fields: tuple[str, ...]
) -> Iterator[AuditRow]:
    position = after
    while True:
        values = _after(queryset, position).order_by("occurred_at", "id").values(*fields)[:chunk]
        rows = [AuditRow(source=source.name, **{"details": None, **value}) for value in values]
        yield from rows
        if len(rows) < chunk:
            return
        position = rows[-1].position
