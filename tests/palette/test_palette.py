"""The command palette's endpoint over HTTP: what each role finds, and what it never finds."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.apps import apps
from django.contrib.admin.utils import quote
from django.db import connections
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.access import policy
from apps.access.roles import ROLES, get_role
from apps.auditlog import events
from apps.auditlog.models import AuditEvent
from apps.console.demo import DEMO_STAFF
from apps.core.catalog import indexed_leads
from apps.core.models import split_db_table
from apps.palette.query import MAX_LENGTH, SHAPES, InvalidQuery, parse
from apps.palette.selectors import scope_words
from apps.palette.targets import TARGETS
from apps.refcluster import generator

pytestmark = pytest.mark.django_db(databases="__all__")

URL = "/admin/palette/"


@dataclass(frozen=True)
class Case:
    """One thing to look up: the term, the model and column it must be found by, the link."""

    name: str
    term: str
    brand: str
    model: str | None  # None: a request id (its story)
    column: str | None
    url: str
    customer_page: bool = False


def _cases_for(cluster_admin, brand: str, user_index: int) -> list[Case]:
    user_id = str(generator.user_id(user_index))
    email, phone = cluster_admin.execute(
        "SELECT email, phone FROM identity.users WHERE id = %s", [user_id]
    ).fetchone()
    order_id, number, charge_id, processor_ref = cluster_admin.execute(
        "SELECT o.id, o.number, c.id, c.processor_ref FROM commerce.orders o "
        "JOIN payments.charges c ON c.order_id = o.id::text "
        "WHERE o.user_id = %s AND c.processor_ref IS NOT NULL LIMIT 1",
        [user_id],
    ).fetchone()
    affiliate_id, code = cluster_admin.execute(
        "SELECT id, code FROM affiliates.affiliates WHERE brand_id = %s LIMIT 1", [brand]
    ).fetchone()
    request_id = cluster_admin.execute(
        "SELECT request_id FROM commerce.audit_log WHERE brand_id = %s AND request_id LIKE 'req_%%' LIMIT 1",
        [brand],
    ).fetchone()[0]
    refund_id = cluster_admin.execute(
        "SELECT id FROM payments.refunds WHERE brand_id = %s LIMIT 1", [brand]
    ).fetchone()[0]
    article_id = cluster_admin.execute(
        "SELECT id FROM content.articles WHERE brand_id = %s LIMIT 1", [brand]
    ).fetchone()[0]

    def admin_url(label: str, pk: object) -> str:
        app_label, model = label.lower().split(".")
        return reverse(f"admin:{app_label}_{model}_change", args=[quote(str(pk))])

    customer = reverse("customers:detail", args=[user_id])
    found = [
        Case("customer by id", user_id, brand, "identity.User", "id", customer, customer_page=True),
        Case("customer by email", email.upper(), brand, "identity.User", "email", customer, customer_page=True),
        Case("customer by phone", phone, brand, "identity.User", "phone", customer, customer_page=True),
        Case("order by id", str(order_id), brand, "commerce.Order", "id", admin_url("commerce.Order", order_id)),
        Case("order by number", number, brand, "commerce.Order", "number", admin_url("commerce.Order", order_id)),
        Case("charge by id", str(charge_id), brand, "payments.Charge", "id", admin_url("payments.Charge", charge_id)),
        Case("charge by processor reference", processor_ref, brand, "payments.Charge", "processor_ref",
             admin_url("payments.Charge", charge_id)),
        Case("affiliate by code", code, brand, "affiliates.Affiliate", "code",
             admin_url("affiliates.Affiliate", affiliate_id)),
        Case("request story", request_id, brand, None, None, reverse("explorer:request", args=[request_id])),
        Case("any record by id (scoped)", f"payments.refund {refund_id}", brand, "payments.Refund", "id",
             admin_url("payments.Refund", refund_id)),
        Case("any record by integer id (scoped)", f"article {article_id}", brand, "content.Article", "id",
             admin_url("content.Article", article_id)),
    ]  # fmt: skip
    return [case for case in found if case.term and "None" not in case.term]


@pytest.fixture
def cases(cluster_admin) -> list[Case]:
    return _cases_for(cluster_admin, "capri", generator.HEAVY_USER_INDEX) + _cases_for(
        cluster_admin, "loop", generator.KNOWN_LOOP_USER_INDEX
    )


def viewers() -> list[tuple[str, tuple[str, ...], bool]]:
    """Every role of the registry (a brand-bound one bound to each brand in turn: what it finds
    must depend on its brands) and a superuser; the demo staff are among them."""
    found: list[tuple[str, tuple[str, ...], bool]] = [("superuser", (), True)]
    for role in ROLES:
        if role.brand_bound:
            found += [(role.name, ("capri",), False), (role.name, ("loop",), False)]
        else:
            found.append((role.name, (), True))
    assert {(role, brands, wide) for role, _, brands, wide in DEMO_STAFF} <= set(found)
    return found


def expected(user, case: Case) -> bool:
    """The visibility policy's answer: the brand, the key, and a page the person may open."""
    if not policy.may_see_brand(user, case.brand):
        return False
    if case.model is None:  # a request's story: any audit log the person reads
        from apps.explorer.sources import sources_for

        return bool(sources_for(user))
    field = apps.get_model(case.model)._meta.get_field(case.column)
    app_label, model = case.model.lower().split(".")
    may_open = case.customer_page or user.has_perm(f"{app_label}.view_{model}")
    return may_open and policy.may_use_as_key(user, field)


