"""Property-based (Hypothesis): no query string, path segment or platform row gives a 5xx.

Three properties, each sent over HTTP with Django's test client as every role (support,
compliance, a capri brand manager, a superuser):

1. every registered admin changelist, with query strings drawn from its own list filters, field
   lookups, search and ordering;
2. the audit explorer, its picture, exports and drill-downs, the customer search and page, and
   the login form, with generated filters, path segments and X-Request-Id headers;
3. hostile rows (empty, enormous, formula-like, odd JSON shapes, unknown brands and entity types)
   generated into four audit logs and three entity tables of the test cluster, then every page
   that shows them; the rows are deleted again after each example.

Each response must be below 500 and carry no traceback. The example counts are bounded so the
module runs in well under two minutes on two cores; what ran is written to
``test-artifacts/never-5xx.json`` (examples x endpoints x roles, responses, 5xx).

The pytest-django database fixtures are function-scoped and Hypothesis runs every example inside
the same test: that is deliberate (HealthCheck.function_scoped_fixture is suppressed). The
examples only read, or write rows they delete again, so sharing the test's transaction is safe.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter, defaultdict
from pathlib import Path
from urllib.parse import quote, urlencode

import pytest
from django.apps import apps
from django.conf import settings as django_settings
from django.contrib import admin
from django.contrib.admin import SimpleListFilter
from django.db import models
from django.test import Client, RequestFactory, override_settings
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.explorer.query import TEXT_FILTERS
from apps.explorer.sources import source_names
from apps.explorer.templatetags.explorer import drilldown_url

pytestmark = pytest.mark.django_db(databases="__all__")

ROLES = ("support", "compliance", "brand_manager", "superuser")
HYPOTHESIS = {
    "deadline": None,
    "suppress_health_check": [
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
}
# Per property: examples run, endpoints and roles per example, and the status of every response.
TALLY: dict[str, dict] = defaultdict(
    lambda: {"examples": 0, "endpoints": 0, "roles": 0, "statuses": Counter()}
)
ARTIFACT = Path(django_settings.BASE_DIR) / "test-artifacts" / "never-5xx.json"

# --- values a hostile person or row would use ---------------------------------------------------

TEXT = st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=30)  # no lone surrogates
NASTY = st.sampled_from([
    "", " ", "0", "1", "-1", "true", "false", "null", "None", "NaN", "1e400", "9" * 30, "-" + "9" * 25,
    "2026-03-01", "2026-13-45", "0001-01-01", "9999-12-31T23:59:59+14:00", "2026-03-01T25:61:00", "99999",
    str(uuid.UUID(int=0)), "capri", "loop", "a,b,c", ",", "(", "[", "*", "%", "_", "\\", "'--", "\"", "<script>",
    "=1+1", "+1", "@SUM(A1)", "-2+3", "\x00", "a\x00b", "\t", "\r\n", "\u202e", "\u200b", "😀", "x" * 5000,
    "1e999999", "Infinity", "-0", "\u00b2", "٣",
    "../../etc/passwd", "//evil.example", "javascript:alert(1)", "%00", "&amp;", "a b", "ÄÖÜ",
])  # fmt: skip
VALUE = st.one_of(NASTY, TEXT, st.integers(min_value=-(2**70), max_value=2**70).map(str))
LOOKUPS = (
    "", "exact", "iexact", "in", "gt", "gte", "lt", "lte", "range", "isnull", "startswith", "icontains",
    "regex", "iregex", "year", "month", "day", "date", "year__gte", "hour", "len", "contains", "has_key",
    "id__exact", "nosuchlookup",
)  # fmt: skip
LIST_PARAMETERS = ("q", "o", "p", "cursor", "_facets", "all", "_to_field", "e", "_popup", "nosuchfield", "pk")


def record(test: str, *, endpoints: int, roles: int) -> None:
    entry = TALLY[test]
    entry["examples"] += 1
    entry["endpoints"], entry["roles"] = endpoints, roles


def check(test: str, client: Client, role: str, url: str, **extra: str) -> int:
    """GET (or POST, with ``data``) ``url``; a 5xx or a traceback fails the property."""
    data = extra.pop("data", None)
    response = client.post(url, data, **extra) if data is not None else client.get(url, **extra)
    body = b"".join(response.streaming_content) if response.streaming else response.content
    TALLY[test]["statuses"][response.status_code] += 1
    assert response.status_code < 500, (role, url, response.status_code)
    assert b"Traceback" not in body, (role, url)
    return response.status_code


@pytest.fixture(scope="module", autouse=True)
def tally_artifact():
    yield
    ARTIFACT.parent.mkdir(parents=True, exist_ok=True)
    summary = {
        test: {
            **{key: entry[key] for key in ("examples", "endpoints", "roles")},
            "requests": sum(entry["statuses"].values()),
            "5xx": sum(n for status, n in entry["statuses"].items() if status >= 500),
            "statuses": dict(sorted(entry["statuses"].items())),
        }
        for test, entry in TALLY.items()
    }
    ARTIFACT.write_text(json.dumps(summary, indent=2) + "\n")


@pytest.fixture
def clients(make_staff):
    made = {role: make_staff(role, brands=("capri",) if role == "brand_manager" else ()) for role in ROLES}
    for client in made.values():
        client.raise_request_exception = False  # a 500 is what we look for, as a status
    return made


# --- 1. every registered changelist, with its own filters, lookups, search and ordering ---------


def registered_changelists() -> list[tuple[str, admin.ModelAdmin]]:
    found = []
    for model in apps.get_models():
        if admin.site.is_registered(model):
            opts = model._meta
            url = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
            found.append((url, admin.site.get_model_admin(model)))
    return found


def parameter_names(model_admin: admin.ModelAdmin, request) -> tuple[list[str], list[str]]:
    """The names this list reads: its own (list filters' parameters, search, ordering, paging) and
    lookups on each of its fields, with a few names it does not know."""
    own = set(LIST_PARAMETERS)
    for spec in model_admin.get_list_filter(request):
        if isinstance(spec, type) and issubclass(spec, SimpleListFilter):
            own.add(spec.parameter_name)
            continue
        path = spec[0] if isinstance(spec, tuple | list) else spec
        if isinstance(path, str):
            own |= {f"{path}__{lookup}" for lookup in ("exact", "isnull", "in", "gte", "lt", "id__exact")}
    if model_admin.date_hierarchy:
        own |= {f"{model_admin.date_hierarchy}__{part}" for part in ("year", "month", "day")}
    fields = model_admin.model._meta.concrete_fields
    lookups = {f"{field.name}__{lookup}" if lookup else field.name for field in fields for lookup in LOOKUPS}
    return sorted(own), sorted(lookups)


def members(model: type[models.Model]) -> list[str]:
    """Values the list's own choice columns hold, so some filters are valid and really run."""
    found = {str(key) for field in model._meta.concrete_fields for key, _ in field.flatchoices}
    return sorted(found) or ["x"]


@st.composite
def changelist_query(draw: st.DrawFn, model_admin: admin.ModelAdmin, request) -> str:
    own, lookups = parameter_names(model_admin, request)
    # Twice as likely to use the list's own parameters as an arbitrary lookup, so many queries run.
    name_pool = st.one_of(st.sampled_from(own), st.sampled_from(own), st.sampled_from(lookups))
    value_pool = st.one_of(VALUE, st.sampled_from(members(model_admin.model)))
    pairs = []
    for name in draw(st.lists(name_pool, min_size=1, max_size=4)):
        if name == "o":
            pairs.append(
                (name, draw(st.one_of(st.from_regex(r"\A-?[0-9]{1,2}(\.-?[0-9]{1,2}){0,2}\Z"), VALUE)))
            )
        else:
            pairs.append((name, draw(value_pool)))
    return urlencode(pairs)


CHANGELISTS = registered_changelists()


@settings(max_examples=2, **HYPOTHESIS)  # each example: every list (102) as every role (4)
@given(data=st.data())
def test_every_changelist_answers_generated_query_strings_below_500(clients, data):
    request = RequestFactory().get("/")
    request.user = clients["superuser"].user
    record("changelists", endpoints=len(CHANGELISTS), roles=len(ROLES))
    for url, model_admin in CHANGELISTS:
        query = data.draw(changelist_query(model_admin, request), label=url)
        for role, client in clients.items():
            check("changelists", client, role, f"{url}?{query}")


# --- 2. the explorer, its drill-downs and exports, customer search, the login form -------------

EXPLORER_NAMES = (*TEXT_FILTERS, "brand", "service", "since", "until", "cursor", "by", "subject_id", "nosuch")


@st.composite
def explorer_query(draw: st.DrawFn) -> str:
    pairs = []
    for name in draw(st.lists(st.sampled_from(EXPLORER_NAMES), max_size=5)):
        pool = st.sampled_from(source_names()) if name == "service" else VALUE
        pairs.append((name, draw(pool)))
    return urlencode(pairs)


SEGMENT = st.one_of(NASTY, TEXT).map(lambda value: quote(value, safe=""))


@settings(max_examples=10, **HYPOTHESIS)
@given(
    query=explorer_query(),
    segments=st.lists(SEGMENT, min_size=5, max_size=5),
    term=VALUE,
    forged_id=st.one_of(NASTY, TEXT),
    login=st.tuples(VALUE, VALUE, NASTY),
)
def test_explorer_drilldowns_exports_and_customer_search_answer_below_500(
    clients, client, query, segments, term, forged_id, login
):
    request_id, entity_type, entity_id, actor_id, customer_id = segments
    endpoints = [
        f"/audit/?{query}",
        f"/audit/volume.svg?{query}",
        f"/audit/export.csv?{query}",
        f"/audit/export.jsonl?{query}",
        f"/audit/request/{request_id}/",
        f"/audit/entity/{entity_type}/{entity_id}/",
        f"/audit/actor/{actor_id}/",
        f"/customers/?{urlencode({'q': term})}",
        f"/customers/{customer_id}/",
    ]
    record("explorer", endpoints=len(endpoints), roles=len(ROLES))
    header = {"HTTP_X_REQUEST_ID": forged_id.replace("\x00", "")}  # a header cannot carry NUL
    with override_settings(AUDIT_EXPORT_MAX_ROWS=50):
        for role, staff in clients.items():
            for url in endpoints:
                check("explorer", staff, role, url, **header)
    username, password, next_url = login
    client.raise_request_exception = False
    check(
        "login",
        client,
        "anonymous",
        f"/admin/login/?{urlencode({'next': next_url})}",
        data={"username": username, "password": password, "next": next_url},
        **header,
    )
    record("login", endpoints=1, roles=1)


# --- 3. hostile rows in audit logs and entity tables --------------------------------------------

AUDIT_SCHEMAS = ("payments", "identity", "community", "clinical")
# What a row can hold: anything but NUL, which PostgreSQL text and jsonb cannot store.
ROW_TEXT = st.one_of(NASTY, TEXT, st.just("w" * 50_000)).map(lambda value: value.replace("\x00", ""))
SHORT_TEXT = st.one_of(NASTY, TEXT).map(lambda value: value.replace("\x00", ""))
JSON_LEAF = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False), SHORT_TEXT
)
JSON = st.recursive(
    JSON_LEAF,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(SHORT_TEXT, inner, max_size=4)),
    max_leaves=12,
)
DETAILS = st.one_of(
    st.none(),
    JSON.map(json.dumps),
    st.tuples(JSON, JSON).map(lambda pair: json.dumps({"before": pair[0], "after": pair[1], "reason": "x"})),
    st.sampled_from(
        ['{"n": ' + "9" * 5000 + "}", "[" * 3000 + "]" * 3000, '"' + "y" * 100_000 + '"', "[]", "{}"]
    ),
)
BRAND = st.sampled_from(["capri", "loop", "", "nosuch", "=1+1", "x" * 300])


