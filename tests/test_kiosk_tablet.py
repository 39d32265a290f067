"""The tablet kiosk over HTTP (Flask's test client): enrolment, the device cookie, identifying
by card and keypad, the one big button, refusals, the offline sync, the rotating QR, a long day."""
from __future__ import annotations

import datetime as dt
import re
from http.cookies import SimpleCookie

import pytest
from sqlalchemy import func, select

from models import kiosk as kiosks
from models.audit import AuditEntry
from models.base import taipei_date, utcnow
from models.checkin import CheckinEvent, Outcome
from models.kiosk import KioskDevice, check_presence_token, identity_ticket
from models.people import VolunteerStatus
from models.service import ServiceSession, SessionSource, SessionStatus
from tests.conftest import HttpUser

PIN = "2468"
EN = {"Accept-Language": "en"}
HIDDEN = re.compile(r'<input type="hidden" name="(\w+)" value="([^"]*)">')


# --- helpers ------------------------------------------------------------------------------

class Kiosk(HttpUser):
    """A tablet: its device cookie, its own (permanent) session and CSRF token."""

    def open(self, **kw):
        response = self.get("/kiosk", **kw)
        return response

    def identify_keypad(self, volunteer, pin=PIN, **kw):
        return self.post("/kiosk/identify", {"method": "keypad", "number": volunteer.volunteer_no,
                                             "pin": pin}, hx=True, **kw)

    def identify_card(self, token, **kw):
        return self.post("/kiosk/identify", {"method": "card", "card": token}, hx=True, **kw)

    def press(self, person_screen, headers=None, **changes):
        """Press the one big button of a person screen (its hidden fields, plus changes)."""
        fields = dict(HIDDEN.findall(person_screen.get_data(as_text=True)))
        fields.pop("csrf_token", None)
        item = re.search(r'<option value="(\d+)" selected', person_screen.get_data(as_text=True))
        if item and fields.get("action") == "check_in":
            fields["item"] = item.group(1)
        fields.update(changes)
        return self.post("/kiosk/act", fields, hx=True, headers=headers or {})

    def sync(self, **event):
        return self.post("/kiosk/sync", event, hx=True)


def enrol(app, code) -> Kiosk:
    tablet = Kiosk(app.test_client())
    tablet.refresh_token(f"/kiosk/enrol/{code}")
    response = tablet.post(f"/kiosk/enrol/{code}")
    assert response.status_code == 302 and response.headers["Location"] == "/kiosk"
    tablet.refresh_token("/kiosk")
    return tablet


def set_cookies(response) -> dict[str, SimpleCookie]:
    found = {}
    for header in response.headers.getlist("Set-Cookie"):
        cookie = SimpleCookie()
        cookie.load(header)
        for name, morsel in cookie.items():
            found[name] = morsel
    return found


@pytest.fixture
def world(db, make, unit):
    """A site with two service items, an admin, an insured volunteer with a PIN."""
    site = make.site(unit, name_zh="大安服務台", name_en="Da'an front desk")
    items = [make.item(unit, code="A01", name_zh="櫃台服務"), make.item(unit, code="A02", name_zh="導覽服務")]
    admin = make.user(unit, role="admin")
    vol = make.volunteer(unit, name_zh="林美玲", insured=True)
    vol.set_pin(PIN)
    db.commit()
    return {"site": site, "items": items, "admin": admin, "vol": vol}


@pytest.fixture
def device_and_code(db, world):
    device, code = kiosks.create_device(db, site=world["site"], name="服務台平板", actor=world["admin"],
                                        now=utcnow())
    db.commit()
    return device, code


@pytest.fixture
def tablet(app, device_and_code) -> Kiosk:
    return enrol(app, device_and_code[1])


@pytest.fixture
def clock(monkeypatch):
    """Move the kiosk's clock: clock.shift(hours=13)."""
    import kiosk.tablet

    class Clock:
        offset = dt.timedelta(0)

        def shift(self, **delta):
            self.offset += dt.timedelta(**delta)

        def now(self):
            return utcnow() + self.offset

    c = Clock()
    monkeypatch.setattr(kiosk.tablet, "clock", c.now)
    return c


def sessions(db):
    db.rollback()  # a new transaction: see what the app's requests committed
    return db.scalars(select(ServiceSession).order_by(ServiceSession.id)).all()


# --- enrolment ------------------------------------------------------------------------------

def test_admin_creates_a_kiosk_and_the_link_works_once(app, db, make, unit, world):
    admin = HttpUser(app.test_client())
    assert admin.sign_in(world["admin"].email, make.PASSWORD, remember=True).status_code == 302
    page = admin.post("/admin/kiosks", {"site": world["site"].id, "name": "服務台平板"})
    assert page.status_code == 201
    html = page.get_data(as_text=True)
    link = re.search(r'<code id="enrol-link">([^<]+)</code>', html).group(1)
    assert link.startswith("http://localhost/kiosk/enrol/")
    assert 'src="data:image/svg+xml;base64,' in html  # the link's QR, drawn in the page
    assert page.headers["Cache-Control"] == "no-store"
    code = link.rsplit("/", 1)[1]

    # The admin opens the link on the tablet they are signed in on: the staff session must go.
    confirm = admin.get(f"/kiosk/enrol/{code}")
    assert confirm.status_code == 200 and "大安服務台" in confirm.get_data(as_text=True)
    admin.refresh_token(f"/kiosk/enrol/{code}")
    done = admin.post(f"/kiosk/enrol/{code}")
    assert done.status_code == 302 and done.headers["Location"] == "/kiosk"
    cookies = set_cookies(done)
    device_cookie = cookies["hourbook_kiosk"]
    assert device_cookie["httponly"] and device_cookie["path"] == "/kiosk"
    assert int(device_cookie["max-age"]) >= 365 * 24 * 3600
    assert cookies["remember_token"].value == ""  # "remember me" is forgotten too
    assert admin.get("/").status_code == 302  # signed out: back to the sign-in page
    assert admin.get("/admin/kiosks").status_code == 302
    screen = admin.get("/kiosk")
    assert screen.status_code == 200 and 'id="k-keypad-form"' in screen.get_data(as_text=True)

    # The code is spent: nobody else can use it.
    other = Kiosk(app.test_client())
    assert other.get(f"/kiosk/enrol/{code}").status_code == 404
    other.refresh_token(f"/kiosk/enrol/{code}")
    again = other.post(f"/kiosk/enrol/{code}")
    assert again.status_code == 404 and "hourbook_kiosk" not in set_cookies(again)
    actions = db.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert "kiosk_create" in actions and "kiosk_enrol" in actions


