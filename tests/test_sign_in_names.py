"""Volunteers without an email: the short sign-in name (v<unit>-<number>) that the sign-in form
takes, the admin giving the account a real sign-in email later; and the one password rule
(account_links.check_password: no trivial passwords) wherever a password is set."""
import datetime as dt
import json

import pytest
from sqlalchemy import select

from models import account_links
from models.account_links import AccountSetupError, check_password
from models.audit import AuditEntry
from models.base import utcnow
from models.idnumbers import with_check_digit
from models.people import Gender, User
from models.recruitment import Application

EN = {"Accept-Language": "en"}


def fresh(db, obj):
    db.rollback()
    db.expire_all()
    return db.get(type(obj), obj.id)


@pytest.fixture
def no_email_application(db, unit):
    a = Application(unit_id=unit.id, reference_no=f"A2026-{unit.id:05d}", name_zh="王阿嬤",
                    gender=Gender.female, birth_date=dt.date(1950, 3, 2), phone="0912-000-111",
                    email="", id_number=with_check_digit("F22334456"), address="臺北市",
                    emergency_contact="王先生", emergency_phone="0922-000-111",
                    privacy_consent_at=utcnow())
    db.add(a)
    db.commit()
    return a


def _accept(admin, db, application):
    response = admin.post(f"/admin/recruitment/applications/{application.id}/decide",
                          {"outcome": "accepted"}, hx=True)
    assert response.status_code == 200
    return response.get_data(as_text=True), fresh(db, application).volunteer


def _token(page):
    return page.split("/welcome/")[1].split('"')[0]


# --- the sign-in name ------------------------------------------------------------------------

def test_no_email_volunteer_gets_a_short_sign_in_name_on_the_sheet(admin, db, unit,
                                                                   no_email_application,
                                                                   smtp_inbox):
    sheet, vol = _accept(admin, db, no_email_application)
    name = f"v{unit.id}-{vol.volunteer_no}"
    assert vol.user.email == f"{name}@no-email.invalid"
    assert vol.user.sign_in_name == name and not vol.user.has_real_email
    assert "no-email.invalid" not in sheet  # the placeholder is never printed
    assert name in sheet and "登入名稱" in sheet and "不必登入" in sheet
    assert smtp_inbox.messages == []  # and never mailed


def test_a_taken_sign_in_name_gets_a_suffix(db, make, unit):
    assert account_links.account_email(db, unit.id, "", "2001") == f"v{unit.id}-2001@no-email.invalid"
    make.user(unit, role="volunteer", email=f"v{unit.id}-2001@no-email.invalid")
    email = account_links.account_email(db, unit.id, "", "2001")
    assert email.startswith(f"v{unit.id}-2001-") and email.endswith("@no-email.invalid")


def test_sign_in_with_the_short_name(app, admin, anon, db, unit,
                                                               no_email_application):
    sheet, vol = _accept(admin, db, no_email_application)
    token = _token(sheet)
    anon.refresh_token(f"/welcome/{token}")
    welcome = anon.get(f"/welcome/{token}").get_data(as_text=True)
    assert f"v{unit.id}-{vol.volunteer_no}" in welcome and "no-email.invalid" not in welcome
    done = anon.post(f"/welcome/{token}", {"password": "grandma tea 1950", "confirm": "grandma tea 1950",
                                           "pin": "2580", "pin_confirm": "2580"})
    assert done.status_code == 302
    name = f"v{unit.id}-{vol.volunteer_no}"
    for typed in (name, name.upper(), f" {name} ", "ｖ" + name[1:]):  # a full-width v from a phone
        person = type(anon)(app.test_client())
        assert person.sign_in(typed, "grandma tea 1950").status_code == 302, typed
    for typed in ("0912-000-111", "v" + vol.volunteer_no, f"{vol.volunteer_no}@no-email.invalid"):
        person = type(anon)(app.test_client())
        assert person.sign_in(typed, "grandma tea 1950").status_code == 401, typed


