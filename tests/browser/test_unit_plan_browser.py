"""The service plan at tablet size: submitting with an empty section is refused in words, the
admin edits that section in place (htmx), submits, and sees the status; the plan and the unit
profile fit a phone."""
from __future__ import annotations

import datetime as dt

from playwright.sync_api import expect

from models import plan as plans

from .conftest import assert_fits_phone, assert_touch_targets, in_menu, screenshot, sign_in

TEXTS = {"recruitment": "透過社區公告與網站召募志工，每年兩梯次。",
         "training": "基礎訓練與特殊訓練依規定辦理。",
         "management": "建立志工資料與服務紀錄，每月檢討。",
         "deployment": "依服務項目分派至各服務據點。",
         "evaluation": "每年辦理年度考核，作為獎勵依據。"}


def test_edit_a_section_submit_and_see_the_status_on_a_tablet(app, open_page, db, make, unit,
                                                              tmp_path):
    app.config["HOURBOOK_UPLOAD_DIR"] = str(tmp_path / "uploads")
    admin = make.user(unit, role="admin")
    item = make.item(unit, code="A01", name_zh="長者關懷訪視")
    plan = plans.create_plan(db, unit.id, 2027, admin, today=dt.date(2026, 12, 2))
    for key, text in TEXTS.items():  # guidance (輔導) left empty
        plans.update_section(db, plan, key, text, admin)
    plans.update_items(db, plan, {item.id: "每週到宅關懷獨居長者。"}, admin)
    db.commit()

    page = sign_in(open_page("tablet"), admin.email)
    in_menu(page, "link", "單位與計畫").click()
    page.get_by_role("link", name="2027 年度計畫").click()
    expect(page.locator("#plan-status")).to_have_text("草稿")
    expect(page.locator("#empty-sections")).to_contain_text("輔導")
    screenshot(page, "plan-draft-tablet")

    page.allow_console_error("status of 400")  # the refused submission is answered 400
    with page.expect_navigation():
        page.get_by_role("button", name="標記為已送件").click()
    expect(page.locator(".flash-error")).to_contain_text("尚有空白項目：輔導")
    expect(page.locator("#plan-status")).to_have_text("草稿")
    screenshot(page, "plan-refused-tablet")

    section = page.locator("#section-guidance")
    section.get_by_role("link", name="編輯").click()
    box = page.locator("#section-guidance textarea[name=text]")
    expect(box).to_be_visible()
    assert "/sections/" not in page.url  # edited in place, no page change
    box.fill("督導每季辦理輔導與團體討論。")
    screenshot(page, "plan-editing-tablet")
    page.locator("#section-guidance").get_by_role("button", name="儲存").click()
    expect(page.locator("#section-guidance .plan-text")).to_have_text("督導每季辦理輔導與團體討論。")
    expect(page.locator("#empty-sections")).to_have_count(0)  # the filing card was refreshed too

    with page.expect_navigation():
        page.get_by_role("button", name="標記為已送件").click()
    expect(page.locator("#plan-status")).to_have_text("已送件")
    expect(page.locator(".flash-success")).to_contain_text("備案狀態：已送件")
    expect(page.get_by_role("button", name="登錄核備")).to_be_visible()
    screenshot(page, "plan-submitted-tablet")

    # Attach the receipt, and a file chosen by mistake; remove the wrong one.
    for label in ("送件回執", "選錯的檔案"):
        documents = page.locator("#documents")
        documents.get_by_label("文件（PDF、JPEG 或 PNG）").set_input_files(
            # two different files (the same file twice is refused: it is attached already)
            files=[{"name": "x.pdf", "mimeType": "application/pdf",
                    "buffer": b"%PDF-1.4\n%%EOF\n" + label.encode()}])
        documents.get_by_label("文件說明").fill(label)
        with page.expect_navigation():
            documents.get_by_role("button", name="加入文件").click()
    expect(page.locator("#documents li")).to_have_count(2)
    screenshot(page, "plan-documents-tablet")
    with page.expect_navigation():
        page.get_by_role("button", name="刪除 選錯的檔案").click()
    expect(page.locator(".flash-success")).to_contain_text("文件已刪除")
    expect(page.locator("#documents li")).to_have_count(1)
    expect(page.locator("#documents")).to_contain_text("送件回執")

    phone = sign_in(open_page("phone"), admin.email)
    phone.goto("/admin/plans/2027")
    expect(phone.locator("#plan-status")).to_have_text("已送件")
    assert_fits_phone(phone)
    assert_touch_targets(phone)
    screenshot(phone, "plan-phone")
    phone.goto("/admin/unit")
    expect(phone.get_by_role("heading", name="單位資料")).to_be_visible()
    assert_fits_phone(phone)
    assert_touch_targets(phone)
    screenshot(phone, "unit-profile-phone")