def test_a_kiosk_name_is_used_once_at_a_site(app, db, make, world):
    """The add-kiosk form sent twice makes one kiosk waiting for its tablet, not two of one
    name; a revoked kiosk's name may be used again."""
    admin = HttpUser(app.test_client())
    assert admin.sign_in(world["admin"].email, make.PASSWORD).status_code == 302
    body = {"site": world["site"].id, "name": "服務台平板"}
    assert admin.post("/admin/kiosks", body).status_code == 201
    again = admin.post("/admin/kiosks", body)
    assert again.status_code == 400
    assert "這個服務地點已有名為「服務台平板」的簽到站" in again.get_data(as_text=True)
    [device] = db.scalars(select(KioskDevice)).all()
    device.revoked_at = utcnow()
    db.commit()
    assert admin.post("/admin/kiosks", body).status_code == 201
    assert len(db.scalars(select(KioskDevice)).all()) == 2


def test_expired_enrolment_code_is_refused(app, db, world):
    device, code = kiosks.create_device(db, site=world["site"], name="舊平板", actor=world["admin"],
                                        now=utcnow() - dt.timedelta(minutes=31))
    db.commit()
    tablet = Kiosk(app.test_client())
    page = tablet.get(f"/kiosk/enrol/{code}", headers=EN)
    assert page.status_code == 404 and "does not work" in page.get_data(as_text=True)
    tablet.refresh_token(f"/kiosk/enrol/{code}")
    assert tablet.post(f"/kiosk/enrol/{code}").status_code == 404
    db.rollback()
    assert db.get(KioskDevice, device.id).state == "waiting"


def test_enrolment_makes_the_kiosk_session_permanent(app, device_and_code):
    tablet = Kiosk(app.test_client())
    tablet.refresh_token(f"/kiosk/enrol/{device_and_code[1]}")
    response = tablet.post(f"/kiosk/enrol/{device_and_code[1]}")
    session_cookie = set_cookies(response)["session"]
    expires = dt.datetime.strptime(session_cookie["expires"], "%a, %d %b %Y %H:%M:%S GMT")
    assert expires - dt.datetime.utcnow() > dt.timedelta(days=30)


def _session_contents(app, morsel) -> dict:
    return app.session_interface.get_signing_serializer(app).loads(morsel.value)


@pytest.mark.parametrize("remember", [False, True])
def test_a_sign_in_on_the_kiosk_tablet_ends_at_the_kiosk_and_is_never_made_permanent(
        app, db, make, world, tablet, remember):
    """Someone types /dashboard/ on the tablet and signs in (with or without "keep me signed
    in"), then goes back to /kiosk: the kiosk signs them out, and its own long-lived session
    never carries their sign-in (31 days, invisibly, on a shared tablet)."""
    signed_in = tablet.sign_in(world["admin"].email, make.PASSWORD, remember=remember)
    assert signed_in.status_code == 302
    assert tablet.get("/dashboard/").status_code == 200
    page = tablet.get("/kiosk")
    assert page.status_code == 200 and "k-keypad" in page.get_data(as_text=True)
    cookies = set_cookies(page)
    kept = cookies["session"]
    assert "_user_id" not in _session_contents(app, kept)  # the permanent session is the kiosk's only
    assert kept["expires"]  # which stays long-lived, for its CSRF token
    if remember:  # "keep me signed in" is forgotten too
        assert cookies["remember_token"].value == "" and cookies["remember_token"]["expires"]
    gone = tablet.get("/dashboard/")
    assert gone.status_code == 302 and gone.headers["Location"].startswith("/sign-in")
    # The kiosk still works with the token of the page it showed.
    tablet.refresh_token("/kiosk")
    assert tablet.identify_keypad(world["vol"]).status_code == 200


def test_a_kiosk_poll_signs_out_someone_signed_in_in_another_tab(app, db, make, world, tablet):
    tablet.sign_in(world["admin"].email, make.PASSWORD)
    poll = tablet.get("/kiosk/presence", headers={"HX-Request": "true"})
    assert poll.status_code == 200
    assert "_user_id" not in _session_contents(app, set_cookies(poll)["session"])
    assert tablet.get("/dashboard/").status_code == 302


# --- the device cookie guards every kiosk route ----------------------------------------------

def device_routes(app):
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        if getattr(view, "hourbook_access", None) == "device":
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                yield rule.endpoint, method, rule.rule


def test_the_device_routes_are_the_kiosk_ones(app):
    assert {endpoint for endpoint, _m, _u in device_routes(app)} == {
        "kiosk.tablet", "kiosk.tablet_presence", "kiosk.tablet_ping", "kiosk.tablet_language",
        "kiosk.tablet_identify", "kiosk.tablet_act", "kiosk.tablet_sync"}


