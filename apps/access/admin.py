"""Staff accounts with their brand bindings, editable by superusers only."""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.http import HttpRequest, HttpResponse

from apps.access import policy
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
        """What the visibility policy makes of this member: every brand only by a grant."""
        return policy.binding_summary(obj)

    def render_change_form(
        self, request: HttpRequest, context: dict, *args: object, obj: User | None = None, **kwargs: object
    ) -> HttpResponse:
        if obj is not None and obj.is_staff:
            summary = policy.binding_summary(obj)
            context["brand_visibility"] = summary
            if summary.startswith("none"):
                messages.warning(
                    request,
                    f"{obj} is bound to no brand and has no platform-wide grant: they see no platform row "
                    "and can take no action. Add a brand below, or grant “Platform-wide” in the user "
                    "permissions.",
                )
        return super().render_change_form(request, context, *args, obj=obj, **kwargs)
