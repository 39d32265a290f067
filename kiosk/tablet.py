"""The tablet kiosk at reception: enrolment, the idle screen (rotating QR, card scanner, keypad),
the one big button, and the offline queue's sync endpoint.

Every kiosk endpoint is marked `device`: the app's central access check lets it through and
`device_only` below checks the kiosk's own cookie (a revocable device secret). No staff session
lives on a kiosk: enrolment clears it, and so does every kiosk request (someone who signed in
in the tablet's browser, typing /dashboard/, is signed out by the kiosk's next page or poll).
The Flask session is made permanent so the CSRF token in it (WTF_CSRF_TIME_LIMIT=None) lives
as long as the kiosk stays open, only ever without a user in it: a sign-in is never made to
last 31 days by the kiosk.
"""
from __future__ import annotations

import base64
import datetime as dt
import functools
import io
import secrets

import qrcode
import qrcode.image.svg
from flask import (current_app, g, jsonify, make_response, redirect, render_template, request,
                   session, url_for)
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, logout_user

from models import audit, checkin, gates
from models import kiosk as kiosks
from models.base import TAIPEI, utcnow
from models.checkin import Action, Outcome
from models.gates import REFUSAL_LABELS
from models.people import Volunteer
from models.service import Flag, SessionSource, service_items_for
from webapp.access import public
from webapp.extensions import db, limiter
from webapp.i18n import DEFAULT as DEFAULT_LANGUAGE, LANGUAGES, fresh_session

from . import bp

COOKIE = "hourbook_kiosk"
COOKIE_PATH = "/kiosk"
COOKIE_MAX_AGE = 400 * 24 * 3600  # the longest browsers keep a cookie; revocation ends it sooner
RETURN_TO_IDLE_SECONDS = 6  # after a confirmation ("checked in 09:02")
# A message the volunteer has to read and act on (a wrong PIN, a lock-out, a refusal, an error)
# stays at least this long; any touch or key press on the screen gives the full time again.
READ_MESSAGE_SECONDS = 20
PERSON_SCREEN_SECONDS = 60  # an identified volunteer who walks away
# A visitor's language choice lasts for their own check-in: the kiosk goes back to its own
# language (KIOSK_LANGUAGE) when it returns to idle after a result, or when the idle screen has
# been left untouched this long in the visitor's language (kiosk.js).
LANGUAGE_RESET_SECONDS = 30
KIOSK_LANGUAGE = DEFAULT_LANGUAGE
SOURCES = {"card": SessionSource.kiosk_card, "keypad": SessionSource.kiosk_keypad}


def clock() -> dt.datetime:
    """The kiosk's notion of now (tests replace it to simulate a kiosk left open for hours)."""
    return utcnow()


def device(view):
    """Mark a view as a kiosk endpoint and hand it the enrolled device, or refuse the request.

    Refused: a full "not a kiosk" / "revoked" screen for page loads; for the kiosk's own
    scripts (htmx and fetch) a 401/403 whose HX-Redirect reloads that screen; JSON for sync.
    """

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        g.no_store = True  # nothing a kiosk shows may be cached
        found, state = kiosks.device_from_cookie(db.session, request.cookies.get(COOKIE))
        if found is None:
            return _refused(state)
        g.kiosk_device = found
        if current_user.is_authenticated:  # someone signed in in the kiosk's browser
            end_user_login()
        return view(found, *args, **kwargs)

    wrapper.hourbook_access = "device"
    return wrapper


def end_user_login() -> None:
    """No user's sign-in may stay on a kiosk: sign out (as the sign-out button does), forget
    "remember me" (Flask-Login deletes its cookie from the response) and start a fresh session,
    in the language on screen, that is the kiosk's own: permanent, for its CSRF token to outlast
    a long day. Enrolment, and any kiosk request that finds someone signed in."""
    fresh_session()
    logout_user()  # after the clear: its note to delete the "remember me" cookie must stay
    session.permanent = True


