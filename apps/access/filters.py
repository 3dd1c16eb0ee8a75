"""Changelist filters whose choices never come from scanning the table they filter."""

from __future__ import annotations

from typing import Any, TypeVar

from django.contrib import admin
from django.db.models import Model, QuerySet
from django.http import HttpRequest

from apps.access import policy
from apps.core.types import StaffUser, staff_request
from apps.platform.models import Brand

_M = TypeVar("_M", bound=Model)


def brand_choices(user: StaffUser) -> list[tuple[str, str]]:
    """The brands this staff member may see, from ``platform.brands`` (a handful of rows)."""
    brands = policy.scope(Brand.objects.order_by("name").only("id", "name"), user)
    return [(b.id, f"{b.name} ({b.id})") for b in brands]


class BrandListFilter(admin.SimpleListFilter):
    title = "brand"
    parameter_name = "brand_id"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin[Any]) -> list[tuple[str, str]]:
        return brand_choices(staff_request(request).user)

    def queryset(self, request: HttpRequest, queryset: QuerySet[_M]) -> QuerySet[_M]:
        value = self.value()
        if not value:
            return queryset
        if value not in {brand for brand, _ in self.lookup_choices}:
            # A brand that does not exist (or is not this person's) matches nothing: answer
            # without a query rather than scan an index for rows that cannot be there.
            return queryset.none()
        return queryset.filter(brand_id=value)
