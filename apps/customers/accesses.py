"""Who saw this person's data? The access report: one timeline per person, from three places.

1. **The back-office's own log**: every event whose subject is the person (``subject_id``, or
   ``subject_ids`` for lists and exports): views, reveals with their reasons, exports, actions
   requested, approved and sent. One index lookup. Exports about more people than an event lists
   (``subject_id = "*"``) keep their filter, which is re-evaluated here for this person, up to
   the moment of the export.
2. **Every service's audit_log**, through the schema's own alias: the person's records are found
   by bounded, index-backed queries (``apps.auditlog.subjects``: the user's own columns, then
   in-schema relations), then the audit rows about them by ``(entity_type, entity_id)``. Kept:
   rows whose actor is staff, and rows of services acting for staff (sharing a staff request's
   ``request_id``, in any schema or in our log).
3. **Disclosures to third parties**: outbound webhook deliveries whose payload names the person
   or one of their orders, wearable (partner) connections and their sync runs, OAuth grants to
   third-party clients.

Reports built are logged (``report.access_built``) but not listed: building one is not an
access, and the page, the CSV and the PDF of one period stay the same.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from functools import cache, partial
from typing import Any, cast

from django.apps import apps
from django.contrib.auth import get_user_model
from django.db import DatabaseError, models
from django.db.models import Q
from django.db.models.fields.json import KT
from django.http import QueryDict

from apps.access import permissions, policy
from apps.auditlog import events
from apps.auditlog.models import MANY_SUBJECTS, AuditEvent
from apps.auditlog.subjects import USER_MODEL, UserPath, user_paths
from apps.core import fanout
from apps.core.catalog import indexed_leads
from apps.core.db import isolated
from apps.core.entities import BACKOFFICE, entity_model_label
from apps.explorer import selectors as explorer
from apps.explorer.query import InvalidQuery, parse_query
from apps.explorer.sources import AuditSource, all_sources, sources_for

#: At most this many records of one model are looked up per person (the heaviest has thousands).
MAX_RECORDS = 20_000
#: At most this many rows per source and part of the report.
MAX_ROWS = 10_000
CHUNK = 1000
#: Sources read at once for a report: its reads take seconds, so a connection per source is noise.
WORKERS = 4
#: Not accesses: building a report, and the trail's own upkeep.
HIDDEN_PREFIXES = tuple({e.split(".")[0] + "." for e in (events.REPORT_ACCESS_BUILT, events.TRAIL_ANCHORED)})

KINDS = {
    events.CUSTOMER_VIEWED: "viewed the customer page",
    events.CONTACT_VIEWED: "viewed contact details",
    events.PHI_VIEWED: "viewed (PHI masked unless revealed)",
    events.PHI_REVEALED: "revealed PHI",
    events.PHI_EXPORTED: "exported PHI rows",
    events.EXPORT_AUDIT: "exported audit rows",
    events.SERVICE_ACTION_REQUESTED: "requested an action",
    events.SERVICE_ACTION_APPROVED: "approved an action",
    events.SERVICE_ACTION_REJECTED: "rejected an action",
    events.SERVICE_ACTION_SENT: "sent an action to the service",
    events.SERVICE_ACTION_SUCCEEDED: "action done by the service",
    events.SERVICE_ACTION_FAILED: "action failed",
}


@dataclass
class Access:
    at: dt.datetime
    part: str  # "back-office", "platform" or "disclosure"
    source: str  # "backoffice" or the schema
    event_type: str
    what: str  # a short description of the access
    actor: str  # who: a staff member (username), a service, a partner
    role: str
    record: str  # "clinical.Biomarker 1234..."
    request_id: str
    reason: str
    note: str = ""
    order: tuple = ()

    @property
    def day(self) -> dt.date:
        return self.at.date()


@dataclass
class AccessReport:
    user_id: str
    since: dt.datetime | None
    until: dt.datetime | None
    accesses: list[Access] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what was bounded or unavailable

    def by_day(self) -> list[tuple[dt.date, list[Access]]]:
        days: dict[dt.date, list[Access]] = defaultdict(list)
        for access in self.accesses:
            days[access.day].append(access)
        return list(days.items())


def _in_period(
    queryset: models.QuerySet, field_name: str, since: dt.datetime | None, until: dt.datetime | None
) -> Any:
    if since:
        queryset = queryset.filter(**{f"{field_name}__gte": since})
    if until:
        queryset = queryset.filter(**{f"{field_name}__lte": until})
    return queryset


# --- the person's records in each schema --------------------------------------------------------


def _table(model: type[models.Model]) -> tuple[str, str]:
    schema, table = model._meta.db_table.split('"."')
    return schema, table


def _indexed(model: type[models.Model], column: str) -> bool:
    schema, table = _table(model)
    return (table, column) in indexed_leads(schema=schema)


@dataclass
class PersonRecords:
    """Ids of one person's records per model label, found schema by schema."""

    user_id: str
    ids: dict[str, list[str]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def of_schema(self, schema: str) -> dict[str, list[str]]:
        return {label: ids for label, ids in self.ids.items() if label.split(".")[0] == schema}


def _is_platform(model: type[models.Model]) -> bool:
    return '"."' in model._meta.db_table and model.__name__ != "AuditLog"


def find_records(*, user_id: str, schemas: Iterable[str], staff: Any) -> PersonRecords:
    """The person's records in each schema: index-backed queries on each schema's alias, each
    bounded by MAX_RECORDS; a path without an index is skipped and said so. Schemas are searched
    concurrently (``apps.core.fanout``), each on its own connection; the result and its notes are
    in schema order whatever finished first."""
    person = PersonRecords(user_id)
    _settle_on_caller(staff)
    tasks = []
    for schema in schemas:
        try:
            app_models = [m for m in apps.get_app_config(schema).get_models() if _is_platform(m)]
        except LookupError:
            continue
        if app_models:
            tasks.append(
                fanout.Task(
                    schema, _alias(app_models[0]), partial(_schema_records, app_models, user_id, staff)
                )
            )
    for outcome in fanout.fan_out(tasks, max_workers=WORKERS, timeout=0):
        if outcome.error is not None:
            person.notes.append(f"{outcome.task.key}: not searched ({type(outcome.error).__name__})")
            continue
        found = outcome.result()
        person.ids.update(found.ids)
        person.notes.extend(found.notes)
    return person


def _settle_on_caller(staff: Any) -> None:
    """Read, on the caller's thread, what the policy memoises on the staff member (their brands,
    their permissions), so a fan-out task never reads our own database from another thread."""
    policy.allowed_brands(staff)
    staff.get_all_permissions()


def _schema_records(app_models: list[type[models.Model]], user_id: str, staff: Any) -> PersonRecords:
    """One schema's share of ``find_records``: a fan-out task (it reads one schema's alias)."""
    person = PersonRecords(user_id)
    memo: dict[str, list[str]] = {}
    for model in app_models:
        if model._meta.pk.__class__.__name__ == "CompositePrimaryKey" or not user_paths(model._meta.label):
            continue
        try:
            with isolated(_alias(model)):
                ids = _ids_of(model, user_id=user_id, staff=staff, memo=memo, person=person)
        except DatabaseError as exc:
            person.notes.append(f"{model._meta.label}: not searched ({type(exc).__name__})")
            continue
        if ids:
            person.ids[model._meta.label] = ids
    return person


def _alias(model: type[models.Model]) -> str:
    from django.db import router

    return router.db_for_read(model)


def _ids_of(
    model: type[models.Model], *, user_id: str, staff: Any, memo: dict[str, list[str]], person: PersonRecords
) -> list[str]:
    label = model._meta.label
    if label in memo:
        return memo[label]
    memo[label] = []  # no cycles
    if label == USER_MODEL:
        memo[label] = [user_id]
        return memo[label]
    found: dict[str, None] = {}
    for path in user_paths(label):
        queryset = _lookup(model, path, user_id=user_id, staff=staff, memo=memo, person=person)
        if queryset is None:
            continue
        values = list(queryset.values_list("pk", flat=True)[: MAX_RECORDS + 1])
        if len(values) > MAX_RECORDS:
            person.notes.append(f"{label}: only the first {MAX_RECORDS:,} records were searched")
            values = values[:MAX_RECORDS]
        found.update((str(v), None) for v in values)
    memo[label] = list(found)
    return memo[label]


def _lookup(
    model: type[models.Model],
    path: UserPath,
    *,
    user_id: str,
    staff: Any,
    memo: dict[str, list[str]],
    person: PersonRecords,
) -> models.QuerySet | None:
    manager = policy.scope(model._default_manager.using(_alias(model)).all(), staff)
    if not path.via:
        leads = {path.column, *path.conditions}
        if not any(_indexed(model, _field(model, name).column) for name in leads):
            person.notes.append(f"{model._meta.label}: not searched by {path.column} (no index)")
            return None
        return manager.filter(**{path.column: user_id, **path.conditions})
    fk = _field(model, path.via[0])
    if not _indexed(model, fk.column) or not isinstance(fk.related_model, type):
        person.notes.append(f"{model._meta.label}: not searched through {fk.name} (no index)")
        return None
    parents = _ids_of(fk.related_model, user_id=user_id, staff=staff, memo=memo, person=person)
    if not parents:
        return None
    # The parents' ids are bounded by MAX_RECORDS; one statement, index-backed.
    return manager.filter(**{f"{fk.attname}__in": parents})


def _field(model: type[models.Model], name: str) -> models.Field:
    return cast("models.Field", model._meta.get_field(name))


@cache
def entity_types_of(label: str) -> tuple[str, ...]:
    """The audit entity types that can name records of ``label`` in its own schema:
    "ledger_entry" and "entry" for LedgerEntry (entity_model_label decides which really do)."""
    model = apps.get_model(label)
    words = []
    for i, char in enumerate(model.__name__):
        if char.isupper() and i:
            words.append("_")
        words.append(char.lower())
    snake = "".join(words)
    parts = snake.split("_")
    candidates = ["_".join(parts[i:]) for i in range(len(parts))]
    schema = label.split(".")[0]
    return tuple(c for c in candidates if entity_model_label(schema, c) == label)


# --- building the report ------------------------------------------------------------------------


def _staff_names(ids: Iterable[str]) -> dict[str, tuple[str, str]]:
    """Back-office staff ids -> (username, role) for the ids that are ours."""
    from apps.access.roles import ROLE_NAMES

    numeric = {i for i in ids if i.isdigit()}
    found = {}
    users = get_user_model().objects.filter(pk__in=numeric).prefetch_related("groups")
    for user in users:
        roles = (
            ["superuser"]
            if user.is_superuser
            else [g.name for g in user.groups.all() if g.name in ROLE_NAMES]
        )
        found[str(user.pk)] = (user.get_username(), ", ".join(roles) or "staff")
    return found


def _reason(details: Any) -> str:
    if not isinstance(details, dict):
        return ""
    for key in ("reason", "why", "note"):
        value = details.get(key)
        if isinstance(value, str) and value and value != policy.MASK:
            return value
    return ""


def build(
    *, customer_record: Any, staff: Any, since: dt.datetime | None = None, until: dt.datetime | None = None
) -> AccessReport:
    user_id = str(customer_record.pk)
    report = AccessReport(user_id=user_id, since=since, until=until)
    sources = [s for s in sources_for(staff) if s.name != BACKOFFICE]
    person = find_records(user_id=user_id, schemas=[s.name for s in sources], staff=staff)
    report.notes.extend(person.notes)
    backoffice = _backoffice_accesses(user_id=user_id, staff=staff, since=since, until=until, person=person)
    staff_requests = {a.request_id for a in backoffice if a.request_id}
    platform = _platform_accesses(
        person=person, sources=sources, staff=staff, since=since, until=until, staff_requests=staff_requests,
        notes=report.notes,
    )  # fmt: skip
    disclosures = _disclosures(person=person, staff=staff, since=since, until=until, notes=report.notes)
    names = _staff_names({a.actor for a in backoffice + platform})
    for access in backoffice + platform:
        if access.actor in names:
            access.actor, role = names[access.actor]
            access.role = access.role or role
    report.accesses = sorted(backoffice + platform + disclosures, key=lambda a: (a.at, a.order))
    return report


def _backoffice_accesses(
    *, user_id: str, staff: Any, since: dt.datetime | None, until: dt.datetime | None, person: PersonRecords
) -> list[Access]:
    if not staff.has_perm(permissions.VIEW_BACKOFFICE_AUDIT):
        return []
    events = policy.scope(AuditEvent.objects.all(), staff)
    events = _in_period(events, "occurred_at", since, until)
    about = events.filter(Q(subject_id=user_id) | Q(subject_ids__contains=[user_id]))
    found = [_from_event(e) for e in about.order_by("occurred_at", "seq")[:MAX_ROWS] if not _hidden(e)]
    for event in events.filter(subject_id=MANY_SUBJECTS).order_by("occurred_at", "seq")[:MAX_ROWS]:
        if not _hidden(event) and _export_touched(event, person):
            access = _from_event(event)
            access.note = "about many people; its filter, re-evaluated, includes this person's rows"
            found.append(access)
    return found


def _hidden(event: AuditEvent) -> bool:
    return event.event_type.startswith(HIDDEN_PREFIXES)


def _from_event(event: AuditEvent) -> Access:
    details = event.details if isinstance(event.details, dict) else {}
    what = KINDS.get(event.event_type, event.event_type)
    if event.event_type.startswith("service.") and details.get("action"):
        what = f"{what}: {details['action']}"
    if event.event_type in (events.EXPORT_AUDIT, events.PHI_EXPORTED):
        rows = details.get("rows", details.get("phi_rows", ""))
        what = f"{what} ({details.get('format', '')}, {rows} rows)"
    if event.event_type == events.PHI_VIEWED and details.get("revealed"):
        what = "viewed (PHI revealed)"
    record = " ".join(x for x in (event.entity_type or "", event.entity_id or "") if x)
    return Access(
        at=event.occurred_at,
        part="back-office",
        source=BACKOFFICE,
        event_type=event.event_type,
        what=what,
        actor=event.actor_id,
        role="",
        record=record,
        request_id=event.request_id or "",
        reason=_reason(details),
        order=(0, event.seq or 0),
    )


def _export_touched(event: AuditEvent, person: PersonRecords) -> bool:
    """Did this export (about too many people to list) include rows about this person? Its filter
    is run again, within the exporter's brands, up to the moment of the export."""
    details = event.details if isinstance(event.details, dict) else {}
    filters = details.get("filters")
    if not isinstance(filters, dict):
        return False
    params = QueryDict(mutable=True)
    for key, value in filters.items():
        params.setlist(key, [str(v) for v in value] if isinstance(value, list) else [str(value)])
    try:
        query = parse_query(params)
    except InvalidQuery:
        return False
    until = min(query.until, event.occurred_at) if query.until else event.occurred_at
    query = replace(query, until=until)
    raw = event.actor_brand_id
    brands = None if raw == "*" else frozenset(b for b in (raw or "").split(",") if b)
    for source in all_sources():
        if query.services and source.name not in query.services:
            continue
        queryset = explorer.matching(source, query, brands)
        if queryset is None:
            continue
        about = _about(source, person)
        if about is not None and queryset.filter(about).exists():
            return True
    return False


def _about(source: AuditSource, person: PersonRecords) -> Q | None:
    """Rows of ``source`` about the person: their records as entities, the person acting."""
    if source.name == BACKOFFICE:
        return Q(subject_id=person.user_id) | Q(subject_ids__contains=[person.user_id])
    about = Q(actor_type="user", actor_id=person.user_id) | Q(entity_type="user", entity_id=person.user_id)
    for label, ids in person.of_schema(source.name).items():
        types = entity_types_of(label)
        if types:
            about |= Q(entity_type__in=types, entity_id__in=ids)
    return about


def _platform_accesses(
    *,
    person: PersonRecords,
    sources: list[AuditSource],
    staff: Any,
    since: dt.datetime | None,
    until: dt.datetime | None,
    staff_requests: set[str],
    notes: list[str],
) -> list[Access]:
    """Staff rows about the person's records, then service rows of those staff requests: each
    part reads every source concurrently (``apps.core.fanout``) and is assembled in source order."""
    found: list[Access] = []
    seen: set[tuple[str, str]] = set()
    _settle_on_caller(staff)

    def read_all(rows_of: Callable[[AuditSource], Iterable[Any]], *, for_staff: bool) -> None:
        tasks = [fanout.Task(s.name, s.using, partial(_read_rows, s, rows_of)) for s in sources]
        for source, outcome in zip(
            sources, fanout.fan_out(tasks, max_workers=WORKERS, timeout=0), strict=True
        ):
            if outcome.error is not None:
                notes.append(f"{source.name}: audit log unavailable ({type(outcome.error).__name__})")
                continue
            found.extend(_platform_rows(source, outcome.result(), seen, staff, for_staff=for_staff))

    read_all(
        lambda source: _rows_about(
            _scoped(source, staff, since, until).filter(actor_type="staff"), source, person
        ),
        for_staff=False,
    )
    requests = staff_requests | {a.request_id for a in found if a.request_id}
    if requests:
        ids = sorted(requests)

        def service_rows(source: AuditSource) -> Iterable[Any]:
            rows = _scoped(source, staff, since, until).filter(actor_type="service")
            for chunk in _chunks(ids):
                yield from rows.filter(request_id__in=chunk).order_by("occurred_at", "id")[:MAX_ROWS]

        read_all(service_rows, for_staff=True)
    return found


def _read_rows(source: AuditSource, rows_of: Callable[[AuditSource], Iterable[Any]]) -> list[Any]:
    """A fan-out task: one source's audit rows, read on whichever thread runs it (a failure
    stays inside this source: ``isolated``)."""
    with isolated(source.using):
        return list(rows_of(source))


def _scoped(source: AuditSource, staff: Any, since: dt.datetime | None, until: dt.datetime | None) -> Any:
    rows = policy.scope(source.model._default_manager.using(source.using).all(), staff)
    return _in_period(rows, "occurred_at", since, until)


def _rows_about(rows: models.QuerySet, source: AuditSource, person: PersonRecords) -> Iterable[Any]:
    yield from rows.filter(entity_type="user", entity_id=person.user_id).order_by("occurred_at", "id")[
        :MAX_ROWS
    ]
    for label, ids in person.of_schema(source.name).items():
        types = entity_types_of(label)
        if not types or (label == USER_MODEL and types == ("user",)):
            continue
        for chunk in _chunks(ids):
            yield from rows.filter(entity_type__in=types, entity_id__in=chunk).order_by("occurred_at", "id")[
                :MAX_ROWS
            ]


def _platform_rows(
    source: AuditSource, rows: Iterable[Any], seen: set, staff: Any, *, for_staff: bool = False
) -> list[Access]:
    found = []
    for row in rows:
        key = (source.name, str(row.id))
        if key in seen:
            continue
        seen.add(key)
        model_label = policy.audit_row_model(source.name, row.entity_type)
        shown = policy.mask_details(staff, row.details, schema=source.name, model_label=model_label)
        found.append(
            Access(
                at=row.occurred_at,
                part="platform",
                source=source.name,
                event_type=row.event_type,
                what=f"{row.event_type} in {source.name}"
                + (" (a service acting for staff)" if for_staff else ""),
                actor=row.actor_id if row.actor_type == "staff" else f"service {row.actor_id}",
                role="" if row.actor_type == "staff" else "service",
                record=" ".join(x for x in (row.entity_type or "", row.entity_id or "") if x),
                request_id=row.request_id or "",
                reason=_reason(shown),
                order=(1, source.name, str(row.id)),
            )
        )
    return found


def _chunks(items: list[str]) -> Iterable[list[str]]:
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]


