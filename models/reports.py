"""Half-year and yearly results reports (成果報表, workflow step 12; rules.md "Reports").

Periods are written `2026H1` (January–June, filed 1–10 July), `2026H2` (July–December, filed
1–10 January of the next year) and `2026` (the yearly report, due within two months of the
year's end: by the end of February). A period whose last day has not passed (Taipei calendar)
is a draft: it can be previewed and exported, marked as a draft, but not filed.

The figures are computed from the data as of the period's last day with a handful of bulk
aggregate queries (no query per volunteer):

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

Filing freezes a snapshot (ReportSnapshot): the lines as filed, in JSON, with who and when. A
snapshot is never changed or deleted (the ORM refuses). The preview of a filed period shows
today's figures against the snapshot, line by line. A second filing of the same period is
refused, unless it is explicitly an amended filing with a reason: that adds a new snapshot
(revision 2, 3, ...) and leaves the earlier ones as they were — the city platform accepts
corrections, and the unit must be able to show what it filed each time.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from sqlalchemy import (JSON, Date, ForeignKey, Integer, String, UniqueConstraint, and_, case,
                        event, exists, func, or_, select)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from . import audit
from . import report_layout as layout
from .base import TAIPEI, Base, UTCDateTime, begin_write, taipei_day_bounds, utcnow
from .insurance import CoverKind, InsuranceCover
from .people import Gender, Role, User, Volunteer, VolunteerStatus
from .service import ServiceItem, ServiceSession, SessionStatus, Site
from .unit import Unit
from .messages import N_, Refused


# --- periods ---------------------------------------------------------------------------------

PERIOD_PATTERN = re.compile(r"^([0-9]{4})(?:[Hh]([12]))?$")
FIRST_YEAR, LAST_YEAR = 2001, 2100  # the Volunteer Service Act dates from 2001


class PeriodError(ValueError):
    """A period that is not one: the message says what is accepted."""

    message = N_("“%(period)s” is not a report period. Use a year and a half like 2026H1 "
                 "(January–June) or 2026H2 (July–December), or a year like 2026 for the "
                 "yearly report.")

    def __init__(self, text: str):
        self.params = {"period": (text or "")[:20]}
        super().__init__(self.message % self.params)


@dataclass(frozen=True)
class Period:
    code: str  # 2026H1, 2026H2, 2026
    year: int
    half: int | None  # 1, 2, or None for the yearly report
    first_day: dt.date
    last_day: dt.date  # inclusive
    window_opens: dt.date  # filing window, inclusive at both ends
    window_closes: dt.date

    @property
    def yearly(self) -> bool:
        return self.half is None

    @property
    def label_zh(self) -> str:
        if self.half == 1:
            return f"{self.year} 年上半年（1–6 月）"
        if self.half == 2:
            return f"{self.year} 年下半年（7–12 月）"
        return f"{self.year} 年度"

    @property
    def label_en(self) -> str:
        if self.half == 1:
            return f"January–June {self.year}"
        if self.half == 2:
            return f"July–December {self.year}"
        return f"Year {self.year}"

    @property
    def files_from(self) -> dt.date:
        """The first day the report can be filed: the day after the period."""
        return self.last_day + dt.timedelta(days=1)

    def bounds(self) -> tuple[dt.datetime, dt.datetime]:
        """UTC start (inclusive) and end (exclusive) of the period's Taipei days."""
        return taipei_day_bounds(self.first_day)[0], taipei_day_bounds(self.last_day)[1]

    def is_draft(self, today: dt.date) -> bool:
        """Not ended yet on `today` (a Taipei date): figures can still change."""
        return today <= self.last_day


