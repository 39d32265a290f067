"""Half-year and yearly results reports (成果報表, workflow step 12; rules.md "Reports").

Periods are written `2026H1` (January–June, filed 1–10 July), `2026H2` (July–December, filed
1–10 January of the next year) and `2026` (the yearly report, due within two months of the
year's end: by the end of February). A period whose last day has not passed (Taipei calendar)
is a draft: it can be previewed and exported, marked as a draft, but not filed.

The figures (models/report_figures.py) are computed from the data as of the period's last
day, in bulk; report_layout.py makes them the report's lines and files.

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
from dataclasses import dataclass

from sqlalchemy import (JSON, Date, ForeignKey, Integer, String, UniqueConstraint, event, func,
                        select)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from . import audit
from . import report_layout as layout
from .base import TAIPEI, Base, UTCDateTime, begin_write, taipei_day_bounds, utcnow
from .people import Role, User
from .report_figures import compute, covers_ending
from .service import ServiceSession
from .unit import Unit
from .messages import N_, Refused


# --- periods ---------------------------------------------------------------------------------

# 2026H1, 2026H2, 2026; or in ROC years (民國, year - 1911, three digits) as the city's forms
# write them: 115H1, 115, 民國115年上半年 / 下半年 / 年度
PERIOD_PATTERN = re.compile(r"^([0-9]{3,4})(?:[Hh]([12]))?$")
ROC_WORDS = re.compile(r"^(?:民國)?([0-9]{3})年(上半年|下半年|度)?$")
ROC_OFFSET = 1911
FIRST_YEAR, LAST_YEAR = 2001, 2100  # the Volunteer Service Act dates from 2001


class PeriodError(ValueError):
    """A period that is not one (or none typed): the message says what is accepted."""

    INVALID = N_("“%(period)s” is not a report period. Use a year and a half like 2026H1 "
                 "(January–June) or 2026H2 (July–December), or a year like 2026 for the "
                 "yearly report.")
    EMPTY = N_("Enter a report period, for example 2026H1 (January–June), 2026H2 "
               "(July–December) or 2026 for the yearly report.")

    def __init__(self, text: str):
        self.params = {"period": (text or "")[:20]}
        self.message = self.INVALID if (text or "").strip() else self.EMPTY
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

    def counted_on(self, today: dt.date | None = None) -> dt.date:
        """The day the figures "at the period's end" are counted on: the last day, or `today`
        while the period has not ended (a draft shows the data up to today, as it says)."""
        return self.last_day if today is None else min(today, self.last_day)


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
    """`2026H1`, `2026H2` or `2026` (typed full-width too: ２０２６Ｈ１), or the same in ROC
    years: `115H1`, `115`, `民國115年上半年` (2026H1), `115年下半年`, `115年度`; the one reader of
    a period (pages, CLI). Anything else raises PeriodError (saying what is accepted)."""
    from models.contact import half_width

    raw = (text or "").strip()
    typed = re.sub(r"\s+", "", half_width(raw))
    match = PERIOD_PATTERN.match(typed)
    if match:
        year, half = match.group(1), match.group(2)
    elif words := ROC_WORDS.match(typed):
        year, half = words.group(1), {"上半年": "1", "下半年": "2"}.get(words.group(2))
    else:
        raise PeriodError(raw)
    year = int(year) + (ROC_OFFSET if len(year) == 3 else 0)
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


# --- the lines: the figures (report_figures.py) as the report lays them out (report_layout.py)

def report_lines(session: Session, unit_id: int, period: Period, today: dt.date | None = None
                 ) -> list[layout.Line]:
    """The report's lines; `today` (Taipei): a period not ended is counted as of that day."""
    return layout.lines(compute(session, unit_id, period, today))


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
    # a draft: volunteers insured today whose cover ends before the period's last day
    covers_ending: int = 0

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
            zh = f"草稿：期間尚未結束（至 {self.today.isoformat()} 的資料，期末數字以當日計）"
            en = (f"DRAFT: the period has not ended (data up to {self.today.isoformat()}; "
                  "figures at the period's end are as of that day)")
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
    now_lines = report_lines(session, unit_id, period, today)
    history = snapshots(session, unit_id, period)
    filed = max(history, key=lambda s: s.revision) if history else None
    diffs = differences(filed.lines(), now_lines) if filed is not None else []
    return Report(unit, period, today, now_lines, filed, history, diffs,
                  covers_ending(session, unit_id, period, today))


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
