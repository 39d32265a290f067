"""Annual evaluation (年度考核) and the team view per site.

Admins set each year's criteria. Supervisors evaluate the volunteers of their sites, admins
everyone; an evaluation finalised with the outcome "exit" records the exit. The rules live in
models/evaluation.py; this module parses, checks who may act, calls them and renders. A
volunteer's status page (exit and re-activation by hand, the account) is
routes/volunteer_status.py, which shares MESSAGES (message, apply_errors) and
volunteer_or_404 with this module.
"""
from __future__ import annotations

import datetime as dt

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import IntegerField, RadioField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, Optional

from models import evaluation as ev
from models import volunteer_status as vs
from models.team_view import team_overview
from models.base import taipei_date, utcnow
from models.evaluation import EvaluationCriterion, InvalidEvaluation, Outcome
from models.people import Role, User, Volunteer

from ..access import STAFF, roles
from ..extensions import db
from ..forms import DateField
from ..i18n import explain_award_html

bp = Blueprint("evaluation", __name__, url_prefix="/evaluation")
overview_bp = Blueprint("site_overview", __name__, url_prefix="/sites")
staff = roles(*STAFF)
admins = roles(Role.admin)

OUTCOME_LABELS = {
    Outcome.continue_service: _l("Continue"),
    Outcome.coaching: _l("Coaching plan"),
    Outcome.exit: _l("Exit"),
}
MESSAGES = {
    "required": _l("This is required."),
    "too_long": _l("This is too long."),
    "weight_range": _l("The weight must be a whole number from 1 to 100."),
    "scale_range": _l("Use a whole number from 0 to 100."),
    "scale_order": _l("The highest score must be above the lowest."),
    "duplicate": _l("This year already has a criterion with this name."),
    "locked": _l("Evaluations of this year have begun, so its criteria can no longer change."),
    "score_required": _l("Give a score."),
    "score_range": _l("The score is outside the scale."),
    "future": _l("The date cannot be in the future."),
    "year_range": _l("Enter a year from 2000 to %(last)d: evaluations and their criteria go up to next year."),
    "before_year": _l("The date cannot be before the evaluated year."),
    "before_joined": _l("The exit date cannot be before the joining date (%(day)s)."),
    "final": _l("This evaluation is finalised and can no longer change."),
    "not_active": _l("This volunteer has already left."),
    "not_inactive": _l("This volunteer is active."),
    "no_criteria": _l("The criteria of this year are not set yet. Ask the unit admin."),
    "unknown_outcome": _l("Choose one of the outcomes."),
    "not_final": _l("This evaluation is not finalised: it can still be changed."),
    "exit_admin_only": _l("Only the unit admin can finalise an exit. Save the evaluation as it "
                          "is; the unit admin finalises it."),
    "exit_stands": _l("Finalising this evaluation made the volunteer leave. Re-activate them on "
                      "the status page first (with the reason), then reopen the evaluation."),
}
BAD_DATE = _l("Enter a date like 2026-01-31.")


def message(code: str, params: dict | None = None) -> str:
    text = str(MESSAGES.get(code, code))
    return text % params if params else text


# --- forms -------------------------------------------------------------------------------

class CriterionForm(FlaskForm):
    name_zh = StringField(_l("Name (Chinese)"), validators=[
        InputRequired(_l("This is required.")), Length(max=120, message=_l("This is too long."))])
    name_en = StringField(_l("Name (English)"), validators=[
        Optional(), Length(max=160, message=_l("This is too long."))])
    weight = IntegerField(_l("Weight"), default=1, validators=[InputRequired(
        _l("The weight must be a whole number from 1 to 100."))])
    scale_min = IntegerField(_l("Lowest score"), default=1, validators=[InputRequired(
        _l("Use a whole number from 0 to 100."))])
    scale_max = IntegerField(_l("Highest score"), default=5, validators=[InputRequired(
        _l("Use a whole number from 0 to 100."))])


