"""The kiosk PIN after the welcome link: a volunteer sets or changes it on their "PIN" page
(confirming with their password), an admin resets a forgotten one on the volunteer's status page.
Over real HTTP; the new PIN is tried on an enrolled kiosk's keypad."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import select

from models import account_links
from models import kiosk as kiosks
from models.audit import AuditEntry
from models.base import utcnow
from models.people import Volunteer
from models.verification import SupervisorSite
from tests.conftest import HttpUser
from tests.test_kiosk_tablet import enrol

EN = {"Accept-Language": "en"}
OLD_PIN, NEW_PIN = "2468", "97531"


def fresh(db, volunteer_id: int) -> Volunteer:
    db.rollback()  # a new transaction: see what the app's requests committed
    db.expire_all()  # objects read before no transaction began are not expired by rollback
    return db.get(Volunteer, volunteer_id)


def audit_of(db, action: str) -> list[AuditEntry]:
    db.rollback()
    return list(db.scalars(select(AuditEntry).where(AuditEntry.action == action)
                           .order_by(AuditEntry.id)))


@pytest.fixture
def vol(db, volunteer):
    """The signed-in volunteer's profile, with the PIN the welcome link set."""
    person = db.get(Volunteer, volunteer.user.volunteer.id)
    person.set_pin(OLD_PIN)
    db.commit()
    return person


@pytest.fixture
def tablet(app, db, make, unit):
    """An enrolled kiosk of the volunteer's unit (its site: tablet.site)."""
    site, admin = make.site(unit, name_zh="大安長照服務中心"), make.user(unit, role="admin")
    _device, code = kiosks.create_device(db, site=site, name="服務台平板", actor=admin, now=utcnow())
    db.commit()
    kiosk = enrol(app, code)
    kiosk.site = site
    return kiosk


def keypad(tablet, person: Volunteer, pin: str):
    return tablet.post("/kiosk/identify", {"method": "keypad", "number": person.volunteer_no,
                                           "pin": pin}, hx=True, headers=EN)


def change(volunteer, password, pin, confirm=None, **kw):
    return volunteer.post("/account/pin", {"password": password, "pin": pin,
                                           "confirm": pin if confirm is None else confirm}, **kw)


# --- the volunteer's own PIN page -------------------------------------------------------------

def test_volunteer_changes_pin_and_only_the_new_one_opens_the_kiosk(db, make, volunteer, vol, tablet):
    page = volunteer.get("/account/pin")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "簽到站 PIN 碼" in html and "已設定 PIN 碼" in html and vol.volunteer_no in html
    assert 'href="/account/pin"' in volunteer.get("/").get_data(as_text=True)  # in the main nav

    done = change(volunteer, make.PASSWORD, NEW_PIN)
    assert done.status_code == 302 and done.headers["Location"] == "/me/card"
    card = volunteer.get("/me/card").get_data(as_text=True)
    assert "已設定 PIN 碼" in card and "在簽到站的數字鍵盤先輸入志工編號" in card  # the flash

    assert keypad(tablet, vol, NEW_PIN).status_code == 200
    wrong = keypad(tablet, vol, OLD_PIN)
    assert wrong.status_code == 422 and "Wrong PIN: 4 more tries left" in wrong.get_data(as_text=True)

    [entry] = audit_of(db, "pin_change")
    assert entry.entity == "volunteer" and entry.entity_id == vol.id
    assert entry.actor_user_id == volunteer.user.id
    assert entry.after_data() == {"pin_set": True, "locked": False}
    assert entry.before_data() == {"pin_set": True, "locked": False}
    stored = fresh(db, vol.id).pin_hash
    for text in (entry.before or "", entry.after or ""):
        assert NEW_PIN not in text and OLD_PIN not in text and stored not in text


def test_wrong_password_is_refused_and_changes_nothing(db, volunteer, vol, tablet):
    before = fresh(db, vol.id).pin_hash
    refused = change(volunteer, "not my password", NEW_PIN, headers=EN)
    assert refused.status_code == 400
    assert "Your password is not correct." in refused.get_data(as_text=True)
    assert fresh(db, vol.id).pin_hash == before
    assert audit_of(db, "pin_change") == []
    assert keypad(tablet, vol, OLD_PIN).status_code == 200
    assert keypad(tablet, vol, NEW_PIN).status_code == 422
    zh = change(volunteer, "not my password", NEW_PIN)
    assert "您的密碼不正確。" in zh.get_data(as_text=True)


