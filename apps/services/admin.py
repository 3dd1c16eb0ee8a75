"""What the services app contributes to the admin: service actions on every platform record
(``ServiceActionsAdminMixin``), and action requests: the pending list for four-eyes approval and
the record of every action."""

from __future__ import annotations

import datetime
import uuid
from typing import TYPE_CHECKING, Any

from django.contrib import admin, messages
from django.contrib.admin.utils import quote, unquote
from django.core.exceptions import PermissionDenied
from django.db import models
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone

from apps.access import policy
from apps.core import formatting, replica_lag
from apps.core.admin import ReadOnlyAdminMixin
from apps.core.display import field_display, kind_display, render_json
from apps.core.types import StaffRequest, StaffUser, staff_request
from apps.services import services
from apps.services.actions import ServiceAction, available_actions, get_action
from apps.services.models import ActionRequest

if TYPE_CHECKING:  # what the mixin is mixed into, for the type checker only
    from apps.core.admin import PlatformAdminBase as _AdminBase
else:
    _AdminBase = object


class ServiceActionsAdminMixin(_AdminBase):
    """Every write is a call to the owning service: a record's page offers the actions this
    person may take on it now (``available_actions``), each confirmed with a reason on its own
    page and handed to apps.services.services (never SQL). Mixed in before
    ``apps.core.admin.PlatformAdminBase``."""

    def get_object_actions(self, request: HttpRequest, obj: models.Model) -> list[ServiceAction]:
        """The service actions this person may take on ``obj`` now. An override may only narrow
        ``available_actions``: it is what every other page offers too."""
        return available_actions(staff_request(request).user, obj)

    def action_url(self, obj: models.Model, action: ServiceAction) -> str:
        return reverse(
            f"admin:{self.opts.app_label}_{self.opts.model_name}_act",
            args=[quote(self.get_object_id(obj)), action.name],
            current_app=self.admin_site.name,
        )

    def render_change_form(
        self,
        request: HttpRequest,
        context: dict[str, Any],
        add: bool = False,
        change: bool = False,
        form_url: str = "",
        obj: models.Model | None = None,
    ) -> HttpResponse:
        if obj is not None:
            context["object_actions"] = [
                (action, self.action_url(obj, action)) for action in self.get_object_actions(request, obj)
            ]
        return super().render_change_form(request, context, add, change, form_url, obj)

    def get_urls(self) -> list[URLPattern]:
        act = path(
            "<path:object_id>/act/<str:action_name>/",
            self.admin_site.admin_view(self.action_view),
            name=f"{self.opts.app_label}_{self.opts.model_name}_act",
        )
        return [act, *super().get_urls()]

    def action_view(self, request: StaffRequest, object_id: str, action_name: str) -> HttpResponse:
        """Confirm an action with a reason, then hand it to the service and say what became of it."""
        obj = self.get_object(request, unquote(object_id))
        try:
            action = get_action(action_name)
        except KeyError:
            raise Http404("No such action.") from None
        # Checked here as well as by the queryset (defence in depth): the record must be one this
        # person may view, of a brand they may see.
        if (
            action.model != self.model._meta.label
            or not self.has_view_permission(request, obj)
            or not policy.may_see_brand(request.user, getattr(obj, "brand_id", None))
        ):
            raise Http404("No such record is visible to you.")
        if not request.user.has_perm(action.permission):
            raise PermissionDenied(f"Your role may not {action.label.lower()}.")
        change_url = reverse(
            f"admin:{self.opts.app_label}_{self.opts.model_name}_change",
            args=[quote(self.get_object_id(obj))],
            current_app=self.admin_site.name,
        )
        initial = {"idempotency_key": uuid.uuid4(), **action.initial(obj)}
        form = action.form_class(request.POST or None, initial=initial)
        status, error = 200, None
        if request.method == "POST" and form.is_valid():
            started = timezone.now()
            try:
                outcome = services.request_action(
                    user=request.user,
                    action=action,
                    obj=obj,
                    cleaned=form.cleaned_data,
                    request_id=request.request_id,
                )
            except services.ActionRefused as exc:
                status, error = 409, policy.redact_text(request.user, str(exc), obj=obj)
            else:
                if outcome.status != ActionRequest.Status.FAILED:
                    messages.add_message(request, *_outcome_message(action, outcome))
                    _note_write(request, outcome, started)
                    return redirect(change_url)
                status = outcome.http_status
                error = policy.redact_text(request.user, outcome.request.error or "", obj=obj)
        elif request.method == "POST":
            status = 400
        context = {
            **self.admin_site.each_context(request),
            "title": f"{action.label}: {self.opts.verbose_name} {obj.pk}",
            "form": form,
            "opts": self.opts,
            "original": obj,
            "action": action,
            "error": error,
            "change_url": change_url,
        }
        return TemplateResponse(request, "admin/platform/action.html", context, status=status)


def _note_write(request: HttpRequest, outcome: services.ActionOutcome, started: datetime.datetime) -> None:
    """A service wrote the platform: the next pages note while the read replica has not applied it."""
    if outcome.status == ActionRequest.Status.SUCCEEDED:
        replica_lag.note_platform_write(request, at=started)


