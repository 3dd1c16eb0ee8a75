"""Benchmark platform changelists against the stock Django admin and bare SQL, plus the customer
page and the audit explorer, on whatever cluster the settings point at (run on the large seed).

Prints medians and ratios; asserts nothing about time.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

from django.apps import apps
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.core import signing
from django.core.management.base import BaseCommand, CommandParser
from django.db import connections, router
from django.test import Client, override_settings
from django.urls import include, path, reverse

from apps.core.admin import PlatformModelAdmin
from apps.core.changelist import CURSOR_SALT
from apps.refcluster import generator

TABLES = (
    "commerce.AuditLog", "analytics.Event", "commerce.Order", "payments.Charge",
    "accounting.Transaction", "comms.Message", "identity.User",
)  # fmt: skip

stock_site = admin.AdminSite(name="stock")
for label in TABLES:
    model = apps.get_model(label)
    date = PlatformModelAdmin(model, admin.site).get_date_drilldown_field()
    stock_site.register(
        model,
        type(
            f"Stock{model.__name__}Admin",
            (admin.ModelAdmin,),
            {
                # What a developer would write first: counts, offset pages, DISTINCT filter choices.
                "list_display": [f.name for f in model._meta.concrete_fields][:7],
                "list_filter": ["brand_id"],
                "date_hierarchy": date,
                "ordering": [f"-{date}"] if date else None,
            },
        ),
    )

urlpatterns = [path("stock-admin/", stock_site.urls), path("", include("backoffice.urls"))]


def median_ms(fn: Callable[[], Any], runs: int) -> float:
    fn()
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


class Command(BaseCommand):
    help = (
        "Benchmark changelists (ours vs stock admin vs bare SQL), the customer page and the audit explorer."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--runs", type=int, default=5)
        parser.add_argument("--deep-page", type=int, default=1000)

    def handle(self, *args: Any, runs: int, deep_page: int, **options: Any) -> None:
        with override_settings(ROOT_URLCONF=__name__, ALLOWED_HOSTS=["*"]):
            self._run(runs=runs, deep_page=deep_page)

    def _run(self, *, runs: int, deep_page: int) -> None:
        user, _ = get_user_model().objects.get_or_create(
            username="benchmark", defaults={"is_staff": True, "is_superuser": True}
        )
        client = Client()
        client.force_login(user)

        def get(url: str) -> Callable[[], Any]:
            def run() -> None:
                response = client.get(url)
                assert response.status_code == 200, (url, response.status_code)

            return run

        self.stdout.write(f"medians of {runs} runs, ms (stock admin: {max(2, runs // 2)} runs)")
        header = f"{'page':<40}{'ours':>9}{'stock':>10}{'SQL':>8}{'stock/ours':>12}{'ours/SQL':>10}"
        self.stdout.write(header)
        for label in TABLES:
            model = apps.get_model(label)
            ours_admin = admin.site.get_model_admin(model)
            date = ours_admin.get_date_drilldown_field()
            if date and model._meta.get_field(date).null:
                date = None  # keyset paging needs a NOT NULL column; such lists page by primary key
            info = (model._meta.app_label, model._meta.model_name)
            ours = reverse("admin:%s_%s_changelist" % info)  # noqa: UP031
            stock = reverse("stock:%s_%s_changelist" % info)  # noqa: UP031
            qs = (
                model._default_manager.order_by(f"-{date}", "-pk")
                if date
                else model._default_manager.order_by("-pk")
            )
            deep_row = qs.values_list(date or "pk", "pk")[(deep_page - 1) * 50 - 1 : (deep_page - 1) * 50][0]
            value = deep_row[0].isoformat() if hasattr(deep_row[0], "isoformat") else str(deep_row[0])
            cursor = signing.dumps([value, str(deep_row[1])], salt=CURSOR_SALT)
            alias = router.db_for_read(model)

            def bare(queryset: Any, alias: str = alias) -> Callable[[], Any]:
                sql, params = queryset.query.sql_with_params()

                def run() -> None:
                    with connections[alias].cursor() as c:
                        c.execute(sql, params)
                        c.fetchall()

                return run

            page = qs[:50]
            filtered = qs.filter(brand_id="capri")[:50]
            keyset = (
                qs.filter(**{f"{date}__lte": deep_row[0]}).exclude(
                    **{date: deep_row[0], "pk__gte": deep_row[1]}
                )[:50]
                if date
                else qs.filter(pk__lt=deep_row[1])[:50]
            )
            cases = [
                ("first page", get(ours), get(stock), bare(page)),
                (
                    "brand=capri",
                    get(ours + "?brand_id=capri"),
                    get(stock + "?brand_id__exact=capri"),
                    bare(filtered),
                ),
                (
                    f"page {deep_page}",
                    get(f"{ours}?cursor={cursor}"),
                    get(f"{stock}?p={deep_page}"),
                    bare(keyset),
                ),
            ]
            for name, a, b, c in cases:
                ta, tb, tc = median_ms(a, runs), median_ms(b, max(2, runs // 2)), median_ms(c, runs)
                self.stdout.write(
                    f"{label + ' ' + name:<40}{ta:>9.1f}{tb:>10.1f}{tc:>8.1f}{tb / ta:>11.1f}x{ta / tc:>9.1f}x"
                )
        heavy = str(generator.user_id(generator.HEAVY_USER_INDEX))
        customer = median_ms(get(reverse("customers:detail", args=[heavy])), runs)
        explorer = median_ms(get(reverse("explorer:index") + "?brand=capri"), runs)
        self.stdout.write(f"\ncustomer page (heavy customer {heavy}): {customer:.1f} ms")
        self.stdout.write(f"audit explorer, first page brand=capri: {explorer:.1f} ms")