@st.composite
def hostile_rows(draw: st.DrawFn) -> dict:
    user_id = uuid.uuid4()
    return {
        "user": {
            "id": user_id,
            "brand_id": draw(BRAND),
            "email": draw(ROW_TEXT) + f"-{uuid.uuid4().hex[:6]}",
            "phone": draw(st.one_of(st.none(), ROW_TEXT)),
            "display_name": draw(st.one_of(st.none(), ROW_TEXT)),
            "status": draw(st.sampled_from(["active", "locked", "deleted"])),
        },
        "charge": {
            "id": uuid.uuid4(),
            "brand_id": draw(BRAND),
            "order_id": draw(st.one_of(st.none(), ROW_TEXT)),
            "amount_cents": draw(st.integers(min_value=0, max_value=2**63 - 1)),
            "currency": draw(ROW_TEXT.filter(lambda value: len(value) >= 3).map(lambda value: value[:3])),
            "status": draw(st.sampled_from(["pending", "succeeded", "failed", "refunded", "partially_refunded"])),
            "processor": draw(ROW_TEXT),
            "processor_ref": draw(ROW_TEXT) + f"-{uuid.uuid4().hex[:6]}",
        },
        "post": {"id": uuid.uuid4(), "brand_id": draw(BRAND), "body": draw(ROW_TEXT)},
        "events": [
            {
                "schema": draw(st.sampled_from(AUDIT_SCHEMAS)),
                "actor_type": draw(st.one_of(st.sampled_from(["user", "staff", "service", "system", ""]), ROW_TEXT)),
                "actor_id": draw(st.one_of(st.just(str(user_id)), ROW_TEXT)),
                "actor_brand_id": draw(st.one_of(st.none(), BRAND)),
                "event_type": draw(ROW_TEXT),
                "entity_type": draw(st.one_of(st.none(), st.sampled_from(["user", "charge", "post", "refund"]), ROW_TEXT)),
                "entity_id": draw(st.one_of(st.none(), st.just(str(user_id)), ROW_TEXT)),
                "brand_id": draw(BRAND),
                "request_id": draw(st.one_of(st.none(), ROW_TEXT)),
                "details": draw(DETAILS),
            }
            for _ in range(draw(st.integers(min_value=1, max_value=4)))
        ],
    }  # fmt: skip