def _outcome_message(action: ServiceAction, outcome: services.ActionOutcome) -> tuple[int, str]:
    """The message a page shows for an outcome that did not fail."""
    if outcome.status == ActionRequest.Status.SUCCEEDED:
        return messages.SUCCESS, f"{action.label}: done by the {action.service} service."
    if outcome.status == ActionRequest.Status.PENDING_APPROVAL:
        return messages.INFO, f"{action.label} is waiting for a second person's approval."
    return messages.INFO, f"{action.label}: {outcome.request.get_status_display()}."


def redacted_error(user: StaffUser, action_request: ActionRequest) -> str:
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


def _field(name: str) -> Any:
    return ActionRequest._meta.get_field(name)


@admin.register(ActionRequest)
class ActionRequestAdmin(ReadOnlyAdminMixin, admin.ModelAdmin[ActionRequest]):
    list_display = (
        field_display(_field("created_at"), compact=True), "action", "model_label",
        kind_display(_field("object_pk"), formatting.ID), "brand_id", field_display(_field("amount_cents"), compact=True),
        field_display(_field("status"), compact=True), "requested_by", "decided_by",
    )  # fmt: skip
    list_filter = ("status", "action")
    search_fields = ("=object_pk", "=request_id")
    change_form_template = "admin/services/actionrequest/change_form.html"
    show_full_result_count = False
    #: Shown only through the visibility policy (get_readonly_fields).
    masked_json_fields = ("params", "response", "error")

    def get_fields(self, request: HttpRequest, obj: ActionRequest | None = None) -> list[Any]:
        return self.get_readonly_fields(request, obj)

    def get_readonly_fields(self, request: HttpRequest, obj: ActionRequest | None = None) -> list[Any]:
        """Every field read-only; the parameters and the service's answer through the policy."""
        user = staff_request(request).user

        def masked(obj: ActionRequest, value: Any) -> str:
            schema = obj.model_label.partition(".")[0]
            return render_json(
                policy.mask_details(user, value, schema=schema, model_label=obj.model_label), compact=False
            )

        @admin.display(description="parameters")
        def shown_params(obj: ActionRequest) -> str:
            return masked(obj, obj.params)

        @admin.display(description="service's answer")
        def shown_response(obj: ActionRequest) -> str:
            return masked(obj, obj.response)

        @admin.display(description="error")
        def shown_error(obj: ActionRequest) -> str:
            return redacted_error(user, obj) or "\N{EM DASH}"

        names = [f.name for f in ActionRequest._meta.concrete_fields if f.name not in self.masked_json_fields]
        return [*names, shown_params, shown_response, shown_error]

    def get_queryset(self, request: HttpRequest) -> models.QuerySet[ActionRequest]:
        return policy.scope(super().get_queryset(request), staff_request(request).user).select_related(
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
        self,
        request: HttpRequest,
        context: dict[str, Any],
        add: bool = False,
        change: bool = False,
        form_url: str = "",
        obj: ActionRequest | None = None,
    ) -> HttpResponse:
        user = staff_request(request).user
        context["can_decide"] = (
            obj is not None
            and obj.status == ActionRequest.Status.PENDING_APPROVAL
            and user.has_perm(services.APPROVE_PERMISSION)
            and obj.requested_by_id != user.pk
        )
        context["can_retry"] = (
            obj is not None
            and obj.status == ActionRequest.Status.FAILED
            and services.retry_refusal(user=user, action_request=obj) is None
        )
        return super().render_change_form(request, context, add, change, form_url, obj)

    def get_urls(self) -> list[URLPattern]:
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

    def decide_view(self, request: StaffRequest, pk: int) -> HttpResponse:
        if request.method != "POST":
            raise PermissionDenied("Decide with the form's buttons.")
        action_request = get_object_or_404(self.get_queryset(request), pk=pk)
        back = reverse("admin:services_actionrequest_change", args=[pk])
        started = timezone.now()
        try:
            if request.POST.get("decision") == "approve":
                outcome = services.approve(
                    approver=request.user, action_request=action_request, request_id=request.request_id
                )
                _note_write(request, outcome, started)
                level = (
                    messages.SUCCESS if outcome.status == ActionRequest.Status.SUCCEEDED else messages.ERROR
                )
                messages.add_message(
                    request,
                    level,
                    f"Approved: {outcome.request.get_status_display()}. {redacted_error(request.user, outcome.request)}".strip(),
                )
            else:
                services.reject(approver=request.user, action_request=action_request, request_id=request.request_id,
                                note=request.POST.get("note", "")[:500])  # fmt: skip
                messages.info(request, "Rejected; nothing was sent to the service.")
        except services.ActionRefused as exc:
            messages.error(request, str(exc))
        return redirect(back)

    def retry_view(self, request: StaffRequest, pk: int) -> HttpResponse:
        """Send a failed request again under its idempotency key (services.retry says who may)."""
        if request.method != "POST":
            raise PermissionDenied("Retry with the form's button.")
        action_request = get_object_or_404(self.get_queryset(request), pk=pk)
        started = timezone.now()
        try:
            outcome = services.retry(
                user=request.user, action_request=action_request, request_id=request.request_id
            )
        except services.ActionRefused as exc:
            messages.error(request, str(exc))
        else:
            _note_write(request, outcome, started)
            level = messages.ERROR if outcome.status == ActionRequest.Status.FAILED else messages.SUCCESS
            messages.add_message(
                request,
                level,
                f"Retried: {outcome.request.get_status_display()}. {redacted_error(request.user, outcome.request)}".strip(),
            )
        return redirect(reverse("admin:services_actionrequest_change", args=[pk]))
