"""Public recruitment pages (no sign-in): published openings, each with a shareable link and a
printable QR, and the application form anyone can fill on a phone.

Spam resistance without third-party services: a rate limit on accepted applications
(HOURBOOK_APPLY_LIMIT, default APPLY_LIMIT per address; a form sent back with mistakes does
not count) and a honeypot field ("website", hidden from people) whose bots get the thank-you
page while nothing is saved. When the limit is reached the form comes back with what was
typed (429), never an error page that loses it.
"""
from __future__ import annotations

import io

import qrcode
import qrcode.image.svg
from flask import Blueprint, Response, abort, current_app, g, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import BooleanField, RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from models import openings as op
from models import recruitment as r
from models.application_lookup import REFERENCE_MAX, application_status
from models.base import taipei_date, utcnow
from models.openings import Opening
from models.recruitment import InvalidApplication
from models.unit import Unit
from models.unit_profile import public_contact

from ..access import public
from ..forms import DateField, GENDER_LABELS, ID_KIND_LABELS, email_address, phone_number
from ..extensions import db, limiter

bp = Blueprint("openings", __name__)

BAD_DATE = _l("Enter a date like 2026-01-31.")
TOO_LONG = _l("Use at most %(max)d characters.")

# id_problem() answers in English: these are its messages, marked for translation.
ID_MESSAGES = {
    "A national ID is one letter, then 1 or 2, then 8 digits (e.g. A123456789).":
        _l("A national ID is one letter, then 1 or 2, then 8 digits (e.g. A123456789)."),
    "This national ID number's check digit is wrong.":
        _l("This national ID number's check digit is wrong."),
    "A resident certificate number is one letter, then 8 or 9, then 8 digits.":
        _l("A resident certificate number is one letter, then 8 or 9, then 8 digits."),
    "This resident certificate number's check digit is wrong.":
        _l("This resident certificate number's check digit is wrong."),
    "A passport number is 6 to 20 letters or digits.":
        _l("A passport number is 6 to 20 letters or digits."),
    "Unknown kind of identity document.": _l("Unknown kind of identity document."),
    "The ID number is a woman's: check the gender or the number.":
        _l("The ID number is a woman's: check the gender or the number."),
    "The ID number is a man's: check the gender or the number.":
        _l("The ID number is a man's: check the gender or the number."),
}
PROBLEM_MESSAGES = {
    "id_kind": _l("Choose one of the options."),
    "future": _l("The birth date cannot be in the future."),
    "too_old": _l("Check the birth date."),
    "guardian_name": _l("Applicants under 18 need a parent or guardian: enter their name."),
    "guardian_consent": _l("Applicants under 18 need the consent of a parent or guardian."),
    "privacy_consent": _l("Please read the personal-data notice and agree to it."),
}


# At a recruitment desk everyone applies from one address (the unit's Wi-Fi, one tablet): a
# person fills the form in two minutes at best, so a busy desk with a few phones and a tablet
# sends well under 20 accepted forms a minute, and even a whole day's event a few hundred.
# A script filling the form is stopped after 20 a minute and 200 an hour. Only accepted forms
# count (see _accepted): a form refused for mistakes saves nothing, and the next person in the
# queue must not be locked out by the last one's typos.
APPLY_LIMIT = "20 per minute;200 per hour"
# Every POST, accepted or not: a script sending forms with mistakes saves nothing, but is
# stopped too; a desk of people correcting typos stays far below it.
APPLY_POST_LIMIT = "60 per minute;600 per hour"


def _apply_limit() -> str:
    return current_app.config.get("HOURBOOK_APPLY_LIMIT", APPLY_LIMIT)


def _post_limit() -> str:
    return current_app.config.get("HOURBOOK_APPLY_POST_LIMIT", APPLY_POST_LIMIT)


def _accepted(response: Response) -> bool:
    """An application that reached the thank-you page (200: saved, already received, or the
    honeypot's silent drop). Refused forms answer 400, closed openings 409."""
    return response.status_code == 200


