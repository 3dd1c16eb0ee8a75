"""Base classes for the unmanaged, read-only models of the platform's schemas.

Every generated platform model subclasses ``PlatformModel``. Its manager and queryset refuse
every write before any SQL is built, so a mistake fails loudly in the process that made it,
whatever the database would have said.

Tables are named ``'<schema>"."<table>'``: Django quotes the whole string, which yields the
schema-qualified ``"<schema>"."<table>"``. Qualified names do not depend on ``search_path``,
which a connection pooler may not carry from one transaction to the next.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

from django.db import models
from django.db.models.signals import class_prepared
from django.dispatch import receiver

from apps.core.exceptions import PlatformWriteError


def split_db_table(db_table: str) -> tuple[str, str]:
    """``'identity"."users'`` -> ``("identity", "users")``."""
    schema, _, table = db_table.partition('"."')
    if not table:
        raise ValueError(f"{db_table!r} is not a schema-qualified platform table name")
    return schema, table


class PlatformQuerySet(models.QuerySet):
    """A queryset that reads and never writes."""

    def _refuse(self, operation: str) -> NoReturn:
        raise PlatformWriteError(
            f"{operation} on {self.model._meta.label}", schema=self.model._meta.app_label
        )

    def update(self, **kwargs: Any) -> NoReturn:
        self._refuse("QuerySet.update()")

    def _update(self, values: Any) -> NoReturn:
        self._refuse("QuerySet.update()")

    def delete(self) -> NoReturn:
        self._refuse("QuerySet.delete()")

    def _raw_delete(self, using: str | None) -> NoReturn:
        self._refuse("QuerySet.delete()")

    def create(self, **kwargs: Any) -> NoReturn:
        self._refuse("QuerySet.create()")

    def bulk_create(self, objs: Any, *args: Any, **kwargs: Any) -> NoReturn:
        self._refuse("QuerySet.bulk_create()")

    def bulk_update(self, objs: Any, fields: Any, batch_size: int | None = None) -> NoReturn:
        self._refuse("QuerySet.bulk_update()")

    def get_or_create(self, defaults: Any = None, **kwargs: Any) -> NoReturn:
        self._refuse("QuerySet.get_or_create()")

    def update_or_create(self, defaults: Any = None, create_defaults: Any = None, **kwargs: Any) -> NoReturn:
        self._refuse("QuerySet.update_or_create()")

    def select_for_update(self, *args: Any, **kwargs: Any) -> NoReturn:
        self._refuse("QuerySet.select_for_update()")

    async def aupdate(self, **kwargs: Any) -> NoReturn:
        self._refuse("QuerySet.aupdate()")

    async def adelete(self) -> NoReturn:
        self._refuse("QuerySet.adelete()")


PlatformManager = models.Manager.from_queryset(PlatformQuerySet)


class PlatformModel(models.Model):
    """An unmanaged model over one platform table: browse it, never write it."""

    objects = PlatformManager()

    class Meta:
        abstract = True
        managed = False

    def save(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise PlatformWriteError(f"Saving {self._meta.label}", schema=self._meta.app_label)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise PlatformWriteError(f"Deleting {self._meta.label}", schema=self._meta.app_label)

    async def asave(self, *args: Any, **kwargs: Any) -> NoReturn:
        self.save()

    async def adelete(self, *args: Any, **kwargs: Any) -> NoReturn:
        self.delete()


def _parse_int(digits: str) -> int | str:
    limit = sys.get_int_max_str_digits()
    return digits if limit and len(digits.lstrip("-")) > limit else int(digits)


class PlatformJSONDecoder(json.JSONDecoder):
    """Decodes whatever a platform JSON column holds, so a page shows it rather than fails.

    PostgreSQL stores what Python will not read back: a number of more than 4,300 digits
    (``int()`` refuses it) stays its digits, as text; a document nested deeper than Python's
    recursion limit stays its JSON text.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("parse_int", _parse_int)
        super().__init__(*args, **kwargs)

    def decode(self, s: str, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().decode(s, *args, **kwargs)
        except RecursionError:
            return s


@receiver(class_prepared)
def _decode_platform_json(sender: type[models.Model], **kwargs: Any) -> None:
    """Every JSON column of every platform model (generated or not) reads with PlatformJSONDecoder."""
    if issubclass(sender, PlatformModel):
        for field in sender._meta.local_fields:
            if isinstance(field, models.JSONField) and field.decoder is None:
                field.decoder = PlatformJSONDecoder


class ServiceRef(models.TextField):
    """A cross-service id (rule 5): plain text, never a relation, but it knows what it names.

    ``to`` is the model label of the referenced record in its owning schema ("identity.User").
    The admin renders the value as a link to that record's page: a URL, not a query, so no
    SQL ever crosses schemas.
    """

    def __init__(self, *args: Any, to: str, **kwargs: Any) -> None:
        self.to = to
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> tuple[str, str, Sequence[Any], dict[str, Any]]:
        name, path, args, kwargs = super().deconstruct()
        kwargs["to"] = self.to
        return name, path, args, kwargs


class StandardAuditLog(PlatformModel):
    """The platform's standard ``audit_log`` (rule 4), identical in every service schema.

    A schema's ``AuditLog`` model subclasses this and names its table; the audit explorer reads
    every one of them through these fields.
    """

    id = models.UUIDField(primary_key=True)
    occurred_at = models.DateTimeField()
    actor_type = models.TextField()
    actor_id = models.TextField()
    actor_brand_id = models.TextField(blank=True, null=True)
    event_type = models.TextField()
    entity_type = models.TextField(blank=True, null=True)
    entity_id = models.TextField(blank=True, null=True)
    brand_id = ServiceRef(to="platform.Brand")
    request_id = models.TextField(blank=True, null=True)
    details = models.JSONField(blank=True, null=True)

    class Meta:
        abstract = True
        managed = False
