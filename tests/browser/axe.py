"""axe-core in the browser tests: every page a journey screenshots is checked for WCAG 2 A/AA
violations, and one with a serious or critical impact fails the test.

axe-core is the npm package pinned in package.json / package-lock.json at the repository root and
installed by ``make node-deps`` (``npm ci``; ``make test`` runs it): it is read from
node_modules and injected into the page through WebDriver, so nothing is fetched at run time and
the page's content security policy (scripts from 'self' only) is not loosened for it.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

AXE_JS = Path(settings.BASE_DIR) / "node_modules" / "axe-core" / "axe.min.js"
TAGS = ("wcag2a", "wcag2aa")
FAILING_IMPACTS = ("serious", "critical")
RUN = """
const done = arguments[arguments.length - 1];
axe.run(document, {runOnly: {type: "tag", values: arguments[0]}, resultTypes: ["violations"], preload: false})
  .then(result => done({violations: result.violations.map(v => ({
      id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
      targets: v.nodes.slice(0, 5).map(n => n.target.join(" ") + (n.failureSummary ? " — " + n.failureSummary.split("\\n").slice(1, 2).join("").trim() : "")),
      count: v.nodes.length}))}))
  .catch(error => done({error: String(error)}));
"""


@cache
def axe_source() -> str:
    """axe.min.js from node_modules; skip (or fail on CI) when `make node-deps` has not run."""
    if not AXE_JS.exists():
        reason = f"{AXE_JS} is missing: `make node-deps` installs axe-core (npm ci)"
        if os.environ.get("CI", "").lower() in ("true", "1"):
            pytest.fail(f"CI must run the accessibility checks: {reason}", pytrace=False)
        pytest.skip(reason)
    return AXE_JS.read_text()


def violations(driver: Any) -> list[dict[str, Any]]:
    """axe-core's WCAG 2 A/AA violations on the page the driver shows, every impact."""
    if not driver.execute_script("return typeof window.axe === 'object'"):
        driver.execute_script(axe_source())
    driver.set_script_timeout(60)
    result = driver.execute_async_script(RUN, list(TAGS))
    if "error" in result:
        raise AssertionError(f"axe-core failed to run: {result['error']}")
    return list(result["violations"])


def describe(found: list[dict[str, Any]]) -> str:
    lines = []
    for v in found:
        lines.append(f"- {v['id']} ({v['impact']}, {v['count']} element(s)): {v['help']} [{v['helpUrl']}]")
        lines.extend(f"    at {target}" for target in v["targets"])
    return "\n".join(lines)


def assert_accessible(driver: Any, where: str) -> None:
    """No serious or critical WCAG 2 A/AA violation on the page, or a message naming each rule,
    its elements and the rule's help page."""
    serious = [v for v in violations(driver) if v["impact"] in FAILING_IMPACTS]
    assert not serious, (
        f"axe-core: {where} has serious or critical accessibility violations:\n{describe(serious)}"
    )
