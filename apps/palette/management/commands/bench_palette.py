"""Benchmark the command palette on whatever cluster the settings point at (run it on the large
seed): the endpoint's median latency per kind of query, for each role side by side, with the
number of index probes each ran. Prints figures; asserts nothing about time. Its staff members
are temporary (created in a transaction that is rolled back)."""

from __future__ import annotations

import json
from typing import Any

from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.test import RequestFactory, override_settings
from tqdm import tqdm

from apps.access.services import assign_role
from apps.core.benchmarking import measure
from apps.core.types import StaffRequest, staff_request
from apps.palette import selectors, views
from apps.palette.query import parse

#: (role, brands): the viewers compared side by side.
VIEWERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("support", ()),
    ("compliance", ()),
    ("brand_manager", ("capri",)),
)


def _first(label: str, *fields: str, **filters: Any) -> tuple[Any, ...]:
    model = apps.get_model(label)
    row = model._default_manager.filter(**filters).exclude(**{f"{fields[-1]}__isnull": True})
    found = row.values_list(*fields).first()
    if found is None:
        raise CommandError(f"No {label} row to benchmark with: seed the cluster first (make demo).")
    return tuple(found)


def sample_terms(brand: str) -> list[tuple[str, str]]:
    """(kind, term) for each kind of query the palette answers, from ``brand``'s rows."""
    user_id, email, phone = _first("identity.User", "id", "email", "phone", brand_id=brand)
    order_id, number = _first("commerce.Order", "id", "number", brand_id=brand)
    (processor_ref,) = _first("payments.Charge", "processor_ref", brand_id=brand)
    (code,) = _first("affiliates.Affiliate", "code", brand_id=brand)
    (request_id,) = _first("commerce.AuditLog", "request_id", brand_id=brand, request_id__startswith="req_")
    (refund_id,) = _first("payments.Refund", "id", brand_id=brand)
    return [
        ("email", email.upper()),
        ("phone", phone),
        ("uuid: a user id", str(user_id)),
        ("uuid: an order id", str(order_id)),
        ("order number", number),
        ("processor reference", processor_ref),
        ("affiliate code", code),
        ("request id (req_)", request_id),
        ("request id, unknown", "req_000000000000000000000000"),
        ("uuid, unknown", "00000000-0000-4000-8000-000000000000"),
        ("scoped: payments.refund <id>", f"payments.refund {refund_id}"),
        ("no shape (odd unicode)", "\u202e\u00e9\u00e9"),
    ]


class Command(BaseCommand):
    help = "Measure the command palette's latency per kind of query and role (median ms, probes)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--runs", type=int, default=15, help="timed runs per query (after one warm-up)")
        parser.add_argument("--brand", default="capri", help="the brand whose rows give the terms")

    def handle(self, *args: Any, runs: int, brand: str, **options: Any) -> None:
        terms = sample_terms(brand)
        factory = RequestFactory()
        rows: dict[str, list[str]] = {kind: [] for kind, _ in terms}
        # The rate limit is for people; the benchmark would trip it.
        with override_settings(PALETTE_RATE_LIMIT=0), transaction.atomic():
            for role, brands in VIEWERS:
                user = get_user_model().objects.create_user(f"bench-palette-{role}")
                assign_role(user=user, role=role, brands=brands, platform_wide=not brands)
                user = get_user_model().objects.get(pk=user.pk)  # fresh permission caches
                for kind, term in tqdm(terms, desc=role, leave=False):
                    request = staff_request(factory.get("/admin/palette/", {"q": term}))
                    request.user = user

                    def call(request: StaffRequest = request) -> Any:
                        return views.palette(request)

                    wall, sql = measure(call, runs)
                    query = parse(term, scopes=selectors.scope_words(user))
                    answer = selectors.lookup(query=query, request=request)
                    body = json.loads(call().content)
                    rows[kind].append(
                        f"{wall:7.2f} ms {sql:6.2f} sql {answer.probes:>2} probes {body['count']:>2} found"
                    )
            transaction.set_rollback(True)
        width = max(len(kind) for kind in rows)
        header = " | ".join(f"{role + (' ' + ','.join(b) if b else ''):<36}" for role, b in VIEWERS)
        self.stdout.write(f"{'query':<{width}} | {header}")
        self.stdout.write("-" * (width + 3 + len(header)))
        for kind, cells in rows.items():
            self.stdout.write(f"{kind:<{width}} | " + " | ".join(f"{c:<36}" for c in cells))
        self.stdout.write(
            f"median of {runs} runs after a warm-up; 'sql' is time spent in platform queries; "
            "'probes' the index lookups run; terms from brand "
            f"{brand} (a brand manager of another brand finds none of them)."
        )
