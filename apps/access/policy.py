"""The visibility policy: the one place that decides what a staff member may see and use.

Every path a platform value can take asks this module and nothing else decides:

- **brands**: may this person see rows of this brand? (``allowed_brands``, ``may_see_brand``,
  ``scope``). Platform-wide visibility is an explicit grant (superuser, or the
  ``access.view_all_brands`` permission on the staff member); a staff member with neither and no
  brand binding sees no platform row at all.
- **values**: is this column shown in clear, or masked? (``category``, ``sees``,
  ``field_visible``). Categories come from ``apps.access.classification``; keys (primary key,
  brand, relations, cross-service ids) are plain by structure; an unclassified column is PHI in a
  schema that holds PHI and contact details elsewhere.
- **keys**: may this column be used to find, filter, count, order or page rows?
  (``may_use_as_key``). Only a value the person sees in clear on *every* record: a PHI reveal
  covers one record, so PHI is never a key, and contact details are a key only for roles that
  see them.
- **JSON details** (audit logs, action parameters, service answers): ``mask_details`` classifies
  key by key; only keys known to be harmless, or a column the person sees, stay in clear.

A masked value is ``MASK`` whatever it holds, empty or not.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from functools import lru_cache
from typing import Any, TypeVar

from django.apps import apps
from django.conf import settings
from django.db import models
from django.utils import timezone

from apps.access import classification, permissions
from apps.access.classification import CONTACT, PHI, PLAIN
from apps.access.models import PhiReveal
from apps.core.catalog import describe_schema
from apps.core.display import MASK, masked_html, render_cell
from apps.core.entities import BACKOFFICE, entity_model_label
from apps.core.models import ServiceRef, split_db_table
from apps.core.types import StaffUser

__all__ = ["CONTACT", "MASK", "PHI", "PLAIN"]

ALL_BRANDS_PERMISSION = permissions.VIEW_ALL_BRANDS
VIEW_CONTACT_PERMISSION = permissions.VIEW_CONTACT
REVEAL_PHI_PERMISSION = permissions.REVEAL_PHI
#: JSON classified key by key (the standard audit_log's ``details``): never a key, shown masked
#: or in clear per key by ``mask_details``.
DETAILS = "details"
_BRANDS_ATTR = "_backoffice_allowed_brands"
_M = TypeVar("_M", bound=models.Model)


# --- brands -------------------------------------------------------------------------------
def allowed_brands(user: StaffUser) -> frozenset[str] | None:
    """The brands a staff member may see: None for every brand, else a set that may be empty.

    Every brand only by an explicit grant: a superuser, or ``access.view_all_brands``. A staff
    member with neither sees exactly the brands bound to them (``StaffBrand``), and with no
    binding, none. Memoised on the user object (one request).
    """
    if not getattr(user, "is_authenticated", False) or not getattr(user, "is_active", False):
        return frozenset()
    if not hasattr(user, _BRANDS_ATTR):
        if user.is_superuser or user.has_perm(ALL_BRANDS_PERMISSION):
            brands = None
        else:
            brands = frozenset(user.staff_brands.values_list("brand_id", flat=True))
        setattr(user, _BRANDS_ATTR, brands)
    memo: frozenset[str] | None = getattr(user, _BRANDS_ATTR)
    return memo


def is_platform_wide(user: StaffUser) -> bool:
    return allowed_brands(user) is None


def may_see_brand(user: StaffUser, brand_id: str | None) -> bool:
    brands = allowed_brands(user)
    return brands is None or (bool(brand_id) and brand_id in brands)


def actor_brand(user: StaffUser) -> str:
    """The staff member's brands as the audit standard's single ``actor_brand_id``: "*" only for
    an explicit platform-wide grant; a member bound to no brand has none ("")."""
    brands = allowed_brands(user)
    return "*" if brands is None else ",".join(sorted(brands))


def binding_summary(user: StaffUser) -> str:
    """How the staff page describes a member's brand visibility."""
    if user.is_superuser:
        return "every brand (superuser)"
    if user.has_perm(ALL_BRANDS_PERMISSION):
        return "every brand (platform-wide grant)"
    brands = sorted(binding.brand_id for binding in user.staff_brands.all())  # prefetched in lists
    return ", ".join(brands) if brands else "none: sees no platform rows"


