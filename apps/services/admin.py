"""Action requests: the pending list for four-eyes approval, and the record of every action."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse

from apps.access import policy
from apps.core.admin import ReadOnlyAdminMixin
from apps.core.display import render_json
from apps.services import services
from apps.services.models import ActionRequest


def redacted_error(user: Any, action_request: ActionRequest) -> str:
    """A request's error as this person may read it: no value its parameters or answer hide."""
    schema = action_request.model_label.partition(".")[0]
    hidden = [
        *policy.hidden_detail_values(
            user, action_request.params, schema=schema, model_label=action_request.model_label
        ),
        *policy.hidden_detail_values(
            user, action_request.response, schema=schema, model_label=action_request.model_label
        ),
    ]
    return policy.redact_text(user, action_request.error or "", values=hidden)


@admin.register(ActionRequest)
class ActionRequestAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("created_at", "action", "model_label", "object_pk", "brand_id", "amount_cents", "status",
                    "requested_by", "decided_by")  # fmt: skip
    list_filter = ("status", "action")
    search_fields = ("=object_pk", "=request_id")
    change_form_template = "admin/services/actionrequest/change_form.html"
    show_full_result_count = False
    #: Shown only through the visibility policy (get_readonly_fields).
    masked_json_fields = ("params", "response", "error")

    def get_fields(self, request: HttpRequest, obj: Any = None) -> list[Any]:
        return self.get_readonly_fields(request, obj)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[Any]:
        """Every field read-only; the parameters and the service's answer through the policy."""
        user = request.user

        def masked(obj: ActionRequest, value: Any) -> Any:
            schema = obj.model_label.partition(".")[0]
            return render_json(
                policy.mask_details(user, value, schema=schema, model_label=obj.model_label), compact=False
            )

        def shown_params(obj: ActionRequest) -> Any:
            return masked(obj, obj.params)

        def shown_response(obj: ActionRequest) -> Any:
            return masked(obj, obj.response)

        def shown_error(obj: ActionRequest) -> str:
            return redacted_error(user, obj) or "\N{EM DASH}"

        shown_params.short_description = "parameters"  # type: ignore[attr-defined]
        shown_response.short_description = "service's answer"  # type: ignore[attr-defined]
        shown_error.short_description = "error"  # type: ignore[attr-defined]
        names = [f.name for f in ActionRequest._meta.concrete_fields if f.name not in self.masked_json_fields]
        return [*names, shown_params, shown_response, shown_error]

    def get_queryset(self, request: HttpRequest) -> Any:
        return policy.scope(super().get_queryset(request), request.user).select_related(
            "requested_by", "decided_by"
        )

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        # The list opens on what needs a decision.
        if not request.GET and request.user.has_perm(services.APPROVE_PERMISSION):
            return redirect(f"{request.path}?status__exact={ActionRequest.Status.PENDING_APPROVAL}")
        return super().changelist_view(request, extra_context)

    def render_change_form(
        self, request: HttpRequest, context: dict[str, Any], *args: Any, obj: Any = None, **kwargs: Any
    ) -> HttpResponse:
        context["can_decide"] = (
            obj is not None
            and obj.status == ActionRequest.Status.PENDING_APPROVAL
            and request.user.has_perm(services.APPROVE_PERMISSION)
            and obj.requested_by_id != request.user.pk
        )
        context["can_retry"] = (
            obj is not None
            and obj.status == ActionRequest.Status.FAILED
            and services.retry_refusal(user=request.user, action_request=obj) is None
        )
        return super().render_change_form(request, context, *args, obj=obj, **kwargs)

    def get_urls(self) -> list[Any]:
        return [
            path(
                "<int:pk>/decide/",
                self.admin_site.admin_view(self.decide_view),
                name="services_actionrequest_decide",
            ),
            path(
                "<int:pk>/retry/",
                self.admin_site.admin_view(self.retry_view),
                name="services_actionrequest_retry",
            ),
            *super().get_urls(),
        ]

    def decide_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        if request.method != "POST":
            raise PermissionDenied("Decide with the form's buttons.")
        action_request = get_object_or_404(self.get_queryset(request), pk=pk)
        back = reverse("admin:services_actionrequest_change", args=[pk])
        try:
            if request.POST.get("decision") == "approve":
                outcome = services.approve(
                    approver=request.user, action_request=action_request, request_id=request.request_id
                )
                level = (
                    messages.SUCCESS if outcome.status == ActionRequest.Status.SUCCEEDED else messages.ERROR
                )
                messages.add_message(
                    request,
                    level,
                    f"Approved: {outcome.get_status_display()}. {redacted_error(request.user, outcome)}".strip(),
                )
            else:
                services.reject(approver=request.user, action_request=action_request, request_id=request.request_id,
                                note=request.POST.get("note", "")[:500])  # fmt: skip
                messages.info(request, "Rejected; nothing was sent to the service.")
        except services.ActionRefused as exc:
            messages.error(request, str(exc))
        return redirect(back)

    def retry_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """Send a failed request again under its idempotency key (services.retry says who may)."""
        if request.method != "POST":
            raise PermissionDenied("Retry with the form's button.")
        action_request = get_object_or_404(self.get_queryset(request), pk=pk)
        try:
            outcome = services.retry(
                user=request.user, action_request=action_request, request_id=request.request_id
            )
        except services.ActionRefused as exc:
            messages.error(request, str(exc))
        else:
            level = messages.ERROR if outcome.status == ActionRequest.Status.FAILED else messages.SUCCESS
            messages.add_message(
                request,
                level,
                f"Retried: {outcome.get_status_display()}. {redacted_error(request.user, outcome)}".strip(),
            )
        return redirect(reverse("admin:services_actionrequest_change", args=[pk]))
