"""The volunteer's own data (PDPA §3): contact details and photo, training and record-book
status, a download of everything kept about them, and requests for correction or deletion;
admins handle those requests (deletion anonymises the person, totals stay)."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import RadioField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from models import access_log, personal_data, privacy, record_book
from models import insurance, prior_service
from models.base import utcnow
from models.people import Role
from models.export import MIMETYPES
from models.privacy import DataRequest, PrivacyError, RequestKind, RequestStatus

from ..access import roles
from ..downloads import download as file_download
from ..extensions import db
from ..forms import GENDER_LABELS, ID_KIND_LABELS, email_address, phone_number
from .files import upload_root
from .record_book import PhotoForm, save_photo
from ..i18n import refusal_text

bp = Blueprint("privacy", __name__, url_prefix="/me/data")
admin_bp = Blueprint("data_requests", __name__, url_prefix="/admin/data-requests")
volunteer_only = roles(Role.volunteer)
admin_only = roles(Role.admin)
TOO_LONG = _l("Use at most %(max)d characters.")

KIND_LABELS = {
    RequestKind.correction.value: _l("Correct my data"),
    RequestKind.deletion.value: _l("Delete my data"),
}
STATUS_LABELS = {
    RequestStatus.open.value: _l("Open"),
    RequestStatus.done.value: _l("Done"),
    RequestStatus.refused.value: _l("Refused"),
}


class ContactForm(FlaskForm):
    """What the application form requires, required here too (privacy.CONTACT_REQUIRED);
    the email is optional, as there."""
    phone = StringField(_l("Mobile phone"), validators=[
        DataRequired(_l("Enter a phone number.")), Length(max=40, message=TOO_LONG), phone_number])
    email = StringField(_l("Contact email (optional)"), validators=[
        Optional(), Length(max=254, message=TOO_LONG), email_address])
    address = StringField(_l("Address"), validators=[
        DataRequired(_l("Enter your address.")), Length(max=300, message=TOO_LONG)])
    emergency_contact = StringField(_l("Emergency contact"), validators=[
        DataRequired(_l("Enter an emergency contact.")), Length(max=120, message=TOO_LONG)])
    emergency_phone = StringField(_l("Emergency contact's phone"), validators=[
        DataRequired(_l("Enter a phone number.")), Length(max=40, message=TOO_LONG), phone_number])


class RequestForm(FlaskForm):
    kind = RadioField(_l("What do you ask for?"),
                      choices=[SelectChoice(v, label) for v, label in KIND_LABELS.items()],
                      invalid_choice_message=_l("Choose one of the options."),
                      validators=[InputRequired(_l("Choose one of the options."))])
    details = TextAreaField(_l("Details"), validators=[
        Length(max=privacy.DETAILS_MAX, message=TOO_LONG)])


class HandleForm(FlaskForm):
    outcome = RadioField(_l("Outcome"), choices=[
        SelectChoice(RequestStatus.done.value, _l("Done")),
        SelectChoice(RequestStatus.refused.value, _l("Refused"))],
        invalid_choice_message=_l("Choose one of the options."),
        validators=[InputRequired(_l("Choose one of the options."))])
    response = TextAreaField(_l("Response to the volunteer"), validators=[
        InputRequired(_l("Write a response to the volunteer.")),
        Length(max=privacy.DETAILS_MAX, message=TOO_LONG)])


def _me():
    person = current_user.volunteer
    if person is None:
        abort(404)
    return person


def _training_rows(person):
    from sqlalchemy import select

    from models.training import TrainingRecord

    return db.session.scalars(select(TrainingRecord).where(
        TrainingRecord.volunteer_id == person.id).order_by(TrainingRecord.completed_on)).all()


def _page(contact_form=None, request_form=None, photo_form=None, status=200):
    person = _me()
    if contact_form is None:
        contact_form = ContactForm(formdata=None, data={
            name: getattr(person, name) for name in privacy.CONTACT_FIELDS})
    # the sign-in email is the account's, not this one: say so, and which it is
    contact_form.email.description = _(
        "The unit writes to you at this address. You sign in with %(email)s, which stays as it "
        "is when you change this one.", email=current_user.email)
    bad_form = next((f for f in (contact_form, request_form, photo_form)
                     if f is not None and f.errors), None)
    return render_template(
        "privacy/me.html", volunteer=person, contact_form=contact_form, bad_form=bad_form,
        request_form=request_form or RequestForm(formdata=None),
        photo_form=photo_form or PhotoForm(formdata=None), ready=record_book.readiness_of(db.session, person),
        training=_training_rows(person), requests=privacy.requests_of(db.session, person.id),
        prior=prior_service.prior_hours_of(db.session, person.id),
        covers=insurance.covers_of(db.session, person.id), gender_labels=GENDER_LABELS,
        kind_labels=KIND_LABELS, status_labels=STATUS_LABELS), status


@bp.get("/")
@volunteer_only
def index():
    return _page()


@bp.post("/contact")
@volunteer_only
def contact():
    form = ContactForm()
    if form.validate_on_submit():
        try:
            privacy.update_contact(db.session, _me(), current_user,
                                   **{name: getattr(form, name).data
                                      for name in privacy.CONTACT_FIELDS})
        except PrivacyError as error:
            db.session.rollback()
            field = getattr(form, error.field or "phone", form.phone)
            field.errors = [*field.errors, refusal_text(error)]
        else:
            db.session.commit()
            flash(_("Your contact details are saved."), "success")
            return redirect(url_for(".index"))
    return _page(contact_form=form, status=400)


@bp.post("/photo")
@volunteer_only
def photo():
    form = PhotoForm()
    if form.validate_on_submit():
        problem = save_photo(_me(), form.photo.data)
        if problem is None:
            flash(_("Photo saved."), "success")
            return redirect(url_for(".index"))
        form.photo.errors = [*form.photo.errors, problem]
    return _page(photo_form=form, status=400)


def _download_words() -> personal_data.Words:
    """The download's CSV files in the reader's language, coded values worded as the pages
    word them (the domain words its own: a session's status and source, the audit's who);
    courses, sites and items by name in the reader's language."""
    from ..i18n import LANGUAGES, local
    from .insurance import KIND_LABELS as COVER_KIND_LABELS
    from .recruitment import APPLICATION_STATUS
    from .training import MODE_LABELS

    return personal_data.Words(gettext=_, name=local, values={
        "gender": GENDER_LABELS, "id_kind": ID_KIND_LABELS, "profile.account_locale": LANGUAGES,
        "training.mode": MODE_LABELS, "insurance_covers.kind": COVER_KIND_LABELS,
        "applications.status": APPLICATION_STATUS, "data_requests.kind": KIND_LABELS,
        "data_requests.status": STATUS_LABELS})