def brand_field(model: type[models.Model]) -> str | None:
    """The attribute that holds a model's brand, if it has one."""
    return next((f.attname for f in model._meta.concrete_fields if f.column == "brand_id"), None)


def scope(queryset: models.QuerySet[_M], user: StaffUser) -> models.QuerySet[_M]:
    """Restrict a queryset to the rows of the user's brands; fail closed.

    A brand-bound viewer gets nothing from a model without ``brand_id`` (rule 3 says there is
    none on the platform; a table that breaks it is not shown rather than shown whole).
    """
    brands = allowed_brands(user)
    if brands is None:
        return queryset
    field = brand_field(queryset.model)
    if field is None or not brands:
        return queryset.none()
    return queryset.filter(**{f"{field}__in": sorted(brands)})


# --- columns ------------------------------------------------------------------------------
def _is_key(field: models.Field[Any, Any]) -> bool:
    return bool(
        field.primary_key or field.is_relation or isinstance(field, ServiceRef) or field.column == "brand_id"
    )


def unclassified_category(schema: str) -> str:
    """What an unclassified column or detail key counts as: fail closed."""
    return PHI if schema in classification.schemas_with_phi() else CONTACT


def column_category(schema: str, table: str, column: str) -> str:
    """The category of a column by name (keys must be recognised by the caller)."""
    if table == "audit_log" and column == "details":
        return DETAILS
    found = classification.declared(schema, table, column)
    return found[0] if found else unclassified_category(schema)


def category(field: models.Field[Any, Any]) -> str:
    """``PHI``, ``CONTACT``, ``PLAIN`` or ``DETAILS`` for one field of any model.

    Fields of the back-office's own models are plain: they are not platform data.
    """
    model = field.model
    try:
        schema, table = split_db_table(model._meta.db_table)
    except ValueError:
        return PLAIN
    if _is_key(field):
        return PLAIN
    return column_category(schema, table, field.column)


def is_unclassified(schema: str, table: str, column: str, *, key: bool = False) -> bool:
    return not key and classification.declared(schema, table, column) is None


def unclassified_fields(model: type[models.Model]) -> list[str]:
    """The columns of a platform model that the classification does not list."""
    schema, table = split_db_table(model._meta.db_table)
    return [
        f.column
        for f in model._meta.concrete_fields
        if is_unclassified(schema, table, f.column, key=_is_key(f))
    ]


def can_view_contact(user: StaffUser) -> bool:
    return user.has_perm(VIEW_CONTACT_PERMISSION)


def can_reveal_phi(user: StaffUser) -> bool:
    return user.has_perm(REVEAL_PHI_PERMISSION)


def sees(user: StaffUser, kind: str, *, revealed: bool = False) -> bool:
    """Whether ``user`` sees a value of this category in clear (``revealed``: on a record the
    user has an unexpired reveal of)."""
    if kind == PLAIN:
        return True
    if kind == CONTACT:
        return can_view_contact(user)
    if kind == PHI:
        return revealed and can_reveal_phi(user)
    return False  # DETAILS as a whole, or anything unknown: per key only, through mask_details


def field_visible(user: StaffUser, field: models.Field[Any, Any], *, revealed: bool = False) -> bool:
    kind = category(field)
    return kind == DETAILS or sees(user, kind, revealed=revealed)


def shown_value(
    user: StaffUser, obj: models.Model, field: models.Field[Any, Any], *, revealed: bool = False
) -> str:
    """One field of one record as ``user`` reads it: the mask when this policy hides the value
    (the formatting layer never sees it), else the value as people read it
    (``apps.core.display.render_cell``: links, amounts in their currency, local times, badges)."""
    kind = category(field)
    if kind == DETAILS or not sees(user, kind, revealed=revealed):
        return masked_html("PHI" if kind == PHI else "contact" if kind == CONTACT else "value")
    return str(render_cell(obj, field, masked_kind=None))


def may_use_as_key(user: StaffUser, field: models.Field[Any, Any]) -> bool:
    """May this column find, filter, count, order, page or drill down rows for this user?

    Only when the user sees it in clear on every record: PHI never (a reveal covers one record),
    JSON details never, contact details only for roles that see them.
    """
    kind = category(field)
    return kind == PLAIN or (kind == CONTACT and can_view_contact(user))