def ask(client, q: str):
    response = client.get(URL, {"q": q})
    assert response.status_code == 200, (q, response.status_code, response.content[:300])
    assert response["Content-Type"] == "application/json"
    return response.json()


def test_palette_finds_each_kind_of_target_for_each_role_and_nothing_else(make_staff, cases):
    tally: dict[tuple[str, tuple[str, ...]], set[str]] = {}
    for role, brands, wide in viewers():
        client = make_staff(role, brands=brands, platform_wide=wide)
        found_names = tally.setdefault((role, brands), set())
        for case in cases:
            answer = ask(client, case.term)
            urls = [r["url"] for r in answer["results"]]
            assert answer["count"] == len(answer["results"])
            if expected(client.user, case):
                assert case.url in urls, (role, brands, case.name, case.brand, answer)
                found_names.add(f"{case.brand}: {case.name}")
                opened = client.get(case.url)
                assert opened.status_code == 200, (role, case.name, case.url, opened.status_code)
            else:
                assert case.url not in urls, (role, brands, case.name, case.brand, answer)
                if not policy.may_see_brand(client.user, case.brand):
                    # Not even its existence: no result at all, for any kind of target.
                    assert answer["results"] == [], (role, brands, case.name, answer)
    # The policy is not vacuous: each role finds what its work needs, and brand managers only
    # their own brand's.
    every_kind = {case.name for case in cases}
    assert {n.split(": ")[1] for n in tally[("support", ())] if n.startswith("capri")} >= every_kind - {
        "any record by integer id (scoped)",  # content and affiliates are no support schemas
        "affiliate by code",
    }
    assert {n.split(": ")[1] for n in tally[("compliance", ())]} == every_kind
    capri_manager = tally[("brand_manager", ("capri",))]
    assert "capri: order by number" in capri_manager and "capri: customer by id" in capri_manager
    assert not any(n.startswith("loop") for n in capri_manager)
    assert "capri: customer by email" not in capri_manager and "capri: customer by phone" not in capri_manager
    assert not any(n.startswith("capri") for n in tally[("brand_manager", ("loop",))])