@pytest.mark.parametrize("pin", ["123", "1234567", "12a4", "12 34", "", "12\n34", "١٢٣٤"])
def test_bad_pins_are_refused_with_the_translated_rule(db, make, volunteer, vol, pin):
    before = fresh(db, vol.id).pin_hash
    refused = change(volunteer, make.PASSWORD, pin)
    assert refused.status_code == 400
    html = refused.get_data(as_text=True)
    assert ("PIN 碼為 4 到 6 位數字。" in html) or (pin == "" and "請輸入 PIN 碼。" in html)
    english = change(volunteer, make.PASSWORD, pin, headers=EN).get_data(as_text=True)
    assert "A PIN is 4 to 6 digits." in english or (pin == "" and "Enter a PIN." in english)
    assert fresh(db, vol.id).pin_hash == before and audit_of(db, "pin_change") == []


def test_the_two_pins_must_match(db, make, volunteer, vol):
    refused = change(volunteer, make.PASSWORD, NEW_PIN, confirm="97530", headers=EN)
    assert refused.status_code == 400 and "The two PINs are not the same." in refused.get_data(as_text=True)
    assert fresh(db, vol.id).check_pin(OLD_PIN)


def test_full_width_digits_are_the_same_pin(db, make, volunteer, vol, tablet):
    """A Chinese keyboard may type full-width digits; the keypad sends ASCII ones."""
    assert change(volunteer, make.PASSWORD, "１３５７").status_code == 302
    assert keypad(tablet, vol, "1357").status_code == 200


def test_spaces_around_a_pin_and_full_width_digits_are_the_same_pin(app, db, make, volunteer, vol,
                                                                    tablet):
    """What a phone's keyboard adds (a space, full-width digits) is not part of the PIN: on
    the PIN page, in the confirmation too, and on the welcome link's page."""
    assert change(volunteer, make.PASSWORD, " 5913 ", confirm="5913").status_code == 302
    assert keypad(tablet, vol, "5913").status_code == 200
    assert change(volunteer, make.PASSWORD, "６０２４", confirm=" 6024").status_code == 302
    assert keypad(tablet, vol, "6024").status_code == 200
    token = account_links.create_set_password_link(db, vol.user, None, utcnow())
    db.commit()
    person = HttpUser(app.test_client())
    person.refresh_token(f"/welcome/{token}")
    done = person.post(f"/welcome/{token}", {"password": "a brand new pass",
                                             "confirm": "a brand new pass", "pin": "　７１３５ ", "pin_confirm": "　７１３５ "})
    assert done.status_code == 302
    assert fresh(db, vol.id).check_pin("7135")


def test_a_new_pin_clears_a_lock_out(db, make, volunteer, vol, tablet):
    for _ in range(kiosks.PIN_MAX_FAILURES):
        keypad(tablet, vol, "0000")
    assert keypad(tablet, vol, OLD_PIN).status_code == 423
    assert "PIN 碼輸錯過多，已被鎖定" in volunteer.get("/me/card").get_data(as_text=True)
    assert "PIN 碼輸錯過多，已鎖定" in volunteer.get("/account/pin").get_data(as_text=True)
    assert change(volunteer, make.PASSWORD, NEW_PIN).status_code == 302
    assert keypad(tablet, vol, NEW_PIN).status_code == 200
    [entry] = audit_of(db, "pin_change")
    assert entry.before_data() == {"pin_set": True, "locked": True}


def test_my_card_says_when_there_is_no_pin_and_links_to_the_page(db, make, volunteer, vol):
    vol = fresh(db, vol.id)
    vol.pin_hash = None
    db.commit()
    card = volunteer.get("/me/card").get_data(as_text=True)
    assert "您尚未設定 PIN 碼" in card and 'href="/account/pin"' in card
    page = volunteer.get("/account/pin").get_data(as_text=True)
    assert "尚未設定 PIN 碼" in page
    assert change(volunteer, make.PASSWORD, "4831").status_code == 302
    card = volunteer.get("/me/card").get_data(as_text=True)
    assert "已設定 PIN 碼" in card and "您尚未設定 PIN 碼" not in card
    [entry] = audit_of(db, "pin_change")
    assert entry.before_data() == {"pin_set": False, "locked": False}


