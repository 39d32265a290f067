"""Recognition (issue #6): the admin's deadline calendar and award lists (with applied /
granted / not granted tracking and the XLSX for filing), performance certificates (requests,
issuing, the PDF), and the volunteer's milestones. The Golden Diamond family and team pages
live in golden_awards.py, on the same awards blueprint."""
from __future__ import annotations

import datetime as dt
import time

from flask import (Blueprint, Response, abort, current_app, flash, redirect, render_template,
                   request, url_for)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, IntegerField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, NumberRange

from models import award_grants
from models import awards as aw
from models import award_rules
from models import recognition as rec
from models import certificates as certs
from models.base import taipei_date, utcnow
from models.export import MIMETYPES
from models.messages import translated
from models.people import Role, Volunteer, volunteer_by_number

from ..access import roles
from ..downloads import download
from ..extensions import db
from ..forms import DateField, plain_date
from ..i18n import DEFAULT, forced_locale, refusal_text
from ..i18n import explain_award as explain
from ..i18n import explain_award_html

awards_bp = Blueprint("awards", __name__, url_prefix="/admin/awards")
certificates_bp = Blueprint("certificates", __name__, url_prefix="/admin/certificates")
milestones_bp = Blueprint("milestones", __name__, url_prefix="/me")
admin_only = roles(Role.admin)
volunteer_only = roles(Role.volunteer)

STATUS_LABELS = {
    aw.GrantStatus.applied.value: _l("Application filed"),
    aw.GrantStatus.granted.value: _l("Granted"),
    aw.GrantStatus.not_granted.value: _l("Not granted"),
}
CONDITION_LABELS = {
    "seniority_unknown": _l("Service years unknown"),
    "performance_certificate": _l("Needs a performance certificate"),
    "pending_application": _l("An application is pending"),
    "all_levels_granted": _l("Every level already granted"),
}


class GrantForm(FlaskForm):
    volunteer_id = IntegerField(validators=[InputRequired()])
    level = IntegerField(validators=[InputRequired(), NumberRange(min=1, max=99)])
    status = SelectField(choices=[SelectChoice(k, v) for k, v in STATUS_LABELS.items()],
                         validators=[InputRequired()],
                         validate_choice=True)
    on = DateField(_l("Date"), validators=[InputRequired(_l("Give a date."))],
                   format="%Y-%m-%d")
    as_of = HiddenField()
    # Golden Diamond: the volunteer declared no criminal conviction (only that is kept)
    declared = BooleanField()


class StartForm(FlaskForm):
    volunteer_id = IntegerField(validators=[InputRequired()])
    note = StringField(_l("Note"), validators=[Length(max=300, message=_l(
        "Use at most %(max)d characters."))])


class IssueForm(FlaskForm):
    pass


class RequestForm(FlaskForm):
    note = StringField(_l("Note to the unit (optional)"), validators=[Length(max=300, message=_l(
        "Use at most %(max)d characters."))])


def _today() -> dt.date:
    return taipei_date(utcnow())


def _as_of_arg(value: str | None) -> tuple[dt.date, str | None]:
    """The day asked for (?as_of=YYYY-MM-DD), today when absent; an error message when bad."""
    if not value:
        return _today(), None
    day = plain_date(value)
    if day is None:
        return _today(), _("Give the date as YYYY-MM-DD.")
    return day, None


def _rule_or_404(key: str) -> award_rules.AwardRule:
    rule = award_rules.rule_of(db.session, key)
    if rule is None or not rule.computed:
        abort(404)
    return rule


def _my_volunteer(volunteer_id: int | None) -> Volunteer:
    vol = db.session.get(Volunteer, volunteer_id) if volunteer_id else None
    if vol is None or vol.unit_id != current_user.unit_id:
        abort(404)
    return vol


def _refusal(problem: certs.CertificateError) -> str:
    """A refused certificate request or issue in the reader's language; a volunteer who does not
    qualify is told what is missing as the eligibility pages say it."""
    params = dict(problem.params)
    if isinstance(problem, certs.NotEligible):
        params["why"] = explain(problem.eligibility)
    return _(problem.message, **params)


def say(message, params=None) -> str:
    """A domain message marked with N_ / Nn_ (and its params) in the reader's language."""
    return translated(message, params or {}, _, ngettext)


