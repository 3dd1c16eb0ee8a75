"""Changelists that stay fast on tables of tens of millions of rows.

Stock Django admin counts every row (COUNT(*)), pages with OFFSET and builds its date
drill-down with DISTINCT over the table. Here, in one place for every platform model:

- counts are bounded: at most ``COUNT_CAP`` rows are counted; past that the page says "1,000+".
  An unfiltered list of a table the catalogue puts past ``TRUSTED_ESTIMATE`` rows
  (pg_class.reltuples) is not counted at all: the page shows "about <estimate>";
- past the first pages, "Older" follows a keyset cursor on (date, primary key), so page 1,000
  costs what page 1 costs. The cursor is opaque (apps.core.cursors) and the date is one the
  viewer may use as a key (the visibility policy says which), so it never carries a value the
  viewer may not see;
- the date drill-down offers years and months computed from the calendar and filters with
  index-friendly ranges (``>=``/``<``), never querying for the dates that exist.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from functools import cached_property
from typing import Any, Protocol, cast

from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.core.paginator import Paginator
from django.db import connections, models, router
from django.db.models import BooleanField
from django.db.models.expressions import RawSQL
from django.http import HttpRequest
from django.utils import timezone

from apps.core.cursors import InvalidCursor, decode_cursor, encode_cursor
from apps.core.formatting import count_text
from apps.core.models import split_db_table
from apps.core.params import InvalidParameter

# Enough to number the ten page links the list shows (500 rows) and to tell "a few hundred" from
# "more than a thousand"; past it, "Older" pages by cursor. Counting 10,000 index entries instead
# cost a filtered page 1-5 ms on the large seed, several times its own query.
COUNT_CAP = 1_000
# Past this estimate an unfiltered list skips even the bounded count. The margin (100x the cap)
# absorbs stale statistics: reltuples is off by that much only on a table never analysed.
TRUSTED_ESTIMATE = 100_000
CURSOR_VAR = "cursor"
YEARS_SHOWN = 5


class BoundedCountPaginator(Paginator):
    """Counts at most COUNT_CAP + 1 rows: ``SELECT count(*) FROM (... LIMIT 1001)``, unordered,
    so the database stops after the first 1,001 matching rows in whatever order is cheapest.

    For a whole table (no WHERE clause: no filter, search or brand scope) ``estimate`` holds the
    catalogue's figure, and past TRUSTED_ESTIMATE rows the table is not counted at all. A scoped
    or filtered list never gets the whole table's estimate: it would not describe those rows.
    """

    estimate: int | None = None
    object_list: models.QuerySet[Any]  # ModelAdmin.get_paginator always pages a queryset

    @cached_property
    def count(self) -> int:
        queryset = self.object_list
        if isinstance(queryset, models.QuerySet) and not queryset.query.where:
            self.estimate = estimated_rows(queryset.model)
            if self.estimate is not None and self.estimate > TRUSTED_ESTIMATE:
                return COUNT_CAP + 1
        return queryset.order_by()[: COUNT_CAP + 1].count()

    @property
    def capped(self) -> bool:
        return self.count > COUNT_CAP


def estimated_rows(model: type[models.Model]) -> int | None:
    """The planner's row estimate for a table (free: catalogue rows), or None if unknown.

    A partitioned table (relkind 'p', e.g. an audit_log by month) is the sum of its partitions'
    estimates, which autovacuum keeps fresh; nothing ever re-analyses the parent itself.
    """
    schema, table = split_db_table(model._meta.db_table)
    with connections[router.db_for_read(model)].cursor() as cursor:
        cursor.execute(
            "SELECT CASE WHEN c.relkind <> 'p' THEN c.reltuples ELSE ("
            "  SELECT CASE WHEN bool_or(p.reltuples >= 0) THEN sum(greatest(p.reltuples, 0)) ELSE -1 END"
            "  FROM pg_partition_tree(c.oid) t JOIN pg_class p ON p.oid = t.relid WHERE t.isleaf"
            ")::real END::bigint "
            "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND c.relname = %s",
            [schema, table],
        )
        row = cursor.fetchone()
    return int(row[0]) if row and row[0] >= 0 else None


class _DrilldownAdmin(Protocol):
    """What a PlatformChangeList asks of its admin beyond Django's (apps.core.admin.PlatformAdminBase)."""

    def get_date_drilldown_field(self, request: HttpRequest) -> str | None: ...


