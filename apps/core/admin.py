"""Read-only admin base classes shared by every platform schema's models.

A platform app's ``admin.py`` only declares what differs from these defaults; every model it
does not declare is registered with ``PlatformModelAdmin`` by the admin site. Each option is a
class attribute with a ``get_*`` hook, as in Django's own admin.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.utils import quote, unquote
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import FieldDoesNotExist, PermissionDenied, ValidationError
from django.db import OperationalError, ProgrammingError, connections, models, router
from django.db.models.functions import Lower
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from apps.access import policy
from apps.access import services as access_services
from apps.access.forms import RevealForm
from apps.core import drift
from apps.core.changelist import BoundedCountPaginator, PlatformChangeList
from apps.core.db import isolated
from apps.core.display import (
    field_display,
    masked_display,
    needs_display,
    render_json,
    unavailable_display,
)
from apps.core.models import ServiceRef, split_db_table

# SQLSTATEs of a query that names a column or table the cluster no longer has.
UNDEFINED_OBJECT_STATES = {"42703", "42P01"}
QUERY_CANCELED = "57014"  # statement_timeout fired

# Columns that name a record the way a person would look for it.
NATURAL_KEYS = ("email", "number", "code", "client_id", "slug", "key", "processor_ref", "phone")
# Columns worth a glance in a list, in order of preference after the natural keys.
LIST_PREFERENCES = (
    "name",
    "title",
    "display_name",
    "status",
    "kind",
    "event_type",
    "actor_type",
    "actor_id",
    "amount_cents",
    "total_cents",
    "balance_cents",
    "currency",
)
# Timestamps for the date drill-down, most meaningful first.
DATE_PREFERENCES = (
    "occurred_at",
    "created_at",
    "placed_at",
    "measured_at",
    "sent_at",
    "scheduled_at",
    "started_at",
    "received_at",
    "attributed_at",
    "joined_at",
    "enrolled_at",
    "submitted_at",
    "raised_at",
    "opened_at",
    "recorded_at",
    "ordered_at",
    "updated_at",
    "published_at",
)


class ReadOnlyAdminMixin:
    """No add, change or delete, no action that writes, and no write transaction around a view."""

    actions = None

    def has_add_permission(self, request: HttpRequest, obj: models.Model | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: models.Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: models.Model | None = None) -> bool:
        return False

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        # Django wraps this view in atomic(using=db_for_write(model)), which the router refuses
        # for a platform model; a read-only page needs no transaction.
        if object_id is None or request.method != "GET":
            raise PermissionDenied("Platform records are read-only here: act through the owning service.")
        return self._changeform_view(request, object_id, form_url, extra_context)

    def delete_view(
        self, request: HttpRequest, object_id: str, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        raise PermissionDenied("Platform records are never deleted from the back-office.")


class PlatformModelAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The admin for any platform model, with defaults inferred from the model's fields.

    Override any attribute below (or its ``get_*`` hook) in a schema's ``admin.py``.
    """

    list_per_page = 50
    show_full_result_count = False
    #: Field names for the changelist; None infers natural keys, status, amounts, brand, time.
    list_display_fields: tuple[str, ...] | None = None
    #: How many inferred columns at most.
    max_inferred_columns = 7
    #: Natural-key fields searched exactly (case-insensitively) and by prefix; None infers.
    natural_key_fields: tuple[str, ...] | None = None

    # --- columns ------------------------------------------------------------------------
    def get_list_display_fields(self, request: HttpRequest) -> list[models.Field]:
        """The model fields the changelist shows. An override returns concrete fields.

        What each column shows (in clear or masked) is the visibility policy's to say, not this
        list's: a sensitive field listed here is shown masked to whoever may not see it.
        """
        fields = {f.name: f for f in self.model._meta.concrete_fields}
        if self.list_display_fields is not None:
            return [fields[name] for name in self.list_display_fields]
        pk = self.model._meta.pk
        chosen: list[models.Field] = [pk] if pk.concrete else []
        if not pk.concrete:  # composite primary key: show its parts
            chosen = [f for f in self.model._meta.concrete_fields if f.attname in pk.field_names]
        preferences = (*NATURAL_KEYS, *LIST_PREFERENCES)
        chosen += [fields[n] for n in preferences if n in fields and fields[n] not in chosen]
        chosen += [
            f for f in fields.values() if isinstance(f, ServiceRef | models.ForeignKey) and f not in chosen
        ][:2]
        date = self.get_date_drilldown_field(request)
        if date and fields[date] not in chosen:
            chosen.append(fields[date])
        return chosen[: self.max_inferred_columns]

    def get_list_display(self, request: HttpRequest) -> list[Any]:
        missing = self.get_missing_columns(request)
        return [
            self._column(request, f, compact=True, missing=missing, revealed=False)
            for f in self.get_list_display_fields(request)
        ]

    def get_sortable_by(self, request: HttpRequest) -> list[str]:
        """Only columns the policy lets this person order by (never a masked one)."""
        return [
            f.name
            for f in self.get_list_display_fields(request)
            if policy.may_use_as_key(request.user, f) and f.column not in self.get_missing_columns(request)
        ]

    def get_list_display_links(self, request: HttpRequest, list_display: list[Any]) -> list[Any]:
        return list_display[:1]

    def get_fields(self, request: HttpRequest, obj: models.Model | None = None) -> list[Any]:
        missing = self.get_missing_columns(request)
        revealed = self.get_reveal(request, obj) is not None
        return [
            self._column(request, f, compact=False, missing=missing, revealed=revealed)
            for f in self.model._meta.concrete_fields
        ]

    def get_readonly_fields(self, request: HttpRequest, obj: models.Model | None = None) -> list[Any]:
        return self.get_fields(request, obj)

    def _column(
        self,
        request: HttpRequest,
        field: models.Field,
        *,
        compact: bool,
        missing: frozenset[str],
        revealed: bool,
    ) -> Any:
        if field.column in missing:
            return unavailable_display(field)
        kind = policy.category(field)
        if kind == policy.DETAILS:
            return self._details_display(request, field, compact=compact)
        if not policy.sees(request.user, kind, revealed=revealed):
            return masked_display(field, kind)
        if compact and field.primary_key:
            return field.name  # the link to the detail page
        return field_display(field, compact=compact) if needs_display(field) else field.name

    def _details_display(self, request: HttpRequest, field: models.Field, *, compact: bool) -> Any:
        """An audit log's JSON details, each key masked or shown as the policy says for this
        person, in clear where they revealed the row or the record it is about."""
        user = request.user
        schema, _ = split_db_table(self.model._meta.db_table)
        revealed_records = policy.revealed_records(user)

        def show(obj: models.Model) -> Any:
            about = policy.audit_row_model(schema, getattr(obj, "entity_type", None))
            revealed = (self.model._meta.label, str(obj.pk)) in revealed_records or (
                about is not None and (about, str(getattr(obj, "entity_id", ""))) in revealed_records
            )
            details = policy.mask_details(
                user, getattr(obj, field.attname), schema=schema, model_label=about, revealed=revealed
            )
            return render_json(details, compact=compact)

        show.short_description = field.verbose_name  # type: ignore[attr-defined]
        show.__name__ = field.attname
        return show

    # --- PHI: masked by default, revealed per record with a reason ------------------------
    change_form_template = "admin/platform/change_form.html"

    def get_reveal(self, request: HttpRequest, obj: models.Model | None) -> Any:
        """The user's unexpired reveal of ``obj``, if any (looked up once per request)."""
        if obj is None or not policy.has_phi(self.model):
            return None
        memo = request.__dict__.setdefault("_phi_reveals", {})
        key = (self.model, str(obj.pk))
        if key not in memo:
            memo[key] = policy.active_reveal(request.user, self.model._meta.label, str(obj.pk))
        return memo[key]

    def render_change_form(
        self,
        request: HttpRequest,
        context: dict[str, Any],
        *args: Any,
        obj: models.Model | None = None,
        **kwargs: Any,
    ) -> HttpResponse:
        if obj is not None:
            context["object_actions"] = [
                (
                    action,
                    reverse(
                        f"admin:{self.opts.app_label}_{self.opts.model_name}_act",
                        args=[quote(self._object_id(obj)), action.name],
                        current_app=self.admin_site.name,
                    ),
                )
                for action in self.get_object_actions(request, obj)
            ]
        if obj is not None and policy.has_phi(self.model):
            reveal = self.get_reveal(request, obj)
            access_services.record_phi_view(user=request.user, obj=obj, revealed=reveal is not None)
            context.update(
                has_phi=True,
                phi_revealed_until=reveal.expires_at if reveal else None,
                can_reveal_phi=policy.can_reveal_phi(request.user),
                reveal_url=reverse(
                    f"admin:{self.opts.app_label}_{self.opts.model_name}_reveal",
                    args=[quote(self._object_id(obj))],
                    current_app=self.admin_site.name,
                ),
            )
        return super().render_change_form(request, context, *args, obj=obj, **kwargs)

    def _object_id(self, obj: models.Model) -> str:
        return str(obj.pk)

    def get_urls(self) -> list[Any]:
        reveal = path(
            "<path:object_id>/reveal/",
            self.admin_site.admin_view(self.reveal_view),
            name=f"{self.opts.app_label}_{self.opts.model_name}_reveal",
        )
        act = path(
            "<path:object_id>/act/<str:action_name>/",
            self.admin_site.admin_view(self.action_view),
            name=f"{self.opts.app_label}_{self.opts.model_name}_act",
        )
        return [reveal, act, *super().get_urls()]

    def reveal_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """Ask for a reason, then show this record's PHI for PHI_REVEAL_MINUTES."""
        obj = self.get_object(request, unquote(object_id))
        if obj is None or not self.has_view_permission(request, obj):
            raise Http404("No such record is visible to you.")
        if not policy.has_phi(self.model) or not policy.can_reveal_phi(request.user):
            raise PermissionDenied("Your role may not reveal protected health information.")
        form = RevealForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            reveal = access_services.reveal_phi(
                user=request.user, obj=obj, reason=form.cleaned_data["reason"]
            )
            messages.success(request, f"Protected fields revealed until {reveal.expires_at:%H:%M} UTC.")
            return redirect(
                reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_change", args=[object_id])
            )
        context = {
            **self.admin_site.each_context(request),
            "title": f"Reveal protected fields of {self.opts.verbose_name} {obj.pk}",
            "form": form,
            "opts": self.opts,
            "original": obj,
            "minutes": policy.reveal_duration().seconds // 60,
        }
        return TemplateResponse(
            request, "admin/platform/reveal.html", context, status=400 if form.errors else 200
        )

    def lookup_allowed(self, lookup: str, value: str, request: HttpRequest | None = None) -> bool:
        """Filtering along relations inside the schema is allowed (every related table is this
        schema's, and brand scoping still applies), but only on columns the policy lets this
        person use as a key: a masked value never narrows a list."""
        model = self.model
        for part in lookup.split("__"):
            try:
                field = model._meta.get_field(part)
            except FieldDoesNotExist:
                break  # a lookup type such as "exact" or "in"
            if getattr(field, "concrete", False):
                allowed = (
                    policy.may_use_as_key(request.user, field)
                    if request is not None
                    else policy.category(field) == policy.PLAIN
                )
                if not allowed:
                    return False
            if not field.is_relation or field.related_model is None:
                break
            model = field.related_model
        return True

    # --- actions: every write is a call to the owning service -----------------------------
    def get_object_actions(self, request: HttpRequest, obj: models.Model) -> list[Any]:
        """The service actions this user may take on ``obj`` now (apps.services.actions)."""
        from apps.services.actions import available_actions

        return available_actions(request.user, obj)

    def action_view(self, request: HttpRequest, object_id: str, action_name: str) -> HttpResponse:
        """Confirm an action with a reason, then hand it to apps.services (never SQL)."""
        from apps.services import services as service_actions
        from apps.services.actions import get_action
        from apps.services.models import ActionRequest

        obj = self.get_object(request, unquote(object_id))
        try:
            action = get_action(action_name)
        except KeyError:
            raise Http404("No such action.") from None
        # Checked here as well as by the queryset (defence in depth): the record must be one this
        # person may view, of a brand they may see.
        if (
            obj is None
            or action.model != self.model._meta.label
            or not self.has_view_permission(request, obj)
            or not policy.may_see_brand(request.user, getattr(obj, "brand_id", None))
        ):
            raise Http404("No such record is visible to you.")
        if not request.user.has_perm(action.permission):
            raise PermissionDenied(f"Your role may not {action.label.lower()}.")
        change_url = reverse(
            f"admin:{self.opts.app_label}_{self.opts.model_name}_change",
            args=[quote(self._object_id(obj))],
            current_app=self.admin_site.name,
        )
        initial = {"idempotency_key": uuid.uuid4(), **action.initial(obj)}
        form = action.form_class(request.POST or None, initial=initial)
        status, error = 200, None
        if request.method == "POST" and form.is_valid():
            try:
                outcome = service_actions.request_action(
                    user=request.user,
                    action=action,
                    obj=obj,
                    cleaned=form.cleaned_data,
                    request_id=request.request_id,
                )
            except service_actions.ActionRefused as exc:
                status, error = 409, policy.redact_text(request.user, str(exc), obj=obj)
            else:
                if outcome.status == ActionRequest.Status.SUCCEEDED:
                    messages.success(request, f"{action.label}: done by the {action.service} service.")
                    return redirect(change_url)
                if outcome.status == ActionRequest.Status.PENDING_APPROVAL:
                    messages.info(request, f"{action.label} is waiting for a second person's approval.")
                    return redirect(change_url)
                if outcome.status == ActionRequest.Status.FAILED:
                    failure = getattr(outcome, "failure", None)
                    status = 503 if failure is not None and failure.retryable else 409
                    error = policy.redact_text(request.user, outcome.error or "", obj=obj)
                else:
                    messages.info(request, f"{action.label}: {outcome.get_status_display()}.")
                    return redirect(change_url)
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

    def _get_obj_does_not_exist_redirect(
        self, request: HttpRequest, opts: Any, object_id: str
    ) -> HttpResponse:
        # Another brand's record, a malformed id and a missing row look the same: not found.
        raise Http404(f"No {opts.verbose_name} with that id is visible to you.")

    # --- schema drift: show what exists, say what is missing -----------------------------
    def get_missing_columns(self, request: HttpRequest, *, refresh: bool = False) -> frozenset[str]:
        """Columns this model maps that the live table lacks (a service contracted them).

        Remembered on the request, so every hook of one page sees the same answer.
        """
        memo = request.__dict__.setdefault("_platform_missing_columns", {})
        if refresh or self.model not in memo:
            memo[self.model] = drift.missing_columns(self.model, refresh=refresh)
        return memo[self.model]

    def get_queryset(self, request: HttpRequest) -> models.QuerySet:
        # Brand scoping happens here, once, for every page built on this admin.
        queryset = policy.scope(super().get_queryset(request), request.user)
        missing = self.get_missing_columns(request)
        deferred = [f.name for f in self.model._meta.concrete_fields if f.column in missing]
        return queryset.defer(*deferred) if deferred else queryset

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        response = self._tolerating_drift(request, super().changelist_view, request, extra_context)
        changelist = getattr(response, "context_data", None) and response.context_data.get("cl")
        if changelist is not None and policy.has_phi(self.model) and changelist.result_list:
            # A list of PHI-bearing rows was shown (masked): who saw which records is logged.
            label = self.model._meta.label
            access_services.record_phi_access(
                user=request.user,
                event_type="phi.viewed",
                where=f"{label} list",
                entities=[(self.opts.app_label, label, str(obj.pk)) for obj in changelist.result_list],
            )
        return response

    def _changeform_view(self, request: HttpRequest, *args: Any) -> HttpResponse:
        return self._tolerating_drift(request, super()._changeform_view, request, *args)

    def _unavailable(self, request: HttpRequest, *, title: str, reason: str) -> HttpResponse:
        context = {**self.admin_site.each_context(request), "title": title, "reason": reason}
        return TemplateResponse(request, "admin/platform_unavailable.html", context, status=503)

    def _tolerating_drift(self, request: HttpRequest, view: Any, *args: Any) -> HttpResponse:
        """Run a page; if the cluster dropped a column it maps, run it again without that column."""
        schema, table = split_db_table(self.model._meta.db_table)
        for refresh in (False, True):
            missing = self.get_missing_columns(request, refresh=refresh)
            if self.model._meta.pk.column in missing or missing >= set(drift.model_columns(self.model)):
                return self._unavailable(
                    request,
                    title=f"{schema}.{table} is unavailable",
                    reason=f"The cluster no longer has the table {schema}.{table} (or its key).",
                )
            if missing and not getattr(request, "_drift_warned", False):
                request._drift_warned = True
                messages.warning(
                    request,
                    f"{schema}.{table} no longer has: {', '.join(sorted(missing))} (the owning service "
                    "dropped them). Those fields are shown as unavailable.",
                )
            try:
                with isolated(router.db_for_read(self.model)):
                    response = view(*args)
                    if hasattr(response, "render"):
                        response.render()  # run the queries here, where drift can be caught
                return response
            except OperationalError as exc:
                if getattr(exc.__cause__, "sqlstate", None) != QUERY_CANCELED:
                    raise
                seconds = (
                    connections[router.db_for_read(self.model)].settings_dict.get("STATEMENT_TIMEOUT_MS", 0)
                    / 1000
                )
                return self._unavailable(
                    request,
                    title=f"{schema}.{table} took too long",
                    reason=f"The query ran past the {seconds:g} s limit and was stopped. Narrow it with a "
                    "brand, a date range or an exact id, then try again.",
                )
            except ProgrammingError as exc:
                if refresh or getattr(exc.__cause__, "sqlstate", None) not in UNDEFINED_OBJECT_STATES:
                    raise
        raise AssertionError("unreachable: the second attempt returns or raises")

    # --- filters and drill-down ---------------------------------------------------------
    def get_list_filter(self, request: HttpRequest) -> list[Any]:
        from apps.core.filters import BrandListFilter

        filters: list[Any] = []
        if any(f.attname == "brand_id" for f in self.model._meta.concrete_fields):
            filters.append(BrandListFilter)
        # Choices and booleans filter from their declaration, never from a DISTINCT scan; a
        # column the policy keeps from this person is neither a filter nor a facet.
        filters += [
            f.name
            for f in self.model._meta.concrete_fields
            if (f.choices or isinstance(f, models.BooleanField))
            and not f.primary_key
            and policy.may_use_as_key(request.user, f)
        ]
        return filters

    def get_date_drilldown_field(self, request: HttpRequest) -> str | None:
        """The timestamp the list is ordered, paged and drilled down by, or None.

        Only one this person may use as a key: ordering by a masked date would leak it.
        """
        names = {f.name: f for f in self.model._meta.concrete_fields if isinstance(f, models.DateTimeField)}
        return next(
            (n for n in DATE_PREFERENCES if n in names and policy.may_use_as_key(request.user, names[n])),
            None,
        )

    # Django's date_hierarchy runs DISTINCT over the table; PlatformChangeList draws its own.
    date_hierarchy = None
    change_list_template = "admin/platform/change_list.html"

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return PlatformChangeList

    def get_paginator(
        self, request: HttpRequest, queryset: models.QuerySet, per_page: int, **kwargs: Any
    ) -> Any:
        return BoundedCountPaginator(queryset, per_page, **kwargs)

    def get_ordering(self, request: HttpRequest) -> list[str]:
        date = self.get_date_drilldown_field(request)
        return [f"-{date}"] if date else []

    # --- search -------------------------------------------------------------------------
    def get_natural_key_fields(self, request: HttpRequest) -> tuple[str, ...]:
        """The natural keys this person may search by: never a column masked for them."""
        fields = {f.name: f for f in self.model._meta.concrete_fields}
        names = (
            self.natural_key_fields
            if self.natural_key_fields is not None
            else tuple(n for n in NATURAL_KEYS if n in fields)
        )
        return tuple(n for n in names if n in fields and policy.may_use_as_key(request.user, fields[n]))

    def get_search_fields(self, request: HttpRequest) -> list[str]:
        # Non-empty so the search box shows; get_search_results does the work.
        return ["pk", *self.get_natural_key_fields(request)]

    def get_search_help_text(self, request: HttpRequest) -> str:
        """What the search box accepts for this person, so a refused kind is not a surprise."""
        keys = [str(self.model._meta.get_field(n).verbose_name) for n in self.get_natural_key_fields(request)]
        accepted = ", ".join(["an exact id", *(f"{k} (exact or starting with)" for k in keys)])
        return f"Search by {accepted}."

    def get_changelist_instance(self, request: HttpRequest) -> ChangeList:
        changelist = super().get_changelist_instance(request)
        changelist.search_help_text = self.get_search_help_text(request)
        return changelist

    def get_search_results(
        self, request: HttpRequest, queryset: models.QuerySet, search_term: str
    ) -> tuple[models.QuerySet, bool]:
        """Exact id first, then natural keys: exact (case-insensitive) or prefix, index-friendly.

        Never a ``%term%`` scan: on a table of millions of rows it would read them all.
        """
        term = search_term.strip()
        if not term:
            return queryset, False
        condition = models.Q(pk__in=[])
        pk = self.model._meta.pk
        if pk.concrete:
            try:
                value = pk.to_python(term)
                if isinstance(pk, models.UUIDField) and not isinstance(value, uuid.UUID):
                    raise ValueError
                condition |= models.Q(pk=value)
            except (ValidationError, ValueError, TypeError):
                pass  # not an id of this table: only the natural keys can match
        for name in self.get_natural_key_fields(request):
            alias = f"_search_{name}"
            queryset = queryset.alias(**{alias: Lower(name)})
            condition |= models.Q(**{alias: term.lower()})
            if len(term) >= 3:
                condition |= models.Q(**{f"{alias}__startswith": term.lower()})
        return queryset.filter(condition), False


class CompositeKeyChangeList(PlatformChangeList):
    def change_url(self, result: models.Model) -> str:
        opts = self.opts
        return reverse(
            f"admin:{opts.app_label}_{opts.model_name}_change",
            args=(quote(opts.pk.value_to_string(result)),),
            current_app=self.model_admin.admin_site.name,
        )


class CompositeKeyAdminMixin:
    """Browse a table whose primary key spans several columns, which Django 5.2's admin cannot.

    A row is addressed by its key as a JSON array (``["<post_id>", "<user_id>"]``), the format
    ``CompositePrimaryKey.value_to_string`` writes and ``to_python`` reads.
    """

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return CompositeKeyChangeList

    def _object_id(self, obj: models.Model) -> str:
        return self.model._meta.pk.value_to_string(obj)

    def get_object(self, request: HttpRequest, object_id: str, from_field: str | None = None) -> Any:
        pk = self.model._meta.pk
        try:
            values = pk.to_python(object_id)
        except (ValueError, TypeError, ValidationError):
            return None  # a malformed key is simply not a row: the admin answers "not found"
        if len(values) != len(pk.field_names):
            return None
        return self.get_queryset(request).filter(pk=tuple(values)).first()