@pytest.mark.parametrize("who", ["anonymous", "forged", "revoked", "reenrolled", "staff"])
def test_every_kiosk_route_refuses_without_a_valid_device_cookie(app, db, make, unit, world,
                                                                    device_and_code, who):
    device, code = device_and_code
    person = Kiosk(app.test_client())
    if who == "staff":
        person.sign_in(world["admin"].email, make.PASSWORD)
    elif who == "forged":
        person.client.set_cookie("hourbook_kiosk", f"{device.id}.not-the-secret", path="/kiosk")
    elif who in ("revoked", "reenrolled"):
        person = enrol(app, code)
        if who == "revoked":
            kiosks.revoke(db, db.get(KioskDevice, device.id), world["admin"], utcnow())
        else:
            kiosks.new_enrol_code(db, db.get(KioskDevice, device.id), world["admin"], utcnow())
        db.commit()
    person.refresh_token("/" if who == "staff" else "/sign-in")
    expected = 403 if who == "revoked" else 401
    for endpoint, method, url in device_routes(app):
        if method == "GET":
            response = person.get(url, headers=EN)
        else:
            response = person.client.open(url, method=method, headers={"X-CSRFToken": person.token, **EN},
                                          data={"method": "card", "card": world["vol"].card_token})
        body = response.get_data(as_text=True)
        assert response.status_code == expected, (endpoint, method, response.status_code)
        assert "k-keypad" not in body and world["vol"].name_zh not in body, endpoint
        assert response.headers["Cache-Control"] == "no-store"
    page = person.get("/kiosk", headers=EN).get_data(as_text=True)
    if who == "revoked":
        assert "This kiosk has been revoked" in page and "ask the unit admin" in page
    else:
        assert "not an enrolled kiosk" in page
    htmx = person.get("/kiosk/presence", headers={"HX-Request": "true"})
    assert htmx.headers["HX-Redirect"] == "/kiosk"  # the polling screen reloads into the refusal
    assert db.scalar(select(func.count(ServiceSession.id))) == 0


# --- identifying ------------------------------------------------------------------------------

def test_identify_by_card_shows_name_state_item_and_one_button(db, world, tablet):
    vol = world["vol"]
    screen = tablet.identify_card(vol.card_token, headers=EN)
    html = screen.get_data(as_text=True)
    assert screen.status_code == 200 and screen.headers["X-Kiosk-Fragment"] == "1"
    assert "林美玲" in html and "Not checked in" in html
    assert 'name="via" value="card"' in html and 'name="action" value="check_in"' in html
    assert html.count('type="submit"') == 1 and "Check in" in html
    assert f'<option value="{world["items"][0].id}" selected' in html  # default_item: the first
    assert vol.pin_hash not in html and vol.card_token not in html


def test_identify_by_keypad(world, tablet):
    screen = tablet.identify_keypad(world["vol"])
    assert screen.status_code == 200 and "林美玲" in screen.get_data(as_text=True)
    assert 'name="via" value="keypad"' in screen.get_data(as_text=True)


def test_unknown_card_and_other_units_card_are_not_recognised(make, world, tablet):
    stranger = make.volunteer(make.unit(), insured=True)
    for token in ("nonsense", stranger.card_token, ""):
        screen = tablet.identify_card(token, headers=EN)
        assert screen.status_code == 422 and "not recognised" in screen.get_data(as_text=True)
        assert stranger.name_zh not in screen.get_data(as_text=True)


def test_identifying_is_rate_limited_per_kiosk(world, tablet):
    answers = [tablet.identify_card("guess").status_code for _ in range(61)]
    assert answers[:60] == [422] * 60 and answers[60] == 429


def test_wrong_pins_lock_the_number_with_a_clear_message(db, world, tablet, clock):
    vol = world["vol"]
    for n in range(1, kiosks.PIN_MAX_FAILURES):  # each wrong PIN says how many more lock the number
        wrong = tablet.identify_keypad(vol, pin="0000", headers=EN)
        left = kiosks.PIN_MAX_FAILURES - n
        assert wrong.status_code == 422
        assert (f"Wrong PIN: {left} more tries left. {left} more wrong PINs lock number {vol.volunteer_no} "
                f"for 15 minutes." if left > 1 else f"Wrong PIN: 1 more try left. One more wrong PIN locks "
                f"number {vol.volunteer_no} for 15 minutes.") in wrong.get_data(as_text=True)
    locking = tablet.identify_keypad(vol, pin="0000", headers=EN)
    assert locking.status_code == 423
    text = locking.get_data(as_text=True)
    assert "Too many wrong PINs" in text and vol.volunteer_no in text
    right = tablet.identify_keypad(vol, headers=EN)  # even the right PIN waits now
    assert right.status_code == 423 and "林美玲" not in right.get_data(as_text=True)
    assert db.scalar(select(AuditEntry.action).where(AuditEntry.action == "pin_locked")) == "pin_locked"
    clock.shift(minutes=16)
    assert tablet.identify_keypad(vol).status_code == 200


def test_a_wrong_pin_counts_down_in_chinese_and_a_right_one_starts_again(db, world, tablet):
    vol = world["vol"]
    first = tablet.identify_keypad(vol, pin="0000").get_data(as_text=True)
    assert f"PIN 碼錯誤，還可再試 4 次；再錯 4 次，編號 {vol.volunteer_no} 會鎖定 15 分鐘。" in first
    assert "還可再試 3 次" in tablet.identify_keypad(vol, pin="0000").get_data(as_text=True)
    assert tablet.identify_keypad(vol).status_code == 200  # the right PIN: the count starts again
    assert "還可再試 4 次" in tablet.identify_keypad(vol, pin="0000").get_data(as_text=True)
    # a number nobody has says nothing of tries
    nobody = tablet.post("/kiosk/identify", {"method": "keypad", "number": "9999", "pin": "0000"}, hx=True)
    assert nobody.status_code == 422 and "志工編號或 PIN 碼不正確" in nobody.get_data(as_text=True)


