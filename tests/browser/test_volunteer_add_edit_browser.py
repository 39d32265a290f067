"""Adding a walk-in volunteer from the directory and editing a volunteer's details, in a real
browser on a phone (360x740) and a desktop (1280x800), in Chinese and English: the pages fit,
their links and fields are thumb-sized, axe-core finds nothing serious; screenshots kept."""
from __future__ import annotations

import re

from playwright.sync_api import expect

from models.idnumbers import with_check_digit

from .conftest import assert_fits_phone, assert_touch_targets, screenshot, sign_in
from .test_accessibility_browser import axe_violations

SIZES = (("phone", None, 360), ("tablet", {"width": 1280, "height": 800}, 1280))


def test_add_a_walk_in_and_edit_details(db, make, unit, open_page):
    admin = make.user(unit, role="admin")
    wang = make.volunteer(unit, name_zh="王小明", volunteer_no="1001", phone="0911222333",
                          insured=True)
    n = 0
    for locale, lang in (("zh-TW", "zh"), ("en", "en")):
        for size, viewport, width in SIZES:
            n += 1
            page = open_page(size, locale=locale)
            page.allow_console_error("status of 400")  # the refused form, on purpose
            if viewport:
                page.set_viewport_size(viewport)
            sign_in(page, admin.email)
            page.goto("/admin/volunteers")
            assert_fits_phone(page, width, tables=True)
            assert_touch_targets(page)
            screenshot(page, f"volunteer-add-edit-{lang}-{width}-directory")
            page.locator("#add-volunteer").click()
            page.wait_for_url("**/admin/volunteers/new")
            assert_fits_phone(page, width)
            assert_touch_targets(page)
            assert axe_violations(page) == []
            screenshot(page, f"volunteer-add-edit-{lang}-{width}-add")
            # a mistake first: the form comes back with the message and what was typed
            page.fill("#name_zh", f"林走進{n}")
            page.select_option("#gender", "female")
            page.fill("#birth_date", "1985-04-03")
            page.fill("#id_number", "A123456788")
            page.fill("#phone", "0912345678")
            page.locator(".card.narrow button[type=submit]").click()
            expect(page.locator("#id_number-error")).to_be_visible()
            expect(page.locator("#name_zh")).to_have_value(f"林走進{n}")
            assert axe_violations(page) == []
            screenshot(page, f"volunteer-add-edit-{lang}-{width}-add-refused")
            page.fill("#id_number", with_check_digit(f"F2200{n:04d}"))
            page.locator(".card.narrow button[type=submit]").click()
            page.wait_for_url("**/status")
            expect(page.locator("h1")).to_contain_text(f"林走進{n}")
            screenshot(page, f"volunteer-add-edit-{lang}-{width}-added")
            # edit details from the directory row, back to the directory after saving
            page.goto("/admin/volunteers?q=王小明")
            page.locator(f"#volunteer-{wang.id} a[href*='/profile']").click()
            page.wait_for_url(re.compile(r"/profile\?next="))
            assert_fits_phone(page, width)
            assert_touch_targets(page)
            assert axe_violations(page) == []
            screenshot(page, f"volunteer-add-edit-{lang}-{width}-edit")
            page.fill("#c-phone", f"09330000{n:02d}")
            page.locator(".card.narrow button[type=submit]").click()
            page.wait_for_url(re.compile(r"/admin/volunteers\?"))
            expect(page.locator(".flash-success")).to_be_visible()
            page.close()
    db.rollback()
    db.expire_all()
    assert db.get(type(wang), wang.id).phone == "0933000004"
