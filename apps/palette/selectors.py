"""The palette's lookups: a few exact, index-led queries chosen by the shape of the input, each
through the visibility policy.

- **Brands**: every query is scoped (``policy.scope``, the explorer's ``matching`` for request
  ids), so a record of a brand the person may not see is never found, counted or named.
- **Keys**: a column is looked up only when the person may use it as a key
  (``policy.may_use_as_key``): nobody finds a record by a value they see masked (a brand manager
  cannot find a customer by email or phone), and a refused kind is said, not silently empty.
- **Titles** show only values the person sees in clear (``policy.field_visible``).
- **Links**: a record's admin page only for a model the person may view; a customer page as the
  customer search opens it; a request's story only to someone who may read an audit log.

Like the customer search, a lookup records no audit event: the pages it leads to do
(``customer.viewed``, ``phi.viewed``, ``contact.viewed``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import Any

from django.apps import apps
from django.contrib import admin
from django.contrib.admin.utils import quote
from django.core.exceptions import ValidationError
from django.db import DatabaseError, models, router
from django.db.models.functions import Lower
from django.urls import NoReverseMatch, reverse

from apps.access import policy
from apps.core.catalog import indexed_leads
from apps.core.db import isolated
from apps.core.models import split_db_table
from apps.core.types import StaffRequest, StaffUser
from apps.explorer.query import AuditQuery
from apps.explorer.selectors import matching
from apps.explorer.sources import sources_for
from apps.palette.query import MAX_SCOPED_MODELS, REQUEST, UUID, PaletteQuery
from apps.palette.targets import Target, targets_for

#: Rows one target returns at most (exact keys: more than one is a rare duplicate across brands).
PER_TARGET = 5
#: Results one answer holds at most.
MAX_RESULTS = 10
#: Fields that name a record the way a person reads it, in order; shown only when visible.
CUSTOMER_MODEL = "identity.User"
TITLE_FIELDS = ("number", "display_name", "name", "title", "code", "slug", "email", "processor_ref", "key")


@dataclass(frozen=True)
class Result:
    kind: str  # "customer", "order", "charge", "affiliate", "request", "record"
    title: str
    detail: str
    url: str

    def as_json(self) -> dict[str, str]:
        return {"kind": self.kind, "title": self.title, "detail": self.detail, "url": self.url}


@dataclass
class Answer:
    results: list[Result] = field(default_factory=list)
    #: Kinds of identifier the term could be but the person may not search by (masked for them).
    refused: list[str] = field(default_factory=list)
    #: Schemas that failed or timed out (the rest still answered).
    unavailable: list[str] = field(default_factory=list)
    #: Index probes run (the benchmark prints it; tests bound it).
    probes: int = 0


# --- scope words: "refund <id>", "payments.refund <id>", "oauth client <key>" ---------------------
@cache
def _model_words() -> dict[str, tuple[str, ...]]:
    """Every registered platform model's scope words -> model labels (one registry, computed once)."""
    words: dict[str, list[str]] = {}
    for model in apps.get_models():
        if not admin.site.is_registered(model) or model._meta.is_composite_pk:
            continue
        try:
            split_db_table(model._meta.db_table)
        except ValueError:
            continue  # the back-office's own models: not platform records
        opts = model._meta
        for word in {
            str(opts.model_name),
            str(opts.verbose_name).lower(),
            str(opts.verbose_name_plural).lower(),
            f"{opts.app_label}.{opts.model_name}",
        }:
            words.setdefault(word, []).append(opts.label)
    words.setdefault("customer", []).append(CUSTOMER_MODEL)
    return {word: tuple(sorted(labels)) for word, labels in words.items()}


def scope_words(user: StaffUser) -> dict[str, tuple[str, ...]]:
    """The scope words of the models this person may view (others are not even a scope). A word
    that names more than MAX_SCOPED_MODELS of them ("audit log") is no scope: the person types
    the schema ("payments.auditlog")."""
    visible = {}
    for word, labels in _model_words().items():
        allowed = tuple(label for label in labels if _may_view(user, label))
        if 0 < len(allowed) <= MAX_SCOPED_MODELS:
            visible[word] = allowed
    return visible


def _may_view(user: StaffUser, label: str) -> bool:
    app_label, _, model_name = label.partition(".")
    return user.has_perm(f"{app_label}.view_{model_name.lower()}")


# --- the lookup ---------------------------------------------------------------------------
def lookup(*, query: PaletteQuery, request: StaffRequest) -> Answer:
    """What the palette offers for ``query``: at most MAX_RESULTS links the person may open."""
    answer = Answer()
    if query.empty:
        return answer
    user = request.user
    if query.models:
        for label in query.models:
            _record_lookup(answer, request=request, label=label, term=query.term)
    elif not query.request:
        for target in targets_for(query.shape):
            _target_lookup(answer, user=user, target=target, term=query.term)
    # A request id: the story, if an audit log has it. A UUID that named a record is that
    # record's id (ids are unique across tables in practice): no need to probe every audit log.
    if not query.models and (query.shape == REQUEST or (query.shape == UUID and not answer.results)):
        _request_lookup(answer, user=user, request_id=query.term)
    unique = {result.url: result for result in reversed(answer.results)}  # first of each link wins
    answer.results = list(reversed(unique.values()))[:MAX_RESULTS]
    return answer


