"""Every page type, light and dark, in a real browser: screenshots for people to look at
(test-artifacts/screenshots/theme-<light|dark>-<nn>-<page>.png), each also checked to fit the
laptop window, to have nothing refused by the content security policy and, in dark mode, to keep
its text readable (no dark text left on the dark background by a hard-coded colour)."""

from __future__ import annotations

import pytest
from django.contrib.admin.utils import quote
from django.urls import reverse

from apps.refcluster import generator

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")

HEAVY = str(generator.user_id(generator.HEAVY_USER_INDEX))
# The lowest contrast accepted between a text and its background in dark mode (WCAG AA for large
# text; badges and quiet text sit between 3 and 4.5, what the stock admin's own colours reach).
MIN_DARK_CONTRAST = 3.0
# Luminance and contrast of every visible text element against its nearest opaque background.
CONTRAST_SCRIPT = """
function rgb(c) { const m = c.match(/[\\d.]+/g); return m ? m.map(Number) : [0, 0, 0, 0]; }
function lum([r, g, b]) {
  const f = v => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
  return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
}
function background(el) {
  for (let e = el; e; e = e.parentElement) {
    const c = rgb(getComputedStyle(e).backgroundColor);
    if (c.length < 4 || c[3] > 0.5) return c;
  }
  return [255, 255, 255];
}
const bad = [];
for (const el of document.querySelectorAll('#content *, #header *')) {
  const own = [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
  const box = el.getBoundingClientRect();
  if (!own || box.width === 0 || box.height === 0 || getComputedStyle(el).visibility === 'hidden') continue;
  const fg = lum(rgb(getComputedStyle(el).color)), bg = lum(background(el));
  const ratio = (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
  if (ratio < arguments[0]) bad.push(el.tagName + '.' + el.className + ' "' + el.textContent.trim().slice(0, 30) + '" ' + ratio.toFixed(2));
}
return bad.slice(0, 8);
"""


def set_theme(page, theme: str) -> None:
    """What the operating system asks for: the admin's "auto" theme follows it."""
    page.driver.execute_cdp_cmd(
        "Emulation.setEmulatedMedia", {"features": [{"name": "prefers-color-scheme", "value": theme}]}
    )


def visit(page, theme: str, number: int, name: str, path: str, wait: str = "#content") -> None:
    page.open(path)
    page.wait_for_page(wait)
    page.shot(f"theme-{theme}", number, name)
    if theme == "dark":
        assert page.driver.execute_script("return getComputedStyle(document.body).backgroundColor") not in (
            "rgb(255, 255, 255)",
            "rgba(0, 0, 0, 0)",
        ), f"{path} is not dark"
        unreadable = page.driver.execute_script(CONTRAST_SCRIPT, MIN_DARK_CONTRAST)
        assert not unreadable, f"{path} in dark mode: {unreadable}"


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_every_page_type_in_light_and_dark(page, staff_user, cluster_admin, theme):
    set_theme(page, theme)
    try:
        _walk(page, staff_user, cluster_admin, theme)
    finally:
        set_theme(page, "light")


def _walk(page, staff_user, cluster_admin, theme: str) -> None:
    from apps.access.preferences import set_time_zone

    charge, request_id = cluster_admin.execute(
        "SELECT c.id, a.request_id FROM payments.charges c JOIN payments.audit_log a ON a.entity_id = c.id::text"
        " WHERE c.user_id = %s AND a.request_id IS NOT NULL ORDER BY c.created_at DESC LIMIT 1",
        [HEAVY],
    ).fetchone()
    compliance = staff_user("compliance", f"cora-{theme}")
    set_time_zone(user=compliance, time_zone="Europe/London")
    staff_user("support", f"sam-{theme}")

    # A visitor: the login page and a missing page, both in the frame.
    page.open("/admin/login/")
    page.wait_for_page("#login-form")
    page.shot(f"theme-{theme}", 1, "login")
    visit(page, theme, 2, "404-visitor", "/no-such-page/")

    page.log_in(f"cora-{theme}")
    pages = (
        ("dashboard", "/admin/"),
        ("changelist", reverse("admin:payments_charge_changelist")),
        ("detail", reverse("admin:payments_charge_change", args=[quote(str(charge))])),
        ("explorer", reverse("explorer:index")),
        ("customer", reverse("customers:detail", args=[HEAVY])),
        ("request-story", reverse("explorer:request", args=[request_id])),
        ("conformance", "/admin/conformance/"),
        ("watch-inbox", reverse("watch:inbox")),
        ("watch-flags", reverse("watch:flags")),
        ("audit-trail", "/admin/audit-trail/"),
        ("preferences", reverse("preferences")),
        ("404", reverse("admin:payments_charge_change", args=["00000000-0000-0000-0000-000000000000"])),
        ("400", reverse("admin:payments_charge_changelist") + "?p=not-a-page"),
    )
    for number, (name, path) in enumerate(pages, start=3):
        visit(page, theme, number, name, path)

    page.log_in(f"sam-{theme}")
    visit(page, theme, 3 + len(pages), "403", "/admin/conformance/")
