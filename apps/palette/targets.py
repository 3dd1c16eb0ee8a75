"""What the palette finds without being told the table: one declaration per kind of target.

Each target is one column of one model, matched exactly through an index (a test checks every
target against the live catalogue), and the shapes of input that can be one. A query runs only
the targets of its shape, so its cost is bounded whatever it holds: a UUID asks three primary
keys and the request ids, an email one expression index, an order number three unique keys.
"""

from __future__ import annotations

from dataclasses import dataclass

from apps.palette.query import EMAIL, KEY, PHONE, UUID


@dataclass(frozen=True)
class Target:
    kind: str  # what the person is jumping to: "customer", "order", "charge", "affiliate"
    label: str  # how it matched, as the result says it: "email", "order number"
    model: str  # "identity.User"
    field: str  # the column matched: "id", "email", "number"
    shapes: tuple[str, ...]
    #: The column is indexed as lower(column) (identity's users_email_lower_idx): matched
    #: case-insensitively through that index; any other column is matched exactly, in the
    #: three cases a person types (as typed, upper, lower), through its own index.
    lowered: bool = False
    #: The result opens the customer page rather than the record's admin page.
    customer_page: bool = False


TARGETS: tuple[Target, ...] = (
    Target("customer", "user id", "identity.User", "id", (UUID,), customer_page=True),
    Target("customer", "email", "identity.User", "email", (EMAIL,), lowered=True, customer_page=True),
    Target("customer", "phone", "identity.User", "phone", (PHONE,), customer_page=True),
    Target("order", "order id", "commerce.Order", "id", (UUID,)),
    Target("order", "order number", "commerce.Order", "number", (KEY,)),
    Target("charge", "charge id", "payments.Charge", "id", (UUID,)),
    Target("charge", "processor reference", "payments.Charge", "processor_ref", (KEY,)),
    Target("affiliate", "affiliate code", "affiliates.Affiliate", "code", (KEY,)),
)


def targets_for(shape: str) -> list[Target]:
    return [target for target in TARGETS if shape in target.shapes]
