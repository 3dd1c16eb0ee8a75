"""Changelist filters whose choices never come from scanning the table they filter."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest


def brand_choices() -> list[tuple[str, str]]:
    """Every brand of the platform, from ``platform.brands`` (a handful of rows)."""
    from apps.platform.models import Brand

    return [(b.id, f"{b.name} ({b.id})") for b in Brand.objects.order_by("name").only("id", "name")]


class BrandListFilter(admin.SimpleListFilter):
    title = "brand"
    parameter_name = "brand_id"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return brand_choices()

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        value = self.value()
        return queryset.filter(brand_id=value) if value else queryset
