"""A volunteer's own phone: scan the site poster's QR URL, sign in, check in, check out."""
from sqlalchemy import select

from models.service import Flag, ServiceSession, SessionSource, SessionStatus
from tests.browser.conftest import assert_fits_phone, path_of, screenshot


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
        page.get_by_role("button", name="簽到 Check in").click()
    # htmx swaps the panel in place: only the panel comes back, the page stays where it is.
    assert answer.value.request.headers.get("hx-request") == "true"
    assert "<html" not in answer.value.text()
    page.get_by_text("已簽到").wait_for()
    assert path_of(page) == f"/s/{site.token}"
    screenshot(page, "phone-checkin-done")
    [s] = _sessions(db)
    assert s.status == SessionStatus.open and s.source == SessionSource.poster

    page.locator("input[name=persons_served]").fill("4")
    with page.expect_response(lambda r: r.request.method == "POST"):
        page.get_by_role("button", name="簽退 Check out").click()
    page.get_by_text("已簽退").wait_for()
    assert_fits_phone(page)
    screenshot(page, "phone-checkout-done")
    [s] = _sessions(db)
    assert s.status == SessionStatus.closed and s.persons_served == 4


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
    near.get_by_role("button", name="簽到 Check in").click()
    near.get_by_text("已簽到").wait_for()

    far_ctx, far = phone_at(25.0478, 121.5170)  # Taipei Main Station, ~3.6 km away
    sign_in(far, far_user.email)
    far.goto(f"/s/{site.token}")
    far.get_by_role("button", name="簽到 Check in").click()
    far.get_by_text("請在服務地點簽到").wait_for()
    screenshot(far, "phone-checkin-too-far")
    near_ctx.close()
    far_ctx.close()

    [s] = _sessions(db)
    assert s.volunteer_id == near_user.volunteer.id
    assert Flag.position_unavailable.value not in s.flag_set
