"""The leak hunt: canaries in every masked column, in another brand's rows and in audit details,
then every path walked over HTTP as every kind of viewer.

Driven by the registries, not by a list of URLs: every platform model the admin registers, every
column the visibility policy does not call plain, every list filter the admin offers, the
explorer and its drill-downs and exports, the customer page and search, action requests. A model,
a column or a filter added tomorrow is planted and walked without editing this file.

What must hold, for each viewer:
- no canary the policy hides from them appears in any body or header (cursors are in the links);
- no other-brand row (by its id) reaches a brand-bound viewer, and one bound to no brand sees no
  platform row at all;
- a masked canary is no key: searching, filtering or ordering by it changes nothing a viewer can
  count;
- and, so the hunt can fail, every canary the policy lets a viewer see does appear on the
  record's own page.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.admin.utils import quote
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.test import override_settings
from django.urls import reverse
from psycopg import sql

from apps.access import policy
from apps.access.services import reveal_phi
from apps.core.models import split_db_table
from apps.refcluster import generator
from apps.services.actions import ACTIONS
from apps.services.models import ActionRequest
from backoffice.platform_schemas import SCHEMA_NAMES

pytestmark = pytest.mark.django_db(databases="__all__")

VISIBLE_BRAND = "capri"
OTHER_BRAND = "helix"  # bound to none of the brand-bound viewers below
CANARY_REQUEST_ID = "req_zqcanary0000000000000000"
BOGUS = "zqnomatch77"


@dataclass(frozen=True)
class Viewer:
    name: str
    role: str
    brands: tuple[str, ...] = ()
    reveal: bool = False

    @property
    def brand_bound(self) -> bool:
        return self.role == "brand_manager"

    def sees_brand(self, brand: str) -> bool:
        return not self.brand_bound or brand in self.brands


VIEWERS = (
    Viewer("support", "support"),
    Viewer("compliance", "compliance"),
    Viewer("compliance-with-reveals", "compliance", reveal=True),
    Viewer("brand-manager-capri", "brand_manager", ("capri",)),
    Viewer("brand-manager-capri-loop", "brand_manager", ("capri", "loop")),
    Viewer("brand-manager-no-brand", "brand_manager", ()),
    Viewer("superuser", "superuser"),
)


@dataclass
class Canary:
    """One planted value: a column of one row, and the strings that would betray it."""

    model: type[models.Model]
    field: models.Field
    pk: str
    forms: tuple[str, ...]  # how the value could be written in a page
    kind: str  # the policy's category of the column (or of the detail keys)
    value: str = ""  # what was planted, as text

    @property
    def term(self) -> str:
        """What a hostile viewer would type to find the row by this value."""
        return self.forms[0] if self.forms else self.value

    @property
    def label(self) -> str:
        return f"{self.model._meta.label}.{self.field.name}"


@dataclass
class Planted:
    canaries: list[Canary] = field(default_factory=list)
    other_brand_ids: dict[type[models.Model], str] = field(default_factory=dict)
    rows: dict[type[models.Model], str] = field(default_factory=dict)  # the canary row of each model
    customer_id: str = ""


def platform_models() -> list[type[models.Model]]:
    return [
        m for s in SCHEMA_NAMES for m in apps.get_app_config(s).get_models() if admin.site.is_registered(m)
    ]


def _qualified(model: type[models.Model]) -> sql.Composed:
    schema, table = split_db_table(model._meta.db_table)
    return sql.SQL("{}.{}").format(sql.Identifier(schema), sql.Identifier(table))


def _value_for(field: models.Field, n: int, kind: str) -> tuple[str, tuple[str, ...]]:
    """A distinctive value for a column (as SQL text) and the forms it would take in a page."""
    token = f"zqcanary{n:04d}x"
    if field.choices:
        # An enum holds only its members, too common to look for in a page: it is planted as
        # its last member and hunted as a key (search, filter, order), not in bodies.
        return str(field.choices[-1][0]), ()
    if kind == policy.DETAILS or isinstance(field, models.JSONField):
        value = {"zqnote": token, "before": {"zqfield": f"{token}b"}, "after": {"zqfield": f"{token}a"}}
        return json.dumps(value), (token,)
    if isinstance(field, ArrayField):
        return "{" + token + "}", (token,)
    if isinstance(field, models.GenericIPAddressField):
        ip = f"203.0.113.{n % 250 + 1}"
        return ip, (f"{ip}",)
    if isinstance(field, models.DecimalField):
        number = Decimal(f"918{n:03d}.364")
        return str(number), (str(number), f"{number:,}", str(number).replace(".", ","))
    if isinstance(field, models.DateTimeField):
        moment = dt.datetime(1902, 3, 4, 5, 6, 7, tzinfo=dt.UTC) + dt.timedelta(days=n)
        return moment.isoformat(), (moment.date().isoformat(), f"{moment:%B} {moment.day}, {moment.year}")
    if isinstance(field, models.DateField):
        day = dt.date(1901, 2, 3) + dt.timedelta(days=n)
        return day.isoformat(), (day.isoformat(), f"{day:%B} {day.day}, {day.year}")
    if isinstance(field, models.CharField | models.TextField):
        return token, (token,)
    raise AssertionError(f"The leak hunt cannot plant a canary in {field!r}: teach _value_for its type")


@pytest.fixture(scope="module")
def planted(django_db_setup, cluster_admin) -> Any:
    """Canaries in every non-plain column of one visible-brand row of every platform model, and
    the audit rows of every schema threaded on one request id; restored afterwards."""
    result = Planted()
    restore: list[tuple[sql.Composed, list[Any]]] = []
    conn = cluster_admin
    try:
        _plant(conn, result, restore)
    except Exception:
        conn.rollback()
        raise
    conn.commit()
    yield result
    for statement, params in reversed(restore):
        conn.execute(statement, params)
    conn.commit()
    conn.execute("SET session_replication_role = origin")
    conn.commit()


def _plant(conn: Any, result: Planted, restore: list[tuple[sql.Composed, list[Any]]]) -> None:
    conn.execute("SET session_replication_role = replica")  # past the ledger's append-only triggers
    n = 0
    customer = str(generator.user_id(generator.KNOWN_CAPRI_USER_INDEX))
    for model in platform_models():
        table = _qualified(model)
        pk = model._meta.pk
        if not pk.concrete:
            continue  # composite keys: nothing in them is masked (a test below checks that)
        key = sql.Identifier(pk.column)
        if model._meta.label == "identity.User":
            row = customer
        else:
            found = conn.execute(
                sql.SQL("SELECT {}::text FROM {} WHERE brand_id = %s ORDER BY 1 LIMIT 1").format(key, table),
                [VISIBLE_BRAND],
            ).fetchone()
            if found is None:
                continue
            row = found[0]
        result.rows[model] = row
        other = conn.execute(
            sql.SQL("SELECT {}::text FROM {} WHERE brand_id = %s ORDER BY 1 LIMIT 1").format(key, table),
            [OTHER_BRAND],
        ).fetchone()
        if other is not None and isinstance(pk, models.UUIDField):
            result.other_brand_ids[model] = other[0]
        types = dict(
            conn.execute(
                "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute "
                "WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped",
                [table.as_string(conn)],
            ).fetchall()
        )
        for f in model._meta.concrete_fields:
            kind = policy.category(f)
            if kind == policy.PLAIN:
                continue
            n += 1
            value, forms = _value_for(f, n, kind)
            column = sql.Identifier(f.column)
            cast = sql.SQL(types[f.column])
            original = conn.execute(
                sql.SQL("SELECT {}::text FROM {} WHERE {}::text = %s").format(column, table, key), [row]
            ).fetchone()[0]
            conn.execute(
                sql.SQL("UPDATE {} SET {} = %s::{} WHERE {}::text = %s").format(table, column, cast, key),
                [value, row],
            )
            restore.append(
                (
                    sql.SQL("UPDATE {} SET {} = %s::{} WHERE {}::text = %s").format(table, column, cast, key),
                    [original, row],
                )
            )
            kind_of_value = (
                policy.unclassified_category(model._meta.app_label) if kind == policy.DETAILS else kind
            )
            result.canaries.append(Canary(model, f, row, forms, kind_of_value, value))
        if model.__name__ == "AuditLog":
            original = conn.execute(
                sql.SQL("SELECT request_id FROM {} WHERE id::text = %s").format(table), [row]
            ).fetchone()[0]
            conn.execute(
                sql.SQL("UPDATE {} SET request_id = %s WHERE id::text = %s").format(table),
                [CANARY_REQUEST_ID, row],
            )
            restore.append(
                (sql.SQL("UPDATE {} SET request_id = %s WHERE id::text = %s").format(table), [original, row])
            )
    result.customer_id = customer


@dataclass
class Walk:
    """One viewer's walk: every response is checked as it arrives."""

    client: Any
    viewer: Viewer
    forbidden: dict[str, str]  # a string that must never appear -> what it would betray
    responses: int = 0

    def get(self, url: str, params: dict[str, Any] | None = None, *, expect: tuple[int, ...] = ()) -> Any:
        response = self.client.get(url, params or {})
        self.responses += 1
        where = f"{self.viewer.name} GET {url} {params or ''}"
        assert response.status_code < 500, f"{where}: {response.status_code}"
        if expect:
            assert response.status_code in expect, f"{where}: {response.status_code}, expected {expect}"
        body = b"".join(response.streaming_content) if response.streaming else response.content
        text = body.decode("utf-8", "replace") + "\n".join(f"{k}: {v}" for k, v in response.items())
        typed = " ".join([url, *map(str, (params or {}).values())])  # what the viewer typed comes back
        for needle, betrays in self.forbidden.items():
            if needle in typed:
                continue  # searched for: the result comparisons below judge that request
            assert needle not in text, f"{where} shows {betrays} ({needle!r})"
        response.hunt_text = text
        return response


