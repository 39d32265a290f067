"""Training (教育訓練): the course catalogue, each volunteer's records and progress, the unit's
own training events with a roster, and completion certificates. Admins edit; supervisors look."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from flask import (Blueprint, Response, abort, flash, redirect, render_template,
                   request, url_for)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from sqlalchemy import select
from wtforms import (BooleanField, DecimalField, RadioField, SelectField, StringField,
                     TextAreaField)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from models import completion, training, training_events
from models.base import taipei_date, utcnow
from models.export import MIMETYPES
from models.files import UploadRefused
from models.people import Role, Volunteer, VolunteerStatus
from models.training import (InvalidTraining, TrainingCourse, TrainingEvent, TrainingKind,
                             TrainingMode, TrainingRecord)
from models.unit import CATEGORY_LABELS as unit_category_labels, Category, Unit

from ..forms import DateField, db_ids
from ..access import roles
from ..downloads import download
from ..extensions import db
from ..i18n import local
from ..printing.completion import completion_pdf
from .files import read_upload, refusal_message, upload_root

bp = Blueprint("training", __name__, url_prefix="/admin/training")
view_roles = roles(Role.admin, Role.supervisor)
edit_roles = roles(Role.admin)

MODE_LABELS = {
    TrainingMode.in_person.value: _l("In person"),
    TrainingMode.online.value: _l("Online (Taipei E-University)"),
    TrainingMode.group_viewing.value: _l("Group viewing run by the unit"),
}
CATEGORY_LABELS = {value: _l(label) for value, label in unit_category_labels.items()}
BAD_DATE = _l("Enter a date like 2026-01-31.")
DOMAIN_MESSAGES = {
    "required": _l("This is required."),
    "too_long": _l("This is too long."),
    "not_positive": _l("Enter more than 0 hours."),
    "too_many": _l("That is too many hours."),
    "over_course": _l("At most the course's %(hours)s h. If the certificate says more, change the "
                      "course's hours under Courses first."),
    "unknown": _l("Choose one of the options."),
    "other_unit": _l("Choose from your own unit only."),
    "future": _l("The date cannot be in the future."),
    "duplicate": _l("This course is already recorded for this volunteer on this day."),
    "before_birth": _l("The date cannot be before the volunteer's birth date."),
    "repeated": _l("This course is already recorded for this volunteer (completed on %(day)s). "
                   "Correct that record instead of adding a second one."),
    "event_exists": _l("This course is already held on this day at this place: open it from the list."),
    "bad_placeholder": _l("Use only the placeholders listed below, and write $$ for a dollar sign."),
    "nothing_to_certify": _l("This volunteer has no course run by the unit yet."),
}


# --- forms -------------------------------------------------------------------------------

def _hours_field(label):
    return DecimalField(label, places=2,
                        invalid_value_message=_l("Enter hours as a number, e.g. 1.5."),
                        validators=[InputRequired(_l("Enter the hours.")),
                                    NumberRange(min=Decimal("0.1"), max=Decimal("24"),
                                                message=_l("Enter between 0.1 and 24 hours."))])


def _course_id(value) -> int | None:
    """The course select's value: None for its "Choose the course" option."""
    return None if value in ("", None) else int(value)


def _minutes(hours: Decimal | None) -> int | None:
    return None if hours is None else int((hours * 60).to_integral_value())


class RecordForm(FlaskForm):
    course_id = SelectField(_l("Course"), coerce=_course_id,
                            invalid_choice_message=_l("Choose one of the options."),
                            validators=[InputRequired(_l("Choose the course."))])
    completed_on = DateField(_l("Date on the certificate"), invalid_value_message=BAD_DATE,
                             validators=[InputRequired(_l("Enter the date."))])
    # Left empty: the course's own hours (most certificates carry exactly those).
    hours = DecimalField(_l("Hours (empty: the course's hours)"), places=2,
                         invalid_value_message=_l("Enter hours as a number, e.g. 1.5."),
                         validators=[Optional(), NumberRange(
                             min=Decimal("0.1"), max=Decimal("24"),
                             message=_l("Enter between 0.1 and 24 hours."))])
    mode = RadioField(_l("How it was taken"),
                      choices=[SelectChoice(v, label) for v, label in MODE_LABELS.items()],
                      invalid_choice_message=_l("Choose one of the options."),
                      validators=[InputRequired(_l("Choose how it was taken."))])
    provider = StringField(_l("Provider"), validators=[
        Length(max=training.PROVIDER_MAX, message=_l("Use at most %(max)d characters."))])
    certificate_no = StringField(_l("Certificate number"), validators=[
        Length(max=training.CERT_NO_MAX, message=_l("Use at most %(max)d characters."))])
    certificate = FileField(_l("Certificate file (PDF, JPEG or PNG, at most 5 MB)"))


