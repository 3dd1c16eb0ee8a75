"""Benchmark platform changelists against the stock Django admin and bare SQL, plus the customer
page and the audit explorer, on whatever cluster the settings point at (run on the large seed).

Each table is measured on its first page, filtered by brand, on page ``--deep-page`` and on its
last page (the deepest there is). Prints medians and ratios; asserts nothing about time. Columns:

- ours / stock: our changelist and a stock ModelAdmin of the same table, over the test client;
- bare page: the least a Django page can do with the rows: the bare SQL run by a plain view behind
  the same middleware, its rows in an HTML table (no admin);
- SQL: the bare query of the page's rows alone, run on a cursor: the database floor;
- ours SQL: the time our page spent in the platform's database (every platform query, summed);
- chrome: our admin page when no row matches (what the admin costs before any row).
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from typing import Any, cast

from django.apps import apps
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser
from django.db import connections, router
from django.db.backends.signals import connection_created
from django.http import HttpRequest, HttpResponse
from django.template import Context, Template
from django.test import Client, RequestFactory, override_settings
from django.urls import include, path, reverse

from apps.console.admin import PlatformModelAdmin
from apps.core.benchmarking import measure, median_ms, require_migrated
from apps.core.changelist import encode_position
from apps.core.routers import is_platform_alias
from apps.refcluster import generator

TABLES = (
    "commerce.AuditLog", "analytics.Event", "commerce.Order", "payments.Charge",
    "accounting.Transaction", "comms.Message", "identity.User",
)  # fmt: skip

stock_site = admin.AdminSite(name="stock")
# The benchmark browses as a superuser: what the policy lets a superuser order by.
_viewer = RequestFactory().get("/")
_viewer.user = get_user_model()(username="benchmark", is_staff=True, is_superuser=True, is_active=True)
for label in TABLES:
    model = apps.get_model(label)
    date = PlatformModelAdmin(model, admin.site).get_date_drilldown_field(_viewer)
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
                "list_per_page": PlatformModelAdmin.list_per_page,  # the same rows per page as ours
            },
        ),
    )

# key -> (alias, sql, params) of the queries bare_page serves.
BARE_PAGES: dict[str, tuple[str, str, tuple[Any, ...]]] = {}
BARE_TEMPLATE = (
    "<!doctype html><title>{{ key }}</title><table>"
    "{% for row in rows %}<tr>{% for value in row %}<td>{{ value }}</td>{% endfor %}</tr>{% endfor %}"
    "</table>"
)


def bare_page(request: HttpRequest, key: str) -> HttpResponse:
    alias, sql, params = BARE_PAGES[key]
    with connections[alias].cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return HttpResponse(Template(BARE_TEMPLATE).render(Context({"rows": rows, "key": key})))


urlpatterns = [
    path("stock-admin/", stock_site.urls),
    path("bare-page/<str:key>/", bare_page),
    path("", include("backoffice.urls")),
]


def _no_statement_timeout(sender: Any, connection: Any, **kwargs: Any) -> None:
    if is_platform_alias(connection.alias):
        with connection.cursor() as cursor:
            cursor.execute("SET statement_timeout = 0")


class Command(BaseCommand):
    help = (
        "Benchmark changelists (ours vs stock admin vs bare SQL), the customer page and the audit explorer."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--runs", type=int, default=5)
        parser.add_argument("--deep-page", type=int, default=1000)
        parser.add_argument(
            "--all",
            action="store_true",
            help="Instead: the first page of every platform changelist, slowest first.",
        )

    def handle(self, *args: Any, runs: int, deep_page: int, all: bool, **options: Any) -> None:
        require_migrated()
        # The stock admin's deepest pages take longer than the platform's statement timeout; lift
        # it for this run so they are measured rather than cancelled (ours never comes near it).
        connection_created.connect(_no_statement_timeout)
        for alias in filter(is_platform_alias, connections):
            connections[alias].close()
        with override_settings(ROOT_URLCONF=__name__, ALLOWED_HOSTS=["*"]):
            if all:
                self._run_all(runs=runs)
            else:
                self._run(runs=runs, deep_page=deep_page)

    def _client(self) -> Client:
        user, _ = get_user_model().objects.get_or_create(
            username="benchmark", defaults={"is_staff": True, "is_superuser": True}
        )
        client = Client()
        client.force_login(user)
        return client

    def _getter(self, client: Client) -> Callable[[str], Callable[[], Any]]:
        def get(url: str) -> Callable[[], Any]:
            def run() -> None:
                response = client.get(url)
                assert response.status_code == 200, (url, response.status_code)

            return run

        return get

    def _run_all(self, *, runs: int) -> None:
        get = self._getter(self._client())
        registry = [
            (m, admin.site.get_model_admin(m))
            for m in apps.get_models()
            if admin.site.is_registered(m) and isinstance(admin.site.get_model_admin(m), PlatformModelAdmin)
        ]
        timings = []
        for done, (model, _) in enumerate(registry, 1):
            url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
            timings.append((measure(get(url), runs), model._meta.label))
            self.stderr.write(f"\r{done}/{len(registry)} changelists", ending="")
        self.stderr.write("")
        self.stdout.write(
            f"first page of every platform changelist, medians of {runs} runs, ms, slowest first"
        )
        self.stdout.write(f"{'changelist':<40}{'page':>8}{'SQL':>8}")
        for (wall, sql), label in sorted(timings, reverse=True):
            self.stdout.write(f"{label:<40}{wall:>8.1f}{sql:>8.1f}")
        walls = sorted(wall for (wall, _), _ in timings)
        self.stdout.write(
            f"\n{len(walls)} changelists: median {statistics.median(walls):.1f} ms, slowest {walls[-1]:.1f} ms, "
            f"{sum(w >= 200 for w in walls)} at or over 200 ms"
        )

    def _run(self, *, runs: int, deep_page: int) -> None:
        client = self._client()
        get = self._getter(client)

        self.stdout.write(f"medians of {runs} runs, ms (stock admin: {max(2, runs // 2)} runs)")
        header = (
            f"{'page':<44}{'ours':>7}{'stock':>8}{'bare page':>10}{'chrome':>7}{'SQL':>6}{'ours SQL':>9}"
            f"{'stock/ours':>11}{'ours/bare page':>15}{'ours/SQL':>9}{'ours SQL/SQL':>13}"
        )
        self.stdout.write(header)
        per_page = PlatformModelAdmin.list_per_page
        for label in TABLES:
            model = apps.get_model(label)
            ours_admin = cast(PlatformModelAdmin, admin.site.get_model_admin(model))  # TABLES are ours
            date = ours_admin.get_date_drilldown_field(_viewer)
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
            alias = router.db_for_read(model)

            def bare(queryset: Any, alias: str = alias) -> tuple[Callable[[], Any], Callable[[], Any]]:
                """The bare query on a cursor, and the bare page serving it."""
                sql, params = queryset.query.sql_with_params()
                key = str(len(BARE_PAGES))
                BARE_PAGES[key] = (alias, sql, params)

                def run() -> None:
                    with connections[alias].cursor() as c:
                        c.execute(sql, params)
                        c.fetchall()

                return run, get(f"/bare-page/{key}/")

            def deep(
                number: int, qs: Any = qs, date: str | None = date, model: Any = model
            ) -> tuple[str, Any]:
                """Page ``number``: our cursor link to it and the bare keyset query of its rows."""
                row = qs.values_list(date or "pk", "pk")[
                    (number - 1) * per_page - 1 : (number - 1) * per_page
                ][0]
                # Without a date the list pages by number only: the cursor is ignored.
                cursor = encode_position(model, model._meta.get_field(date), row[0], row[1]) if date else ""
                keyset = (
                    qs.filter(**{f"{date}__lte": row[0]}).exclude(**{date: row[0], "pk__gte": row[1]})
                    if date
                    else qs.filter(pk__lt=row[1])
                )
                return cursor, keyset[:per_page]

            last_page = -(-qs.count() // per_page)  # the bench's own set-up: one exact count per table
            cases = [
                ("first page", get(ours), get(stock), bare(qs[:per_page])),
                (
                    "brand=capri",
                    get(ours + "?brand_id=capri"),
                    get(stock + "?brand_id__exact=capri"),
                    bare(qs.filter(brand_id="capri")[:per_page]),
                ),
            ]
            for number, name in (
                (deep_page, f"page {deep_page:,}"),
                (last_page, f"last page, {last_page:,}"),
            ):
                cursor, keyset = deep(number)
                cases.append((name, get(f"{ours}?cursor={cursor}"), get(f"{stock}?p={number}"), bare(keyset)))
            chrome = median_ms(get(ours + "?brand_id=no-such-brand"), runs)
            for name, a, b, (c, d) in cases:
                (ta, ta_sql), tb = measure(a, runs), median_ms(b, max(2, runs // 2))
                tc, td = median_ms(c, runs), median_ms(d, runs)
                self.stdout.write(
                    f"{label + ' ' + name:<44}{ta:>7.1f}{tb:>8.1f}{td:>10.1f}{chrome:>7.1f}{tc:>6.1f}{ta_sql:>9.1f}"
                    f"{tb / ta:>10.1f}x{ta / td:>14.1f}x{ta / tc:>8.1f}x{ta_sql / tc:>12.1f}x"
                )
        heavy = str(generator.user_id(generator.HEAVY_USER_INDEX))
        customer = median_ms(get(reverse("customers:detail", args=[heavy])), runs)
        explorer = median_ms(get(reverse("explorer:index") + "?brand=capri"), runs)
        self.stdout.write(f"\ncustomer page (heavy customer {heavy}): {customer:.1f} ms")
        self.stdout.write(f"audit explorer, first page brand=capri: {explorer:.1f} ms")
