"""Sign in, sign out, password change, the volunteer's kiosk PIN, language choice."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from models import account_links, audit
from models.base import utcnow
from models.people import Role, User

from ..access import public, roles, signed_in
from ..extensions import db, limiter
from ..forms import PasswordChangeForm, PinChangeForm, SignInForm
from ..i18n import LANGUAGES, fresh_session, refusal_text

bp = Blueprint("auth", __name__)


def safe_next(target: str | None, default: str) -> str:
    """Only same-site relative paths: never an open redirect. Control characters and spaces
    are refused outright: browsers and Werkzeug drop a tab or newline from a Location, so
    "/\t/evil.example" would become "//evil.example" (another site)."""
    if not target or any(ord(c) < 0x21 or c == "\x7f" for c in target):
        return default
    parts = urlsplit(target)
    if (target.startswith("/") and not target.startswith("//") and "\\" not in target
            and not parts.scheme and not parts.netloc):
        return target
    return default


def _login_limit() -> str:
    return current_app.config["HOURBOOK_LOGIN_LIMIT"]


@bp.route("/sign-in", methods=["GET", "POST"])
@public
@limiter.limit(_login_limit, methods=["POST"], deduct_when=lambda r: r.status_code != 302)
def sign_in():
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    form = SignInForm()
    status = 200
    if form.validate_on_submit():
        # an email, a sign-in name (v1-1032) or a volunteer number only one account has (1032)
        user = account_links.signs_in(db.session, form.email.data, form.password.data)
        if user is not None:
            user.last_sign_in_at = utcnow()
            audit.record(db.session, action="sign_in", entity="user", entity_id=user.id, actor=user)
            fresh_session(user)  # a fresh session at sign-in, in the language chosen on this page
            db.session.commit()
            login_user(user, remember=bool(form.remember.data))
            return redirect(safe_next(request.args.get("next"), url_for("home.index")))
        flash(_("Email or password is not correct."), "error")
        status = 401
    elif request.method == "POST":
        status = 400
    from kiosk.phone import site_of_checkin_page

    return render_template("auth/sign_in.html", form=form,
                           checkin_site=site_of_checkin_page(request.args.get("next"))), status


@bp.route("/sign-out", methods=["POST"])
@signed_in
def sign_out():
    logout_user()
    fresh_session()
    flash(_("You have signed out."), "info")
    response = redirect(url_for("auth.sign_in"))
    # Tell the browser (and our service worker) to drop anything cached for this origin.
    response.headers["Clear-Site-Data"] = '"cache"'
    return response


@bp.route("/account/password", methods=["GET", "POST"])
@signed_in
def change_password():
    form = PasswordChangeForm()
    if form.validate_on_submit():
        user = db.session.get(User, current_user.id)
        try:
            account_links.change_password(db.session, user, form.current.data, form.new.data,
                                          utcnow())  # also signs out other devices
        except account_links.WrongPassword as error:
            db.session.rollback()
            form.current.errors.append(refusal_text(error))
        except account_links.AccountSetupError as error:
            db.session.rollback()
            form.new.errors.append(refusal_text(error))
        else:
            db.session.commit()
            login_user(user)
            flash(_("Your password has been changed."), "success")
            return redirect(url_for("home.index"))
    status = 400 if request.method == "POST" else 200
    return render_template("auth/password.html", form=form), status


@bp.route("/account/pin", methods=["GET", "POST"])
@roles(Role.volunteer)
@limiter.limit("10 per minute", methods=["POST"])
def change_pin():
    """Set or change the kiosk PIN; the account password confirms it (a PIN opens the kiosk
    as this volunteer)."""
    form = PinChangeForm()
    form.volunteer_no = current_user.volunteer.volunteer_no if current_user.volunteer else None
    if form.validate_on_submit():
        user = db.session.get(User, current_user.id)
        try:
            account_links.change_pin(db.session, user, form.password.data, form.pin.data, utcnow())
        except account_links.WrongPassword as error:
            db.session.rollback()
            form.password.errors.append(refusal_text(error))
        except account_links.AccountSetupError as error:
            db.session.rollback()
            form.pin.errors.append(refusal_text(error))
        else:
            db.session.commit()
            flash(_("Your PIN is set. Type it after your volunteer number on the kiosk keypad."),
                  "success")
            return redirect(url_for("home.my_card"))
    status = 400 if request.method == "POST" else 200
    volunteer = current_user.volunteer
    return render_template("auth/pin.html", form=form, volunteer=volunteer,
                           pin=account_links.pin_status(volunteer, utcnow())), status


@bp.route("/language", methods=["POST"])
@public
def set_language():
    lang = request.form.get("lang", "")
    if lang not in LANGUAGES:
        flash(_("Unknown language."), "error")
    else:
        session["lang"] = lang
        if current_user.is_authenticated:
            user = db.session.get(User, current_user.id)
            user.locale = lang
            db.session.commit()
    return redirect(safe_next(request.form.get("next"), url_for("home.index")))
