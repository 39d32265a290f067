"""The tablet kiosk in a real Chromium, landscape (1024x768) and portrait (768x1024): enrolment by
an admin, keypad check-in and check-out, the camera reading a real QR card (Chromium's fake
camera playing a Y4M video), the offline queue, and the revoked screen."""
from __future__ import annotations

import datetime as dt
import re
import time

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from models import kiosk as kiosks
from models.base import utcnow
from models.service import ServiceSession, SessionSource, SessionStatus

from .conftest import (CHROMIUM, CHROMIUM_ARGS, SIZES, TIMEOUT_MS, PageProblems,
                       assert_touch_targets, in_menu, path_of, screenshot, sign_in)
from .fake_camera import chromium_args, qr_camera_file

PIN = "2468"
PORTRAIT = {"viewport": {"width": 768, "height": 1024}, "device_scale_factor": 1,
            "is_mobile": False, "has_touch": True}


@pytest.fixture(autouse=True)
def portrait_size(monkeypatch):
    monkeypatch.setitem(SIZES, "portrait", PORTRAIT)
    monkeypatch.setitem(SIZES, "wide", {**PORTRAIT, "viewport": {"width": 1280, "height": 800}})
    monkeypatch.setitem(SIZES, "tall", {**PORTRAIT, "viewport": {"width": 800, "height": 1280}})


@pytest.fixture
def place(db, make, unit):
    site = make.site(unit, name_zh="大安長照服務中心", name_en="Da'an Long-term Care Centre")
    items = [make.item(unit, code="A01", name_zh="長者陪伴關懷"),
             make.item(unit, code="A02", name_zh="共餐與送餐服務")]
    admin = make.user(unit, role="admin", display_name="王承辦")
    volunteer = make.volunteer(unit, name_zh="陳淑芬", insured=True)
    volunteer.set_pin(PIN)
    db.commit()
    return {"site": site, "items": items, "admin": admin, "volunteer": volunteer}


def enrol(page: Page, db, place, name="服務台平板") -> Page:
    device, code = kiosks.create_device(db, site=place["site"], name=name, actor=place["admin"], now=utcnow())
    db.commit()
    page.goto(f"/kiosk/enrol/{code}")
    with page.expect_navigation():
        page.get_by_role("button", name="啟用這台平板").click()
    assert path_of(page) == "/kiosk"
    expect(page.locator("#k-idle")).to_be_visible()
    return page


def keypad(page: Page, number: str, pin: str = PIN) -> None:
    """Type on the on-screen keypad: number, OK (moves to the PIN), PIN, OK."""
    keys = page.locator(".k-keypad")
    for digit in number:
        keys.locator(f'[data-key="{digit}"]').click()
    keys.get_by_role("button", name="確定").click()
    expect(page.locator("#k-pin")).to_have_class(re.compile("is-active"))
    for digit in pin:
        keys.locator(f'[data-key="{digit}"]').click()
    keys.get_by_role("button", name="確定").click()


def assert_fits_screen(page: Page) -> None:
    """Full screen, no scrolling: everything of the idle screen is on the glass."""
    size = page.viewport_size
    box = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.scrollHeight]")
    assert box[0] <= size["width"] and box[1] <= size["height"], f"kiosk page is {box} at {size}"
    assert page.locator("a").count() == 0, "no links out of the kiosk"


def fresh_sessions(db):
    db.rollback()
    return db.scalars(select(ServiceSession).order_by(ServiceSession.id)).all()


def wait_for(condition, timeout=TIMEOUT_MS / 1000):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    return condition()


# --- enrolment by an admin, and revocation ------------------------------------------------------