class EvaluationForm(FlaskForm):
    outcome = RadioField(_l("Outcome"), choices=[SelectChoice(o.value, label) for o, label in OUTCOME_LABELS.items()],
                         validate_choice=False)
    comments = TextAreaField(_l("Comments"), validators=[
        Optional(), Length(max=ev.TEXT_MAX, message=_l("This is too long."))])
    coaching_plan = TextAreaField(_l("Coaching plan (for the outcome \"coaching plan\")"), validators=[
        Optional(), Length(max=ev.TEXT_MAX, message=_l("This is too long."))])
    exit_reason = StringField(_l("Reason for the exit"), validators=[
        Optional(), Length(max=vs.REASON_MAX, message=_l("This is too long."))])
    exit_on = DateField(_l("Exit date"), invalid_value_message=BAD_DATE, validators=[Optional()])


class ReopenForm(FlaskForm):
    reason = StringField(_l("Reason for reopening"), validators=[
        InputRequired(_l("This is required.")),
        Length(max=vs.REASON_MAX, message=_l("This is too long."))])


class CopyForm(FlaskForm):
    pass


# --- helpers -----------------------------------------------------------------------------

def _me() -> User:
    return db.session.get(User, current_user.id)


def _this_year() -> int:
    return taipei_date(utcnow()).year


def _year_arg() -> tuple[int, bool]:
    """?year=YYYY (2000 to next year: ev.year_open), or this year; a bad value shows this year
    (400)."""
    raw = request.args.get("year", "")
    if not raw:
        return _this_year(), True
    today = taipei_date(utcnow())
    if raw.isdigit() and ev.year_open(int(raw), today):
        return int(raw), True
    flash(message("year_range", {"last": ev.last_year_open(today)}), "error")
    return _this_year(), False


def volunteer_or_404(volunteer_id: int) -> Volunteer:
    """A volunteer of the user's unit, not anonymised (the evaluation and status pages)."""
    vol = db.session.get(Volunteer, volunteer_id)
    if vol is None or vol.unit_id != current_user.unit_id or vol.anonymised_at is not None:
        abort(404)
    return vol


def exit_notice(vol: Volunteer):
    """What the exit notice (volunteer_status/_exit_notice.html) offers a volunteer who has left: their
    performance-certificate eligibility today (models.certificates), None while active."""
    from models.certificates import certificate_eligibility

    if vol.is_active:
        return None
    return certificate_eligibility(db.session, vol, taipei_date(utcnow()))


def _criterion_or_404(criterion_id: int) -> EvaluationCriterion:
    c = db.session.get(EvaluationCriterion, criterion_id)
    if c is None or c.unit_id != current_user.unit_id:
        abort(404)
    return c


def apply_errors(form: FlaskForm, errors: dict[str, str], params: dict | None = None
                 ) -> list[str]:
    """Put domain errors on the form's fields (`params`: the refusal's, for its messages);
    return those that belong to no field."""
    loose = []
    for name, code in errors.items():
        field = getattr(form, name, None)
        if field is not None and hasattr(field, "errors"):
            field.errors = [*field.errors, message(code, params)]
        else:
            loose.append(message(code, params))
    return loose


# --- the year's list -----------------------------------------------------------------------

@bp.get("/")
@staff
def index():
    year, ok = _year_arg()
    rows = ev.evaluation_list(db.session, _me(), year)
    done = sum(1 for r in rows if r.evaluation is not None and r.evaluation.is_final)
    drafts = sum(1 for r in rows if r.evaluation is not None and not r.evaluation.is_final)
    return render_template("evaluation/index.html", year=year, rows=rows, done=done,
                           drafts=drafts, due=len(rows) - done - drafts,
                           has_criteria=bool(ev.criteria_for(db.session, current_user.unit_id, year)),
                           outcome_labels=OUTCOME_LABELS, this_year=_this_year()), 200 if ok else 400


# --- criteria (admins) ---------------------------------------------------------------------

def _criteria_page(year: int, form: CriterionForm, status: int = 200, errors: list[str] = ()):
    criteria = ev.criteria_for(db.session, current_user.unit_id, year)
    return render_template("evaluation/criteria.html", year=year, criteria=criteria, form=form,
                           this_year=_this_year(),
                           locked=ev.criteria_locked(db.session, current_user.unit_id, year),
                           total_weight=sum(c.weight for c in criteria), copy_form=CopyForm(),
                           loose_errors=errors), status


