"""Templates show values through the formatting layer (apps.core.formatting):
``{% fmt value "timestamp" %}``, ``{% fmt row.amount_cents "money" row=row %}``, ``{% fmt n "count" cap=1000 %}``."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import template
from django.utils import timezone
from django.utils.safestring import SafeString

from apps.core import formatting

register = template.Library()


@register.simple_tag
def fmt(value: Any, kind: str, row: Any = None, cap: int | None = None) -> SafeString:
    """``value`` as people read it, by ``kind`` (money, count, id, timestamp, date, boolean,
    status). Give it only values the visibility policy already let through: masking comes first."""
    return formatting.format_value(value=value, kind=kind, row=row, cap=cap)


@register.simple_tag
def now_in_zone() -> SafeString:
    """The current time in the viewer's zone, UTC on hover."""
    return formatting.timestamp_html(timezone.now())


@register.simple_tag
def fmt_time(value: Any, precision: str = "minutes") -> SafeString:
    """A timestamp in the viewer's zone at ``precision`` (minutes, seconds, micro), UTC on hover."""
    if not isinstance(value, dt.datetime):
        return formatting.format_value(value=value, kind=formatting.DATE)
    return formatting.timestamp_html(value, precision=precision)