class ApplicationForm(FlaskForm):
    name_zh = StringField(_l("Name"), validators=[
        DataRequired(_l("Enter your name.")), Length(max=60, message=TOO_LONG)])
    name_en = StringField(_l("Name in English (optional)"), validators=[
        Optional(), Length(max=120, message=TOO_LONG)])
    gender = RadioField(_l("Gender"), choices=[SelectChoice(v, label) for v, label in GENDER_LABELS.items()],
                        invalid_choice_message=_l("Choose one of the options."),
                        validators=[InputRequired(_l("Choose one of the options."))])
    birth_date = DateField(_l("Birth date"), invalid_value_message=BAD_DATE,
                           validators=[InputRequired(_l("Enter your birth date."))])
    phone = StringField(_l("Mobile phone"), validators=[
        DataRequired(_l("Enter a phone number.")), phone_number])
    email = StringField(_l("Email (optional)"), validators=[
        Optional(), Length(max=254, message=TOO_LONG), email_address])
    id_kind = SelectField(_l("Identity document"), choices=[SelectChoice(v, label) for v, label in ID_KIND_LABELS.items()], default="national_id",
                          invalid_choice_message=_l("Choose one of the options."),
                          validators=[InputRequired(_l("Choose one of the options."))])
    id_number = StringField(_l("ID or passport number"), validators=[
        DataRequired(_l("Enter the number of your identity document.")),
        Length(max=20, message=TOO_LONG)])
    address = StringField(_l("Address"), validators=[
        DataRequired(_l("Enter your address.")), Length(max=300, message=TOO_LONG)])
    availability = TextAreaField(_l("When can you serve?"), validators=[
        DataRequired(_l("Tell us when you can serve.")), Length(max=500, message=TOO_LONG)])
    experience = TextAreaField(_l("Volunteer experience (optional)"), validators=[
        Optional(), Length(max=2000, message=TOO_LONG)])
    emergency_contact = StringField(_l("Emergency contact"), validators=[
        DataRequired(_l("Enter an emergency contact.")), Length(max=120, message=TOO_LONG)])
    emergency_phone = StringField(_l("Emergency contact's phone"), validators=[
        DataRequired(_l("Enter a phone number.")), phone_number])
    guardian_name = StringField(_l("Parent or guardian's name (under 18)"), validators=[
        Optional(), Length(max=60, message=TOO_LONG)])
    guardian_consent = BooleanField(_l("My parent or guardian agrees to my volunteering (under 18)."))
    privacy_consent = BooleanField(_l("I have read the personal-data notice and agree."))
    website = StringField(_l("Leave this empty"))  # the honeypot: people never see it

    def data_for_domain(self) -> dict:
        data = {name: getattr(self, name).data for name in r.APPLICATION_FIELDS}
        data["privacy_consent"] = bool(self.privacy_consent.data)
        return data


def _today():
    return taipei_date(utcnow())


def _opening_or_404(public_id: str) -> Opening:
    opening = db.session.scalar(select(Opening).where(Opening.public_id == public_id))
    if opening is None or opening.status.value == "draft":
        abort(404)
    return opening


def _only_unit() -> Unit:
    units = list(db.session.scalars(select(Unit).limit(2)))
    if len(units) != 1:
        abort(404)  # more than one unit: people apply through an opening's link
    return units[0]


def _show_problems(form: ApplicationForm, errors: dict[str, str]) -> None:
    for name, code in errors.items():
        if code.startswith("id:"):
            message = ID_MESSAGES.get(code[3:], code[3:])
        else:
            message = PROBLEM_MESSAGES.get(code, code)
        field = getattr(form, name, None) or form.id_number
        field.errors = [*field.errors, str(message)]


@bp.route("/openings")
@public
def index():
    return render_template("openings/index.html",
                           openings=op.published_openings(db.session, _today()))


@bp.route("/openings/<public_id>")
@public
def show(public_id: str):
    opening = _opening_or_404(public_id)
    return render_template("openings/show.html", opening=opening, unit=opening.unit,
                           contact=public_contact(db.session, opening.unit),
                           open=op.accepts_applications(opening, _today()),
                           link=url_for(".show", public_id=public_id, _external=True))


@bp.route("/openings/<public_id>/qr.svg")
@public
def qr(public_id: str):
    opening = _opening_or_404(public_id)
    payload = url_for(".show", public_id=opening.public_id, _external=True)
    image = qrcode.make(payload, image_factory=qrcode.image.svg.SvgPathImage, box_size=12, border=2)
    buffer = io.BytesIO()
    image.save(buffer)
    return Response(buffer.getvalue(), mimetype="image/svg+xml")


def _form_page(form: ApplicationForm, opening: Opening | None, unit_id: int, status: int,
               limited: bool = False):
    return render_template("openings/apply.html", form=form, opening=opening, limited=limited,
                           unit=db.session.get(Unit, unit_id), minor_age=r.ADULT_AGE), status


def _thanks(opening: Opening | None, unit_id: int, application, already: bool = False):
    unit = db.session.get(Unit, unit_id)
    return render_template("openings/thanks.html", opening=opening, application=application,
                           already=already, unit=unit, contact=public_contact(db.session, unit))