@bp.get("/download")
@volunteer_only
def download():
    person = _me()
    data = personal_data.my_data_zip(db.session, person, current_user, now=utcnow(),
                              root=upload_root(), words=_download_words())
    db.session.commit()
    return file_download(data, "my-data.zip", MIMETYPES["zip"])


@bp.post("/requests")
@volunteer_only
def make_request():
    form = RequestForm()
    if form.validate_on_submit():
        try:
            privacy.make_request(db.session, _me(), current_user, form.kind.data,
                                 form.details.data or "")
        except PrivacyError as error:
            db.session.rollback()
            field = getattr(form, error.field or "details", form.details)
            field.errors = [*field.errors, refusal_text(error)]
        else:
            db.session.commit()
            flash(_("Your request is sent to the unit admin."), "success")
            return redirect(url_for(".index"))
    return _page(request_form=form, status=400)


# --- admins ----------------------------------------------------------------------------------

def _request_or_404(request_id: int) -> DataRequest:
    req = db.session.get(DataRequest, request_id)
    if req is None or req.unit_id != current_user.unit_id:
        abort(404)
    return req


@admin_bp.get("/")
@admin_only
def requests_list():
    rows = privacy.unit_requests(db.session, current_user.unit_id)
    return render_template("privacy/requests.html", rows=rows, kind_labels=KIND_LABELS,
                           status_labels=STATUS_LABELS)


@admin_bp.route("/<int:request_id>", methods=["GET", "POST"])
@admin_only
def handle(request_id: int):
    req = _request_or_404(request_id)
    form = HandleForm()
    status = 200
    if form.is_submitted():
        status = 400
        if req.status != RequestStatus.open:
            flash(_("This request was already handled."), "error")
        elif form.validate():
            try:
                privacy.handle_request(db.session, req, current_user, outcome=form.outcome.data,
                                       response=form.response.data, root=upload_root())
            except PrivacyError as error:
                db.session.rollback()
                field = getattr(form, error.field or "response", form.response)
                field.errors = [*field.errors, refusal_text(error)]
            else:
                db.session.commit()
                flash(_("Request handled."), "success")
                return redirect(url_for(".requests_list"))
    return render_template("privacy/handle.html", req=req, form=form, kind_labels=KIND_LABELS,
                           status_labels=STATUS_LABELS), status


@admin_bp.route("/volunteers/<int:volunteer_id>/profile", methods=["GET", "POST"])
@admin_only
def correct_profile(volunteer_id: int):
    """Edit one volunteer's identity and contact details: a requested correction (from the
    request's page), or a change the admin learns of (a new phone number: from the directory
    or the volunteer's status page). `next`, a path of this site, is where the page leads
    back to and where a save returns."""
    from .auth import safe_next

    from models.contact import typed_date
    from models.idnumbers import ID_KINDS
    from models.people import Gender, Volunteer
    from models.recruitment import ADULT_AGE

    volunteer = db.session.get(Volunteer, volunteer_id)
    if volunteer is None or volunteer.unit_id != current_user.unit_id:
        abort(404)
    error, field, status = None, None, 200
    values = request.form if request.method == "POST" else None
    back = safe_next(request.values.get("next"), "")
    if request.method == "POST":
        birth = typed_date(request.form.get("birth_date", ""))
        try:
            privacy.correct_identity(
                db.session, volunteer, current_user, name_zh=request.form.get("name_zh", ""),
                name_en=request.form.get("name_en", ""), gender=request.form.get("gender", ""),
                birth_date=birth, id_kind=request.form.get("id_kind", ""),
                id_number=request.form.get("id_number", ""),
                guardian_name=request.form.get("guardian_name", ""),
                guardian_consent=request.form.get("guardian_consent") == "y")
            privacy.update_contact(db.session, volunteer, current_user,
                                   **{name: request.form.get(name, "") for name in privacy.CONTACT_FIELDS})
        except PrivacyError as exc:
            db.session.rollback()
            error, field, status = refusal_text(exc), exc.field, 400
            volunteer = db.session.get(Volunteer, volunteer_id, populate_existing=True)
        else:
            db.session.commit()
            flash(_("%(name)s: details saved.", name=volunteer.name_zh), "success")
            return redirect(back or url_for(".correct_profile", volunteer_id=volunteer_id))
    # the form shows the full ID number: logged each time it is shown
    access_log.record_view(db.session, current_user, action="id_number_view", entity="volunteer",
                           entity_id=volunteer.id, purpose="correction_form")
    db.session.commit()
    return render_template("privacy/correct.html", volunteer=volunteer, values=values, error=error,
                           field=field, genders=[g.value for g in Gender], id_kinds=ID_KINDS,
                           minor_age=ADULT_AGE, back=back), status
