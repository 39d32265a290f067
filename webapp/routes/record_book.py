"""Record book (志願服務紀錄冊): who is ready to apply, the application packet for the city
platform, the book's dates and number, head-shot photos, and hours from earlier units."""
from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, Optional, ValidationError

from models import record_book
from models import prior_service
from models.base import taipei_date, utcnow
from models.files import UploadRefused
from models.people import Role, Volunteer
from models.export import MIMETYPES
from models.record_book import RecordBookError
from models.prior_service import PriorCertificate, PriorHours

from ..forms import DateField, db_ids
from ..access import roles
from ..downloads import download
from ..extensions import db
from ..i18n import refusal_text
from ..printing.completion import completion_pdf
from .files import read_upload, upload_root

bp = Blueprint("record_book", __name__, url_prefix="/admin/record-book")
admin_only = roles(Role.admin)
BAD_DATE = _l("Enter a date like 2026-01-31.")


class BookForm(FlaskForm):
    applied_on = DateField(_l("Applied on"), invalid_value_message=BAD_DATE,
                           validators=[Optional()])
    issued_on = DateField(_l("Issued on"), invalid_value_message=BAD_DATE,
                          validators=[Optional()])
    book_no = StringField(_l("Record book number"), validators=[
        Length(max=record_book.BOOK_NO_MAX, message=_l("Use at most %(max)d characters."))])


def hours_number(form, field):
    try:
        value = float((field.data or "").strip())
    except ValueError:
        value = 0
    if not 0 < value < 100000:
        raise ValidationError(_l("Enter the hours as a number above 0."))


class PriorForm(FlaskForm):
    source_unit = StringField(_l("Earlier unit"), validators=[
        InputRequired(_l("Enter the unit the hours were served at.")),
        Length(max=prior_service.SOURCE_UNIT_MAX, message=_l("Use at most %(max)d characters."))])
    period_start = DateField(_l("From"), invalid_value_message=BAD_DATE,
                             validators=[InputRequired(_l("Enter the first day of the period."))])
    period_end = DateField(_l("To"), invalid_value_message=BAD_DATE,
                           validators=[InputRequired(_l("Enter the last day of the period."))])
    hours = StringField(_l("Hours"), validators=[
        InputRequired(_l("Enter the hours as a number above 0.")), hours_number])
    # the Golden Diamond volunteer's years count only service in Taipei
    in_taipei = SelectField(_l("Served in Taipei?"), choices=[
        SelectChoice("", _l("Choose…")), SelectChoice("yes", _l("Yes, in Taipei (臺北市)")),
        SelectChoice("no", _l("No, in another city or county"))],
        validators=[InputRequired(_l("Say whether the hours were served in Taipei."))])
    note = StringField(_l("Note"), validators=[
        Length(max=prior_service.NOTE_MAX, message=_l("Use at most %(max)d characters."))])


class TaipeiForm(FlaskForm):
    in_taipei = SelectField(choices=[SelectChoice("yes", ""), SelectChoice("no", "")],
                            validators=[InputRequired()])


class PriorCertificateForm(FlaskForm):
    """A performance certificate another unit issued (the national award needs one)."""
    issuing_unit = StringField(_l("Issuing unit"), validators=[
        InputRequired(_l("Enter the unit that issued the certificate.")),
        Length(max=prior_service.SOURCE_UNIT_MAX, message=_l("Use at most %(max)d characters."))])
    issued_on = DateField(_l("Issued on"), invalid_value_message=BAD_DATE,
                          validators=[InputRequired(_l("Enter the day it was issued."))])
    certificate_no = StringField(_l("Certificate number"), validators=[
        InputRequired(_l("Enter the certificate's number.")),
        Length(max=prior_service.CERTIFICATE_NO_MAX, message=_l("Use at most %(max)d characters."))])
    note = StringField(_l("Note"), validators=[
        Length(max=prior_service.NOTE_MAX, message=_l("Use at most %(max)d characters."))])


class PhotoForm(FlaskForm):
    photo = FileField(_l("Head-shot photo (JPEG or PNG)"))


UPLOAD_MESSAGES = {
    "empty": _l("Choose a photo to upload."),
    "too_large": _l("The photo is larger than %(mb)d MB."),
    "wrong_type": _l("Upload a JPEG or PNG photo."),
}


