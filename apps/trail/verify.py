"""Verify the whole audit trail: the back-office chain, its anchors, the platform checkpoints."""

from __future__ import annotations

import datetime as dt
import time

from django.utils import timezone

from apps.trail import chain, checkpoints
from apps.trail.report import TrailReport


def verify_trail(
    *,
    schemas: tuple[str, ...] = (),
    since: dt.datetime | None = None,
    progress: checkpoints.Progress | None = None,
    include_backoffice: bool = True,
) -> TrailReport:
    """Everything that can be checked, in one report (``schemas`` narrows the platform part;
    ``since`` starts the chain and the windows there)."""
    started = time.perf_counter()
    report = TrailReport(started_at=timezone.now(), schemas=schemas, since=since)
    say = progress or (lambda line: None)
    if include_backoffice:
        say("Back-office audit log: hash chain")
        checked, found = chain.verify_chain(since=since, progress=progress)
        report.checked.append(checked)
        report.findings.extend(found)
        say("Back-office audit log: anchors")
        checked, found = chain.verify_anchors(progress=progress)
        report.checked.append(checked)
        report.findings.extend(found)
    say("Service audit logs: checkpoints")
    checked_list, found = checkpoints.verify_checkpoints(schemas=schemas, since=since, progress=progress)
    report.checked.extend(checked_list)
    report.findings.extend(found)
    report.elapsed = time.perf_counter() - started
    return report