def test_forged_expired_and_foreign_tickets_are_refused(app, db, world, device_and_code, tablet, clock):
    device = db.get(KioskDevice, device_and_code[0].id)
    screen = tablet.identify_keypad(world["vol"])
    other, other_code = kiosks.create_device(db, site=world["site"], name="另一台", actor=world["admin"],
                                             now=utcnow())
    db.commit()
    enrol(app, other_code)
    foreign = identity_ticket(other, world["vol"], app.secret_key, utcnow())
    wrong_key = identity_ticket(device, world["vol"], "not-the-app-key", utcnow())
    for ticket in ("forged", foreign, wrong_key, ""):
        refused = tablet.press(screen, ticket=ticket)
        assert refused.status_code == 410, ticket
    clock.shift(seconds=kiosks.TICKET_VALID_SECONDS + 1)
    expired = tablet.press(screen)
    assert expired.status_code == 410
    assert sessions(db) == []


# --- the one big button -------------------------------------------------------------------------

def test_check_in_then_out_through_the_kiosk(db, world, device_and_code, tablet):
    vol, site = world["vol"], world["site"]
    screen = tablet.identify_keypad(vol)
    done = tablet.press(screen, item=str(world["items"][1].id))
    assert done.status_code == 200 and "已簽到" in done.get_data(as_text=True)
    again = tablet.press(screen, item=str(world["items"][1].id))  # a double tap: same key
    assert again.status_code == 200
    [s] = sessions(db)
    assert s.site_id == site.id and s.service_item_id == world["items"][1].id
    assert s.source == SessionSource.kiosk_keypad and s.status == SessionStatus.open
    assert abs((s.checked_in_at - utcnow()).total_seconds()) < 30
    event = db.scalar(select(CheckinEvent).where(CheckinEvent.outcome == Outcome.ok))
    assert event.device_id == device_and_code[0].id

    screen = tablet.identify_card(vol.card_token, headers=EN)
    html = screen.get_data(as_text=True)
    assert "Checked in here since" in html and 'name="action" value="check_out"' in html
    assert "Check out" in html and "<select" not in html
    out = tablet.press(screen)
    assert out.status_code == 200 and "已簽退" in out.get_data(as_text=True)
    [s] = sessions(db)
    assert s.status == SessionStatus.closed and s.checkout_source == SessionSource.kiosk_card
    actions = db.scalars(select(AuditEntry.action).where(AuditEntry.entity == "service_session")
                         .order_by(AuditEntry.id)).all()
    assert actions == ["check_in", "check_out"]
    # The next identification offers check-in again, with the item last used here.
    screen = tablet.identify_keypad(vol)
    assert f'<option value="{world["items"][1].id}" selected' in screen.get_data(as_text=True)


@pytest.mark.parametrize("problem, message", [
    ("no_insurance", "No valid accident insurance today"),
    ("inactive", "Your volunteer status is inactive"),
])
def test_refusals_are_shown_in_big_clear_text(db, make, unit, world, tablet, problem, message):
    vol = make.volunteer(unit, name_zh="陳志強", insured=problem != "no_insurance")
    vol.set_pin(PIN)
    if problem == "inactive":
        vol.status = VolunteerStatus.inactive
    db.commit()
    screen = tablet.identify_keypad(vol)
    refused = tablet.press(screen, headers=EN)
    html = refused.get_data(as_text=True)
    assert refused.status_code == 409
    assert "k-message-text" in html and message in html and "is-refused" in html
    zh = tablet.press(tablet.identify_keypad(vol))
    assert ("沒有有效的意外保險" if problem == "no_insurance" else "志工身分已停用") in zh.get_data(as_text=True)
    assert sessions(db) == []
    codes = db.scalars(select(CheckinEvent.refusal_code)).all()
    assert codes and set(codes) == {problem}


def test_messages_to_read_stay_20_seconds_and_a_done_6(db, make, unit, world, tablet):
    """A wrong PIN, a lock-out or a refusal asks the volunteer to read something: 20 s on the
    screen (it was 6 and 12); "checked in 09:02" goes back to the idle screen after 6."""
    from kiosk.tablet import READ_MESSAGE_SECONDS, RETURN_TO_IDLE_SECONDS
    assert READ_MESSAGE_SECONDS >= 20
    read = f'data-return-after="{READ_MESSAGE_SECONDS}"'
    vol = world["vol"]
    for _ in range(kiosks.PIN_MAX_FAILURES):  # wrong PINs, then the lock-out
        message = tablet.identify_keypad(vol, pin="0000").get_data(as_text=True)
        assert "k-message" in message and read in message
    refused_vol = make.volunteer(unit, name_zh="陳志強", insured=False)
    refused_vol.set_pin(PIN)
    db.commit()
    refused = tablet.press(tablet.identify_keypad(refused_vol)).get_data(as_text=True)
    assert "is-refused" in refused and read in refused
    page = tablet.get("/kiosk").get_data(as_text=True)
    assert f'data-read-after="{READ_MESSAGE_SECONDS}"' in page  # offline: saved, error
    assert re.search(r'k-result is-saved" data-return-after="%d"' % READ_MESSAGE_SECONDS, page)
    other = make.volunteer(unit, name_zh="王大明", insured=True)
    other.set_pin(PIN)
    db.commit()
    done = tablet.press(tablet.identify_keypad(other)).get_data(as_text=True)
    assert "is-ok" in done and f'data-return-after="{RETURN_TO_IDLE_SECONDS}"' in done


def test_the_kiosk_page_has_one_h1_and_no_role_on_its_footer(world, tablet):
    page = tablet.get("/kiosk").get_data(as_text=True)
    assert re.findall(r"<h1[^>]*>([^<]*)</h1>", page) == [world["site"].name_zh]
    assert '<footer class="k-status">' in page and '<div class="k-status-live" role="status">' in page


