from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from django import template
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from apps.core.display import MASK
from apps.core.formatting import id_html
from apps.explorer import links

if TYPE_CHECKING:
    from apps.explorer.selectors import AuditRow

register = template.Library()


def _json(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str)


@register.simple_tag
def drilldown_url(name: str, *args: str, **filters: str) -> str:
    """The drill-down ``explorer:<name>`` for a row's values, whatever they hold.

    A value no URL path can carry (a newline, a slash in a one-segment place) gets the explorer
    filtered to it (``filters``) instead; an empty value gets no link ("").
    """
    if not all(args):
        return ""
    try:
        return reverse(f"explorer:{name}", args=args)
    except NoReverseMatch:
        return links.explorer_url(**filters)


@register.simple_tag
def entity_cell(row: AuditRow) -> SafeString:
    """The entity, linked to its record page and to its timeline."""
    if not row.entity_id:
        return format_html("{}", row.entity_type or "\N{EM DASH}")
    timeline = drilldown_url(
        "entity",
        row.entity_type or "-",
        row.entity_id,
        entity_type=row.entity_type or "",
        entity_id=row.entity_id,
    )
    record = links.record_url(row.source, row.entity_type, row.entity_id)
    record_link = (
        format_html(' <a href="{}" class="record-link" title="Open the record">record</a>', record)
        if record
        else ""
    )
    return format_html(
        '{} <a href="{}" title="Everything about this {}">{}</a>{}',
        row.entity_type or "",
        timeline,
        row.entity_type or "entity",
        id_html(row.entity_id),
        record_link,
    )


@register.simple_tag
def actor_cell(row: AuditRow) -> SafeString:
    if not row.actor_id:  # the standard says NOT NULL, not non-empty
        return format_html("{} \N{EM DASH}", row.actor_type)
    actor = drilldown_url("actor", row.actor_id, actor_id=row.actor_id)
    record = links.actor_record_url(row.actor_type, row.actor_id)
    record_link = format_html(' <a href="{}" class="record-link">record</a>', record) if record else ""
    return format_html(
        '{} <a href="{}" title="Everything this actor did">{}</a>{}',
        row.actor_type,
        actor,
        id_html(row.actor_id),
        record_link,
    )


@register.simple_tag
def request_cell(row: AuditRow) -> SafeString:
    if not row.request_id:
        return mark_safe("\N{EM DASH}")
    return format_html(
        '<a href="{}" title="The whole request">{}</a>',
        drilldown_url("request", row.request_id, request_id=row.request_id),
        id_html(row.request_id),
    )


@register.simple_tag
def details_cell(details: Any) -> SafeString:
    """JSONB pretty-printed; before/after values as a diff of the keys that changed."""
    if details in (None, {}, []):
        return mark_safe("\N{EM DASH}")
    parts = []
    if (
        isinstance(details, dict)
        and isinstance(details.get("before"), dict)
        and isinstance(details.get("after"), dict)
    ):
        before, after = details["before"], details["after"]
        keys = sorted(set(before) | set(after))
        rows = format_html_join(
            "",
            '<tr class="{}"><th scope="row">{}</th><td class="before">{}</td><td class="after">{}</td></tr>',
            (
                (
                    "masked"
                    if MASK in (before.get(k), after.get(k))
                    else "changed"
                    if before.get(k) != after.get(k)
                    else "same",
                    k,
                    _json(before.get(k)),
                    _json(after.get(k)),
                )
                for k in keys
            ),
        )
        parts.append(
            format_html(
                '<table class="diff"><thead><tr><th>field</th><th>before</th><th>after</th></tr></thead><tbody>{}</tbody></table>',
                rows,
            )
        )
        rest = {k: v for k, v in details.items() if k not in ("before", "after")}
        if rest:
            parts.append(format_html('<pre class="json">{}</pre>', _json(rest)))
    else:
        parts.append(format_html('<pre class="json">{}</pre>', _json(details)))
    summary = ", ".join(sorted(details)) if isinstance(details, dict) else "details"
    return format_html("<details><summary>{}</summary>{}</details>", summary[:80], SafeString("".join(parts)))
