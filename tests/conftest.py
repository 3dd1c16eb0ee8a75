"""Session set-up: a freshly built and seeded reference cluster, and a fresh own database."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from django.conf import settings
from django.db import connections

from apps.refcluster import services

TEST_SEED = 1


@pytest.fixture(scope="session")
def django_db_setup(
    django_test_environment: None, django_db_blocker: pytest.FixtureRequest, django_db_keepdb: bool
) -> Iterator[None]:
    from django.test.utils import setup_databases, teardown_databases

    admin_url, name = settings.REFCLUSTER_ADMIN_URL, settings.TEST_CLUSTER_NAME
    with django_db_blocker.unblock():
        services.create_database(admin_url=admin_url, name=name, replace=True)
        services.migrate_cluster(admin_url=admin_url, database=name)
        services.seed_cluster(admin_url=admin_url, database=name, scale="test", seed=TEST_SEED)
        # Only our own database is created by Django; platform aliases point at the cluster above.
        old_config = setup_databases(
            verbosity=0, interactive=False, keepdb=django_db_keepdb, aliases={"default"}
        )
    yield
    with django_db_blocker.unblock():
        for connection in connections.all():
            connection.close()
        teardown_databases(old_config, verbosity=0, keepdb=django_db_keepdb)
        services.drop_database(admin_url=admin_url, name=name)


@pytest.fixture(scope="session")
def cluster_admin(django_db_setup: None) -> Iterator[psycopg.Connection]:
    """A superuser connection to the test cluster, for asserting what really is in it."""
    with services.connect_admin(settings.REFCLUSTER_ADMIN_URL, database=settings.TEST_CLUSTER_NAME) as conn:
        yield conn


@pytest.fixture(scope="session")
def connect_as(django_db_setup: None):
    """Open a connection to the test cluster as a given role (trust auth on the embedded server)."""
    opened: list[psycopg.Connection] = []

    def connect(role: str) -> psycopg.Connection:
        conn = services.connect_admin(
            settings.REFCLUSTER_ADMIN_URL, database=settings.TEST_CLUSTER_NAME, role=role
        )
        opened.append(conn)
        return conn

    yield connect
    for conn in opened:
        conn.close()


@pytest.fixture
def make_staff(django_user_model, db):
    """A logged-in test client for a staff member with a role (and optionally brands)."""
    from django.test import Client

    from apps.access.roles import get_role
    from apps.access.services import assign_role

    def make(
        role: str,
        *,
        brands: tuple[str, ...] = (),
        platform_wide: bool | None = None,
        username: str | None = None,
    ) -> Client:
        """``platform_wide`` defaults to: no brands given and a role that is not brand-bound."""
        if platform_wide is None:
            platform_wide = not brands and (role == "superuser" or not get_role(role).brand_bound)
        user = django_user_model.objects.create_user(
            username or f"{role}-{'-'.join(brands) or ('all' if platform_wide else 'none')}",
            password="not-used-in-tests",
        )
        assign_role(user=user, role=role, brands=brands, platform_wide=platform_wide)
        client = Client()
        client.force_login(user)
        client.user = user
        return client

    return make


@pytest.fixture(scope="session")
def standin(django_db_setup: None):
    """The service stand-in (apps.standin) on a free loopback port, writing the test cluster.

    Yields the running ``StandinServer`` (``.url``, ``.port``, ``.app``, ``.stop()``); for the
    whole session ``settings.SERVICE_URLS`` point at it and it accepts ``settings.SERVICE_TOKENS``.
    Its writes are real commits that every test sees: each test must pick rows of its own.
    """
    from django.test import override_settings

    from apps.standin.server import role_urls, start_standin
    from backoffice.platform_schemas import SCHEMA_NAMES

    server = start_standin(
        database_url_for_role=role_urls(settings.REFCLUSTER_ADMIN_URL, database=settings.TEST_CLUSTER_NAME),
        tokens=settings.SERVICE_TOKENS,
    )
    urls = override_settings(SERVICE_URLS=server.service_urls(SCHEMA_NAMES))
    urls.enable()
    yield server
    urls.disable()
    server.stop()
