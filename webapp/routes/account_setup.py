"""/welcome/<token>: a newly accepted volunteer sets a password and a kiosk PIN with the
one-time link (printed as a QR, or emailed), is signed in and lands on home."""
from __future__ import annotations

from flask import Blueprint, g, redirect, render_template, url_for
from flask_babel import lazy_gettext as _l
from flask_login import login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import PasswordField
from wtforms.validators import DataRequired, EqualTo, Length

from models import account_links as links
from models.base import utcnow

from ..access import public
from ..extensions import db, limiter
from ..forms import kiosk_pin, typed_digits
from ..i18n import fresh_session, refusal_text

bp = Blueprint("account_setup", __name__)

LINK_MESSAGES = {
    "unknown": _l("This link is not valid. Ask the unit for a new one."),
    "used": _l("This link has already been used. Sign in with your password, or ask the unit for a new link."),
    "expired": _l("This link has expired. Ask the unit for a new one."),
}


class SetupForm(FlaskForm):
    password = PasswordField(_l("New password"), validators=[
        DataRequired(_l("Enter a password.")),
        Length(min=links.PASSWORD_MIN, max=200, message=_l("Use %(min)d to %(max)d characters."))],
        description=_l("At least 8 characters. Not a common password, a run (12345678 or abcdefgh) or your email."))
    confirm = PasswordField(_l("New password again"), validators=[
        DataRequired(_l("Enter the password again.")),
        EqualTo("password", message=_l("The two passwords are not the same."))])
    pin = PasswordField(_l("Kiosk PIN (4 to 6 digits)"), filters=[typed_digits], validators=[
        DataRequired(_l("Enter a PIN.")), kiosk_pin],
        description=_l("Not one digit throughout (1111), not a run (1234 or 4321), not your volunteer number."))
    pin_confirm = PasswordField(_l("Kiosk PIN again"), filters=[typed_digits], validators=[
        DataRequired(_l("Enter the PIN again.")),
        EqualTo("pin", message=_l("The two PINs are not the same."))])


@bp.route("/welcome/<token>", methods=["GET", "POST"])
@public
@limiter.limit("20 per minute", methods=["POST"])
def welcome(token: str):
    g.no_store = True
    try:
        link = links.usable_link(db.session, token, utcnow())
    except links.LinkError as exc:
        return render_template("account_setup/link_refused.html",
                               message=LINK_MESSAGES[exc.code]), 410 if exc.code != "unknown" else 404
    form = SetupForm()
    if link.user.volunteer is None:
        del form.pin, form.pin_confirm  # staff: a password only
    else:
        form.volunteer_no = link.user.volunteer.volunteer_no  # not a PIN (kiosk_pin)
    if form.validate_on_submit():
        try:
            user = links.complete_account_setup(db.session, token, utcnow(),
                                            password=form.password.data,
                                                pin=form.pin.data if "pin" in form else None)
        except links.LinkError as exc:
            db.session.rollback()
            return render_template("account_setup/link_refused.html",
                                   message=LINK_MESSAGES[exc.code]), 410
        except links.AccountSetupError as exc:
            db.session.rollback()
            form.password.errors = [*form.password.errors, refusal_text(exc)]
        else:
            logout_user()
            fresh_session(user)  # in the language chosen on the welcome page
            db.session.commit()
            login_user(user)
            return redirect(url_for("home.index"))
    status = 400 if form.is_submitted() else 200
    return render_template("account_setup/welcome.html", form=form, user=link.user), status
