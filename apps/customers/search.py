"""Find a customer from one search box. Each lookup is an exact, index-backed query on the
schema that owns the identifier, through that schema's alias, scoped to the staff member's brands.

Which kinds of identifier a staff member may search by is the visibility policy's to say: a
value they see masked (an email or phone number, for a brand manager) is never a key for them,
or a search would tell them whether it exists.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.db import models
from django.db.models.functions import Lower

from apps.access import policy

PHONE = re.compile(r"^\+?[0-9][0-9 ()-]{5,}$")
MAX_TERM = 200  # longer than any identifier the box accepts


class LookupRefused(Exception):
    """The term is a kind of identifier this staff member may not search by; says which they may."""


@dataclass(frozen=True)
class Match:
    user_id: str
    how: str  # "user id", "email", "order number", ...


@dataclass(frozen=True)
class Kind:
    """One kind of identifier: the column it matches (which the policy must let the person use as
    a key), when a term looks like it, and the query that finds the customers it names."""

    label: str
    field: str  # "identity.User.email"
    looks_like: Callable[[str], bool]
    query: Callable[[str], tuple[models.QuerySet, str]]  # term -> (queryset, user id column)

    def get_field(self) -> models.Field:
        label, _, name = self.field.rpartition(".")
        return apps.get_model(label)._meta.get_field(name)


def _uuid(term: str) -> bool:
    try:
        uuid.UUID(term)
    except ValueError:
        return False
    return True


def _model(label: str) -> Any:
    return apps.get_model(label)._default_manager


def _not_uuid_or_email(term: str) -> bool:
    return not _uuid(term) and "@" not in term


KINDS: tuple[Kind, ...] = (
    Kind("user id", "identity.User.id", _uuid, lambda t: (_model("identity.User").filter(pk=t), "id")),
    Kind("charge id", "payments.Charge.id", _uuid, lambda t: (_model("payments.Charge").filter(pk=t), "user_id")),
    Kind("order id", "commerce.Order.id", _uuid, lambda t: (_model("commerce.Order").filter(pk=t), "user_id")),
    # lower(email) is indexed in identity (users_email_lower_idx).
    Kind("email", "identity.User.email", lambda t: "@" in t and not _uuid(t),
         lambda t: (_model("identity.User").alias(e=Lower("email")).filter(e=t.lower()), "id")),
    Kind("phone", "identity.User.phone", lambda t: bool(PHONE.match(t)) and not _uuid(t),
         lambda t: (_model("identity.User").filter(phone=t), "id")),
    Kind("order number", "commerce.Order.number", _not_uuid_or_email,
         lambda t: (_model("commerce.Order").filter(number=t), "user_id")),
    Kind("processor reference", "payments.Charge.processor_ref", _not_uuid_or_email,
         lambda t: (_model("payments.Charge").filter(processor_ref=t), "user_id")),
    Kind("affiliate code", "affiliates.Affiliate.code", _not_uuid_or_email,
         lambda t: (_model("affiliates.Affiliate").filter(code__in=sorted({t, t.upper()})), "user_id")),
)  # fmt: skip


def accepted_kinds(user: Any) -> list[str]:
    """The kinds of identifier this staff member may find a customer by, in search order."""
    return [kind.label for kind in KINDS if policy.may_use_as_key(user, kind.get_field())]


def find_customers(*, term: str, user: Any) -> list[Match]:
    """Every customer the term identifies, most specific first, without duplicates.

    Raises LookupRefused when the term can only be a kind this staff member may not search by.
    """
    term = term.strip()
    if not term or len(term) > MAX_TERM:
        return []
    candidates = [kind for kind in KINDS if kind.looks_like(term)]
    allowed = [kind for kind in candidates if policy.may_use_as_key(user, kind.get_field())]
    if candidates and not allowed:
        refused = ", ".join(kind.label for kind in candidates)
        raise LookupRefused(
            f"Your role cannot find customers by {refused}: those details are masked for you. "
            f"Search by {', '.join(accepted_kinds(user))} instead."
        )
    unique: dict[str, Match] = {}
    for kind in allowed:
        queryset, column = kind.query(term)
        for value in policy.scope(queryset, user).values_list(column, flat=True)[:20]:
            if value:
                unique.setdefault(str(value), Match(str(value), kind.label))
    return list(unique.values())
