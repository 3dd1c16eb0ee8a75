"""Which model an audit row's ``entity_type`` names, inside the schema that logged it.

Shared by the audit explorer (links to the record) and the visibility policy (a reveal of a
record covers the audit rows about it; the keys of a before/after diff are that model's fields).
"""

from __future__ import annotations

from functools import lru_cache

from django.apps import apps

from apps.core.modelgen import class_name

BACKOFFICE = "backoffice"


@lru_cache(maxsize=1024)  # bounded: entity types come from platform rows, whatever they hold
def entity_model_label(source: str, entity_type: str) -> str | None:
    """The model an audit row's entity_type names inside its source schema, if one matches."""
    if not entity_type:
        return None
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