@bp.route("/criteria", methods=["GET", "POST"])
@admins
def criteria():
    year, ok = _year_arg()
    form = CriterionForm()
    if request.method == "GET":
        return _criteria_page(year, form, 200 if ok else 400)
    if not ok:
        return _criteria_page(year, form, 400)
    if not form.validate():
        return _criteria_page(year, form, 400)
    try:
        ev.save_criterion(db.session, current_user.unit_id, year, _me(), utcnow(),
                          name_zh=form.name_zh.data, name_en=form.name_en.data or "",
                          weight=form.weight.data, scale_min=form.scale_min.data,
                          scale_max=form.scale_max.data)
    except InvalidEvaluation as e:
        db.session.rollback()
        return _criteria_page(year, form, 400, apply_errors(form, e.errors))
    db.session.commit()
    flash(_("Criterion saved."), "success")
    return redirect(url_for(".criteria", year=year))


@bp.route("/criteria/<int:criterion_id>", methods=["GET", "POST"])
@admins
def criterion_edit(criterion_id: int):
    c = _criterion_or_404(criterion_id)
    form = CriterionForm(obj=c)
    errors: list[str] = []
    if request.method == "POST":
        if form.validate():
            try:
                ev.save_criterion(db.session, c.unit_id, c.year, _me(), utcnow(),
                                  name_zh=form.name_zh.data, name_en=form.name_en.data or "",
                                  weight=form.weight.data, scale_min=form.scale_min.data,
                                  scale_max=form.scale_max.data, criterion=c)
            except InvalidEvaluation as e:
                db.session.rollback()
                errors = apply_errors(form, e.errors)
            else:
                db.session.commit()
                flash(_("Criterion saved."), "success")
                return redirect(url_for(".criteria", year=c.year))
        return render_template("evaluation/criterion_form.html", criterion=c, form=form,
                               loose_errors=errors), 400
    return render_template("evaluation/criterion_form.html", criterion=c, form=form,
                           loose_errors=errors)


@bp.post("/criteria/<int:criterion_id>/delete")
@admins
def criterion_delete(criterion_id: int):
    c = _criterion_or_404(criterion_id)
    year = c.year
    if not CopyForm().validate():
        abort(400)
    try:
        ev.delete_criterion(db.session, c, _me(), utcnow())
    except InvalidEvaluation as e:
        db.session.rollback()
        flash(message(next(iter(e.errors.values()))), "error")
        return redirect(url_for(".criteria", year=year)), 303
    db.session.commit()
    flash(_("Criterion removed."), "success")
    return redirect(url_for(".criteria", year=year))


@bp.post("/criteria/copy")
@admins
def criteria_copy():
    year, ok = _year_arg()
    if not ok or not CopyForm().validate():
        abort(400)
    try:
        ev.copy_criteria(db.session, current_user.unit_id, year - 1, year, _me(), utcnow())
    except InvalidEvaluation as e:
        db.session.rollback()
        code = next(iter(e.errors.values()))
        flash(_("There are no criteria of %(year)d to copy.", year=year - 1)
              if code == "no_criteria" else message(code), "error")
        return redirect(url_for(".criteria", year=year)), 303
    db.session.commit()
    flash(_("Criteria of %(year)d copied.", year=year - 1), "success")
    return redirect(url_for(".criteria", year=year))


# --- one volunteer's evaluation ---------------------------------------------------------------

def _scores_from_request(criteria) -> dict[int, int | None]:
    scores: dict[int, int | None] = {}
    for c in criteria:
        raw = request.form.get(f"score-{c.id}", "").strip()
        scores[c.id] = int(raw) if raw.lstrip("-").isdigit() else None
    return scores


