"""Benchmark issue 17 on whatever cluster the settings point at (the large seed: `make seed-large`):
the heaviest customer's access report, and checkpoint and verification throughput in rows/s.

Not a test: it asserts nothing about time; it measures and prints. It stores nothing on the
platform (read-only, as always) and takes no checkpoint of its own: it runs the same queries.
"""

from __future__ import annotations

import time

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser
from django.db.models import Max, Min
from django.utils import timezone

from apps.core.benchmarking import median_ms, require_migrated
from apps.customers import accesses, report_formats
from apps.identity.models import User
from apps.refcluster import generator
from apps.trail import chain, checkpoints


class Command(BaseCommand):
    help = "Benchmark the heaviest customer's access report and checkpoint/verification throughput (rows/s)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--runs", type=int, default=3, help="Timed runs of the report (median).")
        parser.add_argument("--schema", action="append", dest="schemas", metavar="SCHEMA")

    def handle(self, *args: object, runs: int, schemas: list[str] | None, **options: object) -> None:
        require_migrated()
        self._report(runs)
        self._throughput(tuple(schemas or ()))

    def _report(self, runs: int) -> None:
        staff, _ = get_user_model().objects.get_or_create(
            username="bench-trail", defaults={"is_staff": True, "is_superuser": True}
        )
        heavy = User.objects.get(pk=generator.user_id(generator.HEAVY_USER_INDEX))
        built: list[accesses.AccessReport] = []

        def build() -> None:
            built.append(accesses.build(customer_record=heavy, staff=staff))

        workers = accesses.WORKERS
        try:  # the same report with its sources read one after another, for comparison
            accesses.WORKERS = 1
            sequential_ms = median_ms(build, runs)
        finally:
            accesses.WORKERS = workers
        ms = median_ms(build, runs)
        report = built[-1]
        person = accesses.find_records(
            user_id=str(heavy.pk), schemas=[s.name for s in checkpoints.platform_sources()], staff=staff
        )
        records = sum(len(ids) for ids in person.ids.values())
        parts = {
            p: sum(a.part == p for a in report.accesses) for p in ("back-office", "platform", "disclosure")
        }
        self.stdout.write(
            f"Access report of the heaviest customer ({heavy.pk}), median of {runs} runs: {ms:,.0f} ms "
            f"reading {workers} sources at once, {sequential_ms:,.0f} ms one after another "
            f"({sequential_ms / ms:.1f}x)"
        )
        self.stdout.write(
            f"  {records:,} records of theirs in {len(person.ids)} tables; {len(report.accesses):,} accesses "
            f"(back-office {parts['back-office']:,}, platform {parts['platform']:,}, disclosures {parts['disclosure']:,})"
        )
        started = time.perf_counter()
        csv_size = len(report_formats.csv_text(report))
        csv_ms = (time.perf_counter() - started) * 1000
        started = time.perf_counter()
        pdf_size = len(report_formats.pdf_bytes(report, generated_at=timezone.now(), generated_by="bench"))
        pdf_ms = (time.perf_counter() - started) * 1000
        self.stdout.write(
            f"  CSV {csv_size:,} bytes in {csv_ms:,.0f} ms; PDF {pdf_size:,} bytes in {pdf_ms:,.0f} ms"
        )

    def _throughput(self, schemas: tuple[str, ...]) -> None:
        until = checkpoints.closed_until()
        totals: dict[str, list[float]] = {"checkpoint": [0, 0.0], "verify": [0, 0.0]}
        self.stdout.write(
            f"Checkpoint and verification throughput, closed windows up to {until:%Y-%m-%d %H:%M} UTC:"
        )
        for source in checkpoints.platform_sources(schemas):
            bounds = source.model._default_manager.using(source.using).aggregate(
                first=Min("occurred_at"), last=Max("occurred_at")
            )
            if bounds["first"] is None:
                continue
            start = checkpoints.window_floor(bounds["first"])
            line = []
            for label, entries in (("checkpoint", True), ("verify", False)):
                began = time.perf_counter()
                rows = 0
                for batch_start, batch_end in checkpoints.batches(start, until, checkpoints.batch_windows()):
                    rows += sum(
                        s.count
                        for s in checkpoints.compute_windows(
                            source, batch_start, batch_end, entries=entries
                        ).values()
                    )
                seconds = time.perf_counter() - began
                totals[label][0] += rows
                totals[label][1] += seconds
                line.append(f"{label} {rows / seconds if seconds else 0:,.0f} rows/s")
            self.stdout.write(f"  {source.name:14} {rows:>11,} rows: {', '.join(line)}")
        for label, (total_rows, total_seconds) in totals.items():
            rate = total_rows / total_seconds if total_seconds else 0
            self.stdout.write(
                f"{label}: {total_rows:,.0f} rows in {total_seconds:.1f} s = {rate:,.0f} rows/s"
            )
        checked, _ = chain.verify_chain()
        rate = checked.rows / checked.seconds if checked.seconds else 0
        self.stdout.write(
            f"back-office chain: {checked.rows:,} rows verified in {checked.seconds:.2f} s = {rate:,.0f} rows/s"
        )
