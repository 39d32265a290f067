"""Hour slips in a real browser: a supervisor on a tablet previews, issues and downloads a slip;
the volunteer downloads the same slip from "my hours" on a phone. The PDFs' text is checked."""
from __future__ import annotations

import datetime as dt
import re
import subprocess

from playwright.sync_api import expect

from models.base import TAIPEI, taipei_date, utcnow
from models.service import ServiceSession, SessionSource, SessionStatus
from models.verification import SupervisorSite

from .conftest import assert_fits_phone, screenshot, sign_in


def _text(path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True,
                          capture_output=True, text=True).stdout


def _last_month_sessions(db, make, unit):
    """陳淑芬 served twice last month (the form's default period): 2 h 30 min + 2 h."""
    site = make.site(unit, name_zh="大安長照服務中心", name_en="Da'an Care Centre")
    item = make.item(unit, name_zh="長者陪伴關懷", name_en="Companionship for elders")
    boss = make.user(unit, role="supervisor", display_name="林督導")
    db.add(SupervisorSite(user_id=boss.id, site_id=site.id))
    user = make.user(unit, role="volunteer")
    user.volunteer.name_zh = "陳淑芬"
    user.volunteer.record_book_no = "北市115-0042"
    first = (taipei_date(utcnow()).replace(day=1) - dt.timedelta(days=1)).replace(day=1)
    for day, minutes in [(2, 150), (9, 120)]:
        start = dt.datetime.combine(first.replace(day=day), dt.time(9), tzinfo=TAIPEI)
        db.add(ServiceSession(
            unit_id=unit.id, volunteer_id=user.volunteer.id, site_id=site.id,
            service_item_id=item.id, checked_in_at=start,
            checked_out_at=start + dt.timedelta(minutes=minutes), status=SessionStatus.verified,
            credited_minutes=minutes, source=SessionSource.poster, verified_by_id=boss.id,
            verified_at=start + dt.timedelta(hours=5)))
    db.commit()
    return boss, user


