"""What the palette was asked: the term, its shape, and the tables the person named, if any.

Pure parsing, no database: the shape of the input decides which few lookups run (a UUID, an
email, a phone number, a request id, a token such as an order number), so a query costs a
bounded number of index probes whatever it holds. ``parse`` accepts any text: anything it
cannot use is an ``InvalidQuery`` with a message for the person, never another exception.
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from collections.abc import Mapping
from dataclasses import dataclass

MAX_LENGTH = 200  # longer than any id, email or key the palette looks up
#: Most tables a scope word may name ("subscription": commerce's and payments').
MAX_SCOPED_MODELS = 4

UUID = "uuid"
EMAIL = "email"
PHONE = "phone"
REQUEST = "request id"
KEY = "key"  # an order number, a processor reference, an affiliate code, a slug...
NONE = "none"  # nothing the palette can look up (odd characters, punctuation only)
SHAPES = (UUID, EMAIL, PHONE, REQUEST, KEY, NONE)

#: The scope word that asks for a request's story whatever the id looks like.
REQUEST_SCOPE = "request"

_EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]{1,190}", re.ASCII)
_PHONE = re.compile(r"\+?[0-9][0-9 ()-]{5,30}", re.ASCII)
_REQUEST = re.compile(r"req_[A-Za-z0-9._:-]{4,124}", re.ASCII)
_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/#+-]{0,127}", re.ASCII)


class InvalidQuery(ValueError):
    """The input cannot be a query; the message says why, for the person who typed it."""


@dataclass(frozen=True)
class PaletteQuery:
    term: str  # what to look up, stripped (a UUID in its canonical form)
    shape: str  # one of SHAPES
    #: Model labels the person named before the term ("refund <id>"), or () for the defaults.
    models: tuple[str, ...] = ()
    #: The person named the request scope ("request <id>").
    request: bool = False

    @property
    def empty(self) -> bool:
        return not self.term or self.shape == NONE


def shape_of(term: str) -> str:
    """The kind of identifier ``term`` looks like: ``NONE`` for anything unprintable (a format
    character such as a right-to-left override); only an email may hold letters beyond ASCII."""
    if not term.isprintable():
        return NONE
    try:
        parsed = uuid.UUID(term)
    except ValueError:
        parsed = None
    if parsed is not None and len(term) in (32, 36):
        return UUID
    if _EMAIL.fullmatch(term):
        return EMAIL
    if _REQUEST.fullmatch(term):
        return REQUEST
    if _PHONE.fullmatch(term) and sum(c.isdigit() for c in term) >= 6:
        return PHONE
    if _TOKEN.fullmatch(term):
        return KEY
    return NONE


def parse(raw: str, *, scopes: Mapping[str, tuple[str, ...]] = {}) -> PaletteQuery:
    """The palette's query from what was typed.

    ``scopes`` maps a lower-case word or phrase ("refund", "payments.refund", "oauth client") to
    the model labels it names; a term that starts with one (then a space or a colon) is looked up
    in those tables only. Raises ``InvalidQuery`` for a NUL character, a control character or
    more than MAX_LENGTH characters.
    """
    if len(raw) > MAX_LENGTH:
        raise InvalidQuery(
            f"The search is {len(raw):,} characters long; the longest accepted is {MAX_LENGTH}."
        )
    if any(unicodedata.category(c) == "Cc" and c != "\t" for c in raw):
        raise InvalidQuery("The search contains a control character (NUL, a line break...); type it again.")
    text = " ".join(raw.split())
    models: tuple[str, ...] = ()
    request = False
    lowered = text.lower()
    scope = max(
        (word for word in (*scopes, REQUEST_SCOPE) if _starts_scope(lowered, word)), key=len, default=None
    )
    if scope is not None:
        rest = text[len(scope) :].lstrip(" :")
        if rest:
            text = rest
            request = scope == REQUEST_SCOPE
            models = () if request else tuple(scopes[scope])[:MAX_SCOPED_MODELS]
    shape = shape_of(text)
    if shape == UUID:
        text = str(uuid.UUID(text))
    elif request and shape in (KEY, PHONE):
        shape = REQUEST  # "request abc-123": the person says it is a request id
    return PaletteQuery(term=text, shape=shape, models=models, request=request)


def _starts_scope(text: str, word: str) -> bool:
    return bool(word) and text.startswith(word) and len(text) > len(word) and text[len(word)] in " :"
