"""The platform as production reads it: a streaming hot standby of the embedded server
(backoffice.replica), directly or through PgBouncer in transaction mode (backoffice.pgbouncer).

The session fixtures start them for the test cluster (they stay up while any process uses them,
like the embedded server); each test then routes every platform alias there for its own duration
(``on_replica``, ``through_pgbouncer``), while the service stand-in and ``cluster_admin`` keep
writing to the primary. Without Debian's pgbouncer the PgBouncer tests skip with the reason,
except on CI (``CI=true``), where a missing pooler is a broken set-up and fails instead.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from django.conf import settings

from apps.core.db import platform_route
from backoffice import embedded, pgbouncer, replica


def require_pgbouncer() -> None:
    try:
        pgbouncer.binary()
    except pgbouncer.PgBouncerMissing as exc:
        if os.environ.get("CI", "").lower() in ("true", "1"):
            pytest.fail(f"CI must run the PgBouncer tests: {exc}", pytrace=False)
        pytest.skip(str(exc))


@dataclass
class Standby:
    primary: embedded.EmbeddedServer
    server: embedded.EmbeddedServer

    def connect(self) -> psycopg.Connection:
        """A superuser connection to the test cluster on the standby."""
        return psycopg.connect(
            host=self.server.socket_dir,
            user=embedded.SUPERUSER,
            dbname=settings.TEST_CLUSTER_NAME,
            autocommit=True,
        )

    def catch_up(self, timeout: float = 30) -> None:
        replica.wait_for_replay(primary=self.primary, standby=self.server, timeout=timeout)

    def pause_replay(self) -> None:
        with self.connect() as conn:
            conn.execute("SELECT pg_wal_replay_pause()")

    def resume_replay(self) -> None:
        with self.connect() as conn:
            conn.execute("SELECT pg_wal_replay_resume()")


@pytest.fixture(scope="session")
def standby(django_db_setup, django_db_blocker) -> Standby:
    """The embedded server's standby, started if needed, with the seeded test cluster replayed."""
    with django_db_blocker.unblock():
        var_dir = Path(settings.VAR_DIR)
        found = Standby(primary=embedded.ensure_server(var_dir), server=replica.ensure_replica(var_dir))
        found.catch_up(timeout=120)
    return found


@pytest.fixture
def on_replica(standby: Standby) -> Iterator[Standby]:
    """Every platform alias reads the standby, directly, for this test."""
    with platform_route(server=embedded.REPLICA, pooled=False):
        yield standby
    standby.resume_replay()  # whatever the test did


@pytest.fixture
def through_pgbouncer(standby: Standby) -> Iterator[Standby]:
    """Every platform alias reads the standby through PgBouncer (transaction mode), for this test."""
    require_pgbouncer()
    with platform_route(server=embedded.REPLICA, pooled=True):
        yield standby