def insert(cluster_admin, rows: dict, marker: str) -> list[tuple[str, str]]:
    """Write the rows as the platform's services could have; return (table, id) of each, to
    show and delete (each audit row's copy under ``marker`` is deleted with its original)."""
    user, charge, post = rows["user"], rows["charge"], rows["post"]
    cluster_admin.execute(
        "INSERT INTO identity.users (id, brand_id, email, phone, display_name, status, created_at)"
        " VALUES (%(id)s, %(brand_id)s, %(email)s, %(phone)s, %(display_name)s, %(status)s, now())",
        user,
    )
    cluster_admin.execute(
        "INSERT INTO payments.charges (id, brand_id, user_id, order_id, amount_cents, currency, status, processor,"
        " processor_ref, created_at) VALUES (%(id)s, %(brand_id)s, %(user_id)s, %(order_id)s, %(amount_cents)s,"
        " %(currency)s, %(status)s, %(processor)s, %(processor_ref)s, now())",
        {**charge, "user_id": str(user["id"])},
    )
    cluster_admin.execute(
        "INSERT INTO community.posts (id, brand_id, author_user_id, body, created_at)"
        " VALUES (%(id)s, %(brand_id)s, %(author)s, %(body)s, now())",
        {**post, "author": str(user["id"])},
    )
    written = [
        ("identity.users", user["id"]),
        ("payments.charges", charge["id"]),
        ("community.posts", post["id"]),
    ]
    for event in rows["events"]:
        pk = uuid.uuid4()
        cluster_admin.execute(
            f"INSERT INTO {event['schema']}.audit_log (id, occurred_at, actor_type, actor_id, actor_brand_id,"
            " event_type, entity_type, entity_id, brand_id, request_id, details) VALUES (%(pk)s, now(),"
            " %(actor_type)s, %(actor_id)s, %(actor_brand_id)s, %(event_type)s, %(entity_type)s, %(entity_id)s,"
            " %(brand_id)s, %(request_id)s, %(details)s::jsonb)",
            {**event, "pk": pk},
        )
        written.append((f"{event['schema']}.audit_log", pk))
        # A copy under a request id the story page can be asked for.
        cluster_admin.execute(
            f"INSERT INTO {event['schema']}.audit_log SELECT gen_random_uuid(), occurred_at, actor_type, actor_id,"
            f" actor_brand_id, event_type, entity_type, entity_id, brand_id, %s, details"
            f" FROM {event['schema']}.audit_log WHERE id = %s",
            [marker, pk],
        )
    return written


