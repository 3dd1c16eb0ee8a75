"""The SIEM stream: every event reaches a receiver that drops and duplicates requests, signed, in order."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import io
import json
import socketserver
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.management import call_command
from django.utils import timezone

from apps.auditlog.models import AuditEvent
from apps.watch.models import StreamWatermark

pytestmark = pytest.mark.django_db(databases="__all__")
SECRET = "stream-test-secret"


class Receiver:
    """Request 1, 4, 7...: dropped (connection closed, nothing kept). 2, 5, 8...: kept, then a 500,
    so the batch comes again (a duplicate). The rest: kept, 200."""

    def __init__(self) -> None:
        self.requests = 0
        self.lines: list[dict] = []
        self.bad_signatures = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests += 1
                n = receiver.requests
                expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
                if not hmac.compare_digest(expected, self.headers.get("X-Signature", "")):
                    receiver.bad_signatures += 1
                if n % 3 == 1:
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                receiver.lines += [json.loads(line) for line in body.decode().splitlines()]
                self.send_response(500 if n % 3 == 2 else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/ingest"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def receiver(settings):
    r = Receiver()
    settings.AUDIT_STREAM_URL, settings.AUDIT_STREAM_SECRET, settings.AUDIT_STREAM_SYSLOG = r.url, SECRET, ""
    settings.AUDIT_STREAM_BATCH, settings.AUDIT_STREAM_BACKOFF_SECONDS = 7, 0.001
    settings.ALERTS_SETTLE_SECONDS = 0
    yield r
    r.server.shutdown()


def seed(n, *, start=None):
    start = start or timezone.now() - dt.timedelta(minutes=5)
    return [
        AuditEvent.objects.create(
            occurred_at=start + dt.timedelta(seconds=i),
            actor_type="staff",
            actor_id="1",
            event_type="stream.probe",
            brand_id="*",
            details={"n": i},
        )
        for i in range(n)
    ]


def stream_once():
    out = io.StringIO()
    call_command("stream_audit", "--once", stdout=out)
    return out.getvalue()


def test_stream_delivers_every_event_in_order_signed_through_drops_and_duplicates(receiver):
    events = seed(40)
    expected = [str(e.id) for e in AuditEvent.objects.order_by("occurred_at", "id")]
    output = stream_once()
    assert "retries=" in output and "events_per_second=" in output
    got = [line["id"] for line in receiver.lines if line["source"] == "backoffice"]
    assert set(got) == set(expected)  # nothing lost
    assert len(got) > len(set(got))  # and the receiver did see duplicates
    first_seen = list(dict.fromkeys(got))
    assert first_seen == expected  # in order
    assert receiver.bad_signatures == 0
    assert str(events[0].id) in got

    before = receiver.requests
    stream_once()  # a restart: the watermark in our database says everything went
    assert receiver.requests == before
    later = seed(1, start=timezone.now())[0]
    stream_once()
    assert str(later.id) in [line["id"] for line in receiver.lines]
    assert StreamWatermark.objects.get(sink="http", source="audit").position_id == later.id


def test_stream_syslog_sends_rfc5424_frames_over_tcp(settings):
    frames: list[bytes] = []

    class Handler(socketserver.StreamRequestHandler):
        def handle(self):
            frames.append(self.rfile.read())

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    settings.AUDIT_STREAM_URL, settings.AUDIT_STREAM_SYSLOG = "", f"127.0.0.1:{server.server_address[1]}"
    settings.ALERTS_SETTLE_SECONDS = 0
    marker = uuid.uuid4().hex
    AuditEvent.objects.create(
        occurred_at=timezone.now() - dt.timedelta(seconds=1), actor_type="staff", actor_id="1",
        event_type="stream.syslog_probe", brand_id="*", details={"marker": marker},
    )  # fmt: skip
    stream_once()
    server.shutdown()
    data = b"".join(frames)
    # RFC 6587 octet counting: "<length> <message>", each message "<110>1 TIMESTAMP HOST backoffice - MSGID - JSON".
    messages = []
    while data:
        length, _, rest = data.partition(b" ")
        messages.append(rest[: int(length)].decode())
        data = rest[int(length) :]
    (mine,) = [m for m in messages if marker in m]
    assert mine.startswith("<110>1 ")
    assert " backoffice - stream.syslog_probe - {" in mine
