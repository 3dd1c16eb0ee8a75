"""One codec for every page cursor: opaque, authenticated, and bound to its list.

A cursor carries the position of the last row shown (a timestamp and a key). Signed-only tokens
are base64 JSON that anyone can read; these are encrypted and authenticated (Fernet: AES-128-CBC
with HMAC-SHA256), so a cursor says nothing to whoever holds it, and a tampered, truncated or
foreign one is refused. The key is derived from ``SECRET_KEY``; ``purpose`` separates lists, so
a cursor of one list is not accepted by another.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings

MAX_LENGTH = 2048


class InvalidCursor(ValueError):
    """A cursor this server did not make for this list; the message says what to do."""

    def __init__(self, message: str = "") -> None:
        super().__init__(
            message or "This page link is damaged or from another list; start again from the first page."
        )


def _fernet(purpose: str) -> Fernet:
    digest = hashlib.sha256(f"backoffice.cursor:{purpose}:{settings.SECRET_KEY}".encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def encode_cursor(values: list[Any], *, purpose: str) -> str:
    """An opaque token for ``values`` (JSON-serialisable), readable only by ``decode_cursor``."""
    payload = json.dumps([purpose, values], separators=(",", ":")).encode()
    return _fernet(purpose).encrypt(payload).decode()


def decode_cursor(token: str, *, purpose: str) -> list[Any]:
    """The values of a token made by ``encode_cursor`` for the same purpose, or InvalidCursor."""
    if not token or len(token) > MAX_LENGTH or not token.isascii():
        raise InvalidCursor
    try:
        found_purpose, values = json.loads(_fernet(purpose).decrypt(token.encode()))
    except (InvalidToken, ValueError, TypeError):
        raise InvalidCursor from None
    if found_purpose != purpose or not isinstance(values, list):
        raise InvalidCursor
    return values