WINDOW_LABELS = {
    award_rules.CountingWindow.as_of.value: _l("Hours counted to the day asked"),
    award_rules.CountingWindow.previous_dec31.value: _l("Hours counted to 31 December of the previous year"),
    award_rules.CountingWindow.may31.value: _l("Hours counted to 31 May of the year"),
}


def _common():
    return dict(explain=explain_award_html, status_labels=STATUS_LABELS, condition_labels=CONDITION_LABELS,
                say=say)


# --- awards: calendar, lists, tracking ----------------------------------------------------------
#
# The calendar counts who qualifies for every award of the unit: about a second for 5,000
# volunteers and 300,000 sessions on SQLite (bulk queries, see models.recognition). The home
# page loads it with htmx after the page itself, and each process keeps the answer for
# DEADLINE_CACHE_SECONDS per unit and day; recording a grant or a certificate here clears it.

DEADLINE_CACHE_SECONDS = 300


def _deadline_cache() -> dict:
    return current_app.extensions.setdefault("hourbook_deadline_cache", {})


def forget_deadlines(unit_id: int) -> None:
    cache = _deadline_cache()
    for key in [k for k in cache if k[0] == unit_id]:
        cache.pop(key, None)


def unit_deadlines(unit_id: int, today: dt.date) -> list[rec.Deadline]:
    cache = _deadline_cache()
    hit = cache.get((unit_id, today))
    if hit is not None and time.monotonic() - hit[0] < DEADLINE_CACHE_SECONDS:
        return hit[1]
    value = rec.deadlines(db.session, unit_id, today)
    cache[(unit_id, today)] = (time.monotonic(), value)
    return value


@awards_bp.get("/deadlines")
@admin_only
def deadlines():
    today = _today()
    return render_template("awards/_deadlines.html", today=today,
                           deadlines=unit_deadlines(current_user.unit_id, today),
                           **_certificate_counts(today))


def _certificate_counts(today):
    waiting, overdue = certs.certificate_counts(db.session, current_user.unit_id, today)
    return {"open_certificates": waiting, "overdue_certificates": overdue,
            "changed_certificates": certs.changed_count(db.session, current_user.unit_id)}


@awards_bp.get("/", endpoint="index")
@admin_only
def awards_index():
    today = _today()
    every = award_rules.rules(db.session)
    return render_template("awards/index.html", rules=[r for r in every if r.computed],
                           today=today, deadlines=unit_deadlines(current_user.unit_id, today),
                           **_certificate_counts(today),
                           not_computed=[r for r in every if not r.computed], every_rule=every,
                           threshold_lines=award_rules.threshold_lines, window_labels=WINDOW_LABELS,
                           say=say)


def _list_page(rule, as_of, error=None, status=200):
    rows = rec.award_list(db.session, current_user.unit_id, rule.key, as_of)
    history = rec.award_history(db.session, current_user.unit_id, rule.key)
    return render_template("awards/list.html", rule=rule, as_of=as_of, rows=rows,
                           history=history, levels={lv["level"]: lv for lv in rule.levels},
                           error=error, today=_today(), form=GrantForm(formdata=None),
                           **_common()), status


def _xlsx(data: bytes, name: str) -> Response:
    return download(data, name, MIMETYPES["xlsx"])


@awards_bp.get("/<key>")
@admin_only
def award_list(key):
    rule = _rule_or_404(key)
    as_of, error = _as_of_arg(request.args.get("as_of"))
    return _list_page(rule, as_of, error, 400 if error else 200)


@awards_bp.get("/<key>/export.xlsx")
@admin_only
def export(key):
    rule = _rule_or_404(key)
    as_of, error = _as_of_arg(request.args.get("as_of"))
    if error:
        return _list_page(rule, as_of, error, 400)
    rows = rec.award_list(db.session, current_user.unit_id, rule.key, as_of)
    with forced_locale(DEFAULT):  # a filing list: in Chinese, whoever downloads it
        data = rec.award_list_xlsx(db.session, current_user, utcnow(), rule, rows, as_of,
                                   explain=explain)
    db.session.commit()
    return _xlsx(data, f"{rule.key}-{as_of:%Y%m%d}.xlsx")