def sensitive_fields(model: type[models.Model]) -> dict[str, str]:
    """Every field of a model that is not plain: attname -> category."""
    found = {}
    for field in model._meta.concrete_fields:
        kind = category(field)
        if kind != PLAIN:
            found[field.attname] = kind
    return found


def has_phi(model: type[models.Model]) -> bool:
    """Whether a model holds PHI a reveal would show (audit logs: in their details)."""
    kinds = set(sensitive_fields(model).values())
    if DETAILS in kinds:
        schema, _ = split_db_table(model._meta.db_table)
        return unclassified_category(schema) == PHI
    return PHI in kinds


def schema_has_phi(schema: str) -> bool:
    return schema in classification.schemas_with_phi()


# --- reveals ------------------------------------------------------------------------------
def reveal_duration() -> timedelta:
    return timedelta(minutes=settings.PHI_REVEAL_MINUTES)


def active_reveal(user: StaffUser, model_label: str, object_pk: str) -> PhiReveal | None:
    """The user's unexpired reveal of this record, if any."""
    if not can_reveal_phi(user):
        return None
    return (
        PhiReveal.objects.filter(
            user=user, model_label=model_label, object_pk=str(object_pk), expires_at__gt=timezone.now()
        )
        .order_by("-expires_at")
        .first()
    )


def revealed_records(user: StaffUser) -> frozenset[tuple[str, str]]:
    """Every ``(model_label, pk)`` the user has an unexpired reveal of (one query; none without
    the permission)."""
    if not getattr(user, "is_authenticated", False) or not can_reveal_phi(user):
        return frozenset()
    return frozenset(
        PhiReveal.objects.filter(user=user, expires_at__gt=timezone.now()).values_list(
            "model_label", "object_pk"
        )
    )


# --- JSON details -------------------------------------------------------------------------
@lru_cache(maxsize=1024)  # bounded: labels come from platform rows, whatever they hold
def _model_columns(model_label: str | None) -> dict[str, str]:
    """column -> category for a model, so a before/after key that names a field is classified
    like that field. Cached: callers must not change the dict."""
    if not model_label:
        return {}
    try:
        model = apps.get_model(model_label)
    except (LookupError, ValueError):
        return {}
    return {f.column: category(f) for f in model._meta.concrete_fields} | {
        f.attname: category(f) for f in model._meta.concrete_fields
    }


def detail_key_category(schema: str, key: str, *, model_label: str | None = None) -> str:
    """The category of one key of JSON details logged by ``schema`` about ``model_label``."""
    if key in classification.HARMLESS_DETAIL_KEYS or key.endswith(("_id", "_ids")):
        return PLAIN
    known = _model_columns(model_label).get(key)
    if known is not None and known != DETAILS:
        return known
    if key in classification.CONTACT_DETAIL_KEYS:
        return CONTACT
    return unclassified_category(schema)


def mask_details(
    user: StaffUser, details: Any, *, schema: str, model_label: str | None = None, revealed: bool = False
) -> Any:
    """``details`` with every value this user may not see replaced by ``MASK``.

    A dict is classified key by key, and a dict under a key that is not harmless one level
    further down by the same rules (``before``/``after`` diffs, an action's ``payload``): a key
    that names a field of ``model_label`` counts as that field. Any other shape at the top (a
    list, a string, a number) is unclassified as a whole. ``None`` and an empty container stay as
    they are: there is nothing in them to hide.
    """
    if details is None or details == {} or details == []:
        return details
    if not isinstance(details, dict):
        return details if sees(user, unclassified_category(schema), revealed=revealed) else MASK
    return _mask_dict(user, details, schema=schema, model_label=model_label, revealed=revealed, depth=0)


def _mask_dict(
    user: StaffUser,
    details: dict[str, Any],
    *,
    schema: str,
    model_label: str | None,
    revealed: bool,
    depth: int,
) -> dict[str, Any]:
    shown: dict[str, Any] = {}
    for key, value in details.items():
        kind = detail_key_category(schema, str(key), model_label=model_label)
        if kind != PLAIN and isinstance(value, dict) and value and depth < 8:
            shown[key] = _mask_dict(
                user, value, schema=schema, model_label=model_label, revealed=revealed, depth=depth + 1
            )
        else:
            shown[key] = value if sees(user, kind, revealed=revealed) else MASK
    return shown