def test_pin_page_needs_csrf(app, db, make, volunteer, vol):
    raw = volunteer.client.post("/account/pin", data={"password": make.PASSWORD, "pin": NEW_PIN,
                                                      "confirm": NEW_PIN})
    assert raw.status_code == 400 and "表單已過期" in raw.get_data(as_text=True)
    assert fresh(db, vol.id).check_pin(OLD_PIN) and audit_of(db, "pin_change") == []


def test_pin_page_is_for_signed_in_volunteers_only(anon, admin, supervisor):
    response = anon.get("/account/pin")
    assert response.status_code == 302 and response.headers["Location"].startswith("/sign-in")
    anon.refresh_token()
    posted = anon.post("/account/pin", {"password": "x", "pin": "1234", "confirm": "1234"})
    assert posted.status_code == 302 and posted.headers["Location"].startswith("/sign-in")
    for staff in (admin, supervisor):
        assert staff.get("/account/pin").status_code == 403
        assert staff.post("/account/pin", {"password": "x", "pin": "1234",
                                           "confirm": "1234"}).status_code == 403
        assert 'href="/account/pin"' not in staff.get("/").get_data(as_text=True)


# --- the admin's reset ------------------------------------------------------------------------

def status_url(person: Volunteer) -> str:
    return f"/evaluation/volunteers/{person.id}/status"


def reset_url(person: Volunteer) -> str:
    return f"/evaluation/volunteers/{person.id}/pin-reset"


def test_admin_sees_pin_and_lock_out_and_resets_them(db, admin, vol, tablet):
    page = admin.get(status_url(vol), headers=EN).get_data(as_text=True)
    assert "Kiosk PIN" in page and "PIN set" in page and "Locked after wrong PINs" not in page
    for _ in range(kiosks.PIN_MAX_FAILURES):
        keypad(tablet, vol, "0000")
    assert keypad(tablet, vol, OLD_PIN).status_code == 423
    page = admin.get(status_url(vol)).get_data(as_text=True)
    assert "已設定 PIN 碼" in page and "PIN 碼輸錯過多，鎖定到" in page and "重設 PIN 碼" in page

    done = admin.post(reset_url(vol))
    assert done.status_code == 302 and done.headers["Location"] == status_url(vol)
    page = admin.get(status_url(vol)).get_data(as_text=True)
    assert f"已清除 {vol.name_zh} 的 PIN 碼" in page and "尚未設定 PIN 碼" in page
    assert "PIN 碼輸錯過多" not in page and "重設 PIN 碼</button>" not in page

    person = fresh(db, vol.id)
    assert person.pin_hash is None and person.pin_locked_until is None and person.pin_failures == 0
    still = keypad(tablet, vol, OLD_PIN)  # no more lock-out, and the old PIN is gone
    assert still.status_code == 422 and f"Number {vol.volunteer_no} has no PIN yet" in still.get_data(as_text=True)

    [entry] = audit_of(db, "pin_reset")
    assert entry.entity == "volunteer" and entry.entity_id == vol.id
    assert entry.actor_user_id == admin.user.id and entry.unit_id == vol.unit_id
    assert entry.before_data() == {"pin_set": True, "locked": True}
    assert entry.after_data() == {"pin_set": False, "locked": False}
    assert OLD_PIN not in (entry.before + entry.after)


def test_after_a_reset_the_volunteer_sets_a_new_pin(db, make, admin, volunteer, vol, tablet):
    assert admin.post(reset_url(vol)).status_code == 302
    assert "您尚未設定 PIN 碼" in volunteer.get("/me/card").get_data(as_text=True)
    assert change(volunteer, make.PASSWORD, NEW_PIN).status_code == 302
    assert keypad(tablet, vol, NEW_PIN).status_code == 200


def test_reset_with_nothing_to_reset_is_refused_and_changes_nothing(db, admin, vol):
    assert admin.post(reset_url(vol)).status_code == 302
    again = admin.post(reset_url(vol), headers=EN)
    assert again.status_code == 409
    assert "has no PIN and is not locked out: there is nothing to reset." in again.get_data(as_text=True)
    assert len(audit_of(db, "pin_reset")) == 1


