"""The applicant's lookup (查詢報名進度) in a real browser, on a 360 px phone and a 1280 px
desktop: from the openings page to the form, a wrong birth date, then the interview's time."""
import datetime as dt

import pytest

from models import recruitment as r
from models.base import TAIPEI, taipei_date, utcnow
from models.openings import Opening, OpeningStatus
from tests.browser.conftest import assert_fits_phone, assert_touch_targets, path_of, screenshot
from tests.test_openings import good


@pytest.mark.parametrize("size, width", [("phone", 360), ("desktop", 1280)])
def test_an_applicant_checks_their_interview(db, make, unit, open_page, size, width):
    unit.phone, unit.address = "02-2700-0000", "臺北市大安區和平東路二段 100 號"
    opening = Opening(unit_id=unit.id, public_id="share-me-02", title="長者陪伴志工招募",
                      closes_on=taipei_date(utcnow()) + dt.timedelta(days=20),
                      status=OpeningStatus.published)
    db.add(opening)
    db.commit()
    data = {**good(), "birth_date": dt.date(1990, 4, 1), "privacy_consent": True,
            "guardian_consent": False}
    application, _ = r.submit_application(db, unit.id, opening, data, utcnow())
    admin = make.user(unit, role="admin")
    day = taipei_date(utcnow()) + dt.timedelta(days=3)
    when = dt.datetime.combine(day, dt.time(9, 30), tzinfo=TAIPEI).astimezone(dt.timezone.utc)
    r.schedule_interview(db, application.id, admin, utcnow(), when=when,
                         place="大安長照服務中心 3 樓會議室（捷運大安站 6 號出口）", interviewer_id=None)
    db.commit()

    page = open_page(size)
    page.goto("/openings")
    with page.expect_navigation():
        page.get_by_role("link", name="已經報名了嗎？查詢報名進度").click()
    assert path_of(page) == "/application-status"
    if width == 360:
        assert_fits_phone(page)
    assert_touch_targets(page)
    screenshot(page, f"application-status-form-{size}")

    page.allow_console_error("status of 400")
    page.fill("#reference_no", application.reference_no)
    page.fill("#birth_date", "1990-04-02")
    with page.expect_navigation():
        page.get_by_role("button", name="查詢").click()
    assert "查無符合" in page.locator("#lookup-not-found").inner_text()
    if width == 360:
        assert_fits_phone(page)
    screenshot(page, f"application-status-not-found-{size}")

    page.fill("#birth_date", "1990-04-01")
    with page.expect_navigation():
        page.get_by_role("button", name="查詢").click()
    state = page.locator("#application-state").inner_text()
    assert "已排面談" in state and day.isoformat() in state and "09:30" in state
    if width == 360:
        assert_fits_phone(page)
    assert_touch_targets(page)
    screenshot(page, f"application-status-interview-{size}")
