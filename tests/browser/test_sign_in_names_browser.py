"""A volunteer without an email, in a real browser: the admin makes their account; the sheet
prints the short sign-in name (never the placeholder address); the volunteer sets a password
(a trivial one refused) and the PIN twice, signs in with the name; the admin later sets a real
sign-in email on the status page. At 360x740 and 768x1024, in zh-TW and English."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from models.people import Volunteer

from .conftest import assert_fits_phone, assert_touch_targets, path_of, screenshot, sign_in

WORDS = {
    "zh-TW": {"name": "登入名稱", "weak": "這組密碼太容易被猜到",
              "bad_email": "請輸入像 name@example.tw 這樣的電子郵件地址", "set": "設定登入電子郵件",
              "done": "現在以 grandma@example.tw 登入"},
    "en": {"name": "Sign-in name",
           "weak": "This password is too easy to guess", "bad_email": "Enter an email address like",
           "set": "Set the sign-in email", "done": "now signs in with grandma@example.tw"},
}


@pytest.mark.parametrize("size,locale", [("phone", "zh-TW"), ("phone", "en"),
                                         ("tablet-portrait", "zh-TW"), ("tablet-portrait", "en")])
def test_a_volunteer_without_an_email_signs_in_with_the_short_name(db, open_page, make, unit,
                                                                   size, locale):
    words = WORDS[locale]
    tag = f"{'phone' if size == 'phone' else 'tablet'}-{'zh' if locale == 'zh-TW' else 'en'}"
    vol = make.volunteer(unit, name_zh="王阿嬤", email="")  # from a roster: no account, no email
    admin_user = make.user(unit, role="admin")
    staff = sign_in(open_page(size, locale=locale), admin_user.email)
    staff.allow_console_error("status of 400")
    staff.goto(f"/evaluation/volunteers/{vol.id}/status")
    with staff.expect_navigation():
        staff.locator("#sign-in-link form button[type=submit]").click()
    name = f"v{unit.id}-{vol.volunteer_no}"
    sheet = staff.locator(".welcome-sheet")
    expect(sheet.locator("#sheet-sign-in-name")).to_contain_text(name)
    expect(sheet).not_to_contain_text("no-email.invalid")
    if size == "phone":
        assert_fits_phone(staff)
    screenshot(staff, f"sign-in-name-sheet-{tag}")
    welcome = sheet.locator("#welcome-link").get_attribute("href")

    person = open_page(size, locale=locale)
    person.allow_console_error("status of 400")
    person.goto(welcome)
    expect(person.locator("#sign-in-name")).to_contain_text(name)
    person.fill("#password", "12345678")
    person.fill("#confirm", "12345678")
    person.fill("#pin", "2580")
    person.fill("#pin_confirm", "2580")
    with person.expect_navigation():
        person.locator("main form button[type=submit]").click()
    expect(person.locator("#password-error")).to_contain_text(words["weak"])
    if size == "phone":
        assert_fits_phone(person)
        assert_touch_targets(person)
    screenshot(person, f"welcome-weak-password-{tag}")
    person.fill("#password", "grandma tea 1950")
    person.fill("#confirm", "grandma tea 1950")
    person.fill("#pin", "2580")
    person.fill("#pin_confirm", "2580")
    with person.expect_navigation():
        person.locator("main form button[type=submit]").click()
    assert path_of(person) == "/"

    again = open_page(size, locale=locale)
    again.goto("/sign-in")
    if size == "phone":
        assert_fits_phone(again)
    screenshot(again, f"sign-in-page-{tag}")
    sign_in(again, name, "grandma tea 1950")
    again.allow_console_error("status of 400")
    again.goto("/account/password")
    again.fill("#current", "grandma tea 1950")
    again.fill("#new", "abcdefgh")
    again.fill("#confirm", "abcdefgh")
    with again.expect_navigation():
        again.locator("main form button[type=submit]").click()
    expect(again.locator("#new-error")).to_contain_text(words["weak"])
    if size == "phone":
        assert_fits_phone(again)
        assert_touch_targets(again)
    screenshot(again, f"password-weak-{tag}")

    staff.goto(f"/evaluation/volunteers/{vol.id}/status")
    expect(staff.locator("#sign-in-as")).to_contain_text(name)
    form = staff.locator("#sign-in-email-form")
    form.locator("input[name=email]").fill("grandma at example")
    with staff.expect_navigation():
        form.get_by_role("button", name=words["set"]).click()
    expect(staff.locator("#email-error")).to_contain_text(words["bad_email"])
    if size == "phone":
        assert_fits_phone(staff)
        assert_touch_targets(staff)
    screenshot(staff, f"sign-in-email-refused-{tag}")
    form.locator("input[name=email]").fill("grandma@example.tw")
    with staff.expect_navigation():
        form.get_by_role("button", name=words["set"]).click()
    expect(staff.locator(".flash-success")).to_contain_text(words["done"])
    expect(staff.locator("#sign-in-as")).to_contain_text("grandma@example.tw")
    screenshot(staff, f"sign-in-email-set-{tag}")
    db.rollback()
    db.expire_all()
    assert db.get(Volunteer, vol.id).user.email == "grandma@example.tw"