def test_admin_enrols_a_tablet_then_revokes_it(open_page, db, place):
    admin = sign_in(open_page("tablet"), place["admin"].email)
    in_menu(admin, "link", "簽到站").click()  # the menu (the getting-started card links there too)
    expect(admin.get_by_role("heading", name="簽到站", exact=True)).to_be_visible()
    admin.get_by_label("服務地點").select_option(label="大安長照服務中心")
    admin.get_by_label("簽到站名稱").fill("服務台平板")
    admin.get_by_role("button", name="建立並顯示啟用連結").click()
    link = admin.locator("#enrol-link").inner_text()
    expect(admin.locator("img.qr")).to_be_visible()
    screenshot(admin, "kiosk-admin-enrol")

    kiosk = open_page("tablet")
    kiosk.goto(link)
    expect(kiosk.get_by_text("大安長照服務中心")).to_be_visible()
    screenshot(kiosk, "kiosk-enrol-confirm")
    with kiosk.expect_navigation():
        kiosk.get_by_role("button", name="啟用這台平板").click()
    expect(kiosk.get_by_role("heading", level=1)).to_have_text("大安長照服務中心")
    expect(kiosk.locator("img.k-qr")).to_be_visible()
    assert_fits_screen(kiosk)
    assert_touch_targets(kiosk, 56)
    screenshot(kiosk, "kiosk-idle-landscape")

    admin.goto("/admin/kiosks")
    expect(admin.locator(".kiosk-devices")).to_contain_text("使用中")
    screenshot(admin, "kiosk-admin-list")
    admin.get_by_text("停用", exact=True).click()
    admin.get_by_role("button", name="停用這台簽到站").click()
    expect(admin.locator(".kiosk-devices")).to_contain_text("已停用")

    # The kiosk's next request shows the revoked screen.
    kiosk.allow_console_error("403")
    keypad(kiosk, place["volunteer"].volunteer_no)
    expect(kiosk.get_by_role("heading", name="這台簽到站已被停用")).to_be_visible()
    expect(kiosk.locator("#k-idle")).to_have_count(0)
    screenshot(kiosk, "kiosk-revoked")


def test_a_tablet_that_was_never_enrolled_sees_no_kiosk(open_page):
    page = open_page("tablet")
    page.allow_console_error("401")
    page.goto("/kiosk")
    expect(page.get_by_role("heading", name="這台平板尚未啟用為簽到站")).to_be_visible()
    assert page.locator("#k-idle").count() == 0
    screenshot(page, "kiosk-not-enrolled")


# --- the idle screen fits the glass, in both languages -------------------------------------------

def idle_overflows(page: Page) -> list[str]:
    """What of the idle screen spills: a panel reaching under the footer, or a key, field, button
    or the QR reaching past its panel's padding (a panel clips nothing: it would just spill)."""
    return page.evaluate("""() => {
        const footer = document.querySelector('.k-status').getBoundingClientRect();
        const found = [];
        for (const panel of document.querySelectorAll('#k-idle .k-panel')) {
            const box = panel.getBoundingClientRect();
            const inner = box.bottom - parseFloat(getComputedStyle(panel).paddingBottom);
            if (box.bottom > footer.top + 0.5) found.push(`${panel.className}: bottom ${box.bottom} > footer ${footer.top}`);
            for (const el of panel.querySelectorAll('button, input, img')) {
                const b = el.getBoundingClientRect();
                if (b.height && (b.bottom > inner + 0.5 || b.bottom > footer.top + 0.5))
                    found.push(`${el.className || el.tagName} ${el.textContent.trim()}: bottom ${b.bottom} (panel inside ${inner}, footer ${footer.top})`);
            }
        }
        return found;
    }""")


@pytest.mark.parametrize("size", ["portrait", "tall", "tablet", "wide"])
@pytest.mark.parametrize("language", ["zh", "en"])
def test_the_idle_screen_fits_in_both_languages(open_page, db, place, size, language):
    """The keypad's bottom row (⌫ 0 OK) once spilled under the footer in English at 768x1024:
    the QR panel's English hint takes a second line. Every panel and every key fits, in both
    languages, portrait and landscape."""
    page = enrol(open_page(size), db, place)
    if language == "en":
        with page.expect_navigation():
            page.get_by_role("button", name="English").click()
        expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("img.k-qr")).to_be_visible()
    ok = page.locator(".k-key-ok").bounding_box()
    footer = page.locator(".k-status").bounding_box()
    assert ok["y"] + ok["height"] <= footer["y"], f"OK key bottom {ok['y'] + ok['height']} under footer {footer['y']}"
    assert idle_overflows(page) == []
    assert_touch_targets(page, 56)
    screenshot(page, f"kiosk-idle-{size}-{language}")