def test_the_kiosk_says_every_reason_at_once(db, make, unit, world, tablet):
    """Keypad, no insurance and no training: one answer lists them all (as the phone does),
    under a heading that says it was the check-in; the refusal log keeps the first."""
    vol = make.volunteer(unit, name_zh="陳志強", trained=False)
    vol.set_pin(PIN)
    db.commit()
    refused = tablet.press(tablet.identify_keypad(vol))
    html = refused.get_data(as_text=True)
    assert refused.status_code == 409 and "is-refused" in html
    assert "簽到未成功" in html and "沒有登記成功" not in html
    reasons = re.findall(r"<li>([^<]+)</li>", html)
    assert len(reasons) == 3
    assert reasons[0] == "沒有有效的意外保險，請洽承辦人。"
    assert reasons[1].startswith("尚未完成基礎訓練：") and reasons[1].endswith("。請洽承辦人。")
    assert reasons[2].startswith("「社會福利類」特殊訓練尚未完成：")
    english = tablet.press(tablet.identify_keypad(vol), headers=EN).get_data(as_text=True)
    assert "Check-in not recorded" in english
    assert len(re.findall(r"<li>", english)) == 3
    assert "Special training for the Social welfare category" in english
    assert sessions(db) == []
    assert set(db.scalars(select(CheckinEvent.refusal_code)).all()) == {"no_insurance"}


def test_checked_in_elsewhere_checks_out_there_then_in_here(db, make, unit, world, tablet):
    """Still checked in at another site: the person screen offers to check out there (not a
    check-in button that can only be refused), then the check-in here, on the same screen."""
    from models.checkin import check_in

    other_site = make.site(unit, name_zh="萬華據點", name_en="Wanhua point")
    check_in(db, volunteer=world["vol"], site=other_site, item=world["items"][0], now=utcnow(),
             source=SessionSource.poster)
    db.commit()
    screen = tablet.identify_keypad(world["vol"])
    html = screen.get_data(as_text=True)
    assert "起在萬華據點簽到中" in html and "先在萬華據點簽退" in html
    assert 'name="action" value="check_out"' in html and "<select" not in html
    after = tablet.press(screen)
    html = after.get_data(as_text=True)
    assert after.status_code == 200 and 'class="k-card k-person"' in html
    assert "已在萬華據點簽退" in html and 'name="action" value="check_in"' in html
    [closed] = sessions(db)
    assert closed.site_id == other_site.id and closed.checked_out_at is not None
    done = tablet.press(after)
    assert done.status_code == 200 and "已簽到" in done.get_data(as_text=True)
    closed, opened = sessions(db)
    assert opened.site_id == world["site"].id and opened.checked_out_at is None


def test_check_in_elsewhere_is_refused_with_where_in_the_readers_language(db, make, unit, world, tablet):
    """A check-in posted anyway (an old screen) is still refused, naming the other site in the
    reader's language; the refusal log keeps its code."""
    from models.checkin import check_in

    other_site = make.site(unit, name_zh="萬華據點", name_en="Wanhua point")
    check_in(db, volunteer=world["vol"], site=other_site, item=world["items"][0], now=utcnow(),
             source=SessionSource.poster)
    db.commit()
    screen = tablet.identify_keypad(world["vol"], headers=EN)
    assert "Checked in at Wanhua point since" in screen.get_data(as_text=True)
    assert "Check out at Wanhua point first" in screen.get_data(as_text=True)
    refused = tablet.press(screen, headers=EN, action="check_in", item=str(world["items"][0].id))
    text = refused.get_data(as_text=True)
    assert refused.status_code == 409
    assert "You are still checked in at Wanhua point. Check out there first." in text and "萬華據點" not in text
    zh = tablet.press(screen, action="check_in", item=str(world["items"][0].id))
    assert zh.status_code == 409 and "您還在萬華據點簽到中" in zh.get_data(as_text=True)
    db.rollback()
    assert db.scalars(select(CheckinEvent.refusal_code).where(CheckinEvent.refusal_code.is_not(None))).all() == \
        ["open_elsewhere", "open_elsewhere"]


# --- offline events -----------------------------------------------------------------------------

def iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.timezone.utc).isoformat().replace("+00:00", "Z")


def offline_event(vol, key, action="check_in", device_time=None, sent_at=None, card=True):
    now = utcnow()
    event = {"key": key, "action": action,
             "device_time": iso(device_time or now - dt.timedelta(minutes=10)),
             "device_sent_at": iso(sent_at or now)}
    if card:
        event.update(method="card", card=vol.card_token)
    else:
        event.update(method="keypad", number=vol.volunteer_no, pin=PIN)
    return event


def test_offline_event_posted_twice_creates_one_session(db, world, tablet):
    vol = world["vol"]
    event = offline_event(vol, "8f14e45f-ceea-467f-a0e6-1d7c3f4b9c11", card=False)
    first = tablet.sync(**event)
    assert first.status_code == 200 and first.json["answered"] and first.json["outcome"] == "ok"
    second = tablet.sync(**{**event, "device_sent_at": iso(utcnow())})
    assert second.json == {"answered": True, "outcome": "repeated", "refusal": None}
    [s] = sessions(db)
    assert s.source == SessionSource.offline and "offline" in s.flag_set
    assert db.scalar(select(func.count(CheckinEvent.id))) == 1


def test_an_offline_event_under_another_kiosks_key_is_still_judged(app, db, make, unit, world, tablet):
    """The key matched any device's event: a second kiosk's offline check-in was answered
    "repeated" with the first kiosk's outcome and never recorded."""
    vol = world["vol"]
    key = "3c59dc04-8b35-4e3b-b5f1-6f2d0c1a7e21"
    assert tablet.sync(**offline_event(vol, key)).json["outcome"] == "ok"
    out = tablet.sync(**offline_event(vol, "k-out", action="check_out",
                                      device_time=utcnow() - dt.timedelta(minutes=2)))
    assert out.json["outcome"] == "ok"
    other_vol = make.volunteer(unit, name_zh="陳大同", insured=True)
    device, code = kiosks.create_device(db, site=world["site"], name="第二台", actor=world["admin"],
                                        now=utcnow())
    db.commit()
    second = enrol(app, code)
    answer = second.sync(**offline_event(other_vol, key, device_time=utcnow() - dt.timedelta(minutes=1)))
    assert answer.json["outcome"] == "ok"
    theirs = db.scalars(select(ServiceSession).where(ServiceSession.volunteer_id == other_vol.id)).all()
    assert len(theirs) == 1 and theirs[0].source == SessionSource.offline
    assert tablet.sync(**offline_event(vol, key)).json["outcome"] == "repeated"  # still the first kiosk's


