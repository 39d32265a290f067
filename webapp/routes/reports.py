"""Results reports (成果報表) for admins: the half-year and yearly reports — preview with today's
figures (and the difference against what was filed), XLSX/CSV export, filing (a frozen
snapshot) — and the reminders on the admin's home page."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, RadioField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import ValidationError

from models import report_layout as layout
from models import reports
from models.base import taipei_date, utcnow
from models.export import MIMETYPES
from models.people import Role

from ..access import roles
from ..downloads import download
from ..extensions import db
from ..i18n import refusal_text

bp = Blueprint("reports", __name__, url_prefix="/reports")
admins = roles(Role.admin)


class ChoiceField(RadioField):
    """A radio choice refused in our own words (WTForms' own zh text is Simplified)."""

    def pre_validate(self, form):
        if self.data not in {c.value for c in self.choices}:
            raise ValidationError(_l("Choose one of the options."))


class ExportForm(FlaskForm):
    class Meta:
        csrf = False  # a GET download that changes nothing

    format = ChoiceField(_l("File"), choices=[SelectChoice("xlsx", "Excel (XLSX)"),
                                              SelectChoice("csv", "CSV")], default="xlsx")
    version = ChoiceField(_l("Figures"), choices=[SelectChoice("current", _l("Today's figures")),
                                                  SelectChoice("filed", _l("As filed"))],
                          default="current")


class SubmitForm(FlaskForm):
    amend = BooleanField(_l("This is an amended filing (the report was filed before)"))
    reason = TextAreaField(_l("Reason for the amendment"))

    def validate_reason(self, field):
        if len((field.data or "").strip()) > reports.REASON_MAX:
            raise ValidationError(_l("Use at most %(max)d characters.", max=reports.REASON_MAX))


def _today():
    return taipei_date(utcnow())


def _period_or_error(code: str):
    try:
        return reports.parse_period(code), None
    except reports.PeriodError as error:
        return None, refusal_text(error)


def _index(error: str | None = None, asked: str = "", status: int = 200):
    today = _today()
    periods = reports.recent_periods(today)
    filed = {}
    for snap in reports.snapshots(db.session, current_user.unit_id):
        filed.setdefault(snap.period, snap)  # the latest filing of each period
    return render_template("reports/index.html", periods=periods, filed=filed, today=today,
                           error=error, asked=asked,
                           since=reports.in_hourbook_since(db.session, current_user.unit_id),
                           reminders=reports.reminders(db.session, current_user.unit_id, today)
                           ), status


@bp.get("/")
@admins
def index():
    asked = request.args.get("period")
    if asked is None:
        return _index()
    period, error = _period_or_error(asked)
    if error:
        return _index(error, asked, 400)
    return redirect(url_for(".preview", code=period.code))


def _preview(period, form: SubmitForm | None = None, error: str | None = None, status=200):
    report = reports.build(db.session, current_user.unit_id, period, _today())
    return render_template("reports/preview.html", report=report, form=form or SubmitForm(),
                           error=error, units=layout.UNITS, unit_text=layout.unit_text, display=layout.display, show=layout.format_value,
                           sections=_sections(report.lines)), status


def _sections(lines):
    """[(section heading in the reader's language, [Line])]."""
    english = str(get_locale()) == "en"
    out: list[tuple[str, str, list]] = []
    for line in lines:
        if not out or out[-1][0] != line.section:
            out.append((line.section, layout.section_name(line.section, english), []))
        out[-1][2].append(line)
    return [(name, section_lines) for _zh, name, section_lines in out]


@bp.get("/<code>")
@admins
def preview(code: str):
    period, error = _period_or_error(code)
    if error:
        return _index(error, code, 400)
    return _preview(period)


@bp.get("/<code>/export")
@admins
def export(code: str):
    period, error = _period_or_error(code)
    if error:
        return _index(error, code, 400)
    form = ExportForm(request.args)
    if not form.validate():
        messages = [e for field in form for e in field.errors]
        return _preview(period, error=" ".join(str(m) for m in messages), status=400)
    report = reports.build(db.session, current_user.unit_id, period, _today())
    data, filename = reports.render(report, form.format.data,
                                    use_filed=form.version.data == "filed")
    return download(data, filename, MIMETYPES[form.format.data])


@bp.post("/<code>/submit")
@admins
def submit(code: str):
    period, error = _period_or_error(code)
    if error:
        db.session.rollback()
        return _index(error, code, 400)
    form = SubmitForm()
    if not form.validate():
        db.session.rollback()
        return _preview(period, form, status=400)
    try:
        snapshot = reports.submit(db.session, current_user, period, utcnow(),
                                  amend=form.amend.data, reason=form.reason.data or "")
    except reports.ReportError as exc:
        db.session.rollback()
        return _preview(period, form, error=refusal_text(exc), status=409)
    db.session.commit()
    if snapshot.revision > 1:
        flash(_("Amended report for %(period)s filed (revision %(revision)s). The earlier "
                "filing is kept as it was.", period=period.code, revision=snapshot.revision),
              "success")
    else:
        flash(_("Report for %(period)s filed. Its figures are frozen as filed.",
                period=period.code), "success")
    return redirect(url_for(".preview", code=period.code), 303)


@bp.app_template_global("report_reminders")
def report_reminders():
    """For reports/_reminders.html on the home page: the unfiled reports whose window is open
    (or past) for the signed-in admin's unit; nothing for anyone else."""
    if not current_user.is_authenticated or current_user.role != Role.admin:
        return []
    return reports.reminders(db.session, current_user.unit_id, _today())
