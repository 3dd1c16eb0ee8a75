"""Links from an audit row to the records it names and to the next drill-down (URLs only)."""

from __future__ import annotations

from django.urls import reverse
from django.utils.http import urlencode

from apps.core.display import admin_url
from apps.core.entities import entity_model_label


def record_url(source: str, entity_type: str | None, entity_id: str | None) -> str | None:
    if not entity_type or not entity_id:
        return None
    label = entity_model_label(source, entity_type)
    return admin_url(label, entity_id) if label else None


def actor_record_url(actor_type: str, actor_id: str) -> str | None:
    if actor_type == "user":
        return admin_url("identity.User", actor_id)
    if actor_type == "staff" and actor_id.isdigit():
        return admin_url("auth.User", actor_id)
    return None


def explorer_url(**params: str) -> str:
    return f"{reverse('explorer:index')}?{urlencode(params)}"
