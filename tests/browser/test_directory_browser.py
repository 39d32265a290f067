"""The volunteer directory's pages in a real browser, 120 volunteers: on a phone (390x844) and an
upright tablet (768x1024), Next and Previous swap the list in place (htmx), push the page's URL
and bring the list's top into view; typing a search goes back to page 1; without JS the same
links are plain links. Nothing scrolls sideways, the page links are thumb-sized (48 px; on the
phone every link is) and axe-core finds nothing serious."""
from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import expect

from .test_accessibility_browser import axe_violations

from .conftest import SCREENSHOTS, SIZES, TIMEOUT_MS, assert_fits_phone, assert_touch_targets, sign_in

SURNAMES = "陳林黃張李王吳劉蔡楊"
GIVEN = ["淑芬", "志明", "美玲", "俊傑", "雅婷", "家豪", "怡君", "建宏", "秀英", "冠宇", "佩珊", "宗翰"]


def many(db, make, unit, n=120):
    vols = []
    for i in range(n):
        vols.append(make.volunteer(unit, commit=False, trained=i % 7 != 3, volunteer_no=f"V{i + 1:04d}",
                                   name_zh=SURNAMES[i % 10] + GIVEN[i % 12],
                                   record_book_no=f"北市志字第{i + 1:05d}號" if i % 3 else None))
    db.commit()
    for vol in vols[::2]:
        make.cover(vol)
    db.commit()
    return vols


