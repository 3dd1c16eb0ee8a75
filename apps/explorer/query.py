"""The explorer's filters, parsed and validated from a query string in one place."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Any

from django.http import QueryDict
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from apps.explorer.sources import source_names

MAX_VALUE_LENGTH = 256
TEXT_FILTERS = (
    "actor_type",
    "actor_id",
    "actor_brand_id",
    "event_type",
    "entity_type",
    "entity_id",
    "request_id",
)


class InvalidQuery(ValueError):
    """A filter the explorer cannot run; the message tells the reviewer what to change."""


@dataclass(frozen=True)
class AuditQuery:
    brands: tuple[str, ...] = ()
    services: tuple[str, ...] = ()
    actor_type: str = ""
    actor_id: str = ""
    actor_brand_id: str = ""
    event_type: str = ""  # exact, or a prefix when it ends with "." or "*"
    entity_type: str = ""
    entity_id: str = ""
    request_id: str = ""
    subject_id: str = ""  # an actor or an entity: "everything about or by this id"
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    extra: dict[str, str] = field(default_factory=dict, compare=False)

    @property
    def event_prefix(self) -> str | None:
        if self.event_type.endswith("*"):
            return self.event_type[:-1]
        return self.event_type if self.event_type.endswith(".") else None

    def as_params(self) -> dict[str, str | list[str]]:
        """The query as URL parameters (for links, the cursor and the export log)."""
        params: dict[str, str | list[str]] = {}
        for key, value in asdict(self).items():
            if key == "extra" or value in ("", (), None):
                continue
            if isinstance(value, dt.datetime):
                value = value.isoformat()
            params["brand" if key == "brands" else "service" if key == "services" else key] = (
                list(value) if isinstance(value, tuple) else value
            )
        return params

    def is_empty(self) -> bool:
        return not self.as_params()


def _time(name: str, raw: str, *, end_of_day: bool) -> dt.datetime | None:
    raw = raw.strip()
    if not raw:
        return None
    parsed = None
    try:
        # A bare date covers the whole day: "until 2026-03-02" includes that evening.
        day = parse_date(raw)
        if day is not None:
            parsed = dt.datetime.combine(day, dt.time.max if end_of_day else dt.time.min)
        else:
            parsed = parse_datetime(raw)
    except ValueError:
        parsed = None
    if parsed is None:
        raise InvalidQuery(f"{name} must be a date (2026-03-01) or a date and time (2026-03-01T14:30:00Z).")
    return parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed, dt.UTC)


def parse_query(params: QueryDict) -> AuditQuery:
    """Build a query from request parameters, or raise InvalidQuery naming the bad filter."""
    values: dict[str, Any] = {}
    for name in TEXT_FILTERS:
        value = params.get(name, "").strip()
        if len(value) > MAX_VALUE_LENGTH:
            raise InvalidQuery(
                f"{name} is {len(value):,} characters long; the longest accepted is {MAX_VALUE_LENGTH}."
            )
        values[name] = value
    brands = tuple(sorted({b.strip() for b in params.getlist("brand") if b.strip()}))
    if any(len(b) > MAX_VALUE_LENGTH for b in brands):
        raise InvalidQuery("A brand id is too long.")
    services = tuple(sorted({s.strip() for s in params.getlist("service") if s.strip()}))
    unknown = sorted(set(services) - set(source_names()))
    if unknown:
        raise InvalidQuery(
            f"Unknown service {', '.join(unknown)[:100]!r}. Known: {', '.join(source_names())}."
        )
    since = _time("since", params.get("since", ""), end_of_day=False)
    until = _time("until", params.get("until", ""), end_of_day=True)
    if since and until and since > until:
        raise InvalidQuery("since is after until.")
    return AuditQuery(brands=brands, services=services, since=since, until=until, **values)