def test_sign_in_with_the_bare_volunteer_number_only_one_account_has(app, admin, anon, db, make,
                                                                     unit, no_email_application):
    """Review (screen 106): "1032", printed large on the QR card and typed at the tablet, was
    refused at sign-in while "v1-1032" worked. The bare number (full-width too) names the one
    active account whose volunteer has it; one that another unit's volunteer also has names
    nobody (the hint says to use the sign-in name then)."""
    sheet, vol = _accept(admin, db, no_email_application)
    token = _token(sheet)
    anon.refresh_token(f"/welcome/{token}")
    anon.post(f"/welcome/{token}", {"password": "grandma tea 1950", "confirm": "grandma tea 1950",
                                    "pin": "2580", "pin_confirm": "2580"})
    number = vol.volunteer_no
    full_width = "".join(chr(ord(c) + 0xFEE0) if c.isdigit() else c for c in number)
    for typed in (number, f" {number} ", full_width):
        person = type(anon)(app.test_client())
        assert person.sign_in(typed, "grandma tea 1950").status_code == 302, typed
    person = type(anon)(app.test_client())
    assert person.sign_in(number, "wrong password 1950").status_code == 401
    form = person.get("/sign-in", headers=EN).get_data(as_text=True)
    assert "your volunteer number (like 1032)" in form and "(like v1-1032)" in form
    # another unit gives the same number to an account: ambiguous, refused
    db.rollback()
    other = make.user(make.unit(), role="volunteer")
    other.volunteer.volunteer_no = number
    db.commit()
    for typed in (number, full_width):
        person = type(anon)(app.test_client())
        refused = person.sign_in(typed, "grandma tea 1950")
        assert refused.status_code == 401, typed
    # the sign-in name still works
    person = type(anon)(app.test_client())
    assert person.sign_in(f"v{unit.id}-{number}", "grandma tea 1950").status_code == 302
    # a deactivated account is not counted: the number is the active one's again
    db.rollback()
    other = db.get(User, other.id)
    other.active = False
    db.commit()
    person = type(anon)(app.test_client())
    assert person.sign_in(number, "grandma tea 1950").status_code == 302


# --- the admin sets the sign-in email --------------------------------------------------------

def test_admin_sets_a_real_sign_in_email(app, admin, anon, db, unit, make, no_email_application,
                                         smtp_inbox):
    sheet, vol = _accept(admin, db, no_email_application)
    url = f"/evaluation/volunteers/{vol.id}/sign-in-email"
    page = admin.get(f"/evaluation/volunteers/{vol.id}/status").get_data(as_text=True)
    assert 'id="sign-in-email-form"' in page and f"v{unit.id}-{vol.volunteer_no}" in page
    make.user(unit, role="supervisor", email="taken@example.tw")
    for typed, message in (("not an email", "電子郵件地址"),
                           ("", "電子郵件地址"),
                           ("someone@no-email.invalid", "電子郵件地址"),
                           ("Taken@example.tw", "已經有帳號")):
        refused = admin.post(url, {"email": typed})
        assert refused.status_code == 400 and message in refused.get_data(as_text=True), typed
        assert fresh(db, vol).user.email.endswith("@no-email.invalid")
    no_csrf = admin.client.post(url, data={"email": "grandma@example.tw"})
    assert no_csrf.status_code == 400
    assert fresh(db, vol).user.email.endswith("@no-email.invalid")

    done = admin.post(url, {"email": " Grandma@Example.tw "})
    assert done.status_code == 302
    user = fresh(db, vol).user
    assert user.email == "grandma@example.tw" and user.has_real_email
    entry = db.scalar(select(AuditEntry).where(AuditEntry.action == "sign_in_email_change"))
    assert entry.actor_user_id == admin.user.id
    assert json.loads(entry.after) == {"email": "grandma@example.tw"}
    assert json.loads(entry.before)["email"].endswith("@no-email.invalid")
    again = admin.post(url, {"email": "grandma@example.tw"})
    assert again.status_code == 400 and "已經是這位志工的登入電子郵件" in again.get_data(as_text=True)
    # a new sign-in link now goes to the real address
    admin.post(f"/evaluation/volunteers/{vol.id}/sign-in-link")
    assert [to for to, _ in smtp_inbox.messages] == [["grandma@example.tw"]]
    # another unit's volunteer: not found, nothing changed
    db.rollback()
    other = make.user(make.unit(), role="volunteer").volunteer
    response = admin.post(f"/evaluation/volunteers/{other.id}/sign-in-email", {"email": "x@example.tw"})
    assert response.status_code == 404
    assert db.scalar(select(User).where(User.email == "x@example.tw")) is None


def test_only_an_admin_sets_a_sign_in_email(supervisor, volunteer, anon, db, make, unit):
    vol = make.user(unit, role="volunteer").volunteer
    url = f"/evaluation/volunteers/{vol.id}/sign-in-email"
    for person in (supervisor, volunteer):
        assert person.post(url, {"email": "x@example.tw"}).status_code == 403
    assert anon.post(url, {"email": "x@example.tw"}).status_code in (302, 401)
    assert db.scalar(select(User).where(User.email == "x@example.tw")) is None


# --- the password rule -----------------------------------------------------------------------

@pytest.mark.parametrize("password", ["password", "PASSWORD", "12345678", "123456789", "1234567890",
                                      "87654321", "abcdefgh", "qwertyui", "aaaaaaaa", "11111111",
                                      "12121212", "iloveyou", "1qaz2wsx", "a1234567"])