def test_reset_is_for_admins_of_the_unit_only(app, db, make, unit, anon, supervisor, volunteer, vol):
    anon.refresh_token()
    response = anon.post(reset_url(vol))
    assert response.status_code == 302 and response.headers["Location"].startswith("/sign-in")
    assert supervisor.get(status_url(vol)).status_code == 403
    assert supervisor.post(reset_url(vol)).status_code == 403
    assert volunteer.post(reset_url(vol)).status_code == 403
    other_unit = make.unit()
    stranger = HttpUser(app.test_client())
    stranger.sign_in(make.user(other_unit, role="admin").email, make.PASSWORD)
    assert stranger.post(reset_url(vol)).status_code == 404
    assert fresh(db, vol.id).check_pin(OLD_PIN) and audit_of(db, "pin_reset") == []


def test_reset_needs_csrf(db, admin, vol):
    raw = admin.client.post(reset_url(vol))
    assert raw.status_code == 400
    assert fresh(db, vol.id).check_pin(OLD_PIN) and audit_of(db, "pin_reset") == []


def test_status_page_says_when_a_volunteer_has_no_account(db, make, unit, admin):
    imported = make.volunteer(unit)  # as the roster import makes them: no sign-in account
    page = admin.get(status_url(imported)).get_data(as_text=True)
    assert "尚未設定 PIN 碼" in page and "這位志工沒有登入帳號" in page
    assert "重設 PIN 碼</button>" not in page


# --- the one PIN rule -------------------------------------------------------------------------

def test_the_welcome_link_and_the_pin_page_share_one_rule():
    assert account_links.validate_pin("0193") == "0193"
    assert account_links.validate_pin("１３５７９２") == "135792"
    for bad in ("123", "1234567", "12a4", "1234\n", None):
        with pytest.raises(account_links.AccountSetupError):
            account_links.validate_pin(bad)


def test_lock_out_status_ends_with_the_lock(db, vol):
    now = utcnow()
    vol.pin_locked_until = now + dt.timedelta(minutes=5)
    assert account_links.pin_status(vol, now).locked_until == vol.pin_locked_until
    assert account_links.pin_status(vol, now + dt.timedelta(minutes=6)).locked_until is None
    db.rollback()


# --- a forgotten password: a new sign-in link from the admin -------------------------------------

def test_a_forgotten_password_gets_a_new_sign_in_link_from_the_admin(app, db, vol, volunteer, admin,
                                                                      supervisor, anon):
    url = f"/evaluation/volunteers/{vol.id}/sign-in-link"
    status = admin.get(f"/evaluation/volunteers/{vol.id}/status").get_data(as_text=True)
    assert 'id="sign-in-link"' in status and "建立新的登入連結" in status
    assert supervisor.post(url).status_code == 403 and volunteer.post(url).status_code == 403
    assert anon.post(url).status_code in (302, 400)
    first = admin.post(url)
    assert first.status_code == 200 and "no-store" in first.headers["Cache-Control"]
    old_token = first.get_data(as_text=True).split("/welcome/")[1].split('"')[0]
    again = admin.post(url).get_data(as_text=True)  # a second one: the first stops working
    assert "data:image/svg+xml;base64," in again and "登入連結" in again
    token = again.split("/welcome/")[1].split('"')[0]
    assert app.test_client().get(f"/welcome/{old_token}").status_code == 410
    person = HttpUser(app.test_client())
    person.refresh_token(f"/welcome/{token}")
    done = person.post(f"/welcome/{token}", {"password": "a brand new pass", "confirm": "a brand new pass",
                                             "pin": "2468", "pin_confirm": "2468"})
    assert done.status_code == 302
    fresh_vol = fresh(db, vol.id)
    assert fresh_vol.user.check_password("a brand new pass") and fresh_vol.check_pin("2468")
    assert len(audit_of(db, "create_set_password_link")) == 2
    assert "請向單位承辦人索取新的登入連結" in anon.get("/sign-in").get_data(as_text=True)