def _refused(state: str):
    status = 403 if state == "revoked" else 401
    if request.endpoint == "kiosk.tablet_sync":
        return jsonify(answered=False, error=state), status
    if request.headers.get("HX-Request"):
        return "", status, {"HX-Redirect": url_for("kiosk.tablet")}
    # The cookie stays: the tablet keeps saying "revoked" (not "unknown") until re-enrolled.
    return render_template("kiosk/tablet_refused.html", state=state), status


def _fragment(template: str, status: int = 200, **context):
    """A piece of the kiosk screen, swapped in by kiosk.js (which recognises it by the header)."""
    response = make_response(render_template(template, **context), status)
    response.headers["X-Kiosk-Fragment"] = "1"
    return response


def _message(text: str, status: int, tone: str = "error"):
    return _fragment("kiosk/_tablet_message.html", status, text=text, tone=tone,
                     return_after=READ_MESSAGE_SECONDS)


def _kiosk_position(site) -> tuple[float, float, float] | None:
    """A kiosk is enrolled for a site and stands there: its position is the site's own
    (so kiosk check-ins are not flagged "position unavailable")."""
    if site.latitude is None or site.longitude is None:
        return None
    return site.latitude, site.longitude, 0.0


def _svg_data_uri(payload: str) -> str:
    image = qrcode.make(payload, image_factory=qrcode.image.svg.SvgPathImage, box_size=10, border=2)
    buffer = io.BytesIO()
    image.save(buffer)
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode()


def _hhmm(moment: dt.datetime) -> str:
    return moment.astimezone(TAIPEI).strftime("%H:%M")


# --- enrolment ----------------------------------------------------------------------------

@bp.route("/kiosk/enrol/<code>", methods=["GET", "POST"])
@public  # the one-time code is the credential
@limiter.limit("20 per minute", methods=["POST"])
def tablet_enrol(code: str):
    g.no_store = True
    now = clock()
    if request.method == "GET":
        pending = kiosks.pending_enrolment(db.session, code, now)
        status = 200 if pending else 404
        return render_template("kiosk/tablet_enrol.html", device=pending, code=code), status
    enrolled = kiosks.enrol(db.session, code, now)
    if enrolled is None:
        db.session.rollback()
        return render_template("kiosk/tablet_enrol.html", device=None, code=code), 404
    new_device, secret = enrolled
    db.session.commit()
    end_user_login()  # no staff session may stay on a kiosk
    response = redirect(url_for("kiosk.tablet"))
    config = current_app.config
    response.set_cookie(COOKIE, kiosks.device_cookie_value(new_device, secret),
                        max_age=COOKIE_MAX_AGE, path=COOKIE_PATH, httponly=True, samesite="Lax",
                        secure=config.get("SESSION_COOKIE_SECURE", False))
    return response


# --- the kiosk screen ---------------------------------------------------------------------

@bp.route("/kiosk")
@device
def tablet(kiosk):
    session.permanent = True  # never with a user in it: `device` signed them out
    now = clock()
    return render_template("kiosk/tablet.html", device=kiosk, site=kiosk.site,
                           presence=_presence(kiosk, now), now=now,
                           return_after=RETURN_TO_IDLE_SECONDS, read_after=READ_MESSAGE_SECONDS,
                           home_language=KIOSK_LANGUAGE,
                           language_reset_after=LANGUAGE_RESET_SECONDS)


def _presence(kiosk, now: dt.datetime) -> dict:
    token = kiosks.presence_token(kiosk, current_app.secret_key, now)
    url = request.url_root.rstrip("/") + "/k/" + token
    return {"token": token, "url": url, "image": _svg_data_uri(url)}


@bp.route("/kiosk/presence")
@device
def tablet_presence(kiosk):
    """The rotating QR (new every 30 s, valid 90 s), polled by the idle screen."""
    return _fragment("kiosk/_tablet_presence.html", presence=_presence(kiosk, clock()))


@bp.route("/kiosk/ping", methods=["POST"])
@device
def tablet_ping(kiosk):
    """The kiosk's heartbeat: proves the network, the cookie and the CSRF token still work."""
    now = clock()
    kiosks.mark_seen(kiosk, now)
    db.session.commit()
    return jsonify(ok=True, now=now.isoformat())