def test_offline_device_time_within_tolerance_is_used(db, world, tablet):
    vol = world["vol"]
    now = utcnow()
    # The tablet's clock runs an hour slow: the server corrects the time by the measured skew.
    slow = dt.timedelta(hours=1)
    answer = tablet.sync(**offline_event(vol, "k-in", device_time=now - slow - dt.timedelta(minutes=40),
                                         sent_at=now - slow))
    assert answer.json["outcome"] == "ok" and answer.json["trusted"] is True
    [s] = sessions(db)
    assert abs((s.checked_in_at - (now - dt.timedelta(minutes=40))).total_seconds()) < 30
    out = tablet.sync(**offline_event(vol, "k-out", action="check_out",
                                      device_time=now - dt.timedelta(minutes=5), sent_at=now))
    assert out.json["outcome"] == "ok"
    [s] = sessions(db)
    assert s.status == SessionStatus.closed and s.checkout_source == SessionSource.offline
    assert 34 <= s.elapsed_minutes(now) <= 36 and "offline" in s.flag_set


def test_offline_device_time_outside_tolerance_uses_server_time(db, world, tablet):
    now = utcnow()
    answer = tablet.sync(**offline_event(world["vol"], "k-old", device_time=now - dt.timedelta(hours=30),
                                         sent_at=now))
    assert answer.json["outcome"] == "ok" and answer.json["trusted"] is False
    [s] = sessions(db)
    assert abs((s.checked_in_at - now).total_seconds()) < 30
    assert "offline" in s.flag_set
    untrusted = db.scalar(select(AuditEntry).where(AuditEntry.action == "offline_time_untrusted"))
    assert untrusted.after_data()["key"] == "k-old"


def test_offline_check_in_inside_a_session_recorded_since_is_refused(db, world, tablet):
    """The kiosk was offline while the volunteer checked in and out on their phone: its late
    event must not open a session over that one (the same minutes counted twice)."""
    from models.checkin import check_in, check_out

    vol, site, item = world["vol"], world["site"], world["items"][0]
    now = utcnow()
    check_in(db, volunteer=vol, site=site, item=item, now=now - dt.timedelta(minutes=50),
             source=SessionSource.poster)
    check_out(db, volunteer=vol, now=now - dt.timedelta(minutes=10), source=SessionSource.poster)
    db.commit()
    inside = tablet.sync(**offline_event(vol, "k-inside", device_time=now - dt.timedelta(minutes=60),
                                         sent_at=now))
    assert inside.json["outcome"] == "refused" and inside.json["refusal"] == "overlap"
    assert len(sessions(db)) == 1
    after = tablet.sync(**offline_event(vol, "k-after", device_time=now - dt.timedelta(minutes=5),
                                        sent_at=now))
    assert after.json["outcome"] == "ok"
    assert len(sessions(db)) == 2


def test_offline_refusals_and_bad_events_are_answered(db, make, unit, world, tablet):
    stranger = make.volunteer(make.unit(), insured=True)
    unknown = tablet.sync(**offline_event(stranger, "k-stranger"))
    assert unknown.json == {"answered": True, "outcome": "refused", "refusal": "unknown_volunteer",
                            "reason": "本站不認得的卡片或編號（離線時）"}
    wrong_pin = tablet.sync(**{**offline_event(world["vol"], "k-pin", card=False), "pin": "9999"})
    assert wrong_pin.json["outcome"] == "refused"
    uninsured = make.volunteer(unit)
    refused = tablet.sync(**offline_event(uninsured, "k-uninsured"))
    assert refused.json["outcome"] == "refused" and refused.json["refusal"] == "no_insurance"
    assert tablet.sync(**offline_event(uninsured, "k-uninsured")).json["outcome"] == "refused"
    bad = tablet.sync(**{**offline_event(world["vol"], "k-bad"), "device_time": "yesterday"})
    assert bad.status_code == 400 and bad.json["answered"] is True
    assert sessions(db) == []
    # Without the CSRF token the event is not answered: the kiosk keeps it and tries again.
    raw = tablet.client.post("/kiosk/sync", data=offline_event(world["vol"], "k-csrf"))
    assert raw.status_code == 400 and not raw.is_json


