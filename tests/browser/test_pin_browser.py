"""The kiosk PIN in a real browser at phone size: a volunteer without a PIN finds out on "my QR
card", sets one on the PIN page (a wrong password first), and an admin resets it."""
from __future__ import annotations

import datetime as dt

import pytest
from playwright.sync_api import expect

from models.base import utcnow
from models.people import Volunteer

from .conftest import assert_fits_phone, assert_touch_targets, in_menu, path_of, screenshot, sign_in


@pytest.fixture
def person(db, make, unit):
    user = make.user(unit, role="volunteer")
    vol = db.get(Volunteer, user.volunteer.id)
    return user, vol


def test_volunteer_sets_a_pin_from_the_qr_card_on_a_phone(db, open_page, make, person):
    user, vol = person
    page = sign_in(open_page("phone"), user.email)
    page.allow_console_error("status of 400")  # the refused form comes back as a 400 page
    page.goto("/me/card")
    state = page.locator("#pin-state")
    expect(state).to_contain_text("您尚未設定 PIN 碼")
    assert_fits_phone(page)
    assert_touch_targets(page)
    state.get_by_role("link", name="設定 PIN 碼").click()
    assert path_of(page) == "/account/pin"
    expect(page.locator("h1")).to_have_text("簽到站 PIN 碼")
    expect(in_menu(page, "link", "PIN 碼")).to_have_attribute("aria-current", "page")
    assert page.get_attribute("#pin", "inputmode") == "numeric"

    form = page.locator("main form")
    form.get_by_label("您的密碼").fill("not my password")
    form.get_by_label("新的 PIN 碼（4 到 6 位數字）").fill("13579")
    form.get_by_label("再輸入一次新的 PIN 碼").fill("13579")
    with page.expect_navigation():
        form.get_by_role("button", name="設定 PIN 碼").click()
    expect(page.locator("#password-error")).to_have_text("您的密碼不正確。")
    expect(page.locator("#password")).to_have_attribute("aria-invalid", "true")
    assert_fits_phone(page)
    assert_touch_targets(page)
    screenshot(page, "pin-wrong-password-phone-zh")
    db.expire_all()
    assert db.get(Volunteer, vol.id).pin_hash is None

    form.get_by_label("您的密碼").fill(make.PASSWORD)
    form.get_by_label("新的 PIN 碼（4 到 6 位數字）").fill("13579")
    form.get_by_label("再輸入一次新的 PIN 碼").fill("13579")
    with page.expect_navigation():
        form.get_by_role("button", name="設定 PIN 碼").click()
    assert path_of(page) == "/me/card"
    expect(page.locator(".flash-success")).to_contain_text("已設定 PIN 碼")
    expect(page.locator("#pin-state")).to_contain_text("已設定 PIN 碼")
    assert_fits_phone(page)
    assert_touch_targets(page)
    screenshot(page, "pin-set-card-phone-zh")
    db.rollback()
    db.expire_all()
    assert db.get(Volunteer, vol.id).check_pin("13579")

    page.goto("/account/pin")
    expect(page.locator("#pin-state")).to_contain_text("已設定 PIN 碼")
    expect(page.locator("main form button[type=submit]")).to_have_text("變更 PIN 碼")
    assert_fits_phone(page)
    assert_touch_targets(page)
    screenshot(page, "pin-page-phone-zh")


def test_pin_page_and_reset_in_english_on_a_phone(db, open_page, make, unit, person):
    user, vol = person
    vol.set_pin("2468")
    db.commit()
    page = sign_in(open_page("phone", locale="en"), user.email)
    page.goto("/account/pin")
    expect(page.locator("h1")).to_have_text("Kiosk PIN")
    expect(page.locator("#pin-state")).to_contain_text("PIN set")
    assert_fits_phone(page)
    assert_touch_targets(page)
    screenshot(page, "pin-page-phone-en")

    admin = make.user(unit, role="admin")
    vol.pin_locked_until = utcnow() + dt.timedelta(minutes=10)  # wrong PINs at the kiosk
    db.commit()
    staff = sign_in(open_page("phone"), admin.email)
    staff.goto(f"/evaluation/volunteers/{vol.id}/status")
    card = staff.locator("#kiosk-pin")
    expect(card).to_contain_text("已設定 PIN 碼")
    expect(card).to_contain_text("PIN 碼輸錯過多，鎖定到")
    assert_fits_phone(staff)
    assert_touch_targets(staff)
    screenshot(staff, "pin-admin-status-phone-zh")

    staff = sign_in(open_page("phone", locale="en"), admin.email)
    staff.goto(f"/evaluation/volunteers/{vol.id}/status")
    card = staff.locator("#kiosk-pin")
    expect(card).to_contain_text("PIN set")
    expect(card).to_contain_text("Locked after wrong PINs until")
    screenshot(staff, "pin-admin-status-phone-en")
    with staff.expect_navigation():
        card.get_by_role("button", name="Reset PIN").click()
    expect(staff.locator(".flash-success")).to_contain_text(f"The PIN of {vol.name_zh} is cleared")
    expect(card).to_contain_text("No PIN yet")
    expect(card).not_to_contain_text("Locked")
    expect(card.get_by_role("button")).to_have_count(0)
    assert_fits_phone(staff)
    assert_touch_targets(staff)
    screenshot(staff, "pin-admin-reset-phone-en")
    db.expire_all()
    assert db.get(Volunteer, vol.id).pin_hash is None

    page.goto("/me/card")
    expect(page.locator("#pin-state")).to_contain_text("You have no PIN yet")
    assert_fits_phone(page)
    assert_touch_targets(page)
    screenshot(page, "pin-none-card-phone-en")
