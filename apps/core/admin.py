"""Read-only admin base classes shared by every platform schema's models.

A platform app's ``admin.py`` only declares what differs from these defaults; every model it
does not declare is registered with ``PlatformModelAdmin`` by the admin site. Each option is a
class attribute with a ``get_*`` hook, as in Django's own admin.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeAlias

from django.contrib import admin, messages
from django.contrib.admin.utils import quote
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import FieldDoesNotExist, PermissionDenied, ValidationError
from django.db import OperationalError, ProgrammingError, connections, models, router
from django.db.models.functions import Lower
from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse

from apps.core import drift
from apps.core.changelist import BoundedCountPaginator, PlatformChangeList
from apps.core.db import QUERY_CANCELED, UNDEFINED_OBJECT_STATES, isolated, sqlstate
from apps.core.display import field_display, needs_display, unavailable_display
from apps.core.formatting import currency_joins, kind_of
from apps.core.models import ServiceRef, split_db_table

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


#: A list's columns as Django's admin takes them: field names, or callables that show a value.
Columns: TypeAlias = list[str | Callable[[Any], Any]] | tuple[str | Callable[[Any], Any], ...]

if TYPE_CHECKING:  # what the mixins are mixed into, for the type checker only
    _ModelAdmin = admin.ModelAdmin[Any]
else:
    _ModelAdmin = object


class ReadOnlyAdminMixin(_ModelAdmin):
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
        # Only a GET of an existing record: Django opens no transaction for a GET (since ticket
        # #35520), so db_for_write, which the router refuses for platform models, is never asked.
        if object_id is None or request.method != "GET":
            raise PermissionDenied("Platform records are read-only here: act through the owning service.")
        return super().changeform_view(request, object_id, form_url, extra_context)

    def delete_view(
        self, request: HttpRequest, object_id: str, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        raise PermissionDenied("Platform records are never deleted from the back-office.")


class PlatformAdminBase(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The read-only admin for any platform model, with defaults inferred from the model's fields:
    columns, search by natural keys, filters from declared choices, bounded counts, keyset paging,
    a query-free date drill-down, and pages that survive schema drift and statement timeouts.

    The features contribute the rest as mixins (composed in apps.console.admin): who sees which
    rows and values (apps.access.admin.VisibilityAdminMixin), and the service actions
    (apps.services.admin.ServiceActionsAdminMixin). They plug in through the hooks below, each
    documented with what an override must do. Override any attribute (or its ``get_*`` hook) in a
    schema's ``admin.py``.
    """

    list_per_page = 50
    change_form_template = "admin/platform/change_form.html"
    show_full_result_count = False
    #: Field names for the changelist; None infers natural keys, status, amounts, brand, time.
    list_display_fields: tuple[str, ...] | None = None
    #: How many inferred columns at most.
    max_inferred_columns = 7
    #: Natural-key fields searched exactly (case-insensitively) and by prefix; None infers.
    natural_key_fields: tuple[str, ...] | None = None

    # --- hooks the features override ---------------------------------------------------------
    def may_use_as_key(self, request: HttpRequest | None, field: models.Field) -> bool:
        """Whether ``field`` may find, filter, count, order, page or drill down rows for this
        request (None: for no one in particular). An override returns False for any column whose
        values the person may not see; the base allows every column."""
        return True

    def get_column_display(
        self, request: HttpRequest, field: models.Field, *, compact: bool, revealed: bool
    ) -> Any:
        """What shows ``field`` in a list (``compact``) or on a record's page: a field name or a
        display callable taking the row. An override that hides a value returns a callable that
        shows something else; ``revealed`` says the person revealed this record."""
        # A callable where the formatting layer has something to say (a long id, an amount, a
        # timestamp...); the first column stays the link to the record's page either way.
        return field_display(field, compact=compact) if needs_display(field) else field.name

    def get_reveal(self, request: HttpRequest, obj: models.Model | None) -> Any:
        """The person's unexpired reveal of ``obj``'s protected values, or None (the base has no
        reveals). The record's page shows fields as revealed when this is not None."""
        return None

    def get_object_id(self, obj: models.Model) -> str:
        """The id that addresses ``obj`` in this admin's URLs (before ``quote``)."""
        return str(obj.pk)

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
        preferences: tuple[str, ...] = (*NATURAL_KEYS, *LIST_PREFERENCES)
        if any(kind_of(f) == "money" for f in fields.values()):
            # The amount reads in its currency ("£129.00"): the code needs no column of its own.
            preferences = tuple(n for n in preferences if n != "currency")
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
            unavailable_display(f)
            if f.column in missing
            else self.get_column_display(request, f, compact=True, revealed=False)
            for f in self.get_list_display_fields(request)
        ]

    def get_sortable_by(self, request: HttpRequest) -> Columns:
        """Only columns this person may use as a key (``may_use_as_key``) order a list, by their
        raw values: a formatted column (an amount, a timestamp) sorts by what it formats."""
        sortable: list[str | Callable[[Any], Any]] = []
        for f in self.get_list_display_fields(request):
            if not self.may_use_as_key(request, f) or f.column in self.get_missing_columns(request):
                continue
            sortable.append(f.name)
            if kind_of(f) is not None:
                sortable.append(self.get_column_display(request, f, compact=True, revealed=False))
        return sortable

    def get_list_display_links(self, request: HttpRequest, list_display: Columns) -> Columns:
        return list_display[:1]

    def get_fields(self, request: HttpRequest, obj: models.Model | None = None) -> list[Any]:
        missing = self.get_missing_columns(request)
        revealed = self.get_reveal(request, obj) is not None
        return [
            unavailable_display(f)
            if f.column in missing
            else self.get_column_display(request, f, compact=False, revealed=revealed)
            for f in self.model._meta.concrete_fields
        ]

    def get_readonly_fields(self, request: HttpRequest, obj: models.Model | None = None) -> list[Any]:
        return self.get_fields(request, obj)

    def lookup_allowed(self, lookup: str, value: str, request: HttpRequest | None = None) -> bool:
        """Filtering along relations inside the schema is allowed (every related table is this
        schema's), but only on columns ``may_use_as_key`` allows: a hidden value never narrows a
        list."""
        model = self.model
        for part in lookup.split("__"):
            try:
                field = model._meta.get_field(part)
            except FieldDoesNotExist:
                break  # a lookup type such as "exact" or "in"
            if getattr(field, "concrete", False) and not self.may_use_as_key(request, field):
                return False
            if not field.is_relation or field.related_model is None:
                break
            model = field.related_model
        return True

    def get_object(self, request: HttpRequest, object_id: str, from_field: str | None = None) -> Any:
        """The record, or a 404: another brand's record, a malformed id and a missing row look the
        same (Django's own answer, a redirect to the index, would say which it was not)."""
        obj = super().get_object(request, object_id, from_field)
        if obj is None:
            raise Http404(f"No {self.opts.verbose_name} with that id is visible to you.")
        return obj

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
        queryset = super().get_queryset(request)
        missing = self.get_missing_columns(request)
        deferred = [f.name for f in self.model._meta.concrete_fields if f.column in missing]
        queryset = queryset.defer(*deferred) if deferred else queryset
        return queryset.select_related(*self.get_currency_relations(request))

    def get_currency_relations(self, request: HttpRequest) -> list[str]:
        """Relations joined so amounts show in their currency when the row has none of its own (a
        refund's charge, a transaction's account): one join inside the schema, never a query per
        row. An override returns relation names of this model."""
        missing = self.get_missing_columns(request)
        return [
            name
            for name in currency_joins(self.model)
            if self.model._meta.get_field(name).column not in missing
        ]

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        return self._tolerating_drift(request, super().changelist_view, request, extra_context)

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        return self._tolerating_drift(
            request, super().changeform_view, request, object_id, form_url, extra_context
        )

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
                request.__dict__["_drift_warned"] = True
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
                if sqlstate(exc) != QUERY_CANCELED:
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
                if refresh or sqlstate(exc) not in UNDEFINED_OBJECT_STATES:
                    raise
        raise AssertionError("unreachable: the second attempt returns or raises")

    # --- filters and drill-down ---------------------------------------------------------
    def get_list_filter(self, request: HttpRequest) -> list[Any]:
        # Choices and booleans filter from their declaration, never from a DISTINCT scan; a
        # column this person may not use as a key is neither a filter nor a facet.
        return [
            f.name
            for f in self.model._meta.concrete_fields
            if (f.choices or isinstance(f, models.BooleanField))
            and not f.primary_key
            and self.may_use_as_key(request, f)
        ]

    def get_date_drilldown_field(self, request: HttpRequest) -> str | None:
        """The timestamp the list is ordered, paged and drilled down by, or None.

        Only one this person may use as a key (``may_use_as_key``): ordering by a masked date
        would leak it.
        """
        names = {f.name: f for f in self.model._meta.concrete_fields if isinstance(f, models.DateTimeField)}
        return next(
            (n for n in DATE_PREFERENCES if n in names and self.may_use_as_key(request, names[n])),
            None,
        )

    # Django's date_hierarchy runs DISTINCT over the table; PlatformChangeList draws its own.
    date_hierarchy = None
    change_list_template = "admin/platform/change_list.html"

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return PlatformChangeList

    def get_paginator(
        self,
        request: HttpRequest,
        queryset: models.QuerySet[Any],
        per_page: int,
        orphans: int = 0,
        allow_empty_first_page: bool = True,
    ) -> BoundedCountPaginator:
        return BoundedCountPaginator(queryset, per_page, orphans, allow_empty_first_page)

    def get_ordering(self, request: HttpRequest) -> list[str]:
        date = self.get_date_drilldown_field(request)
        return [f"-{date}"] if date else []

    # --- search -------------------------------------------------------------------------
    def get_natural_key_fields(self, request: HttpRequest) -> tuple[str, ...]:
        """The natural keys this person may search by (``may_use_as_key``)."""
        fields = {f.name: f for f in self.model._meta.concrete_fields}
        names = (
            self.natural_key_fields
            if self.natural_key_fields is not None
            else tuple(n for n in NATURAL_KEYS if n in fields)
        )
        return tuple(n for n in names if n in fields and self.may_use_as_key(request, fields[n]))

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


class CompositeKeyAdminMixin(_ModelAdmin):
    """Browse a table whose primary key spans several columns, which Django 5.2's admin cannot.

    A row is addressed by its key as a JSON array (``["<post_id>", "<user_id>"]``), the format
    ``CompositePrimaryKey.value_to_string`` writes and ``to_python`` reads.
    """

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return CompositeKeyChangeList

    def get_object_id(self, obj: models.Model) -> str:
        return self.model._meta.pk.value_to_string(obj)

    def get_object(self, request: HttpRequest, object_id: str, from_field: str | None = None) -> Any:
        pk = self.model._meta.pk
        try:
            values = pk.to_python(object_id)
        except (ValueError, TypeError, ValidationError):
            values = None  # a malformed key is simply not a row: the admin answers "not found"
        obj = None
        if values is not None and len(values) == len(pk.field_names):
            obj = self.get_queryset(request).filter(pk=tuple(values)).first()
        if obj is None:
            raise Http404(f"No {self.opts.verbose_name} with that id is visible to you.")
        return obj
