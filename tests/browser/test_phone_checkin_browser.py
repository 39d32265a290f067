"""A volunteer's own phone: scan the site poster's QR URL, sign in, check in, check out."""
import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from models.service import Flag, ServiceSession, SessionSource, SessionStatus
from tests.browser.conftest import assert_fits_phone, path_of, screenshot, sign_in


def _sessions(db):
    db.rollback()
    db.expire_all()
    return db.scalars(select(ServiceSession)).all()


def test_poster_qr_to_check_in_and_out_on_a_phone(db, make, unit, phone):
    site = make.site(unit, name_zh="大安長照服務中心", name_en="Da'an Care Centre")
    make.item(unit, name_zh="長者陪伴關懷")
    user = make.user(unit, role="volunteer")
    make.cover(user.volunteer)

    page = phone
    page.goto(f"/s/{site.token}")  # what the camera app opens after scanning the poster
    assert path_of(page) == "/sign-in"
    page.locator("input[name=email]").fill(user.email)
    page.locator("input[name=password]").fill(make.PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="登入").click()
    assert path_of(page) == f"/s/{site.token}"  # landed back on the check-in page
    assert page.get_by_text("大安長照服務中心").first.is_visible()
    assert_fits_phone(page)
    screenshot(page, "phone-checkin-before")

    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.get_by_role("button", name="簽到", exact=True).click()
    # htmx swaps the panel in place: only the panel comes back, the page stays where it is.
    assert answer.value.request.headers.get("hx-request") == "true"
    assert "<html" not in answer.value.text()
    page.get_by_text("已簽到").wait_for()
    # the focus lands on the confirmation (a screen reader reads it), not in the next form's field
    expect(page.locator(".confirm-ok")).to_be_focused()
    assert path_of(page) == f"/s/{site.token}"
    screenshot(page, "phone-checkin-done")
    [s] = _sessions(db)
    assert s.status == SessionStatus.open and s.source == SessionSource.poster

    page.locator("input[name=persons_served]").fill("4")
    with page.expect_response(lambda r: r.request.method == "POST"):
        page.get_by_role("button", name="簽退", exact=True).click()
    page.get_by_text("已簽退").wait_for()
    expect(page.locator(".confirm-ok")).to_be_focused()
    assert_fits_phone(page)
    screenshot(page, "phone-checkout-done")
    [s] = _sessions(db)
    assert s.status == SessionStatus.closed and s.persons_served == 4


@pytest.mark.parametrize("locale", ["zh-TW", "en"])
def test_a_refusal_lists_every_reason_and_keeps_the_item(db, make, unit, open_page, locale):
    """No insurance, no training: every reason on the one answer, the item chosen still chosen."""
    from models.training import TrainingRecord

    site = make.site(unit, name_zh="大安長照服務中心", name_en="Da'an Care Centre")
    make.item(unit, code="A01", name_zh="長者陪伴關懷", name_en="Companionship for elders")
    chosen = make.item(unit, code="A02", name_zh="共餐與送餐服務", name_en="Shared and delivered meals")
    user = make.user(unit, role="volunteer")
    db.execute(TrainingRecord.__table__.delete().where(TrainingRecord.volunteer_id == user.volunteer.id))
    db.commit()
    page = sign_in(open_page("phone", locale=locale), user.email, expect=None)
    page.allow_console_error("status of 409")
    page.goto(f"/s/{site.token}")
    page.locator("#item_id").select_option(str(chosen.id))
    with page.expect_response(lambda r: r.request.method == "POST"):
        page.locator("button[value=check_in]").click()
    refused = page.locator(".confirm-refused[role=alert]")
    expect(refused.locator(".confirm-title")).to_have_text(
        "簽到未成功" if locale == "zh-TW" else "Check-in not recorded")
    expect(refused.locator("li")).to_have_count(3)
    expect(refused).to_be_focused()
    expect(page.locator("#item_id")).to_have_value(str(chosen.id))
    assert_fits_phone(page)
    screenshot(page, f"phone-refused-every-reason-{locale}")
    assert _sessions(db) == []


