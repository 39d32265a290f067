"""A volunteer's status page (admins): exit (退場) and re-activation with their history, and the
volunteer's account: a forgotten kiosk PIN cleared, a locked number unlocked, a new one-time
sign-in link, a (new) sign-in email. Reached from the directory, the evaluation list and an
accepted application; its addresses are under /evaluation/volunteers/<id>/, as they always
were. The rules live in models/volunteer_status.py, models/account_links.py and
models/kiosk.py; this module parses, checks who may act, calls them and renders.
"""
from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import InputRequired, Length, Optional

from models import account_links
from models import kiosk as kiosks
from models import volunteer_status as vs
from models.base import taipei_date, utcnow
from models.people import Role, User, Volunteer

from ..access import roles
from ..extensions import db
from ..forms import ButtonForm, DateField, SignInEmailForm
from ..i18n import explain_award_html, refusal_text
from ..welcome import welcome_sheet
from .evaluation import BAD_DATE, apply_errors, exit_notice, volunteer_or_404

bp = Blueprint("volunteer_status", __name__, url_prefix="/evaluation")
admins = roles(Role.admin)


class ExitForm(FlaskForm):
    reason = StringField(_l("Reason"), validators=[
        InputRequired(_l("This is required.")),
        Length(max=vs.REASON_MAX, message=_l("This is too long."))])
    on = DateField(_l("Exit date"), invalid_value_message=BAD_DATE, validators=[Optional()])


class ReactivateForm(FlaskForm):
    reason = StringField(_l("Reason"), validators=[
        InputRequired(_l("This is required.")),
        Length(max=vs.REASON_MAX, message=_l("This is too long."))])


def _me() -> User:
    return db.session.get(User, current_user.id)


def _status_page(vol: Volunteer, exit_form=None, back_form=None, status: int = 200,
                 errors: list[str] = (), welcome: dict | None = None, email_form=None):
    return render_template("volunteer_status/status.html", vol=vol, welcome=welcome,
                           email_form=email_form or SignInEmailForm(formdata=None),
                           exit_form=exit_form or ExitForm(), back_form=back_form or ReactivateForm(),
                           changes=vs.status_changes_of(db.session, vol.id), loose_errors=errors,
                           today=taipei_date(utcnow()), pin=account_links.pin_status(vol, utcnow()),
                           explain=explain_award_html, certificate=exit_notice(vol),
                           button_form=ButtonForm()), status


@bp.get("/volunteers/<int:volunteer_id>/status")
@admins
def status(volunteer_id: int):
    return _status_page(volunteer_or_404(volunteer_id))


@bp.post("/volunteers/<int:volunteer_id>/exit")
@admins
def record_exit(volunteer_id: int):
    vol = volunteer_or_404(volunteer_id)
    form = ExitForm()
    if not form.validate():
        return _status_page(vol, exit_form=form, status=400)
    try:
        vs.exit_volunteer(db.session, vol, _me(), utcnow(), reason=form.reason.data,
                          on=form.on.data)
    except vs.InvalidStatusChange as e:
        db.session.rollback()
        errors = apply_errors(form, e.errors, e.params)
        return _status_page(vol, exit_form=form, status=400, errors=errors)
    db.session.commit()
    # The status page itself says they have left (and about the certificate): the flash only
    # confirms the action, instead of saying it twice.
    flash(_("Exit recorded for %(name)s.", name=vol.name_zh), "success")
    return redirect(url_for(".status", volunteer_id=vol.id))


@bp.post("/volunteers/<int:volunteer_id>/reactivate")
@admins
def reactivate(volunteer_id: int):
    vol = volunteer_or_404(volunteer_id)
    form = ReactivateForm()
    if not form.validate():
        return _status_page(vol, back_form=form, status=400)
    try:
        vs.reactivate_volunteer(db.session, vol, _me(), utcnow(), reason=form.reason.data)
    except vs.InvalidStatusChange as e:
        db.session.rollback()
        errors = apply_errors(form, e.errors)
        return _status_page(vol, back_form=form, status=400, errors=errors)
    db.session.commit()
    flash(_("%(name)s is active again.", name=vol.name_zh), "success")
    return redirect(url_for(".status", volunteer_id=vol.id))