def test_trivial_passwords_are_refused(password):
    assert account_links.easy_password(password)
    with pytest.raises(AccountSetupError) as refused:
        check_password(password)
    assert "too easy" in refused.value.message


def test_the_own_email_or_number_is_refused_and_good_passwords_pass():
    for own in ("chen.mei@example.tw", "chen.mei", "20261032"):
        with pytest.raises(AccountSetupError):
            check_password(own, email="chen.mei@example.tw", volunteer_no="20261032")
    for good in ("correct horse 2026", "grandma tea 1950", "hourbook-demo", "ab12cd34"):
        check_password(good, email="chen.mei@example.tw", volunteer_no="20261032")
    with pytest.raises(AccountSetupError, match="at least"):
        check_password("abc")


def test_welcome_page_refuses_trivial_passwords_and_asks_the_pin_twice(admin, anon, db, unit,
                                                                        no_email_application):
    sheet, vol = _accept(admin, db, no_email_application)
    token = _token(sheet)
    page = anon.get(f"/welcome/{token}").get_data(as_text=True)
    assert 'name="pin_confirm"' in page
    for weak in ("password", "12345678", vol.user.email):
        refused = anon.post(f"/welcome/{token}", {"password": weak, "confirm": weak,
                                                  "pin": "2580", "pin_confirm": "2580"})
        assert refused.status_code == 400 and "這組密碼太容易被猜到" in refused.get_data(as_text=True), weak
    differ = anon.post(f"/welcome/{token}", {"password": "grandma tea 1950", "confirm": "grandma tea 1950",
                                             "pin": "2580", "pin_confirm": "2589"})
    assert differ.status_code == 400 and "兩次輸入的 PIN 碼不一樣" in differ.get_data(as_text=True)
    missing = anon.post(f"/welcome/{token}", {"password": "grandma tea 1950", "confirm": "grandma tea 1950",
                                              "pin": "2580"})
    assert missing.status_code == 400
    vol = fresh(db, vol)
    assert vol.pin_hash is None and not vol.user.check_password("password")
    assert db.scalar(select(AuditEntry).where(AuditEntry.action == "account_setup")) is None


def test_password_change_refuses_trivial_passwords(app, make, admin):
    for weak, message in (("12345678", "這組密碼太容易被猜到"), ("password", "這組密碼太容易被猜到"),
                          (admin.user.email, "這組密碼太容易被猜到")):
        response = admin.post("/account/password", {"current": make.PASSWORD, "new": weak, "confirm": weak})
        assert response.status_code == 400 and message in response.get_data(as_text=True), weak
    english = admin.post("/account/password", {"current": make.PASSWORD, "new": "abcdefgh",
                                               "confirm": "abcdefgh"}, headers=EN)
    assert "This password is too easy to guess" in english.get_data(as_text=True)
    fresh_client = type(admin)(app.test_client())
    assert fresh_client.sign_in(admin.user.email, make.PASSWORD).status_code == 302


def test_cli_refuses_a_trivial_password(app, db, unit):
    runner = app.test_cli_runner()
    weak = runner.invoke(args=["users", "create", "--name", "陳承辦", "--role", "admin", "--email", "a@school.tw",
                               "--password", "password"])
    assert weak.exit_code == 1 and "too easy" in weak.output
    assert db.scalar(select(User).where(User.email == "a@school.tw")) is None


def test_an_email_without_an_account_takes_a_password_check_all_the_same(db, make, unit, monkeypatch):
    """Only an existing account's password was hashed, so a wrong password answered some twenty
    times slower for an email that has an account: timing told who is registered."""
    user = make.user(unit, role="supervisor", email="known@example.tw")
    db.commit()
    checked = []
    real = account_links.check_password_hash
    monkeypatch.setattr(account_links, "check_password_hash",
                        lambda h, p: checked.append(h) or real(h, p))
    import models.people as people
    monkeypatch.setattr(people, "check_password_hash", lambda h, p: checked.append(h) or real(h, p))

    assert account_links.signs_in(db, "nobody@example.tw", "wrong-password-1") is None
    assert account_links.signs_in(db, "known@example.tw", "wrong-password-1") is None
    # the stand-in is hashed as real passwords are (the factory's users have a cheap hash)
    assert len(checked) == 2 and checked[0].startswith(people.PASSWORD_HASH_METHOD)
    assert account_links.signs_in(db, "KNOWN@example.tw", make.PASSWORD).id == user.id
    user.active = False
    db.commit()
    assert account_links.signs_in(db, "known@example.tw", make.PASSWORD) is None
    assert len(checked) == 4  # a disabled account is checked like no account
