"""Links from an audit row to the records it names and to the next drill-down (URLs only)."""

from __future__ import annotations

from functools import lru_cache

from django.apps import apps
from django.urls import reverse
from django.utils.http import urlencode

from apps.core.display import admin_url
from apps.core.modelgen import class_name
from apps.explorer.sources import BACKOFFICE


@lru_cache(maxsize=1024)  # bounded: entity types come from platform rows, whatever they hold
def entity_model_label(source: str, entity_type: str) -> str | None:
    """The model an audit row's entity_type names inside its source schema, if one matches."""
    if source == BACKOFFICE:
        if entity_type == "staff":
            return "auth.User"
        return entity_type if "." in entity_type and _exists(entity_type) else None
    try:
        models_ = list(apps.get_app_config(source).get_models())
    except LookupError:
        return None
    # Entity types are singular snake_case ("ledger_entry", "member_status"); model names are
    # their CamelCase, sometimes with a prefix ("enrollment" -> ProgramEnrollment).
    wanted = {"".join(w.capitalize() for w in entity_type.split("_")), class_name(entity_type + "s")}
    for model in models_:
        if model.__name__ in wanted:
            return model._meta.label
    suffixed = [m for m in models_ if any(m.__name__.endswith(w) for w in wanted)]
    return suffixed[0]._meta.label if len(suffixed) == 1 else None


def _exists(label: str) -> bool:
    try:
        apps.get_model(label)
    except (LookupError, ValueError):
        return False
    return True


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
