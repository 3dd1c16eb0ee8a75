"""Anchors: the back-office chain's head, signed and written where nobody rewrites it.

An anchor is a small JSON document: the chain position (``seq``), that row's hash, when, the
digest of the previous anchor (anchors chain too, so a removed file is noticed) and an
HMAC-SHA256 signature under AUDIT_ANCHOR_KEY, a key that lives in the settings and never in the
database. Whoever rewrites the audit table and recomputes every hash after it still cannot make
an anchored position hash to what the anchor says, nor sign a new anchor.

Stores: a directory (AUDIT_ANCHOR_DIR; each file created with O_EXCL and made read-only, never
overwritten). Point it at a write-once mount (WORM storage, an object-locked bucket mounted
read-write-once) in production; an S3 client of our own is left out (README).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

GENESIS = "0" * 64
FORMAT = 1


@dataclass(frozen=True)
class Anchor:
    name: str  # the file name
    seq: int
    row_hash: str
    anchored_at: str
    previous: str  # digest of the previous anchor's document, GENESIS for the first
    signature: str
    body: bytes  # the document as stored

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.body).hexdigest()


def _key() -> bytes:
    key = settings.AUDIT_ANCHOR_KEY
    if not key:
        raise ImproperlyConfigured("Set AUDIT_ANCHOR_KEY: anchors are signed with it.")
    return key.encode()


def _signed_part(doc: dict[str, Any]) -> bytes:
    unsigned = {k: v for k, v in doc.items() if k != "signature"}
    return json.dumps(unsigned, sort_keys=True, separators=(",", ":")).encode()


def sign(doc: dict[str, Any]) -> str:
    return hmac.new(_key(), _signed_part(doc), hashlib.sha256).hexdigest()


def signature_holds(doc: dict[str, Any]) -> bool:
    return hmac.compare_digest(sign(doc), str(doc.get("signature", "")))


class DirectoryStore:
    """Anchor files in one directory: created once (O_EXCL), read-only, never replaced."""

    def __init__(self, path: Path | str | None = None) -> None:
        self.path = Path(path or settings.AUDIT_ANCHOR_DIR)

    def write(self, name: str, body: bytes) -> str:
        self.path.mkdir(parents=True, exist_ok=True)
        target = self.path / name
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o444)
        try:
            os.write(fd, body)
            os.fsync(fd)
        finally:
            os.close(fd)
        return str(target)

    def read_all(self) -> list[tuple[str, bytes]]:
        if not self.path.is_dir():
            return []
        return [(p.name, p.read_bytes()) for p in sorted(self.path.glob("anchor-*.json"))]


def store() -> DirectoryStore:
    return DirectoryStore()


def parse(name: str, body: bytes) -> Anchor | None:
    try:
        doc = json.loads(body)
        return Anchor(
            name=name,
            seq=int(doc["seq"]),
            row_hash=str(doc["row_hash"]),
            anchored_at=str(doc["anchored_at"]),
            previous=str(doc["previous"]),
            signature=str(doc["signature"]),
            body=body,
        )
    except (ValueError, KeyError, TypeError):
        return None


def load(target: DirectoryStore | None = None) -> tuple[list[Anchor], list[str]]:
    """Every stored anchor in chain order, and the names of files that are not anchors at all."""
    anchors, unreadable = [], []
    for name, body in (target or store()).read_all():
        anchor = parse(name, body)
        if anchor is None:
            unreadable.append(name)
        else:
            anchors.append(anchor)
    anchors.sort(key=lambda a: (a.seq, a.anchored_at))
    return anchors, unreadable


def write_anchor(*, seq: int, row_hash: str, target: DirectoryStore | None = None) -> Anchor:
    """Sign and store the chain head ``(seq, row_hash)``, linked to the newest stored anchor."""
    target = target or store()
    existing, _ = load(target)
    now = dt.datetime.now(dt.UTC)
    doc: dict[str, Any] = {
        "format": FORMAT,
        "seq": seq,
        "row_hash": row_hash,
        "anchored_at": now.isoformat(),
        "previous": existing[-1].digest if existing else GENESIS,
    }
    doc["signature"] = sign(doc)
    body = json.dumps(doc, sort_keys=True, indent=1).encode() + b"\n"
    name = f"anchor-{seq:012d}-{now:%Y%m%dT%H%M%S%fZ}.json"
    target.write(name, body)
    return parse(name, body)  # type: ignore[return-value]