def test_a_staff_sign_in_on_the_tablet_ends_when_the_kiosk_is_opened_again(open_page, db, place):
    """Someone types /dashboard/ on the kiosk tablet and signs in there (not "keep me signed
    in"), then goes back to /kiosk: the kiosk signs them out. Before, /dashboard/ stayed open on
    the tablet and every kiosk page load made the sign-in last 31 days."""
    page = enrol(open_page("tablet"), db, place)
    page.goto("/dashboard/")
    assert path_of(page) == "/sign-in"
    # the kiosk's session is permanent, so every answer re-sends its cookie: one still on its way
    # (the service worker's) would sign the admin out again before the test looks
    sign_in(page, place["admin"].email, settle=True)
    page.goto("/dashboard/")
    assert path_of(page) == "/dashboard/"

    page.goto("/kiosk")
    expect(page.locator("#k-idle")).to_be_visible()
    [kept] = [c for c in page.context.cookies() if c["name"] == "session"]
    assert kept["expires"] > time.time() + 12 * 3600  # the kiosk's own session still lasts the day...
    page.goto("/dashboard/")
    assert path_of(page) == "/sign-in"  # ... without anyone signed in on it
    assert not [c for c in page.context.cookies() if c["name"] == "remember_token"]

    page.goto("/kiosk")  # and the kiosk works as before
    keypad(page, place["volunteer"].volunteer_no)
    expect(page.locator(".k-person .k-name")).to_have_text("陳淑芬")


# --- keypad: check in, back to idle, check out ----------------------------------------------------

@pytest.mark.parametrize("size", ["tablet", "portrait"])
def test_keypad_check_in_then_check_out(open_page, db, place, size):
    page = enrol(open_page(size), db, place)
    name = "landscape" if size == "tablet" else "portrait"
    assert_fits_screen(page)
    assert_touch_targets(page, 56)
    if size == "portrait":
        screenshot(page, "kiosk-idle-portrait")
    volunteer = place["volunteer"]

    keypad(page, volunteer.volunteer_no)
    person = page.locator(".k-person")
    expect(person.locator(".k-name")).to_have_text("陳淑芬")
    expect(person.locator(".k-state")).to_have_text("尚未簽到")
    expect(person.get_by_label("服務項目")).to_have_value(str(place["items"][0].id))
    person.get_by_label("服務項目").select_option(label="共餐與送餐服務")
    screenshot(page, f"kiosk-person-{name}")
    person.get_by_role("button", name="簽到").click()
    done = page.locator(".k-result.is-ok")
    expect(done.locator(".k-title")).to_have_text("已簽到")
    expect(done.locator(".k-time")).to_have_text(re.compile(r"^\d\d:\d\d$"))
    screenshot(page, f"kiosk-checked-in-{name}")
    # Back to the idle screen by itself after a few seconds.
    expect(page.locator("#k-idle")).to_be_visible(timeout=12_000)
    expect(page.locator("#k-number")).to_have_value("")

    [session] = fresh_sessions(db)
    assert session.source == SessionSource.kiosk_keypad and session.status == SessionStatus.open
    assert session.service_item_id == place["items"][1].id

    keypad(page, volunteer.volunteer_no)
    expect(person.locator(".k-state")).to_contain_text("起在本站簽到中")
    expect(person.locator("select")).to_have_count(0)
    screenshot(page, f"kiosk-person-checked-in-{name}")
    person.get_by_role("button", name="簽退").click()
    expect(page.locator(".k-result.is-ok .k-title")).to_have_text("已簽退")
    screenshot(page, f"kiosk-checked-out-{name}")
    page.get_by_role("button", name="完成").click()
    expect(page.locator("#k-idle")).to_be_visible()

    [session] = fresh_sessions(db)
    assert session.status == SessionStatus.closed and session.checkout_source == SessionSource.kiosk_keypad


# --- a real keyboard (Bluetooth/USB, or a screen reader's) ---------------------------------------

