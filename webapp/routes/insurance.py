"""Accident-insurance covers: who is covered, who is not, whose cover ends soon (admins record,
supervisors look)."""
from __future__ import annotations

import datetime as dt

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import RadioField, SelectMultipleField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, ValidationError

from models import insurance
from models.base import taipei_date, utcnow
from models.insurance import CoverKind, InsuranceCover, InvalidCover
from models.people import Role, Volunteer

from ..forms import DateField, db_ids
from ..access import roles
from ..extensions import db

bp = Blueprint("insurance", __name__, url_prefix="/admin/insurance")
view_roles = roles(Role.admin, Role.supervisor)
edit_roles = roles(Role.admin)

KIND_LABELS = {
    CoverKind.group.value: _l("Group accident insurance (record-book holders)"),
    CoverKind.commercial.value: _l("Commercial accident insurance"),
}
BAD_DATE = _l("Enter a date like 2026-01-31.")


# --- forms -------------------------------------------------------------------------------

class VolunteerIdsField(SelectMultipleField):
    """Volunteer ids from checkboxes; which ones are allowed is the domain's call."""

    def process_formdata(self, valuelist):
        try:
            self.data = db_ids(valuelist)
        except (TypeError, ValueError) as exc:
            self.data = []
            raise ValueError(_l("Choose volunteers from the list.")) from exc

    def pre_validate(self, form):
        pass


def end_not_before_start(form, field):
    if form.starts_on.data and field.data and field.data < form.starts_on.data:
        raise ValidationError(_l("The last day cannot be before the first day."))


class CoverForm(FlaskForm):
    kind = RadioField(
        _l("Kind of cover"),
        choices=[SelectChoice(value, label) for value, label in KIND_LABELS.items()],
        invalid_choice_message=_l("Choose one of the options."),
        validators=[InputRequired(_l("Choose the kind of cover."))],
    )
    insurer = StringField(_l("Insurer"), validators=[
        DataRequired(_l("Enter the insurer.")),
        Length(max=insurance.INSURER_MAX, message=_l("Use at most %(max)d characters.")),
    ])
    policy_no = StringField(_l("Policy number"), validators=[
        DataRequired(_l("Enter the policy number.")),
        Length(max=insurance.POLICY_NO_MAX, message=_l("Use at most %(max)d characters.")),
    ])
    starts_on = DateField(_l("First day of cover"), invalid_value_message=BAD_DATE,
                          validators=[InputRequired(_l("Enter the first day of cover."))])
    ends_on = DateField(_l("Last day of cover"), invalid_value_message=BAD_DATE,
                        validators=[InputRequired(_l("Enter the last day of cover.")),
                                    end_not_before_start])


class BulkCoverForm(CoverForm):
    volunteers = VolunteerIdsField(_l("Volunteers"), coerce=int)


class DayForm(FlaskForm):
    class Meta:
        csrf = False  # a GET filter, changes nothing

    on = DateField(_l("Show the lists for"), invalid_value_message=BAD_DATE)


DOMAIN_MESSAGES = {
    "required": _l("This is required."),
    "too_long": _l("This is too long."),
    "unknown_kind": _l("Choose one of the options."),
    "end_before_start": _l("The last day cannot be before the first day."),
    "not_in_unit": _l("Choose volunteers of your own unit only."),
    "none_chosen": _l("Choose at least one volunteer."),
}


def _show_domain_errors(form: FlaskForm, error: InvalidCover) -> None:
    """Put the domain's refusals on the form's fields, in the reader's language."""
    names = _(", ").join(f"{v.name_zh} ({v.volunteer_no})" for v in error.volunteers)
    for field_name, code in error.errors.items():
        if code == "group_needs_record_book":
            message = (_("Group accident insurance covers record-book holders only; these "
                         "volunteers have no record book yet: %(names)s. Record commercial "
                         "cover for them.", names=names) if names else
                       _("Group accident insurance covers record-book holders only, and this "
                         "volunteer has no record book yet: record commercial cover."))
        elif code == "duplicate":
            message = (_("Already recorded with this policy number for overlapping days: %(names)s",
                         names=names) if names else
                       _("This volunteer already has this policy number for overlapping days."))
        else:
            message = str(DOMAIN_MESSAGES.get(code, code))
        field = getattr(form, field_name, None)
        if field is None:
            field = form.policy_no
        field.errors = [*field.errors, message]


# --- helpers -----------------------------------------------------------------------------

def _today() -> dt.date:
    return taipei_date(utcnow())


def _chosen_day() -> tuple[DayForm, dt.date, bool]:
    """The day the lists are for: ?on=YYYY-MM-DD, or today in Taipei."""
    form = DayForm(request.args)
    if "on" not in request.args or not request.args["on"]:
        form.on.data = _today()
        return form, _today(), True
    if form.validate():
        return form, form.on.data, True
    return form, _today(), False


def _volunteer_or_404(volunteer_id: int) -> Volunteer:
    volunteer = db.session.get(Volunteer, volunteer_id)
    if volunteer is None or volunteer.unit_id != current_user.unit_id:
        abort(404)
    return volunteer


def _cover_or_404(cover_id: int) -> InsuranceCover:
    cover = db.session.get(InsuranceCover, cover_id)
    if cover is None or cover.volunteer.unit_id != current_user.unit_id:
        abort(404)
    return cover


def _cover_values(form: CoverForm) -> dict:
    return {"kind": form.kind.data, "insurer": form.insurer.data,
            "policy_no": form.policy_no.data, "starts_on": form.starts_on.data,
            "ends_on": form.ends_on.data}


