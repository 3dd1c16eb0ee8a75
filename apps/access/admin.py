"""Staff accounts with their brand bindings, editable by superusers only."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.http import HttpRequest

from apps.access.models import StaffBrand

User = get_user_model()


class StaffBrandInline(admin.TabularInline):
    model = StaffBrand
    extra = 0
    fields = ("brand_id", "assigned_at")
    readonly_fields = ("assigned_at",)


admin.site.unregister(User)


@admin.register(User)
class StaffAdmin(UserAdmin):
    inlines = [StaffBrandInline]
    list_display = (
        "username",
        "email",
        "is_staff",
        "is_superuser",
        "role_names",
        "brand_names",
        "last_login",
    )
    list_filter = ("is_staff", "is_superuser", "groups")

    def get_queryset(self, request: HttpRequest):  # noqa: ANN201 - a QuerySet of users
        return super().get_queryset(request).prefetch_related("groups", "staff_brands")

    @admin.display(description="roles")
    def role_names(self, obj: User) -> str:
        return ", ".join(g.name for g in obj.groups.all()) or "\N{EM DASH}"

    @admin.display(description="brands")
    def brand_names(self, obj: User) -> str:
        return ", ".join(b.brand_id for b in obj.staff_brands.all()) or "all brands"