def _result_ids(text: str) -> list[str]:
    return re.findall(r'<th class="field-[^"]*"><a href="/admin/\w+/\w+/([^/"?]+)/change/', text)


def _forbidden(viewer: Viewer, user: Any, planted: Planted) -> dict[str, str]:
    forbidden: dict[str, str] = {}
    for canary in planted.canaries:
        visible = viewer.sees_brand(VISIBLE_BRAND) and policy.sees(user, canary.kind, revealed=viewer.reveal)
        if not visible:
            for form in canary.forms:
                forbidden[form] = f"the masked {canary.label}"
    if viewer.brand_bound:
        for model, pk in planted.other_brand_ids.items():
            if not viewer.sees_brand(OTHER_BRAND):
                forbidden[pk] = f"a {OTHER_BRAND} row of {model._meta.label}"
        if not viewer.brands:
            for model, pk in planted.rows.items():
                if isinstance(model._meta.pk, models.UUIDField):
                    forbidden[pk] = f"a {VISIBLE_BRAND} row of {model._meta.label} (no brand bound)"
    return forbidden


def _make_viewer(viewer: Viewer, make_staff: Any, planted: Planted) -> Any:
    client = make_staff(viewer.role, brands=viewer.brands, username=f"hunt-{viewer.name}")
    if viewer.reveal:
        for model, pk in planted.rows.items():
            if policy.has_phi(model):
                reveal_phi(user=client.user, obj=model._default_manager.get(pk=pk), reason="leak hunt reveal")
    return client


