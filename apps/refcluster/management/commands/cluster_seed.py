import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from apps.refcluster import generator, services


class Command(BaseCommand):
    help = "Fill the migrated reference cluster with deterministic synthetic data."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--scale", choices=sorted(generator.SCALES), default="demo")
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--database", help="Cluster database name (default: the admin URL's).")
        parser.add_argument(
            "--fresh", action="store_true", help="Drop and rebuild the cluster database before seeding."
        )
        parser.add_argument(
            "--partitioned",
            action="store_true",
            help="Build every audit_log as monthly range partitions on occurred_at (a new cluster: with --fresh).",
        )

    def handle(
        self,
        *args: object,
        scale: str,
        seed: int,
        database: str | None,
        fresh: bool,
        partitioned: bool,
        **options: object,
    ) -> None:
        admin_url = settings.REFCLUSTER_ADMIN_URL
        if not admin_url:
            raise CommandError("Set REFCLUSTER_ADMIN_URL (a superuser URL of the reference cluster).")
        if fresh:
            name = database or services.parse_url(admin_url)["NAME"]
            services.create_database(admin_url=admin_url, name=name, replace=True)
        services.migrate_cluster(admin_url=admin_url, database=database, partitioned=partitioned)
        if partitioned:
            plain = [
                s
                for s, p in services.audit_log_layout(admin_url=admin_url, database=database).items()
                if not p
            ]
            if plain:
                raise CommandError(
                    f"The audit logs of {', '.join(sorted(plain))} were already built unpartitioned; "
                    "add --fresh to rebuild the cluster partitioned."
                )

        started = time.monotonic()
        with tqdm(total=len(generator.steps(generator.SCALES[scale])), unit="step", disable=None) as bar:

            def progress(label: str, rows: int) -> None:
                bar.set_postfix_str(f"{label} +{rows:,}")
                bar.update(1)

            counts = services.seed_cluster(
                admin_url=admin_url, database=database, scale=scale, seed=seed, progress=progress
            )
        if counts is None:
            self.stdout.write("Already seeded; use --fresh to rebuild.")
            return
        elapsed = time.monotonic() - started
        audit = sum(n for table, n in counts.items() if table.endswith(".audit_log"))
        self.stdout.write(
            self.style.SUCCESS(
                f"Seeded scale={scale} seed={seed} in {elapsed:.1f}s: {sum(counts.values()):,} rows, "
                f"{audit:,} audit rows, {counts.get('analytics.events', 0):,} analytics events."
            )
        )
