"""A brand's checkout currency (``platform.settings``, key ``checkout.currency``), so an amount
whose row names no currency (a cash wallet, a payout, a cart item) still reads in one:
registered with the formatting layer at start-up (``apps.core.formatting.set_brand_currency_resolver``).

Read once for every brand and kept for ``TTL_SECONDS`` per process: a page showing a thousand
amounts asks the database at most once. A platform that cannot answer leaves amounts without a
symbol (and is asked again after ``RETRY_SECONDS``), never an error page.
"""

from __future__ import annotations

import threading
import time

from django.db import DatabaseError, router

from apps.core.db import isolated
from apps.platform.models import Setting

KEY = "checkout.currency"
TTL_SECONDS = 300.0
RETRY_SECONDS = 30.0

_lock = threading.Lock()
_known: dict[str, str] = {}
_fresh_until = 0.0


def brand_currency(brand_id: str) -> str | None:
    """The brand's ISO 4217 code, or None when the platform does not say (or cannot answer)."""
    return _currencies().get(brand_id)


def _currencies() -> dict[str, str]:
    global _known, _fresh_until
    with _lock:
        if time.monotonic() < _fresh_until:
            return _known
    alias = router.db_for_read(Setting)
    try:
        with isolated(alias):
            rows = list(Setting.objects.using(alias).filter(key=KEY).values_list("brand_id", "value"))
        found = {brand: value for brand, value in rows if isinstance(value, str) and value.strip()}
        lasts = TTL_SECONDS
    except DatabaseError:
        found, lasts = {}, RETRY_SECONDS
    with _lock:
        _known, _fresh_until = found, time.monotonic() + lasts
    return found


def forget() -> None:
    """Drop what is known (tests; a brand whose currency changed shows it within TTL_SECONDS anyway)."""
    global _fresh_until
    with _lock:
        _fresh_until = 0.0
