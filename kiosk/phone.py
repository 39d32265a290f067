"""Phone check-in: a volunteer's own signed-in phone, after scanning a site poster (/s/<token>)
or the kiosk's rotating QR at reception (/k/<token>).

The rotating QR proves presence at the moment of scanning only (each code is valid 90 s). A
valid scan is traded at once for a signed presence pass (/k/p/<pass>, valid
PRESENCE_PASS_SECONDS from the scan), and the page works off the pass: signing in first, or
waiting before tapping the button, no longer runs into an expired code. The pass is bound to
whoever scanned: the signed-in volunteer, or, scanned while signed out, the phone itself (a
cookie of its own, SCANNER_COOKIE, whose digest the pass carries): the first volunteer to
sign in on that phone makes it theirs. A pass link forwarded to another phone (a chat message
to someone not at the site) is refused there, with the words to scan the kiosk's code again."""
from __future__ import annotations

import re
import uuid

from flask import abort, current_app, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from models import checkin, gates
from models.base import utcnow
from models.kiosk import (PRESENCE_PASS_SECONDS, KioskDevice, check_presence_pass, check_presence_token,
                          presence_pass, scanner_secret)
from models.people import Role
from models.service import ServiceItem, SessionSource, Site, service_items_for
from models.sites import site_by_token
from models.verification import ROUNDING_STEP, credited
from webapp.forms import db_id
from webapp.access import public, roles
from webapp.extensions import db, writes_late

from . import bp

SCANNER_COOKIE = "hourbook_scanner"
SCANNER_PATH = "/k/"  # sent with the scan (kept for the next one) and the pass's page only



def _volunteer():
    volunteer = current_user.volunteer
    if volunteer is None:
        abort(403)
    return volunteer


def _parse_position(form) -> tuple[float, float, float] | None:
    """(lat, lon, accuracy) from the page's geolocation fields, or None when unavailable."""
    try:
        lat, lon = float(form["lat"]), float(form["lon"])
        accuracy = float(form.get("acc") or 0)
    except (KeyError, ValueError):
        return None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180) or accuracy < 0:
        return None
    return lat, lon, accuracy


def _render(site: Site, source: SessionSource, post_url: str, result=None, status=200,
            message: str | None = None, key: str | None = None, tried: ServiceItem | None = None):
    """The check-in page, or only its panel when htmx asks (the answer to the panel's POSTs).
    `key`: the idempotency key of its forms (a new one when None); `tried`: the service item of
    a check-in just refused, still chosen in the form for the next try."""
    volunteer = _volunteer()
    now = utcnow()
    if result is not None and result.outcome != checkin.Outcome.refused and result.session:
        # The result says where the volunteer stands now: no need to ask the database again.
        done = result.session
        current = done if done.checked_out_at is None else None
    else:
        done, current = None, checkin.open_session(db.session, volunteer.id)
    # Checked out here: the answer is the confirmation, and checking in again is a link to this
    # page, away from where "Check out" was: a double tap on "Check out" cannot check back in.
    checked_out_here = result is not None and result.ok and result.action == checkin.Action.check_out \
        and done is not None and done.site_id == site.id
    items = chosen = None
    blocked: dict = {}  # item id -> what stops the volunteer serving it
    marks: dict = {}  # item id -> that, in a few words, on its option
    cannot_serve: list = []  # what stops every item: said before the tap
    if current is None and not checked_out_here:  # the check-in form: items, and the one used last here
        items = service_items_for(db.session, site.unit_id)
        choice = gates.item_choice(db.session, volunteer, site, items, now)
        blocked, cannot_serve = choice.blocked, choice.cannot_serve
        marks = {item_id: _(", ").join(_(gates.REFUSAL_LABELS[r.code]) for r in problems)
                 for item_id, problems in blocked.items()}
        chosen = next((i for i in items if tried is not None and i.id == tried.id
                       and (i.id not in blocked or cannot_serve)), None) \
            or checkin.default_item(db.session, volunteer.id, site.id, items, blocked)
    rounding_step = counted = None  # the unit rounds down: what will count of a session just closed
    if result is not None and result.ok and result.action == checkin.Action.check_out and done is not None:
        rounding = current_user.unit.rounding
        if rounding in ROUNDING_STEP:
            rounding_step, counted = ROUNDING_STEP[rounding], credited(done.elapsed_minutes(now), rounding)
    template = "kiosk/_phone_panel.html" if request.headers.get("HX-Request") else "kiosk/phone.html"
    return render_template(
        template, site=site, volunteer=volunteer, items=items, chosen=chosen, marks=marks,
        cannot_serve=cannot_serve,
        current=current, now=now, result=result, post_url=post_url, message=message,
        needs_position=checkin.checks_position(site, source), checked_out_here=checked_out_here,
        counted=counted, rounding_step=rounding_step,
        key=key or uuid.uuid4().hex,
    ), status


