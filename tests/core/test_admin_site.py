"""The admin site's navigation: the sidebar and the index list only what a person may view,
mark the model being shown, and follow a role change, though both are cached."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group

pytestmark = pytest.mark.django_db(databases="__all__")


def sidebar_of(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode().split('id="nav-sidebar"', 1)[1].split("</nav>", 1)[0]


def test_sidebar_marks_the_current_model_on_every_page(make_staff, cluster_admin):
    support = make_staff("support")
    users = sidebar_of(support, "/admin/identity/user/")
    orders = sidebar_of(support, "/admin/commerce/order/")
    assert 'class="model-user current-model"' in users and 'class="model-order current-model"' not in users
    assert 'class="model-order current-model"' in orders and 'class="model-user current-model"' not in orders
    assert 'class="model-order current-model"' in sidebar_of(support, "/admin/commerce/order/?brand_id=capri")
    # A record's page marks its model too.
    order_id = cluster_admin.execute("SELECT id FROM commerce.orders LIMIT 1").fetchone()[0]
    assert 'class="model-order current-model"' in sidebar_of(
        support, f"/admin/commerce/order/{order_id}/change/"
    )


def test_sidebar_lists_only_what_the_role_may_view(make_staff):
    support, compliance = make_staff("support"), make_staff("compliance")
    assert "app-clinical" not in sidebar_of(support, "/admin/commerce/order/")
    assert "app-clinical" in sidebar_of(compliance, "/admin/commerce/order/")
    # The cached sidebar of one role is never shown to the other.
    assert "app-clinical" not in sidebar_of(support, "/admin/commerce/order/")


def test_sidebar_and_index_follow_a_role_change_on_the_next_page(make_staff):
    staff = make_staff("support")
    assert "app-clinical" not in sidebar_of(staff, "/admin/commerce/order/")
    assert "app-clinical" not in staff.get("/admin/").content.decode()
    staff.user.groups.set([Group.objects.get(name="compliance")])
    assert "app-clinical" in sidebar_of(staff, "/admin/commerce/order/")
    assert "app-clinical" in staff.get("/admin/").content.decode()
