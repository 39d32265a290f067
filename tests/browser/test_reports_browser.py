"""Results reports in a real browser: the admin sees the reminder on the home page (phone),
opens the report, files it; a correction afterwards shows as a difference (tablet)."""
from __future__ import annotations

import datetime as dt

from playwright.sync_api import expect

from models import reports
from models.base import TAIPEI, taipei_date, utcnow
from models.service import ServiceSession, SessionSource, SessionStatus

from .conftest import assert_fits_phone, assert_touch_targets, screenshot, sign_in


def _last_half(today: dt.date) -> reports.Period:
    return reports.make_period(today.year, 1) if today.month >= 7 else \
        reports.make_period(today.year - 1, 2)


def _served(db, vol, site, item, day, minutes):
    start = dt.datetime.combine(day, dt.time(9), tzinfo=TAIPEI)
    db.add(ServiceSession(unit_id=vol.unit_id, volunteer_id=vol.id, site_id=site.id,
                          service_item_id=item.id, checked_in_at=start,
                          checked_out_at=start + dt.timedelta(minutes=minutes),
                          status=SessionStatus.verified, credited_minutes=minutes,
                          source=SessionSource.poster, persons_served=4))
    db.commit()


def test_admin_is_reminded_files_and_sees_a_later_correction(open_page, db, make, unit):
    period = _last_half(taipei_date(utcnow()))
    unit.created_at = dt.datetime.combine(period.first_day, dt.time(9), tzinfo=TAIPEI)
    db.commit()
    site = make.site(unit, name_zh="大安長照服務中心", name_en="Da'an Care Centre")
    item = make.item(unit, code="A01", name_zh="長者陪伴關懷", name_en="Companionship")
    vol = make.volunteer(unit, name_zh="陳淑芬", joined_on=period.first_day)
    _served(db, vol, site, item, period.first_day + dt.timedelta(days=10), 150)
    boss = make.user(unit, role="admin", display_name="王承辦")

    page = sign_in(open_page("phone"), boss.email)
    reminder = page.locator("#report-reminders")
    expect(reminder).to_be_visible()
    expect(reminder).to_contain_text(period.label_zh)
    screenshot(page, "reports-home-reminder-phone")
    assert_fits_phone(page)
    reminder.locator("li", has_text=period.label_zh).get_by_role("link", name="預覽並填報").click()
    expect(page.get_by_role("heading", name=f"成果報表 {period.code}")).to_be_visible()
    expect(page.locator('[data-key="service.hours"]')).to_contain_text("2.5")
    assert_fits_phone(page)
    assert_touch_targets(page)
    screenshot(page, "reports-preview-phone")
    page.get_by_role("button", name="填報", exact=True).click()
    expect(page.locator(".flash-success")).to_contain_text(f"已填報 {period.code} 成果報表")
    expect(page.locator("#differences")).to_contain_text("沒有差異")
    page.goto("/reports/")  # the list of periods: each a card with its status, on the phone
    expect(page.locator("tr", has_text=period.code).first.locator(".status")).to_be_visible()
    assert_fits_phone(page, tables=True)
    # the unit's insurance list, too
    page.goto("/admin/insurance/volunteers")
    expect(page.locator("#cover-table tr", has_text="陳淑芬").locator(".status")).to_be_visible()
    assert_fits_phone(page, tables=True)
    screenshot(page, "insurance-list-phone")

    _served(db, vol, site, item, period.first_day + dt.timedelta(days=11), 60)  # entered late
    tablet = sign_in(open_page("tablet"), boss.email)
    expect(tablet.locator("#report-reminders li", has_text=period.label_zh)).to_have_count(0)
    tablet.goto(f"/reports/{period.code}")
    diffs = tablet.locator("#differences")
    expect(diffs.locator('[data-key="service.hours"]')).to_contain_text("3.5")
    expect(diffs.locator('[data-key="service.hours"]')).to_contain_text("+1")
    screenshot(tablet, "reports-filed-differences-tablet")


def test_the_insurance_list_fits_a_tablet_in_both_languages(open_page, db, make, unit):
    """Every column of the volunteers' cover list shows on a tablet, landscape and portrait, in
    Chinese and in English: nothing to find by scrolling the table sideways (the cover's insurer,
    policy number and end date were off-screen)."""
    from models.insurance import CoverKind, InsuranceCover

    boss = make.user(unit, role="admin")
    today = taipei_date(utcnow())
    for n in range(3):
        vol = make.volunteer(unit, name_zh=f"陳淑芬{n}")
        vol.record_book_no = f"北市志字第11000{n}號"
        db.add(InsuranceCover(volunteer_id=vol.id, kind=CoverKind.group, insurer="臺灣產物保險",
                              policy_no=f"GP-2026-100{n}", starts_on=today - dt.timedelta(days=30),
                              ends_on=today + dt.timedelta(days=200)))
    db.commit()
    for locale in ("zh-TW", "en"):
        for size in ("tablet", "tablet-portrait"):
            page = sign_in(open_page(size, locale=locale), boss.email)
            page.goto("/admin/insurance/volunteers")
            row = page.locator("#cover-table tr", has_text="陳淑芬0")
            expect(row).to_contain_text("GP-2026-1000")
            assert_fits_phone(page, page.viewport_size["width"], tables=True)
            box = row.get_by_text("GP-2026-1000", exact=False).bounding_box()
            assert box["x"] + box["width"] <= page.viewport_size["width"]
            screenshot(page, f"insurance-list-{size}-{locale}")
