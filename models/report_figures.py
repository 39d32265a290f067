"""The figures of a results report (成果報表, models/reports.py): what it counts for one unit and
period, computed from the data as of the period's last day with a handful of bulk aggregate
queries (no query per volunteer). A period not ended yet (a draft) is counted as of today
instead (`Period.counted_on`): "at the end" means today's roll, insurance, record books and
training, the figures the draft's heading announces ("data up to today"); a cover that ends
before the period's last day is not counted uninsured ahead of time (covers_ending says how
many would be, for the preview's note).

- On the roll at the end: joined on or before the last day (Volunteer.joined_on; the day the
  row was created when that is empty) and not left by then (left_on empty or after the last
  day). A volunteer marked inactive without a leaving day is counted as gone (the day is
  unknown), and not in "left in the period".
- Gender, age band (whole years reached on the last day), record-book holders (a book number,
  issued by the last day when the issue day is known), insured on the last day (group /
  commercial; "not insured" = on the roll with no cover that day): of those on the roll.
- New / left: joined / left_on within the period (of everyone, on the roll or not).
- Training as models.training.training_status defines it (the current basic set or the former
  12 h certificate; every active special course of the unit's category), completed by the last
  day; "in the period" when the completing day falls in it.
- Service: verified sessions only (models/hours.py) that started in the period: sessions,
  volunteers who served, credited minutes in all, by service item and by site, persons served
  (sum of ServiceSession.persons_served, empty = 0).
- Awards: grants decided "granted" within the period, per award.

report_layout.py turns the Figures into the report's lines.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy import and_, case, exists, func, or_, select
from sqlalchemy.orm import Session

from . import report_layout as layout
from .base import taipei_day_bounds
from .insurance import CoverKind, InsuranceCover
from .people import Gender, Volunteer, VolunteerStatus
from .service import ServiceItem, ServiceSession, SessionStatus, Site
from .unit import Unit

if TYPE_CHECKING:
    from .reports import Period


@dataclass
class Figures:
    """Everything the report counts for one unit and period (see the module docstring)."""

    volunteers: int = 0
    by_gender: dict[str, int] = field(default_factory=dict)
    by_age: dict[str, int] = field(default_factory=dict)
    new: int = 0
    left: int = 0
    record_book: int = 0
    insured_group: int = 0
    insured_commercial: int = 0
    insured_any: int = 0
    basic_in_period: int = 0
    basic_total: int = 0
    special_in_period: int = 0
    special_total: int = 0
    volunteers_served: int = 0
    sessions: int = 0
    minutes: int = 0
    persons_served: int = 0
    by_item: list[tuple[str, str, str, int]] = field(default_factory=list)  # code, zh, en, min
    by_site: list[tuple[str, str, str, int]] = field(default_factory=list)  # key, zh, en, min
    awards: list[tuple[str, str, str, int]] = field(default_factory=list)  # key, zh, en, count


def _years_before(day: dt.date, years: int) -> dt.date:
    """The same calendar day `years` earlier (29 February becomes the 28th)."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def _on_roll(day: dt.date):
    """SQL condition: the volunteer is on the unit's roll at the end of `day` (the period's last
    day, or today for a draft: Period.counted_on)."""
    end_bound = taipei_day_bounds(day)[1]
    joined = or_(Volunteer.joined_on <= day,
                 and_(Volunteer.joined_on.is_(None), Volunteer.created_at < end_bound))
    still_there = or_(
        Volunteer.left_on > day,
        and_(Volunteer.left_on.is_(None), Volunteer.status == VolunteerStatus.active))
    return and_(joined, still_there)


def _count(condition):
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _covered(day: dt.date, kind: CoverKind | None = None):
    """SQL condition: the volunteer has a cover (of `kind`) on `day`."""
    cond = [InsuranceCover.volunteer_id == Volunteer.id,
            InsuranceCover.starts_on <= day, InsuranceCover.ends_on >= day]
    if kind is not None:
        cond.append(InsuranceCover.kind == kind)
    return exists().where(*cond)