@awards_bp.post("/<key>/record")
@admin_only
def record(key):
    rule = _rule_or_404(key)
    form = GrantForm()
    as_of, as_of_error = _as_of_arg(form.as_of.data)
    error = None
    vol = None
    saved = False
    if as_of_error:  # checked before anything is saved
        error = as_of_error
        vol = _my_volunteer(form.volunteer_id.data) if form.volunteer_id.data else None
    elif form.validate_on_submit():
        vol = _my_volunteer(form.volunteer_id.data)
        try:
            award_grants.record_grant(db.session, vol, rule.key, form.level.data, form.status.data,
                            form.on.data, current_user, utcnow(), declared=form.declared.data)
        except award_grants.AwardError as problem:
            db.session.rollback()
            error = refusal_text(problem)
        else:
            db.session.commit()
            forget_deadlines(current_user.unit_id)
            saved = form.status.data  # what was recorded: applied, granted or not_granted
    else:
        error = next((m for errs in form.errors.values() for m in errs), _("Check the form."))
        if form.volunteer_id.data:
            vol = _my_volunteer(form.volunteer_id.data)
    if vol is None:
        return render_template("errors/_error.html", message=error), 400
    row = rec.award_row(db.session, vol, rule.key, as_of)
    if not request.headers.get("HX-Request"):
        if error:
            flash(error, "error")
        elif saved:
            flash(_("Recorded for %(name)s: %(status)s.", name=vol.name_zh,
                    status=STATUS_LABELS[saved]), "success")
        return redirect(url_for(".award_list", key=rule.key, as_of=as_of.isoformat()))
    html = render_template("awards/_award_row.html", row=row, rule=rule, as_of=as_of,
                           error=error, saved=saved, today=_today(), **_common())
    if error:
        return html, 400
    return html, 200, {"HX-Trigger": "award-recorded"}  # the history below reloads itself


@awards_bp.get("/<key>/history")
@admin_only
def history(key):
    """The applications and decisions alone (awards/_history.html), for its reload after a
    row records one."""
    rule = _rule_or_404(key)
    return render_template("awards/_history.html", rule=rule,
                           history=rec.award_history(db.session, current_user.unit_id, rule.key),
                           levels={lv["level"]: lv for lv in rule.levels}, **_common())


# --- performance certificates (admin) -----------------------------------------------------------

def _certificates_page(status=200):
    open_, issued = certs.certificates_for_admin(db.session, current_user.unit_id)
    return render_template("certificates/index.html", open_requests=open_, issued=issued,
                           changed=certs.hours_changed(db.session, issued),
                           today=_today(), form=IssueForm(formdata=None)), status


@certificates_bp.get("/", endpoint="index")
@admin_only
def certificates_index():
    return _certificates_page()


def _start_page(vol, form=None, error=None, status=200):
    today = _today()
    e = certs.certificate_eligibility(db.session, vol, today)
    return render_template("certificates/new.html", volunteer=vol, e=e, error=error,
                           form=form or StartForm(formdata=None, data={"volunteer_id": vol.id}),
                           open_request=certs.open_request(db.session, vol.id),
                           issued=[c for c in certs.certificates_of(db.session, vol.id)
                                   if c.status == certs.CertificateStatus.issued],
                           explain=explain_award_html), status


@certificates_bp.get("/new")
@admin_only
def new():
    number = (request.args.get("volunteer_no") or "").strip()
    if number:
        vol = volunteer_by_number(db.session, current_user.unit_id, number)
        if vol is None:
            flash(_("No volunteer with number %(no)s.", no=number), "error")
            return redirect(url_for(".index"))
        return _start_page(vol)
    try:
        volunteer_id = int(request.args.get("volunteer_id", ""))
    except ValueError:  # the number field sent empty: say so where it is
        flash(_("Enter the volunteer number of the volunteer the certificate is for."), "error")
        return redirect(url_for(".index"))
    return _start_page(_my_volunteer(volunteer_id))


@certificates_bp.post("/new")
@admin_only
def start():
    form = StartForm()
    vol = _my_volunteer(form.volunteer_id.data)
    if not form.validate_on_submit():
        return _start_page(vol, form, status=400)
    try:
        certs.request_certificate(db.session, vol, current_user, utcnow(), form.note.data)
    except certs.CertificateError as problem:
        db.session.rollback()
        return _start_page(vol, form, _refusal(problem), status=400)
    db.session.commit()
    flash(_("Certificate request started for %(name)s.", name=vol.name_zh), "success")
    return redirect(url_for(".index"))


