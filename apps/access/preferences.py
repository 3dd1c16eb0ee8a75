"""A staff member's own preferences (their time zone): read once per request, written by the
person on the Preferences page. The formatting layer (apps.core.formatting) asks
``time_zone_name`` through the resolver registered at start-up."""

from __future__ import annotations

from typing import Any

from apps.access.models import StaffPreference

DEFAULT_TIME_ZONE = "UTC"
_MEMO_ATTR = "_backoffice_time_zone"


def time_zone_name(user: Any) -> str:
    """The IANA zone the person reads times in (UTC until they choose one). Memoised on the user
    object, so one request asks the database once."""
    if not getattr(user, "is_authenticated", False):
        return DEFAULT_TIME_ZONE
    if not hasattr(user, _MEMO_ATTR):
        found = StaffPreference.objects.filter(user=user).values_list("time_zone", flat=True).first()
        setattr(user, _MEMO_ATTR, found or DEFAULT_TIME_ZONE)
    name: str = getattr(user, _MEMO_ATTR)
    return name


def set_time_zone(*, user: Any, time_zone: str) -> StaffPreference:
    """Store the person's time zone (already checked by ``PreferencesForm``)."""
    preference, _ = StaffPreference.objects.update_or_create(user=user, defaults={"time_zone": time_zone})
    setattr(user, _MEMO_ATTR, time_zone)
    return preference