@bp.route("/kiosk/language", methods=["POST"])
@device
def tablet_language(kiosk):
    """A visitor's language (kiosk.js sets it back to KIOSK_LANGUAGE when they are done)."""
    lang = request.form.get("lang", "")
    if lang in LANGUAGES:
        session["lang"] = lang
    return redirect(url_for("kiosk.tablet"))


def _identify(kiosk, form, now: dt.datetime) -> Volunteer | None:
    """The volunteer a card token or a number + PIN names; None: no such card or number
    (PinLocked and WrongPin propagate)."""
    method = form.get("method")
    if method == "card":
        return kiosks.volunteer_by_card(db.session, kiosk.unit_id, (form.get("card") or "")[:200])
    if method == "keypad":
        return kiosks.volunteer_by_pin(db.session, kiosk.unit_id, (form.get("number") or "")[:20],
                                       (form.get("pin") or "")[:20], now)
    return None


@bp.route("/kiosk/identify", methods=["POST"])
@device
@limiter.limit("60 per minute", key_func=lambda: request.cookies.get(COOKIE, "")[:12] or "anon")
def tablet_identify(kiosk):
    now = clock()
    method = request.form.get("method")
    if method not in SOURCES:
        return _message(_("Scan your card or type your volunteer number and PIN."), 400)
    try:
        volunteer = _identify(kiosk, request.form, now)
    except kiosks.PinLocked as locked:
        # Staff see who was stopped (the dashboard's "Turned away today"), and can unlock it.
        _keypad_refused(kiosk, locked.volunteer, "pin_locked", now)
        return _locked(request.form.get("number", ""), locked.until)
    except kiosks.NoPin as none:
        _keypad_refused(kiosk, none.volunteer, "no_pin", now)  # an imported volunteer, say
        return _message(_("Number %(number)s has no PIN yet. Set one on your phone (My QR card), "
                          "or scan your QR card; the staff can help.",
                          number=none.volunteer.volunteer_no), 422)
    except kiosks.WrongPin as wrong:
        kiosks.mark_seen(kiosk, now)
        db.session.commit()  # the PIN failure counter
        return _message(ngettext(
            "Wrong PIN: %(num)d more try left. One more wrong PIN locks number %(number)s for "
            "%(minutes)d minutes.",
            "Wrong PIN: %(num)d more tries left. %(num)d more wrong PINs lock number %(number)s for "
            "%(minutes)d minutes.", wrong.tries_left, number=wrong.volunteer.volunteer_no,
            minutes=kiosks.PIN_LOCK // dt.timedelta(minutes=1)), 422)
    kiosks.mark_seen(kiosk, now)
    db.session.commit()
    if volunteer is None:
        if method == "card":
            return _message(_("This card is not recognised here. Please use the keypad or ask "
                              "the staff."), 422)
        return _message(_("The volunteer number or PIN is not correct. Please try again."), 422)
    return _person(kiosk, volunteer, method, now)


def _keypad_refused(kiosk, volunteer: Volunteer, code: str, now: dt.datetime) -> None:
    """A keypad identification refused for who the number names (locked, no PIN): logged as a
    refusal, so staff see who was stopped ("Turned away today"); committed."""
    checkin.record_refusal(db.session, volunteer=volunteer, site=kiosk.site,
                           action=_next_action(volunteer), source=SessionSource.kiosk_keypad,
                           code=code, now=now, device_id=kiosk.id)
    kiosks.mark_seen(kiosk, now)
    db.session.commit()


def _locked(number: str, until: dt.datetime):
    return _message(_("Too many wrong PINs. Number %(number)s is locked until %(time)s. "
                      "Scan your QR card or use your phone instead, or ask the staff to unlock it.",
                      number=(number or "").strip()[:20], time=_hhmm(until)), 423)


def _next_action(volunteer: Volunteer) -> Action:
    """What the volunteer came to do, as the person screen would have offered it."""
    return Action.check_in if checkin.open_session(db.session, volunteer.id) is None else Action.check_out


def _person(kiosk, volunteer: Volunteer, via: str, now: dt.datetime, checked_out=None):
    """The person screen: who, where they stand, and the one button. Still checked in at another
    site, the button checks out there (as the phone page offers); `checked_out` is that session
    once done, shown above the check-in button for here."""
    site = kiosk.site
    current = checkin.open_session(db.session, volunteer.id)
    items = service_items_for(db.session, kiosk.unit_id)
    chosen = checkin.default_item(db.session, volunteer.id, site.id, items,
                                  gates.blocked_items(db.session, volunteer, site, items, now))
    action = Action.check_in if current is None else Action.check_out
    return _fragment(
        "kiosk/_tablet_person.html", volunteer=volunteer, current=current, site=site,
        items=items, chosen=chosen, action=action.value, via=via, checked_out=checked_out,
        ticket=kiosks.identity_ticket(kiosk, volunteer, current_app.secret_key, now),
        key=secrets.token_urlsafe(18), return_after=PERSON_SCREEN_SECONDS,
    )


@bp.route("/kiosk/act", methods=["POST"])
@device
def tablet_act(kiosk):
    """The one big button: check in or out the volunteer the ticket names."""
    now = clock()
    form = request.form
    volunteer_id = kiosks.check_identity_ticket(form.get("ticket", ""), kiosk,
                                                current_app.secret_key, now)
    volunteer = db.session.get(Volunteer, volunteer_id) if isinstance(volunteer_id, int) else None
    if volunteer is None or volunteer.unit_id != kiosk.unit_id:
        return _message(_("This screen has timed out. Please scan your card or type your number "
                          "again."), 410)
    source = SOURCES.get(form.get("via", ""), SessionSource.kiosk_keypad)
    key = (form.get("key") or "")[:80] or None
    site = kiosk.site
    action = form.get("action")
    if action == Action.check_in.value:
        items = service_items_for(db.session, kiosk.unit_id)
        item = next((i for i in items if str(i.id) == form.get("item", "")), None)
        result = checkin.check_in(db.session, volunteer=volunteer, site=site, item=item, now=now,
                                  source=source, key=key, device_id=kiosk.id,
                                  position=_kiosk_position(site))
    elif action == Action.check_out.value:
        result = checkin.check_out(db.session, volunteer=volunteer, now=now, source=source,
                                   key=key, device_id=kiosk.id, site=site)
    else:
        return _message(_("Choose check in or check out."), 400)
    kiosks.mark_seen(kiosk, now)
    db.session.commit()
    if result.outcome == Outcome.ok and result.action == Action.check_out \
            and result.session.site_id != site.id:
        # Checked out of another site from here: now they can check in here, on the same screen.
        return _person(kiosk, volunteer, form.get("via", ""), now, checked_out=result.session)
    return _fragment("kiosk/_tablet_result.html", 200 if result.ok else 409, result=result,
                     volunteer=volunteer, site=site, now=now, return_after=RETURN_TO_IDLE_SECONDS,
                     read_after=READ_MESSAGE_SECONDS)


# --- offline events, synced later ---------------------------------------------------------

def _parse_time(value: str | None) -> dt.datetime | None:
    try:
        moment = dt.datetime.fromisoformat((value or "").strip())
    except ValueError:
        return None
    return moment.astimezone(dt.timezone.utc) if moment.tzinfo else None


@bp.route("/kiosk/sync", methods=["POST"])
@device
def tablet_sync(kiosk):
    """One event the kiosk stored while offline. Each idempotency key is accepted once;
    a repeated key returns the first outcome. `answered` tells the kiosk it may forget it."""
    now = clock()
    form = request.form
    key = (form.get("key") or "").strip()
    if not key or len(key) > 80:
        return jsonify(answered=True, outcome="invalid"), 400
    earlier = checkin.event_by_key(db.session, key)
    if earlier is not None and earlier.device_id == kiosk.id:  # this event again: its first answer
        outcome = Outcome.repeated if earlier.outcome == Outcome.ok else earlier.outcome
        return jsonify(answered=True, outcome=outcome.value, refusal=earlier.refusal_code,
                       **_reason(earlier.refusal_code))
    if earlier is not None:
        key = None  # another device's key: never its answer, and this event is still judged
    action = form.get("action")
    device_time, sent_at = _parse_time(form.get("device_time")), _parse_time(form.get("device_sent_at"))
    if action not in (Action.check_in.value, Action.check_out.value) or device_time is None \
            or sent_at is None or form.get("method") not in SOURCES:
        return jsonify(answered=True, outcome="invalid"), 400
    try:
        volunteer, code = _identify(kiosk, form, now), None
    except kiosks.PinLocked as locked:
        volunteer, code = locked.volunteer, "pin_locked"
    except kiosks.WrongPin as wrong:
        volunteer, code = wrong.volunteer, "wrong_pin_offline"
    except kiosks.NoPin as none:
        volunteer, code = none.volunteer, "no_pin"
    if volunteer is None:
        code = "unknown_volunteer"
    kiosks.mark_seen(kiosk, now)
    when, trusted = checkin.offline_event_time(device_time, sent_at, now)
    if code is not None:
        return _refused_offline(kiosk, form, volunteer, code, key, when, now)
    if not trusted:
        audit.record(db.session, action="offline_time_untrusted", entity="kiosk_device",
                     entity_id=kiosk.id, actor_label=f"kiosk:{kiosk.id}", unit_id=kiosk.unit_id,
                     after={"key": key, "device_time": device_time.isoformat(),
                            "device_sent_at": sent_at.isoformat(), "used": now.isoformat()},
                     now=now)
    site = kiosk.site
    if action == Action.check_in.value:
        items = service_items_for(db.session, kiosk.unit_id)
        item = checkin.default_item(db.session, volunteer.id, site.id, items,
                                    gates.blocked_items(db.session, volunteer, site, items, when))
        result = checkin.check_in(db.session, volunteer=volunteer, site=site, item=item, now=now,
                                  source=SessionSource.offline, key=key, device_id=kiosk.id,
                                  device_time=when, extra_flags=(Flag.offline,),
                                  position=_kiosk_position(site))
    else:
        result = checkin.check_out(db.session, volunteer=volunteer, now=now,
                                   source=SessionSource.offline, key=key, device_id=kiosk.id,
                                   device_time=when, extra_flags=(Flag.offline,), site=site)
    db.session.commit()
    return jsonify(answered=True, outcome=result.outcome.value, trusted=trusted,
                   refusal=result.refusal.code if result.refusal else None,
                   session=result.session.id if result.session else None,
                   **_reason(result.refusal.code if result.refusal else None))


def _reason(code: str | None) -> dict:
    """Why an event was refused, in a few words of the kiosk's language (its footer lists them)."""
    return {"reason": _(REFUSAL_LABELS.get(code, code))} if code else {}


def _refused_offline(kiosk, form, volunteer: Volunteer | None, code: str, key: str,
                     when: dt.datetime, now: dt.datetime):
    """An offline event whose card or number + PIN did not identify anyone, now that the server
    can check them: never a session, but a refused attempt staff see (the dashboard's "Turned
    away today"), with the volunteer whose number was typed when there is one (a wrong PIN
    names the number, not proof it was them). The typed number, never the PIN, is audited."""
    method = form.get("method")
    number = (form.get("number") or "").strip()[:20] if method == "keypad" else None
    checkin.record_refusal(db.session, volunteer=volunteer, site=kiosk.site,
                           action=Action(form.get("action")), source=SessionSource.offline,
                           code=code, now=now, key=key, device_id=kiosk.id, device_time=when,
                           typed_number=number)
    audit.record(db.session, action="offline_refused", entity="kiosk_device", entity_id=kiosk.id,
                 actor_label=f"kiosk:{kiosk.id}", unit_id=kiosk.unit_id,
                 after={"key": key, "reason": code, "method": method, "action": form.get("action"),
                        "number": number, "device_time": when.isoformat()}, now=now)
    db.session.commit()  # and the PIN failures, counted offline too
    return jsonify(answered=True, outcome="refused", refusal=code, **_reason(code))
