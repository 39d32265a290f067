"""A new unit's admin works from a phone: pages a unit with its first applications needs."""
from models.people import Gender
from models.openings import Opening, OpeningStatus
from models.recruitment import Application, ApplicationStatus
from tests.browser.conftest import assert_fits_phone, screenshot, sign_in


def test_applications_fit_a_phone_with_their_actions(db, make, unit, phone):
    """The applications table was 644 px wide in a 332 px card: Interview, Decide and the
    status were off-screen to the right. On a phone each application is a card."""
    from models.idnumbers import with_check_digit
    import datetime as dt

    opening = Opening(unit_id=unit.id, public_id="lib-2026", title="圖書館志工",
                      description="借還書與上架。", status=OpeningStatus.published)
    db.add(opening)
    db.flush()
    for n, name in enumerate(("林小安", "陳家長")):
        db.add(Application(unit_id=unit.id, opening_id=opening.id, reference_no=f"A2026-0000{n + 1}",
                           name_zh=name, gender=Gender.female, birth_date=dt.date(1980, 1, 1),
                           phone="0912345678", id_kind="national_id",
                           id_number=with_check_digit(f"A2{n:07d}"), address="臺北市",
                           availability="週三", emergency_contact="家人", emergency_phone="0922000111",
                           status=ApplicationStatus.applied, privacy_consent_at=dt.datetime.now(dt.timezone.utc)))
    db.commit()
    admin = make.user(unit, role="admin")
    sign_in(phone, admin.email)
    phone.goto("/admin/recruitment/")
    assert_fits_phone(phone, 390, tables=True)
    phone.get_by_role("button", name="面談").first.wait_for()
    assert phone.get_by_role("button", name="決定").first.is_visible()
    phone.get_by_role("button", name="面談").first.click()
    phone.locator("input[name=interview_place]").wait_for()
    assert_fits_phone(phone, 390, tables=True)
    screenshot(phone, "onboarding-recruitment-interview-phone")


def test_getting_started_card_on_a_phone_and_a_desktop(db, make, browser, live_server, phone):
    """A new unit's admin home lists the first steps; each opens its page; nothing sticks out at
    phone width, every button is a full-size touch target, and axe finds nothing serious."""
    from tests.browser.conftest import assert_touch_targets
    from tests.browser.test_accessibility_browser import axe_violations

    unit = make.unit(registration_no="")
    admin = make.user(unit, role="admin")
    sign_in(phone, admin.email)
    card = phone.locator("#getting-started")
    card.wait_for()
    assert card.locator("li").count() == 9
    assert card.locator("li.next[data-step=profile]").is_visible()
    assert_fits_phone(phone, 360)
    assert_touch_targets(phone)
    assert not axe_violations(phone)
    screenshot(phone, "getting-started-phone")
    card.get_by_role("link", name="單位資料").click()
    phone.wait_for_url("**/admin/unit")

    context = browser.new_context(base_url=live_server.url, locale="en", timezone_id="Asia/Taipei",
                                  viewport={"width": 1280, "height": 800})
    try:
        desk = context.new_page()
        sign_in(desk, admin.email)
        desk.locator("form.lang button[value=en]").click()
        desk.wait_for_load_state()
        card = desk.locator("#getting-started")
        assert "Getting started" in card.inner_text() and "0 of 9 done" in card.inner_text()
        assert desk.evaluate("document.documentElement.scrollWidth") <= 1280
        assert not axe_violations(desk)
        screenshot(desk, "getting-started-desktop-en")
    finally:
        context.close()
