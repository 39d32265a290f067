"""Recruitment end to end in a real browser: an anonymous person applies on a phone from the
shared opening link, an admin accepts on a tablet, the new volunteer sets a password and a PIN
through the welcome link and lands on the volunteer home."""
import datetime as dt

from sqlalchemy import select

from models.base import TAIPEI, taipei_date, utcnow
from models.idnumbers import with_check_digit
from models.people import Gender, Volunteer
from models.openings import Opening, OpeningStatus
from models.recruitment import Application, ApplicationStatus
from tests.browser.conftest import (assert_fits_phone, assert_touch_targets, path_of,
                                    screenshot, sign_in)


def test_apply_accept_welcome(db, make, unit, phone, open_page):
    item = make.item(unit, name_zh="長者陪伴關懷")
    site = make.site(unit, name_zh="大安長照服務中心")
    opening = Opening(unit_id=unit.id, public_id="share-me-01", title="長者陪伴志工招募",
                      description="陪伴長者聊天、散步、讀報。\n協助據點活動。",
                      schedule="每週二上午 9:00–12:00", requirements="年滿 16 歲，有耐心。",
                      wanted=5, closes_on=taipei_date(utcnow()) + dt.timedelta(days=20),
                      status=OpeningStatus.published, service_items=[item], sites=[site])
    db.add(opening)
    db.commit()
    admin_user = make.user(unit, role="admin", display_name="王承辦")

    # --- an anonymous person, phone, opens the shared link
    phone.goto("/openings/share-me-01")
    assert "長者陪伴志工招募" in phone.locator("main h1").inner_text()
    phone.locator("img.qr").wait_for()
    assert_fits_phone(phone)
    screenshot(phone, "recruitment-opening-phone")
    with phone.expect_navigation():
        phone.get_by_role("link", name="立即報名").click()
    assert path_of(phone) == "/openings/share-me-01/apply"

    # sends with mistakes first: the form comes back with the fields' errors (HTTP 400)
    phone.allow_console_error("status of 400")
    phone.fill("#name_zh", "陳怡君")
    phone.fill("#id_number", "A123456788")  # wrong check digit
    with phone.expect_navigation():
        phone.get_by_role("button", name="送出報名").click()
    assert "檢查碼不正確" in phone.locator("#id_number-error").inner_text()
    assert "請輸入出生日期" in phone.locator("#birth_date-error").inner_text()
    assert "請閱讀個人資料告知事項並同意" in phone.locator("main").inner_text()
    assert phone.locator("#name_zh").input_value() == "陳怡君"  # kept
    assert_fits_phone(phone)
    screenshot(phone, "recruitment-form-errors-phone")

    phone.get_by_label("女").check()
    phone.fill("#birth_date", "1992-08-15")
    phone.fill("#phone", "0912-345-678")
    phone.fill("#email", "yijun@example.tw")
    phone.fill("#id_number", with_check_digit("A22446688"))
    phone.fill("#address", "臺北市大安區復興南路一段 100 號")
    phone.fill("#availability", "週二上午、週六全天")
    phone.fill("#emergency_contact", "陳先生（父）")
    phone.fill("#emergency_phone", "0922-111-222")
    phone.get_by_label("我已閱讀個人資料告知事項並同意。").check()
    with phone.expect_navigation():
        phone.get_by_role("button", name="送出報名").click()
    reference = phone.locator("#reference-no").inner_text()
    assert reference.startswith(f"A{taipei_date(utcnow()).year}-00001")
    screenshot(phone, "recruitment-thanks-phone")
    db.rollback()
    application = db.scalar(select(Application).where(Application.reference_no == reference))
    assert application.name_zh == "陳怡君"

    # --- the admin, tablet, accepts in the pipeline
    tablet = sign_in(open_page("tablet"), admin_user.email)
    tablet.goto("/admin/recruitment/")
    row = tablet.locator(f"#application-{application.id}")
    assert "陳怡君" in row.inner_text()
    screenshot(tablet, "recruitment-pipeline-tablet")
    tablet.evaluate("window.__marker = 'same page'")
    row.get_by_role("button", name="決定").click()
    tablet.locator(f"#application-{application.id} textarea[name=note]").fill("面談表現良好")
    screenshot(tablet, "recruitment-decide-tablet")
    tablet.locator(f"#application-{application.id}").get_by_role("button", name="錄取", exact=True).click()
    tablet.locator("#welcome-sheet img.qr").wait_for()
    assert tablet.evaluate("window.__marker") == "same page"
    assert "已錄取" in tablet.locator(f"#application-{application.id}").inner_text()
    screenshot(tablet, "recruitment-accepted-tablet")
    # the sheet says "print": a button does, and the sheet prints alone (no menu, no sign-out)
    button = tablet.locator("#welcome-sheet").get_by_role("button", name="列印這張單")
    assert button.is_visible()
    tablet.emulate_media(media="print")
    for hidden in (".topbar", ".mainnav", "#pipeline", "#openings", "#welcome-sheet [data-print]"):
        assert not tablet.locator(hidden).is_visible(), hidden
    assert tablet.locator("#welcome-sheet img.qr").is_visible()
    screenshot(tablet, "recruitment-welcome-print-tablet")
    tablet.emulate_media(media="screen")
    welcome = tablet.locator("#welcome-link").get_attribute("href")
    db.rollback()
    db.expire_all()
    application = db.get(Application, application.id)
    assert application.status == ApplicationStatus.accepted

    # --- the new volunteer opens the welcome link (scanned from the sheet) on a phone
    person = open_page("phone")
    person.goto(welcome)
    assert "陳怡君" in person.locator("main h1").inner_text()
    person.fill("#password", "my own pass 2026")
    person.fill("#confirm", "my own pass 2026")
    person.fill("#pin", "2468")
    person.fill("#pin_confirm", "2468")
    assert_fits_phone(person)
    screenshot(person, "recruitment-welcome-phone")
    with person.expect_navigation():
        person.get_by_role("button", name="儲存並登入").click()
    assert path_of(person) == "/"
    assert "陳怡君" in person.locator("main").inner_text()
    assert_fits_phone(person)
    db.rollback()
    db.expire_all()
    vol = db.get(Volunteer, application.volunteer_id)
    assert vol.check_pin("2468") and vol.user.check_password("my own pass 2026")
    # the link worked once
    person.allow_console_error("status of 410")
    person.goto(welcome)
    assert "已經使用過" in person.locator("main").inner_text()


