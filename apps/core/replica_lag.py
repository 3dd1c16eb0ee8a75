"""Replica lag, as a staff member sees it: after an action a service carried out, the page they
come back to reads the platform's read replica, which may not have applied the change yet.

What we do (SCALING.md, "Replica lag"): the success message comes from the service's own answer
(the write happened); the action view records when the action was sent
(:func:`note_platform_write`); and for a short while after it, every page asks the replica how
far it has applied the platform's changes (:func:`replica_status`, one catalogue query) and, if
it has not reached the action yet, says so above the content (:func:`replica_lag`, a context
processor): "this page may not show your change yet; reload in a moment". Once the replica has
caught up, the note and the query stop.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import DatabaseError, connections
from django.http import HttpRequest
from django.utils import timezone

from backoffice.databases import CATALOG_ALIAS

SESSION_KEY = "platform_write_at"
# How long after an action pages check the replica (lag beyond this is an incident, not a note).
WINDOW = dt.timedelta(minutes=2)

# Applied up to: the last replayed commit while WAL the standby received still waits to be
# replayed, else "now" (it has applied all it has). NULLs outside a standby, or on readers
# that do not report WAL positions (Aurora), where lag is unknown.
_STATUS_SQL = """
SELECT pg_is_in_recovery(),
       CASE WHEN pg_last_wal_receive_lsn() IS NULL OR pg_last_wal_replay_lsn() IS NULL THEN NULL
            WHEN pg_last_wal_receive_lsn() > pg_last_wal_replay_lsn() THEN pg_last_xact_replay_timestamp()
            ELSE now() END
"""


@dataclass(frozen=True)
class ReplicaStatus:
    is_replica: bool
    #: Every change committed before this moment is visible there (None: unknown).
    applied_until: dt.datetime | None


@dataclass(frozen=True)
class LagNote:
    action_at: dt.datetime
    applied_until: dt.datetime | None  # None: the replica does not say how far it is

    @property
    def seconds_behind(self) -> float | None:
        if self.applied_until is None:
            return None
        return max(0.0, (self.action_at - self.applied_until).total_seconds())


def note_platform_write(request: HttpRequest, *, at: dt.datetime) -> None:
    """Remember that a service wrote the platform for this person at ``at`` (call once the service
    said it succeeded, with the time from before the call)."""
    request.session[SESSION_KEY] = at.isoformat()


def replica_status(alias: str = CATALOG_ALIAS) -> ReplicaStatus | None:
    """How far the server behind a platform alias has applied the platform's changes; None when
    it cannot be asked."""
    try:
        with connections[alias].cursor() as cursor:
            cursor.execute(_STATUS_SQL)
            row = cursor.fetchone()
    except DatabaseError:
        return None
    return ReplicaStatus(is_replica=bool(row[0]), applied_until=row[1]) if row else None


def lag_note(request: HttpRequest) -> LagNote | None:
    """The note for this request's page: set while the replica has not applied a recent action."""
    session = getattr(request, "session", None)
    if session is None or SESSION_KEY not in session:
        return None
    raw = session[SESSION_KEY]
    try:
        action_at = dt.datetime.fromisoformat(raw)
    except (TypeError, ValueError):
        action_at = None
    if action_at is None or timezone.now() - action_at > WINDOW:
        del session[SESSION_KEY]
        return None
    status = replica_status()
    if status is None or not status.is_replica:
        del session[SESSION_KEY]  # we read the writer: nothing can be stale
        return None
    if status.applied_until is not None and status.applied_until >= action_at:
        del session[SESSION_KEY]  # caught up
        return None
    return LagNote(action_at=action_at, applied_until=status.applied_until)


def replica_lag(request: HttpRequest) -> dict[str, LagNote | None]:
    """Context processor: ``replica_lag`` for the page after an action (templates/admin/base_site.html).
    Asked once per request, however many templates it renders."""
    if not hasattr(request, "_replica_lag"):
        request._replica_lag = lag_note(request)  # type: ignore[attr-defined]
    return {"replica_lag": request._replica_lag}  # type: ignore[attr-defined]
