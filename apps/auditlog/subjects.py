"""Whose data is this? The person (identity user id) a platform record or an audit row concerns.

One declaration drives both directions, derived from the model registry, not a list:

- a model's *user columns* are its cross-service ids that name ``identity.User``
  (``ServiceRef(to="identity.User")``: ``user_id``, ``author_user_id``, ``customer_user_id``...);
  ``identity.User`` is its own subject; an ``accounting.Account`` owned by a user names it in
  ``owner_id``;
- a model without one reaches a person through an in-schema foreign key (a refund through its
  charge, a check-in through its enrollment), at most two hops.

Forward (``subjects_of_records``, ``subjects_of_audit_rows``): what the back-office logs as an
event's subjects. Backward (``apps.customers.accesses``): a person's records in each schema.
Every query here reads one schema through its own alias, by primary key, bounded.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import DatabaseError, models

from apps.core.entities import BACKOFFICE, entity_model_label
from apps.core.models import ServiceRef

USER_MODEL = "identity.User"
#: Records owned by "something" (owner_type, owner_id): which owner type is a person.
OWNED = {"accounting.Account": ("owner_type", "user", "owner_id")}
#: How many subjects one event lists; an event about more people keeps its filter instead.
LOGGED_SUBJECTS = 1000
MAX_HOPS = 2


@dataclass(frozen=True)
class UserPath:
    """How one model reaches the person: ``via`` foreign keys (field names, nearest first), then
    ``column`` on the last model, under ``conditions`` there (an owned account)."""

    column: str
    via: tuple[str, ...] = ()
    conditions: dict[str, str] = field(default_factory=dict, hash=False, compare=False)

    def lookup(self) -> str:
        """The ORM lookup from the first model to the user id ("charge__user_id")."""
        return "__".join([*self.via, self.column])

    def filters(self) -> dict[str, str]:
        prefix = "".join(v + "__" for v in self.via)
        return {prefix + key: value for key, value in self.conditions.items()}


def _direct_columns(model: type[models.Model]) -> list[UserPath]:
    label = model._meta.label
    if label == USER_MODEL:
        return [UserPath(model._meta.pk.attname)]
    if label in OWNED:
        type_column, type_value, id_column = OWNED[label]
        return [UserPath(id_column, conditions={type_column: type_value})]
    return [
        UserPath(f.attname)
        for f in model._meta.concrete_fields
        if isinstance(f, ServiceRef) and f.to == USER_MODEL
    ]


@cache
def user_paths(label: str) -> tuple[UserPath, ...]:
    """Every way a record of ``label`` names a person (empty: it concerns nobody in particular)."""
    model = apps.get_model(label)
    direct = _direct_columns(model)
    if direct:
        return tuple(direct)
    return tuple(_paths_via_relations(model, hops=MAX_HOPS))


def _paths_via_relations(model: type[models.Model], *, hops: int) -> list[UserPath]:
    if hops == 0:
        return []
    found = []
    for f in model._meta.concrete_fields:
        if not (f.is_relation and f.many_to_one) or f.related_model is model:
            continue
        parent = f.related_model
        if not isinstance(parent, type):
            continue
        parent_paths = _direct_columns(parent) or _paths_via_relations(parent, hops=hops - 1)
        for path in parent_paths:
            if parent._meta.label == USER_MODEL:
                found.append(UserPath(f.attname))  # the foreign key holds the user id itself
            else:
                found.append(UserPath(path.column, (f.name, *path.via), path.conditions))
    return found


def _alias(model: type[models.Model]) -> str:
    from django.db import router

    return router.db_for_read(model)


def subjects_of_records(model: type[models.Model], objs: Iterable[models.Model]) -> list[str]:
    """The people these records of one model concern, in order, without repeats.

    Direct columns are read off the objects; a person reached through a relation costs one
    query by primary key on the model's own alias.
    """
    objs = list(objs)
    found: dict[str, None] = {}
    for path in user_paths(model._meta.label):
        if not path.via:
            for obj in objs:
                if all(str(getattr(obj, k, "")) == v for k, v in path.conditions.items()):
                    value = getattr(obj, path.column, None)
                    if value not in (None, ""):
                        found[str(value)] = None
            continue
        keys = [obj.pk for obj in objs]
        for chunk in _chunks(keys, 1000):
            rows = (
                model._default_manager.using(_alias(model))
                .filter(pk__in=chunk, **path.filters())
                .values_list(path.lookup(), flat=True)
            )
            found.update((str(value), None) for value in rows if value not in (None, ""))
    return list(found)


def subject_of(label: str, pk: Any) -> list[str]:
    """The people the record ``label`` ``pk`` concerns (one primary-key read; none if it is gone)."""
    try:
        model = apps.get_model(label)
    except (LookupError, ValueError):
        return []
    if not user_paths(label):
        return []
    if label == USER_MODEL:
        return [str(pk)]
    try:
        obj = model._default_manager.using(_alias(model)).filter(pk=pk).first()
    except (ValidationError, ValueError, DatabaseError):
        return []
    return subjects_of_records(model, [obj]) if obj is not None else []


def entity_label(source: str, entity_type: str | None) -> str | None:
    """The model an audit row's entity names: a model label as such (the back-office's own rows
    and lists name records by label), else the platform's entity type inside its schema."""
    if not entity_type:
        return None
    if "." in entity_type:
        try:
            apps.get_model(entity_type)
        except (LookupError, ValueError):
            return None
        return entity_type
    if source == BACKOFFICE:
        return None
    return entity_model_label(source, entity_type)


def subjects_of_audit_rows(
    rows: Iterable[tuple[str, str | None, str | None, str | None, str | None]],
) -> list[str]:
    """The people audit rows ``(source, actor_type, actor_id, entity_type, entity_id)`` concern: a
    user acting is about themself; an entity is about the people its record names. Records are
    read by primary key, one query per model, on each schema's alias."""
    found: dict[str, None] = {}
    wanted: dict[str, set[str]] = defaultdict(set)
    for source, actor_type, actor_id, entity_type, entity_id in rows:
        if actor_type == "user" and actor_id:
            found[str(actor_id)] = None
        label = entity_label(source, entity_type)
        if label and entity_id and user_paths(label):
            wanted[label].add(str(entity_id))
    for label, ids in wanted.items():
        if label == USER_MODEL:
            found.update((i, None) for i in sorted(ids))
            continue
        model = apps.get_model(label)
        keys = []
        for value in sorted(ids):
            try:
                keys.append(model._meta.pk.to_python(value))
            except (ValidationError, ValueError, TypeError):
                continue
        for chunk in _chunks(keys, 1000):
            try:
                objs = list(model._default_manager.using(_alias(model)).filter(pk__in=chunk))
            except DatabaseError:
                continue  # a schema that does not answer leaves those rows without a subject
            found.update((s, None) for s in subjects_of_records(model, objs))
    return list(found)


def _chunks(items: list[Any], size: int) -> Iterable[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
