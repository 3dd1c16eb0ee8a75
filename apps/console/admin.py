"""The platform admin, composed: the floor's read-only, drift-tolerant base (apps.core), the
visibility policy (apps.access) and the service actions (apps.services). Every platform model a
schema's ``admin.py`` does not declare is registered with ``PlatformModelAdmin`` by the site.

Also the back-office's own audit log, for compliance.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from apps.access import permissions, policy
from apps.access.admin import VisibilityAdminMixin
from apps.auditlog import events
from apps.auditlog.models import AuditEvent
from apps.core import formatting
from apps.core.admin import CompositeKeyAdminMixin, PlatformAdminBase, ReadOnlyAdminMixin
from apps.core.display import kind_display, render_json
from apps.core.types import staff_request
from apps.services.admin import ServiceActionsAdminMixin

__all__ = ["CompositeKeyAdminMixin", "PlatformModelAdmin"]


class PlatformModelAdmin(ServiceActionsAdminMixin, VisibilityAdminMixin, PlatformAdminBase):
    """The admin for any platform model. Override any attribute or ``get_*`` hook of the three
    parts in a schema's ``admin.py``."""


class EventTypeFilter(admin.SimpleListFilter):
    """Event families from the one list of event types: choices never need a DISTINCT scan."""

    title = "event type"
    parameter_name = "event_type"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(family, family.rstrip(".") + " events") for family in events.FAMILIES]

    def queryset(self, request: HttpRequest, queryset: Any) -> Any:
        value = self.value()
        return queryset.filter(event_type__startswith=value) if value else queryset


def _field(name: str) -> Any:
    return AuditEvent._meta.get_field(name)


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The back-office audit log for compliance: read-only, filterable by actor, event, brand, time."""

    list_display = (
        kind_display(_field("occurred_at"), formatting.TIMESTAMP), "event_type", "actor_type",
        kind_display(_field("actor_id"), formatting.ID), "actor_brand_id", "brand_id", "entity_type",
        kind_display(_field("entity_id"), formatting.ID), kind_display(_field("request_id"), formatting.ID),
    )  # fmt: skip
    list_filter = (EventTypeFilter, "actor_type", ("occurred_at", admin.DateFieldListFilter))
    search_fields = ("=actor_id", "=request_id", "=entity_id", "=brand_id", "^event_type")
    date_hierarchy = "occurred_at"
    show_full_result_count = False
    list_per_page = 100
    exclude = ("details",)

    def get_queryset(self, request: HttpRequest) -> Any:
        return policy.scope(super().get_queryset(request), staff_request(request).user)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.has_perm(permissions.VIEW_BACKOFFICE_AUDIT) or super().has_view_permission(
            request, obj
        )

    def get_fields(self, request: HttpRequest, obj: Any = None) -> list[Any]:
        return self.get_readonly_fields(request, obj)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[Any]:
        """Every column, and the details through the visibility policy."""
        user = staff_request(request).user

        @admin.display(description="details")
        def pretty_details(event: AuditEvent) -> str:
            """Our own events are about records of any schema: their details ask the policy too."""
            shown = policy.mask_details(
                user, event.details, schema="backoffice", model_label=event.entity_type
            )
            return render_json(shown, compact=False)

        return [*(f.name for f in AuditEvent._meta.concrete_fields if f.name != "details"), pretty_details]
