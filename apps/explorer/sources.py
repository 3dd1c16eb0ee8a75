"""Where audit events come from: each service schema's audit_log, read through its own alias,
and the back-office's own audit log in the default database.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from django.apps import apps
from django.db import models

from apps.access import permissions
from apps.auditlog.models import AuditEvent
from apps.core.entities import BACKOFFICE
from apps.core.types import StaffUser
from backoffice.databases import alias_for_schema
from backoffice.platform_schemas import BY_NAME, SCHEMA_NAMES


@dataclass(frozen=True)
class AuditSource:
    name: str  # the schema, or "backoffice"
    model: type[models.Model]
    using: str

    @property
    def owner(self) -> str:
        return BY_NAME[self.name].owner if self.name in BY_NAME else "the back-office"

    def visible_to(self, user: StaffUser) -> bool:
        """A staff member reads a service's audit log if their role may view that schema's."""
        if self.name == BACKOFFICE:
            return user.has_perm(permissions.VIEW_BACKOFFICE_AUDIT)
        return user.has_perm(f"{self.name}.view_auditlog")


@cache
def all_sources() -> tuple[AuditSource, ...]:
    found = [
        AuditSource(schema, apps.get_model(schema, "AuditLog"), alias_for_schema(schema))
        for schema in SCHEMA_NAMES
    ]
    return (*found, AuditSource(BACKOFFICE, AuditEvent, "default"))


def source_names() -> tuple[str, ...]:
    return tuple(s.name for s in all_sources())


def sources_for(user: StaffUser, names: tuple[str, ...] = ()) -> list[AuditSource]:
    """The sources a user may read, narrowed to ``names`` when given."""
    return [s for s in all_sources() if (not names or s.name in names) and s.visible_to(user)]