def test_a_volunteer_without_an_account_gets_one_with_its_first_link(app, db, make, unit, admin):
    """Imported from a roster: no sign-in account. The admin creates it with its first link;
    the volunteer signs in with the email on record and sets a password and PIN."""
    imported = make.volunteer(unit, name_zh="周月娥", email="yueh@example.tw")
    assert imported.user_id is None
    status = admin.get(f"/evaluation/volunteers/{imported.id}/status").get_data(as_text=True)
    assert "建立登入帳號與連結" in status
    sheet = admin.post(f"/evaluation/volunteers/{imported.id}/sign-in-link").get_data(as_text=True)
    token = sheet.split("/welcome/")[1].split('"')[0]
    assert "yueh@example.tw" in sheet
    person = HttpUser(app.test_client())
    person.refresh_token(f"/welcome/{token}")
    assert person.post(f"/welcome/{token}", {"password": "yueh pass 2026", "confirm": "yueh pass 2026",
                                             "pin": "1357", "pin_confirm": "1357"}).status_code == 302
    again = HttpUser(app.test_client())
    assert again.sign_in("yueh@example.tw", "yueh pass 2026").status_code == 302
    assert "周月娥" in again.get("/me/card").get_data(as_text=True)
    assert fresh(db, imported.id).check_pin("1357")
    assert [e.entity_id for e in audit_of(db, "create_account")] == [imported.id]
    # the next time it is a new link for the same account
    admin.post(f"/evaluation/volunteers/{imported.id}/sign-in-link")
    assert len(audit_of(db, "create_account")) == 1


def test_a_volunteer_who_left_gets_no_sign_in_link(db, make, unit, admin):
    from models.people import VolunteerStatus

    gone = make.volunteer(unit, name_zh="已離隊", status=VolunteerStatus.inactive)
    response = admin.post(f"/evaluation/volunteers/{gone.id}/sign-in-link")
    assert response.status_code == 409 and "只有在職的志工" in response.get_data(as_text=True)
    assert audit_of(db, "create_account") == [] and audit_of(db, "create_set_password_link") == []


# --- PINs anyone would try first ------------------------------------------------------------------

EASY = "這組 PIN 碼太容易被猜到。請勿使用同一個數字（1111）、連續數字（1234 或 4321）或您的志工編號。"


@pytest.mark.parametrize("pin", ["0000", "777777", "1234", "4321", "0123", "987654", "own number"])
def test_easy_pins_are_refused_with_the_rule_explained(db, make, volunteer, vol, pin):
    pin = vol.volunteer_no if pin == "own number" else pin
    page = volunteer.get("/account/pin").get_data(as_text=True)
    assert "不可全是同一個數字（1111）、連續數字（1234 或 4321）或您的志工編號。" in page  # said before
    before = fresh(db, vol.id).pin_hash
    refused = change(volunteer, make.PASSWORD, pin)
    assert refused.status_code == 400 and EASY in refused.get_data(as_text=True)
    english = change(volunteer, make.PASSWORD, pin, headers=EN).get_data(as_text=True)
    assert "This PIN is too easy to guess." in english and "your volunteer number" in english
    assert fresh(db, vol.id).pin_hash == before and audit_of(db, "pin_change") == []


def test_the_domain_refuses_easy_pins_whatever_the_form(vol):
    for pin in ("5555", "3456", "6543", "012345"):
        with pytest.raises(account_links.AccountSetupError, match="too easy"):
            account_links.validate_pin(pin)
    with pytest.raises(account_links.AccountSetupError, match="too easy"):
        account_links.validate_pin(vol.volunteer_no, vol.volunteer_no)
    assert account_links.validate_pin(vol.volunteer_no) == vol.volunteer_no  # anyone else's: fine
    for pin in ("1357", "2580", "123457", "0012", "9990"):  # only those: the rest are fine
        assert account_links.validate_pin(pin, vol.volunteer_no) == pin


# --- a lock-out: the keypad only, and staff lift it -------------------------------------------------

def lock(tablet, person: Volunteer):
    for _ in range(kiosks.PIN_MAX_FAILURES):
        keypad(tablet, person, "0000")
    assert keypad(tablet, person, OLD_PIN).status_code == 423


