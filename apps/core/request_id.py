"""One id per staff request, made here; echoed back as X-Request-Id.

The same id goes into the back-office audit log and, as X-Request-Id, into every call to a
platform service, so one staff action can be followed across every audit_log. It is the thread
compliance follows, so it is ours: a client's X-Request-Id becomes the request id only when the
request comes from a trusted proxy (settings.REQUEST_ID_TRUSTED_PROXIES, addresses or networks;
none by default). From anyone else it is kept, cleaned, as ``request.client_request_id``, which
record_event writes into the details of the events of that request as ``client_request_id``.
"""

from __future__ import annotations

import ipaddress
import re
import uuid
from collections.abc import Callable, Iterable
from contextvars import ContextVar
from functools import lru_cache

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse

from apps.core.types import BackofficeRequest

HEADER = "X-Request-Id"
_SANE = re.compile(r"^[A-Za-z0-9._:-]{8,128}$")
CLIENT_ID_MAX_LENGTH = 128
_current: ContextVar[str | None] = ContextVar("request_id", default=None)

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def current_request_id() -> str | None:
    """The id of the request being served, for code far from the request (logging, clients)."""
    return _current.get()


def new_request_id() -> str:
    return str(uuid.uuid4())


@lru_cache(maxsize=8)
def trusted_networks(entries: tuple[str, ...]) -> tuple[Network, ...]:
    """REQUEST_ID_TRUSTED_PROXIES parsed: each entry an IP address or a CIDR network."""
    networks = []
    for entry in entries:
        try:
            networks.append(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError:
            raise ImproperlyConfigured(
                f"REQUEST_ID_TRUSTED_PROXIES: {entry!r} is not an IP address or network (10.0.0.0/8)."
            ) from None
    return tuple(networks)


def from_trusted_proxy(remote_addr: str, entries: Iterable[str]) -> bool:
    networks = trusted_networks(tuple(entries))
    if not networks or not remote_addr:
        return False
    try:
        address = ipaddress.ip_address(remote_addr)
    except ValueError:
        return False
    return any(address in network for network in networks)


def clean_client_id(value: str) -> str:
    """What a client sent, made safe to store and show: printable, at most 128 characters."""
    return "".join(
        ch if ch.isprintable() else "\N{REPLACEMENT CHARACTER}" for ch in value[:CLIENT_ID_MAX_LENGTH]
    )


class RequestIdMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        trusted_networks(tuple(settings.REQUEST_ID_TRUSTED_PROXIES))  # a bad entry stops start-up

    def __call__(self, request: BackofficeRequest) -> HttpResponse:
        incoming = request.headers.get(HEADER, "")
        request.client_request_id = None
        trusted = from_trusted_proxy(request.META.get("REMOTE_ADDR", ""), settings.REQUEST_ID_TRUSTED_PROXIES)
        if incoming and trusted and _SANE.match(incoming):
            request.request_id = incoming
        else:
            request.request_id = new_request_id()
            if incoming:
                request.client_request_id = clean_client_id(incoming)
        token = _current.set(request.request_id)
        try:
            response = self.get_response(request)
        finally:
            _current.reset(token)
        response[HEADER] = request.request_id
        return response