def pages_showing(rows: dict, marker: str, written: list[tuple[str, str]]) -> list[str]:
    user, charge, post = rows["user"], rows["charge"], rows["post"]
    event = rows["events"][0]
    pages = [
        "/audit/",
        f"/audit/?request_id={quote(marker)}",
        reverse("explorer:request", args=[marker]),
        reverse("explorer:entity", args=["user", str(user["id"])]),
        drilldown_url("actor", event["actor_id"], actor_id=event["actor_id"]) or "/audit/",
        f"/audit/export.csv?request_id={quote(marker)}",
        f"/audit/export.jsonl?request_id={quote(marker)}",
        f"/audit/volume.svg?request_id={quote(marker)}&by=event_type",
        reverse("admin:index"),
        reverse("customers:detail", args=[str(user["id"])]),
        f"/customers/?{urlencode({'q': user['email']})}",
        reverse("admin:identity_user_changelist"),
        reverse("admin:identity_user_change", args=[str(user["id"])]),
        reverse("admin:payments_charge_changelist"),
        reverse("admin:payments_charge_change", args=[str(charge["id"])]),
        reverse("admin:community_post_changelist"),
        reverse("admin:community_post_change", args=[str(post["id"])]),
    ]
    for table, pk in written:
        if table.endswith(".audit_log"):
            schema = table.split(".")[0]
            pages += [
                reverse(f"admin:{schema}_auditlog_changelist"),
                reverse(f"admin:{schema}_auditlog_change", args=[str(pk)]),
            ]
    return list(dict.fromkeys(pages))


@settings(max_examples=3, **HYPOTHESIS)
@given(rows=hostile_rows())
def test_hostile_platform_rows_render_on_every_page_below_500(clients, cluster_admin, rows):
    marker = f"hostile-{uuid.uuid4().hex}"
    written = insert(cluster_admin, rows, marker)
    try:
        pages = pages_showing(rows, marker, written)
        record("hostile_rows", endpoints=len(pages), roles=len(ROLES))
        with override_settings(AUDIT_EXPORT_MAX_ROWS=200):
            for role, client in clients.items():
                for url in pages:
                    check("hostile_rows", client, role, url)
    finally:
        for table, pk in written:
            cluster_admin.execute(f"DELETE FROM {table} WHERE id = %s", [pk])
        for schema in AUDIT_SCHEMAS:
            cluster_admin.execute(f"DELETE FROM {schema}.audit_log WHERE request_id = %s", [marker])