class CourseForm(FlaskForm):
    name = StringField(_l("Name"), validators=[
        DataRequired(_l("Enter the name.")),
        Length(max=training.NAME_MAX, message=_l("Use at most %(max)d characters."))])
    name_en = StringField(_l("Name in English"), validators=[
        Length(max=160, message=_l("Use at most %(max)d characters."))])
    hours = _hours_field(_l("Hours"))
    active = BooleanField(_l("In use"))


class EventForm(FlaskForm):
    course_id = SelectField(_l("Course"), coerce=_course_id,
                            invalid_choice_message=_l("Choose one of the options."),
                            validators=[InputRequired(_l("Choose the course."))])
    held_on = DateField(_l("Date"), invalid_value_message=BAD_DATE,
                        validators=[InputRequired(_l("Enter the date."))])
    place = StringField(_l("Place"), validators=[
        Length(max=training.PLACE_MAX, message=_l("Use at most %(max)d characters."))])
    mode = RadioField(_l("How it is run"),
                      choices=[SelectChoice(v, label) for v, label in MODE_LABELS.items()],
                      invalid_choice_message=_l("Choose one of the options."),
                      validators=[InputRequired(_l("Choose how it is run."))])


class TemplateForm(FlaskForm):
    text = TextAreaField(_l("Certificate text"), validators=[
        DataRequired(_l("Enter the text.")),
        Length(max=completion.TEMPLATE_MAX, message=_l("Use at most %(max)d characters."))])


class AttendanceForm(FlaskForm):
    pass  # the ticked volunteers come as request.form.getlist("volunteers")


# --- helpers -----------------------------------------------------------------------------

def _today() -> dt.date:
    return taipei_date(utcnow())


def _volunteer_or_404(volunteer_id: int) -> Volunteer:
    volunteer = db.session.get(Volunteer, volunteer_id)
    if volunteer is None or volunteer.unit_id != current_user.unit_id:
        abort(404)
    return volunteer


def _owned_or_404(model, row_id: int):
    row = db.session.get(model, row_id)
    unit_id = None
    if isinstance(row, TrainingRecord):
        unit_id = row.volunteer.unit_id
    elif row is not None:
        unit_id = row.unit_id
    if row is None or unit_id != current_user.unit_id:
        abort(404)
    return row


def course_name(course) -> str:
    """A course's name in the reader's language, with its category for a special course: both
    categories have a 綜合討論 and a unit briefing, which the name alone cannot tell apart."""
    name = local(course)
    if course.kind == TrainingKind.special and course.category is not None:
        return _("%(course)s · %(category)s", course=name,
                 category=CATEGORY_LABELS[course.category.value])
    return name


def _course_choices(include_inactive=False) -> list[SelectChoice]:
    """The unit's courses grouped (optgroups) as basic training, then special training of the
    unit's own category, then of the other; each special course's label names its category too
    (the closed select shows only the option). First a "Choose the course" option, chosen
    until the admin picks one: a form sent untouched names no course and is refused."""
    category = db.session.get(Unit, current_user.unit_id).category
    basic = str(_("Basic training"))
    groups: dict[str, list] = {basic: []}
    for cat in sorted(CATEGORY_LABELS, key=lambda c: c != category.value):
        groups[_("Special training · %(category)s", category=CATEGORY_LABELS[cat])] = []
    for c in training.courses_of(db.session, current_user.unit_id, include_inactive):
        key = (basic if c.kind == TrainingKind.basic else
               _("Special training · %(category)s", category=CATEGORY_LABELS[c.category.value]))
        groups[key].append(SelectChoice(
            c.id, _("%(course)s (%(hours)s h)", course=course_name(c), hours=f"{c.minutes / 60:g}"),
            optgroup=key))
    return [SelectChoice("", _("Choose the course")),
            *(choice for options in groups.values() for choice in options)]


