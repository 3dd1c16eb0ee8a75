"""The back-office audit log for compliance: read-only, filterable by actor, event, brand, time."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from apps.access import policy
from apps.auditlog.models import AuditEvent
from apps.core.admin import ReadOnlyAdminMixin
from apps.core.display import render_json


class EventTypeFilter(admin.SimpleListFilter):
    """Event families from a fixed list: choices never need a DISTINCT over the table."""

    title = "event type"
    parameter_name = "event_type"
    families = ("staff.", "phi.", "export.", "service.")

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(family, family.rstrip(".") + " events") for family in self.families]

    def queryset(self, request: HttpRequest, queryset: Any) -> Any:
        value = self.value()
        return queryset.filter(event_type__startswith=value) if value else queryset


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("occurred_at", "event_type", "actor_type", "actor_id", "actor_brand_id", "brand_id",
                    "entity_type", "entity_id", "request_id")  # fmt: skip
    list_filter = (EventTypeFilter, "actor_type", ("occurred_at", admin.DateFieldListFilter))
    search_fields = ("=actor_id", "=request_id", "=entity_id", "=brand_id", "^event_type")
    date_hierarchy = "occurred_at"
    show_full_result_count = False
    list_per_page = 100
    readonly_fields = ("pretty_details",)
    exclude = ("details",)

    def get_queryset(self, request: HttpRequest) -> Any:
        return policy.scope(super().get_queryset(request), request.user)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.has_perm("access.view_backoffice_audit") or super().has_view_permission(
            request, obj
        )

    @admin.display(description="details")
    def pretty_details(self, obj: AuditEvent) -> str:
        return render_json(obj.details, compact=False)
