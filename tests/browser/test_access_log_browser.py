"""The access log page at phone and tablet size: an admin opens a volunteer's correction form
(with the full ID number to correct), then reads who saw it in the access log (linked from the
data requests page). An application's page shows the number masked, and logs nothing."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from models.idnumbers import with_check_digit

from .conftest import assert_touch_targets, screenshot, sign_in


@pytest.mark.parametrize("size", ["phone", "tablet"])
def test_admin_reads_who_saw_a_full_id_number(open_page, db, make, unit, size):
    admin = make.user(unit, role="admin", email=f"chen-{size}@unit.example.tw")
    v = make.volunteer(unit, name_zh="林美玲", id_number=with_check_digit("F22334455"))
    page = sign_in(open_page(size), admin.email)
    page.goto(f"/admin/data-requests/volunteers/{v.id}/profile")
    expect(page.locator("#c-id_number")).to_have_value(v.id_number)
    page.goto("/admin/data-requests/")
    with page.expect_navigation():
        page.get_by_role("link", name="個資存取紀錄：誰檢視或匯出了個人資料").click()
    expect(page.get_by_role("heading", name="個資存取紀錄")).to_be_visible()
    row = page.locator("#access-log tbody tr").first
    expect(row).to_contain_text(admin.email)
    expect(row).to_contain_text("檢視完整身分證字號")
    expect(row).to_contain_text("林美玲")
    expect(row).to_contain_text("更正志工資料")
    assert_touch_targets(page)
    screenshot(page, f"access-log-{size}")
