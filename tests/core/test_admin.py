"""The admin over every platform table, as a logged-in superuser sees it over HTTP."""

from __future__ import annotations

import re
from html import unescape

import pytest
from django.apps import apps
from django.contrib import admin
from django.urls import reverse

from backoffice.platform_schemas import SCHEMA_NAMES

pytestmark = pytest.mark.django_db(databases="__all__")

PLATFORM_MODELS = [m for name in SCHEMA_NAMES for m in apps.get_app_config(name).get_models()]
ROW_LINK = re.compile(r'<th class="field-[^"]*"><a href="([^"]+)"')


@pytest.fixture
def superuser_client(client, django_user_model):
    user = django_user_model.objects.create_superuser("root", "root@example.com", "pw-not-used-123")
    client.force_login(user)
    return client


def changelist_url(model):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")


@pytest.mark.parametrize("model", PLATFORM_MODELS, ids=lambda m: m._meta.label)
def test_every_table_has_a_working_changelist_and_detail_page(superuser_client, model):
    response = superuser_client.get(changelist_url(model))
    assert response.status_code == 200
    links = ROW_LINK.findall(response.content.decode())
    assert links, f"{model._meta.label}: the seeded table shows no rows"
    detail = superuser_client.get(unescape(links[0]))
    assert detail.status_code == 200
    page = detail.content.decode()
    assert "readonly" in page  # view-only: every field is shown read-only
    assert 'name="_save"' not in page


def test_composite_key_rows_open_by_their_whole_key(superuser_client, cluster_admin):
    from apps.community.models import Like

    post_id, user_id = cluster_admin.execute(
        "SELECT post_id, user_id FROM community.likes LIMIT 1"
    ).fetchone()
    response = superuser_client.get(changelist_url(Like) + f"?q={post_id}")
    assert response.status_code == 200
    key = f'["{post_id}", "{user_id}"]'
    url = reverse("admin:community_like_change", args=[admin.utils.quote(key)])
    detail = superuser_client.get(url)
    assert detail.status_code == 200
    assert user_id in detail.content.decode()


@pytest.mark.parametrize("bad_key", ["not-json", '["only-one"]', '["a", "b", "c"]', "%5B1%2C2%5D"])
def test_composite_key_malformed_key_is_not_found_not_an_error(superuser_client, bad_key):
    url = reverse("admin:follows_follow_change", args=[admin.utils.quote(bad_key)])
    assert superuser_client.get(url).status_code == 404


@pytest.mark.parametrize(
    "model", PLATFORM_MODELS[:: max(1, len(PLATFORM_MODELS) // 12)], ids=lambda m: m._meta.label
)
def test_add_change_and_delete_are_forbidden(superuser_client, model):
    prefix = f"admin:{model._meta.app_label}_{model._meta.model_name}"
    assert superuser_client.get(reverse(f"{prefix}_add")).status_code == 403
    row = model.objects.first()
    object_id = admin.utils.quote(
        str(row.pk) if model._meta.pk.concrete else model._meta.pk.value_to_string(row)
    )
    assert superuser_client.post(reverse(f"{prefix}_change", args=[object_id]), {}).status_code == 403
    assert (
        superuser_client.post(reverse(f"{prefix}_delete", args=[object_id]), {"post": "yes"}).status_code
        == 403
    )
    assert model.objects.filter(pk=row.pk).exists()


def test_changelist_offers_no_bulk_action(superuser_client):
    from apps.identity.models import User

    page = superuser_client.get(changelist_url(User)).content.decode()
    assert 'name="action"' not in page
    assert "delete_selected" not in page


def test_search_finds_a_user_by_exact_email_any_case_and_by_id(superuser_client, cluster_admin):
    from apps.identity.models import User

    user_id, email = cluster_admin.execute(
        "SELECT id, email FROM identity.users ORDER BY id LIMIT 1"
    ).fetchone()
    for term in (email.upper(), str(user_id), email[:6]):
        page = superuser_client.get(changelist_url(User), {"q": term}).content.decode()
        assert str(user_id) in page, term
    page = superuser_client.get(
        changelist_url(User), {"q": "no-such-person@nowhere.invalid"}
    ).content.decode()
    assert str(user_id) not in page
    assert "0 users" in page or "0 results" in page


def test_search_finds_an_order_by_number(superuser_client, cluster_admin):
    from apps.commerce.models import Order

    order_id, number = cluster_admin.execute("SELECT id, number FROM commerce.orders LIMIT 1").fetchone()
    page = superuser_client.get(changelist_url(Order), {"q": number}).content.decode()
    assert str(order_id) in page


def test_brand_filter_choices_come_from_platform_brands(superuser_client, cluster_admin):
    from apps.commerce.models import Order

    brands = [r[0] for r in cluster_admin.execute("SELECT id FROM platform.brands")]
    page = superuser_client.get(changelist_url(Order)).content.decode()
    for brand in brands:
        assert f"?brand_id={brand}" in page
    filtered = superuser_client.get(changelist_url(Order), {"brand_id": "loop"}).content.decode()
    assert ">capri<" not in filtered


def test_cross_service_id_links_to_the_owning_schema_record(superuser_client, cluster_admin):
    biomarker_id, user_id = cluster_admin.execute(
        "SELECT id, user_id FROM clinical.biomarkers LIMIT 1"
    ).fetchone()
    page = superuser_client.get(
        reverse("admin:clinical_biomarker_change", args=[biomarker_id])
    ).content.decode()
    user_url = reverse("admin:identity_user_change", args=[user_id])
    assert f'href="{user_url}"' in page
    assert superuser_client.get(user_url).status_code == 200


def test_foreign_key_inside_a_schema_links_to_the_related_record(superuser_client, cluster_admin):
    refund_id, charge_id = cluster_admin.execute(
        "SELECT id, charge_id FROM payments.refunds LIMIT 1"
    ).fetchone()
    page = superuser_client.get(reverse("admin:payments_refund_change", args=[refund_id])).content.decode()
    assert f'href="{reverse("admin:payments_charge_change", args=[charge_id])}"' in page


def test_timestamped_tables_have_a_date_drill_down(superuser_client):
    from apps.commerce.models import Order

    page = superuser_client.get(changelist_url(Order)).content.decode()
    assert "xfull" in page or "date_hierarchy" in page or "placed_at__year" in page


def test_admin_index_groups_apps_by_schema_with_owning_service(superuser_client):
    page = superuser_client.get(reverse("admin:index")).content.decode()
    for name in ("identity", "patient_graph", "accounting"):
        assert "services/" in page
        assert name in page
    assert "services/patient-graph" in page


@pytest.mark.parametrize(
    "object_id", ["not-a-uuid", "00000000-0000-0000-0000-000000000000", "x" * 5000, "%00'--"]
)
def test_unknown_or_hostile_record_id_is_a_clean_not_found(superuser_client, object_id):
    url = reverse("admin:identity_user_change", args=[admin.utils.quote(object_id)])
    assert superuser_client.get(url).status_code == 404