# --- disclosures ------------------------------------------------------------------------------


def _may_view(staff: Any, label: str) -> bool:
    app_label, name = label.split(".")
    return staff.has_perm(f"{app_label}.view_{name.lower()}")


def _disclosures(
    *,
    person: PersonRecords,
    staff: Any,
    since: dt.datetime | None,
    until: dt.datetime | None,
    notes: list[str],
) -> list[Access]:
    found: list[Access] = []
    for label, reader in (
        ("webhooks.OutboundDelivery", _outbound_deliveries),
        ("integrations.WearableConnection", _wearable_connections),
        ("integrations.SyncRun", _sync_runs),
        ("identity.Grant", _oauth_grants),
    ):
        if not _may_view(staff, label):
            continue
        model = apps.get_model(label)
        try:
            with isolated(_alias(model)):
                found.extend(reader(model, person, staff, since, until))
        except DatabaseError as exc:
            notes.append(f"{label}: unavailable ({type(exc).__name__})")
    return found


def _within(moment: dt.datetime | None, since: dt.datetime | None, until: dt.datetime | None) -> bool:
    return moment is not None and (since is None or moment >= since) and (until is None or moment <= until)


def _disclosure(at: dt.datetime, source: str, what: str, actor: str, record: str, order: str) -> Access:
    return Access(at=at, part="disclosure", source=source, event_type="disclosure", what=what, actor=actor,
                  role="third party", record=record, request_id="", reason="", order=(2, order))  # fmt: skip