def _show_domain_errors(form, error: InvalidTraining) -> None:
    for name, code in error.errors.items():
        text = str(DOMAIN_MESSAGES.get(code, code))
        if error.params:
            text = text % error.params
        field = getattr(form, {"minutes": "hours"}.get(name, name), None)
        if field is None:
            flash(text, "error")
            continue
        field.errors = [*field.errors, text]


def _active_volunteers():
    return list(db.session.scalars(select(Volunteer).where(
        Volunteer.unit_id == current_user.unit_id, Volunteer.status == VolunteerStatus.active)
        .order_by(Volunteer.volunteer_no)))


# --- progress ----------------------------------------------------------------------------

@bp.get("/")
@view_roles
def index():
    people = _active_volunteers()
    statuses = training.training_statuses(db.session, people, current_user.unit.category)
    rows = [{"volunteer": v, "status": statuses[v.id]} for v in people]
    return render_template("training/index.html", rows=rows,
                           category=current_user.unit.category)


@bp.get("/volunteers/<int:volunteer_id>")
@view_roles
def volunteer(volunteer_id: int):
    person = _volunteer_or_404(volunteer_id)
    statuses = [training.training_status(db.session, person, c) for c in Category]
    return render_template("training/volunteer.html", volunteer=person, statuses=statuses,
                           records=training.records_of(db.session, person.id),
                           unit_records=completion.unit_course_records(db.session, person),
                           issued=completion.issued_completions(db.session, person.id),
                           form=AttendanceForm())


# --- records -----------------------------------------------------------------------------

def _save_record(form, person, record=None):
    """Validate, store the file, save; returns the record or None (errors on the form)."""
    course = db.session.get(TrainingCourse, form.course_id.data)
    upload = form.certificate.data
    certificate = None
    if upload and getattr(upload, "filename", ""):
        certificate = read_upload(upload, training.CERTIFICATE_MAX_BYTES)
    values = dict(course=course, completed_on=form.completed_on.data,
                  minutes=_minutes(form.hours.data), mode=form.mode.data,
                  provider=form.provider.data, certificate_no=form.certificate_no.data,
                  certificate=certificate, certificate_name=getattr(upload, "filename", "") or "",
                  root=upload_root(), actor=current_user, today=_today())
    try:
        if record is None:
            record = training.add_record(db.session, person, **values)
        else:
            record = training.update_record(db.session, record, **values)
    except InvalidTraining as error:
        db.session.rollback()
        _show_domain_errors(form, error)
        return None
    except UploadRefused as refused:
        db.session.rollback()
        form.certificate.errors = [refusal_message(refused, training.CERTIFICATE_MAX_BYTES)]
        return None
    db.session.commit()
    return record


@bp.route("/volunteers/<int:volunteer_id>/records/new", methods=["GET", "POST"])
@edit_roles
def add_record(volunteer_id: int):
    person = _volunteer_or_404(volunteer_id)
    form = RecordForm()
    form.course_id.choices = _course_choices()
    if request.method == "GET":
        form.completed_on.data = _today()
        form.mode.data = TrainingMode.in_person.value
    elif form.validate_on_submit() and _save_record(form, person):
        flash(_("Training recorded for %(name)s.", name=person.name_zh), "success")
        return redirect(url_for(".volunteer", volunteer_id=person.id))
    return render_template("training/record_form.html", form=form, volunteer=person,
                           record=None), 400 if request.method == "POST" else 200