def test_a_keyboard_types_the_number_then_the_pin_each_in_its_own_box(open_page, db, place):
    """Tab to the number, type it, Enter: the PIN box is highlighted *and* focused, so the PIN
    typed next goes there (it went on into the number box: "10060185", in plain text). Focus
    then lands on the person screen's service item, Tab reaches the big button, and the result's
    Done button has it; back on the idle screen the number box has it again."""
    page = enrol(open_page("portrait"), db, place)
    number = place["volunteer"].volunteer_no
    for _ in range(12):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "k-number":
            break
    expect(page.locator("#k-number")).to_be_focused()
    page.keyboard.type(number)
    page.keyboard.press("Enter")
    pin = page.locator("#k-pin")
    expect(pin).to_be_focused()
    expect(pin).to_have_class(re.compile("is-active"))
    page.keyboard.type(PIN)
    expect(page.locator("#k-number")).to_have_value(number)
    expect(pin).to_have_value(PIN)
    screenshot(page, "kiosk-keyboard-pin-portrait")
    page.keyboard.press("Enter")

    person = page.locator(".k-person")
    expect(person.locator(".k-name")).to_have_text("陳淑芬")
    expect(person.get_by_label("服務項目")).to_be_focused()
    page.keyboard.press("Tab")
    expect(person.get_by_role("button", name="簽到")).to_be_focused()
    screenshot(page, "kiosk-keyboard-person-portrait")
    page.keyboard.press("Enter")
    done = page.get_by_role("button", name="完成")
    expect(done).to_be_focused()
    screenshot(page, "kiosk-keyboard-result-portrait")
    page.keyboard.press("Enter")
    expect(page.locator("#k-idle")).to_be_visible()
    expect(page.locator("#k-number")).to_be_focused()
    [session] = fresh_sessions(db)
    assert session.source == SessionSource.kiosk_keypad


def test_the_on_screen_keypad_and_a_keyboard_share_the_highlighted_box(open_page, db, place):
    """Taps on the keys type into the highlighted box, and the keyboard types there too; with
    nothing focused, digits typed go to the highlighted box."""
    page = enrol(open_page("tablet"), db, place)
    number = place["volunteer"].volunteer_no
    page.keyboard.type(number[:2])  # nothing focused yet: into the number box
    keys = page.locator(".k-keypad")
    for digit in number[2:]:
        keys.locator(f'[data-key="{digit}"]').click()
    expect(page.locator("#k-number")).to_have_value(number)
    keys.get_by_role("button", name="確定").click()
    expect(page.locator("#k-pin")).to_be_focused()
    keys.locator(f'[data-key="{PIN[0]}"]').click()
    expect(page.locator("#k-pin")).to_be_focused()  # a tap on a key leaves the focus in the box
    page.keyboard.type(PIN[1:])
    expect(page.locator("#k-pin")).to_have_value(PIN)
    expect(page.locator("#k-number")).to_have_value(number)
    keys.get_by_role("button", name="確定").click()
    expect(page.locator(".k-person .k-name")).to_have_text("陳淑芬")


def test_a_key_pressed_gives_the_screen_its_full_time_again(open_page, db, place):
    """The result card goes back to the idle screen after 6 s; any key pressed (not only a
    touch) starts the 6 s again."""
    page = open_page("tablet")
    page.clock.install()
    enrol(page, db, place)
    keypad(page, place["volunteer"].volunteer_no)
    page.get_by_role("button", name="簽到").click()
    expect(page.locator(".k-result.is-ok")).to_be_visible()
    page.clock.run_for(4000)
    page.keyboard.press("Shift")
    page.clock.run_for(4000)
    expect(page.locator(".k-result.is-ok")).to_be_visible()  # 8 s in, 4 s after the key
    page.clock.run_for(2500)
    expect(page.locator("#k-idle")).to_be_visible()


def test_wrong_pin_then_refusal_in_big_clear_text(open_page, db, make, unit, place):
    page = enrol(open_page("tablet"), db, place)
    page.allow_console_error("status of 422")  # Chromium logs every 4xx answer to fetch()
    page.allow_console_error("status of 409")
    number = place["volunteer"].volunteer_no
    keypad(page, number, pin="1111")  # the warning before the lock (PIN_MAX_FAILURES in a row)
    expect(page.locator(".k-message-text")).to_have_text(
        f"PIN 碼錯誤，還可再試 4 次；再錯 4 次，編號 {number} 會鎖定 15 分鐘。")
    screenshot(page, "kiosk-wrong-pin")
    page.get_by_role("button", name="返回").click()
    for _ in range(2):
        keypad(page, number, pin="1111")
        page.get_by_role("button", name="返回").click()
    keypad(page, number, pin="1111")
    expect(page.locator(".k-message-text")).to_have_text(
        f"PIN 碼錯誤，還可再試 1 次；再錯 1 次，編號 {number} 會鎖定 15 分鐘。")
    screenshot(page, "kiosk-wrong-pin-last-try")
    page.get_by_role("button", name="返回").click()
    uninsured = make.volunteer(unit, name_zh="張家豪")
    uninsured.set_pin(PIN)
    db.commit()
    keypad(page, uninsured.volunteer_no)
    page.get_by_role("button", name="簽到").click()
    refused = page.locator(".k-result.is-refused")
    expect(refused.locator(".k-message-text")).to_have_text("沒有有效的意外保險，請洽承辦人。")
    screenshot(page, "kiosk-refused-no-insurance")
    assert fresh_sessions(db) == []


