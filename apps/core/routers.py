"""Route each platform schema's models to that schema's alias, and refuse everything else."""

from __future__ import annotations

from typing import Any

from django.db.models import Model

from apps.core.exceptions import PlatformWriteError
from backoffice.databases import ALIAS_PREFIX, CATALOG_ALIAS, alias_for_schema
from backoffice.platform_schemas import BY_NAME


def schema_of(model: type[Model] | Model) -> str | None:
    """The platform schema a model maps, or None for the back-office's own models."""
    label = model._meta.app_label
    return label if label in BY_NAME else None


def is_platform_alias(alias: str) -> bool:
    return alias == CATALOG_ALIAS or alias.startswith(ALIAS_PREFIX)


class PlatformRouter:
    """Reads of schema S go to alias ``platform_S``; writes to any platform model are refused.

    The back-office's own models (auth, sessions, admin log, our apps) use ``default``, and
    nothing is ever migrated on a platform alias.
    """

    def db_for_read(self, model: type[Model], **hints: Any) -> str | None:
        schema = schema_of(model)
        return alias_for_schema(schema) if schema else None

    def db_for_write(self, model: type[Model], **hints: Any) -> str | None:
        schema = schema_of(model)
        if schema:
            raise PlatformWriteError(f"Writing {model._meta.label}", schema=schema)
        return None

    def allow_relation(self, obj1: Model, obj2: Model, **hints: Any) -> bool | None:
        schema1, schema2 = schema_of(obj1), schema_of(obj2)
        if schema1 is None and schema2 is None:
            return None
        # Rule 5: no relation crosses a schema boundary, nor joins a schema to our own tables.
        return schema1 == schema2

    def allow_migrate(
        self, db: str, app_label: str, model_name: str | None = None, **hints: Any
    ) -> bool | None:
        if is_platform_alias(db) or app_label in BY_NAME:
            return False
        return None