@bp.route("/<int:year>/volunteers/<int:volunteer_id>", methods=["GET", "POST"])
@staff
def evaluate(year: int, volunteer_id: int):
    vol = volunteer_or_404(volunteer_id)
    if not ev.year_open(year, taipei_date(utcnow())):
        abort(404)
    me = _me()
    if not ev.may_evaluate(db.session, me, vol, year):
        abort(403)
    now = utcnow()
    criteria = ev.criteria_for(db.session, vol.unit_id, year)
    current = ev.evaluation_of(db.session, vol.id, year)
    form = EvaluationForm(obj=current) if current is not None else EvaluationForm()
    if current is not None and request.method == "GET":
        form.outcome.data = current.outcome.value
    scores = {s.criterion_id: s.score for s in current.scores} if current else {}
    score_errors: dict[int, str] = {}
    loose: list[str] = []
    status = 200
    if request.method == "POST":
        scores = _scores_from_request(criteria)
        finalise = request.form.get("action") == "finalise"
        if form.validate():
            try:
                saved = ev.save_evaluation(
                    db.session, vol, year, me, now, scores=scores, outcome=form.outcome.data,
                    comments=form.comments.data or "", coaching_plan=form.coaching_plan.data or "",
                    exit_reason=form.exit_reason.data or "", exit_on=form.exit_on.data,
                    finalise=finalise)
            except InvalidEvaluation as e:
                db.session.rollback()
                for name, code in e.errors.items():
                    if name.startswith("score-"):
                        score_errors[int(name[6:])] = message(code)
                loose = apply_errors(form, {k: v for k, v in e.errors.items()
                                             if not k.startswith("score-")}, e.params)
            else:
                db.session.commit()
                if saved.is_final and saved.outcome == Outcome.exit:
                    flash(_("Evaluation finalised. %(name)s has left and can no longer check in.",
                            name=vol.name_zh), "success")
                elif saved.is_final:
                    flash(_("Evaluation finalised."), "success")
                else:
                    flash(_("Evaluation saved. You can still change it until it is finalised."),
                          "success")
                return redirect(url_for(".evaluate", year=year, volunteer_id=vol.id))
        status = 400
        current = ev.evaluation_of(db.session, vol.id, year)
    return _evaluation_page(vol, year, criteria, form, current, scores, now, status=status,
                            score_errors=score_errors, loose_errors=loose)


def _evaluation_page(vol: Volunteer, year: int, criteria, form, current, scores, now, *,
                     status: int = 200, score_errors=None, loose_errors=(), reopen_form=None):
    return render_template(
        "evaluation/form.html", vol=vol, year=year, criteria=criteria, form=form,
        evaluation=current, scores=scores, score_errors=score_errors or {},
        loose_errors=loose_errors, facts=ev.facts_for(db.session, vol, year, now),
        outcome_labels=OUTCOME_LABELS, reopen_form=reopen_form or ReopenForm(),
        reopen_blocked=message(blocked) if current is not None and current.is_final and (
            blocked := ev.why_not_reopen(db.session, current)) else None,
        total=ev.weighted_total(scores, criteria) if scores else None,
        explain=explain_award_html,
        certificate=exit_notice(vol) if current_user.role == Role.admin else None,
        default_exit_on=min(taipei_date(now), dt.date(year, 12, 31))), status


@bp.post("/<int:year>/volunteers/<int:volunteer_id>/reopen")
@admins
def reopen(year: int, volunteer_id: int):
    """An admin reopens a finalised evaluation to correct it (reason required)."""
    vol = volunteer_or_404(volunteer_id)
    current = ev.evaluation_of(db.session, vol.id, year)
    if current is None:
        abort(404)
    form = ReopenForm()
    errors: list[str] = []
    if form.validate():
        try:
            ev.reopen_evaluation(db.session, current, _me(), utcnow(), reason=form.reason.data)
        except InvalidEvaluation as e:
            db.session.rollback()
            errors = apply_errors(form, e.errors)
        else:
            db.session.commit()
            flash(_("The evaluation is open again. Correct it and finalise it anew."), "success")
            return redirect(url_for(".evaluate", year=year, volunteer_id=vol.id))
    now = utcnow()
    current = ev.evaluation_of(db.session, vol.id, year)
    criteria = ev.criteria_for(db.session, vol.unit_id, year)
    scores = {s.criterion_id: s.score for s in current.scores}
    return _evaluation_page(vol, year, criteria, EvaluationForm(obj=current), current, scores, now,
                            status=400, loose_errors=errors, reopen_form=form)


# --- the team view per site --------------------------------------------------------------------

@overview_bp.get("/overview")
@staff
def overview():
    year, ok = _year_arg()
    summaries = team_overview(db.session, _me(), year, utcnow())
    return render_template("evaluation/overview.html", year=year, summaries=summaries,
                           outcome_labels=OUTCOME_LABELS, this_year=_this_year(),
                           period_end=ev.period_end(year, utcnow())), 200 if ok else 400