@bp.route("/records/<int:record_id>/edit", methods=["GET", "POST"])
@edit_roles
def edit_record(record_id: int):
    record = _owned_or_404(TrainingRecord, record_id)
    form = RecordForm(obj=record) if request.method == "GET" else RecordForm()
    form.course_id.choices = _course_choices(include_inactive=True)
    if request.method == "GET":
        form.mode.data = record.mode.value
        form.hours.data = Decimal(record.minutes) / 60
    elif form.validate_on_submit() and _save_record(form, record.volunteer, record):
        flash(_("Training record updated."), "success")
        return redirect(url_for(".volunteer", volunteer_id=record.volunteer_id))
    return render_template("training/record_form.html", form=form, volunteer=record.volunteer,
                           record=record), 400 if request.method == "POST" else 200


@bp.route("/records/<int:record_id>/delete", methods=["GET", "POST"])
@edit_roles
def delete_record(record_id: int):
    record = _owned_or_404(TrainingRecord, record_id)
    form = AttendanceForm()
    if request.method == "POST" and form.validate_on_submit():
        volunteer_id = record.volunteer_id
        training.delete_record(db.session, record, actor=current_user, root=upload_root())
        db.session.commit()
        flash(_("Training record deleted."), "success")
        return redirect(url_for(".volunteer", volunteer_id=volunteer_id))
    return render_template("training/confirm_delete.html", record=record, form=form)


# --- catalogue ---------------------------------------------------------------------------

@bp.get("/courses")
@view_roles
def courses():
    return render_template("training/courses.html", form=AttendanceForm(),
                           courses=training.courses_of(db.session, current_user.unit_id))


@bp.post("/courses/seed")
@edit_roles
def seed_courses():
    form = AttendanceForm()
    if form.validate_on_submit():
        added = training.seed_catalogue(db.session, current_user.unit, actor=current_user)
        db.session.commit()
        flash(ngettext("%(num)d course added.", "%(num)d courses added.", len(added)), "success")
    return redirect(url_for(".courses"))


@bp.route("/courses/<int:course_id>/edit", methods=["GET", "POST"])
@edit_roles
def edit_course(course_id: int):
    course = _owned_or_404(TrainingCourse, course_id)
    form = CourseForm(obj=course) if request.method == "GET" else CourseForm()
    if request.method == "GET":
        form.hours.data = Decimal(course.minutes) / 60
    elif form.validate_on_submit():
        try:
            training.update_course(db.session, course, current_user, name=form.name.data,
                                   name_en=form.name_en.data, minutes=_minutes(form.hours.data),
                                   active=form.active.data)
        except InvalidTraining as error:
            db.session.rollback()
            _show_domain_errors(form, error)
        else:
            db.session.commit()
            flash(_("Course updated."), "success")
            return redirect(url_for(".courses"))
    return render_template("training/course_form.html", form=form, course=course), \
        400 if request.method == "POST" else 200


# --- events ------------------------------------------------------------------------------

@bp.get("/events")
@view_roles
def events():
    return render_template("training/events.html",
                           events=training_events.events_of(db.session, current_user.unit_id))


@bp.route("/events/new", methods=["GET", "POST"])
@edit_roles
def new_event():
    form = EventForm()
    form.course_id.choices = _course_choices()
    if request.method == "GET":
        form.held_on.data = _today()
        form.mode.data = TrainingMode.in_person.value
    elif form.validate_on_submit():
        try:
            event = training_events.create_event(
                db.session, current_user.unit_id,
                course=db.session.get(TrainingCourse, form.course_id.data),
                held_on=form.held_on.data, place=form.place.data, mode=form.mode.data,
                actor=current_user)
        except InvalidTraining as error:
            db.session.rollback()
            _show_domain_errors(form, error)
        else:
            db.session.commit()
            flash(_("Training event added. Tick who attended."), "success")
            return redirect(url_for(".event", event_id=event.id))
    return render_template("training/event_form.html", form=form), \
        400 if request.method == "POST" else 200


def _roster_context(event, saved=False, error=None):
    present = training_events.attendees(db.session, event)
    return {"event": event, "volunteers": _active_volunteers(), "present": present,
            "form": AttendanceForm(), "saved": saved, "error": error}


