"""Recognition in a real browser: an admin on a tablet sees the deadline calendar load on the
home page and issues a performance certificate; a volunteer on a phone reads their milestones
and asks for the certificate."""
from __future__ import annotations

import datetime as dt
import re
import subprocess

import pytest
from playwright.sync_api import expect

from models import certificates as certs
from models.base import TAIPEI, taipei_date, utcnow
from models.service import ServiceSession, SessionSource, SessionStatus

from .conftest import assert_fits_phone, assert_touch_targets, screenshot, sign_in


def _served(db, make, unit, vol, hours, days_ago):
    site = make.site(unit, name_zh="大安長照服務中心")
    item = make.item(unit, name_zh="長者陪伴關懷")
    start = dt.datetime.combine(taipei_date(utcnow()) - dt.timedelta(days=days_ago), dt.time(9),
                                tzinfo=TAIPEI)
    db.add(ServiceSession(unit_id=unit.id, volunteer_id=vol.id, site_id=site.id,
                          service_item_id=item.id, checked_in_at=start,
                          checked_out_at=start + dt.timedelta(hours=3),
                          status=SessionStatus.verified, credited_minutes=round(hours * 60),
                          source=SessionSource.poster))
    db.commit()


def test_admin_issues_a_certificate_on_a_tablet(open_page, db, make, unit, tmp_path):
    admin = make.user(unit, role="admin", display_name="王管理")
    person = make.user(unit, role="volunteer")
    vol = person.volunteer
    vol.name_zh = "陳淑芬"
    vol.record_book_no = "北市115-0042"
    db.commit()
    _served(db, make, unit, vol, 180, 200)
    certs.request_certificate(db, vol, person, utcnow() - dt.timedelta(days=9))  # overdue
    db.commit()

    page = sign_in(open_page("tablet"), admin.email)
    calendar = page.locator("#deadlines")
    expect(calendar).to_contain_text("申請截止日")
    expect(calendar).to_contain_text("位符合")  # loaded by htmx after the page
    expect(calendar).to_contain_text("1 件績效證明書申請待處理")
    expect(calendar).to_contain_text("1 件逾期")
    screenshot(page, "recognition-admin-home-tablet")

    calendar.get_by_role("link", name="1 件績效證明書申請待處理").click()
    expect(page.get_by_role("heading", name="志願服務績效證明書", exact=True)).to_be_visible()
    row = page.locator("#requests tbody tr").first
    expect(row).to_contain_text("陳淑芬")
    expect(row).to_contain_text("逾期")
    screenshot(page, "recognition-certificates-before-tablet")

    row.get_by_role("button", name="開立證明書").click()  # htmx removes the row
    serial = f"P{unit.id:03d}-{taipei_date(utcnow()).year}-00001"
    expect(page.locator("#issued-list")).to_contain_text(serial)  # the issued list, no reload
    expect(page.locator("#requests")).not_to_contain_text("陳淑芬")  # never in both lists
    expect(page.locator("#issued-list")).to_contain_text("開立")
    expect(page.locator("#issued-list")).not_to_contain_text("尚未開立")
    screenshot(page, "recognition-certificates-issued-tablet")

    with page.expect_download() as download:
        page.locator("#issued-list").get_by_role("link", name="PDF").click()
    path = tmp_path / "certificate.pdf"
    download.value.save_as(path)
    text = subprocess.run(["pdftotext", "-raw", str(path), "-"], check=True,
                          capture_output=True, text=True).stdout
    for expected in ("志願服務績效證明書", "陳淑芬", "北市115-0042", "累計 180 小時", "長者陪伴關懷",
                     serial, unit.name):
        assert expected in text, expected


def test_volunteer_reads_milestones_and_asks_for_the_certificate_on_a_phone(phone, db, make,
                                                                             unit):
    person = make.user(unit, role="volunteer")
    vol = person.volunteer
    _served(db, make, unit, vol, 276.5, 120)
    page = sign_in(phone, person.email)
    page.get_by_role("link", name="我的里程碑").first.click()
    expect(page.get_by_role("heading", name="我的里程碑")).to_be_visible()
    honour = page.locator('[data-award="honour_card"]')
    expect(honour).to_contain_text("還差 23 小時 30 分")
    mohw = page.locator('[data-award="mohw"]')
    expect(mohw).to_contain_text("小時")
    assert_fits_phone(page)
    screenshot(page, "recognition-milestones-phone")

    page.get_by_role("button", name="向單位申請績效證明書").click()
    expect(page.locator(".flash")).to_contain_text("申請已送出")
    due = (taipei_date(utcnow()) + dt.timedelta(days=7)).isoformat()
    expect(page.locator("#certificate")).to_contain_text(re.compile(rf"將於 {due} 前開立"))
    assert_fits_phone(page)
    assert_touch_targets(page)
    screenshot(page, "recognition-milestones-requested-phone")


