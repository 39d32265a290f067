"""Golden Diamond team list in a real browser: an admin on a phone opens it from the awards
page and reads which site's team qualifies and what the other one still lacks."""
from __future__ import annotations

import datetime as dt

from playwright.sync_api import expect

from models.base import taipei_date, utcnow
from models.insurance import CoverKind, InsuranceCover

from ..test_golden_team import add_session
from .conftest import assert_fits_phone, assert_touch_targets, screenshot, sign_in


def _team(db, make, unit, name, n, insured, books, founded):
    today = taipei_date(utcnow())
    site, item = make.site(unit, name_zh=name), make.item(unit)
    vols = [make.volunteer(unit, trained=False, commit=False,
                           record_book_no=f"北市志字第{i + 1}號" if i < books else "")
            for i in range(n)]
    db.flush()
    for i, vol in enumerate(vols):
        if i < insured:
            db.add(InsuranceCover(volunteer_id=vol.id, kind=CoverKind.group, insurer="國泰產險",
                                  policy_no=f"G-{vol.id}", starts_on=today - dt.timedelta(days=30),
                                  ends_on=today + dt.timedelta(days=300)))
        add_session(db, unit, site, item, vol, today - dt.timedelta(days=20))
    add_session(db, unit, site, item, vols[0], founded)
    db.commit()


def test_admin_reads_the_team_list_on_a_phone(open_page, db, make, unit):
    admin = make.user(unit, role="admin")
    today = taipei_date(utcnow())
    _team(db, make, unit, "松山社區關懷據點", 15, 15, 13, today - dt.timedelta(days=4 * 365))
    _team(db, make, unit, "信義長青活動中心", 14, 12, 10, today - dt.timedelta(days=500))
    page = sign_in(open_page("phone"), admin.email)
    page.goto("/admin/awards/")
    page.get_by_role("link", name="金鑽獎 團隊", exact=True).click()
    teams = page.locator("article.family")
    expect(teams).to_have_count(2)
    expect(teams.filter(has_text="松山社區關懷據點")).to_contain_text("四項條件都符合")
    short = teams.filter(has_text="信義長青活動中心")
    expect(short).to_contain_text("還差 1 位成員")
    expect(short).to_contain_text("2 位沒有有效保險")
    expect(short.get_by_role("button")).to_have_count(0)  # nothing to file for it
    assert_fits_phone(page)
    screenshot(page, "golden-team-phone")
    # the qualifying team's application, recorded from the phone
    qualifying = teams.filter(has_text="松山社區關懷據點")
    with page.expect_navigation():
        qualifying.get_by_role("button", name="已申請").click()
    qualifying = page.locator("article.family").filter(has_text="松山社區關懷據點")
    expect(qualifying.locator(".applications li")).to_contain_text(f"申請 {today.isoformat()}")
    expect(qualifying.get_by_role("button", name="已申請")).to_have_count(0)
    assert_touch_targets(page)
    screenshot(page, "golden-team-application-phone")