@bp.post("/volunteers/<int:volunteer_id>/pin-reset")
@admins
def pin_reset(volunteer_id: int):
    """A forgotten kiosk PIN: clear it and any lock-out; the volunteer sets a new one."""
    vol = volunteer_or_404(volunteer_id)
    if not ButtonForm().validate():
        return _status_page(vol, status=400, errors=[_("The form has expired. Reload the page and try again.")])
    try:
        account_links.reset_pin(db.session, vol, _me(), utcnow())
    except account_links.AccountSetupError as error:
        db.session.rollback()
        return _status_page(vol, status=409, errors=[refusal_text(error)])
    db.session.commit()
    flash(_("The PIN of %(name)s is cleared. They can set a new one on their phone, on the PIN page.",
            name=vol.name_zh), "success")
    return redirect(url_for(".status", volunteer_id=vol.id))


@bp.post("/volunteers/<int:volunteer_id>/pin-unlock")
@admins
def pin_unlock(volunteer_id: int):
    """A number locked after wrong PINs (perhaps typed by someone else): lift the lock, keep the
    PIN (who may: models.kiosk.may_unlock)."""
    vol = volunteer_or_404(volunteer_id)
    if not kiosks.may_unlock(db.session, _me(), vol, utcnow()):
        abort(403)
    if not ButtonForm().validate():
        return _status_page(vol, status=400, errors=[_("The form has expired. Reload the page and try again.")])
    try:
        kiosks.unlock_pin(db.session, vol, _me(), utcnow())
    except kiosks.NothingToUnlock as error:
        db.session.rollback()
        return _status_page(vol, status=409, errors=[refusal_text(error)])
    db.session.commit()
    flash(_("%(name)s (%(number)s) can use the keypad again, with the same PIN.",
            name=vol.name_zh, number=vol.volunteer_no), "success")
    return redirect(url_for(".status", volunteer_id=vol.id))


@bp.post("/volunteers/<int:volunteer_id>/sign-in-link")
@admins
def sign_in_link(volunteer_id: int):
    """A forgotten password: a new one-time link (printed as a QR, emailed when mail is set
    up) with which the volunteer sets a new password and PIN; older unused links stop."""
    vol = volunteer_or_404(volunteer_id)
    if not ButtonForm().validate():
        return _status_page(vol, status=400, errors=[_("The form has expired. Reload the page and try again.")])
    try:
        user, token = account_links.sign_in_link(db.session, vol, _me(), utcnow())
    except account_links.AccountSetupError as error:
        db.session.rollback()
        return _status_page(vol, status=409, errors=[refusal_text(error)])
    db.session.commit()
    g.no_store = True  # the link is on the page: never cache it
    return _status_page(vol, welcome=welcome_sheet(token, user, again=True))


@bp.post("/volunteers/<int:volunteer_id>/sign-in-email")
@admins
def sign_in_email(volunteer_id: int):
    """Give a volunteer's account a (new) sign-in email: one who had none signed in with the
    short sign-in name (v1-1032)."""
    vol = volunteer_or_404(volunteer_id)
    form = SignInEmailForm()
    if not form.validate():
        return _status_page(vol, status=400, errors=[_("The form has expired. Reload the page and try again.")])
    try:
        user = account_links.set_sign_in_email(db.session, vol, _me(), form.email.data, utcnow())
    except account_links.AccountSetupError as error:
        db.session.rollback()
        form.email.errors = [refusal_text(error)]
        return _status_page(vol, status=400, email_form=form)
    db.session.commit()
    flash(_("%(name)s now signs in with %(email)s.", name=vol.name_zh, email=user.email), "success")
    return redirect(url_for(".status", volunteer_id=vol.id))