def test_palette_never_looks_up_by_a_value_masked_for_the_person(make_staff, cases, cluster_admin):
    manager = make_staff("brand_manager", brands=("capri",))
    capri = {case.name: case for case in cases if case.brand == "capri"}
    for name in ("customer by email", "customer by phone"):
        answer = ask(manager, capri[name].term)
        assert answer["results"] == []
        assert "masked for you" in answer["message"], answer
    # PHI is never a key, even for compliance: a biomarker is found by its id, not by its code.
    officer = make_staff("compliance")
    biomarker_id, code = cluster_admin.execute(
        "SELECT id, code FROM clinical.biomarkers WHERE brand_id = 'capri' LIMIT 1"
    ).fetchone()
    page = reverse("admin:clinical_biomarker_change", args=[quote(str(biomarker_id))])
    assert page in [r["url"] for r in ask(officer, f"biomarker {biomarker_id}")["results"]]
    assert ask(officer, f"biomarker {code}")["results"] == []
    # Titles show only what the person sees in clear: the manager gets the customer's id, never
    # the email or the name.
    answer = ask(manager, capri["customer by id"].term)
    body = str(answer)
    assert answer["results"] and generator.HEAVY_USER_EMAIL not in body and "Harper" not in body


def test_palette_scoped_lookups_use_only_keys_the_person_may_use_and_indexes(make_staff):
    """Every table a role may name, every natural key it would be looked up by: a key for that
    person, and the leading column of an index (no scan of a big table)."""
    from django.contrib import admin
    from django.test import RequestFactory

    for role in ("support", "compliance", "brand_manager"):
        client = make_staff(role, brands=("capri",) if get_role(role).brand_bound else ())
        request = RequestFactory().get(URL)
        request.user = client.user
        for labels in scope_words(client.user).values():
            for label in labels:
                model = apps.get_model(label)
                model_admin = admin.site.get_model_admin(model)
                for name in model_admin.get_natural_key_fields(request):
                    assert policy.may_use_as_key(client.user, model._meta.get_field(name)), (
                        role,
                        label,
                        name,
                    )


def test_palette_targets_are_each_led_by_an_index():
    for target in TARGETS:
        model = apps.get_model(target.model)
        field = model._meta.get_field(target.field)
        schema, table = split_db_table(model._meta.db_table)
        if field.primary_key or target.lowered:
            continue  # the primary key; lower(email) is an expression index (checked below)
        assert (table, field.column) in indexed_leads(schema=schema), target
    with connections["platform"].cursor() as cursor:
        cursor.execute(
            "SELECT indexdef FROM pg_indexes WHERE schemaname = 'identity' AND tablename = 'users'"
        )
        assert any("lower(email)" in row[0] for row in cursor.fetchall())


@pytest.mark.parametrize(
    "term",
    [
        generator.HEAVY_USER_EMAIL,
        "CAP-00000001",
        "req_0123456789abcdef01234567",
        "+44 20 7946 0000",
        str(generator.user_id(generator.HEAVY_USER_INDEX)),
        "payments.refund 3fa85f64-5717-4562-b3fc-2c963f66afa6",
    ],
)
def test_palette_runs_a_bounded_number_of_index_lookups(make_staff, term):
    client = make_staff("compliance")
    contexts = [CaptureQueriesContext(connections[alias]) for alias in connections]
    for context in contexts:
        context.__enter__()
    try:
        ask(client, term)
    finally:
        for context in contexts:
            context.__exit__(None, None, None)
    platform_sql = [
        q["sql"]
        for context in contexts
        if context.connection.alias != "default"
        for q in context.captured_queries
        # Reads only (savepoints are the test's transaction), not the catalogue (cached).
        if q["sql"].startswith("SELECT") and "pg_" not in q["sql"]
    ]
    assert len(platform_sql) <= 3 + 24, platform_sql  # three keys at most, plus one probe per audit log
    for sql in platform_sql:
        assert "COUNT(" not in sql.upper() and "LIKE" not in sql.upper(), sql


