"""Small database helpers shared by the pages that read several schemas, and the one retry of a
read the platform's replica cancelled."""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any

from django.db import OperationalError, connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper

from apps.core.routers import is_platform_alias

logger = logging.getLogger(__name__)

# SQLSTATEs the pages answer themselves, named once.
QUERY_CANCELED = "57014"  # statement_timeout fired
# A hot standby cancelled the statement to replay the primary's changes ("canceling statement due
# to conflict with recovery"): the read was fine and is retried once (retry_recovery_conflict).
SERIALIZATION_FAILURE = "40001"
# A query that names a column or table the cluster no longer has (schema drift).
UNDEFINED_OBJECT_STATES = frozenset({"42703", "42P01"})


def sqlstate(exc: BaseException) -> str | None:
    """The SQLSTATE of a database error Django wrapped (psycopg's, on ``__cause__``), if any."""
    return getattr(exc.__cause__, "sqlstate", None) or getattr(exc, "sqlstate", None)


def isolated(alias: str) -> AbstractContextManager:
    """Contain a failing statement so the rest of the page can still use this connection.

    In autocommit (how platform aliases run in production) a failed statement harms nothing and
    a transaction would only add BEGIN/COMMIT; inside an outer transaction (a test case, an
    atomic request) a savepoint is what keeps the connection usable.
    """
    return transaction.atomic(using=alias) if connections[alias].in_atomic_block else nullcontext()


class RecoveryConflict(OperationalError):
    """A read the platform's replica cancelled twice in a row while replaying the primary's
    changes (SQLSTATE 40001): answered with a clear page (apps.core.errors), never a 500."""


def is_recovery_conflict(exc: BaseException) -> bool:
    return sqlstate(exc) == SERIALIZATION_FAILURE


def retry_recovery_conflict(
    execute: Callable[..., Any], sql: str, params: Any, many: bool, context: dict[str, Any]
) -> Any:
    """An execute wrapper for platform connections: a statement a hot standby cancelled for a
    conflict with recovery is run once more. The back-office only reads there, so running a
    read again is safe; in autocommit the second attempt takes a new snapshot, which replay no
    longer needs to remove. Inside a transaction the first failure aborted it, so no retry: the
    error goes up. A second conflict becomes RecoveryConflict."""
    connection: BaseDatabaseWrapper = context["connection"]
    try:
        return execute(sql, params, many, context)
    except OperationalError as exc:
        if not is_recovery_conflict(exc) or connection.in_atomic_block:
            raise
        logger.warning("Read cancelled by the replica's recovery on %s; retrying once.", connection.alias)
    try:
        return execute(sql, params, many, context)
    except OperationalError as exc:
        if is_recovery_conflict(exc):
            raise RecoveryConflict(str(exc)) from exc
        raise


def install_platform_wrappers(sender: Any, connection: BaseDatabaseWrapper, **kwargs: Any) -> None:
    """``connection_created`` receiver: platform connections retry a read a replica cancelled."""
    if is_platform_alias(connection.alias) and retry_recovery_conflict not in connection.execute_wrappers:
        connection.execute_wrappers.insert(0, retry_recovery_conflict)


@contextmanager
def platform_route(*, server: str, pooled: bool) -> Iterator[None]:
    """Point every embedded platform alias at the primary or its standby, directly or through
    PgBouncer, for the block; then back (tests and benchmarks compare routes in one process).

    Each alias's connection is closed on the way in and out, so the next query connects anew.
    """
    from backoffice import embedded
    from backoffice.databases import behind_pooler, is_embedded

    aliases = [alias for alias in connections if is_platform_alias(alias)]
    saved = {alias: copy.deepcopy(connections[alias].settings_dict) for alias in aliases}
    try:
        for alias in aliases:
            connections[alias].close()
            config = connections[alias].settings_dict
            if not is_embedded(config):
                raise ValueError(
                    f"{alias} is not in the embedded cluster: it has no standby or PgBouncer of ours."
                )
            config[embedded.SERVER_KEY], config[embedded.POOLER_KEY] = server, pooled
            behind_pooler(config, pooled)
        yield
    finally:
        for alias in aliases:
            connections[alias].close()
            connections[alias].settings_dict.clear()
            connections[alias].settings_dict.update(saved[alias])
