"""The audit explorer's pages: thin views over apps.explorer.selectors."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, StreamingHttpResponse
from django.template.response import TemplateResponse
from django.utils.http import urlencode

from apps.access import permissions, policy
from apps.access.services import LOGGED_ENTITIES, record_phi_access
from apps.auditlog import events
from apps.auditlog.models import MANY_SUBJECTS
from apps.auditlog.services import record_event
from apps.auditlog.subjects import subjects_of_audit_rows
from apps.core import spreadsheet
from apps.core.types import StaffRequest
from apps.explorer import charts, selectors
from apps.explorer.cursor import InvalidCursor, decode, encode
from apps.explorer.query import AuditQuery, InvalidQuery, parse_query
from apps.explorer.sources import source_names, sources_for

EXPORT_COLUMNS = ("source", *selectors.FIELDS)
ACTOR_TYPES = ("user", "staff", "service", "system", "anonymous")


def _require_sources(request: StaffRequest) -> None:
    if not sources_for(request.user):
        raise PermissionDenied("Your role may not read any audit log.")


def _context(request: StaffRequest, **extra: Any) -> dict[str, Any]:
    return {
        **admin.site.each_context(request),
        "services": [s.name for s in sources_for(request.user)],
        "can_export": request.user.has_perm(permissions.EXPORT_RECORDS),
        "actor_types": ACTOR_TYPES,
        **extra,
    }


def _bad_request(request: StaffRequest, message: str) -> HttpResponse:
    context = _context(request, title="Audit explorer", error=message, query=AuditQuery(), rows=[])
    return TemplateResponse(request, "explorer/index.html", context, status=400)


def index(request: StaffRequest, *, preset: dict[str, str] | None = None, heading: str = "") -> HttpResponse:
    """Every visible audit log, filtered, newest first, paged by cursor."""
    _require_sources(request)
    params = request.GET.copy()
    for key, value in (preset or {}).items():
        params[key] = value
    try:
        query = parse_query(params)
        cursor = params.get("cursor")
        after = decode(cursor) if cursor else None
    except (InvalidQuery, InvalidCursor) as exc:
        return _bad_request(request, str(exc))
    page = selectors.audit_page(query=query, user=request.user, after=after)
    _log_phi_rows(request, page.rows, where="audit explorer", filters=query.as_params())
    query_string = urlencode(query.as_params(), doseq=True)
    next_url = None
    if page.next_position is not None:
        next_url = "?" + urlencode({**query.as_params(), "cursor": encode(page.next_position)}, doseq=True)
    context = _context(
        request,
        title=heading or "Audit explorer",
        query=query,
        rows=page.rows,
        next_url=next_url,
        first_url="?" + query_string if after else None,
        query_string=query_string,
        all_services=source_names(),
        unanswered=page.unanswered,
    )
    return TemplateResponse(request, "explorer/index.html", context)


def request_view(request: StaffRequest, request_id: str) -> HttpResponse:
    """The story of one user action: every row sharing a request_id, across services, in order."""
    _require_sources(request)
    if len(request_id) > 256:
        return _bad_request(request, "That request id is too long to be one.")
    story = selectors.request_story(request_id=request_id, user=request.user)
    rows = story.rows
    _log_phi_rows(request, rows, where="audit request story", filters={"request_id": request_id})
    services = sorted({row.source for row in rows})
    context = _context(
        request,
        title=f"Request {request_id}",
        rows=rows,
        request_id=request_id,
        story_services=services,
        unanswered=story.unanswered,
    )
    return TemplateResponse(request, "explorer/story.html", context)


def _log_phi_rows(
    request: StaffRequest, rows: list[selectors.AuditRow], *, where: str, filters: dict[str, Any]
) -> None:
    """Audit rows of PHI-bearing services were shown (masked or revealed): log who saw which."""
    phi_rows = [row for row in rows if row.phi_bearing]
    if phi_rows:
        record_phi_access(
            user=request.user,
            event_type=events.PHI_VIEWED,
            where=where,
            entities=[(row.source, row.entity_type or "", row.entity_id or "") for row in phi_rows],
            revealed=[(row.source, row.entity_id or "") for row in phi_rows if row.revealed],
            filters=filters,
        )


def entity_view(request: StaffRequest, entity_type: str, entity_id: str) -> HttpResponse:
    """An entity's timeline; "-" stands for a row that names an id without a type: any type."""
    if entity_type == "-":
        return index(request, preset={"entity_id": entity_id}, heading=f"Timeline of {entity_id}")
    return index(
        request,
        preset={"entity_type": entity_type, "entity_id": entity_id},
        heading=f"Timeline of {entity_type} {entity_id}",
    )


def actor_view(request: StaffRequest, actor_id: str) -> HttpResponse:
    return index(request, preset={"actor_id": actor_id}, heading=f"Everything {actor_id} did")


def volume_view(request: StaffRequest) -> HttpResponse:
    _require_sources(request)
    try:
        query = parse_query(request.GET)
    except InvalidQuery as exc:
        return HttpResponse(str(exc), status=400, content_type="text/plain")
    by = "event_type" if request.GET.get("by") == "event_type" else "service"
    volume = selectors.event_volume(query=query, user=request.user, by=by)
    title = f"Events per {volume.unit} by {by.replace('_', ' ')}"
    if volume.truncated:
        title += " (most recent events of each service)"
    response = HttpResponse(charts.volume_svg(volume, title=title), content_type="image/svg+xml")
    response["Cache-Control"] = "private, max-age=60"
    return response


