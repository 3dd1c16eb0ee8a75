"""Benchmark the SIEM stream (issue 18): events per second delivered to a signed HTTP receiver on
loopback, and the cost of writing the events it streams (the chained insert).

The run leaves nothing behind: it works in a throwaway copy of our database (created by migrating,
dropped at the end), writes ``--events`` synthetic back-office events there, PER_TRANSACTION to a
transaction (``actor_type="system"``, ``actor_id="bench_stream"``), and
streams them to a sink whose watermark starts at the beginning. The receiver checks every batch's
signature and counts distinct ids, so a lost or unsigned record shows in the figures. Not a test:
it asserts nothing about time.
"""

from __future__ import annotations

import hmac
import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.db import connection, transaction
from django.test import override_settings
from tqdm import tqdm

from apps.auditlog import events
from apps.auditlog.models import AuditEvent
from apps.auditlog.services import record_event
from apps.watch import stream
from apps.watch.models import Alert

PER_TRANSACTION = 20


class _Receiver:
    """A loopback HTTP sink: verifies each batch's HMAC signature, counts distinct record ids."""

    def __init__(self, secret: str) -> None:
        self.ids: set[str] = set()
        self.records = self.requests = self.bad_signatures = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                expected = stream.sign(secret, body)
                if not hmac.compare_digest(expected, self.headers.get("X-Signature", "")):
                    receiver.bad_signatures += 1
                lines = body.decode().splitlines()
                receiver.requests += 1
                receiver.records += len(lines)
                receiver.ids.update(json.loads(line)["id"] for line in lines)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/ingest"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


class Command(BaseCommand):
    help = "Measure SIEM streaming throughput (events per second) to a signed loopback receiver."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--events", type=int, default=20_000, dest="count", help="synthetic events to write and stream"
        )
        parser.add_argument("--batch", type=int, default=None, help="records per POST (AUDIT_STREAM_BATCH)")

    def handle(self, *args: Any, count: int, batch: int | None, **options: Any) -> None:
        secret = secrets.token_hex(16)
        receiver = _Receiver(secret)
        sink = stream.HttpSink(receiver.url, secret)
        creation = connection.creation
        connection.settings_dict["TEST"] = {
            **connection.settings_dict.get("TEST", {}),
            "NAME": f"bench_stream_{secret[:8]}",
        }
        self.stdout.write("Creating a throwaway copy of our database (migrations)...")
        old_name = creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
        try:
            with override_settings(ALERTS_SETTLE_SECONDS=0):
                started = time.perf_counter()
                for first in tqdm(range(0, count, PER_TRANSACTION), unit="txn", desc="writing", disable=None):
                    # A few events per transaction, as a busy request writes them: one commit per
                    # event would measure the disk's fsync, a single huge transaction the head
                    # row's growing version chain (each write updates it).
                    with transaction.atomic():
                        for n in range(first, min(first + PER_TRANSACTION, count)):
                            record_event(
                                event_type=events_type(n), actor_type="system", actor_id="bench_stream",
                                entity_type="identity.user", entity_id=f"bench-{n}", details={"n": n},
                            )  # fmt: skip
                written = time.perf_counter() - started
                expected = AuditEvent.objects.count() + Alert.objects.count()
                started = time.perf_counter()
                result = stream.deliver(sink=sink, batch=batch, max_attempts=1)
                streamed = time.perf_counter() - started
        finally:
            receiver.server.shutdown()
            creation.destroy_test_db(old_name, verbosity=0)
        self.stdout.write(
            f"write (chained insert, {PER_TRANSACTION} per transaction): {count:>10,} events in {written:7.2f}s = {count / written:>8,.0f}/s"
        )
        self.stdout.write(
            f"stream (HTTP, signed):  {result.delivered:>10,} records in {streamed:7.2f}s = "
            f"{result.delivered / streamed:>8,.0f}/s over {receiver.requests:,} POSTs "
            f"(batch {batch or settings.AUDIT_STREAM_BATCH})"
        )
        self.stdout.write(
            f"receiver: {len(receiver.ids):,} distinct ids of {expected:,} expected (every audit event and alert), "
            f"{receiver.bad_signatures} bad signatures; the throwaway database is dropped"
        )


def events_type(n: int) -> str:
    """A realistic mix: mostly views, some reveals and exports."""
    return (events.CUSTOMER_VIEWED, events.CUSTOMER_VIEWED, events.PHI_VIEWED, events.EXPORT_AUDIT)[n % 4]
