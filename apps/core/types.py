"""Types the apps share: who a staff member is, and what a request carries once our middleware ran.

Types only: nothing here changes what a request or a user is at run time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeAlias, cast

from django.http import HttpRequest

if TYPE_CHECKING:  # a model module: importing it at run time would need the app registry ready
    from django.contrib.auth.models import User

#: A back-office account: staff sign in with django.contrib.auth's own user model.
StaffUser: TypeAlias = "User"


class BackofficeRequest(HttpRequest):
    """Every request once ``apps.core.request_id.RequestIdMiddleware`` (the first middleware) ran."""

    #: Ours (or a trusted proxy's): returned as X-Request-Id and written in every audit entry.
    request_id: str
    #: What an untrusted client sent as X-Request-Id, cleaned; kept in the audit details only.
    client_request_id: str | None


class StaffRequest(BackofficeRequest):
    """A request to a page only staff reach: the admin's own views and every view wrapped in
    ``admin_view``, which send anyone else to the login page. Its user is a staff member."""

    user: StaffUser  # narrower than HttpRequest's User | AnonymousUser: only staff get here


def staff_request(request: HttpRequest) -> StaffRequest:
    """``request`` as a ``StaffRequest``, where Django's signature says ``HttpRequest`` but only
    staff get in (the hooks of a ModelAdmin, called from its admin_view-wrapped pages)."""
    return cast(StaffRequest, request)
