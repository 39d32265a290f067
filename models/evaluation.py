"""Annual evaluation (年度考核). A volunteer's exit (退場), re-activation and status over time are
models/volunteer_status.py; the team view per site, built on the same facts, is
models/team_view.py.

The unit admin sets each year's criteria (name, weight, scale). Supervisors evaluate the
volunteers of their sites (admins: everyone): the form shows the year's verified hours,
attendance and training, takes a score per criterion, comments and an outcome (continue /
coaching plan / exit). One evaluation per volunteer per year, editable until finalised; an
admin may reopen a finalised one to correct it (with a reason, audited), and it is finalised anew.
Finalising an "exit" makes the volunteer inactive; nothing is deleted, and the check-in gate
(models/gates.gate_refusals) refuses inactive volunteers. Every change is audited.

Criteria are **locked** once any evaluation of that year exists (draft or final): every
evaluation of a year is then scored against the same criteria and weights, so totals stay
comparable. A unit that needs different criteria sets them for the next year (and may copy
last year's as a start). Versioning was the alternative; a lock is simpler to explain.

Plain functions: they take the Session and `now` (aware UTC); callers commit.
"""
from __future__ import annotations

import datetime as dt
import enum
from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import (Date, Enum, ForeignKey, Index, String, Text, UniqueConstraint, and_,
                        func, or_, select)
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship, selectinload

from . import audit
from .attendance import Repeat, Shift, Status, roster_range
from .base import TAIPEI, Base, UTCDateTime, begin_write, taipei_date, utcnow
from .people import Role, User, Volunteer
from .service import ServiceSession, SessionStatus
from .training import TrainingRecord, training_status
from .unit import Unit
from .verification import supervised_site_ids
from .volunteer_status import (REASON_MAX, InvalidStatusChange, VolunteerStatusChange,
                               active_during, checked_reason, clean_text, exit_day_problem,
                               exit_volunteer, status_history)


class Outcome(str, enum.Enum):
    continue_service = "continue_service"  # 續任
    coaching = "coaching"  # 輔導改善
    exit = "exit"  # 退場


class EvaluationStatus(str, enum.Enum):
    draft = "draft"  # editable
    final = "final"  # finalised: no more edits


WEIGHT_MAX = 100
SCALE_MAX = 100
TEXT_MAX = 2000