def test_admin_publishes_an_opening_on_a_phone(db, make, unit, phone):
    make.item(unit, name_zh="送餐服務")
    make.site(unit, name_zh="萬華社區關懷據點")
    admin_user = make.user(unit, role="admin")
    page = sign_in(phone, admin_user.email)
    page.goto("/admin/recruitment/")
    with page.expect_navigation():
        page.get_by_role("link", name="新增招募公告").click()
    page.allow_console_error("status of 400")
    with page.expect_navigation():
        page.get_by_role("button", name="儲存").click()
    assert "請輸入標題" in page.locator("#title-error").inner_text()
    page.fill("#title", "送餐志工招募")
    page.get_by_label("送餐服務").check()
    page.get_by_label("萬華社區關懷據點").check()
    page.fill("#description", "中午協助送餐到長者家中。")
    page.fill("#schedule", "週一至週五 11:00–13:00")
    page.fill("#wanted", "4")
    page.fill("#closes_on", "2099-12-31")
    page.select_option("#status", "published")
    assert_fits_phone(page)
    with page.expect_navigation():
        page.get_by_role("button", name="儲存").click()
    assert "送餐志工招募" in page.locator("main h1").inner_text()
    page.locator("img.qr").wait_for()
    text = page.locator("#announcement").input_value()
    assert "萬華社區關懷據點" in text and "2099-12-31" in text and "/openings/" in text
    assert_fits_phone(page)
    screenshot(page, "recruitment-opening-admin-phone")


def test_the_application_page_schedules_and_decides_in_place(db, make, unit, open_page):
    """The application's own page acts as the list row does: the interview form and the
    decision open in the card, and the answer replaces the card (phone and desktop)."""
    admin_user = make.user(unit, role="admin", display_name="王承辦")
    applications = []
    for n, name in enumerate(("陳怡君", "張志明")):
        a = Application(unit_id=unit.id, reference_no=f"A2026-0000{n + 1}", name_zh=name,
                        gender=Gender.female, birth_date=dt.date(1990, 5, 1),
                        phone="0912-345-678", email=f"app{n}@example.tw",
                        id_number=with_check_digit(f"A2244668{n}"), address="臺北市大安區",
                        availability="週二上午", emergency_contact="陳先生",
                        emergency_phone="0922-111-222", privacy_consent_at=utcnow())
        db.add(a)
        applications.append(a)
    db.commit()
    when = (utcnow() + dt.timedelta(days=3)).astimezone(TAIPEI).strftime("%Y-%m-%dT10:00")
    for size, a in zip(("phone", "desktop"), applications):
        page = sign_in(open_page(size), admin_user.email)
        page.goto(f"/admin/recruitment/applications/{a.id}")
        card = page.locator("#application-card")
        if size == "phone":
            assert_fits_phone(page)
            assert_touch_targets(page)
        screenshot(page, f"recruitment-application-{size}")
        page.evaluate("window.__marker = 'same page'")
        card.get_by_role("button", name="面談").click()
        card.locator("input[name=interview_place]").fill("二樓會議室")
        card.locator("input[name=interview_at]").fill(when)
        if size == "phone":
            assert_fits_phone(page)
        screenshot(page, f"recruitment-application-interview-{size}")
        card.get_by_role("button", name="安排面談").click()
        page.get_by_text("二樓會議室").first.wait_for()
        assert "已排面談" in card.inner_text()
        card.get_by_role("button", name="決定").click()
        card.locator("textarea[name=note]").fill("面談表現良好")
        card.get_by_role("button", name="錄取", exact=True).click()
        page.locator("#welcome-sheet img.qr").wait_for()
        assert page.evaluate("window.__marker") == "same page"
        assert "已錄取" in card.inner_text() and "面談表現良好" in card.inner_text()
        if size == "phone":
            assert_fits_phone(page)
        screenshot(page, f"recruitment-application-accepted-{size}")
        db.rollback()
        db.expire_all()
        assert db.get(Application, a.id).status == ApplicationStatus.accepted
