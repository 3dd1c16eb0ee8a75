"""The stream to the security team's SIEM: every back-office audit event and every alert,
delivered at least once, in order per source, to each configured sink.

Each (sink, source) keeps a watermark in our database, advanced only after the sink accepted a
batch, so a restart resends at most the batch in flight; receivers de-duplicate by ``id``. A
failed batch is retried with exponential backoff. Sinks: HTTP (``AUDIT_STREAM_URL``, a batch of
JSON Lines per POST, ``X-Signature: sha256=<hex HMAC-SHA256 of the body>`` with
``AUDIT_STREAM_SECRET``) and syslog (``AUDIT_STREAM_SYSLOG=host:port``, RFC 5424 messages over
TCP with RFC 6587 octet counting).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from django.conf import settings
from django.db import models, transaction
from django.utils import timezone

from apps.auditlog.models import AuditEvent
from apps.watch.models import Alert, StreamWatermark

logger = logging.getLogger(__name__)

AUDIT, ALERTS = "audit", "alerts"
SYSLOG_PRI = 13 * 8 + 6  # facility "log audit", severity informational


class DeliveryError(Exception):
    """A sink did not accept a batch; it will be sent again."""


class Sink(Protocol):
    name: str

    def send(self, records: list[dict[str, Any]]) -> None: ...


def _json(record: dict[str, Any]) -> str:
    return json.dumps(record, ensure_ascii=False, sort_keys=True, default=str)


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class HttpSink:
    def __init__(self, url: str, secret: str, *, timeout: float = 10.0) -> None:
        self.name, self.url, self.secret, self.timeout = "http", url, secret, timeout

    def send(self, records: list[dict[str, Any]]) -> None:
        body = "".join(_json(r) + "\n" for r in records).encode()
        request = urllib.request.Request(self.url, data=body, method="POST")  # noqa: S310 - a configured https URL
        request.add_header("Content-Type", "application/x-ndjson")
        request.add_header("X-Signature", sign(self.secret, body))
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                response.read()
        except (urllib.error.URLError, OSError) as exc:  # HTTPError (non-2xx) is a URLError
            raise DeliveryError(str(exc)) from exc


class SyslogSink:
    def __init__(self, address: str, *, timeout: float = 10.0) -> None:
        host, _, port = address.rpartition(":")
        self.name, self.host, self.port, self.timeout = "syslog", host, int(port), timeout

    @staticmethod
    def frame(record: dict[str, Any]) -> bytes:
        stamp = str(record.get("occurred_at") or record.get("created_at") or "-")
        msgid = str(record.get("event_type") or record.get("kind") or "-")[:32].replace(" ", "_")
        message = (
            f"<{SYSLOG_PRI}>1 {stamp} {socket.gethostname()[:255] or '-'} backoffice - {msgid} - {_json(record)}"
        ).encode()
        return f"{len(message)} ".encode() + message

    def send(self, records: list[dict[str, Any]]) -> None:
        try:
            with socket.create_connection((self.host, self.port), timeout=self.timeout) as conn:
                conn.sendall(b"".join(self.frame(r) for r in records))
        except OSError as exc:
            raise DeliveryError(str(exc)) from exc


def configured_sinks() -> list[Sink]:
    sinks: list[Sink] = []
    if settings.AUDIT_STREAM_URL:
        sinks.append(HttpSink(settings.AUDIT_STREAM_URL, settings.AUDIT_STREAM_SECRET))
    if settings.AUDIT_STREAM_SYSLOG:
        sinks.append(SyslogSink(settings.AUDIT_STREAM_SYSLOG))
    return sinks


def _audit_record(event: AuditEvent) -> dict[str, Any]:
    return {
        "source": "backoffice", "id": str(event.id), "occurred_at": event.occurred_at.isoformat(),
        "actor_type": event.actor_type, "actor_id": event.actor_id, "actor_brand_id": event.actor_brand_id,
        "event_type": event.event_type, "entity_type": event.entity_type, "entity_id": event.entity_id,
        "brand_id": event.brand_id, "request_id": event.request_id, "details": event.details,
    }  # fmt: skip


def _alert_record(alert: Alert) -> dict[str, Any]:
    return {
        "source": "alerts", "id": f"alert-{alert.pk}", "created_at": alert.created_at.isoformat(),
        "kind": "alert", "rule_id": alert.rule_id, "recipient_id": alert.recipient_id, "group": alert.group_key,
        "count": alert.count, "first_at": alert.first_at.isoformat(), "last_at": alert.last_at.isoformat(),
        "event_source": alert.event_source, "event_id": str(alert.event_id) if alert.event_id else None,
    }  # fmt: skip


def _pending(
    mark: StreamWatermark, horizon: dt.datetime, batch: int
) -> tuple[list[dict[str, Any]], Callable[[], None]]:
    """The next batch after the watermark, and how to advance the watermark past it."""
    if mark.source == AUDIT:
        queryset: models.QuerySet[AuditEvent] = AuditEvent.objects.filter(occurred_at__lte=horizon)
        if mark.position_at is not None:
            queryset = queryset.extra(
                where=["(occurred_at, id) > (%s, %s)"], params=[mark.position_at, mark.position_id]
            )
        rows = list(queryset.order_by("occurred_at", "id")[:batch])

        def advance() -> None:
            mark.position_at, mark.position_id = rows[-1].occurred_at, rows[-1].id

        return [_audit_record(r) for r in rows], advance
    alerts = list(Alert.objects.filter(pk__gt=mark.position_pk).order_by("pk")[:batch])

    def advance_alerts() -> None:
        mark.position_pk = alerts[-1].pk

    return [_alert_record(a) for a in alerts], advance_alerts


@dataclass
class StreamResult:
    delivered: int = 0
    failures: int = 0


def deliver(
    *, sink: Sink, batch: int | None = None, max_attempts: int | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> StreamResult:  # fmt: skip
    """Deliver everything pending to one sink, oldest first per source; retry a failed batch with
    exponential backoff (``max_attempts`` failures in a row stop the pass with DeliveryError)."""
    batch = batch or settings.AUDIT_STREAM_BATCH
    result = StreamResult()
    for source in (AUDIT, ALERTS):
        mark, _ = StreamWatermark.objects.get_or_create(sink=sink.name, source=source)
        failures_in_a_row = 0
        while True:
            horizon = timezone.now() - dt.timedelta(seconds=settings.ALERTS_SETTLE_SECONDS)
            records, advance = _pending(mark, horizon, batch)
            if not records:
                break
            try:
                sink.send(records)
            except DeliveryError as exc:
                result.failures += 1
                failures_in_a_row += 1
                if max_attempts is not None and failures_in_a_row >= max_attempts:
                    raise
                wait = min(settings.AUDIT_STREAM_BACKOFF_SECONDS * 2 ** (failures_in_a_row - 1),
                           settings.AUDIT_STREAM_BACKOFF_MAX_SECONDS)  # fmt: skip
                logger.warning("stream to %s failed (%s); retrying in %.2fs", sink.name, exc, wait)
                sleep(wait)
                continue
            failures_in_a_row = 0
            advance()
            mark.delivered += len(records)
            with transaction.atomic():
                mark.save()
            result.delivered += len(records)
    return result