class EvaluationCriterion(Base):
    """One criterion of a year's evaluation form (e.g. 服務態度, weight 30, scale 1–5)."""

    __tablename__ = "evaluation_criterion"
    __table_args__ = (UniqueConstraint("unit_id", "year", "name_zh"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    year: Mapped[int] = mapped_column()
    position: Mapped[int] = mapped_column(default=0)
    name_zh: Mapped[str] = mapped_column(String(120))
    name_en: Mapped[str] = mapped_column(String(160), default="")
    weight: Mapped[int] = mapped_column()  # positive; totals are weighted by it
    scale_min: Mapped[int] = mapped_column(default=1)
    scale_max: Mapped[int] = mapped_column(default=5)


class Evaluation(Base):
    """A volunteer's evaluation for one year, with the facts the evaluator saw when saving."""

    __tablename__ = "evaluation"
    __table_args__ = (UniqueConstraint("volunteer_id", "year"),
                      Index("ix_evaluation_unit_year", "unit_id", "year"))

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"))
    volunteer_id: Mapped[int] = mapped_column(ForeignKey("volunteer.id"))
    year: Mapped[int] = mapped_column()
    status: Mapped[EvaluationStatus] = mapped_column(
        Enum(EvaluationStatus, native_enum=False, length=20), default=EvaluationStatus.draft)
    outcome: Mapped[Outcome] = mapped_column(
        Enum(Outcome, name="evaluation_outcome", native_enum=False, length=20))
    comments: Mapped[str] = mapped_column(Text, default="")
    coaching_plan: Mapped[str] = mapped_column(Text, default="")
    exit_reason: Mapped[str] = mapped_column(String(REASON_MAX), default="")
    exit_on: Mapped[dt.date | None] = mapped_column(Date)
    # The prefilled facts, as saved (the record shows what the evaluator saw).
    verified_minutes: Mapped[int] = mapped_column(default=0)
    shifts_attended: Mapped[int] = mapped_column(default=0)
    shifts_scheduled: Mapped[int] = mapped_column(default=0)
    training_minutes: Mapped[int] = mapped_column(default=0)
    evaluator_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    finalised_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    volunteer: Mapped[Volunteer] = relationship()
    evaluator: Mapped[User | None] = relationship()
    scores: Mapped[list["EvaluationScore"]] = relationship(
        back_populates="evaluation", cascade="all, delete-orphan")

    @property
    def is_final(self) -> bool:
        return self.status == EvaluationStatus.final

    def score_of(self, criterion_id: int) -> int | None:
        return next((s.score for s in self.scores if s.criterion_id == criterion_id), None)


class EvaluationScore(Base):
    __tablename__ = "evaluation_score"
    __table_args__ = (UniqueConstraint("evaluation_id", "criterion_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    evaluation_id: Mapped[int] = mapped_column(ForeignKey("evaluation.id"), index=True)
    criterion_id: Mapped[int] = mapped_column(ForeignKey("evaluation_criterion.id"))
    score: Mapped[int] = mapped_column()

    evaluation: Mapped[Evaluation] = relationship(back_populates="scores")


class InvalidEvaluation(InvalidStatusChange):
    """What is wrong, field by field, as codes. Codes: required, too_long, weight_range,
    scale_range, scale_order, duplicate, locked, score_required, score_range, future, year_range,
    before_year, before_joined, after_year, final, not_active, no_criteria, unknown_outcome, not_final,
    exit_stands, exit_admin_only."""


# --- years --------------------------------------------------------------------------------

def year_bounds(year: int) -> tuple[dt.date, dt.date]:
    return dt.date(year, 1, 1), dt.date(year, 12, 31)


def year_moments(year: int) -> tuple[dt.datetime, dt.datetime]:
    """Start (inclusive) and end (exclusive) of a Taipei calendar year, as aware moments."""
    return (dt.datetime(year, 1, 1, tzinfo=TAIPEI).astimezone(dt.timezone.utc),
            dt.datetime(year + 1, 1, 1, tzinfo=TAIPEI).astimezone(dt.timezone.utc))


def period_end(year: int, now: dt.datetime) -> dt.date:
    """The last day of the year that has happened: 31 December, or today in the current year."""
    return min(dt.date(year, 12, 31), taipei_date(now))


FIRST_YEAR = 2000


def last_year_open(today: dt.date) -> int:
    """The latest year that can be evaluated or given criteria: next year (criteria are set up
    ahead of the year), never further."""
    return today.year + 1


def year_open(year: int, today: dt.date) -> bool:
    return FIRST_YEAR <= year <= last_year_open(today)


# --- criteria -----------------------------------------------------------------------------

def criteria_for(session: Session, unit_id: int, year: int) -> list[EvaluationCriterion]:
    return list(session.scalars(select(EvaluationCriterion).where(
        EvaluationCriterion.unit_id == unit_id, EvaluationCriterion.year == year)
        .order_by(EvaluationCriterion.position, EvaluationCriterion.id)))


def criteria_locked(session: Session, unit_id: int, year: int) -> bool:
    """Locked once any evaluation of the year exists (see the module's docstring)."""
    return session.scalar(select(func.count(Evaluation.id)).where(
        Evaluation.unit_id == unit_id, Evaluation.year == year)) > 0


def criterion_snapshot(c: EvaluationCriterion) -> dict:
    return {"year": c.year, "name_zh": c.name_zh, "name_en": c.name_en, "weight": c.weight,
            "scale_min": c.scale_min, "scale_max": c.scale_max, "position": c.position}


def save_criterion(session: Session, unit_id: int, year: int, actor: User, now: dt.datetime, *,
                   name_zh: str, name_en: str = "", weight: int | None, scale_min: int | None,
                   scale_max: int | None, criterion: EvaluationCriterion | None = None
                   ) -> EvaluationCriterion:
    """Add a criterion to a year (or change `criterion`). Nothing changes when anything is wrong."""
    begin_write(session)
    errors: dict[str, str] = {}
    name_zh, name_en = clean_text(name_zh), clean_text(name_en)
    if not year_open(year, taipei_date(now)):
        raise InvalidEvaluation({"year": "year_range"}, {"last": last_year_open(taipei_date(now))})
    if criteria_locked(session, unit_id, year):
        raise InvalidEvaluation({"year": "locked"})
    if not name_zh:
        errors["name_zh"] = "required"
    elif len(name_zh) > 120:
        errors["name_zh"] = "too_long"
    elif session.scalar(select(EvaluationCriterion.id).where(
            EvaluationCriterion.unit_id == unit_id, EvaluationCriterion.year == year,
            EvaluationCriterion.name_zh == name_zh,
            EvaluationCriterion.id != (criterion.id if criterion else -1))) is not None:
        errors["name_zh"] = "duplicate"
    if len(name_en) > 160:
        errors["name_en"] = "too_long"
    if weight is None:
        errors["weight"] = "required"
    elif not 1 <= weight <= WEIGHT_MAX:
        errors["weight"] = "weight_range"
    if scale_min is None:
        errors["scale_min"] = "required"
    elif not 0 <= scale_min <= SCALE_MAX:
        errors["scale_min"] = "scale_range"
    if scale_max is None:
        errors["scale_max"] = "required"
    elif not 1 <= scale_max <= SCALE_MAX:
        errors["scale_max"] = "scale_range"
    elif scale_min is not None and scale_max <= scale_min:
        errors["scale_max"] = "scale_order"
    if errors:
        raise InvalidEvaluation(errors)
    before = criterion_snapshot(criterion) if criterion is not None else None
    if criterion is None:
        position = session.scalar(select(func.coalesce(func.max(EvaluationCriterion.position), 0))
                                  .where(EvaluationCriterion.unit_id == unit_id,
                                         EvaluationCriterion.year == year)) + 1
        criterion = EvaluationCriterion(unit_id=unit_id, year=year, position=position)
        session.add(criterion)
    criterion.name_zh, criterion.name_en = name_zh, name_en
    criterion.weight, criterion.scale_min, criterion.scale_max = weight, scale_min, scale_max
    session.flush()
    audit.record(session, action="evaluation_criterion_saved", entity="evaluation_criterion",
                 entity_id=criterion.id, actor=actor, unit_id=unit_id, before=before,
                 after=criterion_snapshot(criterion), now=now)
    return criterion


def delete_criterion(session: Session, criterion: EvaluationCriterion, actor: User,
                     now: dt.datetime) -> None:
    begin_write(session)
    if criteria_locked(session, criterion.unit_id, criterion.year):
        raise InvalidEvaluation({"year": "locked"})
    before = criterion_snapshot(criterion)
    ident, unit_id = criterion.id, criterion.unit_id
    session.delete(criterion)
    session.flush()
    audit.record(session, action="evaluation_criterion_deleted", entity="evaluation_criterion",
                 entity_id=ident, actor=actor, unit_id=unit_id, before=before, now=now)


def copy_criteria(session: Session, unit_id: int, from_year: int, to_year: int, actor: User,
                  now: dt.datetime) -> list[EvaluationCriterion]:
    """Start a year's criteria from another year's (only into a year that has none)."""
    begin_write(session)
    if not year_open(to_year, taipei_date(now)):
        raise InvalidEvaluation({"year": "year_range"}, {"last": last_year_open(taipei_date(now))})
    if criteria_locked(session, unit_id, to_year):
        raise InvalidEvaluation({"year": "locked"})
    if criteria_for(session, unit_id, to_year):
        raise InvalidEvaluation({"year": "duplicate"})
    source = criteria_for(session, unit_id, from_year)
    if not source:
        raise InvalidEvaluation({"year": "no_criteria"})
    made = []
    for c in source:
        new = EvaluationCriterion(unit_id=unit_id, year=to_year, position=c.position,
                                  name_zh=c.name_zh, name_en=c.name_en, weight=c.weight,
                                  scale_min=c.scale_min, scale_max=c.scale_max)
        session.add(new)
        made.append(new)
    session.flush()
    audit.record(session, action="evaluation_criteria_copied", entity="unit", entity_id=unit_id,
                 actor=actor, unit_id=unit_id, before={"year": from_year},
                 after={"year": to_year, "criteria": [criterion_snapshot(c) for c in made]},
                 now=now)
    return made


def weighted_total(scores: dict[int, int], criteria: list[EvaluationCriterion]) -> float | None:
    """The weighted score out of 100: Σ weight × score / scale_max ÷ Σ weight × 100.

    (4 on a 1–5 scale counts 80.) None when a criterion has no score yet."""
    if not criteria or any(scores.get(c.id) is None for c in criteria):
        return None
    weights = sum(c.weight for c in criteria)
    return round(sum(c.weight * scores[c.id] / c.scale_max for c in criteria) / weights * 100, 1)


# --- who belongs where ----------------------------------------------------------------------

def site_people(session: Session, unit_id: int, first: dt.date, last: dt.date,
                site_ids: set[int] | None = None) -> dict[int, set[int]]:
    """site id -> ids of volunteers scheduled (a shift occurring in the period) or checked in
    (any session that started in it) at that site between `first` and `last` (Taipei days).
    Two queries, however many volunteers."""
    start = dt.datetime.combine(first, dt.time(0), tzinfo=TAIPEI)
    end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(0), tzinfo=TAIPEI)
    shifts = (select(Shift.site_id, Shift.volunteer_id).distinct().where(
        Shift.unit_id == unit_id, Shift.cancelled_at.is_(None), Shift.starts_on <= last,
        or_(and_(Shift.repeat == Repeat.once, Shift.starts_on >= first),
            and_(Shift.repeat == Repeat.weekly,
                 or_(Shift.ends_on.is_(None), Shift.ends_on >= first)))))
    sessions = (select(ServiceSession.site_id, ServiceSession.volunteer_id).distinct().where(
        ServiceSession.unit_id == unit_id, ServiceSession.checked_in_at >= start,
        ServiceSession.checked_in_at < end))
    if site_ids is not None:
        shifts = shifts.where(Shift.site_id.in_(site_ids or {-1}))
        sessions = sessions.where(ServiceSession.site_id.in_(site_ids or {-1}))
    found: dict[int, set[int]] = defaultdict(set)
    for site_id, volunteer_id in [*session.execute(shifts), *session.execute(sessions)]:
        found[site_id].add(volunteer_id)
    return found


# --- attendance in bulk ---------------------------------------------------------------------

ATTENDED = (Status.present, Status.late, Status.left_early, Status.late_left_early)
"""Showed up. The attendance rate is attended ÷ (attended + absent): excused occurrences
(請假) and those not yet started are left out, unscheduled check-ins are not shifts."""


@dataclass
class Tally:
    attended: int = 0
    scheduled: int = 0  # attended + absent

    @property
    def rate(self) -> float | None:
        return round(self.attended / self.scheduled * 100, 1) if self.scheduled else None

    def add(self, other: "Tally") -> None:
        self.attended += other.attended
        self.scheduled += other.scheduled


def attendance_tallies(session: Session, site_ids, first: dt.date, last: dt.date,
                       now: dt.datetime, volunteer_id: int | None = None
                       ) -> dict[int, dict[int, Tally]]:
    """site id -> volunteer id -> Tally over the days (the roster's own rules: three queries
    per site, however many volunteers)."""
    result: dict[int, dict[int, Tally]] = {}
    if last < first:
        return result
    for site_id in site_ids:
        per: dict[int, Tally] = defaultdict(Tally)
        for rows in roster_range(session, site_id, first, last, now).values():
            for row in rows:
                if volunteer_id is not None and row.volunteer.id != volunteer_id:
                    continue
                if row.status in ATTENDED:
                    per[row.volunteer.id].attended += 1
                    per[row.volunteer.id].scheduled += 1
                elif row.status == Status.absent:
                    per[row.volunteer.id].scheduled += 1
        result[site_id] = per
    return result


# --- the facts that prefill the form ---------------------------------------------------------

@dataclass
class Facts:
    year: int
    verified_minutes: int
    attendance: Tally
    training: list[TrainingRecord]  # completed in the year
    training_complete: bool  # basic + the unit category's special training, by the year's end

    @property
    def training_minutes(self) -> int:
        return sum(r.minutes for r in self.training)


def facts_for(session: Session, volunteer: Volunteer, year: int, now: dt.datetime) -> Facts:
    first, last = year_bounds(year)
    start, end = year_moments(year)
    minutes = session.scalar(select(func.coalesce(func.sum(ServiceSession.credited_minutes), 0))
                             .where(ServiceSession.volunteer_id == volunteer.id,
                                    ServiceSession.status == SessionStatus.verified,
                                    ServiceSession.checked_in_at >= start,
                                    ServiceSession.checked_in_at < end))
    site_ids = set(session.scalars(select(Shift.site_id).distinct().where(
        Shift.volunteer_id == volunteer.id, Shift.cancelled_at.is_(None), Shift.starts_on <= last)))
    tally = Tally()
    for per in attendance_tallies(session, sorted(site_ids), first, period_end(year, now), now,
                                  volunteer_id=volunteer.id).values():
        tally.add(per.get(volunteer.id, Tally()))
    records = list(session.scalars(
        select(TrainingRecord).options(selectinload(TrainingRecord.course))
        .where(TrainingRecord.volunteer_id == volunteer.id, TrainingRecord.completed_on >= first,
               TrainingRecord.completed_on <= last)
        .order_by(TrainingRecord.completed_on, TrainingRecord.id)))
    unit = session.get(Unit, volunteer.unit_id)
    complete = training_status(session, volunteer, unit.category, as_of=last).complete
    return Facts(year, int(minutes or 0), tally, records, complete)


# --- who may evaluate whom; the year's list ---------------------------------------------------

def scope_site_ids(session: Session, user: User) -> set[int] | None:
    """The sites a staff user sees: None = every site of the unit (admins)."""
    return supervised_site_ids(session, user)


def may_evaluate(session: Session, user: User, volunteer: Volunteer, year: int) -> bool:
    """Admins: every volunteer of their unit. Supervisors: volunteers scheduled or checked in
    at one of their sites during the year."""
    if user.unit_id != volunteer.unit_id or user.role not in (Role.admin, Role.supervisor):
        return False
    allowed = supervised_site_ids(session, user)
    if allowed is None:
        return True
    first, last = year_bounds(year)
    people = site_people(session, user.unit_id, first, last, allowed)
    return any(volunteer.id in ids for ids in people.values())


@dataclass
class DueRow:
    volunteer: Volunteer
    evaluation: Evaluation | None
    site_ids: set[int] = field(default_factory=set)
    total: float | None = None


def evaluation_list(session: Session, user: User, year: int) -> list[DueRow]:
    """Everyone the user may evaluate for the year who was active on at least one day of it
    (and anyone already evaluated), with their evaluation if there is one. Few queries."""
    first, last = year_bounds(year)
    allowed = supervised_site_ids(session, user)
    people = site_people(session, user.unit_id, first, last, allowed)
    by_volunteer: dict[int, set[int]] = defaultdict(set)
    for site_id, ids in people.items():
        for vid in ids:
            by_volunteer[vid].add(site_id)
    query = select(Volunteer).where(Volunteer.unit_id == user.unit_id,
                                    Volunteer.anonymised_at.is_(None))
    if allowed is not None:
        query = query.where(Volunteer.id.in_(set(by_volunteer) or {-1}))
    volunteers = list(session.scalars(query.order_by(Volunteer.volunteer_no, Volunteer.id)))
    evaluations = {e.volunteer_id: e for e in session.scalars(
        select(Evaluation).options(selectinload(Evaluation.scores))
        .where(Evaluation.unit_id == user.unit_id, Evaluation.year == year))}
    history = status_history(session, [v.id for v in volunteers])
    criteria = criteria_for(session, user.unit_id, year)
    rows = []
    for vol in volunteers:
        ev = evaluations.get(vol.id)
        if ev is None and not active_during(vol, history.get(vol.id, []), first, last):
            continue
        total = None
        if ev is not None:
            total = weighted_total({s.criterion_id: s.score for s in ev.scores}, criteria)
        rows.append(DueRow(vol, ev, by_volunteer.get(vol.id, set()), total))
    return rows


# --- saving an evaluation ----------------------------------------------------------------------

def evaluation_of(session: Session, volunteer_id: int, year: int) -> Evaluation | None:
    return session.scalar(select(Evaluation).options(selectinload(Evaluation.scores))
                          .where(Evaluation.volunteer_id == volunteer_id, Evaluation.year == year))


def evaluation_snapshot(ev: Evaluation) -> dict:
    return {
        "volunteer_id": ev.volunteer_id, "year": ev.year, "status": ev.status.value,
        "outcome": ev.outcome.value if ev.outcome else None,
        "scores": {str(s.criterion_id): s.score for s in sorted(ev.scores, key=lambda s: s.criterion_id)},
        "comments": ev.comments, "coaching_plan": ev.coaching_plan,
        "exit_reason": ev.exit_reason, "exit_on": ev.exit_on.isoformat() if ev.exit_on else None,
        "verified_minutes": ev.verified_minutes, "shifts_attended": ev.shifts_attended,
        "shifts_scheduled": ev.shifts_scheduled, "training_minutes": ev.training_minutes,
    }


def save_evaluation(session: Session, volunteer: Volunteer, year: int, actor: User,
                    now: dt.datetime, *, scores: dict[int, int | None], outcome: str | None,
                    comments: str = "", coaching_plan: str = "", exit_reason: str = "",
                    exit_on: dt.date | None = None, finalise: bool = False) -> Evaluation:
    """Create or change the volunteer's evaluation for the year.

    Every criterion needs a score within its scale; a coaching outcome needs the plan; an
    exit needs its reason and a date within the year and not in the future. Finalising locks
    the evaluation; a finalised exit makes the volunteer inactive (see `exit_volunteer`).
    Nothing changes when anything is wrong.
    """
    begin_write(session)
    errors: dict[str, str] = {}
    params: dict = {}  # for the messages (before_joined: the joining date)
    ev = evaluation_of(session, volunteer.id, year)
    if ev is not None and ev.is_final:
        raise InvalidEvaluation({"status": "final"})
    criteria = criteria_for(session, volunteer.unit_id, year)
    if not criteria:
        raise InvalidEvaluation({"year": "no_criteria"})
    clean_scores: dict[int, int] = {}
    for c in criteria:
        value = scores.get(c.id)
        if value is None:
            errors[f"score-{c.id}"] = "score_required"
        elif not c.scale_min <= value <= c.scale_max:
            errors[f"score-{c.id}"] = "score_range"
        else:
            clean_scores[c.id] = value
    try:
        chosen = Outcome(outcome) if outcome else None
    except ValueError:
        chosen = None
    if chosen is None:
        errors["outcome"] = "required" if not outcome else "unknown_outcome"
    comments, coaching_plan = (comments or "").strip(), (coaching_plan or "").strip()
    exit_reason = clean_text(exit_reason)
    if len(comments) > TEXT_MAX:
        errors["comments"] = "too_long"
    if len(coaching_plan) > TEXT_MAX:
        errors["coaching_plan"] = "too_long"
    if chosen == Outcome.coaching and not coaching_plan:
        errors["coaching_plan"] = "required"
    if chosen == Outcome.exit:
        if not exit_reason:
            errors["exit_reason"] = "required"
        elif len(exit_reason) > REASON_MAX:
            errors["exit_reason"] = "too_long"
        exit_on = exit_on or min(taipei_date(now), dt.date(year, 12, 31))
        problem = exit_day_problem(volunteer, exit_on, taipei_date(now))
        if exit_on.year < year and (problem is None or problem[0] != "future"):
            errors["exit_on"] = "before_year"
        elif problem is not None:
            errors["exit_on"], params = problem
        if finalise and not volunteer.is_active:
            errors["outcome"] = "not_active"
        elif finalise and actor.role != Role.admin:
            # A supervisor proposes an exit (saved, not final); the unit admin decides it, as
            # the status page's exit is the admin's (see volunteer_status.exit_volunteer).
            errors["outcome"] = "exit_admin_only"
    else:
        exit_reason, exit_on = "", None
    if errors:
        raise InvalidEvaluation(errors, params)

    facts = facts_for(session, volunteer, year, now)
    before = evaluation_snapshot(ev) if ev is not None else None
    if ev is None:
        ev = Evaluation(unit_id=volunteer.unit_id, volunteer_id=volunteer.id, year=year,
                        status=EvaluationStatus.draft, created_at=now)
        session.add(ev)
    ev.outcome = chosen
    ev.comments, ev.coaching_plan = comments, coaching_plan
    ev.exit_reason, ev.exit_on = exit_reason, exit_on
    ev.verified_minutes = facts.verified_minutes
    ev.shifts_attended, ev.shifts_scheduled = facts.attendance.attended, facts.attendance.scheduled
    ev.training_minutes = facts.training_minutes
    ev.evaluator_id = actor.id
    ev.updated_at = now
    existing = {s.criterion_id: s for s in ev.scores}
    for c in criteria:
        if c.id in existing:
            existing[c.id].score = clean_scores[c.id]
        else:
            ev.scores.append(EvaluationScore(criterion_id=c.id, score=clean_scores[c.id]))
    if finalise:
        ev.status = EvaluationStatus.final
        ev.finalised_at = now
    session.flush()
    audit.record(session, action="evaluation_finalised" if finalise else "evaluation_saved",
                 entity="evaluation", entity_id=ev.id, actor=actor, unit_id=volunteer.unit_id,
                 before=before, after=evaluation_snapshot(ev), now=now)
    if finalise and chosen == Outcome.exit:
        exit_volunteer(session, volunteer, actor, now, reason=exit_reason, on=exit_on,
                       evaluation=ev)
    return ev


def why_not_reopen(session: Session, evaluation: Evaluation) -> str | None:
    """Why this evaluation cannot be reopened now (a code of InvalidEvaluation), or None:
    not_final, or exit_stands (its finalised exit made the volunteer leave, and they have not
    been re-activated since)."""
    if not evaluation.is_final:
        return "not_final"
    if evaluation.outcome == Outcome.exit and not evaluation.volunteer.is_active:
        last = session.scalar(select(VolunteerStatusChange)
                              .where(VolunteerStatusChange.volunteer_id == evaluation.volunteer_id)
                              .order_by(VolunteerStatusChange.at.desc(), VolunteerStatusChange.id.desc())
                              .limit(1))
        if last is not None and last.evaluation_id == evaluation.id:
            return "exit_stands"
    return None


def reopen_evaluation(session: Session, evaluation: Evaluation, actor: User, now: dt.datetime, *,
                      reason: str) -> Evaluation:
    """An admin reopens a finalised evaluation to correct it: it is a draft again, with its
    scores and outcome kept, until it is finalised anew. The reason is required and audited.

    If finalising it made the volunteer leave (a finalised exit) and they have not come back,
    it is not reopened: the exit is a fact of the status history, undone only by re-activating
    the volunteer (with its own reason) on the status page; then the evaluation can be reopened.
    """
    begin_write(session)
    errors: dict[str, str] = {}
    if (blocked := why_not_reopen(session, evaluation)) is not None:
        errors["status"] = blocked
    reason = checked_reason(reason, errors)
    if errors:
        raise InvalidEvaluation(errors)
    before = evaluation_snapshot(evaluation)
    evaluation.status = EvaluationStatus.draft
    evaluation.finalised_at = None
    evaluation.updated_at = now
    session.flush()
    audit.record(session, action="evaluation_reopened", entity="evaluation",
                 entity_id=evaluation.id, actor=actor, unit_id=evaluation.unit_id, before=before,
                 after={**evaluation_snapshot(evaluation), "reason": reason}, now=now)
    return evaluation