def test_a_wrong_pin_saved_offline_is_refused_where_staff_see_it(app, db, make, world, device_and_code, tablet):
    """Offline the kiosk cannot check a PIN. When the event arrives with a wrong one, no session,
    but a refused attempt under the number's volunteer (for the supervisor to check), once."""
    vol, site = world["vol"], world["site"]
    event = {**offline_event(vol, "k-wrong", action="check_out", card=False), "pin": "0000"}
    answer = tablet.sync(**event)
    assert answer.json == {"answered": True, "outcome": "refused", "refusal": "wrong_pin_offline",
                           "reason": "離線時輸入的 PIN 碼錯誤"}
    again = tablet.sync(**{**event, "device_sent_at": iso(utcnow())})  # sent twice: answered the same
    assert again.json == answer.json
    assert sessions(db) == []
    [refused] = db.scalars(select(CheckinEvent)).all()
    assert refused.outcome == Outcome.refused and refused.refusal_code == "wrong_pin_offline"
    assert refused.volunteer_id == vol.id and refused.site_id == site.id
    assert refused.source == SessionSource.offline and refused.device_id == device_and_code[0].id
    assert abs((refused.device_time - (utcnow() - dt.timedelta(minutes=10))).total_seconds()) < 30
    db.expire_all()
    assert db.get(type(vol), vol.id).pin_failures == 1  # counted once

    unknown = tablet.sync(**{**offline_event(vol, "k-nobody", card=False), "number": "99999"})
    assert unknown.json["refusal"] == "unknown_volunteer"
    db.rollback()
    nobody = db.scalar(select(CheckinEvent).where(CheckinEvent.idempotency_key == "k-nobody"))
    assert nobody.volunteer_id is None and nobody.site_id == site.id
    typed = db.scalar(select(AuditEntry).where(AuditEntry.action == "offline_refused",
                                               AuditEntry.after.contains("k-nobody")))
    assert typed.after_data()["number"] == "99999"
    for entry in db.scalars(select(AuditEntry)):
        assert PIN not in (entry.after or "") and "0000" not in (entry.after or "")

    # The supervisor's dashboard lists both, under "Turned away today", with a way to enter the
    # time if they did serve.
    staff = HttpUser(app.test_client())
    staff.sign_in(world["admin"].email, make.PASSWORD)
    page = staff.get("/dashboard/").get_data(as_text=True)
    card = page[page.index('id="refusals"'):page.index("</section>", page.index('id="refusals"'))]
    assert "林美玲" in card and "離線時輸入的 PIN 碼錯誤" in card and "本站不認得的卡片或編號（離線時）" in card
    assert "大安服務台" in card and 'href="/dashboard/manual"' in card
    # The number that matched nobody is shown, so staff can tell whose it may have been.
    assert nobody.typed_number == "99999" and "輸入的編號：99999" in card
    assert refused.typed_number is None  # a known number: the volunteer is named instead


# --- the rotating QR, and a long day ---------------------------------------------------------------

def test_rotating_presence_token_verifies_for_this_kiosk(app, device_and_code, tablet, clock):
    device = device_and_code[0]

    def shown():
        fragment = tablet.get("/kiosk/presence", headers={"HX-Request": "true"}).get_data(as_text=True)
        assert '<img class="k-qr" src="data:image/svg+xml;base64,' in fragment
        url = re.search(r'data-url="([^"]+)"', fragment).group(1)
        assert url.startswith("http://localhost/k/")
        return url.rsplit("/", 1)[1]

    first = shown()
    assert check_presence_token(first, app.secret_key, utcnow()) == device.id
    assert first in tablet.open().get_data(as_text=True)  # the idle screen starts with one
    clock.shift(seconds=31)
    second = shown()
    assert second != first
    assert check_presence_token(second, app.secret_key, clock.now()) == device.id
    later = clock.now() + dt.timedelta(seconds=kiosks.PRESENCE_VALID_SECONDS + 31)
    assert check_presence_token(first, app.secret_key, later) is None


def test_kiosk_still_posts_after_13_hours_with_the_same_token_and_cookie(db, world, tablet, clock):
    token = tablet.token
    cookie = tablet.client.get_cookie("hourbook_kiosk", path="/kiosk")
    assert tablet.post("/kiosk/ping", hx=True).status_code == 200
    clock.shift(hours=13)
    assert tablet.post("/kiosk/ping", hx=True).json["ok"] is True
    screen = tablet.identify_keypad(world["vol"])
    assert screen.status_code == 200
    assert tablet.press(screen).status_code == 200
    assert tablet.token == token and tablet.client.get_cookie("hourbook_kiosk", path="/kiosk").value == cookie.value
    assert len(sessions(db)) == 1
    db.rollback()
    device = db.scalar(select(KioskDevice))
    assert device.last_seen_at > utcnow() + dt.timedelta(hours=12)


# --- what a kiosk page may contain ---------------------------------------------------------------

def test_kiosk_pages_stay_in_the_kiosk_and_obey_the_csp(db, world, device_and_code, tablet):
    pages = [tablet.open(), tablet.identify_keypad(world["vol"])]
    pages.append(tablet.press(pages[1]))
    pages.append(tablet.identify_card("nonsense"))
    for response in pages:
        html = response.get_data(as_text=True)
        assert "<a " not in html, "no links out of the kiosk"
        assert 'class="mainnav"' not in html
        assert " style=" not in html
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), "no inline scripts"
    idle = pages[0].get_data(as_text=True)
    assert 'hx-trigger="every 30s' in idle and 'hx-headers=\'{"X-CSRFToken":' in idle
    assert "jsQR-1.4.0.js" in idle and "kiosk.js" in idle


# --- admin pages -------------------------------------------------------------------------------------