def test_a_refusal_lists_every_reason_on_the_kiosk(open_page, db, make, unit, place):
    """No insurance, no training: the kiosk says all of it on the one screen, which still fits."""
    page = enrol(open_page("portrait"), db, place)
    page.allow_console_error("status of 409")
    untrained = make.volunteer(unit, name_zh="張家豪", trained=False)
    untrained.set_pin(PIN)
    db.commit()
    keypad(page, untrained.volunteer_no)
    page.get_by_role("button", name="簽到").click()
    refused = page.locator(".k-result.is-refused")
    expect(refused.locator(".k-title")).to_have_text("簽到未成功")
    reasons = refused.locator(".k-reasons li")
    expect(reasons).to_have_count(3)
    expect(reasons.nth(0)).to_have_text("沒有有效的意外保險，請洽承辦人。")
    expect(reasons.nth(2)).to_contain_text("「社會福利類」特殊訓練尚未完成")
    size = page.viewport_size
    bottom = refused.get_by_role("button", name="返回").bounding_box()
    assert bottom["y"] + bottom["height"] <= size["height"], "the Back button is off the screen"
    screenshot(page, "kiosk-refused-every-reason-portrait")
    assert fresh_sessions(db) == []


@pytest.mark.parametrize("size", ["wide", "tall"])
def test_checked_in_elsewhere_checks_out_there_then_in_here(open_page, db, make, unit, place, size):
    """Still checked in at another site: the kiosk offers to check out there (it used to offer a
    check-in button that could only be refused), then the check-in here on the same screen."""
    from models.checkin import check_in

    other = make.site(unit, name_zh="萬華社區關懷據點", name_en="Wanhua Community Care Point")
    check_in(db, volunteer=place["volunteer"], site=other, item=place["items"][0],
             now=utcnow() - dt.timedelta(hours=2), source=SessionSource.poster)
    db.commit()
    page = enrol(open_page(size), db, place)
    keypad(page, place["volunteer"].volunteer_no)
    person = page.locator(".k-person")
    expect(person.locator(".k-state")).to_contain_text("起在萬華社區關懷據點簽到中")
    expect(person.get_by_role("button", name="簽到", exact=True)).to_have_count(0)
    assert_touch_targets(page, 56)
    screenshot(page, f"kiosk-person-elsewhere-{size}")
    person.get_by_role("button", name="先在萬華社區關懷據點簽退").click()
    expect(person.locator(".k-state.is-done")).to_contain_text(re.compile(r"已在萬華社區關懷據點簽退 \d\d:\d\d"))
    expect(person.get_by_label("服務項目")).to_be_visible()
    screenshot(page, f"kiosk-person-elsewhere-checked-out-{size}")
    [closed] = fresh_sessions(db)
    assert closed.site_id == other.id and closed.checked_out_at is not None
    person.get_by_role("button", name="簽到", exact=True).click()
    expect(page.locator(".k-result.is-ok .k-title")).to_have_text("已簽到")
    closed, opened = fresh_sessions(db)
    assert opened.site_id == place["site"].id and opened.checked_out_at is None


