"""Request ids are ours: a client's X-Request-Id is never adopted (unless a trusted proxy sends
it), before login or after, so nobody can splice events into another request's story."""

from __future__ import annotations

import uuid

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings
from django.urls import reverse

from apps.auditlog.models import AuditEvent
from apps.core.request_id import clean_client_id, from_trusted_proxy
from backoffice.platform_schemas import SCHEMA_NAMES

pytestmark = pytest.mark.django_db(databases="__all__")


@pytest.fixture
def checkout_request_id(cluster_admin):
    """A real request id that a checkout left in the payments audit log: what a forger would reuse."""
    return cluster_admin.execute(
        "SELECT request_id FROM payments.audit_log WHERE request_id IS NOT NULL ORDER BY occurred_at LIMIT 1"
    ).fetchone()[0]


def story_sources(client, request_id):
    html = client.get(reverse("explorer:request", args=[request_id])).content.decode()
    return {source for source in (*SCHEMA_NAMES, "backoffice") if f'class="source-{source}"' in html}


def test_a_forged_request_id_at_the_login_page_is_kept_aside_not_adopted(
    client, django_user_model, make_staff, checkout_request_id
):
    django_user_model.objects.create_user("agent-x", password="right password 123", is_staff=True)
    page = client.get(reverse("admin:login"), HTTP_X_REQUEST_ID=checkout_request_id)
    failed = client.post(
        reverse("admin:login"),
        {"username": "agent-x", "password": "wrong password"},
        HTTP_X_REQUEST_ID=checkout_request_id,
    )
    assert failed.status_code == 200
    assert checkout_request_id not in (page["X-Request-Id"], failed["X-Request-Id"])
    event = AuditEvent.objects.get(event_type="staff.login_failed", actor_id="agent-x")
    assert event.request_id == failed["X-Request-Id"]
    assert event.details["client_request_id"] == checkout_request_id
    assert not AuditEvent.objects.filter(request_id=checkout_request_id).exists()
    story = story_sources(make_staff("compliance"), checkout_request_id)
    assert "payments" in story and "backoffice" not in story


def test_a_forged_request_id_after_login_is_kept_aside_not_adopted(
    make_staff, cluster_admin, checkout_request_id
):
    officer = make_staff("compliance")
    biomarker = cluster_admin.execute("SELECT id FROM clinical.biomarkers LIMIT 1").fetchone()[0]
    shown = officer.get(
        reverse("admin:clinical_biomarker_change", args=[biomarker]), HTTP_X_REQUEST_ID=checkout_request_id
    )
    assert shown.status_code == 200
    assert shown["X-Request-Id"] != checkout_request_id
    viewed = AuditEvent.objects.get(event_type="phi.viewed", entity_id=str(biomarker))
    assert viewed.request_id == shown["X-Request-Id"]
    assert viewed.details["client_request_id"] == checkout_request_id
    story = story_sources(officer, checkout_request_id)
    assert "payments" in story and "backoffice" not in story
    assert story_sources(officer, shown["X-Request-Id"]) == {"backoffice"}
    filtered = officer.get(reverse("explorer:index"), {"request_id": checkout_request_id}).content.decode()
    assert 'class="source-backoffice"' not in filtered


def test_a_trusted_proxy_forwards_its_request_id(client, django_user_model):
    django_user_model.objects.create_user("agent-y", password="right password 123", is_staff=True)
    forwarded = f"lb-{uuid.uuid4().hex}"
    with override_settings(REQUEST_ID_TRUSTED_PROXIES=["10.0.0.0/8", "127.0.0.1"]):
        failed = client.post(
            reverse("admin:login"), {"username": "agent-y", "password": "nope"}, HTTP_X_REQUEST_ID=forwarded
        )
        insane = client.get(reverse("admin:login"), HTTP_X_REQUEST_ID="has spaces and <tags>")
    assert failed["X-Request-Id"] == forwarded
    event = AuditEvent.objects.get(event_type="staff.login_failed", actor_id="agent-y")
    assert event.request_id == forwarded and "client_request_id" not in (event.details or {})
    assert insane["X-Request-Id"] != "has spaces and <tags>"
    other = client.get(reverse("admin:login"), HTTP_X_REQUEST_ID=forwarded, REMOTE_ADDR="192.0.2.7")
    assert other["X-Request-Id"] != forwarded


def test_trusted_proxies_accept_addresses_and_networks_and_refuse_garbage():
    assert from_trusted_proxy("10.1.2.3", ["10.0.0.0/8"])
    assert from_trusted_proxy("::1", ["::1"])
    assert not from_trusted_proxy("192.0.2.1", ["10.0.0.0/8"])
    assert not from_trusted_proxy("not-an-ip", ["10.0.0.0/8"])
    assert not from_trusted_proxy("10.1.2.3", [])
    with pytest.raises(ImproperlyConfigured, match="not an IP address"):
        from_trusted_proxy("10.1.2.3", ["ten.0.0.0/8"])


def test_a_client_request_id_is_kept_printable_and_short():
    assert clean_client_id("abc\x00\ndef") == "abc\ufffd\ufffddef"
    assert len(clean_client_id("x" * 10_000)) == 128