def details_need_masking(user: StaffUser, schema: str) -> bool:
    """Whether any detail key logged by ``schema`` could be masked for ``user`` (the export's
    fast path keeps raw JSON text only when nothing could be). The back-office's own events are
    about records of any schema, so their keys may name PHI fields: always checked."""
    return schema == BACKOFFICE or not (can_view_contact(user) and unclassified_category(schema) == CONTACT)


def mask_audit_details(
    user: Any,
    details: Any,
    *,
    source: str,
    row_id: object,
    entity_type: str | None,
    entity_id: object,
    revealed_records: frozenset[tuple[str, str]],
) -> tuple[Any, bool]:
    """One audit row's details as ``user`` may see them, and whether a reveal showed them: in
    clear where the user revealed the row itself or the record it is about
    (``revealed_records`` from ``revealed_records(user)``, looked up once per page)."""
    about = audit_row_model(source, entity_type)
    revealed = (f"{source}.AuditLog", str(row_id)) in revealed_records or (
        about is not None and (about, str(entity_id)) in revealed_records
    )
    return mask_details(user, details, schema=source, model_label=about, revealed=revealed), revealed


def audit_row_model(source: str, entity_type: str | None) -> str | None:
    """The model an audit row is about, for reveals and before/after classification."""
    return entity_model_label(source, entity_type) if entity_type else None


# --- classification against the live cluster ------------------------------------------------
def unclassified_live_columns(*, schemas: Iterable[str], using: str) -> list[tuple[str, str, str, str]]:
    """Columns of the live cluster that the classification does not list and that are not keys
    (the primary key, ``brand_id``, an in-schema foreign key): ``(schema, table, column, treated
    as)``. Until someone classifies them, the policy treats them as PHI or contact details."""
    mapped_keys: dict[tuple[str, str], set[str]] = {}
    for model in apps.get_models():
        try:
            where = split_db_table(model._meta.db_table)
        except ValueError:
            continue
        mapped_keys[where] = {f.column for f in model._meta.concrete_fields if _is_key(f)}
    found = []
    for schema in schemas:
        for table in describe_schema(schema=schema, using=using).values():
            keys = {
                "brand_id",
                *table.primary_key,
                *table.foreign_keys,
                *mapped_keys.get((schema, table.name), ()),
            }
            for column in table.columns:
                if column.name in keys or (
                    table.name == "audit_log" and column.name in classification.AUDIT_LOG
                ):
                    continue
                if classification.declared(schema, table.name, column.name) is None:
                    found.append((schema, table.name, column.name, unclassified_category(schema)))
    return found


# --- free text that may quote a record ------------------------------------------------------
def redact_text(
    user: StaffUser, text: str, *, obj: models.Model | None = None, values: Iterable[Any] = ()
) -> str:
    """``text`` (a service's error message, say) with every value of ``obj`` the user may not see,
    and every one of ``values``, replaced by ``MASK``: a message must not say what a cell hides."""
    hidden = [str(v) for v in values if v not in (None, "")]
    if obj is not None:
        for field in obj._meta.concrete_fields:
            value = getattr(obj, field.attname, None)
            if value not in (None, "") and not field_visible(user, field):
                hidden.append(str(value))
    for value in sorted(set(hidden), key=len, reverse=True):
        if len(value) >= 3:  # shorter strings are too common to be a value worth hiding
            text = text.replace(value, MASK)
    return text


def hidden_detail_values(
    user: StaffUser, details: Any, *, schema: str, model_label: str | None = None
) -> list[Any]:
    """The leaf values of ``details`` that ``mask_details`` would hide from ``user``."""
    shown = mask_details(user, details, schema=schema, model_label=model_label)
    hidden: list[Any] = []

    def walk(original: Any, masked: Any) -> None:
        if masked == MASK and original != MASK:
            if isinstance(original, dict | list):
                hidden.extend(_leaves(original))
            else:
                hidden.append(original)
        elif isinstance(original, dict) and isinstance(masked, dict):
            for key, value in original.items():
                walk(value, masked.get(key))

    walk(details, shown)
    return hidden


def _leaves(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [leaf for v in value.values() for leaf in _leaves(v)]
    if isinstance(value, list):
        return [leaf for v in value for leaf in _leaves(v)]
    return [value]
