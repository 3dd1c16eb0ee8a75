"""Small database helpers shared by the pages that read several schemas."""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext

from django.db import connections, transaction

# SQLSTATEs the pages answer themselves, named once.
QUERY_CANCELED = "57014"  # statement_timeout fired
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
