"""Liveness and readiness, as a load balancer sees them."""

from __future__ import annotations

import pytest
from django.db import connections

from backoffice.databases import CATALOG_ALIAS

pytestmark = pytest.mark.django_db(databases="__all__")


def test_healthz_answers_without_login_or_database(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_checks_both_databases(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ready"
    assert set(body["checks"]) == {"default", CATALOG_ALIAS}


@pytest.mark.django_db(transaction=True, databases=["default", CATALOG_ALIAS])
def test_readyz_is_503_with_the_reason_when_the_platform_is_down(client):
    connection = connections[CATALOG_ALIAS]
    original = dict(connection.settings_dict)
    connection.close()
    connection.settings_dict.update(HOST="/nonexistent-socket-dir", PORT="")
    try:
        response = client.get("/readyz")
    finally:
        connection.close()
        connection.settings_dict.clear()
        connection.settings_dict.update(original)
    assert response.status_code == 503
    body = response.json()
    assert body["checks"]["default"]["ok"] is True
    assert body["checks"][CATALOG_ALIAS]["ok"] is False
    assert body["checks"][CATALOG_ALIAS]["error"]


@pytest.mark.django_db(transaction=True, databases="__all__")
def test_a_database_that_is_down_is_a_clear_503_not_a_stack_trace(client, django_user_model):
    user = django_user_model.objects.create_superuser("down", "down@example.com", "pw-not-used-123")
    client.force_login(user)
    client.raise_request_exception = False
    connection = connections["platform_identity"]
    original = dict(connection.settings_dict)
    connection.close()
    connection.settings_dict.update(HOST="/nonexistent-socket-dir", PORT="")
    try:
        response = client.get("/admin/identity/user/")
    finally:
        connection.close()
        connection.settings_dict.clear()
        connection.settings_dict.update(original)
    assert response.status_code == 503
    assert "cannot reach its database" in response.content.decode()
    assert response["Retry-After"] == "10"
