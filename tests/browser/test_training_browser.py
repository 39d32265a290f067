"""Training in a real browser on a phone: the admin ticks who attended a unit-run course and saves
in place (htmx swaps the roster; the page does not reload); the volunteer's progress then shows
the course done and service years from the later completion day."""
from __future__ import annotations

import datetime as dt

from playwright.sync_api import expect
from sqlalchemy import func, select

from models import training, training_events

from .conftest import assert_fits_phone, assert_touch_targets, screenshot, sign_in


def test_roster_marks_attendance_in_place(db, make, unit, phone, live_server):
    admin = make.user(unit, role="admin")
    training.seed_catalogue(db, unit)
    db.commit()
    people = [make.volunteer(unit, name_zh=name, trained=False) for name in ("陳淑芬", "林志明")]
    course = next(c for c in training.courses_of(db, unit.id) if c.code == "SW04")
    event = training_events.create_event(db, unit.id, course=course, held_on=dt.date(2026, 11, 20),
                                  place="本會三樓")
    db.commit()
    sign_in(phone, admin.email)
    phone.goto(f"{live_server.url}/admin/training/events/{event.id}")
    phone.evaluate("window.__notReloaded = true")
    for person in people:
        phone.get_by_label(person.name_zh).check()
    phone.get_by_role("button", name="儲存出席").click()
    expect(phone.get_by_text("已儲存出席：2 人出席。")).to_be_visible()
    assert phone.evaluate("window.__notReloaded === true")
    assert_fits_phone(phone)
    assert_touch_targets(phone)
    screenshot(phone, "training-roster")
    phone.goto(f"{live_server.url}/admin/training/volunteers/{people[0].id}")
    expect(phone.locator("#status-social_welfare")).to_contain_text("尚缺：志願服務內涵及倫理")
    assert_fits_phone(phone)
    screenshot(phone, "training-volunteer")
    phone.goto(f"{live_server.url}/admin/training/")
    basic = phone.locator(f"#progress-{people[0].id} td").nth(1)  # a card: each value labelled
    assert basic.evaluate("td => getComputedStyle(td, '::before').content") == '"基礎訓練 "'
    assert_fits_phone(phone, tables=True)
    phone.goto(f"{live_server.url}/admin/training/courses")
    assert_fits_phone(phone, tables=True)
    screenshot(phone, "training-courses-phone")
    screenshot(phone, "training-progress")


def test_new_event_needs_a_course_and_only_the_latest_message_shows(db, make, unit, tablet,
                                                                    live_server):
    """An untouched "new training event" form names no course and is refused in words (it used
    to save B01 today). After the event is added its flash stays until the admin saves the
    attendance in place: then only "Attendance saved" shows, not both."""
    admin = make.user(unit, role="admin")
    training.seed_catalogue(db, unit)
    db.commit()
    person = make.volunteer(unit, name_zh="陳淑芬", trained=False)
    sign_in(tablet, admin.email)
    tablet.goto(f"{live_server.url}/admin/training/events/new")
    course = tablet.get_by_label("課程", exact=True)
    expect(course).to_have_value("")
    tablet.allow_console_error("status of 400")  # the refused form comes back as a 400 page
    tablet.get_by_role("button", name="儲存").click()
    expect(tablet.get_by_text("請選擇課程。")).to_be_visible()
    screenshot(tablet, "training-event-new-refused")
    db.rollback()
    assert db.scalar(select(func.count(training.TrainingEvent.id))) == 0
    sw04 = next(c for c in training.courses_of(db, unit.id) if c.code == "SW04")
    course.select_option(str(sw04.id))
    tablet.get_by_role("button", name="儲存").click()
    added = tablet.locator("main > .flashes")
    expect(added).to_contain_text("已新增訓練場次")
    tablet.get_by_label(person.name_zh).check()
    tablet.get_by_role("button", name="儲存出席").click()
    expect(tablet.get_by_text("已儲存出席：1 人出席。")).to_be_visible()
    expect(tablet.get_by_text("已新增訓練場次")).to_have_count(0)
    expect(added).to_have_count(0)
    screenshot(tablet, "training-event-attendance-saved")
