"""Debian's headless Chromium, driven by Selenium through /usr/bin/chromedriver, against
pytest-django's live server (a real HTTP server on loopback) and, where a journey acts, the
service stand-in.

No browser or driver is ever downloaded: the driver path is given explicitly, so Selenium Manager
never runs. Without Chromium the tests skip with the reason, except on CI (``CI=true``), where a
missing browser is a broken set-up and fails instead.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

SCREENSHOTS = Path(settings.BASE_DIR) / "test-artifacts" / "screenshots"
WINDOW = (1366, 768)  # the laptop the back-office is designed for
WAIT_SECONDS = 15
# As the machine notes say: without the networking flags Chromium keeps dialling Google's
# services, which this closed network refuses, many at a time.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-quic",
    "--password-store=basic",
)
STAFF_PASSWORD = "browser-journey-Pa55word!"  # a throwaway test account's


def _find(name: str) -> str | None:
    return shutil.which(name) or (f"/usr/bin/{name}" if Path(f"/usr/bin/{name}").exists() else None)


def require_chromium() -> tuple[str, str]:
    """The Chromium and ChromeDriver paths; skip (or fail on CI) when either is missing."""
    found = {name: _find(name) for name in ("chromium", "chromedriver")}
    missing = [name for name, path in found.items() if path is None]
    if missing:
        reason = (
            f"{' and '.join(missing)} not installed: `make browser-deps` installs Debian's chromium "
            "and chromium-driver (needs root)"
        )
        if os.environ.get("CI", "").lower() in ("true", "1"):
            pytest.fail(f"CI must run the browser tests: {reason}", pytrace=False)
        pytest.skip(reason)
    return found["chromium"], found["chromedriver"]  # type: ignore[return-value]


class Browser:
    """A Selenium driver plus the few things every journey does: open, log in, wait, shoot."""

    def __init__(self, driver: Any, downloads: Path) -> None:
        self.driver = driver
        self.downloads = downloads
        self.base_url = ""

    # --- navigation -----------------------------------------------------------------------
    def open(self, path: str) -> None:
        self.driver.get(self.base_url + path)

    @property
    def path(self) -> str:
        return self.driver.current_url.removeprefix(self.base_url)

    def wait_for(self, condition: Callable[[Any], Any], message: str = "") -> Any:
        from selenium.webdriver.support.ui import WebDriverWait

        return WebDriverWait(self.driver, WAIT_SECONDS).until(condition, message)

    def wait_for_page(self, css: str) -> Any:
        """Wait until an element of the next page is there (after a click or a submit)."""
        from selenium.common.exceptions import TimeoutException
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support import expected_conditions as ec

        try:
            return self.wait_for(ec.presence_of_element_located((By.CSS_SELECTOR, css)))
        except TimeoutException:
            # Say what the page said instead (a form error, a 404), not only what was missing.
            errors = [e.text for e in self.find_all(".errornote, .errorlist, h1")]
            raise AssertionError(f"no {css} on {self.path}; the page says {errors}") from None

    def find(self, css: str) -> Any:
        from selenium.webdriver.common.by import By

        return self.driver.find_element(By.CSS_SELECTOR, css)

    def find_all(self, css: str) -> list[Any]:
        from selenium.webdriver.common.by import By

        return self.driver.find_elements(By.CSS_SELECTOR, css)

    def text(self, css: str = "body") -> str:
        return self.find(css).text

    def fill(self, css: str, value: str) -> None:
        field = self.find(css)
        field.clear()
        field.send_keys(value)

    def submit(self, css: str, then: str) -> None:
        """Click a submit button and wait for the next page's ``then`` element."""
        self.click_link(self.find(css), then)

    def click_link(self, element: Any, then: str) -> None:
        """Click, wait until the old page is gone, then for the next page's ``then`` element."""
        from selenium.webdriver.support import expected_conditions as ec

        old = self.find("html")
        element.click()
        self.wait_for(ec.staleness_of(old), "the click did not load a page")
        self.wait_for_page(then)

    # --- session --------------------------------------------------------------------------
    def log_out(self) -> None:
        self.driver.execute_cdp_cmd("Network.clearBrowserCookies", {})

    def log_in(self, username: str, password: str = STAFF_PASSWORD, *, otp: Callable[[], str] | None = None,
               shot: tuple[str, int] | None = None) -> None:  # fmt: skip
        """Through the real login form; ``otp`` computes the TOTP code when 2FA is enforced.

        With 2FA the username, password and code go in one submission and are checked together
        (apps.access.forms.TwoFactorLoginForm). ``shot`` = (journey, number) saves the filled form.
        """
        self.log_out()
        self.open("/admin/login/?next=/admin/")
        self.wait_for_page("#login-form")
        self.fill("#id_username", username)
        self.fill("#id_password", password)
        if otp is not None:
            self.fill("#id_otp_token", otp())
        if shot:
            self.shot(shot[0], shot[1], "login")
        self.submit("#login-form input[type=submit]", "#user-tools")

    # --- artifacts ------------------------------------------------------------------------
    def shot(self, journey: str, number: int, page: str, *, at: str | None = None) -> Path:
        """Save what a person sees on the laptop screen as <journey>-<nn>-<page>.png.

        The window, not the whole page: that is what has to be readable at 1366x768. ``at``
        scrolls an element to the top of the window first (a panel lower on a long page).
        """
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{journey}-{number:02d}-{page}.png"
        if at is not None:
            self.driver.execute_script("arguments[0].scrollIntoView({block: 'start'})", self.find(at))
        self.driver.save_screenshot(str(path))
        self.assert_fits_the_window()
        self.assert_nothing_blocked()
        self.assert_accessible()
        return path

    def assert_accessible(self) -> None:
        """axe-core finds no serious or critical WCAG 2 A/AA violation (tests/browser/axe.py)."""
        from tests.browser.axe import assert_accessible

        assert_accessible(self.driver, self.path)

    def assert_nothing_blocked(self) -> None:
        """No stylesheet, script or image was refused by the content security policy (a refused
        stylesheet leaves a page unstyled without failing anything else)."""
        refused = [
            entry["message"]
            for entry in self.driver.get_log("browser")
            if "Content Security Policy" in entry["message"] or "Refused to" in entry["message"]
        ]
        assert not refused, f"{self.path}: {refused}"

    def assert_fits_the_window(self) -> None:
        """The page never scrolls sideways on the laptop; name the widest culprits if it does."""
        overflow = self.driver.execute_script(
            "const w = document.documentElement.clientWidth;"
            "if (document.documentElement.scrollWidth <= w) return [];"
            "return [...document.querySelectorAll('body *')]"
            ".filter(e => e.getBoundingClientRect().right > w + 1 && getComputedStyle(e).position !== 'fixed')"
            ".slice(0, 5).map(e => e.tagName + '#' + e.id + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right));"
        )
        assert not overflow, f"{self.path} is wider than the window: {overflow}"

    def wait_for_download(self, suffix: str, timeout: float = WAIT_SECONDS) -> Path:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            done = [p for p in self.downloads.iterdir() if p.name.endswith(suffix)]
            partial = [p for p in self.downloads.iterdir() if p.name.endswith(".crdownload")]
            if done and not partial:
                return done[0]
            time.sleep(0.1)
        raise AssertionError(f"no {suffix} download in {self.downloads}: {list(self.downloads.iterdir())}")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One headless Chromium per module, 1366x768, with a fresh profile and a download folder."""
    chromium, chromedriver = require_chromium()
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    with tempfile.TemporaryDirectory(prefix="bo-chromium-") as scratch:
        profile, downloads = Path(scratch, "profile"), Path(scratch, "downloads")
        downloads.mkdir()
        options = Options()
        options.binary_location = chromium
        for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={profile}", f"--window-size={WINDOW[0]},{WINDOW[1]}"):
            options.add_argument(flag)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})  # to see CSP refusals
        options.add_experimental_option(
            "prefs", {"download.default_directory": str(downloads), "download.prompt_for_download": False}
        )
        driver = webdriver.Chrome(service=Service(executable_path=chromedriver), options=options)
        try:
            # The viewport itself is the laptop's screen (a window size would include its frame).
            driver.execute_cdp_cmd(
                "Emulation.setDeviceMetricsOverride",
                {"width": WINDOW[0], "height": WINDOW[1], "deviceScaleFactor": 1, "mobile": False},
            )
            # Headless Chromium refuses downloads unless told where they go.
            driver.execute_cdp_cmd(
                "Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)}
            )
            yield Browser(driver, downloads)
        finally:
            driver.quit()


@pytest.fixture
def page(browser: Browser, live_server: Any) -> Browser:
    """The module's browser, pointed at the live server, logged out."""
    browser.base_url = live_server.url
    browser.log_out()
    return browser


@pytest.fixture
def staff_user(django_user_model: Any) -> Callable[..., Any]:
    """A staff member with a role, brands and a real password (journeys log in through the form)."""
    from apps.access.services import assign_role

    def make(role: str, username: str, *, brands: tuple[str, ...] = ()) -> Any:
        user = django_user_model.objects.create_user(username, password=STAFF_PASSWORD)
        assign_role(user=user, role=role, brands=brands, platform_wide=not brands)
        return user

    return make
