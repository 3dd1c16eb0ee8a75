"""What the access app contributes to the admin: the visibility policy on every platform page
(``VisibilityAdminMixin``), and staff accounts with their brand bindings (superusers only)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django.contrib import admin, messages
from django.contrib.admin.utils import quote, unquote
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.core.exceptions import PermissionDenied
from django.db import models
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse

from apps.access import policy
from apps.access import services as access_services
from apps.access.filters import BrandListFilter
from apps.access.forms import RevealForm
from apps.access.models import PhiReveal, StaffBrand
from apps.auditlog import events
from apps.core.display import masked_display, render_json
from apps.core.models import split_db_table
from apps.core.types import StaffRequest, StaffUser, staff_request

User = get_user_model()

if TYPE_CHECKING:  # what the mixin is mixed into, for the type checker only
    from apps.core.admin import PlatformAdminBase as _AdminBase
else:
    _AdminBase = object


class VisibilityAdminMixin(_AdminBase):
    """The visibility policy (apps.access.policy) on every page of a platform admin.

    Rows are scoped to the person's brands; a value they may not see is masked in lists and on
    the record's page, and is no key (search, filters, facets, ordering, drill-down); a record
    with PHI offers a reveal with a reason, and every page that shows PHI-bearing rows is logged.
    Mixed in before ``apps.core.admin.PlatformAdminBase``, whose hooks it overrides.
    """

    def get_queryset(self, request: HttpRequest) -> models.QuerySet[Any]:
        # Brand scoping happens here, once, for every page built on this admin.
        return policy.scope(super().get_queryset(request), staff_request(request).user)

    def may_use_as_key(self, request: HttpRequest | None, field: models.Field[Any, Any]) -> bool:
        if request is None:
            return policy.category(field) == policy.PLAIN
        return policy.may_use_as_key(staff_request(request).user, field)

    def get_list_filter(self, request: HttpRequest) -> list[Any]:
        brand = [BrandListFilter] if policy.brand_field(self.model) else []
        return [*brand, *super().get_list_filter(request)]

    def get_column_display(
        self, request: HttpRequest, field: models.Field[Any, Any], *, compact: bool, revealed: bool
    ) -> Any:
        kind = policy.category(field)
        if kind == policy.DETAILS:
            return self._details_display(request, field, compact=compact)
        if not policy.sees(staff_request(request).user, kind, revealed=revealed):
            return masked_display(field, kind)
        return super().get_column_display(request, field, compact=compact, revealed=revealed)

    def _details_display(
        self, request: HttpRequest, field: models.Field[Any, Any], *, compact: bool
    ) -> Callable[[models.Model], str]:
        """An audit log's JSON details, each key masked or shown as the policy says for this
        person, in clear where they revealed the row or the record it is about."""
        user = staff_request(request).user
        schema, _ = split_db_table(self.model._meta.db_table)
        revealed_records = policy.revealed_records(user)

        @admin.display(description=field.verbose_name)
        def show(obj: models.Model) -> str:
            details, _ = policy.mask_audit_details(
                user,
                getattr(obj, field.attname),
                source=schema,
                row_id=obj.pk,
                entity_type=getattr(obj, "entity_type", None),
                entity_id=getattr(obj, "entity_id", ""),
                revealed_records=revealed_records,
            )
            return render_json(details, compact=compact)

        show.__name__ = field.attname
        return show

    # --- PHI: masked by default, revealed per record with a reason ----------------------------
    def get_reveal(self, request: HttpRequest, obj: models.Model | None) -> PhiReveal | None:
        """The person's unexpired reveal of ``obj``, if any (looked up once per request)."""
        if obj is None or not policy.has_phi(self.model):
            return None
        memo: dict[tuple[type[models.Model], str], PhiReveal | None]
        memo = request.__dict__.setdefault("_phi_reveals", {})
        key = (self.model, str(obj.pk))
        if key not in memo:
            memo[key] = policy.active_reveal(staff_request(request).user, self.model._meta.label, str(obj.pk))
        return memo[key]

    def render_change_form(
        self,
        request: HttpRequest,
        context: dict[str, Any],
        add: bool = False,
        change: bool = False,
        form_url: str = "",
        obj: models.Model | None = None,
    ) -> HttpResponse:
        opts = self.opts
        if obj is not None and not policy.has_phi(self.model) and self._shows_contact(request):
            access_services.record_contact_view(user=staff_request(request).user, obj=obj)
        if obj is not None and policy.has_phi(self.model):
            user = staff_request(request).user
            reveal = self.get_reveal(request, obj)
            access_services.record_phi_view(user=user, obj=obj, revealed=reveal is not None)
            context.update(
                has_phi=True,
                phi_revealed_until=reveal.expires_at if reveal else None,
                can_reveal_phi=policy.can_reveal_phi(user),
                reveal_url=reverse(
                    f"admin:{opts.app_label}_{opts.model_name}_reveal",
                    args=[quote(self.get_object_id(obj))],
                    current_app=self.admin_site.name,
                ),
            )
        return super().render_change_form(request, context, add, change, form_url, obj)

    def _shows_contact(self, request: HttpRequest) -> bool:
        """This page shows contact details in clear to this person."""
        user = staff_request(request).user
        return (
            policy.can_view_contact(user) and policy.CONTACT in policy.sensitive_fields(self.model).values()
        )

    def get_urls(self) -> list[URLPattern]:
        opts = self.opts
        reveal = path(
            "<path:object_id>/reveal/",
            self.admin_site.admin_view(self.reveal_view),
            name=f"{opts.app_label}_{opts.model_name}_reveal",
        )
        return [reveal, *super().get_urls()]

    def reveal_view(self, request: StaffRequest, object_id: str) -> HttpResponse:
        """Ask for a reason, then show this record's PHI for PHI_REVEAL_MINUTES."""
        opts = self.opts
        obj = self.get_object(request, unquote(object_id))
        if not self.has_view_permission(request, obj):
            raise PermissionDenied("Your role may not view this record.")
        if not policy.has_phi(self.model) or not policy.can_reveal_phi(request.user):
            raise PermissionDenied("Your role may not reveal protected health information.")
        form = RevealForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            reveal = access_services.reveal_phi(
                user=request.user, obj=obj, reason=form.cleaned_data["reason"]
            )
            messages.success(request, f"Protected fields revealed until {reveal.expires_at:%H:%M} UTC.")
            return redirect(reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[object_id]))
        context = {
            **self.admin_site.each_context(request),
            "title": f"Reveal protected fields of {opts.verbose_name} {obj.pk}",
            "form": form,
            "opts": opts,
            "original": obj,
            "minutes": policy.reveal_duration().seconds // 60,
        }
        return TemplateResponse(
            request, "admin/platform/reveal.html", context, status=400 if form.errors else 200
        )

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        response = super().changelist_view(request, extra_context)
        context_data = getattr(response, "context_data", None)  # a TemplateResponse's, unless redirected
        changelist = context_data and context_data.get("cl")
        model = self.model
        if changelist is not None and policy.has_phi(model) and changelist.result_list:
            # A list of PHI-bearing rows was shown (masked): who saw which records is logged.
            label = model._meta.label
            access_services.record_phi_access(
                user=staff_request(request).user,
                event_type=events.PHI_VIEWED,
                where=f"{label} list",
                entities=[(model._meta.app_label, label, str(obj.pk)) for obj in changelist.result_list],
            )
        return response


class StaffBrandInline(admin.TabularInline[StaffBrand, StaffUser]):
    model = StaffBrand
    extra = 0
    fields = ("brand_id", "assigned_at")
    readonly_fields = ("assigned_at",)


admin.site.unregister(User)


@admin.register(User)
class StaffAdmin(UserAdmin[StaffUser]):
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

    def get_queryset(self, request: HttpRequest) -> models.QuerySet[StaffUser]:
        return super().get_queryset(request).prefetch_related("groups", "staff_brands")

    @admin.display(description="roles")
    def role_names(self, obj: StaffUser) -> str:
        return ", ".join(g.name for g in obj.groups.all()) or "\N{EM DASH}"

    @admin.display(description="brands")
    def brand_names(self, obj: StaffUser) -> str:
        """What the visibility policy makes of this member: every brand only by a grant."""
        return policy.binding_summary(obj)

    def render_change_form(
        self,
        request: HttpRequest,
        context: dict[str, Any],
        add: bool = False,
        change: bool = False,
        form_url: str = "",
        obj: StaffUser | None = None,
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
        return super().render_change_form(request, context, add, change, form_url, obj)