def _act(site: Site, source: SessionSource, post_url: str):
    volunteer = _volunteer()
    now = utcnow()
    action = request.form.get("action")
    key = (request.form.get("key") or "")[:80] or None
    item = None  # the service item chosen for a check-in
    if action == "check_in":
        item_id = request.form.get("item_id", "")
        if db_id(item_id) is not None:
            item = db.session.get(ServiceItem, db_id(item_id))
        position = _parse_position(request.form)
        result = checkin.check_in(db.session, volunteer=volunteer, site=site, item=item, now=now,
                                  source=source, key=key, position=position)
    elif action == "check_out":
        persons = request.form.get("persons_served", "").strip()
        persons_served = int(persons) if persons.isascii() and persons.isdigit() and int(persons) < 10000 else None
        result = checkin.check_out(db.session, volunteer=volunteer, now=now, source=source,
                                   key=key, persons_served=persons_served, site=site)
    else:
        return _render(site, source, post_url, status=400, message=_("Choose check in or check out."))
    db.session.commit()
    next_key = None
    if result.ok and result.action == checkin.Action.check_out and key:
        # The forms of a check-out's answer (check in here, after checking out elsewhere): a tap
        # on them within seconds is the double tap's second (checkin.DOUBLE_TAP).
        next_key = key if action == "check_in" else checkin.after_check_out(key)
    return _render(site, source, post_url, result=result, status=200 if result.ok else 409, key=next_key,
                   tried=None if result.ok else item)


@bp.route("/s/<token>", methods=["GET", "POST"])
@roles(Role.volunteer)
@writes_late  # checkin.check_in/check_out take the write lock after the user and site are read
def site_checkin(token: str):
    site = site_by_token(db.session, token)
    if site is None or site.unit_id != current_user.unit_id:
        return render_template("kiosk/phone_invalid.html"), 404
    url = request.path
    if request.method == "POST":
        return _act(site, SessionSource.poster, url)
    return _render(site, SessionSource.poster, url)


def site_of_checkin_page(path: str | None) -> Site | None:
    """The site a check-in page address (a poster's /s/<token>, a kiosk scan's presence pass)
    is for, or None: the sign-in page names it, so a volunteer who scanned a poster while
    signed out knows they will check in there right after."""
    from urllib.parse import urlsplit

    from werkzeug.exceptions import HTTPException

    if not path:
        return None
    try:
        endpoint, args = current_app.url_map.bind("localhost").match(urlsplit(path).path, method="GET")
    except HTTPException:
        return None
    if endpoint == "kiosk.site_checkin":
        site = site_by_token(db.session, args["token"])
        return site if site is not None and site.active else None
    if endpoint == "kiosk.kiosk_presence_checkin":
        found = check_presence_pass(args["token"], current_app.secret_key, utcnow())
        device = db.session.get(KioskDevice, found.device_id) \
            if found.device_id and not found.expired else None
        return device.site if device is not None and device.revoked_at is None else None
    return None


def _invalid(*, kiosk: bool = False, expired: bool = False, someone_elses: bool = False):
    """The code cannot be used. A page load gets the full page (404); the panel's own htmx POST
    gets the same words in place of the panel (409: htmx swaps it), never a silent failure.
    `someone_elses`: a presence pass scanned by someone else, or on another phone."""
    context = {"kiosk": kiosk, "expired": expired, "someone_elses": someone_elses}
    if request.headers.get("HX-Request"):
        return render_template("kiosk/_phone_invalid.html", **context), 409
    return render_template("kiosk/phone_invalid.html", **context), 404


@bp.route("/k/<token>")
@public  # the scan proves presence; checking in needs a signed-in volunteer (the pass's page)
def kiosk_presence_scan(token: str):
    """A scan of the kiosk's rotating QR: if the code is genuine and fresh, a presence pass.
    Not signed in? The pass's page sends the phone to sign in and back to the pass, which
    outlives a slow sign-in (the rotating code would not)."""
    g.no_store = True
    now = utcnow()
    device_id = check_presence_token(token, current_app.secret_key, now)
    device = db.session.get(KioskDevice, device_id) if device_id else None
    if device is None or device.revoked_at:
        return _invalid(kiosk=True, expired=device_id is None)
    if current_user.is_authenticated:  # the pass is theirs
        return redirect(url_for("kiosk.kiosk_presence_checkin",
                                token=presence_pass(device.id, current_app.secret_key, now, current_user.id)))
    # Signed out: the pass is this phone's (its scanner cookie, kept for another scan) until
    # someone signs in on it and opens it.
    scanner = request.cookies.get(SCANNER_COOKIE, "")
    if not re.fullmatch(r"[A-Za-z0-9_-]{20,40}", scanner):
        scanner = scanner_secret()
    response = redirect(url_for("kiosk.kiosk_presence_checkin", token=presence_pass(
        device.id, current_app.secret_key, now, scanner=scanner)))
    response.set_cookie(SCANNER_COOKIE, scanner, max_age=PRESENCE_PASS_SECONDS + 60, path=SCANNER_PATH,
                        httponly=True, samesite="Lax",
                        secure=current_app.config.get("SESSION_COOKIE_SECURE", False))
    return response


@bp.route("/k/p/<token>", methods=["GET", "POST"])
@roles(Role.volunteer)
@writes_late
def kiosk_presence_checkin(token: str):
    found = check_presence_pass(token, current_app.secret_key, utcnow())
    device = db.session.get(KioskDevice, found.device_id) \
        if found.device_id and not found.expired else None
    if device is None or device.revoked_at or device.unit_id != current_user.unit_id:
        return _invalid(kiosk=True, expired=found.expired)
    if not found.belongs_to(current_user.id, request.cookies.get(SCANNER_COOKIE)):
        return _invalid(kiosk=True, someone_elses=True)  # forwarded: scan the kiosk's code here
    url = request.path
    if found.user_id is None:  # scanned before signing in: the page's next taps use a pass
        url = url_for("kiosk.kiosk_presence_checkin", token=presence_pass(  # bound to this person
            device.id, current_app.secret_key, found.scanned_at, current_user.id))
    if request.method == "POST":
        return _act(device.site, SessionSource.kiosk_qr, url)
    return _render(device.site, SessionSource.kiosk_qr, url)