def test_a_visitors_language_lasts_for_their_check_in_only(open_page, db, place, monkeypatch):
    """One visitor taps English: their screens are English (no letter-spaced "C h e c k  i n"),
    and the kiosk is back in Chinese for the next person when it returns to idle after their
    check-in, or when the idle screen is left untouched in English."""
    import kiosk.tablet

    monkeypatch.setattr(kiosk.tablet, "LANGUAGE_RESET_SECONDS", 3)
    page = enrol(open_page("wide"), db, place)
    html = page.locator("html")
    with page.expect_navigation():
        page.get_by_role("button", name="English").click()
    expect(html).to_have_attribute("lang", "en")
    keys = page.locator(".k-keypad")
    for digit in place["volunteer"].volunteer_no:
        keys.locator(f'[data-key="{digit}"]').click()
    keys.get_by_role("button", name="OK").click()
    for digit in PIN:
        keys.locator(f'[data-key="{digit}"]').click()
    keys.get_by_role("button", name="OK").click()
    button = page.locator(".k-person").get_by_role("button", name="Check in", exact=True)
    expect(button).to_be_visible()
    assert button.evaluate("b => getComputedStyle(b).letterSpacing") == "normal"
    screenshot(page, "kiosk-person-english-wide")
    button.click()
    expect(page.locator(".k-result.is-ok .k-title")).to_have_text("Checked in")
    with page.expect_navigation():
        page.get_by_role("button", name="Done").click()
    expect(html).to_have_attribute("lang", "zh-Hant-TW")
    expect(page.locator(".k-keypad").get_by_role("button", name="確定")).to_be_visible()

    # The next person sees Chinese, with the big button's characters spaced as before.
    keypad(page, place["volunteer"].volunteer_no)
    out = page.locator(".k-person").get_by_role("button", name="簽退", exact=True)
    assert out.evaluate("b => getComputedStyle(b).letterSpacing") != "normal"
    page.locator(".k-person").get_by_role("button", name="取消").click()

    # English chosen, then nobody: back to Chinese after LANGUAGE_RESET_SECONDS untouched.
    with page.expect_navigation():
        page.get_by_role("button", name="English").click()
    expect(html).to_have_attribute("lang", "en")
    expect(html).to_have_attribute("lang", "zh-Hant-TW", timeout=10_000)
    expect(page.locator("#k-idle")).to_be_visible()


# --- the camera reads a real QR card ----------------------------------------------------------------

@pytest.fixture
def camera_browser(browser, tmp_path, db, place):
    """A Chromium of its own whose webcam shows the volunteer's QR card."""
    video = qr_camera_file(place["volunteer"].card_token, tmp_path)
    own = browser.browser_type.launch(executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, *chromium_args(video)])
    yield own
    own.close()


def test_camera_scans_a_volunteers_qr_card(camera_browser, live_server, db, place):
    context = camera_browser.new_context(base_url=live_server.url, locale="zh-TW", timezone_id="Asia/Taipei",
                                         **SIZES["tablet"])
    context.set_default_timeout(TIMEOUT_MS)
    context.grant_permissions(["camera"], origin=live_server.url)
    page = context.new_page()
    problems = PageProblems(page)
    try:
        enrol(page, db, place)
        native = page.evaluate("'BarcodeDetector' in window")
        if not native:  # hold the decoder back a moment to see the camera screen
            page.evaluate("() => { window.heldJsQR = window.jsQR; window.jsQR = null; }")
        page.get_by_role("button", name="掃描我的 QR 卡").click()
        expect(page.locator(".k-camera, .k-person").first).to_be_visible()
        if not native:
            assert wait_for(lambda: page.evaluate("(document.querySelector('.k-video') || {}).videoWidth > 0"))
            page.wait_for_timeout(300)
            screenshot(page, "kiosk-camera")
            page.evaluate("() => { window.jsQR = window.heldJsQR; }")
        person = page.locator(".k-person")
        expect(person.locator(".k-name")).to_have_text("陳淑芬", timeout=15_000)
        # Debian's Chromium has no BarcodeDetector: the vendored jsQR read the card.
        expect(page.locator("#kiosk")).to_have_attribute("data-decoder", "native" if native else "jsqr")
        screenshot(page, "kiosk-card-scanned")
        person.get_by_role("button", name="簽到").click()
        expect(page.locator(".k-result.is-ok .k-title")).to_have_text("已簽到")
        # The camera is off again once the card is read.
        assert page.evaluate("document.querySelectorAll('video').length") == 0
    finally:
        context.close()
    assert problems.unexpected() == []
    [session] = fresh_sessions(db)
    assert session.source == SessionSource.kiosk_card


# --- offline: saved on the kiosk, synced when the network is back -----------------------------------------