def _changelist(model: type[models.Model]) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")


def _change(model: type[models.Model], pk: str) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_change", args=[quote(pk)])


def _walk_model(walk: Walk, model: type[models.Model], planted: Planted, request: Any) -> None:
    user = walk.client.user
    model_admin = admin.site.get_model_admin(model)
    url = _changelist(model)
    if not model_admin.has_view_permission(request):
        walk.get(url, expect=(403,))
        return
    row = planted.rows.get(model)
    walk.get(url, expect=(200,))
    walk.get(url, {"_facets": "1"}, expect=(200,))
    # Every list filter the admin offers this person, with each of its choices.
    for spec in model_admin.get_list_filter(request):
        if isinstance(spec, str):
            f = model._meta.get_field(spec)
            choices = [c[0] for c in f.choices] if f.choices else ["1", "0"]
            for choice in choices[:4]:
                walk.get(url, {f"{f.name}__exact": choice, "_facets": "1"})
        else:
            for brand in generator.BRAND_IDS:
                page = walk.get(url, {"brand_id": brand})
                if not walk.viewer.sees_brand(brand):
                    assert not _result_ids(page.hunt_text), (
                        f"{walk.viewer.name} lists {brand} rows of {model._meta.label}"
                    )
    if row is None:
        return
    listed = walk.get(url, {"q": row}, expect=(200,))
    ids = _result_ids(listed.hunt_text)
    assert (row in ids) == walk.viewer.sees_brand(VISIBLE_BRAND) or not isinstance(
        model._meta.pk, models.UUIDField
    ), (
        walk.viewer.name,
        model._meta.label,
    )
    first = walk.get(url, expect=(200,))
    default_order = _result_ids(first.hunt_text)
    older = re.search(r'href="(\?[^"]*cursor=[^"]+)"', first.hunt_text)
    if older:
        walk.get(url + older.group(1).replace("&amp;", "&"))
    detail = walk.get(_change(model, row))
    if walk.viewer.sees_brand(VISIBLE_BRAND):
        assert detail.status_code == 200, (walk.viewer.name, model._meta.label, detail.status_code)
        # The hunt can fail: what the policy lets this person see is on the record's page.
        for canary in planted.canaries:
            if (
                canary.model is model
                and canary.forms
                and policy.sees(user, canary.kind, revealed=walk.viewer.reveal)
            ):
                assert any(form in detail.hunt_text for form in canary.forms), (
                    walk.viewer.name,
                    canary.label,
                )
    else:
        assert detail.status_code == 404
    other = planted.other_brand_ids.get(model)
    if other is not None:
        walk.get(_change(model, other), expect=(404,) if not walk.viewer.sees_brand(OTHER_BRAND) else (200,))
    # A masked canary is no key: searching, filtering and ordering by it change nothing.
    list_display = model_admin.get_list_display(request)
    for canary in planted.canaries:
        if canary.model is not model or policy.may_use_as_key(user, canary.field):
            continue
        token = canary.term
        bogus = _result_ids(walk.get(url, {"q": BOGUS}).hunt_text)
        for term in (token, token[:6]):
            found = _result_ids(walk.get(url, {"q": term}).hunt_text)
            assert found == bogus, (
                f"{walk.viewer.name}: searching {canary.label} by its masked value finds rows"
            )
        filtered = walk.get(url, {canary.field.attname: token})
        assert filtered.status_code == 400 or _result_ids(filtered.hunt_text) == default_order, canary.label
        for index, column in enumerate(list_display):
            if getattr(column, "__name__", column) in (f"{canary.field.attname}_masked",):
                for o in (str(index), f"-{index}"):
                    ordered = walk.get(url, {"o": o})
                    assert _result_ids(ordered.hunt_text) == default_order, (
                        f"ordering by masked {canary.label}"
                    )