def screenshot(page, name: str) -> None:
    """conftest.screenshot, with the caret left alone: Playwright hides it by a style on each
    field and leaves them style="", which htmx's history restore then copies onto the new
    fields, against the page's Content-Security-Policy (an error in the console)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=True, caret="initial")


def numbers_listed(page) -> list[str]:
    return page.locator("#directory tbody td.c-no").all_inner_texts()


def query_of(page) -> dict:
    return parse_qs(urlsplit(page.url).query)


def assert_pager_targets(page) -> None:
    """The page links are thumb-sized (48 px tall, the project's touch-target size)."""
    heights = page.locator(".pager a").evaluate_all("links => links.map(a => a.getBoundingClientRect().height)")
    assert heights and min(heights) >= 47.5, heights


def test_pages_with_htmx_on_a_phone_and_a_tablet(db, make, unit, open_page, live_server):
    admin = make.user(unit, role="admin")
    many(db, make, unit)
    for size, viewport, name in (("phone", {"width": 390, "height": 844}, "phone"),
                                 ("tablet-portrait", None, "tablet")):
        page = open_page(size)
        if viewport:
            page.set_viewport_size(viewport)
        sign_in(page, admin.email)
        page.goto("/admin/volunteers")
        expect(page.locator("#volunteer-rows .pager")).to_contain_text("第 1–50 筆，共 120 筆")
        assert numbers_listed(page)[:1] == ["V0001"] and len(numbers_listed(page)) == 50
        assert page.locator(".pager a[rel=prev]").count() == 0
        assert_fits_phone(page, viewport["width"] if viewport else 768, tables=True)
        assert_pager_targets(page)
        assert_touch_targets(page)  # every link on the page, the rows' too: a supervisor's tablet
        screenshot(page, f"directory-{name}-page1")

        page.evaluate("window.stillHere = true")  # gone if the browser loaded a new page
        page.locator(".pager a[rel=next]").click()
        expect(page.locator("#volunteer-rows .pager")).to_contain_text("第 51–100 筆，共 120 筆")
        assert page.evaluate("window.stillHere === true")
        assert query_of(page) == {"status": ["active"], "page": ["2"]}  # pushed, as the search is
        assert numbers_listed(page)[0] == "V0051"
        # htmx scrolls to the list after it settles the swap: wait for it (up to the timeout)
        # rather than read the position at the moment the new rows arrive
        try:
            page.wait_for_function("() => { const t = document.querySelector('#volunteer-rows')"
                                   ".getBoundingClientRect().top; return t >= -1 && t < 100; }",
                                   timeout=5000)
        except PlaywrightTimeout:
            pass  # the assertion below says where it is
        top = page.locator("#volunteer-rows").bounding_box()["y"]
        assert -1 <= top < 100, f"the list's top is at {top}px after turning the page"
        assert_pager_targets(page)
        assert axe_violations(page) == []  # serious or critical ones, as the audit of every page
        page.locator(".pager").scroll_into_view_if_needed()
        screenshot(page, f"directory-{name}-page2")
        page.locator(".pager a[rel=next]").click()
        expect(page.locator("#volunteer-rows .pager")).to_contain_text("第 101–120 筆，共 120 筆")
        assert len(numbers_listed(page)) == 20 and page.locator(".pager a[rel=next]").count() == 0
        page.locator(".pager a[rel=prev]").click()
        expect(page.locator("#volunteer-rows .pager")).to_contain_text("第 51–100 筆")

        # a search typed on page 2 starts again at page 1; its links keep the search
        page.locator("#q").fill("V00")
        expect(page.locator("#volunteer-rows .pager")).to_contain_text("第 1–50 筆，共 99 筆")
        assert query_of(page).get("page") is None and query_of(page)["q"] == ["V00"]
        page.locator(".pager a[rel=next]").click()
        expect(page.locator("#volunteer-rows .pager")).to_contain_text("第 51–99 筆，共 99 筆")
        assert query_of(page) == {"q": ["V00"], "status": ["active"], "page": ["2"]}
        expect(page.locator("#q")).to_have_value("V00")
        # back in history: the first page of the search again
        page.go_back()
        expect(page.locator("#volunteer-rows .pager")).to_contain_text("第 1–50 筆，共 99 筆")


def test_page_links_without_javascript(db, make, unit, browser, live_server):
    admin = make.user(unit, role="admin")
    many(db, make, unit)
    context = browser.new_context(base_url=live_server.url, locale="zh-TW", timezone_id="Asia/Taipei",
                                  java_script_enabled=False, **SIZES["phone"])
    context.set_default_timeout(TIMEOUT_MS)
    try:
        page = context.new_page()
        sign_in(page, admin.email)
        page.goto("/admin/volunteers")
        page.locator("#q").fill("V00")
        with page.expect_navigation():
            page.get_by_role("button", name="查詢").click()
        expect(page.locator(".pager")).to_contain_text("第 1–50 筆，共 99 筆")
        with page.expect_navigation():
            page.locator(".pager a[rel=next]").click()
        assert query_of(page) == {"q": ["V00"], "status": ["active"], "page": ["2"]}
        expect(page.locator(".pager")).to_contain_text("第 51–99 筆，共 99 筆")
        assert numbers_listed(page)[0] == "V0051"
        assert re.search(r"/admin/volunteers\?", page.url)
    finally:
        context.close()


def test_rows_stay_short_on_a_touch_tablet_in_english(db, make, unit, open_page, live_server):
    """On a touch screen every page link is 48 px tall. In English at 1024 px the links column
    was one word wide, so a row stacked its six links one under another (over 300 px a row).
    Now the headings and the record book's number may wrap and the links get room: at most
    three lines of links a row on a landscape tablet, and still no sideways scrolling upright."""
    admin = make.user(unit, role="admin")
    many(db, make, unit, n=6)
    for size, width, most in (("tablet", 1024, 3 * 48 + 30), ("tablet-portrait", 768, 4 * 48 + 30)):
        page = open_page(size, locale="en")
        sign_in(page, admin.email)
        page.goto("/admin/volunteers")
        expect(page.locator("#volunteer-rows h2")).to_have_text("6 volunteers")
        assert_fits_phone(page, width, tables=True)  # (after the stylesheet has arrived)
        assert_touch_targets(page)
        heights = page.locator("#directory tbody tr").evaluate_all(
            "rows => rows.map(r => r.getBoundingClientRect().height)")
        assert max(heights) <= most, (size, heights)
        screenshot(page, f"directory-{size}-en")