def make_period(year: int, half: int | None) -> Period:
    if not FIRST_YEAR <= year <= LAST_YEAR or half not in (None, 1, 2):
        raise PeriodError(f"{year}H{half}" if half else str(year))
    if half == 1:
        return Period(f"{year}H1", year, 1, dt.date(year, 1, 1), dt.date(year, 6, 30),
                      dt.date(year, 7, 1), dt.date(year, 7, 10))
    if half == 2:
        return Period(f"{year}H2", year, 2, dt.date(year, 7, 1), dt.date(year, 12, 31),
                      dt.date(year + 1, 1, 1), dt.date(year + 1, 1, 10))
    # yearly: within two months of the year's end (VSA §7), i.e. by the last day of February
    return Period(str(year), year, None, dt.date(year, 1, 1), dt.date(year, 12, 31),
                  dt.date(year + 1, 1, 1), dt.date(year + 1, 3, 1) - dt.timedelta(days=1))


def parse_period(text: str | None) -> Period:
    """`2026H1`, `2026H2` or `2026` (typed full-width too: ２０２６Ｈ１); anything else raises
    PeriodError (saying what is accepted)."""
    from models.contact import half_width

    raw = (text or "").strip()
    match = PERIOD_PATTERN.match(half_width(raw))
    if not match:
        raise PeriodError(raw)
    year, half = int(match.group(1)), match.group(2)
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise PeriodError(raw)
    return make_period(year, int(half) if half else None)


def recent_periods(today: dt.date, years: int = 2) -> list[Period]:
    """Periods that have started by `today`, newest first: this year's and the `years` before."""
    out = []
    for year in range(today.year, today.year - years - 1, -1):
        for half in (2, 1, None):
            period = make_period(year, half)
            if period.first_day <= today:
                out.append(period)
    return sorted(out, key=lambda p: (p.last_day, p.yearly, p.first_day), reverse=True)


# --- the snapshot of a filed report ----------------------------------------------------------

