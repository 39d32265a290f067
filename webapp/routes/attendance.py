"""Attendance (出缺席記錄): shifts, the day's roster with excused marks, month sheets, exports.

Supervisors see and act on their assigned sites only, admins on every site of the unit,
volunteers not at all. The rules live in models/attendance.py; this module parses, checks
who may act, calls them and renders. htmx: excusing answers with the changed roster row (and
the day's counts out of band); a refusal comes back as the form row with the message (400).
"""
from __future__ import annotations

import datetime as dt

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from jinja2 import pass_context
from sqlalchemy import select
from wtforms import MonthField, RadioField, SelectField, StringField, TimeField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, Optional

from models import attendance as att
from models import shift_changes
from models.attendance import Repeat, Status
from models.shift_changes import AttendanceRefused, InvalidShift
from models.base import taipei_date, utcnow
from models.export import MIMETYPES
from models.people import User, Volunteer, VolunteerStatus
from models.service import Site, service_items_for
from models.verification import may_act_on, supervised_site_ids

from ..forms import DateField, db_id, plain_date
from ..access import STAFF, roles
from ..downloads import download
from ..extensions import db
from ..i18n import local
from ..printing import attendance as sheets

bp = Blueprint("attendance", __name__, url_prefix="/attendance")
staff = roles(*STAFF)

STATUS_LABELS = {
    Status.present: _l("Present"),
    Status.late: _l("Late"),
    Status.left_early: _l("Left early"),
    Status.late_left_early: _l("Late, left early"),
    Status.absent: _l("Absent"),
    Status.excused: _l("Excused"),
    Status.upcoming: _l("Not started yet"),
    Status.unscheduled: _l("Unscheduled"),
}
# The existing status pill colours: green, amber, red, blue, grey.
STATUS_TONES = {
    Status.present: "status-verified", Status.late: "status-closed",
    Status.left_early: "status-closed", Status.late_left_early: "status-closed",
    Status.absent: "status-needs_review", Status.excused: "status-open",
    Status.upcoming: "status-rejected", Status.unscheduled: "status-rejected",
}
REPEAT_LABELS = {Repeat.once.value: _l("Once"), Repeat.weekly.value: _l("Every week")}

BAD_DATE = _l("Enter a date like 2026-01-31.")
BAD_MONTH = _l("Enter a month like 2026-01.")
BAD_TIME = _l("Enter a time like 09:30.")

SHIFT_MESSAGES = {
    "required": _l("This is required."),
    "unknown_site": _l("Choose a site from the list."),
    "inactive_site": _l("This site is not in use."),
    "unknown_item": _l("Choose a service item from the list."),
    "unknown_volunteer": _l("Choose a volunteer from the list."),
    "inactive_volunteer": _l("This volunteer has left and cannot be scheduled."),
    "unknown_repeat": _l("Choose one of the options."),
    "end_before_start": _l("The end time must be after the start time."),
    "last_before_first": _l("The last day cannot be before the first day."),
}
REFUSALS = {
    "not_scheduled": _l("There is no shift on that day."),
    "reason_required": _l("Enter the reason."),
    "reason_too_long": _l("Use at most %(max)d characters."),
    "not_excused": _l("This is not marked excused."),
    "already_cancelled": _l("This shift is already cancelled."),
    "started": _l("This shift has already started, so it stays on the record. "
                  "Mark the volunteer excused instead."),
    "over": _l("This shift is over, so it stays on the record."),
}


def refusal_text(code: str) -> str:
    return str(REFUSALS.get(code, code)) % {"max": att.REASON_MAX}


# --- forms -------------------------------------------------------------------------------