def _attendance_error(refused: InvalidTraining) -> str:
    if refused.errors.get("completed_on") == "future":
        return _("This event is after today: record who attended from the day it is held.")
    if refused.errors.get("completed_on") == "before_birth":
        return _("This event is before the birth date of a volunteer chosen.")
    return _("Choose volunteers of your own unit only.")


@bp.get("/events/<int:event_id>")
@view_roles
def event(event_id: int):
    ev = _owned_or_404(TrainingEvent, event_id)
    return render_template("training/event.html", **_roster_context(ev))


@bp.post("/events/<int:event_id>/attendance")
@edit_roles
def attendance(event_id: int):
    ev = _owned_or_404(TrainingEvent, event_id)
    form = AttendanceForm()
    error, status = None, 200
    if not form.validate_on_submit():
        error, status = _("The form has expired. Reload the page and try again."), 400
    else:
        try:
            ids = db_ids(request.form.getlist("volunteers"))
            training_events.mark_attendance(db.session, ev, ids, actor=current_user, today=_today(),
                                     root=upload_root())
        except InvalidTraining as refused:
            db.session.rollback()
            error, status = _attendance_error(refused), 400
        except ValueError:
            db.session.rollback()
            error, status = _("Choose volunteers of your own unit only."), 400
        else:
            db.session.commit()
    context = _roster_context(ev, saved=error is None, error=error)
    if request.headers.get("HX-Request"):
        return render_template("training/_roster.html", **context), status
    if error is None:
        flash(_("Attendance saved: %(n)d present.", n=len(context["present"])), "success")
        return redirect(url_for(".event", event_id=ev.id))
    return render_template("training/event.html", **context), status


# --- completion certificate --------------------------------------------------------------

@bp.route("/certificate-template", methods=["GET", "POST"])
@edit_roles
def certificate_template():
    form = TemplateForm()
    if request.method == "GET":
        form.text.data = completion.completion_template(db.session, current_user.unit_id)
    elif form.validate_on_submit():
        try:
            completion.save_completion_template(db.session, current_user.unit_id, form.text.data,
                                                actor=current_user)
        except InvalidTraining as error:
            db.session.rollback()
            _show_domain_errors(form, error)
        else:
            db.session.commit()
            flash(_("Certificate text saved."), "success")
            return redirect(url_for(".certificate_template"))
    return render_template("training/template_form.html", form=form,
                           fields=completion.TEMPLATE_FIELDS), \
        400 if request.method == "POST" else 200


@bp.post("/volunteers/<int:volunteer_id>/completion")
@edit_roles
def issue_completion(volunteer_id: int):
    person = _volunteer_or_404(volunteer_id)
    form = AttendanceForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        cert = completion.issue_completion(db.session, person, actor=current_user, now=utcnow())
    except InvalidTraining:
        db.session.rollback()
        flash(str(DOMAIN_MESSAGES["nothing_to_certify"]), "error")
        return redirect(url_for(".volunteer", volunteer_id=person.id))
    pdf = completion_pdf(cert)  # before commit: a failure gives the number back (a reprint: the same PDF)
    db.session.commit()
    return _completion_response(cert, pdf)


@bp.get("/volunteers/<int:volunteer_id>/completion/<int:certificate_id>")
@edit_roles
def reprint_completion(volunteer_id: int, certificate_id: int):
    """A certificate issued earlier, printed again as it was: same number, date and text."""
    person = _volunteer_or_404(volunteer_id)
    cert = completion.issued_completion(db.session, person, certificate_id)
    if cert is None:
        abort(404)
    return _completion_response(cert, completion_pdf(cert))


def _completion_response(cert, pdf: bytes) -> Response:
    return download(pdf, f"completion-{cert.serial}.pdf", MIMETYPES["pdf"])


@bp.app_template_filter("training_mode")
def training_mode_label(mode) -> str:
    value = getattr(mode, "value", mode)
    return str(MODE_LABELS.get(value, value))


bp.add_app_template_filter(course_name, "course_name")


@bp.app_template_filter("category_label")
def category_label(category) -> str:
    value = getattr(category, "value", category)
    return str(CATEGORY_LABELS.get(value, value or ""))
