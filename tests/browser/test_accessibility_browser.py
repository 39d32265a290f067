"""Every page passes axe-core with no serious or critical violation, for every kind of visitor
(anonymous, volunteer, supervisor, admin, the kiosk tablet), at phone (360x740) and tablet
(768x1024) sizes, in Traditional Chinese and in English. At phone size, too, nothing scrolls
sideways (tables included) and every link, button and field is at least 48 px tall.

The pages are found by walking the URL map and crawling links (tests/walk.py), so pages added
later are audited without editing this file. axe-core is vendored (tests/browser/vendor/) and put
into each page with page.evaluate, which the page's Content-Security-Policy does not block.
One browser, one context per language, each page loaded once per language and audited at both
sizes by resizing the viewport (axe in English at phone size only: its rules read the markup,
which does not change with the language).

Run on the SQLite pass of the suite only: the markup does not depend on the database, and this
audit is the suite's longest part (about three minutes), which the PostgreSQL pass would repeat.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from models.people import Role
from tests.conftest import BACKEND
from tests.walk import build_world, endpoint_of, is_full_page, links_in, may_use, new_kiosk_code, seed_urls

from .conftest import assert_touch_targets, path_of, sign_in, small_touch_targets

pytestmark = pytest.mark.skipif(
    BACKEND != "sqlite", reason="markup does not depend on the database: audited on the SQLite pass")

AXE_SOURCE = (Path(__file__).parent / "vendor" / "axe-4.10.3.min.js").read_text(encoding="utf-8")
PHONE = {"width": 360, "height": 740}
TABLET = {"width": 768, "height": 1024}
LOCALES = {"zh-TW": "zh-Hant-TW", "en": "en"}
RUN_AXE = """async () => {
  const result = await axe.run(document, {resultTypes: ['violations']});
  return result.violations
    .filter(v => v.impact === 'serious' || v.impact === 'critical')
    .map(v => `${v.impact} ${v.id}: ${v.help} — ` + v.nodes.slice(0, 4).map(
      n => n.target.join(' ') + ' ' + n.html.slice(0, 100) + (n.failureSummary ? ' (' + n.failureSummary.split('\\n').slice(1, 2).join('').trim().slice(0, 140) + ')' : '')
    ).join(' | '));
}"""


def axe_violations(page: Page) -> list[str]:
    """Serious and critical axe-core violations of the page as it is now."""
    if not page.evaluate("typeof window.axe === 'object'"):
        page.evaluate(AXE_SOURCE)
    return page.evaluate(RUN_AXE)


SIDEWAYS = r"""() => {
  const out = [];
  // against the page's own width (clientWidth), not window.innerWidth: a phone (is_mobile)
  // widens its layout viewport to the content, so innerWidth grew with the overflow and hid it
  const page = document.documentElement.scrollWidth, width = document.documentElement.clientWidth;
  if (page > width) out.push(`the page is ${page}px wide, not ${width}px`);
  for (const w of document.querySelectorAll('.table-wrap')) {
    if (w.scrollWidth > w.clientWidth + 0.5)
      out.push(`a table scrolls sideways (${w.scrollWidth}px in ${w.clientWidth}px): ` + w.textContent.trim().replace(/\s+/g, ' ').slice(0, 50));
  }
  return out;
}"""


def audit_both_sizes(page: Page, where: str, axe_sizes=("phone", "tablet")) -> list[str]:
    found = []
    for name, size in (("phone", PHONE), ("tablet", TABLET)):
        if name != "phone" and name not in axe_sizes:
            continue
        page.set_viewport_size(size)
        if name in axe_sizes:
            found += [f"{where} [{name}] {v}" for v in axe_violations(page)]
        if name == "phone":  # nothing to scroll sideways on a phone, tables included; thumb-sized targets
            found += [f"{where} [phone] {v}" for v in page.evaluate(SIDEWAYS)]
            found += [f"{where} [phone] touch target: {v}" for v in small_touch_targets(page)]
    page.set_viewport_size(PHONE)
    return found


def walk(app, page: Page, world, role: Role | None, locale: str) -> tuple[list[str], set[str]]:
    """Open every page the role can reach; audit each full HTML page. Returns the violations and
    the endpoints audited."""
    from webapp.access import access_of

    with app.test_request_context():
        access = {rule.endpoint: access_of(rule.endpoint) for rule in app.url_map.iter_rules()}
    queue = [url for _ep, _m, url in seed_urls(app, world, role)]
    seen_endpoints: set[str] = set()
    audited: set[str] = set()
    problems: list[str] = []
    while queue:
        url = queue.pop(0)
        endpoint = endpoint_of(app, url)
        if endpoint is None or endpoint in seen_endpoints or endpoint == "auth.sign_out":
            continue
        if not may_use(access.get(endpoint), role):
            continue
        seen_endpoints.add(endpoint)
        # look before navigating: downloads (PDF, CSV, ...) and htmx fragments are not pages
        peek = page.request.get(url, max_redirects=0)
        if "text/html" not in (peek.headers.get("content-type") or "") or not is_full_page(peek.text()):
            continue
        response = page.goto(url)
        html = response.text()
        lang = page.evaluate("document.documentElement.lang")
        if lang != LOCALES[locale]:
            problems.append(f"{url} [{locale}] <html lang={lang!r}>, expected {LOCALES[locale]!r}")
        # axe's rules look at the markup, which is the same in both languages: the English pass
        # runs it at phone size only (this audit is the longest part of the suite), and still
        # checks what longer English text can break: sideways scrolling and touch targets on a
        # phone, and <html lang>.
        problems += audit_both_sizes(page, f"{url} [{locale}]",
                                     ("phone", "tablet") if locale == "zh-TW" else ("phone",))
        audited.add(endpoint)
        queue += links_in(html, page.url)
    return problems, audited


ROLES = {"anonymous": None, "volunteer": Role.volunteer, "supervisor": Role.supervisor, "admin": Role.admin}


@pytest.mark.parametrize("who", list(ROLES))
def test_every_page_passes_axe(app, db, open_page, who):
    world = build_world(db)
    role = ROLES[who]
    problems: list[str] = []
    audited: set[str] = set()
    for locale in LOCALES:
        page = open_page("phone", locale=locale)
        page.allow_console_error("status of 4")  # error pages reached on purpose (404/403/409)
        if role is not None:
            sign_in(page, world.emails[who], world.password, expect=None)
            assert path_of(page) == "/", f"{who} could not sign in"
        found, endpoints = walk(app, page, world, role, locale)
        problems += found
        audited |= endpoints
    # The walk really reached the pages of this role (guards against a walk that finds nothing).
    expected = {"anonymous": {"auth.sign_in", "openings.index"},
                "volunteer": {"home.index", "my_hours.index", "home.my_card", "auth.change_pin"},
                "supervisor": {"dashboard.index", "attendance.index", "slips.index"},
                "admin": {"sites.index", "kiosk.devices", "recruitment.index", "record_book.index",
                          "volunteer_status.status"}}[who]
    assert expected <= audited, f"walk missed {expected - audited}"
    assert not problems, f"{len(problems)} axe violation(s):\n" + "\n".join(problems)


def test_kiosk_screens_pass_axe_with_large_touch_targets(app, db, open_page):
    """The kiosk tablet (portrait 768x1024 and landscape 1024x768): enrolment, idle, the PIN step,
    the volunteer's screen — no serious/critical violation, every target at least 44 px."""
    world = build_world(db)
    from models.people import Volunteer
    from sqlalchemy import select

    volunteer = db.scalar(select(Volunteer).where(Volunteer.unit_id == world.unit_id).order_by(Volunteer.id))
    volunteer.set_pin("2468")
    db.commit()
    problems: list[str] = []
    for locale in LOCALES:
        page = open_page("tablet", locale=locale)
        page.set_viewport_size(TABLET)
        page.goto(f"/kiosk/enrol/{new_kiosk_code(db, world)}")
        problems += [f"enrol [{locale}] {v}" for v in axe_violations(page)]
        with page.expect_navigation():
            page.locator("main form button[type=submit]").click()
        expect(page.locator("#k-idle")).to_be_visible()
        screens = [("idle", lambda: None)]

        def pin_step():
            for digit in volunteer.volunteer_no:
                page.locator(f'.k-keypad [data-key="{digit}"]').click()
            page.locator(".k-keypad .k-key-ok").click()
            expect(page.locator("#k-pin")).to_have_class(re.compile("is-active"))

        def person_step():
            for digit in "2468":
                page.locator(f'.k-keypad [data-key="{digit}"]').click()
            page.locator(".k-keypad .k-key-ok").click()
            expect(page.locator(".k-person")).to_be_visible()

        screens += [("pin", pin_step), ("person", person_step)]
        for name, step in screens:
            step()
            for size in (TABLET, {"width": 1024, "height": 768}):
                page.set_viewport_size(size)
                problems += [f"kiosk {name} [{locale} {size['width']}x{size['height']}] {v}"
                             for v in axe_violations(page)]
                assert_touch_targets(page, 44)
        page.context.close()
    assert not problems, f"{len(problems)} axe violation(s):\n" + "\n".join(problems)