class ShiftForm(FlaskForm):
    # Choices are offered; which ids are allowed is the domain's call (it says why not).
    site_id = SelectField(_l("Site"), validate_choice=False)
    volunteer_id = SelectField(_l("Volunteer"), validate_choice=False)
    service_item_id = SelectField(_l("Service item"), validate_choice=False)
    repeat = RadioField(_l("Repeat"), choices=[SelectChoice(k, v) for k, v in REPEAT_LABELS.items()],
                        default=Repeat.once.value, validate_choice=False)
    starts_on = DateField(_l("Day (the first day of a weekly shift)"),
                          invalid_value_message=BAD_DATE,
                          validators=[InputRequired(_l("Enter the day."))])
    ends_on = DateField(_l("Last day (weekly shifts; leave empty for no end)"),
                        invalid_value_message=BAD_DATE, validators=[Optional()])
    start_time = TimeField(_l("Starts at"), format=["%H:%M", "%H:%M:%S"],
                           invalid_value_message=BAD_TIME,
                           validators=[InputRequired(_l("Enter the start time."))])
    end_time = TimeField(_l("Ends at"), format=["%H:%M", "%H:%M:%S"],
                         invalid_value_message=BAD_TIME,
                         validators=[InputRequired(_l("Enter the end time."))])


class ExcuseForm(FlaskForm):
    reason = StringField(_l("Reason"), validators=[
        InputRequired(_l("Enter the reason.")),
        Length(max=att.REASON_MAX, message=_l("Use at most %(max)d characters."))])


class WithdrawForm(FlaskForm):
    pass


class DayForm(FlaskForm):
    class Meta:
        csrf = False  # a GET filter, changes nothing

    on = DateField(_l("Day"), invalid_value_message=BAD_DATE)


class MonthForm(FlaskForm):
    class Meta:
        csrf = False

    month = MonthField(_l("Month"), invalid_value_message=BAD_MONTH)


# --- helpers -----------------------------------------------------------------------------

def _htmx() -> bool:
    return bool(request.headers.get("HX-Request"))


def _me() -> User:
    return db.session.get(User, current_user.id)


def _today() -> dt.date:
    return taipei_date(utcnow())


def _sites_for(user: User, active_only: bool = False) -> list[Site]:
    allowed = supervised_site_ids(db.session, user)
    query = select(Site).where(Site.unit_id == user.unit_id)
    if allowed is not None:
        query = query.where(Site.id.in_(allowed or {-1}))
    if active_only:
        query = query.where(Site.active.is_(True))
    return list(db.session.scalars(query.order_by(Site.active.desc(), Site.name_zh, Site.id)))


def _site_or_abort(site_id: int) -> Site:
    """404 when the site is not the unit's; 403 when it is not one the user may act on."""
    site = db.session.get(Site, site_id)
    if site is None or site.unit_id != current_user.unit_id:
        abort(404)
    if not may_act_on(db.session, _me(), site.id, site.unit_id):
        abort(403)
    return site


def _shift_or_abort(shift_id: int) -> att.Shift:
    shift = db.session.get(att.Shift, shift_id)
    if shift is None or shift.unit_id != current_user.unit_id:
        abort(404)
    if not may_act_on(db.session, _me(), shift.site_id, shift.unit_id):
        abort(403)
    return shift


def _day_or_404(text: str) -> dt.date:
    day = plain_date(text)
    if day is None:
        abort(404)
    return day


def _chosen_day() -> tuple[DayForm, dt.date, bool]:
    """?on=YYYY-MM-DD, or today in Taipei; a bad value shows today with the message (400)."""
    form = DayForm(request.args)
    if not request.args.get("on"):
        form.on.data = _today()
        return form, _today(), True
    if form.validate():
        return form, form.on.data, True
    return form, _today(), False


def _chosen_month() -> tuple[MonthForm, dt.date, bool]:
    form = MonthForm(request.args)
    this_month = _today().replace(day=1)
    if not request.args.get("month"):
        form.month.data = this_month
        return form, this_month, True
    if form.validate():
        return form, form.month.data.replace(day=1), True
    return form, this_month, False


def _roster_context(site: Site, day: dt.date) -> dict:
    rows = att.roster(db.session, site.id, day, utcnow())
    return {"site": site, "day": day, "rows": rows, "counts": att.counts(rows),
            "today": _today(), "one_day": dt.timedelta(days=1)}