def _apply(opening: Opening | None, unit_id: int):
    g.no_store = True  # personal data on the page: never cache it
    form = ApplicationForm()
    today = _today()
    if opening is not None and not op.accepts_applications(opening, today):
        return render_template("openings/closed.html", opening=opening), \
            (409 if request.method == "POST" else 200)
    status = 200
    if request.method == "POST":
        if form.website.data:  # a bot filled the hidden field: thank it, keep nothing
            return _thanks(opening, unit_id, None)
        if form.validate_on_submit():
            try:
                application, new = r.submit_application(db.session, unit_id, opening,
                                                        form.data_for_domain(), utcnow())
            except InvalidApplication as error:
                db.session.rollback()
                _show_problems(form, error.errors)
            else:
                db.session.commit()
                return _thanks(opening, unit_id, application, already=not new)
        else:
            # the rules beyond formats too, so every problem shows at once
            data = form.data_for_domain()
            if form.birth_date.errors:
                data["birth_date"] = None
            extra = r.application_problems(data, today)
            _show_problems(form, {k: v for k, v in extra.items()
                                  if not getattr(form, k).errors})
        status = 400
    return _form_page(form, opening, unit_id, status)


def _limited(_limit) -> Response:
    """The limit reached (flask-limiter's on_breach, before the view runs): the form again with
    what was typed and a message, 429. webapp/errors.py answers a 429 with this response."""
    g.no_store = True
    if request.endpoint == "openings.apply":
        opening = _opening_or_404(request.view_args["public_id"])
        unit_id = opening.unit_id
    else:
        opening, unit_id = None, _only_unit().id
    body, status = _form_page(ApplicationForm(), opening, unit_id, 429, limited=True)
    return current_app.make_response((body, status))


@bp.route("/openings/<public_id>/apply", methods=["GET", "POST"])
@public
@limiter.limit(_apply_limit, methods=["POST"], deduct_when=_accepted, on_breach=_limited)
@limiter.limit(_post_limit, methods=["POST"], on_breach=_limited)
def apply(public_id: str):
    opening = _opening_or_404(public_id)
    return _apply(opening, opening.unit_id)


@bp.route("/apply", methods=["GET", "POST"])
@public
@limiter.limit(_apply_limit, methods=["POST"], deduct_when=_accepted, on_breach=_limited)
@limiter.limit(_post_limit, methods=["POST"], on_breach=_limited)
def apply_general():
    """An application to the unit without a particular opening (single-unit installations)."""
    unit = _only_unit()
    return _apply(None, unit.id)


# --- the applicant's own lookup (查詢報名進度) ------------------------------------------------

def _status_limit() -> str:
    """Wrong lookups allowed per address: HOURBOOK_STATUS_LIMIT, else the sign-in's limit
    (HOURBOOK_LOGIN_LIMIT): a reference number is as guessable as a volunteer number, and the
    birth date is the only secret beside it."""
    return current_app.config.get("HOURBOOK_STATUS_LIMIT") or current_app.config["HOURBOOK_LOGIN_LIMIT"]


class ApplicationLookupForm(FlaskForm):
    reference_no = StringField(_l("Reference number"), description=_l("As on the thank-you page, like A2026-00017."),
                               validators=[DataRequired(_l("Enter your reference number.")),
                                           Length(max=REFERENCE_MAX + 10, message=TOO_LONG)])
    birth_date = DateField(_l("Birth date"), invalid_value_message=BAD_DATE,
                           validators=[InputRequired(_l("Enter your birth date."))])


@bp.route("/application-status", methods=["GET", "POST"])
@public
@limiter.limit(_status_limit, methods=["POST"], deduct_when=lambda response: response.status_code != 200)
def application_lookup():
    """Reads only: a lookup writes nothing and is not audited (nothing changes; the rate limit
    on wrong answers keeps reference numbers from being guessed). A wrong reference number and
    a wrong birth date get the same answer (400)."""
    g.no_store = True  # the applicant's application on the page: never cache it
    form = ApplicationLookupForm()
    status, not_found = 200, False
    if request.method == "POST":
        status = 400
        if form.validate_on_submit():
            progress = application_status(db.session, form.reference_no.data, form.birth_date.data)
            if progress is not None:
                return render_template("openings/status.html", progress=progress, unit=progress.unit,
                                       contact=public_contact(db.session, progress.unit))
            not_found = True
    return render_template("openings/lookup.html", form=form, not_found=not_found), status
