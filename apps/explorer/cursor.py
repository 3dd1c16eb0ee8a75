"""The explorer's keyset cursor: the (occurred_at, id) of the last row shown, made opaque by the
one cursor codec (apps.core.cursors)."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from apps.core.cursors import InvalidCursor, decode_cursor, encode_cursor

__all__ = ["InvalidCursor", "Position", "decode", "encode"]

PURPOSE = "explorer"


@dataclass(frozen=True, order=True)
class Position:
    occurred_at: dt.datetime
    id: uuid.UUID


def encode(position: Position) -> str:
    return encode_cursor([position.occurred_at.isoformat(), str(position.id)], purpose=PURPOSE)


def decode(token: str) -> Position:
    values = decode_cursor(token, purpose=PURPOSE)
    try:
        occurred_at, id_ = values
        return Position(dt.datetime.fromisoformat(occurred_at), uuid.UUID(id_))
    except (ValueError, TypeError, AttributeError) as exc:
        raise InvalidCursor from exc