def save_photo(person: Volunteer, storage) -> str | None:
    """Crop and store an uploaded photo for `person`; the refusal's text, or None when saved."""
    from models.files import DEFAULT_MAX_BYTES

    data = read_upload(storage, DEFAULT_MAX_BYTES)
    try:
        record_book.set_photo(db.session, person, data, getattr(storage, "filename", "") or "",
                              current_user, root=upload_root())
    except RecordBookError as error:
        db.session.rollback()
        return refusal_text(error)
    except UploadRefused as error:
        db.session.rollback()
        return str(UPLOAD_MESSAGES.get(error.code, UPLOAD_MESSAGES["wrong_type"])) % {
            "mb": DEFAULT_MAX_BYTES // (1024 * 1024)}
    db.session.commit()
    return None


def _volunteer_or_404(volunteer_id: int) -> Volunteer:
    person = db.session.get(Volunteer, volunteer_id)
    if person is None or person.unit_id != current_user.unit_id:
        abort(404)
    return person


@bp.get("/")
@admin_only
def index():
    return _index_page()


def _index_page(ticked=None, left_out=(), status: int = 200):
    """The record-book list; `ticked`: the volunteer ids to tick (the ready ones when None);
    `left_out`: Readiness rows of volunteers chosen but not put in the packet."""
    rows = record_book.readiness(db.session, current_user.unit_id)
    holders = record_book.book_holders(db.session, current_user.unit_id)
    if ticked is None:
        ticked = {r.volunteer.id for r in rows if r.ready}
    return render_template("record_book/index.html", rows=rows, holders=holders,
                           ticked=set(ticked), left_out=left_out,
                           shared=record_book.shared_book_nos(db.session, current_user.unit_id)
                           ), status


@bp.post("/packet")
@admin_only
def packet():
    try:
        ids = db_ids(request.form.getlist("volunteers"))
    except ValueError:
        ids = []
    ready, left_out = record_book.packet_choice(db.session, current_user.unit_id, ids)
    if left_out:
        # nothing downloaded, no date recorded: the page names who would be left out and why,
        # with the ready ones still ticked, and the admin downloads again
        return _index_page(ticked=[r.volunteer.id for r in ready], left_out=left_out,
                           status=400)
    today = taipei_date(utcnow())
    try:
        data, _names = record_book.application_packet(
            db.session, current_user, ids, root=upload_root(), now=utcnow(),
            completion_pdf=completion_pdf,
            applied_on=today if request.form.get("mark_applied") else None)
    except RecordBookError as error:
        db.session.rollback()
        flash(refusal_text(error), "error")
        return _index_page(ticked=ids, status=400)
    except FileNotFoundError:
        db.session.rollback()
        flash(_("A stored file is missing: upload it again."), "error")
        return redirect(url_for(".index"))
    db.session.commit()
    return download(data, f"record-book-application-{today.isoformat()}.zip", MIMETYPES["zip"])


def _volunteer_page(person: Volunteer, book_form=None, prior_form=None, photo_form=None,
                    certificate_form=None, status=200):
    book_form = book_form or BookForm(obj=None, data={
        "applied_on": person.record_book_applied_on, "issued_on": person.record_book_issued_on,
        "book_no": person.record_book_no})
    prior_form = prior_form or PriorForm(formdata=None)
    photo_form = photo_form or PhotoForm(formdata=None)
    certificate_form = certificate_form or PriorCertificateForm(formdata=None)
    prior = prior_service.prior_hours_of(db.session, person.id)
    return render_template("record_book/volunteer.html", volunteer=person, book_form=book_form,
                           prior_form=prior_form, photo_form=photo_form, prior=prior,
                           certificate_form=certificate_form,
                           certificates=prior_service.prior_certificates_of(db.session, person.id),
                           ready=record_book.readiness_of(db.session, person),
                           prior_total=sum(p.minutes for p in prior)), status


@bp.get("/volunteers/<int:volunteer_id>")
@admin_only
def volunteer(volunteer_id: int):
    return _volunteer_page(_volunteer_or_404(volunteer_id))


@bp.post("/volunteers/<int:volunteer_id>/book")
@admin_only
def update_book(volunteer_id: int):
    person = _volunteer_or_404(volunteer_id)
    form = BookForm()
    if form.validate_on_submit():
        try:
            record_book.update_book(db.session, person, current_user,
                                    applied_on=form.applied_on.data, issued_on=form.issued_on.data,
                                    book_no=form.book_no.data)
        except RecordBookError as error:
            db.session.rollback()
            field = getattr(form, error.field or "book_no", form.book_no)
            field.errors = [*field.errors, refusal_text(error)]
        else:
            db.session.commit()
            flash(_("Record book details saved."), "success")
            return redirect(url_for(".volunteer", volunteer_id=person.id))
    return _volunteer_page(person, book_form=form, status=400)


@bp.post("/volunteers/<int:volunteer_id>/photo")
@admin_only
def upload_photo(volunteer_id: int):
    person = _volunteer_or_404(volunteer_id)
    form = PhotoForm()
    if form.validate_on_submit():
        problem = save_photo(person, form.photo.data)
        if problem is None:
            flash(_("Photo saved."), "success")
            return redirect(url_for(".volunteer", volunteer_id=person.id))
        form.photo.errors = [*form.photo.errors, problem]
    return _volunteer_page(person, photo_form=form, status=400)


@bp.post("/volunteers/<int:volunteer_id>/prior-hours")
@admin_only
def add_prior(volunteer_id: int):
    person = _volunteer_or_404(volunteer_id)
    form = PriorForm()
    if form.validate_on_submit():
        try:
            prior_service.add_prior_hours(
                db.session, person, current_user, source_unit=form.source_unit.data,
                period_start=form.period_start.data, period_end=form.period_end.data,
                minutes=round(float(form.hours.data) * 60), note=form.note.data or "",
                in_taipei=form.in_taipei.data == "yes")
        except RecordBookError as error:
            db.session.rollback()
            field = getattr(form, error.field or "source_unit", form.source_unit)
            field.errors = [*field.errors, refusal_text(error)]
        else:
            db.session.commit()
            flash(_("Prior hours recorded."), "success")
            return redirect(url_for(".volunteer", volunteer_id=person.id))
    return _volunteer_page(person, prior_form=form, status=400)


@bp.post("/prior-hours/<int:row_id>/taipei")
@admin_only
def set_taipei(row_id: int):
    """An entry from before the question was asked: served in Taipei or not."""
    row = db.session.get(PriorHours, row_id)
    if row is None or row.volunteer.unit_id != current_user.unit_id:
        abort(404)
    form = TaipeiForm()
    if not form.validate_on_submit():
        abort(400)
    prior_service.set_prior_in_taipei(db.session, row, form.in_taipei.data == "yes", current_user,
                                    now=utcnow())
    db.session.commit()
    flash(_("Prior hours updated."), "success")
    return redirect(url_for(".volunteer", volunteer_id=row.volunteer_id))


@bp.route("/prior-hours/<int:row_id>/delete", methods=["GET", "POST"])
@admin_only
def delete_prior(row_id: int):
    row = db.session.get(PriorHours, row_id)
    if row is None or row.volunteer.unit_id != current_user.unit_id:
        abort(404)
    if request.method == "POST":
        volunteer_id = row.volunteer_id
        prior_service.delete_prior_hours(db.session, row, current_user)
        db.session.commit()
        flash(_("Prior hours deleted."), "success")
        return redirect(url_for(".volunteer", volunteer_id=volunteer_id))
    return render_template("record_book/confirm_delete.html", row=row)



@bp.post("/volunteers/<int:volunteer_id>/certificates")
@admin_only
def add_certificate(volunteer_id: int):
    person = _volunteer_or_404(volunteer_id)
    form = PriorCertificateForm()
    if form.validate_on_submit():
        try:
            prior_service.add_prior_certificate(
                db.session, person, current_user, issuing_unit=form.issuing_unit.data,
                issued_on=form.issued_on.data, certificate_no=form.certificate_no.data,
                note=form.note.data or "", now=utcnow())
        except RecordBookError as error:
            db.session.rollback()
            field = getattr(form, error.field or "issuing_unit", form.issuing_unit)
            field.errors = [*field.errors, refusal_text(error)]
        else:
            db.session.commit()
            _forget_deadlines()
            flash(_("Performance certificate recorded."), "success")
            return redirect(url_for(".volunteer", volunteer_id=person.id) + "#certificates")
    return _volunteer_page(person, certificate_form=form, status=400)


@bp.route("/certificates/<int:row_id>/delete", methods=["GET", "POST"])
@admin_only
def delete_certificate(row_id: int):
    row = db.session.get(PriorCertificate, row_id)
    if row is None or row.volunteer.unit_id != current_user.unit_id:
        abort(404)
    if request.method == "POST":
        volunteer_id = row.volunteer_id
        prior_service.delete_prior_certificate(db.session, row, current_user, now=utcnow())
        db.session.commit()
        _forget_deadlines()
        flash(_("Performance certificate deleted."), "success")
        return redirect(url_for(".volunteer", volunteer_id=volunteer_id) + "#certificates")
    return render_template("record_book/confirm_delete_certificate.html", row=row)


def _forget_deadlines() -> None:
    """Who qualifies for the national award may have changed: the calendar counts again."""
    from .recognition import forget_deadlines

    forget_deadlines(current_user.unit_id)
