"""Request parameters, checked in one place: what the back-office cannot use is a 400 that says
what to fix, never a 500 from deep in a query.

- ``ParameterCheckMiddleware`` refuses, on every page, a NUL character (PostgreSQL cannot store or
  compare one) in the path, the query string or a submitted form, and an over-long parameter.
- ``check_changelist`` checks every parameter of an admin list against that list's own model,
  filters and ordering before the list runs (``BackofficeAdminSite.admin_view`` calls it for
  every registered changelist): fields that exist, values of the field's type, members of an
  enum, dates a calendar has, no pattern the database would refuse.
- Views check their own values with ``text`` and ``uuid_value``.

Each raises ``InvalidParameter``, a ``BadRequest``: Django answers it with the 400 page
(``apps.core.errors.bad_request``), which shows the message.
"""

from __future__ import annotations

import ipaddress
import uuid
from collections.abc import Callable, Iterator
from decimal import Decimal
from functools import wraps
from typing import Any

from django.contrib.admin import ModelAdmin, SimpleListFilter
from django.contrib.admin.options import IS_FACETS_VAR, IS_POPUP_VAR, TO_FIELD_VAR, IncorrectLookupParameters
from django.contrib.admin.utils import build_q_object_from_lookup_parameters, prepare_lookup_value
from django.contrib.admin.views.main import (
    ALL_VAR,
    ERROR_FLAG,
    ORDER_VAR,
    PAGE_VAR,
    SEARCH_VAR,
)
from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import BadRequest, EmptyResultSet, FieldError, FullResultSet, ValidationError
from django.db import models, router
from django.db.models.lookups import Lookup, Transform
from django.http import HttpRequest, HttpResponse

MAX_LENGTH = 4_096  # any one value: as long as the longest request line gunicorn accepts (4,094)
MAX_NAME_LENGTH = 200
MAX_PAGE = 1_000_000
# Lookups that compare a column with the given value(s): the value must be one the column holds.
COMPARISONS = frozenset({"exact", "in", "gt", "gte", "lt", "lte"})
# Lookups a query string cannot express safely, with what to use instead: patterns are compiled
# by PostgreSQL, whose syntax Python cannot check for it; a range needs two values, not one string.
REFUSED_LOOKUPS = {
    "regex": "pattern filters are not offered here; use exact, startswith or contains",
    "iregex": "pattern filters are not offered here; use exact, startswith or contains",
    "range": "range filters are not offered here; use __gte and __lt",
}
DATE_PARTS = {
    "year": (1, 9999),
    "iso_year": (1, 9999),
    "quarter": (1, 4),
    "month": (1, 12),
    "week": (1, 53),
    "day": (1, 31),
    "week_day": (1, 7),
    "iso_week_day": (1, 7),
    "hour": (0, 23),
    "minute": (0, 59),
    "second": (0, 59),
}
# Parameters every changelist reads itself rather than filtering on.
LIST_PARAMETERS = frozenset({ALL_VAR, ERROR_FLAG, IS_FACETS_VAR, IS_POPUP_VAR, SEARCH_VAR, TO_FIELD_VAR})


class InvalidParameter(BadRequest):
    """A parameter the back-office cannot use. The message, shown on the 400 page, says what to fix."""


def _shown(value: str) -> str:
    """A value quoted back to the person who sent it: short, and without control characters."""
    cut = value[:60] + ("..." if len(value) > 60 else "")
    return repr("".join(ch if ch.isprintable() else "?" for ch in cut))


def text(name: str, value: str, *, max_length: int = MAX_LENGTH) -> str:
    """``value`` if the database can take it: no NUL character, at most ``max_length`` characters."""
    if "\x00" in value:
        raise InvalidParameter(
            f"{name} contains a NUL character (\\x00), which no record can hold; remove it."
        )
    if len(value) > max_length:
        raise InvalidParameter(
            f"{name} is {len(value):,} characters long; the longest accepted is {max_length:,}."
        )
    return value


def uuid_value(name: str, value: str) -> uuid.UUID:
    try:
        return uuid.UUID(text(name, value, max_length=100))
    except ValueError:
        raise InvalidParameter(
            f"{_shown(value)} is not a {name}: it is a UUID like 2f1c6a0e-8b7d-4c1e-9a53-1d2e3f405162."
        ) from None


def check_request(request: HttpRequest) -> None:
    """No NUL in the path; no NUL and nothing over-long in the query string or a submitted form.

    A path's length is each view's to judge (an admin record id that long is simply not found).
    """
    if "\x00" in request.path:
        raise InvalidParameter(
            "The address contains a NUL character (%00), which no record can hold; remove it."
        )
    forms = [request.GET]
    if request.method == "POST":  # a form's fields (empty for other bodies), as CSRF reads them anyway
        forms.append(request.POST)
    for form in forms:
        for name, values in form.lists():
            text("A parameter name", name, max_length=MAX_NAME_LENGTH)
            for value in values:
                text(name, value)


class ParameterCheckMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        check_request(request)
        return self.get_response(request)


# --- admin changelists ---------------------------------------------------------------------