def _start(viewer: Viewer, planted: Planted, make_staff: Any, rf: Any) -> tuple[Walk, Any]:
    client = _make_viewer(viewer, make_staff, planted)
    walk = Walk(client, viewer, _forbidden(viewer, client.user, planted))
    request = rf.get("/")
    request.user = client.user
    return walk, request


# One test per viewer and schema: each stays short (a platform connection idle in a test's
# transaction for a minute is cut off by the read-only roles' idle_in_transaction timeout).
@pytest.mark.parametrize("schema", SCHEMA_NAMES)
@pytest.mark.parametrize("viewer", VIEWERS, ids=lambda v: v.name)
def test_leak_hunt_no_canary_in_any_list_or_record_of_a_schema(viewer, schema, planted, make_staff, rf):
    walk, request = _start(viewer, planted, make_staff, rf)
    for model in platform_models():
        if model._meta.app_label == schema:
            _walk_model(walk, model, planted, request)
    assert walk.responses >= 1
    print(f"leak hunt: {viewer.name} {schema}: {walk.responses} responses checked")


@pytest.mark.parametrize("viewer", VIEWERS, ids=lambda v: v.name)
def test_leak_hunt_no_canary_in_the_explorer_customers_palette_actions_or_dashboard(
    viewer, planted, make_staff, rf, standin
):
    walk, _ = _start(viewer, planted, make_staff, rf)
    client = walk.client

    # The audit explorer, its drill-downs, its chart and both exports.
    story = walk.get(reverse("explorer:index"), {"request_id": CANARY_REQUEST_ID})
    if story.status_code == 200:
        walk.get(reverse("explorer:index"))
        walk.get(reverse("explorer:request", args=[CANARY_REQUEST_ID]))
        walk.get(reverse("explorer:volume"), {"request_id": CANARY_REQUEST_ID})
        for canary in planted.canaries:
            if canary.model.__name__ == "AuditLog":
                row = canary.model._default_manager.get(pk=canary.pk)
                if row.entity_type and row.entity_id:
                    walk.get(reverse("explorer:entity", args=[row.entity_type, row.entity_id]))
                walk.get(reverse("explorer:actor", args=[row.actor_id]))
        for fmt in ("csv", "jsonl"):
            walk.get(reverse(f"explorer:export_{fmt}"), {"request_id": CANARY_REQUEST_ID})

    # The customer page, and customer search by every identifier the canary customer has.
    walk.get(reverse("customers:detail", args=[planted.customer_id]))
    for canary in planted.canaries:
        if canary.model._meta.label == "identity.User" and canary.field.name in ("email", "phone"):
            found = walk.get(reverse("customers:search"), {"q": canary.forms[0]})
            bogus = walk.get(
                reverse("customers:search"),
                {"q": "zq@nomatch.example" if "@" in canary.forms[0] else "+15550000000"},
            )
            if not policy.may_use_as_key(client.user, canary.field):
                assert found.status_code == bogus.status_code, canary.label
    walk.get(reverse("customers:search"), {"q": planted.customer_id})
    walk.get(reverse("admin:index"))

    # The command palette, asked for every canary and every other brand's row: a value the viewer
    # does not see finds nothing, and another brand's row is never named (not even by its id).
    with override_settings(PALETTE_RATE_LIMIT=0):  # a person types slower than this walk
        palette = reverse("palette:lookup")
        for canary in planted.canaries:
            if not canary.term:
                continue
            answer = walk.get(palette, {"q": canary.term[:200]}, expect=(200, 400))
            if canary.term in walk.forbidden and answer.status_code == 200:
                assert answer.json()["results"] == [], f"{viewer.name}: the palette found {canary.label}"
        for model, pk in planted.other_brand_ids.items():
            if not viewer.sees_brand(OTHER_BRAND):
                for q in (pk, f"{model._meta.app_label}.{model._meta.model_name} {pk}"):
                    answer = walk.get(palette, {"q": q}, expect=(200,))
                    assert answer.json()["results"] == [], f"{viewer.name}: the palette named {q}"

    # Every action form, on every canary row it applies to (forms echo nothing masked).
    for action in ACTIONS:
        model = apps.get_model(action.model)
        if model in planted.rows:
            url = reverse(
                f"admin:{model._meta.app_label}_{model._meta.model_name}_act",
                args=[quote(planted.rows[model]), action.name],
            )
            walk.get(url, expect=(200, 403, 404))

    # Action requests: parameters and the service's answer carry a contact canary.
    address = next(c for c in planted.canaries if c.label == "identity.User.email").forms[0]
    action_request = ActionRequest.objects.create(
        action="add_suppression", model_label="identity.User", object_pk=planted.customer_id,
        brand_id=VISIBLE_BRAND, params={"channel": "email", "payload": {"address": address, "channel": "email"}},
        reason="leak hunt", idempotency_key=uuid.uuid4(), status=ActionRequest.Status.SUCCEEDED,
        requested_by=client.user, response={"id": str(uuid.uuid4()), "address": address},
    )  # fmt: skip
    walk.get(reverse("admin:services_actionrequest_changelist"), {"status__exact": "succeeded"})
    page = walk.get(reverse("admin:services_actionrequest_change", args=[action_request.pk]))
    if policy.can_view_contact(client.user) and page.status_code == 200:
        assert address in page.hunt_text  # the positive control: a role that sees contacts sees it here
    assert walk.responses > 10
    print(f"leak hunt: {viewer.name} explorer, customers, actions: {walk.responses} responses checked")


def test_leak_hunt_plants_every_sensitive_column(planted):
    """Every non-plain column of every platform model with a visible-brand row got a canary."""
    planted_columns = {(c.model, c.field.name) for c in planted.canaries}
    for model in planted.rows:
        for f in model._meta.concrete_fields:
            if policy.category(f) != policy.PLAIN:
                assert (model, f.name) in planted_columns, f"{model._meta.label}.{f.name} has no canary"
    assert len(planted.canaries) >= 60
    composite = [m for m in platform_models() if not m._meta.pk.concrete]
    for model in composite:
        assert not policy.sensitive_fields(model), f"{model._meta.label}: composite rows are not planted"
