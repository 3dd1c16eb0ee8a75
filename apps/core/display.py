"""How a platform column is shown: one place that turns a field into an admin display callable.

Relations inside a schema and cross-service ids are rendered as links computed from the stored
id alone (a URL, not a query), so a page never joins across schemas and never runs one query
per row to label a link.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cache
from typing import Any, cast

from django.contrib import admin
from django.contrib.admin.utils import quote
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html
from django.utils.text import Truncator

from apps.core import formatting
from apps.core.formatting import EMPTY, id_html, kind_of
from apps.core.models import ServiceRef

# What a masked value looks like, whatever it holds (empty or not): the one glyph for every page.
MASK = "\N{BLACK CIRCLE}" * 6


def admin_url(model_label: str, pk: Any) -> str | None:
    """The admin change URL of a record, or None when that model has no admin page."""
    app_label, _, model_name = model_label.partition(".")
    try:
        return reverse(f"admin:{app_label}_{model_name.lower()}_change", args=[quote(str(pk))])
    except NoReverseMatch:
        return None


def link(model_label: str, pk: Any, text: Any = None) -> str:
    """A link to a record's page; its text is the id as people read it (a long id shortened,
    whole on hover and copyable: apps.core.formatting) unless ``text`` is given."""
    if pk in (None, ""):
        return EMPTY
    url = admin_url(model_label, pk)
    shown = id_html(pk) if text is None else text
    return format_html('<a href="{}">{}</a>', url, shown) if url else format_html("{}", shown)


def render_json(value: Any, *, compact: bool) -> str:
    if value is None:
        return EMPTY
    if compact:
        return Truncator(json.dumps(value, ensure_ascii=False, sort_keys=True)).chars(80)
    return format_html(
        '<pre class="json">{}</pre>', json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True)
    )


@cache
def field_display(field: models.Field, *, compact: bool) -> Callable[[models.Model], Any]:
    """A display callable for one field, for list (compact) or detail pages.

    Cached per field, so every admin shares the same callables (they are part of list_display,
    and Django compares them by identity).
    """
    if isinstance(field, ServiceRef):

        def show(obj: models.Model) -> Any:
            return link(field.to, getattr(obj, field.attname))

    elif isinstance(field, models.ForeignKey):
        target = cast("type[models.Model]", field.related_model)._meta.label  # resolved once models load

        def show(obj: models.Model) -> Any:
            return link(target, getattr(obj, field.attname))

    elif isinstance(field, models.JSONField):

        def show(obj: models.Model) -> Any:
            return render_json(getattr(obj, field.attname), compact=compact)

    elif isinstance(field, ArrayField):

        def show(obj: models.Model) -> Any:
            value = getattr(obj, field.attname)
            return ", ".join(map(str, value)) if value else EMPTY

    elif kind_of(field) is not None:

        def show(obj: models.Model) -> Any:
            return formatting.format_field(obj, field)

    else:
        raise TypeError(f"{field} needs no display callable; use its name")

    show = admin.display(description=column_title(field), ordering=field.attname)(show)
    show.__name__ = field.attname
    return show


@cache
def kind_display(field: models.Field, kind: str) -> Callable[[models.Model], Any]:
    """A column shown as ``kind`` (apps.core.formatting) where the field's type does not say it:
    a text column that holds ids, say. Sorted by the raw value."""

    @admin.display(description=column_title(field), ordering=field.attname)
    def show(obj: models.Model) -> Any:
        return formatting.format_value(value=getattr(obj, field.attname), kind=kind, row=obj, field=field)

    show.__name__ = field.attname
    return show


def column_title(field: models.Field) -> str:
    """A column's heading: an amount is "amount", not "amount cents" (it reads in its currency)."""
    name = str(field.verbose_name)
    if kind_of(field) == formatting.MONEY:
        for suffix in formatting.MONEY_SUFFIXES:
            name = name.removesuffix(suffix.replace("_", " "))
    return name


def needs_display(field: models.Field) -> bool:
    """Whether a field is shown through a callable: links, JSON, arrays, and every kind the
    formatting layer reads for people (money, ids, timestamps, booleans, statuses, counts)."""
    return isinstance(field, ServiceRef | models.ForeignKey | models.JSONField | ArrayField) or (
        kind_of(field) is not None
    )


@cache
def unavailable_display(field: models.Field) -> Callable[[models.Model], Any]:
    """Stands in for a column the cluster dropped: the page renders, and says so."""

    @admin.display(description=field.verbose_name)
    def show(obj: models.Model) -> Any:
        return format_html(
            '<span class="unavailable" title="{}">unavailable</span>', "dropped in the cluster"
        )

    show.__name__ = f"{field.attname}_unavailable"
    return show


@cache
def masked_display(field: models.Field, category: str) -> Callable[[models.Model], Any]:
    """Stands in for a sensitive column the viewer may not see (apps.access.policy decides which).

    It shows the same glyph whether the value is empty or not: emptiness is information too.
    """
    label = "PHI" if category == "phi" else "contact"

    @admin.display(description=field.verbose_name)
    def show(obj: models.Model) -> Any:
        return masked_html(label)

    show.__name__ = f"{field.attname}_masked"
    return show


def masked_html(label: str = "value") -> str:
    return format_html('<span class="masked" title="{} masked">{}</span>', label, MASK)


def render_cell(obj: models.Model, field: models.Field, *, masked_kind: str | None) -> Any:
    """One field of one row as HTML, exactly as a changelist would show it (links, masking)."""
    if masked_kind:
        return masked_display(field, masked_kind)(obj)
    if needs_display(field):
        return field_display(field, compact=True)(obj)
    from django.contrib.admin.utils import display_for_field

    return display_for_field(getattr(obj, field.attname), field, EMPTY)
