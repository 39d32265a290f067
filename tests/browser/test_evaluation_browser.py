"""The annual evaluation in a real browser on a tablet (1024x768): a supervisor opens a
volunteer's form, sees the year's verified hours prefilled, scores, chooses an outcome, saves,
and finds the evaluation in the year's list. The team view per site fits a phone."""
from __future__ import annotations

import datetime as dt

from playwright.sync_api import expect

from models import evaluation as ev
from models.base import taipei_date, utcnow
from models.service import ServiceSession, SessionSource, SessionStatus
from models.verification import SupervisorSite

from .conftest import assert_fits_phone, assert_touch_targets, screenshot, sign_in


def test_supervisor_evaluates_a_volunteer_on_a_tablet(db, make, unit, tablet, open_page, live_server):
    year = taipei_date(utcnow()).year
    boss = make.user(unit, role="admin")
    sup = make.user(unit, role="supervisor")
    site = make.site(unit, name_zh="大安長照服務中心")
    item = make.item(unit)
    db.add(SupervisorSite(user_id=sup.id, site_id=site.id))
    vol = make.volunteer(unit, name_zh="陳淑芬")
    other = make.volunteer(unit, name_zh="林志明")
    start = utcnow() - dt.timedelta(hours=6)
    for person, minutes in ((vol, 195), (other, 60)):
        db.add(ServiceSession(unit_id=unit.id, volunteer_id=person.id, site_id=site.id,
                              service_item_id=item.id, checked_in_at=start,
                              checked_out_at=start + dt.timedelta(minutes=minutes),
                              status=SessionStatus.verified, credited_minutes=minutes,
                              source=SessionSource.poster))
    db.commit()
    for name, weight in (("服務態度", 2), ("團隊合作", 1), ("出勤穩定", 1)):
        ev.save_criterion(db, unit.id, year, boss, utcnow(), name_zh=name, weight=weight,
                          scale_min=1, scale_max=5)
    db.commit()

    sign_in(tablet, sup.email)
    tablet.goto(f"{live_server.url}/evaluation/")
    expect(tablet.locator(f"#volunteer-{vol.id}")).to_contain_text("待考核")
    screenshot(tablet, "evaluation-list-before")
    tablet.locator(f"#volunteer-{vol.id}").get_by_role("link", name="考核").click()
    expect(tablet.locator("#fact-hours")).to_contain_text("3 小時 15 分")
    screenshot(tablet, "evaluation-form-empty")
    # Save without the outcome: the form says what is missing (400) and keeps the scores.
    tablet.allow_console_error("status of 400")
    tablet.locator("fieldset", has_text="服務態度").get_by_label("4").check()
    tablet.locator("fieldset", has_text="團隊合作").get_by_label("5").check()
    tablet.locator("fieldset", has_text="出勤穩定").get_by_label("3").check()
    tablet.get_by_role("button", name="儲存", exact=True).click()
    expect(tablet.get_by_text("這一欄必填。")).to_be_visible()
    expect(tablet.locator("fieldset", has_text="服務態度").get_by_label("4")).to_be_checked()
    tablet.get_by_label("續任").check()
    tablet.get_by_label("評語").fill("服務熱忱，長者回饋良好。")
    screenshot(tablet, "evaluation-form-filled")
    tablet.get_by_role("button", name="儲存", exact=True).click()
    expect(tablet.get_by_text("考核已儲存。定案前仍可修改。")).to_be_visible()
    expect(tablet.get_by_text("加權總分")).to_be_visible()
    tablet.get_by_role("link", name=f"年度考核 {year}").first.click()
    row = tablet.locator(f"#volunteer-{vol.id}")
    expect(row).to_contain_text("草稿")
    expect(row).to_contain_text("續任")
    expect(row).to_contain_text("80.0")  # (2*4/5 + 1*5/5 + 1*3/5) / 4
    expect(tablet.locator(f"#volunteer-{other.id}")).to_contain_text("待考核")
    assert_touch_targets(tablet)
    screenshot(tablet, "evaluation-list-after")

    # The team view per site, on a phone.
    phone = open_page("phone")
    sign_in(phone, sup.email)
    phone.goto(f"{live_server.url}/sites/overview")
    expect(phone.locator(f"#site-{site.id}")).to_contain_text("4 小時 15 分")
    assert_fits_phone(phone)
    screenshot(phone, "evaluation-team-view-phone")
    phone.goto(f"{live_server.url}/evaluation/{year}/volunteers/{other.id}")
    expect(phone.locator("#fact-hours")).to_contain_text("1 小時 00 分")
    assert_fits_phone(phone)
    assert_touch_targets(phone)
    screenshot(phone, "evaluation-form-phone")