@pytest.mark.parametrize("size", ["tablet", "portrait"])
def test_offline_keypad_check_in_syncs_once(open_page, db, place, size):
    page = enrol(open_page(size), db, place)
    for expected in ("ERR_INTERNET_DISCONNECTED", "htmx:sendError", "Failed to fetch"):
        page.allow_console_error(expected)
    name = "landscape" if size == "tablet" else "portrait"
    page.context.set_offline(True)
    expect(page.locator("#k-net")).to_have_text("離線中：仍可用 QR 卡或數字鍵盤簽到")
    expect(page.locator("img.k-qr")).to_be_hidden()
    screenshot(page, f"kiosk-idle-offline-{name}")

    keypad(page, place["volunteer"].volunteer_no)
    expect(page.locator(".k-offline .k-title")).to_have_text("目前沒有網路連線")
    screenshot(page, f"kiosk-offline-choose-{name}")
    page.locator(".k-offline").get_by_role("button", name="簽到").click()
    saved = page.locator(".k-result.is-saved")
    expect(saved.locator(".k-title")).to_have_text("已暫存，尚未核對")
    expect(page.locator("#k-pending")).to_have_text("1 筆待同步")
    screenshot(page, f"kiosk-offline-saved-{name}")
    assert fresh_sessions(db) == []

    page.context.set_offline(False)
    expect(page.locator("#k-pending")).to_be_hidden(timeout=15_000)
    expect(page.locator("#k-net")).to_have_text("連線中")
    sessions = wait_for(lambda: fresh_sessions(db))
    assert len(sessions) == 1
    [session] = sessions
    assert session.source == SessionSource.offline and "offline" in session.flag_set
    assert abs(session.checked_in_at - utcnow()) < dt.timedelta(minutes=1)
    assert page.evaluate("document.getElementById('k-refused').hidden") is True
    # Nothing is sent twice: the queue is empty and a later sync round finds nothing.
    page.evaluate("window.dispatchEvent(new Event('online'))")
    page.wait_for_timeout(1000)
    assert len(fresh_sessions(db)) == 1


def test_offline_wrong_pin_is_not_a_done_and_staff_see_what_failed(open_page, db, place):
    """Offline the kiosk cannot check a PIN (it holds no PIN hashes): the confirmation says the
    number and PIN are checked later, not a green tick; when the event is refused at the sync,
    the footer names the number and the time, a tap lists it, and the dashboard has it."""
    volunteer = place["volunteer"]
    page = enrol(open_page("portrait"), db, place)
    for expected in ("ERR_INTERNET_DISCONNECTED", "htmx:sendError", "Failed to fetch"):
        page.allow_console_error(expected)
    page.context.set_offline(True)
    expect(page.locator("#k-net")).to_have_text("離線中：仍可用 QR 卡或數字鍵盤簽到")
    keypad(page, volunteer.volunteer_no, pin="0000")  # a wrong PIN
    page.locator(".k-offline").get_by_role("button", name="簽退").click()
    saved = page.locator(".k-result.is-saved")
    expect(saved.locator(".k-title")).to_have_text("已暫存，尚未核對")
    expect(saved).to_contain_text(f"簽退 · 志工編號 {volunteer.volunteer_no}")
    expect(saved).to_contain_text("網路恢復後才會核對您的志工編號與 PIN 碼。若有錯誤，這筆不會登錄")
    assert "✓" not in saved.inner_text()
    assert saved.locator(".k-big-icon").evaluate("e => getComputedStyle(e).backgroundColor") != \
        page.locator(".k-key-ok").evaluate("e => getComputedStyle(e).backgroundColor")  # not the teal "done"
    saved_at = saved.locator(".k-time").inner_text()
    screenshot(page, "kiosk-offline-saved-not-checked")

    page.context.set_offline(False)
    badge = page.locator("#k-refused")
    expect(badge).to_have_text(f"未登錄：編號 {volunteer.volunteer_no} {saved_at}", timeout=15_000)
    expect(page.locator("#k-pending")).to_be_hidden()
    screenshot(page, "kiosk-refused-badge")
    assert fresh_sessions(db) == []
    badge.click()
    listed = page.locator(".k-refused-items li")
    expect(listed).to_have_count(1)
    expect(listed).to_have_text(f"{saved_at} · 簽退 · 志工編號 {volunteer.volunteer_no} · 離線時輸入的 PIN 碼錯誤")
    screenshot(page, "kiosk-refused-list")
    page.locator(".k-refused-list").get_by_role("button", name="返回").click()
    expect(page.locator("#k-idle")).to_be_visible()
    assert idle_overflows(page) == []  # the taller footer leaves the keypad room

    staff = sign_in(open_page("tablet"), place["admin"].email)
    staff.goto("/dashboard/")
    row = staff.locator("#refusals .refusal-row")
    expect(row).to_contain_text("陳淑芬")
    expect(row).to_contain_text("離線時輸入的 PIN 碼錯誤")