def _row_response(shift: att.Shift, day: dt.date, status: int = 200, error: str | None = None):
    """The roster row of one shift occurrence, with the day's counts out of band (htmx)."""
    rows = att.roster(db.session, shift.site_id, day, utcnow())
    row = next((r for r in rows if r.shift is not None and r.shift.id == shift.id), None)
    if row is None:
        abort(404)
    return render_template("attendance/_row_swap.html", row=row, site=shift.site, day=day,
                           counts=att.counts(rows), error=error), status


def _back_to_day(shift: att.Shift, day: dt.date):
    return redirect(url_for(".day", site_id=shift.site_id, on=day.isoformat()) + "#roster")


# --- the day's roster --------------------------------------------------------------------

@bp.get("/")
@staff
def index():
    me, today, now = _me(), _today(), utcnow()
    sites = _sites_for(me)
    overview = [(site, att.counts(att.roster(db.session, site.id, today, now))
                 if site.active else None) for site in sites]
    return render_template("attendance/index.html", overview=overview, today=today)


@bp.get("/sites/<int:site_id>")
@staff
def day(site_id: int):
    site = _site_or_abort(site_id)
    form, chosen, ok = _chosen_day()
    context = {**_roster_context(site, chosen), "form": form}
    status = 200 if ok else 400
    if _htmx() and request.headers.get("HX-Target") == "roster":
        return render_template("attendance/_roster.html", **context), status
    return render_template("attendance/day.html", **context), status


@bp.get("/shifts/<int:shift_id>/days/<day>")
@staff
def row(shift_id: int, day: str):
    shift, on = _shift_or_abort(shift_id), _day_or_404(day)
    if not _htmx():
        if not shift.occurs_on(on):
            abort(404)
        return _back_to_day(shift, on)
    return _row_response(shift, on)


@bp.route("/shifts/<int:shift_id>/days/<day>/excuse", methods=["GET", "POST"])
@staff
def excuse(shift_id: int, day: str):
    shift, on = _shift_or_abort(shift_id), _day_or_404(day)
    current = att.row_for(db.session, shift.id, on, utcnow())
    if current is None:
        abort(404)
    form = ExcuseForm()
    if request.method == "GET" and current.mark is not None:
        form.reason.data = current.mark.reason
    if request.method == "POST" and form.validate_on_submit():
        try:
            shift_changes.mark_excused(db.session, shift.id, on, form.reason.data, _me(), utcnow())
        except AttendanceRefused as refused:
            db.session.rollback()
            form.reason.errors = [*form.reason.errors, refusal_text(refused.code)]
        else:
            db.session.commit()
            if _htmx():
                return _row_response(shift, on)
            flash(_("%(name)s is marked excused on %(day)s.", name=shift.volunteer.name_zh,
                    day=on.isoformat()), "success")
            return _back_to_day(shift, on)
    status = 400 if request.method == "POST" else 200
    template = "attendance/_excuse_row.html" if _htmx() else "attendance/excuse.html"
    return render_template(template, row=current, form=form, site=shift.site, day=on), status


@bp.post("/shifts/<int:shift_id>/days/<day>/withdraw")
@staff
def withdraw(shift_id: int, day: str):
    shift, on = _shift_or_abort(shift_id), _day_or_404(day)
    form = WithdrawForm()
    message = None
    if form.validate_on_submit():
        try:
            shift_changes.withdraw_excuse(db.session, shift.id, on, _me(), utcnow())
        except AttendanceRefused as refused:
            db.session.rollback()
            message = refusal_text(refused.code)
        else:
            db.session.commit()
    if _htmx():
        return _row_response(shift, on, 400 if message else 200, message)
    if message:
        flash(message, "error")
    else:
        flash(_("The excuse of %(name)s on %(day)s is withdrawn.", name=shift.volunteer.name_zh,
                day=on.isoformat()), "success")
    return _back_to_day(shift, on)


# --- the month ---------------------------------------------------------------------------