def test_presence_check_uses_the_phones_position(db, make, unit, browser, live_server):
    from tests.browser.conftest import SIZES, sign_in

    site = make.site(unit, name_zh="大安長照服務中心", latitude=25.0263, longitude=121.5436, radius_m=200)
    make.item(unit)
    near_user, far_user = make.user(unit, role="volunteer"), make.user(unit, role="volunteer")
    make.cover(near_user.volunteer)
    make.cover(far_user.volunteer)

    def phone_at(lat, lon):
        context = browser.new_context(base_url=live_server.url, locale="zh-TW", timezone_id="Asia/Taipei",
                                      geolocation={"latitude": lat, "longitude": lon, "accuracy": 15},
                                      permissions=["geolocation"], **SIZES["phone"])
        return context, context.new_page()

    near_ctx, near = phone_at(25.0266, 121.5440)
    sign_in(near, near_user.email)
    near.goto(f"/s/{site.token}")
    near.get_by_role("button", name="簽到", exact=True).click()
    near.get_by_text("已簽到").wait_for()

    far_ctx, far = phone_at(25.0478, 121.5170)  # Taipei Main Station, ~3.6 km away
    sign_in(far, far_user.email)
    far.goto(f"/s/{site.token}")
    far.get_by_role("button", name="簽到", exact=True).click()
    far.get_by_text("請在服務地點簽到").wait_for()
    screenshot(far, "phone-checkin-too-far")
    near_ctx.close()
    far_ctx.close()

    [s] = _sessions(db)
    assert s.volunteer_id == near_user.volunteer.id
    assert Flag.position_unavailable.value not in s.flag_set



def test_kiosk_qr_then_a_slow_sign_in_still_checks_in(app, db, make, unit, phone, monkeypatch):
    """The kiosk's rotating code lives 90 s; a volunteer who is not signed in types an email and
    a password for longer than that and must still land on a working page (the presence pass)."""
    import datetime as dt

    import kiosk.phone
    from models.base import utcnow
    from models.kiosk import create_device, enrol, presence_token

    site = make.site(unit, name_zh="大安長照服務中心")
    make.item(unit, name_zh="長者陪伴關懷")
    user = make.user(unit, role="volunteer")
    make.cover(user.volunteer)
    device, code = create_device(db, site=site, name="櫃台平板", actor=None, now=utcnow())
    enrol(db, code, utcnow())
    db.commit()

    page = phone
    page.goto(f"/k/{presence_token(device, app.secret_key, utcnow())}")  # the camera app opens it
    assert path_of(page) == "/sign-in"
    start = utcnow()
    monkeypatch.setattr(kiosk.phone, "utcnow", lambda: start + dt.timedelta(minutes=3))  # slow typing
    page.locator("input[name=email]").fill(user.email)
    page.locator("input[name=password]").fill(make.PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="登入").click()
    assert path_of(page).startswith("/k/p/")
    assert page.get_by_text("大安長照服務中心").first.is_visible()
    page.get_by_role("button", name="簽到", exact=True).click()
    page.get_by_text("已簽到").wait_for()
    screenshot(page, "phone-kiosk-qr-after-slow-sign-in")
    [s] = _sessions(db)
    assert s.source == SessionSource.kiosk_qr and s.volunteer_id == user.volunteer.id


def test_a_kiosk_pass_sent_on_to_another_phone_says_to_scan_the_kiosk(app, db, make, unit, phone, open_page):
    """A volunteer at reception scans the kiosk's code while signed out and sends the address in
    LINE to a friend who is not there: on the friend's phone (signed in) the page says to scan
    the code on the kiosk screen, and no check-in button is there to tap."""
    from models.base import utcnow
    from models.kiosk import create_device, enrol, presence_token

    site = make.site(unit, name_zh="大安長照服務中心")
    make.item(unit, name_zh="長者陪伴關懷")
    friend = make.user(unit, role="volunteer")
    make.cover(friend.volunteer)
    device, code = create_device(db, site=site, name="櫃台平板", actor=None, now=utcnow())
    enrol(db, code, utcnow())
    db.commit()

    phone.goto(f"/k/{presence_token(device, app.secret_key, utcnow())}")  # at reception, signed out
    assert path_of(phone) == "/sign-in"
    sent = phone.evaluate("new URLSearchParams(location.search).get('next')")
    assert sent.startswith("/k/p/")

    at_home = sign_in(open_page("phone"), friend.email)
    at_home.allow_console_error("404")
    at_home.goto(sent)
    expect(at_home.get_by_role("alert")).to_contain_text("請用您自己的手機掃描簽到站螢幕上的 QR 碼")
    expect(at_home.get_by_role("button", name="簽到", exact=True)).to_have_count(0)
    assert_fits_phone(at_home)
    screenshot(at_home, "phone-kiosk-pass-forwarded")
    assert _sessions(db) == []