def test_admin_lists_reenrols_and_revokes(app, db, make, unit, world, device_and_code, tablet, admin, supervisor):
    device = device_and_code[0]
    waiting, _code = kiosks.create_device(db, site=world["site"], name="備用平板", actor=world["admin"],
                                          now=utcnow())
    db.commit()
    page = admin.get("/admin/kiosks").get_data(as_text=True)
    assert "大安服務台" in page and "服務台平板" in page and "備用平板" in page
    assert "使用中" in page and "等待啟用" in page
    assert supervisor.get("/admin/kiosks").status_code == 403
    # A tablet in use is re-enrolled only after the admin reads what it does (one tap on the
    # list used to cut off a kiosk volunteers were using); a waiting one gets a link at once.
    row = re.search(rf'<tr id="kiosk-{device.id}">(.*?)</tr>', page, re.S).group(1)
    assert re.search(r"<details[^>]*>\s*<summary[^>]*>重新設定平板</summary>", row)
    assert "目前使用中的平板會立即停止運作" in row
    waiting_row = re.search(rf'<tr id="kiosk-{waiting.id}">(.*?)</tr>', page, re.S).group(1)
    assert row.count("<details") == 2 and waiting_row.count("<details") == 1  # + Revoke's
    assert "新的啟用連結" in waiting_row
    # Re-enrol: a new one-time link, and the old tablet's cookie stops working.
    fresh = admin.post(f"/admin/kiosks/{device.id}/reenrol")
    assert fresh.status_code == 200 and "/kiosk/enrol/" in fresh.get_data(as_text=True)
    assert tablet.open().status_code == 401
    code = re.search(r'/kiosk/enrol/([^<"]+)</code>', fresh.get_data(as_text=True)).group(1)
    tablet = enrol(app, code)
    assert tablet.open().status_code == 200
    # Revoke: the kiosk's next request shows the revoked screen.
    gone = admin.post(f"/admin/kiosks/{device.id}/revoke")
    assert gone.status_code == 302
    revoked = tablet.open(headers=EN)
    assert revoked.status_code == 403 and "This kiosk has been revoked" in revoked.get_data(as_text=True)
    assert "已停用" in admin.get("/admin/kiosks").get_data(as_text=True)
    actions = db.scalars(select(AuditEntry.action).where(AuditEntry.entity == "kiosk_device")).all()
    assert {"kiosk_create", "kiosk_reenrol", "kiosk_enrol", "kiosk_revoke"} <= set(actions)
    # Another unit's admin cannot touch this unit's kiosks.
    outsider = HttpUser(app.test_client())
    stranger = make.user(make.unit(), role="admin")
    outsider.sign_in(stranger.email, make.PASSWORD)
    assert outsider.post(f"/admin/kiosks/{waiting.id}/revoke").status_code == 404
    assert outsider.post(f"/admin/kiosks/{waiting.id}/reenrol").status_code == 404
    assert "備用平板" not in outsider.get("/admin/kiosks").get_data(as_text=True)


def test_admin_create_form_checks_its_fields(admin, world):
    assert admin.post("/admin/kiosks", {"site": world["site"].id, "name": ""}).status_code == 400
    assert admin.post("/admin/kiosks", {"site": "999999", "name": "x"}).status_code == 400


def test_kiosks_of_a_unit_without_sites_lead_to_adding_one(admin):
    page = admin.get("/admin/kiosks").get_data(as_text=True)
    assert "請先新增服務地點" in page and 'href="/admin/sites/new"' in page


@pytest.mark.parametrize("headers", [{}, EN], ids=["zh", "en"])
def test_the_enrolment_page_names_the_button_the_list_shows(admin, world, headers):
    """After creating a kiosk (or re-enrolling one), the page says which button makes a new
    link if this one is lost: the one on that kiosk's row in the list, in the reader's language."""
    created = admin.post("/admin/kiosks", {"site": world["site"].id, "name": "服務台平板"}, headers=headers)
    assert created.status_code == 201
    hint = re.search(r'<p class="notice" id="enrol-lost">(.*?)</p>', created.get_data(as_text=True), re.S).group(1)
    [button] = re.findall(r"“([^”]+)”", hint) or re.findall(r"「([^」]+)」", hint)
    page = admin.get("/admin/kiosks", headers=headers).get_data(as_text=True)
    [row_id] = re.findall(r'<tr id="(kiosk-\d+)">', page)
    row = re.search(rf'<tr id="{row_id}">(.*?)</tr>', page, re.S).group(1)
    shown = [re.sub(r"\s+", " ", b).strip()
             for b in re.findall(r"<(?:button|summary)[^>]*>(.*?)</(?:button|summary)>", row, re.S)]
    assert button in shown, (button, shown)


def test_kiosk_service_time_agrees_with_the_times_shown(db, world, tablet, monkeypatch):
    """In at 09:16:50, out at 09:23:10: 6 whole minutes served (what approval credits). The
    kiosk shows 6, and since 09:16 and 09:23 read 7 apart, it shows the times with their
    seconds, as the phone does: the volunteer sees why, and later sees the same 6."""
    import kiosk.tablet

    minute = utcnow().replace(second=0, microsecond=0) - dt.timedelta(minutes=30)
    checked_in, checked_out = minute + dt.timedelta(seconds=50), minute + dt.timedelta(minutes=7, seconds=10)
    monkeypatch.setattr(kiosk.tablet, "clock", lambda: checked_in)
    assert tablet.press(tablet.identify_keypad(world["vol"])).status_code == 200
    monkeypatch.setattr(kiosk.tablet, "clock", lambda: checked_out)
    done = tablet.press(tablet.identify_keypad(world["vol"]), headers=EN).get_data(as_text=True)
    assert "Service time: 0 h 06 min" in done
    seconds_in = re.search(r"Checked in (\d\d:\d\d:\d\d), out (\d\d:\d\d:\d\d): only whole minutes count", done)
    assert seconds_in and seconds_in.group(1).endswith(":50") and seconds_in.group(2).endswith(":10")
    [s] = sessions(db)
    assert s.elapsed_minutes(checked_out) == 6


def test_a_number_with_no_pin_is_told_so_not_wrong_pin(db, make, unit, world, tablet):
    """An imported volunteer who never set a PIN typed their number and any PIN: the kiosk said
    "Wrong PIN: 4 more tries left" and counted towards locking the number."""
    from models.refusal_log import refused_attempts

    bare = make.volunteer(unit, name_zh="王未設", insured=True)
    db.commit()
    screen = tablet.identify_keypad(bare, pin="2580", headers=EN)
    text = screen.get_data(as_text=True)
    assert screen.status_code == 422 and f"Number {bare.volunteer_no} has no PIN yet" in text
    assert "Wrong PIN" not in text
    db.expire_all()
    assert db.get(type(bare), bare.id).pin_failures == 0
    [line] = refused_attempts(db, unit.id, taipei_date(utcnow()))
    assert line.volunteer.id == bare.id and line.refusal_code == "no_pin"
    # offline, the same: refused in words, never a session
    answer = tablet.sync(**offline_event(bare, "k-nopin", card=False))
    assert answer.json["outcome"] == "refused" and answer.json["refusal"] == "no_pin"
    assert db.scalar(select(func.count(ServiceSession.id)).where(ServiceSession.volunteer_id == bare.id)) == 0