def test_admin_finalises_an_exit_and_is_offered_the_certificate(db, make, unit, tablet, live_server):
    year = taipei_date(utcnow()).year
    boss = make.user(unit, role="admin")
    today = taipei_date(utcnow())
    vol = make.volunteer(unit, name_zh="張志強", joined_on=today - dt.timedelta(days=500))
    # 160 h, more than a year with the unit: a performance certificate to offer on leaving
    start = utcnow() - dt.timedelta(days=100)
    db.add(ServiceSession(unit_id=unit.id, volunteer_id=vol.id, site_id=make.site(unit).id,
                          service_item_id=make.item(unit).id, checked_in_at=start,
                          checked_out_at=start + dt.timedelta(hours=5),
                          status=SessionStatus.verified, credited_minutes=160 * 60,
                          source=SessionSource.poster))
    db.commit()
    ev.save_criterion(db, unit.id, year, boss, utcnow(), name_zh="服務態度", weight=1,
                      scale_min=1, scale_max=5)
    db.commit()
    sign_in(tablet, boss.email)
    tablet.goto(f"{live_server.url}/evaluation/criteria")
    expect(tablet.locator("#criteria")).to_contain_text("服務態度")
    assert_touch_targets(tablet)
    screenshot(tablet, "evaluation-criteria")
    tablet.goto(f"{live_server.url}/evaluation/{year}/volunteers/{vol.id}")
    tablet.locator("fieldset", has_text="服務態度").get_by_label("1").check()
    tablet.get_by_label("退場", exact=True).check()
    tablet.get_by_label("退場原因").fill("長期未出勤，聯絡未回")
    tablet.get_by_role("button", name="儲存並定案").click()
    expect(tablet.get_by_text("考核已定案。張志強 已退場，無法再簽到。")).to_be_visible()
    link = tablet.locator("#certificate-link")
    expect(link).to_have_attribute("href", f"/admin/certificates/new?volunteer_id={vol.id}")
    expect(tablet.locator("#result")).to_contain_text("長期未出勤，聯絡未回")
    screenshot(tablet, "evaluation-exit-finalised")
    tablet.locator("#exit-notice").get_by_role("link", name="狀態與歷程").click()
    expect(tablet.locator("#history")).to_contain_text("長期未出勤，聯絡未回")
    screenshot(tablet, "evaluation-exit-status")
    tablet.go_back()
    # While the exit stands, the evaluation says how to undo it instead of offering to reopen.
    expect(tablet.locator("#reopen-blocked")).to_contain_text("請先到狀態頁面恢復服務")
    expect(tablet.locator("#reopen-form")).to_have_count(0)
    tablet.locator("#reopen").get_by_role("link", name="狀態與歷程").click()

    # The exit was a mistake: the admin re-activates the volunteer, then reopens the evaluation
    # (reason required) and finalises it anew as "continue".
    tablet.get_by_label("原因").fill("誤判，志工仍持續服務")
    tablet.get_by_role("button", name="恢復服務").click()
    tablet.goto(f"{live_server.url}/evaluation/{year}/volunteers/{vol.id}")
    reopen = tablet.locator("#reopen")
    expect(reopen).to_contain_text("重新開啟以修正")
    reopen.get_by_label("重新開啟的原因").fill("退場判斷有誤")
    screenshot(tablet, "evaluation-reopen")
    reopen.get_by_role("button", name="重新開啟考核").click()
    expect(tablet.get_by_text("考核已重新開啟，請修正後再次定案。")).to_be_visible()
    expect(tablet.locator("fieldset", has_text="服務態度").get_by_label("1")).to_be_checked()
    tablet.get_by_label("續任").check()
    tablet.get_by_role("button", name="儲存並定案").click()
    expect(tablet.get_by_text("考核已定案。", exact=True)).to_be_visible()
    expect(tablet.locator("#result")).to_contain_text("續任")
    assert_touch_targets(tablet)
    screenshot(tablet, "evaluation-reopened-finalised")