@bp.get("/sites/<int:site_id>/month")
@staff
def month(site_id: int):
    site = _site_or_abort(site_id)
    form, first, ok = _chosen_month()
    first, last = att.month_bounds(first.year, first.month)
    days = att.roster_range(db.session, site.id, first, last, utcnow())
    return render_template(
        "attendance/month.html", site=site, form=form, first=first, last=last,
        days=[(d, att.counts(rows)) for d, rows in days.items()],
        totals=att.counts([r for rows in days.values() for r in rows]),
        tallies=att.tally_by_volunteer(days), today=_today()), 200 if ok else 400


# --- sheets: PDF, CSV, XLSX --------------------------------------------------------------

FORMATS = {  # format: (media type, renderer, opens in the browser)
    "pdf": (MIMETYPES["pdf"], sheets.sheet_pdf, True),
    "csv": (MIMETYPES["csv"], sheets.sheet_csv, False),
    "xlsx": (MIMETYPES["xlsx"], sheets.sheet_xlsx, False),
}


@bp.get("/sites/<int:site_id>/sheet.<fmt>")
@staff
def sheet(site_id: int, fmt: str):
    """?on=YYYY-MM-DD for a day (default today), ?month=YYYY-MM for a month."""
    if fmt not in FORMATS:
        abort(404)
    site = _site_or_abort(site_id)
    if request.args.get("month"):
        form, first, ok = _chosen_month()
        first, last = att.month_bounds(first.year, first.month)
        period = f"{first:%Y-%m}"
        errors = form.month.errors
    else:
        form, first, ok = _chosen_day()
        last, period, errors = first, first.isoformat(), form.on.errors
    if not ok:
        return render_template("errors/error.html", status=400, title=_("Bad request"),
                               message=" ".join(str(e) for e in errors)), 400
    days = att.roster_range(db.session, site.id, first, last, utcnow())
    built = sheets.build_sheet(
        days, title=_("%(site)s attendance", site=local(site)), period=period,
        unit_name=local(current_user.unit), gettext=_, local=local,
        status_label=lambda s: str(STATUS_LABELS[s]))
    mimetype, render, inline = FORMATS[fmt]
    return download(render(built), _("attendance-%(site)s-%(period)s", site=local(site),
                                      period=period) + f".{fmt}", mimetype, inline=inline)


# --- shifts ------------------------------------------------------------------------------

@bp.get("/sites/<int:site_id>/shifts")
@staff
def shifts(site_id: int):
    site = _site_or_abort(site_id)
    today = _today()
    every = att.shifts_of_site(db.session, site.id)
    current = [s for s in every if att.is_current(s, today)]
    done = [s for s in every if not att.is_current(s, today)]
    return render_template("attendance/shifts.html", site=site, current=current, done=done,
                           today=today)


def _fill_choices(form: ShiftForm, me: User) -> None:
    form.site_id.choices = [SelectChoice(str(s.id), local(s))
                            for s in _sites_for(me, active_only=True)]
    volunteers = db.session.scalars(
        select(Volunteer).where(Volunteer.unit_id == me.unit_id,
                                Volunteer.status == VolunteerStatus.active)
        .order_by(Volunteer.volunteer_no))
    form.volunteer_id.choices = [SelectChoice("", _("Choose a volunteer"))] + [
        SelectChoice(str(v.id), f"{v.volunteer_no} {v.name_zh}") for v in volunteers]
    form.service_item_id.choices = [SelectChoice(str(i.id), f"{i.code} {local(i)}")
                                    for i in service_items_for(db.session, me.unit_id)]