def test_a_lock_out_stops_the_keypad_only_and_says_what_still_works(db, make, unit, volunteer, vol, tablet):
    """Anyone at the kiosk can lock a number with wrong PINs: the volunteer's QR card and phone
    still check them in, and the kiosk says so."""
    make.cover(vol)
    item = make.item(unit, name_zh="長者陪伴關懷")
    lock(tablet, vol)
    message = keypad(tablet, vol, OLD_PIN).get_data(as_text=True)
    assert "Scan your QR card or use your phone instead, or ask the staff to unlock it." in message
    card = tablet.post("/kiosk/identify", {"method": "card", "card": vol.card_token}, hx=True)
    assert card.status_code == 200 and vol.name_zh in card.get_data(as_text=True)
    page = volunteer.get(f"/s/{tablet.site.token}").get_data(as_text=True)
    key = re.search(r'name="key" value="([0-9a-f]+)"', page).group(1)
    phone = volunteer.post(f"/s/{tablet.site.token}", {"action": "check_in", "item_id": item.id, "key": key})
    assert phone.status_code == 200 and "已簽到" in phone.get_data(as_text=True)
    assert keypad(tablet, vol, OLD_PIN).status_code == 423  # the keypad still waits


def refusals_card(page: str) -> str:
    start = page.index('id="refusals"')
    return page[start:page.index("</section>", start)]


def unlock_url(person: Volunteer) -> str:
    return f"/dashboard/volunteers/{person.id}/pin-unlock"


def test_a_supervisor_unlocks_a_number_locked_at_their_site(db, supervisor, vol, tablet):
    db.add(SupervisorSite(user_id=supervisor.user.id, site_id=tablet.site.id))
    db.commit()
    lock(tablet, vol)
    card = refusals_card(supervisor.get("/dashboard/").get_data(as_text=True))
    assert vol.name_zh in card and "PIN 碼輸錯過多，編號已鎖定" in card and "大安長照服務中心" in card
    assert f'hx-post="{unlock_url(vol)}"' in card and "解除鎖定</button>" in card

    done = supervisor.post(unlock_url(vol), hx=True)
    assert done.status_code == 200
    card = done.get_data(as_text=True)
    assert f"已解除鎖定：{vol.name_zh}（{vol.volunteer_no}）" in card and "解除鎖定</button>" not in card
    assert vol.name_zh in card  # the line stays: they were turned away
    assert keypad(tablet, vol, OLD_PIN).status_code == 200  # the same PIN opens the keypad again
    [entry] = audit_of(db, "pin_unlock")
    assert entry.entity == "volunteer" and entry.entity_id == vol.id
    assert entry.actor_user_id == supervisor.user.id and entry.after_data() == {"locked_until": None}

    again = supervisor.post(unlock_url(vol), hx=True, headers=EN)
    assert again.status_code == 409 and f"The number {vol.volunteer_no} is not locked." in again.get_data(as_text=True)
    assert len(audit_of(db, "pin_unlock")) == 1


def test_unlocking_is_for_staff_of_the_site_where_the_number_was_locked(app, db, make, unit, admin,
                                                                       supervisor, volunteer, vol, tablet):
    other = make.site(unit, name_zh="萬華社區關懷據點")
    db.add(SupervisorSite(user_id=supervisor.user.id, site_id=other.id))
    db.commit()
    lock(tablet, vol)
    assert "解除鎖定</button>" not in refusals_card(supervisor.get("/dashboard/").get_data(as_text=True))
    assert supervisor.post(unlock_url(vol), hx=True).status_code == 403
    assert volunteer.post(unlock_url(vol), hx=True).status_code == 403
    stranger = HttpUser(app.test_client())
    stranger.sign_in(make.user(make.unit(), role="admin").email, make.PASSWORD)
    assert stranger.post(unlock_url(vol), hx=True).status_code == 404
    assert admin.client.post(unlock_url(vol)).status_code == 400  # no CSRF token
    assert keypad(tablet, vol, OLD_PIN).status_code == 423 and audit_of(db, "pin_unlock") == []
    # the unit's admin sees every site: unlocks from the dashboard, without htmx too
    done = admin.post(unlock_url(vol))
    assert done.status_code == 302 and done.headers["Location"] == "/dashboard/"
    assert keypad(tablet, vol, OLD_PIN).status_code == 200