def covers_ending(session: Session, unit_id: int, period: Period, today: dt.date) -> int:
    """Volunteers on the roll and insured today whose cover does not reach the period's last day:
    a draft counts them insured (as of today); unless renewed, the filed report will not."""
    if not period.is_draft(today):
        return 0
    return int(session.scalar(select(func.count()).select_from(Volunteer).where(
        Volunteer.unit_id == unit_id, _on_roll(today), _covered(today),
        ~_covered(period.last_day))) or 0)


def _volunteer_figures(session: Session, unit_id: int, period: Period, day: dt.date,
                       f: Figures) -> None:
    start = period.bounds()[0]
    end_bound = taipei_day_bounds(day)[1]
    roll = _on_roll(day)

    columns = {
        "total": _count(roll),
        **{g.value: _count(and_(roll, Volunteer.gender == g)) for g in Gender},
        "record_book": _count(and_(roll, Volunteer.record_book_no != "", or_(
            Volunteer.record_book_issued_on.is_(None),
            Volunteer.record_book_issued_on <= day))),
        "group": _count(and_(roll, _covered(day, CoverKind.group))),
        "commercial": _count(and_(roll, _covered(day, CoverKind.commercial))),
        "insured": _count(and_(roll, _covered(day))),
        "new": _count(or_(Volunteer.joined_on.between(period.first_day, day),
                          and_(Volunteer.joined_on.is_(None), Volunteer.created_at >= start,
                               Volunteer.created_at < end_bound))),
        "left": _count(Volunteer.left_on.between(period.first_day, day)),
    }
    for key, low, high, _zh, _en in layout.AGE_BANDS:
        conds = [roll, Volunteer.birth_date <= _years_before(day, low)]
        if high is not None:  # younger than high + 1 on the day
            conds.append(Volunteer.birth_date > _years_before(day, high + 1))
        columns["age." + key] = _count(and_(*conds))
    names = list(columns)
    row = session.execute(select(*[columns[n].label(n.replace(".", "_")) for n in names])
                          .where(Volunteer.unit_id == unit_id)).one()
    values = dict(zip(names, (int(v or 0) for v in row)))
    f.volunteers = values["total"]
    f.by_gender = {g.value: values[g.value] for g in Gender}
    f.by_age = {key: values["age." + key] for key, *_rest in layout.AGE_BANDS}
    f.new, f.left, f.record_book = values["new"], values["left"], values["record_book"]
    f.insured_group, f.insured_commercial = values["group"], values["commercial"]
    f.insured_any = values["insured"]


def _training_figures(session: Session, unit_id: int, period: Period, day: dt.date,
                      f: Figures) -> None:
    """training_status() for everyone on the roll at once: one grouped query of first
    completion days per volunteer and course, combined here."""
    from .training import TrainingCourse, TrainingKind, TrainingRecord

    unit = session.get(Unit, unit_id)
    courses = list(session.scalars(select(TrainingCourse).where(TrainingCourse.unit_id == unit_id)))
    current_basic = {c.id for c in courses
                     if c.active and c.kind == TrainingKind.basic and not c.legacy}
    legacy = {c.id for c in courses if c.kind == TrainingKind.basic and c.legacy}
    special = {c.id for c in courses if c.active and c.kind == TrainingKind.special
               and c.category == unit.category}
    wanted = current_basic | legacy | special
    if not wanted:
        return
    rows = session.execute(
        select(TrainingRecord.volunteer_id, TrainingRecord.course_id,
               func.min(TrainingRecord.completed_on))
        .join(Volunteer, Volunteer.id == TrainingRecord.volunteer_id)
        .where(Volunteer.unit_id == unit_id, _on_roll(day),
               TrainingRecord.completed_on <= day,
               TrainingRecord.course_id.in_(wanted))
        .group_by(TrainingRecord.volunteer_id, TrainingRecord.course_id))
    first: dict[int, dict[int, dt.date]] = {}
    for volunteer_id, course_id, day in rows:
        first.setdefault(volunteer_id, {})[course_id] = day

    def done_on(days: dict[int, dt.date], needed: set[int]) -> dt.date | None:
        if not needed or any(c not in days for c in needed):
            return None
        return max(days[c] for c in needed)

    for days in first.values():
        basic = done_on(days, current_basic)
        legacy_days = [d for c, d in days.items() if c in legacy]
        if legacy_days and (basic is None or min(legacy_days) < basic):
            basic = min(legacy_days)
        for done, total_attr, period_attr in (
                (basic, "basic_total", "basic_in_period"),
                (done_on(days, special), "special_total", "special_in_period")):
            if done is None:
                continue
            setattr(f, total_attr, getattr(f, total_attr) + 1)
            if done >= period.first_day:
                setattr(f, period_attr, getattr(f, period_attr) + 1)


