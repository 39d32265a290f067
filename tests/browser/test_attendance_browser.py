"""Attendance in a real browser at tablet size: a supervisor marks an absent volunteer excused
in place (htmx swaps the row and the day's counts; the page itself does not reload)."""
from __future__ import annotations

import datetime as dt

from playwright.sync_api import expect

from models import shift_changes
from models.base import TAIPEI
from models.service import ServiceSession, SessionSource, SessionStatus
from models.verification import SupervisorSite

from .conftest import assert_fits_phone, assert_touch_targets, screenshot, sign_in

DAY = dt.date(2026, 3, 2)
EVENING = dt.datetime.combine(DAY, dt.time(18, 0), tzinfo=TAIPEI)


def tp(hhmm: str) -> dt.datetime:
    return dt.datetime.combine(DAY, dt.time.fromisoformat(hhmm), tzinfo=TAIPEI)


def a_day(db, make, unit, supervisor):
    site = make.site(unit, name_zh="大安長照服務中心", name_en="Da'an Long-term Care Centre")
    meals = make.item(unit, name_zh="共餐與送餐服務", name_en="Shared and delivered meals")
    company = make.item(unit, name_zh="長者陪伴關懷", name_en="Companionship for elders")
    db.add(SupervisorSite(user_id=supervisor.id, site_id=site.id))
    db.commit()
    admin = make.user(unit, role="admin")
    people = [  # name, item, shift, check-in, check-out
        ("陳淑芬", meals, ("09:00", "12:00"), "08:52", "12:03"),
        ("林志明", meals, ("09:00", "12:00"), "09:24", "12:00"),
        ("黃雅婷", company, ("13:30", "16:30"), "13:25", "15:40"),
        ("張家豪", company, ("13:30", "16:30"), None, None),
        ("李秀英", meals, ("09:00", "12:00"), None, None),
        ("吳美玲", company, ("13:30", "16:30"), "13:29", "16:35"),
    ]
    for name, item, (start, end), came, left in people:
        vol = make.volunteer(unit, name_zh=name)
        db.commit()
        shift_changes.create_shift(db, admin, EVENING, site_id=site.id, service_item_id=item.id,
                         volunteer_id=vol.id, repeat="once", starts_on=DAY, ends_on=None,
                         start_time=dt.time.fromisoformat(start),
                         end_time=dt.time.fromisoformat(end))
        db.commit()
        if came:
            db.add(ServiceSession(unit_id=unit.id, volunteer_id=vol.id, site_id=site.id,
                                  service_item_id=item.id, checked_in_at=tp(came),
                                  checked_out_at=tp(left), status=SessionStatus.closed,
                                  source=SessionSource.kiosk_card))
            db.commit()
    walk_in = make.volunteer(unit, name_zh="周俊宏")
    db.add(ServiceSession(unit_id=unit.id, volunteer_id=walk_in.id, site_id=site.id,
                          service_item_id=meals.id, checked_in_at=tp("10:05"),
                          checked_out_at=tp("11:30"), status=SessionStatus.closed,
                          source=SessionSource.poster))
    db.commit()
    return site