def _outbound_deliveries(
    model: Any, person: PersonRecords, staff: Any, since: Any, until: Any
) -> list[Access]:
    orders = person.ids.get("commerce.Order", [])
    base = policy.scope(model._default_manager.using(_alias(model)).all(), staff).select_related("endpoint")
    found = []
    batches = [base.annotate(ref=KT("payload__user_id")).filter(ref=person.user_id)[:MAX_ROWS]]
    batches += [
        base.annotate(ref=KT("payload__order_id")).filter(ref__in=chunk)[:MAX_ROWS]
        for chunk in _chunks(orders)
    ]
    url_field = model._meta.get_field("endpoint").related_model._meta.get_field("url")
    for batch in batches:
        for delivery in batch:
            at = delivery.delivered_at or delivery.next_attempt_at
            if not _within(at, since, until):
                continue
            url = delivery.endpoint.url if policy.field_visible(staff, url_field) else policy.MASK
            found.append(
                _disclosure(
                    at,
                    "webhooks",
                    f"{delivery.event_type} delivered to a partner ({delivery.status})",
                    url,
                    f"outbound_delivery {delivery.pk}",
                    str(delivery.pk),
                )
            )
    return found


def _wearable_connections(
    model: Any, person: PersonRecords, staff: Any, since: Any, until: Any
) -> list[Access]:
    found = []
    for pk in person.ids.get("integrations.WearableConnection", []):
        connection = model._default_manager.using(_alias(model)).filter(pk=pk).first()
        if connection is not None and _within(connection.connected_at, since, until):
            found.append(
                _disclosure(
                    connection.connected_at,
                    "integrations",
                    f"connected to {connection.provider} ({connection.status})",
                    str(connection.provider),
                    f"wearable_connection {pk}",
                    str(pk),
                )
            )
    return found


