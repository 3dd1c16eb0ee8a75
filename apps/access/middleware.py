"""Idle session expiry (a staff session that sat unused for SESSION_IDLE_MINUTES is over), and
the staff member's time zone for the request."""

from __future__ import annotations

import time
import zoneinfo
from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from apps.access.preferences import DEFAULT_TIME_ZONE, time_zone_name
from apps.auditlog import events
from apps.auditlog.services import record_event

LAST_SEEN_KEY = "backoffice_last_seen"
# The last-seen time is rewritten at most this often: writing it on every page cost each page a
# session UPDATE in its own transaction, for precision (seconds) an idle timeout of minutes ignores.
LAST_SEEN_RESOLUTION_SECONDS = 30


class IdleTimeoutMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated:
            now = time.time()
            last_seen = request.session.get(LAST_SEEN_KEY, now)
            if now - last_seen > settings.SESSION_IDLE_MINUTES * 60:
                record_event(
                    event_type=events.STAFF_SESSION_EXPIRED,
                    actor=request.user,
                    request=request,
                    entity_type="staff",
                    entity_id=request.user.pk,
                    details={"idle_seconds": int(now - last_seen)},
                )
                logout(request)
                messages.info(
                    request, f"You were signed out after {settings.SESSION_IDLE_MINUTES} idle minutes."
                )
            elif LAST_SEEN_KEY not in request.session or now - last_seen >= LAST_SEEN_RESOLUTION_SECONDS:
                request.session[LAST_SEEN_KEY] = now
        return self.get_response(request)


class TimeZoneMiddleware:
    """Pages show times in the staff member's own zone (their preference): it is activated for
    the request, so the admin's own date rendering and the formatting layer agree. Data, filters
    and exports are untouched: they stay in UTC."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        name = time_zone_name(request.user) if request.user.is_authenticated else DEFAULT_TIME_ZONE
        try:
            timezone.activate(zoneinfo.ZoneInfo(name))
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            timezone.deactivate()
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