# --- pages -------------------------------------------------------------------------------

@bp.get("/")
@view_roles
def overview():
    form, day, ok = _chosen_day()
    statuses = insurance.cover_overview(db.session, current_user.unit_id, day)  # active volunteers
    context = {
        "form": form,
        "day": day,
        "today": _today(),
        "uninsured": insurance.uninsured(statuses),
        "expiring": insurance.expiring(statuses, insurance.EXPIRING_DAYS),
        "volunteers": len(statuses),  # none: a new unit, not "everyone covered"
        "days": insurance.EXPIRING_DAYS,
    }
    status = 200 if ok else 400
    if request.headers.get("HX-Request"):
        return render_template("insurance/_lists.html", **context), status
    return render_template("insurance/overview.html", **context), status


@bp.get("/volunteers")
@view_roles
def volunteers():
    form, day, ok = _chosen_day()
    rows = insurance.cover_overview(db.session, current_user.unit_id, day, include_inactive=True)
    return render_template("insurance/volunteers.html", form=form, day=day, rows=rows,
                           days=insurance.EXPIRING_DAYS, today=_today()), 200 if ok else 400


@bp.get("/volunteers/<int:volunteer_id>")
@view_roles
def volunteer(volunteer_id: int):
    person = _volunteer_or_404(volunteer_id)
    today = _today()
    covers = insurance.covers_of(db.session, person.id)
    return render_template("insurance/volunteer.html", volunteer=person, covers=covers,
                           today=today, covered_until=insurance.covered_until(covers, today))


@bp.route("/volunteers/<int:volunteer_id>/covers/new", methods=["GET", "POST"])
@edit_roles
def add_cover(volunteer_id: int):
    person = _volunteer_or_404(volunteer_id)
    form = CoverForm()
    if request.method == "GET":
        today = _today()
        until = insurance.covered_until(insurance.covers_of(db.session, person.id), today)
        form.starts_on.data = until + dt.timedelta(days=1) if until else today
        form.kind.data = CoverKind.group.value if person.record_book_no else \
            CoverKind.commercial.value
    elif form.validate_on_submit():
        try:
            insurance.add_cover(db.session, person, actor=current_user, **_cover_values(form))
        except InvalidCover as error:
            db.session.rollback()
            _show_domain_errors(form, error)
        else:
            db.session.commit()
            flash(_("Cover recorded for %(name)s.", name=person.name_zh), "success")
            return redirect(url_for(".volunteer", volunteer_id=person.id))
    status = 400 if request.method == "POST" else 200
    return render_template("insurance/cover_form.html", form=form, volunteer=person,
                           cover=None), status


@bp.route("/covers/bulk", methods=["GET", "POST"])
@edit_roles
def add_bulk():
    form = BulkCoverForm()
    today = _today()
    rows = insurance.cover_overview(db.session, current_user.unit_id, today)
    if request.method == "GET":
        form.starts_on.data = today
        preselect = request.args.get("preselect")
        if preselect == "uninsured":
            form.volunteers.data = [r.volunteer.id for r in rows if not r.insured]
        elif preselect == "expiring":
            form.volunteers.data = [r.volunteer.id for r in rows if r.insured and r.expiring()]
        else:
            form.volunteers.data = []
    elif form.validate_on_submit():
        try:
            covers = insurance.add_covers_for_many(
                db.session, form.volunteers.data, actor=current_user, **_cover_values(form))
        except InvalidCover as error:
            db.session.rollback()
            _show_domain_errors(form, error)
        else:
            db.session.commit()
            flash(ngettext("Cover recorded for %(num)d volunteer.", "Cover recorded for %(num)d volunteers.", len(covers)), "success")
            return redirect(url_for(".overview"))
    chosen = set(form.volunteers.data or [])
    status = 400 if request.method == "POST" else 200
    return render_template("insurance/bulk_form.html", form=form, rows=rows, chosen=chosen,
                           days=insurance.EXPIRING_DAYS), status


@bp.route("/covers/<int:cover_id>/edit", methods=["GET", "POST"])
@edit_roles
def edit_cover(cover_id: int):
    cover = _cover_or_404(cover_id)
    form = CoverForm(obj=cover) if request.method == "GET" else CoverForm()
    if request.method == "GET":
        form.kind.data = cover.kind.value
    elif form.validate_on_submit():
        try:
            insurance.update_cover(db.session, cover, current_user, **_cover_values(form))
        except InvalidCover as error:
            db.session.rollback()
            _show_domain_errors(form, error)
        else:
            db.session.commit()
            flash(_("Cover updated."), "success")
            return redirect(url_for(".volunteer", volunteer_id=cover.volunteer_id))
    status = 400 if request.method == "POST" else 200
    return render_template("insurance/cover_form.html", form=form, volunteer=cover.volunteer,
                           cover=cover), status


@bp.route("/covers/<int:cover_id>/delete", methods=["GET", "POST"])
@edit_roles
def delete_cover(cover_id: int):
    cover = _cover_or_404(cover_id)
    if request.method == "POST":
        volunteer_id = cover.volunteer_id
        insurance.delete_cover(db.session, cover, current_user)
        db.session.commit()
        flash(_("Cover deleted."), "success")
        return redirect(url_for(".volunteer", volunteer_id=volunteer_id))
    return render_template("insurance/confirm_delete.html", cover=cover,
                           kind_labels=KIND_LABELS)


@bp.app_template_filter("cover_kind")
def cover_kind_label(kind) -> str:
    value = getattr(kind, "value", kind)
    return str(KIND_LABELS.get(value, value))