class ReportSnapshot(Base):
    """A filed report: the lines exactly as filed (JSON), never changed afterwards."""

    __tablename__ = "report_snapshot"
    __table_args__ = (UniqueConstraint("unit_id", "period", "revision",
                                       name="uq_report_snapshot_unit_period_revision"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    period: Mapped[str] = mapped_column(String(10))
    revision: Mapped[int] = mapped_column(Integer, default=1)  # 2, 3, ...: amended filings
    first_day: Mapped[dt.date] = mapped_column(Date)
    last_day: Mapped[dt.date] = mapped_column(Date)
    figures: Mapped[dict] = mapped_column(JSON)  # {"lines": [Line.as_dict(), ...]}
    reason: Mapped[str] = mapped_column(String(500), default="")  # why amended
    filed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    filed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    filed_by: Mapped[User | None] = relationship()

    def lines(self) -> list[layout.Line]:
        return [layout.Line.from_dict(d) for d in self.figures.get("lines", [])]


@event.listens_for(ReportSnapshot, "before_update")
def _no_updates(_mapper, _conn, _target):  # a filed report never changes
    raise RuntimeError("a filed report's snapshot never changes")


@event.listens_for(ReportSnapshot, "before_delete")
def _no_deletes(_mapper, _conn, _target):
    raise RuntimeError("a filed report's snapshot is never deleted")


def snapshots(session: Session, unit_id: int, period: Period | None = None) -> list[ReportSnapshot]:
    """Filed snapshots of the unit (of one period), latest first."""
    query = select(ReportSnapshot).where(ReportSnapshot.unit_id == unit_id)
    if period is not None:
        query = query.where(ReportSnapshot.period == period.code)
    return list(session.scalars(query.order_by(ReportSnapshot.filed_at.desc(),
                                               ReportSnapshot.revision.desc())))


def latest_snapshot(session: Session, unit_id: int, period: Period) -> ReportSnapshot | None:
    return session.scalars(
        select(ReportSnapshot).where(ReportSnapshot.unit_id == unit_id,
                                     ReportSnapshot.period == period.code)
        .order_by(ReportSnapshot.revision.desc()).limit(1)).first()


# --- the figures -----------------------------------------------------------------------------

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


def _on_roll(period: Period):
    """SQL condition: the volunteer is on the unit's roll at the end of the period's last day."""
    end_bound = period.bounds()[1]
    joined = or_(Volunteer.joined_on <= period.last_day,
                 and_(Volunteer.joined_on.is_(None), Volunteer.created_at < end_bound))
    still_there = or_(
        Volunteer.left_on > period.last_day,
        and_(Volunteer.left_on.is_(None), Volunteer.status == VolunteerStatus.active))
    return and_(joined, still_there)


def _count(condition):
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _volunteer_figures(session: Session, unit_id: int, period: Period, f: Figures) -> None:
    start, end_bound = period.bounds()
    roll = _on_roll(period)
    last = period.last_day

    def covered(kind: CoverKind | None):
        cond = [InsuranceCover.volunteer_id == Volunteer.id,
                InsuranceCover.starts_on <= last, InsuranceCover.ends_on >= last]
        if kind is not None:
            cond.append(InsuranceCover.kind == kind)
        return exists().where(*cond)

    columns = {
        "total": _count(roll),
        **{g.value: _count(and_(roll, Volunteer.gender == g)) for g in Gender},
        "record_book": _count(and_(roll, Volunteer.record_book_no != "", or_(
            Volunteer.record_book_issued_on.is_(None),
            Volunteer.record_book_issued_on <= last))),
        "group": _count(and_(roll, covered(CoverKind.group))),
        "commercial": _count(and_(roll, covered(CoverKind.commercial))),
        "insured": _count(and_(roll, covered(None))),
        "new": _count(or_(Volunteer.joined_on.between(period.first_day, last),
                          and_(Volunteer.joined_on.is_(None), Volunteer.created_at >= start,
                               Volunteer.created_at < end_bound))),
        "left": _count(Volunteer.left_on.between(period.first_day, last)),
    }
    for key, low, high, _zh, _en in layout.AGE_BANDS:
        conds = [roll, Volunteer.birth_date <= _years_before(last, low)]
        if high is not None:  # younger than high + 1 on the last day
            conds.append(Volunteer.birth_date > _years_before(last, high + 1))
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


def _training_figures(session: Session, unit_id: int, period: Period, f: Figures) -> None:
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
        .where(Volunteer.unit_id == unit_id, _on_roll(period),
               TrainingRecord.completed_on <= period.last_day,
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


def compute(session: Session, unit_id: int, period: Period) -> Figures:
    """The report's figures for the unit and period, from the data as it is now."""
    f = Figures()
    _volunteer_figures(session, unit_id, period, f)
    _training_figures(session, unit_id, period, f)
    _service_figures(session, unit_id, period, f)
    _award_figures(session, unit_id, period, f)
    return f


def report_lines(session: Session, unit_id: int, period: Period) -> list[layout.Line]:
    return layout.lines(compute(session, unit_id, period))


# --- preview: today's figures, and what changed since filing --------------------------------

@dataclass
class Difference:
    key: str
    zh: str
    en: str
    unit: str
    filed: int | None  # None: the line was not in the filed report
    now: int | None  # None: the line is no longer in the report

    @property
    def change(self) -> int:
        return (self.now or 0) - (self.filed or 0)


def differences(filed: list[layout.Line], now: list[layout.Line]) -> list[Difference]:
    """Lines whose value differs between a filed snapshot and today's figures (lines added or
    gone count as differences too), in today's order, then lines only the snapshot has."""
    old = {line.key: line for line in filed}
    out = []
    for line in now:
        before = old.pop(line.key, None)
        if before is None or before.value != line.value:
            out.append(Difference(line.key, line.zh, line.en, line.unit,
                                  None if before is None else before.value, line.value))
    for line in old.values():
        out.append(Difference(line.key, line.zh, line.en, line.unit, line.value, None))
    return out


@dataclass
class Report:
    """What the preview and the files show for one period."""

    unit: Unit
    period: Period
    today: dt.date
    lines: list[layout.Line]  # today's figures
    filed: ReportSnapshot | None  # the latest filing, if any
    history: list[ReportSnapshot]  # every filing of the period, latest first
    diffs: list[Difference]

    @property
    def draft(self) -> bool:
        return self.period.is_draft(self.today)

    @property
    def overdue(self) -> bool:
        return self.filed is None and self.today > self.period.window_closes

    def heading(self, use_filed: bool = False) -> layout.Heading:
        if use_filed and self.filed is not None:
            zh = f"已填報（第 {self.filed.revision} 版，{_taipei_day(self.filed.filed_at)}）"
            en = f"Filed (revision {self.filed.revision}, {_taipei_day(self.filed.filed_at)})"
        elif self.draft:
            zh = f"草稿：期間尚未結束（至 {self.today.isoformat()} 的資料）"
            en = f"DRAFT: the period has not ended (data up to {self.today.isoformat()})"
        elif self.filed is not None:
            zh = f"目前資料（已於 {_taipei_day(self.filed.filed_at)} 填報，與填報版本可能不同）"
            en = (f"Current data (filed on {_taipei_day(self.filed.filed_at)}; may differ from "
                  "the filed report)")
        else:
            zh, en = "尚未填報", "Not filed yet"
        return layout.Heading(unit_name=self.unit.name, period=self.period.code,
                              period_zh=self.period.label_zh, period_en=self.period.label_en,
                              first_day=self.period.first_day, last_day=self.period.last_day,
                              status_zh=zh, status_en=en)


def _taipei_day(moment: dt.datetime) -> str:
    return moment.astimezone(TAIPEI).date().isoformat()


def build(session: Session, unit_id: int, period: Period, today: dt.date) -> Report:
    unit = session.get(Unit, unit_id)
    now_lines = report_lines(session, unit_id, period)
    history = snapshots(session, unit_id, period)
    filed = max(history, key=lambda s: s.revision) if history else None
    diffs = differences(filed.lines(), now_lines) if filed is not None else []
    return Report(unit, period, today, now_lines, filed, history, diffs)


FORMATS = ("xlsx", "csv")


def render(report: Report, fmt: str, use_filed: bool = False) -> tuple[bytes, str]:
    """(file bytes, file name) of today's figures, or of the filed snapshot (use_filed)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}")
    use_filed = use_filed and report.filed is not None
    lines = report.filed.lines() if use_filed else report.lines
    heading = report.heading(use_filed=use_filed)
    data = layout.to_csv(heading, lines) if fmt == "csv" else layout.to_xlsx(heading, lines)
    suffix = f"-filed-r{report.filed.revision}" if use_filed else (
        "-draft" if report.draft else "")
    return data, f"results-report-{report.period.code}{suffix}.{fmt}"


# --- filing ----------------------------------------------------------------------------------

class ReportError(Refused, ValueError):
    """A refused report filing."""


REASON_MAX = 500


def submit(session: Session, actor: User, period: Period, now: dt.datetime, *,
           amend: bool = False, reason: str = "") -> ReportSnapshot:
    """File the report of the actor's unit for `period`: freeze today's lines in a snapshot.

    Refused (ReportError, nothing written): a period not yet ended; a period already filed
    (unless `amend`, with a reason: that adds the next revision); an amendment of a period
    never filed. Audited. Caller commits."""
    begin_write(session)
    if actor.role != Role.admin:
        raise PermissionError("admins only")
    today = now.astimezone(TAIPEI).date()
    if period.is_draft(today):
        raise ReportError(N_("%(period)s has not ended yet: it can be filed from %(day)s."),
                          period=period.code,
                          day=period.files_from.isoformat())
    reason = (reason or "").strip()
    latest = latest_snapshot(session, actor.unit_id, period)
    if latest is not None and not amend:
        raise ReportError(N_("The report for %(period)s was already filed on %(day)s. The filed "
                             "figures do not change; to correct them, file an amended report "
                             "with a reason."), period=period.code,
                          day=_taipei_day(latest.filed_at))
    if amend and latest is None:
        raise ReportError(N_("The report for %(period)s has not been filed yet: there is "
                             "nothing to amend."), period=period.code)
    if amend and not reason:
        raise ReportError(N_("Say why the filed report is amended."))
    if len(reason) > REASON_MAX:
        raise ReportError(N_("Use at most %(max)s characters."), max=REASON_MAX)
    lines = report_lines(session, actor.unit_id, period)
    snapshot = ReportSnapshot(
        unit_id=actor.unit_id, period=period.code,
        revision=(latest.revision + 1) if latest else 1, first_day=period.first_day,
        last_day=period.last_day, figures={"lines": [line.as_dict() for line in lines]},
        reason=reason if amend else "", filed_by_id=actor.id, filed_at=now)
    try:
        with session.begin_nested():
            session.add(snapshot)
            session.flush()
    except IntegrityError:  # someone else filed the same revision a moment ago
        raise ReportError(N_("The report for %(period)s was filed by someone else a moment "
                             "ago. Reload the page."), period=period.code) from None
    audit.record(session, action="report_amended" if amend else "report_filed",
                 entity="report_snapshot", entity_id=snapshot.id, actor=actor, now=now,
                 after={"period": period.code, "revision": snapshot.revision,
                        "reason": snapshot.reason,
                        "figures": {line.key: line.value for line in lines}})
    return snapshot


# --- reminders on the admin's home page ------------------------------------------------------

LOOKBACK_DAYS = 366  # unfiled reports whose window opened longer ago are no longer reminded


@dataclass
class Reminder:
    period: Period
    today: dt.date

    @property
    def overdue(self) -> bool:
        return self.today > self.period.window_closes

    @property
    def days_left(self) -> int:
        return (self.period.window_closes - self.today).days


def in_hourbook_since(session: Session, unit_id: int) -> dt.date | None:
    """The first Taipei day the unit's records in Hourbook cover: the day it was set up, or the
    day of its earliest service session if earlier (paper sheets entered, a roster's history).
    Periods that ended before it were filed (or not) outside Hourbook, and are neither reminded
    nor shown as missed; a period with service recorded here is the unit's to report."""
    unit = session.get(Unit, unit_id)
    if unit is None or unit.created_at is None:
        return None
    since = unit.created_at.astimezone(TAIPEI).date()
    first = session.scalar(select(func.min(ServiceSession.checked_in_at))
                           .where(ServiceSession.unit_id == unit_id))
    if first is not None:
        since = min(since, first.astimezone(TAIPEI).date())
    return since


def reminders(session: Session, unit_id: int, today: dt.date) -> list[Reminder]:
    """Reports whose filing window has opened by `today` (a Taipei date) and that are not filed
    yet — overdue ones too, until filed (for windows opened within the last year). Periods that
    ended before the unit was set up in Hourbook are left out. Soonest deadline first."""
    since = in_hourbook_since(session, unit_id)
    candidates = [make_period(year, half) for year in (today.year - 2, today.year - 1, today.year)
                  for half in (1, 2, None)]
    candidates = [p for p in candidates
                  if p.window_opens <= today
                  and (today - p.window_opens).days <= LOOKBACK_DAYS
                  and (since is None or p.last_day >= since)]
    if not candidates:
        return []
    filed = set(session.scalars(select(ReportSnapshot.period).where(
        ReportSnapshot.unit_id == unit_id,
        ReportSnapshot.period.in_([p.code for p in candidates]))))
    return [Reminder(p, today) for p in sorted(candidates, key=lambda p: (p.window_closes,
                                                                         p.yearly))
            if p.code not in filed]