def checked_changelist(
    model_admin: ModelAdmin, view: Callable[..., HttpResponse]
) -> Callable[..., HttpResponse]:
    """``view`` (a changelist) that first checks its request with ``check_changelist``."""

    @wraps(view)
    def checked(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        # Only for those who may see the list: a message naming its fields is not for anyone else.
        if model_admin.has_view_or_change_permission(request):
            check_changelist(model_admin, request)
        return view(request, *args, **kwargs)

    return checked


def check_changelist(model_admin: ModelAdmin, request: HttpRequest) -> None:
    """Every parameter of an admin list, checked against its model, filters and ordering."""
    changelist = model_admin.get_changelist(request)
    own = set(getattr(changelist, "own_parameters", ()))
    list_filters = model_admin.get_list_filter(request)
    simple = {
        f.parameter_name for f in list_filters if isinstance(f, type) and issubclass(f, SimpleListFilter)
    }
    for name, values in request.GET.lists():
        if name in LIST_PARAMETERS or name in own:
            continue
        if name == PAGE_VAR:
            _page(values[-1])
        elif name == ORDER_VAR:
            # Django numbers the columns with the action checkbox first, when the list has actions.
            columns = len(model_admin.get_list_display(request)) + bool(model_admin.get_actions(request))
            _ordering(values[-1], columns)
        elif not model_admin.lookup_allowed(name, values[-1], request):
            raise InvalidParameter(f"This list cannot be filtered by {_shown(name)}.")
        elif name not in simple:  # a list filter of its own checks its own values
            check_lookup(model_admin.model, name, values)


def _whole_number(value: str) -> bool:
    return value.isascii() and value.isdigit()  # "²" is a digit to Python, and not a number to int()


def _page(value: str) -> None:
    if not _whole_number(value) or not 0 < int(value) <= MAX_PAGE:
        raise InvalidParameter(f"p is a page number: a whole number from 1, not {_shown(value)}.")


def _ordering(value: str, columns: int) -> None:
    for part in value.split(".") if value else ():
        index = part.removeprefix("-")
        if not _whole_number(index) or int(index) >= columns:
            raise InvalidParameter(
                f"o orders the list by column numbers (0 to {columns - 1}, - for descending, "
                f"joined by dots, like 2.-0), not {_shown(value)}."
            )


def check_lookup(model: type[models.Model], name: str, values: list[str]) -> None:
    """One filter parameter of a list of ``model``, checked as Django would build it and as the
    database would run it, without running it."""
    if name.endswith("__isempty"):  # EmptyFieldListFilter's own parameter
        if any(v not in ("0", "1") for v in values):
            raise InvalidParameter(f"{name} is 1 (empty) or 0 (not empty).")
        return
    try:
        # django-stubs 5.2.9 type these two too narrowly: ``separator`` has a default, the values go in
        # as strings and come out as the lookup wants them (a list for __in, a bool for __isnull).
        prepared = prepare_lookup_value(name, values)  # type: ignore[call-arg, arg-type]
        queryset = model._base_manager.filter(build_q_object_from_lookup_parameters({name: prepared}))  # type: ignore[dict-item]
    except (
        FieldError,
        ValidationError,
        ValueError,
        TypeError,
        OverflowError,
        IncorrectLookupParameters,
    ) as exc:
        raise InvalidParameter(f"{_shown(name)} = {_shown(values[-1])}: {_message(exc)}") from None
    for lookup in _lookups(queryset.query.where):
        _check_values(name, lookup)
    try:
        queryset.query.get_compiler(using=router.db_for_read(model)).as_sql()
    except (EmptyResultSet, FullResultSet):
        pass  # nothing or everything matches: a fine filter
    except (FieldError, ValueError, TypeError, OverflowError) as exc:
        raise InvalidParameter(f"{_shown(name)} = {_shown(values[-1])}: {_message(exc)}") from None


def _message(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return " ".join(exc.messages)
    return str(exc.args[0] if len(exc.args) == 1 else exc)[:300]


def _lookups(node: Any) -> Iterator[Lookup]:
    if isinstance(node, Lookup):
        yield node
    for child in getattr(node, "children", ()):
        yield from _lookups(child)


def _check_values(name: str, lookup: Lookup) -> None:
    """What the database would refuse only when running the query, refused here with a reason."""
    if lookup.lookup_name in REFUSED_LOOKUPS:
        raise InvalidParameter(f"{name}: {REFUSED_LOOKUPS[lookup.lookup_name]}.")
    field = getattr(lookup.lhs, "output_field", None)
    values = lookup.rhs if isinstance(lookup.rhs, list | tuple) else [lookup.rhs]
    if isinstance(field, ArrayField) and lookup.lookup_name != "isnull":
        raise InvalidParameter(f"{name}: a list column is filtered with __isnull or __len, not compared.")
    if isinstance(field, models.CompositePrimaryKey) and lookup.lookup_name not in {*COMPARISONS, "isnull"}:
        raise InvalidParameter(f"{name}: a key of several columns is compared whole (exact, in, gt, lt).")
    if isinstance(lookup.lhs, Transform):
        part = getattr(lookup.lhs, "lookup_name", None)  # a JSON key has none
        bounds = DATE_PARTS.get(part) if part else None
        if (
            bounds
            and lookup.lookup_name in COMPARISONS
            and any(not isinstance(v, int) or not bounds[0] <= v <= bounds[1] for v in values)
        ):
            raise InvalidParameter(f"{name} takes a {part} from {bounds[0]} to {bounds[1]}.")
        return
    if lookup.lookup_name not in COMPARISONS or field is None:
        return
    if field.choices:
        members = [str(key) for key, _ in field.flatchoices]
        if any(str(v) not in members for v in values):
            raise InvalidParameter(
                f"{name} must be one of {', '.join(members)}; not {_shown(str(values[-1]))}."
            )
    # PostgreSQL's numeric holds up to 131,072 digits before the point and 16,383 after it.
    if isinstance(field, models.DecimalField) and any(
        isinstance(v, Decimal) and v.is_finite() and not -16383 <= v.adjusted() < 131072 for v in values
    ):
        raise InvalidParameter(f"{name}: {_shown(str(values[-1]))} is too large or too small a number.")
    if isinstance(field, models.GenericIPAddressField):
        for value in values:
            try:
                ipaddress.ip_address(str(value))
            except ValueError:
                raise InvalidParameter(f"{name} must be an IP address, not {_shown(str(value))}.") from None