class PlatformChangeList(ChangeList):
    """A ChangeList with bounded counts, keyset paging and a query-free date drill-down."""

    #: Parameters it reads itself, not filters (apps.core.params.check_changelist skips them).
    own_parameters = (CURSOR_VAR,)
    sortable_by: Sequence[str]  # PlatformAdminBase.get_sortable_by: always a list of column names

    def __init__(self, request: Any, *args: Any, **kwargs: Any) -> None:
        self.request = request  # the policy's questions are about this person
        try:
            super().__init__(request, *args, **kwargs)
        except IncorrectLookupParameters as exc:
            # Not Django's redirect to "?e=1", which drops the filters without a word: a 400 that says why.
            # Raised without a message only for a page past the end (Django's InvalidPage).
            raise InvalidParameter(
                str(exc) or "This list has no such page; go back to the first page."
            ) from None
        # Row links carry the list's filters (a record's breadcrumb returns to them), appended by
        # url_for_result. Left to Django, rendering each row would resolve() its URL against
        # every admin pattern to learn it is not the changelist: ~5 ms a filtered page.
        self.row_filters, self.preserved_filters = self.preserved_filters, ""

    def url_for_result(self, result: models.Model) -> str:
        url = self.change_url(result)
        return f"{url}?{self.row_filters}" if self.row_filters else url

    def change_url(self, result: models.Model) -> str:
        """The URL of a row's page, without the list's filters."""
        return super().url_for_result(result)

    def get_filters_params(self, params: Any = None) -> dict[str, Any]:
        params = super().get_filters_params(params)
        params.pop(CURSOR_VAR, None)
        return params

    # --- keyset paging ------------------------------------------------------------------
    @property
    def keyset_field(self) -> models.Field | None:
        """The date field the default ordering follows, if the list is in that order."""
        name = cast(_DrilldownAdmin, self.model_admin).get_date_drilldown_field(self.request)
        if not name or self.params.get("o") or not self.model._meta.pk.concrete:
            return None
        field = cast("models.Field[Any, Any]", self.model._meta.get_field(name))  # a date column
        return None if field.null else field  # a row comparison cannot order NULLs

    def _keyset_filter(self, value: Any, pk: Any) -> RawSQL:
        ops = connections[router.db_for_read(self.model)].ops
        table = ops.quote_name(self.model._meta.db_table)
        keyset_field = self.keyset_field
        assert keyset_field is not None  # asked only of a list in keyset order
        columns = f"{table}.{ops.quote_name(keyset_field.column)}, {table}.{ops.quote_name(self.model._meta.pk.column)}"
        return RawSQL(f"({columns}) < (%s, %s)", (value, pk), output_field=BooleanField())  # noqa: S611 - quoted identifiers, bound values

    def get_results(self, request: Any) -> None:
        self.next_cursor = None
        self.cursor_mode = False
        token = request.GET.get(CURSOR_VAR)
        if token and self.keyset_field is not None:
            try:
                value, pk = decode_cursor(token, purpose=self._cursor_purpose)
                value = self.keyset_field.to_python(value)
                pk = self.model._meta.pk.to_python(pk)
            except (InvalidCursor, ValueError, TypeError, ValidationError):
                raise IncorrectLookupParameters(
                    "This page link is damaged; start again from the first page."
                ) from None
            self.cursor_mode = True
            # The redundant bound on the date alone lets PostgreSQL prune a partitioned table's
            # newer partitions (it does not prune on the row comparison).
            older = self.queryset.filter(
                self._keyset_filter(value, pk), **{f"{self.keyset_field.name}__lte": value}
            )
            rows = list(older[: self.list_per_page + 1])
            self.result_list = rows[: self.list_per_page]
            self.result_count = len(self.result_list)
            self.full_result_count = None
            self.can_show_all = False
            self.multi_page = True
            self.paginator = self.model_admin.get_paginator(request, self.queryset, self.list_per_page)
            if len(rows) > self.list_per_page:
                self.next_cursor = self._cursor_after(self.result_list[-1])
            return
        super().get_results(request)
        last_page = self.paginator.num_pages if not self.paginator.capped else None
        has_more = self.multi_page and (last_page is None or self.page_num < last_page)
        if has_more and self.keyset_field is not None:
            page = list(self.result_list)
            if page:
                self.next_cursor = self._cursor_after(page[-1])

    @property
    def _cursor_purpose(self) -> str:
        keyset_field = self.keyset_field
        assert keyset_field is not None  # asked only of a list in keyset order
        return cursor_purpose(self.model, keyset_field)

    def _cursor_after(self, obj: models.Model) -> str:
        keyset_field = self.keyset_field
        assert keyset_field is not None  # asked only of a list in keyset order
        return encode_position(self.model, keyset_field, getattr(obj, keyset_field.attname), obj.pk)

    def get_ordering_field(self, field_name: Any) -> Any:
        """Django's, restricted to the admin's ``get_sortable_by`` (which asks the visibility
        policy): a masked column never orders a list, whatever ``o`` says."""
        order_field = super().get_ordering_field(field_name)
        if isinstance(order_field, str):
            try:
                field = self.model._meta.get_field(order_field.lstrip("-").split("__")[0])
            except FieldDoesNotExist:
                return order_field  # not a column: an annotation the admin declared itself
            if field.name not in self.sortable_by:
                return None
        return order_field

    @property
    def older_url(self) -> str | None:
        if not self.next_cursor:
            return None
        return self.get_query_string({CURSOR_VAR: self.next_cursor}, remove=["p"])

    @property
    def newest_url(self) -> str:
        return self.get_query_string(remove=[CURSOR_VAR, "p"])

    @property
    def count_display(self) -> str:
        if self.cursor_mode:
            return "older rows"
        if self.paginator.capped:
            estimate = self.paginator.estimate
            if estimate and estimate > COUNT_CAP:
                return f"about {count_text(estimate)}"
        return count_text(self.result_count, cap=COUNT_CAP)

    # --- date drill-down ------------------------------------------------------------------
    @property
    def date_links(self) -> dict[str, Any] | None:
        """Years, then months: computed from the calendar, filtered as index-friendly ranges."""
        name = cast(_DrilldownAdmin, self.model_admin).get_date_drilldown_field(self.request)
        if not name:
            return None
        since, until = self.params.get(f"{name}__gte"), self.params.get(f"{name}__lt")
        links: list[tuple[str, str, bool]] = []
        start, end = _parse_date(since), _parse_date(until)
        if start and end:
            # A year is chosen: its months. A month is chosen: its year's months, and the year.
            year = start.year
            month = (year, start.month) if (end - start).days <= 31 else None
            if month:
                links.append(
                    (str(year), self._range_url(name, dt.date(year, 1, 1), dt.date(year + 1, 1, 1)), False)
                )
            for number in range(1, 13):
                first = dt.date(year, number, 1)
                after = dt.date(year + (number == 12), number % 12 + 1, 1)
                label = first.strftime("%b" if month else "%b %Y")
                links.append((label, self._range_url(name, first, after), (year, number) == month))
        else:
            current = timezone.now().year
            for year in range(current - YEARS_SHOWN + 1, current + 1):
                links.append(
                    (str(year), self._range_url(name, dt.date(year, 1, 1), dt.date(year + 1, 1, 1)), False)
                )
        return {
            "field": cast("models.Field[Any, Any]", self.model._meta.get_field(name)).verbose_name,
            "links": links,
            "all_url": self.get_query_string(remove=[f"{name}__gte", f"{name}__lt", CURSOR_VAR, "p"]),
            "active": bool(since or until),
        }

    def _range_url(self, name: str, first: dt.date, after: dt.date) -> str:
        return self.get_query_string(
            {f"{name}__gte": first.isoformat(), f"{name}__lt": after.isoformat()}, remove=[CURSOR_VAR, "p"]
        )


def cursor_purpose(model: type[models.Model], field: models.Field) -> str:
    """A cursor belongs to one list, ordered by one field: another list refuses it."""
    return f"changelist:{model._meta.label}:{field.attname}"


def encode_position(model: type[models.Model], field: models.Field, value: Any, pk: Any) -> str:
    """The opaque "Older" cursor that starts after the row at ``(value, pk)``."""
    shown = value.isoformat() if hasattr(value, "isoformat") else value
    return encode_cursor([shown, str(pk)], purpose=cursor_purpose(model, field))


def _parse_date(value: Any) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return None
