"""Never a 5xx from input: every parameter the back-office reads is checked into a 400 that says
what to fix (apps.core.params), on admin lists, the explorer, its drill-downs and the customer pages."""

from __future__ import annotations

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db(databases="__all__")

CHARGES = "/admin/payments/charge/"


@pytest.mark.parametrize(
    ("url", "params", "message"),
    [
        (CHARGES, {"status__exact": "not-a-member"}, "status__exact must be one of pending, succeeded"),
        (CHARGES, {"status__in": "succeeded,nope"}, "status__in must be one of"),
        (CHARGES, {"status": "nope"}, "status must be one of"),
        (CHARGES, {"created_at__gte": "garbage"}, "value has an invalid format"),
        (CHARGES, {"id__in": "xyz"}, "is not a valid UUID"),
        (CHARGES, {"amount_cents__gt": "lots"}, "amount_cents__gt"),
        (CHARGES, {"created_at__year": "99999"}, "takes a year from 1 to 9999"),
        (CHARGES, {"created_at__month": "13"}, "takes a month from 1 to 12"),
        (CHARGES, {"processor_ref__regex": "("}, "pattern filters are not offered here"),
        (CHARGES, {"processor_ref__range": "abc"}, "range filters are not offered here"),
        (CHARGES, {"no_such_field": "1"}, "Cannot resolve keyword"),
        (CHARGES, {"status__nosuchlookup": "1"}, "Unsupported lookup"),
        (CHARGES, {"q": "a\x00b"}, "q contains a NUL character"),
        (
            CHARGES,
            {"brand_id": "x" * 5000},
            "brand_id is 5,000 characters long; the longest accepted is 4,096.",
        ),
        (CHARGES, {"o": "99"}, "o orders the list by column numbers"),
        (CHARGES, {"o": "abc"}, "o orders the list by column numbers"),
        (CHARGES, {"p": "abc"}, "p is a page number"),
        (CHARGES, {"p": "\u00b2"}, "p is a page number"),
        (CHARGES, {"o": "\u00b2"}, "o orders the list by column numbers"),
        (CHARGES, {"p": "9999"}, "This list has no such page"),
        # PHI is never a key, not even for a superuser (a reveal covers one record, not a list).
        ("/admin/clinical/biomarker/", {"value": "12.5"}, "This list cannot be filtered by 'value'"),
        ("/admin/axes/accessattempt/", {"ip_address": "garbage"}, "ip_address must be an IP address"),
        ("/admin/community/like/", {"pk__contains": "x"}, "a key of several columns is compared whole"),
        (
            "/admin/identity/oauthclient/",
            {"scopes": "read"},
            "a list column is filtered with __isnull or __len",
        ),
        (
            "/admin/services/actionrequest/",
            {"status__exact": "nope"},
            "status__exact must be one of pending_approval",
        ),
        ("/admin/auditlog/auditevent/", {"occurred_at__year": "0"}, "takes a year from 1 to 9999"),
        ("/admin/auth/user/", {"is_staff__exact": "maybe"}, "value must be either True or False"),
        ("/audit/", {"actor_id": "a\x00b"}, "actor_id contains a NUL character"),
        ("/audit/request/a%00b/", {}, "The address contains a NUL character"),
        ("/audit/entity/user/a%00b/", {}, "The address contains a NUL character"),
        ("/audit/actor/a%00b/", {}, "The address contains a NUL character"),
        ("/audit/export.csv", {"entity_type": "\x00"}, "entity_type contains a NUL character"),
        ("/customers/", {"q": "\x00"}, "q contains a NUL character"),
        ("/customers/not-an-id/", {}, "is not a customer id"),
    ],
)
def test_bad_parameters_are_a_400_that_says_what_to_fix(admin_client, url, params, message):
    admin_client.raise_request_exception = False
    response = admin_client.get(url, params)
    assert response.status_code == 400, (url, params, response.status_code)
    assert message in response.content.decode().replace("&#x27;", "'").replace("&quot;", '"'), url


def test_a_posted_nul_is_a_400_not_a_database_error(admin_client):
    response = admin_client.post(reverse("admin:services_actionrequest_decide", args=[1]), {"note": "a\x00b"})
    assert response.status_code == 400
    assert "note contains a NUL character" in response.content.decode()


def test_good_filters_still_filter(admin_client, cluster_admin):
    failed = cluster_admin.execute(
        "SELECT count(*) FROM payments.charges WHERE status = 'failed'"
    ).fetchone()[0]
    response = admin_client.get(CHARGES, {"status__exact": "failed", "created_at__year": "2026", "o": "-1"})
    assert response.status_code == 200
    assert f"{min(failed, 1000):,}" in response.content.decode()


def test_a_list_someone_may_not_see_is_a_403_whatever_its_parameters(make_staff):
    response = make_staff("support").get("/admin/clinical/biomarker/", {"no_such_field": "1"})
    assert response.status_code == 403
    assert "Cannot resolve keyword" not in response.content.decode()


@pytest.mark.parametrize("value", ["1e999999", "1e-99999"])
def test_a_number_past_postgresqls_numeric_range_is_refused_before_the_query(value):
    from apps.analytics.models import Outcome
    from apps.core.params import InvalidParameter, check_lookup

    with pytest.raises(InvalidParameter, match="is too large or too small a number"):
        check_lookup(Outcome, "value__gt", [value])
    check_lookup(Outcome, "value__gt", ["12.5"])  # an ordinary number passes