def _my_certificate(cert_id: int) -> certs.PerformanceCertificate:
    cert = db.session.get(certs.PerformanceCertificate, cert_id)
    if cert is None or cert.unit_id != current_user.unit_id:
        abort(404)
    return cert


@certificates_bp.post("/<int:cert_id>/issue")
@admin_only
def issue(cert_id):
    cert = _my_certificate(cert_id)
    form = IssueForm()
    error = None
    if not form.validate_on_submit():
        error = _("Check the form.")
    else:
        try:
            cert = certs.issue_certificate(db.session, cert.id, current_user, utcnow())
        except certs.CertificateError as problem:
            db.session.rollback()
            error = _refusal(problem)
            cert = _my_certificate(cert_id)
        else:
            db.session.commit()
            forget_deadlines(current_user.unit_id)
    if not request.headers.get("HX-Request"):
        flash(error or _("Certificate %(serial)s issued.", serial=cert.serial),
              "error" if error else "success")
        return redirect(url_for(".index"))
    if error:
        return render_template("certificates/_request_row.html", c=cert, today=_today(),
                               error=error, form=IssueForm(formdata=None)), 400
    # issued: the row leaves the requests (swapped for nothing) and the issued list reloads
    # itself with it, so it is never shown in both
    return "", 200, {"HX-Trigger": "certificate-issued"}


@certificates_bp.get("/issued")
@admin_only
def issued():
    """The issued list alone (certificates/_issued.html), for its reload after an issue."""
    _open, issued_ = certs.certificates_for_admin(db.session, current_user.unit_id)
    return render_template("certificates/_issued.html", issued=issued_, today=_today(),
                           changed=certs.hours_changed(db.session, issued_))


def _pdf_response(cert):
    from ..printing.performance import performance_pdf

    if cert.status != certs.CertificateStatus.issued:
        abort(404)
    return download(performance_pdf(cert.printed), f"performance-certificate-{cert.serial}.pdf",
                    MIMETYPES["pdf"], inline=True)


@certificates_bp.get("/<int:cert_id>.pdf")
@admin_only
def pdf(cert_id):
    return _pdf_response(_my_certificate(cert_id))


# --- the volunteer: milestones and their certificates -------------------------------------------

def _me() -> Volunteer:
    vol = current_user.volunteer
    if vol is None:
        abort(404)
    return vol


def _milestones_page(form=None, error=None, status=200):
    vol = _me()
    today = _today()
    items = rec.milestones(db.session, vol, today)
    certificate = next((m.eligibility for m in items
                        if m.eligibility.award_key == award_rules.PERFORMANCE_CERTIFICATE), None)
    issued = [c for c in certs.certificates_of(db.session, vol.id)
              if c.status == certs.CertificateStatus.issued]
    latest = certs.latest_issued(db.session, vol.id)
    return render_template("milestones/index.html", volunteer=vol, milestones=items,
                           certificate=certificate, today=today, error=error,
                           form=form or RequestForm(formdata=None),
                           open_request=certs.open_request(db.session, vol.id),
                           issued=issued, latest=latest,
                           since_issued=certs.minutes_since_issued(db.session, vol.id, latest,
                                                                   today),
                           **_common()), status


@milestones_bp.get("/milestones", endpoint="index")
@volunteer_only
def milestones_index():
    return _milestones_page()


@milestones_bp.post("/certificates/request")
@volunteer_only
def request_certificate():
    form = RequestForm()
    if not form.validate_on_submit():
        return _milestones_page(form, status=400)
    try:
        certs.request_certificate(db.session, _me(), current_user, utcnow(), form.note.data)
    except certs.CertificateError as problem:
        db.session.rollback()
        return _milestones_page(form, _refusal(problem), status=400)
    db.session.commit()
    flash(_("Your request is sent. The unit issues the certificate within 7 days."), "success")
    return redirect(url_for(".index"))


@milestones_bp.get("/certificates/<int:cert_id>.pdf")
@volunteer_only
def certificate_pdf(cert_id):
    cert = db.session.get(certs.PerformanceCertificate, cert_id)
    if cert is None or cert.volunteer_id != _me().id:
        abort(404)
    return _pdf_response(cert)


from . import golden_awards  # noqa: E402,F401  (the family and team pages, on awards_bp)