def _target_lookup(answer: Answer, *, user: StaffUser, target: Target, term: str) -> None:
    model = apps.get_model(target.model)
    column = model._meta.get_field(target.field)
    if not policy.may_use_as_key(user, column):
        answer.refused.append(target.label)
        return
    if not target.customer_page and not _may_view(user, target.model):
        return  # a record page this person could not open
    queryset = policy.scope(model._default_manager.all(), user)
    if target.lowered:
        queryset = queryset.alias(_palette_key=Lower(target.field)).filter(_palette_key=term.lower())
    else:
        matched = _exact(queryset, column, term)
        if matched is None:
            return
        queryset = matched
    for obj in _run(answer, model, queryset):
        answer.results.append(
            _describe(user, obj, kind=target.kind, how=target.label, customer=target.customer_page)
        )


def _record_lookup(answer: Answer, *, request: StaffRequest, label: str, term: str) -> None:
    """A record of one named table, by primary key or by a natural key that leads an index."""
    user = request.user
    model = apps.get_model(label)
    model_admin = admin.site.get_model_admin(model)
    if not model_admin.has_view_permission(request):
        return
    schema, table = split_db_table(model._meta.db_table)
    indexed = indexed_leads(schema=schema)
    base = policy.scope(model._default_manager.all(), user)
    conditions: list[tuple[str, models.QuerySet[Any]]] = []
    pk = model._meta.pk
    by_pk = _exact(base, pk, term)
    if by_pk is not None:
        conditions.append(("id", by_pk))
    natural = getattr(model_admin, "get_natural_key_fields", lambda request: ())(request)
    for name in natural:
        column = model._meta.get_field(name)
        if not policy.may_use_as_key(user, column) or (table, column.column) not in indexed:
            continue  # never by a masked value, never by a scan
        matched = _exact(base, column, term)
        if matched is not None:
            conditions.append((str(column.verbose_name), matched))
    customer = label == CUSTOMER_MODEL  # a person: their customer page, as the search opens it
    for how, queryset in conditions:
        for obj in _run(answer, model, queryset):
            kind = "customer" if customer else "record"
            answer.results.append(_describe(user, obj, kind=kind, how=how, customer=customer))


def _request_lookup(answer: Answer, *, user: StaffUser, request_id: str) -> None:
    """The story of a request id, when one of the audit logs this person reads (within their
    brands) has a row of it: one probe of the request_id index per log, stopping at the first."""
    brands = policy.allowed_brands(user)
    sources = sources_for(user)
    # The back-office's own ids are UUIDs; the platform's are not: probe where it is likeliest.
    sources.sort(key=lambda s: (s.name == "backoffice") != (len(request_id) == 36))
    for source in sources:
        queryset = matching(source, AuditQuery(request_id=request_id), brands)
        if queryset is None:
            continue
        answer.probes += 1
        try:
            with isolated(source.using):
                found = queryset.exists()
        except DatabaseError:
            answer.unavailable.append(source.name)
            continue
        if found:
            answer.results.append(
                Result(
                    kind="request",
                    title=f"Request {request_id}",
                    detail="its story across the audit logs you may read",
                    url=reverse("explorer:request", args=[request_id]),
                )
            )
            return


# --- helpers ------------------------------------------------------------------------------
def _exact(queryset: models.QuerySet[Any], column: models.Field[Any, Any], term: str) -> Any:
    """``queryset`` narrowed to rows whose ``column`` is ``term`` (as typed, upper or lower case
    for text), or None when the term cannot be a value of that column."""
    if isinstance(column, models.UUIDField | models.IntegerField | models.BigIntegerField):
        try:
            value = column.to_python(term)
        except (ValidationError, ValueError, TypeError):
            return None
        if isinstance(column, models.IntegerField) and not -(2**63) <= value < 2**63:
            return None
        return queryset.filter(**{column.attname: value})
    if not isinstance(column, models.CharField | models.TextField):
        return None
    return queryset.filter(**{f"{column.attname}__in": sorted({term, term.upper(), term.lower()})})


def _run(answer: Answer, model: type[models.Model], queryset: models.QuerySet[Any]) -> list[Any]:
    alias = router.db_for_read(model)
    answer.probes += 1
    try:
        with isolated(alias):
            return list(queryset.using(alias)[:PER_TARGET])
    except DatabaseError:
        schema, _ = split_db_table(model._meta.db_table)
        answer.unavailable.append(schema)
        return []


def _describe(user: StaffUser, obj: models.Model, *, kind: str, how: str, customer: bool) -> Result:
    """A result that names ``obj`` by values this person sees in clear, never one masked for them."""
    opts = obj._meta
    schema, _ = split_db_table(opts.db_table)
    fields = {f.name: f for f in opts.concrete_fields}
    name = next(
        (
            str(getattr(obj, n))
            for n in TITLE_FIELDS
            if n in fields and getattr(obj, n, None) and policy.field_visible(user, fields[n])
        ),
        str(obj.pk),
    )
    noun = "Customer" if customer else str(opts.verbose_name).capitalize()
    parts = [f"{schema}.{opts.model_name}", f"brand {getattr(obj, 'brand_id', '') or '?'}"]
    status = fields.get("status")
    if status is not None and policy.field_visible(user, status) and getattr(obj, "status", None):
        parts.append(str(obj.status))  # type: ignore[attr-defined]
    parts.append(f"by {how}")
    if customer:
        url = reverse("customers:detail", args=[str(obj.pk)])
    else:
        model_admin = admin.site.get_model_admin(type(obj))
        object_id = getattr(model_admin, "get_object_id", lambda o: str(o.pk))(obj)
        try:
            url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[quote(object_id)])
        except NoReverseMatch:  # pragma: no cover - every registered model has a change page
            url = ""
    return Result(kind=kind, title=f"{noun} {name}", detail=" · ".join(parts), url=url)