class _Buffer(list[str]):
    """A CSV writer's target that collects lines, to be flushed in batches."""

    def write(self, value: str) -> None:
        self.append(value)


BATCH = 1000  # rows per chunk sent to the client: few enough syscalls, little memory


def export_view(request: StaffRequest, fmt: str) -> StreamingHttpResponse | HttpResponse:
    """The current filter as CSV or JSON Lines, streamed, bounded, and logged with its row count."""
    _require_sources(request)
    if not request.user.has_perm(permissions.EXPORT_RECORDS):
        raise PermissionDenied("Your role may not export.")
    try:
        query = parse_query(request.GET)
    except InvalidQuery as exc:
        return HttpResponse(str(exc), status=400, content_type="text/plain")
    max_rows = settings.AUDIT_EXPORT_MAX_ROWS
    rows = selectors.iter_export_rows(query=query, user=request.user, max_rows=max_rows)
    phi_entities = _PhiNotes()
    encode_rows = _csv_chunks if fmt == "csv" else _jsonl_chunks
    response = StreamingHttpResponse(
        _logged(
            request,
            encode_rows(_noting_phi(rows, phi_entities)),
            query=query,
            fmt=fmt,
            max_rows=max_rows,
            phi_entities=phi_entities,
        ),
        content_type="text/csv; charset=utf-8" if fmt == "csv" else "application/x-ndjson",
    )
    response["Content-Disposition"] = (
        f'attachment; filename="audit-export.{"csv" if fmt == "csv" else "jsonl"}"'
    )
    return response


def _csv_chunks(rows: Iterator[selectors.ExportRow]) -> Iterator[tuple[int, str]]:
    """CSV with formula-like cells neutralised (apps.core.spreadsheet); JSON Lines stays exact."""
    buffer = _Buffer()
    writer = spreadsheet.writer(buffer)
    writer.writerow(EXPORT_COLUMNS)
    for batch in _batched(rows):
        # Columns in EXPORT_COLUMNS order: source first, then the standard audit columns.
        writer.writerows((r[2], r[1], r[0], *r[3:]) for r in batch)
        yield len(batch), "".join(buffer)
        buffer.clear()
    if buffer:
        yield 0, "".join(buffer)


def _jsonl_chunks(rows: Iterator[selectors.ExportRow]) -> Iterator[tuple[int, str]]:
    dumps = json.JSONEncoder(ensure_ascii=False, default=str).encode
    keys = selectors.EXPORT_FIELDS[:-1]
    for batch in _batched(rows):
        lines = [
            f'{dumps(dict(zip(keys, r[:-1], strict=True)))[:-1]}, "details": {r[-1] or "null"}}}\n'
            for r in batch
        ]
        yield len(batch), "".join(lines)


class _PhiNotes:
    """The entities of PHI-bearing services' rows an export carried: the first LOGGED_ENTITIES
    distinct ones, and how many rows in all; and who every row is about (``about``: the first
    LOGGED_ENTITIES distinct actors and entities; ``too_many`` past that)."""

    def __init__(self) -> None:
        self.entities: dict[tuple[str, str, str], None] = {}
        self.rows = 0
        self.about: dict[tuple[str, str, str | None, str | None, str | None], None] = {}
        self.too_many = False

    def subjects(self) -> list[str]:
        """The people the exported rows concern, or MANY_SUBJECTS (the filter says who)."""
        return [MANY_SUBJECTS] if self.too_many else subjects_of_audit_rows(self.about)


def _noting_phi(rows: Iterator[selectors.ExportRow], notes: _PhiNotes) -> Iterator[selectors.ExportRow]:
    phi_sources = {name for name in source_names() if policy.schema_has_phi(name)}
    for row in rows:
        if row[2] in phi_sources:
            notes.rows += 1
            if len(notes.entities) < LOGGED_ENTITIES:
                notes.entities[(row[2], row[7] or "", row[8] or "")] = None
        if not notes.too_many:
            key = (row[2], row[3], row[4] if row[3] == "user" else None, row[7], row[8])
            if key not in notes.about:
                notes.too_many = len(notes.about) >= LOGGED_ENTITIES
                notes.about[key] = None
        yield row


def _batched(rows: Iterator[selectors.ExportRow]) -> Iterator[list[selectors.ExportRow]]:
    batch: list[selectors.ExportRow] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _logged(
    request: StaffRequest,
    chunks: Iterator[tuple[int, str]],
    *,
    query: AuditQuery,
    fmt: str,
    max_rows: int,
    phi_entities: _PhiNotes,
) -> Iterator[str]:
    count = 0
    completed = False
    try:
        for rows, chunk in chunks:
            count += rows
            yield chunk
        completed = True
    finally:
        subjects = phi_entities.subjects()
        record_event(
            event_type=events.EXPORT_AUDIT,
            actor=request.user,
            request=request,
            entity_type="audit_log",
            subjects=subjects,
            details={
                "format": fmt,
                "filters": query.as_params(),
                "rows": count,
                "completed": completed,
                "limit_reached": count >= max_rows,
            },
        )
        if phi_entities.rows:
            record_phi_access(
                user=request.user,
                event_type=events.PHI_EXPORTED,
                where="audit export",
                entities=list(phi_entities.entities),
                subjects=[MANY_SUBJECTS] if len(phi_entities.entities) >= LOGGED_ENTITIES else None,
                filters=query.as_params(),
                phi_rows=phi_entities.rows,
                format=fmt,
                completed=completed,
            )