@pytest.mark.parametrize("failure", [404, 403, 500])
def test_a_tap_that_fails_unswapped_says_so(db, make, unit, phone, failure):
    """htmx swaps nothing for a 403, 404 or 500 answer: the volunteer must be told it did not
    work, in words, never left with a silent page. (No network at all: the next test.)"""
    site = make.site(unit, name_zh="大安長照服務中心")
    make.item(unit)
    user = make.user(unit, role="volunteer")
    make.cover(user.volunteer)
    page = sign_in(phone, user.email)
    page.goto(f"/s/{site.token}")
    page.allow_console_error("status of")  # Chromium logs the failed answer...
    page.allow_console_error("net::ERR_FAILED")
    page.allow_console_error("Response Status Error")  # ... and htmx its error events
    page.allow_console_error("htmx:")

    def answer(route):
        if route.request.method != "POST":
            return route.continue_()
        return route.fulfill(status=failure, body="<p>nope</p>", content_type="text/html")

    page.route(f"**/s/{site.token}", answer)
    banner = page.locator("#hx-failed")
    expect(banner).to_be_hidden()
    page.get_by_role("button", name="簽到", exact=True).click()
    expect(banner).to_be_visible()
    expect(banner).to_have_attribute("role", "alert")
    expect(banner).to_contain_text("沒有完成，請重新整理頁面再試一次。")
    assert_fits_phone(page)
    if failure == 404:
        screenshot(page, "phone-checkin-failed-unswapped")
    assert _sessions(db) == []
    page.unroute(f"**/s/{site.token}")
    page.get_by_role("button", name="重新整理頁面").click()
    page.get_by_role("button", name="簽到", exact=True).click()
    page.get_by_text("已簽到").wait_for()
    expect(banner).to_be_hidden()


def test_check_out_elsewhere_first_names_that_site_in_english_too(db, make, unit, open_page):
    """Checked in at another site: "Check out at <there> first", and the confirmation under
    this site's heading says which site was checked out of; English shows English names."""
    here = make.site(unit, name_zh="大安長照服務中心", name_en="Daan Care Centre")
    there = make.site(unit, name_zh="萬華社區關懷據點", name_en="Wanhua Care Point")
    make.item(unit)
    for locale, first, done in (("zh-TW", "先在萬華社區關懷據點簽退", "已在萬華社區關懷據點簽退"),
                                ("en", "Check out at Wanhua Care Point first", "Checked out at Wanhua Care Point")):
        # one volunteer each: a check-in there a second after checking out there would be
        # taken for a double tap on "Check out" (checkin.DOUBLE_TAP)
        user = make.user(unit, role="volunteer")
        make.cover(user.volunteer)
        page = sign_in(open_page("phone", locale=locale), user.email)
        page.goto(f"/s/{there.token}")
        page.locator("button[value=check_in]").click()
        page.locator(".confirm-ok").wait_for()
        page.goto(f"/s/{here.token}")
        page.get_by_role("button", name=first).click()
        confirm = page.locator(".confirm-ok")
        expect(confirm.locator(".confirm-title")).to_have_text(done)
        expect(confirm).to_be_focused()
        expect(page.locator("button[value=check_in]")).to_be_visible()
        assert_fits_phone(page)
        screenshot(page, f"phone-checked-out-elsewhere-{locale}")
    assert all(s.checked_out_at is not None for s in _sessions(db))


def _volunteer_at(make, unit, **site):
    site = make.site(unit, name_zh="大安長照服務中心", name_en="Daan Care Centre", **site)
    make.item(unit, name_zh="長者陪伴關懷")
    user = make.user(unit, role="volunteer")
    make.cover(user.volunteer)
    return site, user


def test_a_double_tap_on_check_out_checks_out_only(db, make, unit, phone):
    """Two quick taps on 簽退 at the same spot (a double tap, 350 ms apart): the first checks out,
    the second lands on the answer, where no check-in button waits under the finger (and a
    check-in arriving that soon would not count anyway: checkin.DOUBLE_TAP)."""
    site, user = _volunteer_at(make, unit)
    page = sign_in(phone, user.email)
    page.goto(f"/s/{site.token}")
    page.get_by_role("button", name="簽到", exact=True).click()
    page.get_by_text("已簽到").wait_for()
    box = page.get_by_role("button", name="簽退", exact=True).bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.touchscreen.tap(x, y)
    page.wait_for_timeout(350)
    page.locator(".confirm-ok .confirm-title", has_text="已簽退").wait_for()  # a slow answer: still on it
    under_finger = page.evaluate("([x, y]) => document.elementFromPoint(x, y).outerHTML.slice(0, 120)", [x, y])
    assert 'value="check_in"' not in under_finger, under_finger
    page.touchscreen.tap(x, y)
    page.wait_for_load_state("networkidle")
    expect(page.locator(".confirm-ok .confirm-title")).to_have_text("已簽退")
    screenshot(page, "phone-double-tap-check-out")
    [s] = _sessions(db)
    assert s.status == SessionStatus.closed and s.checked_out_at is not None
    # checking in again is a deliberate step: the link, then the button
    again = page.get_by_role("link", name="再次簽到")
    again_box = again.bounding_box()
    assert again_box["y"] > box["y"] + box["height"] or again_box["y"] + again_box["height"] < box["y"], \
        "再次簽到 stands where 簽退 was"
    assert_fits_phone(page)
    again.click()
    page.get_by_role("button", name="簽到", exact=True).click()
    page.get_by_text("已簽到").wait_for()
    assert [x.status for x in sorted(_sessions(db), key=lambda x: x.id)] == [SessionStatus.closed, SessionStatus.open]


