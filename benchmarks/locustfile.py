"""A load run of several staff sessions mixing the back-office's heavy pages (make load).

Each simulated staff member logs in through the admin login form, then keeps opening the
customer page of a heavy customer, the audit explorer, big changelists and a customer search.
"""

from __future__ import annotations

import os
import re

from locust import HttpUser, between, task

USERNAME = os.environ.get("LOAD_USERNAME", "loadtest")
PASSWORD = os.environ["LOAD_PASSWORD"]
HEAVY_USER = os.environ["LOAD_HEAVY_USER"]
HEAVY_EMAIL = os.environ.get("LOAD_HEAVY_EMAIL", "harper.quinn@example.com")


#: Seconds a staff member spends on a page before the next one ("min-max"). The default is a
#: person reading (a customer page, an audit row); LOAD_THINK=0.2-1.0 turns the run into a stress
#: test of how many pages a second the machine serves.
THINK = tuple(float(s) for s in os.environ.get("LOAD_THINK", "3-10").split("-", 1))


class Staff(HttpUser):
    wait_time = between(THINK[0], THINK[-1])

    def on_start(self) -> None:
        page = self.client.get("/admin/login/", name="login form")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
        self.client.post(
            "/admin/login/?next=/admin/",
            {"username": USERNAME, "password": PASSWORD, "csrfmiddlewaretoken": token},
            headers={"Referer": f"{self.host}/admin/login/"},
            name="login",
        )

    @task(3)
    def customer_page(self) -> None:
        self.client.get(f"/customers/{HEAVY_USER}/", name="customer page")

    @task(3)
    def audit_explorer(self) -> None:
        self.client.get("/audit/?brand=capri", name="audit explorer, brand")

    @task(2)
    def audit_changelist(self) -> None:
        self.client.get("/admin/commerce/auditlog/", name="commerce audit_log changelist")

    @task(2)
    def events_changelist(self) -> None:
        self.client.get("/admin/analytics/event/?brand_id=capri", name="analytics events, brand")

    @task(1)
    def orders_changelist(self) -> None:
        self.client.get("/admin/commerce/order/", name="orders changelist")

    @task(1)
    def search(self) -> None:
        self.client.get(f"/customers/?q={HEAVY_EMAIL}", name="customer search", allow_redirects=False)