def test_issue_a_slip_on_a_tablet_and_download_it(open_page, db, make, unit, tmp_path):
    boss, volunteer = _last_month_sessions(db, make, unit)
    page = sign_in(open_page("tablet"), boss.email)
    page.get_by_role("navigation").get_by_role("link", name="時數條", exact=True).click()
    expect(page.get_by_role("heading", name="時數條", exact=True)).to_be_visible()
    # Only the chosen kind of period shows its fields.
    expect(page.get_by_label("月份")).to_be_visible()
    expect(page.get_by_label("開始日期")).to_be_hidden()
    page.get_by_label("自訂起訖日期").check()
    expect(page.get_by_label("開始日期")).to_be_visible()
    expect(page.get_by_label("結束日期")).to_be_visible()
    expect(page.get_by_label("月份")).to_be_hidden()
    page.get_by_label("整個月").check()
    expect(page.get_by_label("開始日期")).to_be_hidden()

    page.get_by_role("button", name="預覽時數條內容").click()  # htmx swaps the preview in
    table = page.locator("#pending-table")
    expect(table).to_contain_text("陳淑芬")
    expect(table).to_contain_text("北市115-0042")
    expect(table).to_contain_text("4 小時 30 分")
    expect(page).to_have_url(re.compile(r"/slips/\?period=month&month=\d{4}-\d{2}"))
    screenshot(page, "slips-preview-tablet")
    on_phone = sign_in(open_page("phone"), boss.email)  # the same preview on the supervisor's phone
    on_phone.goto(page.url)
    expect(on_phone.locator("#pending-table")).to_contain_text("4 小時 30 分")
    assert_fits_phone(on_phone, tables=True)
    screenshot(on_phone, "slips-preview-phone")

    with page.expect_navigation():
        page.get_by_role("button", name="開立 1 張時數條").click()
    expect(page.get_by_role("heading", name="已開立時數條")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("已開立 1 張時數條")
    serial = page.locator("#slip-table tbody tr td").first.inner_text().strip()
    assert re.fullmatch(rf"{unit.id:03d}-\d{{4}}-00001", serial), serial
    screenshot(page, "slips-issued-tablet")
    on_phone.goto("/slips/")  # the issued slip in the list, on the phone
    expect(on_phone.locator("#slip-table")).to_contain_text(serial)
    assert_fits_phone(on_phone, tables=True)

    with page.expect_download() as info:
        page.get_by_role("link", name="下載時數條（PDF）").click()
    path = tmp_path / "batch.pdf"
    info.value.save_as(path)
    text = _text(path)
    assert "陳淑芬" in text and "北市115-0042" in text and serial in text
    assert re.search(r"合計.*4\s*小時\s*30\s*分", text), text

    # the volunteer finds it under "my hours" on their phone
    phone = sign_in(open_page("phone"), volunteer.email)
    phone.get_by_role("navigation").get_by_role("link", name="我的時數與時數條").click()
    expect(phone.locator("#my-slips")).to_contain_text(serial)
    expect(phone.locator("dd[data-total=all]")).to_have_text("4 小時 30 分")
    expect(phone.locator("#my-sessions li")).to_have_count(2)
    expect(phone.locator("#my-sessions")).to_contain_text(f"已列入時數條 {serial}")
    assert_fits_phone(phone)
    screenshot(phone, "my-hours-phone")
    # the volunteer's slip opens in the phone's browser (inline, with its name), as the
    # performance certificate does: fetched here with the phone's cookies
    href = phone.locator("#my-slips").get_by_role("link", name="下載 PDF").get_attribute("href")
    answer = phone.request.get(href)
    assert answer.ok and answer.headers["content-type"] == "application/pdf"
    assert answer.headers["content-disposition"].startswith("inline")
    own = tmp_path / "mine.pdf"
    own.write_bytes(answer.body())
    text = _text(own)
    assert "陳淑芬" in text and re.search(r"4\s*小時\s*30\s*分", text)


def test_find_an_older_slip_from_the_directory_and_through_the_pages(open_page, db, make, unit):
    """52 slips: the list shows 50 and pages with htmx (the address follows); the directory's
    "hour slips" link shows that volunteer's slips only; a search narrows as one types."""
    from models import slips
    from models.base import begin_write

    site = make.site(unit)
    item = make.item(unit)
    admin = make.user(unit, role="admin")
    chen = make.volunteer(unit, name_zh="陳淑芬", volunteer_no="0001")
    people = [chen] + [make.volunteer(unit, name_zh=f"志工{n}", volunteer_no=f"{n:04d}") for n in range(2, 52)]
    first = (taipei_date(utcnow()).replace(day=1) - dt.timedelta(days=1)).replace(day=1)
    for day, who in [(2, [chen]), (9, people)]:
        for person in who:
            start = dt.datetime.combine(first.replace(day=day), dt.time(9), tzinfo=TAIPEI)
            db.add(ServiceSession(unit_id=unit.id, volunteer_id=person.id, site_id=site.id,
                                  service_item_id=item.id, checked_in_at=start,
                                  checked_out_at=start + dt.timedelta(hours=2),
                                  status=SessionStatus.verified, credited_minutes=120,
                                  source=SessionSource.poster))
        db.commit()
        begin_write(db)
        slips.issue_slips(db, admin, utcnow(), date_from=first, date_to=first.replace(day=day))
        db.commit()
    oldest = f"{unit.id:03d}-{taipei_date(utcnow()).year}-00001"  # 陳淑芬's first

    page = sign_in(open_page("phone"), admin.email)
    page.goto("/slips/")
    rows = page.locator("#slip-table tbody tr")
    expect(rows).to_have_count(50)
    expect(page.locator("#issued-slips")).not_to_contain_text(oldest)
    page.locator("#issued .pager").get_by_role("link", name="下一頁").click()
    expect(page).to_have_url(re.compile(r"/slips/\?page=2$"))
    expect(rows).to_have_count(2)
    expect(page.locator("#issued-slips")).to_contain_text(oldest)
    assert_fits_phone(page, tables=True)
    screenshot(page, "slips-list-page2-phone")

    page.locator("#slip-q").fill("志工1")  # 志工10–志工19
    expect(page).to_have_url(re.compile(r"q="))
    expect(rows).to_have_count(10)

    tablet = sign_in(open_page("tablet"), admin.email)
    tablet.goto("/admin/volunteers?q=0001")
    tablet.locator(f"#volunteer-{chen.id}").get_by_role("link", name="時數條").click()
    expect(tablet).to_have_url(re.compile(rf"/slips/\?volunteer={chen.id}$"))
    expect(tablet.locator("#issued h2")).to_have_text("0001 陳淑芬 的時數條")
    expect(tablet.locator("#slip-table tbody tr")).to_have_count(2)
    expect(tablet.locator("#volunteer")).to_have_value(str(chen.id))
    tablet.get_by_role("link", name="顯示所有志工的時數條").click()
    expect(tablet).to_have_url(re.compile(r"/slips/$"))
    expect(tablet.locator("#slip-table tbody tr")).to_have_count(50)
    # (a screenshot leaves style="" on the fields, which htmx would copy over when it swaps them:
    # taken last, after the swaps)
    tablet.go_back()
    expect(tablet.locator("#slip-table tbody tr")).to_have_count(2)
    screenshot(tablet, "slips-list-volunteer-tablet")
