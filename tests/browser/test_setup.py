"""Without Chromium the browser tests skip with the reason, except on CI, where they fail."""

from __future__ import annotations

import pytest

from tests.browser import conftest


@pytest.fixture
def no_chromium(monkeypatch):
    monkeypatch.setattr(conftest, "_find", lambda name: None)


def test_a_developer_without_chromium_gets_a_skip_that_says_how_to_install_it(no_chromium, monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="make browser-deps"):
        conftest.require_chromium()


def test_ci_without_chromium_fails_instead_of_skipping(no_chromium, monkeypatch):
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI must run the browser tests"):
        conftest.require_chromium()


def test_with_chromium_installed_both_paths_are_found():
    chromium, chromedriver = conftest.require_chromium()
    assert chromium.endswith("chromium") and chromedriver.endswith("chromedriver")
