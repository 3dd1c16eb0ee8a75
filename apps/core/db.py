"""Small database helpers shared by the pages that read several schemas."""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext

from django.db import connections, transaction


def isolated(alias: str) -> AbstractContextManager:
    """Contain a failing statement so the rest of the page can still use this connection.

    In autocommit (how platform aliases run in production) a failed statement harms nothing and
    a transaction would only add BEGIN/COMMIT; inside an outer transaction (a test case, an
    atomic request) a savepoint is what keeps the connection usable.
    """
    return transaction.atomic(using=alias) if connections[alias].in_atomic_block else nullcontext()
