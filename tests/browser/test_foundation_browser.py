"""The foundation in a real browser: sign-in per role, language switch, sign-out, htmx after the
session is gone, the QR card, the installable shell — at phone size first, tablet size too."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from playwright.sync_api import expect

from models.base import taipei_date, taipei_day_bounds, utcnow
from models.service import ServiceSession, SessionSource, SessionStatus

from .conftest import assert_fits_phone, assert_touch_targets, in_menu, path_of, screenshot, sign_in

STAFF_HEADING = "今日服務紀錄"


# --- data like the demo's -------------------------------------------------------------------

def places(make, unit):
    sites = [make.site(unit, name_zh="大安長照服務中心", name_en="Da'an Long-term Care Centre"),
             make.site(unit, name_zh="萬華社區關懷據點", name_en="Wanhua Community Care Point")]
    items = [make.item(unit, name_zh="長者陪伴關懷", name_en="Companionship for elders"),
             make.item(unit, name_zh="共餐與送餐服務", name_en="Shared and delivered meals")]
    return sites, items


def todays_sessions(db, make, unit):
    """Five volunteers served today: on site, awaiting verification, one forgotten check-out."""
    sites, items = places(make, unit)
    now = utcnow()
    start, _ = taipei_day_bounds(taipei_date(now))
    elapsed = now - start  # every time stays within today and before now
    names = ["陳淑芬", "林志明", "黃雅婷", "張家豪", "李秀英"]
    statuses = [SessionStatus.closed, SessionStatus.needs_review, SessionStatus.closed,
                SessionStatus.open, SessionStatus.open]
    for n, (name, status) in enumerate(zip(names, statuses)):
        volunteer = make.volunteer(unit, name_zh=name)
        checked_in = start + elapsed * (n + 1) / 7
        db.add(ServiceSession(
            unit_id=unit.id, volunteer_id=volunteer.id, site_id=sites[n % 2].id,
            service_item_id=items[n % 2].id, checked_in_at=checked_in,
            checked_out_at=None if status == SessionStatus.open else checked_in + (now - checked_in) / 2,
            status=status, source=SessionSource.kiosk_card))
    db.commit()
    return names


def volunteer_with_history(db, make, unit):
    """A volunteer account with two verified sessions (4 h 30 min) and one awaiting verification."""
    user = make.user(unit, role="volunteer")
    volunteer = user.volunteer
    volunteer.name_zh = "陳淑芬"
    sites, items = places(make, unit)
    now = utcnow()
    for days_ago, minutes, status in [(1, 120, SessionStatus.closed), (8, 150, SessionStatus.verified),
                                      (15, 120, SessionStatus.verified)]:
        checked_in = now - dt.timedelta(days=days_ago, hours=1)
        db.add(ServiceSession(
            unit_id=unit.id, volunteer_id=volunteer.id, site_id=sites[0].id,
            service_item_id=items[days_ago % 2].id, checked_in_at=checked_in,
            checked_out_at=checked_in + dt.timedelta(minutes=minutes), status=status,
            credited_minutes=minutes if status == SessionStatus.verified else 0,
            source=SessionSource.poster))
    db.commit()
    return user


# --- signing in, per role ----------------------------------------------------------------------

@pytest.mark.parametrize("size", ["phone", "tablet"])
@pytest.mark.parametrize("role, name, role_label", [("admin", "王承辦", "承辦人"),
                                                    ("supervisor", "林督導", "督導")],
                         ids=["admin", "supervisor"])
def test_staff_sign_in_and_see_todays_sessions(open_page, make, unit, size, role, name, role_label):
    user = make.user(unit, role=role, display_name=name)
    page = sign_in(open_page(size), user.email)
    expect(page.get_by_role("heading", name=STAFF_HEADING)).to_be_visible()
    expect(page.locator(".hello")).to_contain_text(f"{name}，您好")
    expect(page.locator(".hello")).to_contain_text(role_label)
    expect(page.locator(".topbar")).to_contain_text(unit.name)
    expect(page.get_by_text("今天還沒有人簽到。")).to_be_visible()
    expect(page.get_by_role("link", name="我的 QR 卡")).to_have_count(0)
    # however many links the staff menu has, signing out is on screen (under "More" on a phone)
    sign_out = in_menu(page, "button", "登出").bounding_box()
    assert sign_out["x"] >= 0 and sign_out["x"] + sign_out["width"] <= page.viewport_size["width"]
    if size == "phone":
        assert_fits_phone(page)
        assert_touch_targets(page)


@pytest.mark.parametrize("size", ["phone", "tablet"])
def test_volunteer_sees_own_hours_and_qr_card(open_page, db, make, unit, size):
    user = volunteer_with_history(db, make, unit)
    page = sign_in(open_page(size), user.email)
    expect(page.get_by_role("heading", name="已審核的服務時數")).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_contain_text("陳淑芬")
    expect(page.locator("dd[data-total=all]")).to_have_text("4 小時 30 分")
    expect(page.locator(".sessions li")).to_have_count(3)
    expect(page.get_by_role("heading", name=STAFF_HEADING)).to_have_count(0)
    card_link = page.get_by_role("navigation").get_by_role("link", name="我的 QR 卡")
    expect(card_link).to_be_visible()
    if size == "phone":
        assert_fits_phone(page)
        assert_touch_targets(page)
        screenshot(page, "volunteer-home-phone")

    card_link.click()
    page.wait_for_url("**/me/card")
    qr = page.locator("img.qr")
    expect(qr).to_be_visible()
    qr.evaluate("img => img.decode()")
    assert qr.evaluate("img => img.complete && img.naturalWidth") > 0, "the QR image did not load"
    box = qr.bounding_box()
    assert box["width"] >= 200 and abs(box["width"] - box["height"]) < 2, box
    expect(page.locator(".qr-card")).to_contain_text(user.volunteer.volunteer_no)
    if size == "phone":
        assert_fits_phone(page)
        screenshot(page, "qr-card-phone")


def test_wrong_password_says_so_and_stays_signed_out(phone, make, unit):
    user = make.user(unit, role="volunteer")
    sign_in(phone, user.email, "not the password", expect="/sign-in")
    expect(phone.get_by_role("status")).to_have_text("電子郵件或密碼不正確。")
    expect(phone.locator("input[name=email]")).to_have_value(user.email)
    expect(phone.locator("input[name=password]")).to_have_value("")
    expect(phone.locator("input[name=password]")).to_be_focused()  # ready to type it again
    phone.allow_console_error("401")  # the page itself came with 401
    assert_fits_phone(phone)
    phone.goto("/")
    assert path_of(phone) == "/sign-in"


# --- language -------------------------------------------------------------------------------------

def test_sign_in_page_in_both_languages(phone):
    phone.goto("/sign-in")
    expect(phone.locator("html")).to_have_attribute("lang", "zh-Hant-TW")
    expect(phone.get_by_role("heading", name="登入")).to_be_visible()
    expect(phone.get_by_label("電子郵件")).to_be_visible()
    expect(phone.get_by_label("電子郵件")).to_be_focused()
    assert_fits_phone(phone)
    assert_touch_targets(phone)
    screenshot(phone, "sign-in-phone-zh")

    phone.locator(".lang").get_by_role("button", name="English").click()
    expect(phone.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(phone.locator("html")).to_have_attribute("lang", "en")
    expect(phone.get_by_label("Keep me signed in on this device")).to_be_visible()
    assert_fits_phone(phone)
    assert_touch_targets(phone)
    screenshot(phone, "sign-in-phone-en")

    phone.locator(".lang").get_by_role("button", name="繁體中文").click()
    expect(phone.get_by_role("heading", name="登入")).to_be_visible()
    expect(phone.locator("html")).to_have_attribute("lang", "zh-Hant-TW")


@pytest.mark.parametrize("role, zh, en", [
    ("volunteer", "已審核的服務時數", "Verified service hours"),
    ("supervisor", STAFF_HEADING, "Today's sessions"),
], ids=["volunteer", "supervisor"])
def test_signed_in_language_switch_sticks_and_switches_back(phone, make, unit, role, zh, en):
    user = make.user(unit, role=role)
    sign_in(phone, user.email)
    expect(phone.get_by_role("heading", name=zh)).to_be_visible()

    phone.get_by_role("button", name="English").click()
    expect(phone.get_by_role("heading", name=en)).to_be_visible()
    expect(in_menu(phone, "button", "Sign out")).to_be_visible()
    expect(phone.get_by_role("button", name="English")).to_have_attribute("aria-current", "true")
    expect(phone.get_by_role("button", name="Sign out")).to_be_in_viewport()
    assert_fits_phone(phone)
    assert_touch_targets(phone)
    phone.reload()  # the choice is remembered
    expect(phone.get_by_role("heading", name=en)).to_be_visible()

    phone.get_by_role("button", name="繁體中文").click()
    expect(phone.get_by_role("heading", name=zh)).to_be_visible()
    expect(in_menu(phone, "button", "登出")).to_be_visible()


# --- signing out, and an htmx request without a session ------------------------------------------

def test_sign_out_lands_on_sign_in(phone, make, unit):
    user = make.user(unit, role="supervisor")
    sign_in(phone, user.email)
    in_menu(phone, "button", "登出").click()
    phone.wait_for_url(re.compile(r"/sign-in$"))
    expect(phone.get_by_role("status")).to_have_text("您已登出。")
    expect(phone.get_by_role("heading", name="登入")).to_be_visible()
    expect(phone.get_by_role("navigation")).to_have_count(0)
    phone.goto("/")
    assert path_of(phone) == "/sign-in"


@pytest.mark.parametrize("role", ["volunteer", "admin"])
def test_htmx_request_without_session_sends_whole_page_to_sign_in(phone, make, unit, role):
    user = make.user(unit, role=role)
    sign_in(phone, user.email)
    phone.wait_for_function("typeof window.htmx === 'object'")
    phone.context.clear_cookies()
    phone.allow_console_error("401")
    phone.evaluate("() => { htmx.ajax('GET', '/', {target: 'body'}); }")
    phone.wait_for_url(re.compile(r"/sign-in\?next=/$"))
    expect(phone.get_by_role("heading", name="登入")).to_be_visible()
    expect(phone.locator("main form input[name=email]")).to_be_visible()
    # the sign-in page is a whole page, not swapped into the old one
    assert phone.locator("header.topbar").count() == 1


# --- staff home with today's sessions --------------------------------------------------------------

@pytest.mark.parametrize("size", ["tablet", "phone"])
def test_staff_home_lists_todays_sessions(open_page, db, make, unit, size):
    names = todays_sessions(db, make, unit)
    user = make.user(unit, role="admin", display_name="王承辦")
    page = sign_in(open_page(size), user.email)
    rows = page.locator("#today-sessions tbody tr")
    expect(rows).to_have_count(len(names))
    for name in names:
        expect(page.locator("#today-sessions")).to_contain_text(name)
    expect(page.locator("#today-sessions .status-open")).to_have_count(2)
    expect(page.locator("#today-sessions .status-needs_review")).to_have_text("需複查")
    expect(page.locator("#today-sessions")).to_contain_text("大安長照服務中心")
    if size == "tablet":
        table = page.locator("#today-sessions").bounding_box()
        assert table["width"] <= 1024
        assert page.evaluate("document.documentElement.scrollWidth") <= 1024
        screenshot(page, "staff-home-tablet")
    else:
        # on a phone each row is a small card: name, status, times all on screen, no sideways scrolling
        first = page.locator("#today-sessions tbody tr").first
        for cell in ("c-name", "c-status", "c-in", "c-out"):
            box = first.locator(f".{cell}").bounding_box()
            assert box["x"] >= 0 and box["x"] + box["width"] <= 360, (cell, box)
        expect(first.locator(".c-in")).to_have_css("display", "block")
        assert_fits_phone(page)
        screenshot(page, "staff-home-phone")


# --- the installable shell -----------------------------------------------------------------------

def test_manifest_linked_and_service_worker_registers(phone, live_server):
    phone.goto("/sign-in")
    assert phone.locator("link[rel=manifest]").get_attribute("href") == "/manifest.webmanifest"
    manifest = phone.evaluate(
        "fetch(document.querySelector('link[rel=manifest]').href).then(r => r.json())")
    assert "志工時數簿" in manifest["name"] and manifest["display"] == "standalone"

    scope = phone.evaluate("navigator.serviceWorker.ready.then(r => r.scope)")
    assert scope == live_server.url + "/"
    phone.reload()
    assert phone.evaluate("navigator.serviceWorker.controller !== null")
    kept = phone.evaluate("""caches.keys().then(names => Promise.all(names.map(name => caches.open(name)
        .then(c => c.keys()).then(keys => [name, keys.map(r => new URL(r.url).pathname + new URL(r.url).search)]))))""")
    kept = dict(kept)
    cached = [url for urls in kept.values() for url in urls]
    assert any(re.fullmatch(r"/static/css/app\.css\?v=[0-9a-f]+", url) for url in cached), kept
    assert not any(url.startswith("/sign-in") for url in cached), kept
    # the one page kept (besides a volunteer's card): the offline page, and the files it uses
    assert [url for url in cached if "/static/" not in url] == ["/offline"], kept
    assert set(kept) <= {"hourbook-static-v2", "hourbook-offline-v1"}, kept


def test_my_qr_card_shows_offline_until_sign_out(phone, db, make, unit):
    """At a service site without signal the volunteer still shows their card (the kiosk reads
    cards offline): the service worker keeps the card, and only the card; sign-out deletes it."""
    user = volunteer_with_history(db, make, unit)
    sign_in(phone, user.email)
    phone.evaluate("navigator.serviceWorker.ready.then(() => true)")
    phone.reload()  # now the service worker controls the page
    assert phone.evaluate("navigator.serviceWorker.controller !== null")
    phone.goto("/me/card")
    phone.locator("img.qr").evaluate("img => img.decode()")
    phone.goto("/me/hours")
    phone.context.set_offline(True)
    try:
        phone.goto("/me/card")
        expect(phone.locator(".qr-card")).to_contain_text(user.volunteer.volunteer_no)
        qr = phone.locator("img.qr")
        qr.evaluate("img => img.decode()")
        assert qr.evaluate("img => img.naturalWidth") > 0, "the QR image is not there offline"
        phone.goto("/me/hours")  # other signed-in pages are never kept: the offline page instead
        expect(phone.locator("main")).to_contain_text("目前沒有網路連線")
        expect(phone.locator("main")).not_to_contain_text(user.volunteer.volunteer_no)
    finally:
        phone.context.set_offline(False)
    phone.goto("/me/card")
    in_menu(phone, "button", "登出").click()
    phone.wait_for_url(re.compile(r"/sign-in$"))
    phone.wait_for_function("caches.keys().then(keys => !keys.includes('hourbook-card-v1'))")
    phone.context.set_offline(True)
    try:
        phone.goto("/me/card")  # the card went with the sign-out; the offline page (nobody's) stays
        expect(phone.locator("main")).to_contain_text("目前沒有網路連線")
        expect(phone.locator(".qr-card")).to_have_count(0)
    finally:
        phone.context.set_offline(False)


@pytest.mark.parametrize("size", ["phone", "tablet-portrait"])
def test_a_page_under_more_marks_more(open_page, make, unit, size):
    """The admin's menu is longer than a phone or a portrait tablet: its later links are under
    "More". On a page far along it (results reports), "More" is underlined like a current link,
    and opened, the page's link is marked (aria-current) and on screen; nothing in the menu
    scrolls sideways, opened or not."""
    admin = make.user(unit, role="admin")
    page = sign_in(open_page(size), admin.email)
    more = page.locator("nav.mainnav details.more")
    expect(more).not_to_have_class(re.compile(r"\bholds-current\b"))  # Home: in the bar
    page.goto("/reports/")
    expect(more).to_have_class(re.compile(r"\bholds-current\b"))
    summary = more.locator("summary")
    assert summary.evaluate("s => getComputedStyle(s).borderBottomColor") == "rgb(15, 118, 110)"  # --teal
    menu_fits(page)
    current = in_menu(page, "link", "成果報表")
    expect(current).to_have_attribute("aria-current", "page")
    expect(current).to_be_in_viewport()
    box = current.bounding_box()
    assert 0 <= box["x"] and box["x"] + box["width"] <= page.viewport_size["width"]
    menu_fits(page)
    page.keyboard.press("Escape")  # app.js: closed again, like any menu (a tap outside too)
    expect(current).to_be_hidden()
    expect(summary).to_be_focused()
    summary.click()
    expect(current).to_be_visible()
    page.mouse.click(2, page.viewport_size["height"] - 2)  # a tap on the page below the panel
    expect(current).to_be_hidden()


@pytest.mark.parametrize("size", ["phone", "tablet-portrait"])
def test_a_supervisors_daily_links_are_in_view(open_page, make, unit, size):
    """A supervisor's menu starts with what they use every day: the home page, the dashboard and
    the hour slips (on a portrait tablet attendance too), in view without scrolling the menu and
    before "More", in Chinese and in English. Before, 時數條 came eighth, off a 768 px tablet's
    edge in English."""
    daily = {"zh-TW": ["首頁", "督導看板", "時數條", "出缺席"], "en": ["Home", "Dashboard", "Hour slips", "Attendance"]}
    for locale, names in daily.items():
        sup = make.user(unit, role="supervisor", locale="zh_Hant_TW" if locale == "zh-TW" else "en")
        page = sign_in(open_page(size, locale), sup.email)
        menu = page.locator(".mainnav .bar")
        edge = page.locator(".mainnav details.more > summary").bounding_box()["x"]
        menu_fits(page)
        for name in names[:4 if size == "tablet-portrait" else 3]:
            link = menu.get_by_role("link", name=name, exact=True)
            box = link.bounding_box()
            words_end = box["x"] + box["width"] - link.evaluate("a => parseFloat(getComputedStyle(a).paddingRight)")
            assert box["x"] >= 0 and words_end <= edge, (locale, name, box, edge)
        screenshot(page, f"menu-supervisor-{size}-{locale}")


VOLUNTEER_MENU = ["home.index", "home.my_card", "my_hours.index", "privacy.index", "milestones.index",
                  "auth.change_password", "auth.change_pin", "help.guide"]


def menu_fits(page) -> None:
    """Nothing in the main menu scrolls sideways: the nav and every list of it that shows are
    as wide as their content, and the page too."""
    wide = page.evaluate("""() => [document.querySelector('nav.mainnav'),
                                    ...document.querySelectorAll('nav.mainnav ul')]
        .filter(el => el.checkVisibility() && el.scrollWidth > el.clientWidth + 0.5)
        .map(el => `${el.tagName} ${el.className}: ${el.scrollWidth}px in ${el.clientWidth}px`)""")
    assert not wide, f"the menu scrolls sideways: {wide}"
    assert_fits_phone(page, page.viewport_size["width"])


@pytest.mark.parametrize("locale", ["zh-TW", "en"])
def test_a_volunteers_whole_menu_is_reachable_on_a_small_phone(app, open_page, make, unit, locale):
    """At 360x740 every link of a volunteer's menu is reached without swiping the menu
    sideways: in the bar, or in the "More" list it opens (a <details>, no script needed), each
    inside the screen, a thumb's height, and opening its page, which the menu then marks as
    the current one (aria-current), also when it is one of the "More" links. Before, the menu
    was one row scrolling sideways, with half of the links beyond the screen's edge."""
    with app.test_request_context():
        from flask import url_for
        hrefs = [url_for(endpoint) for endpoint in VOLUNTEER_MENU]
    vol = make.user(unit, role="volunteer", locale="zh_Hant_TW" if locale == "zh-TW" else "en")
    page = sign_in(open_page("phone", locale), vol.email)
    nav = page.locator("nav.mainnav")
    menu_fits(page)
    shown = nav.locator("a:visible").evaluate_all("links => links.map(a => a.getAttribute('href'))")
    assert 2 <= len(shown) < len(hrefs), shown  # the daily ones in the bar, the rest under "More"
    for href in hrefs:
        page.goto("/")
        link = nav.locator(f'a[href="{href}"]:visible')
        if not link.count():
            nav.locator("details.more > summary").click()
            menu_fits(page)
        expect(link).to_have_count(1)
        expect(link).to_be_in_viewport()
        box = link.bounding_box()
        assert 0 <= box["x"] and box["x"] + box["width"] <= 360 and box["height"] >= 48, (href, box)
        screenshot(page, f"menu-volunteer-phone-{locale}") if href == hrefs[-1] else None
        link.click()
        page.wait_for_url(re.compile(re.escape(href) + "$"))
        current = nav.locator("[aria-current=page]")
        expect(current).to_have_count(1) if href in shown else None
        assert href in current.evaluate_all("links => links.map(a => a.getAttribute('href'))"), href
        menu_fits(page)
    # Signing out is in reach too (under "More" when the bar has no room for it).
    page.goto("/")
    sign_out = nav.get_by_role("button", name="登出" if locale == "zh-TW" else "Sign out")
    if not sign_out.is_visible():
        nav.locator("details.more > summary").click()
    expect(sign_out).to_be_in_viewport()
