"""Values as people read them: the one formatting layer every page consults.

A value is shown by its *kind*, inferred once per field (``kind_of``) or named by the page:

==========  =====================================================================================
money       minor units (``*_cents``, ``*_minor``) in the row's currency (else a joined row's, else
            its brand's checkout currency: ``set_brand_currency_resolver``) with its ISO 4217
            minor units (babel/CLDR): GBP 12900 -> "£129.00", JPY 1290 -> "¥1,290", KWD 12900 ->
            "KWD 12.900"; the exact amount, the code and where it came from on hover
count       grouped digits ("12,345"); past a cap "1,000+"
id          a long id (a UUID) shortened to its first characters with the whole on hover and a copy
            button (``core/format.js`` adds it next to the id or its link)
timestamp   in the staff member's time zone (their preference; ``set_time_zone_resolver``), UTC on
            hover, in a ``<time datetime>`` element
boolean     a "Yes"/"No" badge: text, not only a colour or an icon
status      the status as a badge with its label, toned by what it means (ok, pending, bad)
==========  =====================================================================================

Formatting happens at render time only: selectors, sorting, filters, cursors and exports keep
the raw values. Masking comes first (``apps.access.policy``): a value the viewer may not see is
replaced by the mask before this module is ever asked, so a formatter never sees it.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from typing import Any

from babel.numbers import format_currency, format_decimal, get_currency_precision, get_currency_symbol
from django.db import models
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString

EMPTY = "\u2014"  # an em dash, as the admin shows empty values
LOCALE = "en_US"  # "$" for USD, "£" for GBP, "¥" for JPY, "CA$" for CAD; a code where there is no symbol

MONEY = "money"
COUNT = "count"
ID = "id"
TIMESTAMP = "timestamp"
DATE = "date"
BOOLEAN = "boolean"
STATUS = "status"
KINDS = (MONEY, COUNT, ID, TIMESTAMP, DATE, BOOLEAN, STATUS)

#: Columns that hold an amount in minor units (cents, pence, fils...).
MONEY_SUFFIXES = ("_cents", "_minor")
#: The column of the same row (or of a row it points at) that names the currency.
CURRENCY_COLUMN = "currency"
#: Text columns shown as a status badge even without declared choices.
STATUS_COLUMNS = frozenset({"status", "severity", "state"})
#: Ids longer than this are shortened to ``ID_SHOWN`` characters.
ID_SHORTEN_OVER = 12
ID_SHOWN = 8
#: How a status reads: ok (done, healthy), wait (in progress, needs a look), bad (failed, closed
#: to the customer). Anything else is neutral.
STATUS_TONES = {
    "ok": frozenset(
        [
            "active",
            "succeeded",
            "delivered",
            "paid",
            "visible",
            "published",
            "connected",
            "completed",
            "complete",
            "ok",
            "green",
            "approved",
            "sent",
            "done",
            "opted_in",
            "read",
            "low",
        ]
    ),
    "wait": frozenset(
        [
            "pending",
            "held",
            "partially_refunded",
            "paused",
            "queued",
            "scheduled",
            "running",
            "processing",
            "open",
            "awaiting_approval",
            "pending_approval",
            "sending",
            "retrying",
            "medium",
            "warnings",
            "high",
        ]
    ),
    "bad": frozenset(
        [
            "failed",
            "locked",
            "deleted",
            "removed",
            "refunded",
            "retired",
            "cancelled",
            "canceled",
            "rejected",
            "expired",
            "revoked",
            "hidden",
            "error",
            "errored",
            "disputed",
            "lost",
            "critical",
            "violations",
            "blocked",
            "suppressed",
        ]
    ),
}

# --- the staff member's time zone -----------------------------------------------------------
_time_zone_resolver: Callable[[Any], str | None] | None = None


def set_time_zone_resolver(resolver: Callable[[Any], str | None]) -> None:
    """Register how a staff member's time zone name is found (the access app's profile does it at
    start-up; the floor knows no profile)."""
    global _time_zone_resolver
    _time_zone_resolver = resolver


def time_zone_of(user: Any) -> dt.tzinfo:
    """The zone ``user`` reads times in; without a user, the zone active for this request (the
    access app's middleware activates the person's own)."""
    name = _time_zone_resolver(user) if user is not None and _time_zone_resolver is not None else None
    if name:
        try:
            return zoneinfo.ZoneInfo(name)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            pass  # a zone the system no longer knows: UTC rather than an error page
    return timezone.get_current_timezone() if user is None else dt.UTC


@cache
def time_zone_names() -> tuple[str, ...]:
    """Every IANA zone name this system knows, sorted (the preference form's choices)."""
    return tuple(sorted(zoneinfo.available_timezones()))


# --- one value ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Context:
    """What a formatter may look at besides the value: the row it comes from, the field, the
    viewer, and the page's cap for counts."""

    row: Any = None
    field: models.Field[Any, Any] | None = None
    user: Any = None
    cap: int | None = None


Formatter = Callable[[Any, Context], SafeString]
FORMATTERS: dict[str, Formatter] = {}


def formatter(kind: str) -> Callable[[Formatter], Formatter]:
    """Register the formatter of one kind (one per kind; a later registration replaces it)."""

    def register(function: Formatter) -> Formatter:
        FORMATTERS[kind] = function
        return function

    return register


def format_value(
    *,
    value: Any,
    kind: str | None,
    row: Any = None,
    user: Any = None,
    field: models.Field[Any, Any] | None = None,
    cap: int | None = None,
) -> SafeString:
    """``value`` as HTML for a person to read. ``kind`` None (or unknown) shows it as text.

    ``row`` gives the context some kinds need (a money amount's currency); ``user`` the time zone
    (else the request's active one). Empty values are an em dash whatever the kind.
    """
    if value is None or value == "":
        return format_html("{}", EMPTY)
    function = FORMATTERS.get(kind or "")
    if function is None:
        return format_html("{}", value)
    return function(value, Context(row=row, field=field, user=user, cap=cap))


def format_field(obj: Any, field: models.Field[Any, Any], *, user: Any = None) -> SafeString:
    """One field of one row, by the field's kind (``kind_of``)."""
    return format_value(
        value=getattr(obj, field.attname), kind=kind_of(field), row=obj, user=user, field=field
    )


# --- which kind a field is -------------------------------------------------------------------
def is_money(field: models.Field[Any, Any]) -> bool:
    return isinstance(field, models.IntegerField) and field.attname.endswith(MONEY_SUFFIXES)


@cache
def kind_of(field: models.Field[Any, Any]) -> str | None:
    """The kind a field's values are shown as, or None to show them as they are. Cached per field."""
    if isinstance(field, models.BooleanField):
        return BOOLEAN
    if isinstance(field, models.DateTimeField):
        return TIMESTAMP
    if isinstance(field, models.DateField):
        return DATE
    if is_money(field):
        return MONEY
    if isinstance(field, models.UUIDField) or (field.primary_key and isinstance(field, models.CharField)):
        return ID
    if field.choices or field.attname in STATUS_COLUMNS:
        return STATUS if isinstance(field, models.CharField | models.TextField) else None
    if (
        isinstance(field, models.IntegerField)
        and not isinstance(field, models.AutoField)
        and not field.primary_key
        and not field.is_relation
        and not field.attname.endswith(("_id", "_code"))
    ):
        return COUNT
    return None


# --- the formatters ---------------------------------------------------------------------------
def currency_of(row: Any, field: models.Field[Any, Any] | None = None) -> str | None:
    """The ISO 4217 code that goes with an amount: the row's ``currency`` column, else that of a
    row it points at inside its schema *and that the page already loaded* (``select_related``):
    never a query per row."""
    code = getattr(row, CURRENCY_COLUMN, None) if row is not None else None
    if isinstance(code, str) and code.strip():
        return code.strip().upper()
    if row is None or not isinstance(row, models.Model):
        return None
    model: Any = type(row)
    for relation in currency_relations(model):
        if relation.is_cached(row):
            related = relation.get_cached_value(row)
            code = getattr(related, CURRENCY_COLUMN, None)
            if isinstance(code, str) and code.strip():
                return code.strip().upper()
    return None


# --- a brand's currency, for amounts whose row names none -----------------------------------
_brand_currency_resolver: Callable[[str], str | None] | None = None


def set_brand_currency_resolver(resolver: Callable[[str], str | None]) -> None:
    """Register how a brand's currency is found (the console reads the platform's brand settings
    at start-up; the floor imports no schema app). The resolver must be cheap (cached: it is
    asked once per amount shown) and answer None when it does not know."""
    global _brand_currency_resolver
    _brand_currency_resolver = resolver


def brand_currency_of(row: Any) -> str | None:
    """The currency of the brand ``row`` belongs to (every platform row names its brand), or None."""
    brand = getattr(row, "brand_id", None) if row is not None else None
    if not isinstance(brand, str) or not brand or _brand_currency_resolver is None:
        return None
    code = _brand_currency_resolver(brand)
    return code.strip().upper() if isinstance(code, str) and code.strip() else None


@cache
def currency_relations(model: type[models.Model]) -> tuple[Any, ...]:
    """Foreign keys of ``model`` to a model with a currency column (a refund's charge, a
    transaction's account): what a list should ``select_related`` to show amounts in currency."""
    found = []
    for field in model._meta.concrete_fields:
        target = field.related_model if isinstance(field, models.ForeignKey) else None
        if isinstance(target, type) and any(
            f.attname == CURRENCY_COLUMN for f in target._meta.concrete_fields
        ):
            found.append(field)
    return tuple(found)


def currency_joins(model: type[models.Model]) -> list[str]:
    """The relations to ``select_related`` so ``model``'s amounts show in their currency: none
    when the row names its own currency or holds no amount."""
    fields = model._meta.concrete_fields
    if any(f.attname == CURRENCY_COLUMN for f in fields) or not any(is_money(f) for f in fields):
        return []
    return [f.name for f in currency_relations(model)]


def minor_units(code: str) -> int:
    """ISO 4217 minor units of a currency (CLDR's figure, through babel); 2 when unknown."""
    return int(get_currency_precision(code))


def money_text(amount_minor: int, code: str | None) -> str:
    """An amount in minor units as text: "£129.00", "¥1,290", "KWD 12.900"; without a known
    currency, the amount with two decimals and no symbol."""
    if code is None:
        return format_decimal(Decimal(amount_minor).scaleb(-2), format="#,##0.00", locale=LOCALE)
    amount = Decimal(amount_minor).scaleb(-minor_units(code))
    symbol = get_currency_symbol(code, locale=LOCALE)
    if symbol == code:  # no symbol of its own: the code, then a space
        return format_currency(amount, code, format="¤ #,##0.00", locale=LOCALE, currency_digits=True)
    return format_currency(amount, code, locale=LOCALE, currency_digits=True)


@formatter(MONEY)
def _money(value: Any, context: Context) -> SafeString:
    try:
        amount = int(value)
    except (TypeError, ValueError):
        return format_html("{}", value)
    code = currency_of(context.row, context.field)
    if code:
        hint = f"{amount} minor units of {code}"
    elif code := brand_currency_of(context.row):
        hint = f"{amount} minor units of {code}, the brand's checkout currency (the row names none)"
    else:
        hint = f"{amount} minor units, currency not on this row"
    return format_html('<span class="money" title="{}">{}</span>', hint, money_text(amount, code))


def count_text(value: int, *, cap: int | None = None) -> str:
    """12345 -> "12,345"; past ``cap`` "1,000+" (the count stopped there)."""
    if cap is not None and value > cap:
        return f"{cap:,}+"
    return f"{value:,}"


@formatter(COUNT)
def _count(value: Any, context: Context) -> SafeString:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return format_html("{}", value)
    return format_html("{}", count_text(number, cap=context.cap))


def is_long_id(text: str) -> bool:
    return len(text) > ID_SHORTEN_OVER


def short_id(text: str) -> str:
    return f"{text[:ID_SHOWN]}\u2026" if is_long_id(text) else text


def id_html(value: Any) -> SafeString:
    """An id as people scan it: a long one shortened, whole on hover and for the copy button
    (``data-copy``, which ``core/format.js`` turns into a button next to it or its link)."""
    text = str(value)
    if not is_long_id(text):
        return format_html('<span class="bo-id">{}</span>', text)
    return format_html('<span class="bo-id" title="{}" data-copy="{}">{}</span>', text, text, short_id(text))


@formatter(ID)
def _id(value: Any, context: Context) -> SafeString:
    return id_html(value)


def local_time(value: dt.datetime, *, user: Any = None) -> dt.datetime:
    return value.astimezone(time_zone_of(user)) if timezone.is_aware(value) else value


#: How precise a shown time is: a list's minute, an audit row's second, a request story's microsecond.
PRECISIONS = {
    "minutes": "%Y-%m-%d %H:%M",
    "seconds": "%Y-%m-%d %H:%M:%S",
    "micro": "%H:%M:%S.%f",
}


def timestamp_html(value: dt.datetime, *, user: Any = None, precision: str = "minutes") -> SafeString:
    """``<time>`` in the viewer's zone, with the instant in UTC on hover (and as ``datetime``)."""
    if not timezone.is_aware(value):
        value = value.replace(tzinfo=dt.UTC)
    utc = value.astimezone(dt.UTC)
    local = local_time(value, user=user)
    shown = local.strftime(PRECISIONS.get(precision, PRECISIONS["minutes"]))
    zone = local.tzname() or ""
    return format_html(
        '<time datetime="{}" title="{} UTC">{}<span class="tz"> {}</span></time>',
        utc.isoformat(),
        utc.strftime("%Y-%m-%d %H:%M:%S"),
        shown,
        zone,
    )


@formatter(TIMESTAMP)
def _timestamp(value: Any, context: Context) -> SafeString:
    if not isinstance(value, dt.datetime):
        return format_html("{}", value)
    return timestamp_html(value, user=context.user)


@formatter(DATE)
def _date(value: Any, context: Context) -> SafeString:
    if isinstance(value, dt.datetime):
        return timestamp_html(value, user=context.user)
    if isinstance(value, dt.date):
        return format_html('<time datetime="{}">{}</time>', value.isoformat(), value.isoformat())
    return format_html("{}", value)


@formatter(BOOLEAN)
def _boolean(value: Any, context: Context) -> SafeString:
    label = "Yes" if value else "No"
    return format_html('<span class="badge badge-{}">{}</span>', label.lower(), label)


def status_tone(value: str) -> str:
    key = value.strip().lower().replace(" ", "_")
    return next((tone for tone, words in STATUS_TONES.items() if key in words), "neutral")


@formatter(STATUS)
def _status(value: Any, context: Context) -> SafeString:
    text = str(value)
    label = text
    field = context.field
    if field is not None and field.choices:
        label = str(dict(field.flatchoices).get(value, text))
    label = label.replace("_", " ")
    return format_html('<span class="badge status status-{}">{}</span>', status_tone(text), label)