def test_palette_lookups_record_no_event_and_the_page_opened_does(make_staff, cases):
    client = make_staff("support")
    case = next(c for c in cases if c.name == "customer by email" and c.brand == "capri")
    before = AuditEvent.objects.count()
    answer = ask(client, case.term)
    assert AuditEvent.objects.count() == before  # as the customer search: a lookup is not an access
    client.get(answer["results"][0]["url"])
    opened = AuditEvent.objects.filter(actor_id=str(client.user.pk)).order_by("-seq").first()
    assert opened.event_type in (events.CUSTOMER_VIEWED, events.PHI_VIEWED)
    assert opened.subject_id == str(generator.user_id(generator.HEAVY_USER_INDEX))


def test_palette_is_for_staff_only(client, django_user_model):
    response = client.get(URL, {"q": generator.HEAVY_USER_EMAIL})
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    member = django_user_model.objects.create_user("not-staff", password="x")
    client.force_login(member)
    response = client.get(URL, {"q": generator.HEAVY_USER_EMAIL})
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_palette_with_no_brand_bound_finds_nothing(make_staff, cases):
    client = make_staff("support", platform_wide=False)
    for case in cases:
        assert ask(client, case.term)["results"] == [], case.name


@override_settings(PALETTE_RATE_LIMIT=3)
def test_palette_past_its_rate_limit_is_a_429(make_staff):
    from django.core.cache import cache

    client = make_staff("support")
    cache.delete(f"palette-rate:{client.user.pk}")
    statuses = [client.get(URL, {"q": f"CAP-0000000{i}"}).status_code for i in range(4)]
    assert statuses == [200, 200, 200, 429]
    cache.delete(f"palette-rate:{client.user.pk}")


def test_palette_bad_input_is_a_400_that_says_why(make_staff):
    client = make_staff("support")
    for q, message in (
        ("x" * (MAX_LENGTH + 1), "characters long"),
        ("ab\ncd", "control character"),
    ):
        response = client.get(URL, {"q": q})
        assert response.status_code == 400 and message in response.json()["error"], q
    assert client.get(URL, {"q": "a\x00b"}).status_code == 400  # every page refuses NUL


# --- Hypothesis: the parser and the endpoint take anything --------------------------------
SCOPES = {
    "refund": ("payments.Refund",),
    "payments.refund": ("payments.Refund",),
    "oauth client": ("identity.OAuthClient",),
}
ANY_TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=260)
HOSTILE = st.one_of(
    ANY_TEXT,
    st.sampled_from([
        "", " ", "\x00", "req_", "refund ", "refund: x", "@", "+", "%00", "' OR 1=1 --", "x" * 201, "request ",
        "\u0661\u0662\u0663\u0664\u0665\u0666\u0667",  # Arabic-Indic digits
        "\uff21\uff22\uff23\uff20\uff45\uff58.com",  # full-width letters and at sign
        "\u202ereq_abcd",  # a right-to-left override
        "\U0001f600" * 50,
    ]),
    st.builds(lambda a, b: a + b, st.sampled_from(["refund ", "request ", "payments.refund:", "order "]), ANY_TEXT),
)  # fmt: skip


@given(raw=HOSTILE)
@settings(max_examples=400, deadline=None)
def test_palette_parser_takes_any_text(raw):
    try:
        query = parse(raw, scopes=SCOPES)
    except InvalidQuery as exc:
        assert str(exc)
        return
    assert query.shape in SHAPES
    assert len(query.term) <= MAX_LENGTH
    assert "\x00" not in query.term
    if query.shape != "none":
        assert query.term.isprintable()
        assert query.term.isascii() or query.shape == "email"


@pytest.fixture
def manager(make_staff):
    return make_staff("brand_manager", brands=("capri",))


# The fixture's client serves every example (one staff member typing many things).
@given(raw=HOSTILE)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@override_settings(PALETTE_RATE_LIMIT=0)
def test_palette_endpoint_never_answers_5xx(manager, raw):
    response = manager.get(URL, {"q": raw})
    assert response.status_code in (200, 400), (raw, response.status_code)
    body = response.json() if response["Content-Type"] == "application/json" else None
    if response.status_code == 200:
        assert body is not None and isinstance(body["results"], list)