@bp.route("/shifts/new", methods=["GET", "POST"])
@staff
def new_shift():
    me = _me()
    form = ShiftForm()
    _fill_choices(form, me)
    if request.method == "GET":
        site = request.args.get("site", "")
        if db_id(site) is not None:
            form.site_id.data = site
        form.starts_on.data = plain_date(request.args.get("on", "")) or _today()
    elif form.validate_on_submit():
        try:
            shift = shift_changes.create_shift(
                db.session, me, utcnow(), site_id=form.site_id.data,
                service_item_id=form.service_item_id.data, volunteer_id=form.volunteer_id.data,
                repeat=form.repeat.data, starts_on=form.starts_on.data,
                ends_on=form.ends_on.data, start_time=form.start_time.data,
                end_time=form.end_time.data)
        except PermissionError:
            db.session.rollback()
            abort(403)
        except InvalidShift as error:
            db.session.rollback()
            _show_shift_errors(form, error)
        else:
            db.session.commit()
            flash(_("Shift scheduled for %(name)s.", name=shift.volunteer.name_zh), "success")
            return redirect(url_for(".shifts", site_id=shift.site_id))
    status = 400 if request.method == "POST" else 200
    return render_template("attendance/shift_form.html", form=form), status


def _show_shift_errors(form: ShiftForm, error: InvalidShift) -> None:
    for name, code in error.errors.items():
        if code == "overlap" and error.conflict is not None:
            other = error.conflict
            message = _("%(name)s already has a shift then: %(when)s at %(site)s.",
                        name=other.volunteer.name_zh, when=describe_shift(other),
                        site=local(other.site))
        else:
            message = str(SHIFT_MESSAGES.get(code, code))
        field = getattr(form, name, form.start_time)
        field.errors = [*field.errors, message]


@bp.route("/shifts/<int:shift_id>/cancel", methods=["GET", "POST"])
@staff
def cancel(shift_id: int):
    shift = _shift_or_abort(shift_id)
    form = WithdrawForm()
    message, status = None, 200
    if request.method == "POST" and form.validate_on_submit():
        try:
            shift_changes.cancel_shift(db.session, shift.id, _me(), utcnow())
        except AttendanceRefused as refused:
            db.session.rollback()
            message, status = refusal_text(refused.code), 400
        else:
            db.session.commit()
            if shift.cancelled_at is not None:
                flash(_("Shift cancelled."), "success")
            else:
                flash(_("Weekly shift ended: its last day is %(day)s. Past days stay on the "
                        "record.", day=shift.ends_on.isoformat()), "success")
            return redirect(url_for(".shifts", site_id=shift.site_id))
    elif request.method == "POST":
        status = 400
    return render_template("attendance/confirm_cancel.html", shift=shift, form=form,
                           message=message), status


# --- words for templates -------------------------------------------------------------------

def status_label(status) -> str:
    return str(STATUS_LABELS.get(Status(getattr(status, "value", status)), status))


@bp.app_template_filter("attendance_status")
@pass_context
def _status_label_filter(_context, status) -> str:
    """`'present'|attendance_status`: pass_context keeps Jinja from folding a filter of a
    constant at compile time, in the language of whoever opened the page first."""
    return status_label(status)


@bp.app_template_filter("attendance_tone")
def status_tone(status) -> str:
    return STATUS_TONES.get(Status(getattr(status, "value", status)), "")


@bp.app_template_global("describe_shift")
def describe_shift(shift: att.Shift) -> str:
    """'2026-03-02 09:00–12:00' or 'Every Monday 09:00–12:00, 2026-03-02 to 2026-06-29'."""
    from flask_babel import format_date

    times = f"{shift.start_time:%H:%M}–{shift.end_time:%H:%M}"
    if shift.repeat == Repeat.once:
        return f"{shift.starts_on.isoformat()} {times}"
    weekday = format_date(shift.starts_on, "EEEE")
    if shift.ends_on is None:
        return _("Every %(weekday)s %(times)s, from %(first)s", weekday=weekday, times=times,
                 first=shift.starts_on.isoformat())
    return _("Every %(weekday)s %(times)s, %(first)s to %(last)s", weekday=weekday, times=times,
             first=shift.starts_on.isoformat(), last=shift.ends_on.isoformat())


@bp.app_template_filter("attendance_weekday")
def weekday(day: dt.date) -> str:
    from flask_babel import format_date

    return format_date(day, "EEEE")