def _sync_runs(model: Any, person: PersonRecords, staff: Any, since: Any, until: Any) -> list[Access]:
    ids = person.ids.get("integrations.SyncRun", [])
    found = []
    for chunk in _chunks(ids):
        for run in (
            model._default_manager.using(_alias(model)).filter(pk__in=chunk).select_related("connection")
        ):
            if _within(run.started_at, since, until):
                found.append(
                    _disclosure(
                        run.started_at,
                        "integrations",
                        f"synced with {run.connection.provider} ({run.status}, {run.records} records)",
                        str(run.connection.provider),
                        f"sync_run {run.pk}",
                        str(run.pk),
                    )
                )
    return found


def _oauth_grants(model: Any, person: PersonRecords, staff: Any, since: Any, until: Any) -> list[Access]:
    found = []
    for chunk in _chunks(person.ids.get("identity.Grant", [])):
        for grant in (
            model._default_manager.using(_alias(model)).filter(pk__in=chunk).select_related("oauth_client")
        ):
            if _within(grant.granted_at, since, until):
                scopes = ", ".join(grant.scopes or [])
                found.append(
                    _disclosure(
                        grant.granted_at,
                        "identity",
                        f"granted access to a third-party app ({scopes})",
                        grant.oauth_client.name,
                        f"grant {grant.pk}",
                        str(grant.pk),
                    )
                )
    return found
