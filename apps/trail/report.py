"""What a verification checked and found: one structure for the command and the page."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

BACKOFFICE = "backoffice"


@dataclass(frozen=True)
class Finding:
    part: str  # "chain", "anchors" or "checkpoints"
    where: str  # "backoffice" or a schema
    kind: str  # edited, deleted, inserted, changed, appeared, disappeared, unsigned, ...
    message: str
    rows: tuple[str, ...] = ()  # the row ids at fault, when they are known
    window: str = ""  # "2026-03-01T00:00:00+00:00/2026-03-02T00:00:00+00:00" for a checkpoint window


@dataclass
class Checked:
    """What one part covered: a line of the report."""

    part: str
    where: str
    summary: str
    rows: int = 0
    windows: int = 0
    seconds: float = 0.0


@dataclass
class TrailReport:
    started_at: dt.datetime
    schemas: tuple[str, ...]
    since: dt.datetime | None
    checked: list[Checked] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    elapsed: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.findings

    @property
    def rows(self) -> int:
        return sum(c.rows for c in self.checked)

    def by_part(self, part: str) -> list[Finding]:
        return [f for f in self.findings if f.part == part]