def test_may_unlock_is_the_rule_of_who_lifts_a_lock_out(db, make, unit, volunteer, vol):
    """models.kiosk.may_unlock, without a request: an admin any of the unit's volunteers; a
    supervisor a volunteer turned away for a locked number today at one of their sites."""
    from models import checkin
    from models.service import SessionSource

    here, there = make.site(unit, name_zh="大安長照服務中心"), make.site(unit, name_zh="萬華社區關懷據點")
    admin, mine, theirs = (make.user(unit, role="admin"), make.user(unit, role="supervisor"),
                           make.user(unit, role="supervisor"))
    db.add_all([SupervisorSite(user_id=mine.id, site_id=here.id),
                SupervisorSite(user_id=theirs.id, site_id=there.id)])
    other = make.volunteer(unit)
    db.commit()
    now = utcnow()
    assert kiosks.may_unlock(db, admin, vol, now)
    assert not kiosks.may_unlock(db, mine, vol, now)  # not turned away today
    for person, code in ((vol, "no_insurance"), (other, "pin_locked")):  # another reason, another person
        checkin.record_refusal(db, volunteer=person, site=here, action=checkin.Action.check_in,
                               source=SessionSource.kiosk_keypad, code=code, now=now)
    db.flush()
    assert not kiosks.may_unlock(db, mine, vol, now)
    checkin.record_refusal(db, volunteer=vol, site=here, action=checkin.Action.check_in,
                           source=SessionSource.kiosk_keypad, code="pin_locked", now=now)
    db.flush()
    assert kiosks.may_unlock(db, mine, vol, now) and kiosks.may_unlock(db, admin, vol, now)
    assert not kiosks.may_unlock(db, theirs, vol, now)  # locked at a site not theirs
    assert not kiosks.may_unlock(db, mine, vol, now + dt.timedelta(days=1))  # today's log only
    assert not kiosks.may_unlock(db, volunteer.user, vol, now)
    assert not kiosks.may_unlock(db, make.user(make.unit(), role="admin"), vol, now)  # another unit


def test_an_admin_unlocks_from_the_volunteers_page_keeping_the_pin(db, admin, vol, tablet):
    lock(tablet, vol)
    page = admin.get(status_url(vol)).get_data(as_text=True)
    assert "PIN 碼輸錯過多，鎖定到" in page and "解除鎖定</button>" in page
    done = admin.post(f"/evaluation/volunteers/{vol.id}/pin-unlock")
    assert done.status_code == 302 and done.headers["Location"] == status_url(vol)
    page = admin.get(status_url(vol)).get_data(as_text=True)
    assert f"已解除鎖定：{vol.name_zh}" in page and "PIN 碼輸錯過多，鎖定到" not in page
    assert "已設定 PIN 碼" in page and "解除鎖定</button>" not in page
    assert keypad(tablet, vol, OLD_PIN).status_code == 200
    assert [e.actor_user_id for e in audit_of(db, "pin_unlock")] == [admin.user.id]


def test_a_refused_pin_on_the_welcome_page_puts_the_cursor_on_the_pin(app, db, vol):
    """The PIN rule is under the field before anyone sends the form; a refused PIN comes back
    with the message on the PIN field, which has the focus, and a notice that the passwords
    (never sent back into the page) need typing again."""
    token = account_links.create_set_password_link(db, vol.user, None, utcnow())
    db.commit()
    person = HttpUser(app.test_client())
    page = person.get(f"/welcome/{token}").get_data(as_text=True)
    assert 'id="pin-hint"' in page and "1234" in page and "autofocus" not in page
    assert 'id="welcome-not-saved"' not in page
    person.refresh_token(f"/welcome/{token}")
    refused = person.post(f"/welcome/{token}", {"password": "a brand new pass",
                                                "confirm": "a brand new pass", "pin": "1234",
                                                "pin_confirm": "1234"})
    assert refused.status_code == 400
    page = refused.get_data(as_text=True)
    pin_input = re.search(r'<input[^>]*id="pin"[^>]*>', page).group(0)
    assert "autofocus" in pin_input and 'aria-invalid="true"' in pin_input
    assert "pin-error" in pin_input
    assert len(re.findall(r"<input[^>]*autofocus", page)) == 1
    assert 'id="welcome-not-saved"' in page and "再輸入一次密碼" in page
    assert "a brand new pass" not in page  # passwords are not written back into the page
    assert fresh(db, vol.id).check_pin("1234") is False