def _service_figures(session: Session, unit_id: int, period: Period, f: Figures) -> None:
    start, end = period.bounds()
    counted = and_(ServiceSession.unit_id == unit_id,
                   ServiceSession.status == SessionStatus.verified,
                   ServiceSession.checked_in_at >= start, ServiceSession.checked_in_at < end)
    groups = session.execute(
        select(ServiceSession.service_item_id, ServiceSession.site_id, func.count(),
               func.coalesce(func.sum(ServiceSession.credited_minutes), 0),
               func.coalesce(func.sum(ServiceSession.persons_served), 0))
        .where(counted).group_by(ServiceSession.service_item_id, ServiceSession.site_id)).all()
    f.volunteers_served = int(session.scalar(
        select(func.count(func.distinct(ServiceSession.volunteer_id))).where(counted)) or 0)
    item_minutes: dict[int, int] = {}
    site_minutes: dict[int, int] = {}
    for item_id, site_id, count, minutes, persons in groups:
        f.sessions += int(count)
        f.minutes += int(minutes)
        f.persons_served += int(persons)
        item_minutes[item_id] = item_minutes.get(item_id, 0) + int(minutes)
        site_minutes[site_id] = site_minutes.get(site_id, 0) + int(minutes)
    # every active item and site is listed (0 when nobody served there), others when used
    items = session.scalars(select(ServiceItem).where(ServiceItem.unit_id == unit_id)
                            .order_by(ServiceItem.code, ServiceItem.id))
    f.by_item = [(i.code, i.name_zh, i.name_en, item_minutes.get(i.id, 0))
                 for i in items if i.active or i.id in item_minutes]
    sites = [s for s in session.scalars(select(Site).where(Site.unit_id == unit_id)
                                        .order_by(Site.name_zh, Site.id))
             if s.active or s.id in site_minutes]
    names = [s.name_zh for s in sites]
    f.by_site = [(s.name_zh if names.count(s.name_zh) == 1 else f"{s.name_zh}#{s.id}",
                  s.name_zh, s.name_en, site_minutes.get(s.id, 0)) for s in sites]


def _award_figures(session: Session, unit_id: int, period: Period, f: Figures) -> None:
    from .award_rules import rules
    from .awards import AwardGrant, GrantStatus

    counts = dict(session.execute(
        select(AwardGrant.award_key, func.count())
        .where(AwardGrant.unit_id == unit_id, AwardGrant.status == GrantStatus.granted,
               AwardGrant.decided_on.between(period.first_day, period.last_day))
        .group_by(AwardGrant.award_key)).all())
    known = rules(session)
    f.awards = [(r.key, r.name_zh, r.name_en, int(counts.pop(r.key, 0))) for r in known]
    f.awards += [(key, key, key, int(n)) for key, n in sorted(counts.items())]  # retired rules


def compute(session: Session, unit_id: int, period: Period, today: dt.date | None = None
            ) -> Figures:
    """The report's figures for the unit and period, from the data as it is now: as of the
    period's last day, or of `today` (Taipei) while the period has not ended."""
    f = Figures()
    day = period.counted_on(today)
    _volunteer_figures(session, unit_id, period, day, f)
    _training_figures(session, unit_id, period, day, f)
    _service_figures(session, unit_id, period, f)
    _award_figures(session, unit_id, period, f)
    return f