def test_admin_records_an_application_and_the_grant_on_a_tablet(open_page, db, make, unit):
    admin = make.user(unit, role="admin")
    vol = make.volunteer(unit, name_zh="林志明")
    _served(db, make, unit, vol, 650, 30)
    page = sign_in(open_page("tablet"), admin.email)
    page.goto("/admin/awards/taipei_contribution")
    row = page.locator(f"#award-row-{vol.id}")
    expect(row).to_contain_text("林志明")
    expect(row).to_contain_text("650 小時 00 分")
    screenshot(page, "recognition-award-list-tablet")
    row.get_by_role("button", name="已申請").click()  # htmx: the clicked button's value is sent
    expect(row).to_contain_text("申請日")
    expect(row.get_by_role("button", name="已申請")).to_have_count(0)
    history = page.locator("#award-history")  # follows the row, no reload
    expect(history).to_contain_text("林志明")
    expect(history).not_to_contain_text("尚無紀錄")
    row.get_by_role("button", name="已核定").click()
    expect(row).to_contain_text("所有等級均已獲頒")
    expect(row.get_by_role("button")).to_have_count(0)
    screenshot(page, "recognition-award-granted-tablet")
    page.reload()
    expect(page.locator(f"#award-row-{vol.id}")).to_have_count(0)  # never proposed again
    expect(page.get_by_text("已核定").first).to_be_visible()


def test_admin_groups_a_family_on_a_tablet(open_page, db, make, unit):
    admin = make.user(unit, role="admin")
    mother = make.volunteer(unit, name_zh="林母")
    son = make.volunteer(unit, name_zh="林子")
    _served(db, make, unit, mother, 700, 40)
    _served(db, make, unit, son, 610, 50)
    page = sign_in(open_page("tablet"), admin.email)
    page.goto("/admin/awards/")
    page.get_by_role("link", name="金鑽獎 家庭", exact=True).click()
    page.get_by_label("家庭名稱").fill("林家")
    page.get_by_label("志工編號（至少 2 位，以空格或逗號分隔）").fill(
        f"{mother.volunteer_no}, {son.volunteer_no}")
    with page.expect_navigation():
        page.get_by_role("button", name="儲存家庭").click()
    family = page.locator("article.family")
    expect(family).to_contain_text("林家")
    expect(family).to_contain_text("符合")
    expect(family.locator("tbody tr")).to_have_count(2)
    screenshot(page, "recognition-family-tablet")
    # the family's application, then the decision: recorded on the same page
    expect(family).to_contain_text("尚無申請紀錄")
    with page.expect_navigation():
        family.get_by_role("button", name="已申請").click()
    family = page.locator("article.family")
    today = taipei_date(utcnow()).isoformat()
    expect(family.locator(".applications li")).to_contain_text(f"申請 {today}")
    expect(family.get_by_role("button", name="已申請")).to_have_count(0)
    expect(family.get_by_role("button", name="移除這個家庭")).to_have_count(0)  # kept with its history
    phone = sign_in(open_page("phone"), admin.email)  # the pending application on a phone
    phone.goto("/admin/awards/families")
    expect(phone.locator("article.family .applications li")).to_have_count(1)
    expect(phone.locator("article.family").get_by_role("button", name="未獲核定")).to_be_visible()
    assert_fits_phone(phone, tables=True)  # members are labelled cards
    assert_touch_targets(phone)
    screenshot(phone, "recognition-family-application-phone")
    with page.expect_navigation():
        family.get_by_role("button", name="已核定").click()
    family = page.locator("article.family")
    expect(family.locator(".applications li")).to_contain_text(f"決定日 {today}")
    expect(family.locator(".applications .status")).to_have_text("已核定")
    expect(family.get_by_role("button")).to_have_count(0)  # nothing more to record this year
    screenshot(page, "recognition-family-application-tablet")


def test_admin_records_an_application_on_a_phone(open_page, db, make, unit):
    admin = make.user(unit, role="admin")
    vol = make.volunteer(unit, name_zh="吳美玲")
    _served(db, make, unit, vol, 650, 30)
    page = sign_in(open_page("phone"), admin.email)
    page.goto("/admin/awards/taipei_contribution")
    row = page.locator(f"#award-row-{vol.id}")
    expect(row).to_contain_text("650 小時 00 分")
    assert_fits_phone(page)
    assert_touch_targets(page)
    apply = row.get_by_role("button", name="已申請")
    box = apply.bounding_box()
    assert 0 <= box["x"] and box["x"] + box["width"] <= page.viewport_size["width"], box
    screenshot(page, "recognition-award-list-phone")
    apply.click()
    expect(row).to_contain_text("申請日")


def test_admin_issues_a_certificate_on_a_phone(phone, db, make, unit):
    """The requests table was wider than its card on a phone: the name, the serial and the PDF
    button sat off to the sides. Each request is a card that fits, before and after issuing."""
    admin = make.user(unit, role="admin")
    person = make.user(unit, role="volunteer")
    vol = person.volunteer
    vol.name_zh = "林阿土"
    db.commit()
    _served(db, make, unit, vol, 160, 400)
    certs.request_certificate(db, vol, person, utcnow())
    db.commit()

    sign_in(phone, admin.email)
    phone.goto("/admin/certificates/")
    row = phone.locator("#requests tbody tr").first
    expect(row).to_contain_text("林阿土")
    assert_fits_phone(phone, 360, tables=True)
    assert_touch_targets(phone)
    row.get_by_role("button", name="開立證明書").click()
    expect(phone.locator("#issued-list").get_by_role("link", name="PDF")).to_be_visible()
    expect(phone.locator("#requests")).not_to_contain_text("林阿土")
    assert_fits_phone(phone, 360, tables=True)
    screenshot(phone, "recognition-certificates-issued-phone")
    phone.reload()
    assert_fits_phone(phone, 360, tables=True)