def test_supervisor_marks_a_volunteer_excused_in_place(tablet, open_page, db, make, unit):
    supervisor = make.user(unit, role="supervisor", display_name="林督導")
    site = a_day(db, make, unit, supervisor)
    page = sign_in(tablet, supervisor.email)
    page.get_by_role("link", name="出缺席").click()
    page.get_by_role("link", name="大安長照服務中心").click()
    page.goto(f"/attendance/sites/{site.id}?on={DAY.isoformat()}")
    roster = page.locator("#roster")
    expect(roster.get_by_role("heading")).to_contain_text("2026-03-02")
    expect(page.locator("#roster-counts")).to_contain_text("缺席 2")
    screenshot(page, "attendance-roster-tablet")

    row = roster.locator("tr", has_text="李秀英")
    expect(row).to_contain_text("缺席")
    page.evaluate("window.__notReloaded = true")  # survives only if the page is not reloaded
    row.get_by_role("link", name="記為請假").click()
    reason = page.get_by_label("請假原因")
    expect(reason).to_be_focused()
    reason.fill("回診，前一天已來電請假")
    page.get_by_role("button", name="儲存請假").click()

    row = roster.locator("tr", has_text="李秀英")
    expect(row.locator(".status")).to_have_text("請假")
    expect(row).to_contain_text("回診，前一天已來電請假")
    expect(row.get_by_role("button", name="撤回請假")).to_be_visible()
    expect(page.locator("#roster-counts")).to_contain_text("缺席 1")
    expect(page.locator("#roster-counts")).to_contain_text("請假 1")
    assert page.evaluate("window.__notReloaded") is True
    screenshot(page, "attendance-roster-excused-tablet")

    # an empty reason is refused in the row, with the message; nothing else moves
    other = roster.locator("tr", has_text="張家豪")
    other.get_by_role("link", name="記為請假").click()
    page.allow_console_error("status of 400")  # the refusal itself: swapped in by htmx
    page.get_by_role("button", name="儲存請假").click()
    expect(roster.locator("tr", has_text="張家豪")).to_contain_text("請輸入原因")
    expect(page.locator("#roster-counts")).to_contain_text("缺席 1")
    roster.locator("tr", has_text="張家豪").get_by_role("button", name="取消").click()
    expect(roster.locator("tr", has_text="張家豪").locator(".status")).to_have_text("缺席")
    assert page.evaluate("window.__notReloaded") is True

    # the day before, swapped in place, with its own address
    page.locator("#roster").get_by_role("link", name="前一天").click()
    expect(page.locator("#roster h2")).to_contain_text("2026-03-01")
    expect(page.locator("#roster")).to_contain_text("這天沒有排班，也沒有簽到。")
    assert "on=2026-03-01" in page.url and page.evaluate("window.__notReloaded") is True

    # the same roster on a phone: each row a card, nothing scrolls sideways
    phone = sign_in(open_page("phone"), supervisor.email)
    phone.goto(f"/attendance/sites/{site.id}?on={DAY.isoformat()}")
    expect(phone.locator("#roster-counts")).to_contain_text("請假 1")
    assert_fits_phone(phone, tables=True)
    assert_touch_targets(phone)
    screenshot(phone, "attendance-roster-phone")


def test_admin_schedules_a_weekly_shift_on_a_phone(phone, db, make, unit):
    admin = make.user(unit, role="admin", display_name="王承辦")
    site = make.site(unit, name_zh="萬華社區關懷據點")
    make.item(unit, name_zh="長者陪伴關懷", code="A01")
    make.volunteer(unit, name_zh="陳淑芬", volunteer_no="1001")
    page = sign_in(phone, admin.email)
    page.goto(f"/attendance/shifts/new?site={site.id}")
    page.get_by_label("志工", exact=True).select_option(label="1001 陳淑芬")
    page.get_by_role("radio", name="每週").check()
    page.get_by_label("日期（每週班的第一天）").fill("2026-12-07")
    page.get_by_label("最後一天（每週班；不填表示沒有結束日）").fill("2027-02-22")
    page.get_by_label("開始時間").fill("09:00")
    page.get_by_label("結束時間").fill("08:00")
    page.allow_console_error("status of 400")  # the refused form comes back as a 400 page
    page.get_by_role("button", name="排班").click()
    expect(page.get_by_text("結束時間必須晚於開始時間")).to_be_visible()
    assert_fits_phone(page)
    screenshot(page, "attendance-shift-form-error-phone")
    page.get_by_label("結束時間").fill("12:00")
    page.get_by_role("button", name="排班").click()
    expect(page.get_by_text("已為 陳淑芬 排班。")).to_be_visible()
    expect(page.get_by_role("cell", name="每星期一 09:00–12:00，2026-12-07 至 2027-02-22")).to_be_visible()
    assert_fits_phone(page)
    screenshot(page, "attendance-shifts-phone")
    page.goto(f"/attendance/sites/{site.id}/month?month=2026-12")
    scheduled = page.locator("tr", has_text="陳淑芬").locator("td").nth(1)
    expect(scheduled).to_have_text("4")
    assert scheduled.evaluate("td => getComputedStyle(td, '::before').content") == '"排班 "'
    assert_fits_phone(page, tables=True)
    screenshot(page, "attendance-month-phone")