def test_kiosk_qr_never_asks_for_the_phones_position(app, db, make, unit, phone):
    """The kiosk's rotating QR proves the volunteer stands at reception: even where the site
    checks positions, the page scanned from it does not ask for one."""
    from models.base import utcnow
    from models.kiosk import create_device, enrol, presence_token

    site, user = _volunteer_at(make, unit, latitude=25.0263, longitude=121.5436, radius_m=200)
    device, code = create_device(db, site=site, name="櫃台平板", actor=None, now=utcnow())
    enrol(db, code, utcnow())
    db.commit()
    page = phone
    page.add_init_script("""window.__asked = 0;
      navigator.geolocation.getCurrentPosition = (ok, fail) => { window.__asked += 1;
        fail && fail({code: 1, message: "denied"}); };""")
    sign_in(page, user.email)
    page.goto(f"/k/{presence_token(device, app.secret_key, utcnow())}")
    assert path_of(page).startswith("/k/p/")
    expect(page.locator("[data-position-note]")).to_have_count(0)
    page.get_by_role("button", name="簽到", exact=True).click()
    page.get_by_text("已簽到").wait_for()
    assert page.evaluate("window.__asked") == 0
    expect(page.locator("#position-note")).to_have_count(0)
    [s] = _sessions(db)
    assert s.source == SessionSource.kiosk_qr and s.flags == ""


def test_offline_tap_says_nothing_was_recorded_and_pages_fall_back_to_the_offline_page(db, make, unit, phone):
    """No network: a tap on 簽到 says in the panel that nothing was recorded and what to do
    (later, or the reception tablet), not "reload the page"; reloading then shows the
    service worker's offline page, in both languages, not the browser's error page."""
    site, user = _volunteer_at(make, unit)
    page = sign_in(phone, user.email)
    page.goto(f"/s/{site.token}")
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    page.reload()  # now the service worker controls the page
    assert page.evaluate("navigator.serviceWorker.controller !== null")
    page.allow_console_error("net::ERR_INTERNET_DISCONNECTED")
    page.allow_console_error("htmx:")
    note = page.locator("#checkin-panel [data-send-failed]")
    expect(note).to_be_hidden()
    page.context.set_offline(True)
    try:
        page.get_by_role("button", name="簽到", exact=True).click()
        expect(note).to_be_visible()
        expect(note).to_have_attribute("role", "alert")
        expect(note).to_contain_text("沒有網路連線")
        expect(note).to_contain_text("這次沒有記錄")
        expect(note).to_contain_text("櫃台的簽到站")
        expect(page.locator("#hx-failed")).to_be_hidden()
        expect(page.get_by_role("button", name="簽到", exact=True)).to_be_enabled()  # ready to try again
        assert_fits_phone(page)
        screenshot(page, "phone-checkin-offline")
        assert _sessions(db) == []
        page.reload()
        expect(page.locator("section[lang=zh-Hant-TW] h1")).to_have_text("目前沒有網路連線")
        expect(page.locator("section[lang=en] h1")).to_have_text("No network connection")
        expect(page.locator("main")).to_contain_text("櫃台的簽到站")
        assert page.evaluate("getComputedStyle(document.querySelector('.btn-primary')).display") != "inline"  # styled offline too
        assert_fits_phone(page)
        screenshot(page, "phone-offline-page")
    finally:
        page.context.set_offline(False)
    page.get_by_role("link", name="再試一次").click()  # reloads the address that failed
    assert path_of(page) == f"/s/{site.token}"
    page.get_by_role("button", name="簽到", exact=True).click()
    page.get_by_text("已簽到").wait_for()
    expect(note).to_be_hidden()
    assert len(_sessions(db)) == 1
