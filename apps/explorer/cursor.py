"""Opaque keyset cursors: the (occurred_at, id) of the last row shown, signed against tampering."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from django.core import signing

SALT = "explorer.cursor"


class InvalidCursor(ValueError):
    pass


@dataclass(frozen=True, order=True)
class Position:
    occurred_at: dt.datetime
    id: uuid.UUID


def encode(position: Position) -> str:
    return signing.dumps([position.occurred_at.isoformat(), str(position.id)], salt=SALT, compress=True)


def decode(token: str) -> Position:
    try:
        occurred_at, id_ = signing.loads(token, salt=SALT)
        return Position(dt.datetime.fromisoformat(occurred_at), uuid.UUID(id_))
    except (signing.BadSignature, ValueError, TypeError) as exc:
        raise InvalidCursor(
            "This page link is damaged or from another server; start again from the first page."
        ) from exc
