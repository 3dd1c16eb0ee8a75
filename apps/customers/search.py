"""Find a customer from one search box. Each lookup is an exact, index-backed query on the
schema that owns the identifier, through that schema's alias, scoped to the staff member's brands.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any

from django.db import models
from django.db.models.functions import Lower

from apps.access.scoping import scope_queryset

PHONE = re.compile(r"^\+?[0-9][0-9 ()-]{5,}$")
MAX_TERM = 200  # longer than any identifier the box accepts


@dataclass(frozen=True)
class Match:
    user_id: str
    how: str  # "user id", "email", "order number", ...


def _user_ids(queryset: models.QuerySet, field: str, user: Any, how: str) -> list[Match]:
    values = scope_queryset(queryset, user).values_list(field, flat=True)[:20]
    return [Match(str(value), how) for value in values if value]


def find_customers(*, term: str, user: Any) -> list[Match]:
    """Every customer the term identifies (an id, email, phone, order number, charge id or
    processor reference, affiliate code), most specific first, without duplicates."""
    from apps.affiliates.models import Affiliate
    from apps.commerce.models import Order
    from apps.identity.models import User
    from apps.payments.models import Charge

    term = term.strip()
    if not term or len(term) > MAX_TERM:
        return []
    found: list[Match] = []
    try:
        as_uuid = uuid.UUID(term)
    except ValueError:
        as_uuid = None
    if as_uuid is not None:
        found += _user_ids(User.objects.filter(pk=as_uuid), "id", user, "user id")
        found += _user_ids(Charge.objects.filter(pk=as_uuid), "user_id", user, "charge id")
        found += _user_ids(Order.objects.filter(pk=as_uuid), "user_id", user, "order id")
    elif "@" in term:
        # lower(email) is indexed in identity (users_email_lower_idx).
        emails = User.objects.alias(email_lower=Lower("email")).filter(email_lower=term.lower())
        found += _user_ids(emails, "id", user, "email")
    else:
        if PHONE.match(term):
            found += _user_ids(User.objects.filter(phone=term), "id", user, "phone")
        found += _user_ids(Order.objects.filter(number=term), "user_id", user, "order number")
        found += _user_ids(Charge.objects.filter(processor_ref=term), "user_id", user, "processor reference")
        found += _user_ids(Affiliate.objects.filter(code=term), "user_id", user, "affiliate code")
        if term.upper() != term:
            found += _user_ids(Affiliate.objects.filter(code=term.upper()), "user_id", user, "affiliate code")
    unique: dict[str, Match] = {}
    for match in found:
        unique.setdefault(match.user_id, match)
    return list(unique.values())
