"""Brand scoping, in one place: every platform queryset a staff member sees goes through here.

A staff member bound to brands (``StaffBrand``) sees only rows whose ``brand_id`` is one of
theirs; one bound to none (and every superuser) is platform-wide.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Model, QuerySet

_CACHE_ATTR = "_backoffice_allowed_brands"


def allowed_brands(user: Any) -> frozenset[str] | None:
    """The brands a staff member may see, or None for all of them. Memoised on the user object."""
    if not getattr(user, "is_authenticated", False):
        return frozenset()
    if not hasattr(user, _CACHE_ATTR):
        brands = (
            None if user.is_superuser else frozenset(user.staff_brands.values_list("brand_id", flat=True))
        )
        setattr(user, _CACHE_ATTR, brands or None)
    return getattr(user, _CACHE_ATTR)


def brand_field(model: type[Model]) -> str | None:
    """The attribute that holds a model's brand, if it has one."""
    return next((f.attname for f in model._meta.concrete_fields if f.column == "brand_id"), None)


def scope_queryset(queryset: QuerySet, user: Any) -> QuerySet:
    """Restrict a queryset to the user's brands. A model without brand_id is not scoped."""
    brands = allowed_brands(user)
    field = brand_field(queryset.model)
    if brands is None or field is None:
        return queryset
    return queryset.filter(**{f"{field}__in": sorted(brands)})


def may_see_brand(user: Any, brand_id: str | None) -> bool:
    brands = allowed_brands(user)
    return brands is None or brand_id in brands
