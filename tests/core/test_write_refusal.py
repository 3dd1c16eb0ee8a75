"""Nothing in the back-office can write the platform's database: each layer, on its own."""

from __future__ import annotations

import uuid

import pytest
from django.apps import apps
from django.contrib.auth.models import Group
from django.db import DatabaseError, connections, router, transaction
from django.test.utils import CaptureQueriesContext

from apps.core.exceptions import PlatformWriteError
from apps.core.routers import PlatformRouter
from backoffice.databases import alias_for_schema
from backoffice.platform_schemas import SCHEMA_NAMES

pytestmark = pytest.mark.django_db(databases="__all__")

PLATFORM_MODELS = [m for name in SCHEMA_NAMES for m in apps.get_app_config(name).get_models()]


def model_id(model):
    return model._meta.label


@pytest.fixture
def no_sql():
    """Asserts that not one statement reached any platform alias inside the block."""
    contexts = [CaptureQueriesContext(connections[alias_for_schema(s)]) for s in SCHEMA_NAMES]
    for context in contexts:
        context.__enter__()
    yield
    for context in contexts:
        context.__exit__(None, None, None)
    sent = [q["sql"] for context in contexts for q in context.captured_queries]
    assert sent == []


# --- layer 1: the ORM refuses before any SQL is built --------------------------------------


@pytest.mark.parametrize("model", PLATFORM_MODELS, ids=model_id)
def test_orm_save_and_delete_are_refused_before_any_sql(model, no_sql):
    instance = model()
    with pytest.raises(PlatformWriteError, match="HTTP API"):
        instance.save()
    with pytest.raises(PlatformWriteError):
        instance.delete()


@pytest.mark.parametrize("model", PLATFORM_MODELS, ids=model_id)
def test_orm_queryset_writes_are_refused_before_any_sql(model, no_sql):
    queryset = model.objects.all()
    first_field = model._meta.concrete_fields[-1].name
    for write in (
        lambda: queryset.update(**{first_field: None}),
        lambda: queryset.delete(),
        lambda: queryset.filter(brand_id="capri").delete(),
        lambda: model.objects.create(),
        lambda: model.objects.bulk_create([model()]),
        lambda: model.objects.bulk_update([model()], [first_field]),
        lambda: model.objects.get_or_create(brand_id="capri"),
        lambda: model.objects.update_or_create(brand_id="capri"),
        lambda: list(queryset.select_for_update()),
    ):
        with pytest.raises(PlatformWriteError):
            write()


def test_orm_related_manager_writes_are_refused(no_sql):
    from apps.identity.models import User

    user = User(id=uuid.uuid4())
    with pytest.raises(PlatformWriteError):
        user.session_set.create(brand_id="capri")
    with pytest.raises(PlatformWriteError):
        user.session_set.update(revoked_at=None)
    with pytest.raises(PlatformWriteError):
        user.session_set.all().delete()


def test_refusal_names_the_owning_service():
    from apps.payments.models import Refund

    with pytest.raises(PlatformWriteError, match="services/payments"):
        Refund().save()


# --- layer 2: the router -------------------------------------------------------------------


@pytest.mark.parametrize("model", PLATFORM_MODELS, ids=model_id)
def test_router_sends_reads_to_the_schema_alias_and_refuses_writes(model):
    assert router.db_for_read(model) == alias_for_schema(model._meta.app_label)
    with pytest.raises(PlatformWriteError):
        router.db_for_write(model)


def test_router_never_migrates_a_platform_schema_or_alias():
    routing = PlatformRouter()
    assert routing.allow_migrate("default", "identity") is False
    assert routing.allow_migrate("platform_identity", "auth") is False
    assert routing.allow_migrate("platform", "sessions") is False
    assert routing.allow_migrate("default", "auth") is None


def test_router_refuses_relations_across_schemas():
    from apps.comms.models import Message
    from apps.identity.models import Session, User

    routing = PlatformRouter()
    assert routing.allow_relation(User(), Session()) is True
    assert routing.allow_relation(User(), Message()) is False
    assert routing.allow_relation(User(), Group()) is False
    assert routing.allow_relation(Group(), Group()) is None


# --- layer 3: the database itself ----------------------------------------------------------


@pytest.mark.parametrize("schema", SCHEMA_NAMES)
def test_database_refuses_raw_writes_on_every_platform_alias(schema):
    connection = connections[alias_for_schema(schema)]
    with connection.cursor() as cursor:
        for statement in (
            f"DELETE FROM {schema}.audit_log",
            f"INSERT INTO {schema}.audit_log (id, occurred_at, actor_type, actor_id, event_type, brand_id) "
            "VALUES (gen_random_uuid(), now(), 'staff', 'x', 'x', 'capri')",
            f"CREATE TABLE {schema}.intruder (id int)",
        ):
            with (
                pytest.raises(DatabaseError, match="read-only transaction"),
                transaction.atomic(using=connection.alias),
            ):
                cursor.execute(statement)


@pytest.mark.django_db(transaction=True, databases="__all__")
def test_database_refuses_writes_even_when_the_session_is_made_writable():
    connection = connections[alias_for_schema("payments")]
    try:
        with connection.cursor() as cursor:
            cursor.execute("SET default_transaction_read_only = off")
            with pytest.raises(DatabaseError, match="permission denied"):
                cursor.execute("UPDATE payments.charges SET status = 'failed'")
    finally:
        connection.close()  # do not hand the altered session to the next test


def test_schema_alias_cannot_read_another_schema():
    with connections[alias_for_schema("identity")].cursor() as cursor:
        with (
            pytest.raises(DatabaseError, match="permission denied"),
            transaction.atomic(using="platform_identity"),
        ):
            cursor.execute("SELECT 1 FROM payments.charges LIMIT 1")
        cursor.execute("SELECT count(*) FROM identity.users")
        assert cursor.fetchone()[0] > 0


def test_platform_sessions_carry_application_name_and_statement_timeout():
    with connections[alias_for_schema("clinical")].cursor() as cursor:
        cursor.execute("SELECT current_setting('application_name'), current_setting('statement_timeout')")
        assert cursor.fetchone() == ("backoffice:clinical", "5s")


def test_own_database_stays_writable():
    group = Group.objects.create(name="writable")
    group.name = "still writable"
    group.save()
    assert Group.objects.filter(name="still writable").exists()
    group.delete()
