"""The access log page at phone and tablet size: an admin opens an application with its full ID
number, then reads who saw it in the access log (linked from the data requests page)."""
from __future__ import annotations

import datetime as dt

import pytest
from playwright.sync_api import expect

from models.base import utcnow
from models.idnumbers import with_check_digit
from models.people import Gender
from models.recruitment import Application

from .conftest import assert_touch_targets, screenshot, sign_in


@pytest.mark.parametrize("size", ["phone", "tablet"])
def test_admin_reads_who_saw_a_full_id_number(open_page, db, make, unit, size):
    admin = make.user(unit, role="admin", email=f"chen-{size}@unit.example.tw")
    a = Application(unit_id=unit.id, reference_no=f"A2026-{unit.id:05d}", name_zh="林美玲",
                    gender=Gender.female, birth_date=dt.date(1985, 3, 2), phone="0912-000-111",
                    email="meiling@example.tw", id_number=with_check_digit("F22334455"),
                    address="臺北市大安區", availability="週末", emergency_contact="林先生",
                    emergency_phone="0922-000-111", privacy_consent_at=utcnow())
    db.add(a)
    db.commit()
    page = sign_in(open_page(size), admin.email)
    page.goto(f"/admin/recruitment/applications/{a.id}")
    expect(page.get_by_text(a.id_number)).to_be_visible()
    page.goto("/admin/data-requests/")
    with page.expect_navigation():
        page.get_by_role("link", name="個資存取紀錄：誰檢視或匯出了個人資料").click()
    expect(page.get_by_role("heading", name="個資存取紀錄")).to_be_visible()
    row = page.locator("#access-log tbody tr").first
    expect(row).to_contain_text(admin.email)
    expect(row).to_contain_text("檢視完整身分證字號")
    expect(row).to_contain_text("林美玲 的報名")
    assert_touch_targets(page)
    screenshot(page, f"access-log-{size}")