def _award_candidates(db, make, unit):
    """Volunteers on the honour card and Golden Diamond lists, as in the review: hours from
    earlier units beside this unit's, years from training and from earlier units in Taipei."""
    from models.prior_service import PriorHours

    people = []
    for n, (name, hours, prior) in enumerate([("鄭子晴", 8.5, 1560), ("曾淑芬", 9, 650),
                                              ("廖玉蘭", 7.5, 700)]):
        vol = make.volunteer(unit, name_zh=name, joined_on=dt.date(2025, 12, 19))
        _served(db, make, unit, vol, hours, 20 + n)
        db.add(PriorHours(volunteer_id=vol.id, source_unit="臺北市立圖書館", in_taipei=True,
                          period_start=dt.date(2017, 11, 1), period_end=dt.date(2025, 12, 18),
                          minutes=prior * 60))
        people.append(vol)
    db.commit()
    return people


APPLY = {"zh-TW": "已申請", "en": "Application filed"}
NOT_GRANTED = {"zh-TW": "未獲核定", "en": "Not granted"}


@pytest.mark.parametrize("size", ["tablet", "tablet-portrait"])
def test_award_actions_in_view_on_a_tablet(open_page, db, make, unit, size):
    """The review: at 1024x768 the award list's Application column (date, 已申請, 未獲核定) sat
    beyond the card's right edge and showed only after scrolling inside the table; in zh-TW the
    date field was clipped. On a tablet, landscape or portrait, each row's actions take a line
    of their own under it: every button and the date field within the screen, nothing scrolls
    sideways, in both languages."""
    admin = make.user(unit, role="admin")
    people = _award_candidates(db, make, unit)
    for locale in ("zh-TW", "en"):
        page = sign_in(open_page(size, locale=locale), admin.email)
        width = page.viewport_size["width"]
        for key in ("honour_card", "golden_diamond"):
            page.goto(f"/admin/awards/{key}")
            for vol in people:
                row = page.locator(f"#award-row-{vol.id}")
                expect(row).to_be_visible()
                # the decision buttons come with an application (checked below)
                for control in (row.get_by_role("button", name=APPLY[locale]),
                                row.locator('input[name="on"]')):
                    box = control.bounding_box()
                    assert box and 0 <= box["x"] and box["x"] + box["width"] <= width, (
                        key, locale, vol.name_zh, box)
            assert_fits_phone(page, width, tables=True)  # no sideways scrolling, not even inside the table
            assert_touch_targets(page, 44)
            screenshot(page, f"recognition-award-list-{key}-{size}-{locale}")
    # and it still works: the application is recorded from the row's own line
    page.goto("/admin/awards/honour_card")
    row = page.locator(f"#award-row-{people[0].id}")
    row.get_by_role("button", name=APPLY["en"]).click()
    expect(row).to_contain_text("Applied on")
    expect(row.get_by_role("button", name="Granted", exact=True)).to_be_visible()
    box = row.get_by_role("button", name=NOT_GRANTED["en"]).bounding_box()
    assert box and 0 <= box["x"] and box["x"] + box["width"] <= page.viewport_size["width"]


@pytest.mark.parametrize("size", ["phone", "tablet"])
def test_an_issued_certificate_is_downloaded_not_asked_for_again(open_page, db, make, unit, size):
    """Review (screen 101a): with the certificate issued, the phone still offered the note and
    "Ask the unit for my certificate" above the download link. Now only the link shows, with a
    line saying the certificate holds every verified hour; hours at 1,000 and more are grouped."""
    admin = make.user(unit, role="admin")
    person = make.user(unit, role="volunteer")
    vol = person.volunteer
    _served(db, make, unit, vol, 1500, 400)
    cert = certs.request_certificate(db, vol, person, utcnow())
    db.commit()
    certs.issue_certificate(db, cert.id, admin, utcnow())
    db.commit()
    page = sign_in(open_page(size), person.email)
    if size == "tablet":
        page.set_viewport_size({"width": 1280, "height": 800})
    page.goto("/me/milestones")
    box = page.locator("#certificate")
    expect(box.get_by_role("link", name=re.compile(cert.serial))).to_be_visible()
    expect(box).to_contain_text("已包含您所有已審核的服務時數")
    expect(box.get_by_role("button")).to_have_count(0)
    expect(box).to_contain_text("1,500 小時 00 分")
    # the serial and its date are each one piece on a phone
    link = box.get_by_role("link", name=re.compile(cert.serial))
    assert link.locator(".nowrap").count() == 2
    if size == "phone":
        assert_fits_phone(page)
    screenshot(page, f"recognition-milestones-issued-{size}")
