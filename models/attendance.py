"""Attendance (出缺席記錄): scheduled shifts and the supervisor's marks.

A day's roster is computed from shifts, service sessions and marks; none of them is ever
deleted (a shift is cancelled, a mark superseded), so attendance sheets stay reproducible.
Making and cancelling shifts and excusing absences is models/shift_changes.py.
"""
from __future__ import annotations

import calendar
import datetime as dt
import enum
from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import Date, Enum, ForeignKey, Index, String, Time, UniqueConstraint, or_, select
from sqlalchemy.orm import Mapped, Session, joinedload, mapped_column, relationship

from .base import TAIPEI, Base, UTCDateTime, taipei_date, taipei_day_bounds, utcnow
from .people import Volunteer
from .service import ServiceItem, ServiceSession, SessionStatus, Site


class Repeat(str, enum.Enum):
    once = "once"
    weekly = "weekly"


class Shift(Base):
    """A volunteer scheduled at a site for a service item; times are Taipei wall-clock."""

    __tablename__ = "shift"
    __table_args__ = (Index("ix_shift_site_dates", "site_id", "starts_on", "ends_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id"))
    service_item_id: Mapped[int] = mapped_column(ForeignKey("service_item.id"))
    volunteer_id: Mapped[int] = mapped_column(ForeignKey("volunteer.id"), index=True)
    repeat: Mapped[Repeat] = mapped_column(Enum(Repeat, native_enum=False, length=10))
    starts_on: Mapped[dt.date] = mapped_column(Date)  # the day (once) or first day (weekly)
    ends_on: Mapped[dt.date | None] = mapped_column(Date)  # weekly: last day, None = open-ended
    start_time: Mapped[dt.time] = mapped_column(Time)
    end_time: Mapped[dt.time] = mapped_column(Time)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    cancelled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    site: Mapped[Site] = relationship()
    service_item: Mapped[ServiceItem] = relationship()
    volunteer: Mapped[Volunteer] = relationship()

    def occurs_on(self, day: dt.date) -> bool:
        if self.cancelled_at is not None or day < self.starts_on:
            return False
        if self.repeat == Repeat.once:
            return day == self.starts_on
        if self.ends_on is not None and day > self.ends_on:
            return False
        return day.weekday() == self.starts_on.weekday()


class MarkStatus(str, enum.Enum):
    excused = "excused"  # 請假: set by the supervisor, with a reason
    withdrawn = "withdrawn"  # the excuse was taken back (the row stays: marks are never deleted)


class AttendanceMark(Base):
    """A supervisor's mark on one occurrence of a shift (e.g. excused, with a reason)."""

    __tablename__ = "attendance_mark"
    __table_args__ = (UniqueConstraint("shift_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    shift_id: Mapped[int] = mapped_column(ForeignKey("shift.id"))
    day: Mapped[dt.date] = mapped_column(Date)
    status: Mapped[MarkStatus] = mapped_column(Enum(MarkStatus, native_enum=False, length=20))
    reason: Mapped[str] = mapped_column(String(300), default="")
    marked_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    marked_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    shift: Mapped[Shift] = relationship()


# ==========================================================================================
# The rules. Plain functions: they take the Session, dates and `now` (aware UTC); callers
# commit. Writers validate everything first and change nothing when anything is wrong.
# ==========================================================================================

# --- thresholds (data, not code paths) ------------------------------------------------------

LATE_AFTER = dt.timedelta(minutes=10)
"""Late: the first check-in is MORE than this after the shift's start (09:10:00 is on time)."""

EARLY_BEFORE = dt.timedelta(minutes=10)
"""Left early: the last check-out is MORE than this before the shift's end."""

REASON_MAX = 300  # AttendanceMark.reason


class Status(str, enum.Enum):
    """What a roster row says. The order here is the order of the summary columns."""

    present = "present"  # 出席: checked in by start + LATE_AFTER, out no earlier than end - EARLY_BEFORE
    late = "late"  # 遲到
    left_early = "left_early"  # 早退
    late_left_early = "late_left_early"  # 遲到且早退
    absent = "absent"  # 缺席: no counted check-in, and start + LATE_AFTER has passed
    excused = "excused"  # 請假: the supervisor's mark (with a reason) wins over everything else
    upcoming = "upcoming"  # 尚未開始: no check-in yet, and start + LATE_AFTER has not passed
    unscheduled = "unscheduled"  # 未排班: a check-in here that matches no shift of that volunteer


SCHEDULED = tuple(s for s in Status if s != Status.unscheduled)


# --- reading: the roster -------------------------------------------------------------------

def shift_window(shift: Shift, day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The shift's Taipei wall-clock times on `day`, as aware UTC moments."""
    start = dt.datetime.combine(day, shift.start_time, tzinfo=TAIPEI)
    end = dt.datetime.combine(day, shift.end_time, tzinfo=TAIPEI)
    return start.astimezone(dt.timezone.utc), end.astimezone(dt.timezone.utc)


def session_end_for_matching(s: ServiceSession) -> dt.datetime:
    """A closed session ends at its check-out. An open one counts as still going, but never
    longer than the site's session limit (the stale-closer ends forgotten ones there)."""
    if s.checked_out_at is not None:
        return s.checked_out_at
    return s.checked_in_at + dt.timedelta(minutes=s.site.max_session_minutes)


def _overlaps(s: ServiceSession, start: dt.datetime, end: dt.datetime) -> bool:
    return s.checked_in_at < end and session_end_for_matching(s) > start


@dataclass
class RosterRow:
    """One line of a day's attendance: a shift occurrence (or an unscheduled check-in), its
    status, and the evidence behind it."""

    day: dt.date
    status: Status
    volunteer: Volunteer
    shift: Shift | None = None  # None: unscheduled
    starts_at: dt.datetime | None = None  # the shift's window that day (aware UTC)
    ends_at: dt.datetime | None = None
    sessions: list[ServiceSession] = field(default_factory=list)  # matched, counted
    not_counted: list[ServiceSession] = field(default_factory=list)  # matched but rejected
    mark: AttendanceMark | None = None  # the excused mark, when there is one
    late_minutes: int = 0
    early_minutes: int = 0

    @property
    def first_in(self) -> dt.datetime | None:
        return min((s.checked_in_at for s in self.sessions), default=None)

    @property
    def last_out(self) -> dt.datetime | None:
        """The last check-out; None while any matched session is still open."""
        if not self.sessions or any(s.checked_out_at is None for s in self.sessions):
            return None
        return max(s.checked_out_at for s in self.sessions)

    @property
    def still_open(self) -> bool:
        return any(s.checked_out_at is None for s in self.sessions)

    @property
    def service_item(self):
        if self.shift is not None:
            return self.shift.service_item
        return self.sessions[0].service_item if self.sessions else None

    @property
    def key(self) -> str:
        """A stable id for the row on a page (htmx targets)."""
        if self.shift is not None:
            return f"shift-{self.shift.id}-{self.day.isoformat()}"
        return f"session-{self.sessions[0].id}"


def judge(shift: Shift, day: dt.date, sessions: list[ServiceSession],
          mark: AttendanceMark | None, now: dt.datetime) -> RosterRow:
    """The status of one occurrence of a shift, from the sessions that overlap its window.

    Rules, in order:
      1. an excused mark (set by a supervisor, with a reason) -> excused, whatever else;
      2. no counted session (rejected ones never count):
         upcoming while now <= start + LATE_AFTER, else absent;
      3. otherwise late if the first check-in is more than LATE_AFTER after the start, and
         left early if the last check-out is more than EARLY_BEFORE before the end (a session
         still open has not left); both -> late_left_early; neither -> present.
    """
    start, end = shift_window(shift, day)
    counted = sorted((s for s in sessions if s.status != SessionStatus.rejected),
                     key=lambda s: s.checked_in_at)
    row = RosterRow(day=day, status=Status.present, volunteer=shift.volunteer, shift=shift,
                    starts_at=start, ends_at=end, sessions=counted,
                    not_counted=[s for s in sessions if s.status == SessionStatus.rejected],
                    mark=mark if mark is not None and mark.status == MarkStatus.excused else None)
    if counted:
        late_by = row.first_in - start
        if late_by > LATE_AFTER:
            row.late_minutes = int(late_by.total_seconds() // 60)
        last_out = row.last_out
        if last_out is not None and end - last_out > EARLY_BEFORE:
            row.early_minutes = int((end - last_out).total_seconds() // 60)
    if row.mark is not None:
        row.status = Status.excused
    elif not counted:
        row.status = Status.upcoming if now <= start + LATE_AFTER else Status.absent
    elif row.late_minutes and row.early_minutes:
        row.status = Status.late_left_early
    elif row.late_minutes:
        row.status = Status.late
    elif row.early_minutes:
        row.status = Status.left_early
    return row


def _days(first: dt.date, last: dt.date):
    day = first
    while day <= last:
        yield day
        day += dt.timedelta(days=1)


def roster_range(session: Session, site_id: int, first: dt.date, last: dt.date,
                 now: dt.datetime) -> dict[dt.date, list[RosterRow]]:
    """Every Taipei day from `first` to `last` (inclusive) at a site -> its roster rows:
    scheduled occurrences by start time and volunteer number, then unscheduled check-ins.

    A session matches a shift occurrence when it is the same volunteer at the same site and
    its time overlaps the shift's Taipei-local window that day. An unscheduled row is a
    counted session checked in on that Taipei day that matches no occurrence at all.
    """
    site = session.get(Site, site_id)
    if site is None:
        raise LookupError("no such site")
    # One day either side: a session checked in late on one day may match a shift next day.
    lo, hi = first - dt.timedelta(days=1), last + dt.timedelta(days=1)
    shifts = list(session.scalars(
        select(Shift).options(joinedload(Shift.volunteer), joinedload(Shift.service_item))
        .where(Shift.site_id == site_id, Shift.cancelled_at.is_(None), Shift.starts_on <= hi,
               or_(Shift.ends_on.is_(None), Shift.ends_on >= lo),
               or_(Shift.repeat == Repeat.weekly, Shift.starts_on >= lo))))
    longest = dt.timedelta(minutes=max(site.max_session_minutes, 24 * 60))
    sessions = list(session.scalars(
        select(ServiceSession)
        .options(joinedload(ServiceSession.volunteer), joinedload(ServiceSession.service_item),
                 joinedload(ServiceSession.site))
        .where(ServiceSession.site_id == site_id,
               ServiceSession.checked_in_at >= taipei_day_bounds(lo)[0] - longest,
               ServiceSession.checked_in_at < taipei_day_bounds(hi)[1])
        .order_by(ServiceSession.checked_in_at, ServiceSession.id)))
    marks = {}
    if shifts:
        for mark in session.scalars(select(AttendanceMark).where(
                AttendanceMark.shift_id.in_([s.id for s in shifts]),
                AttendanceMark.day >= first, AttendanceMark.day <= last)):
            marks[(mark.shift_id, mark.day)] = mark
    by_volunteer: dict[int, list[ServiceSession]] = {}
    for s in sessions:
        by_volunteer.setdefault(s.volunteer_id, []).append(s)

    matched: set[int] = set()
    result: dict[dt.date, list[RosterRow]] = {}
    for day in _days(lo, hi):
        rows = []
        for shift in shifts:
            if not shift.occurs_on(day):
                continue
            start, end = shift_window(shift, day)
            hits = [s for s in by_volunteer.get(shift.volunteer_id, []) if _overlaps(s, start, end)]
            matched.update(s.id for s in hits if s.status != SessionStatus.rejected)
            if first <= day <= last:
                rows.append(judge(shift, day, hits, marks.get((shift.id, day)), now))
        if first <= day <= last:
            rows.sort(key=lambda r: (r.starts_at, r.volunteer.volunteer_no, r.shift.id))
            result[day] = rows
    for s in sessions:
        day = taipei_date(s.checked_in_at)
        if (first <= day <= last and s.id not in matched and s.status != SessionStatus.rejected):
            result[day].append(RosterRow(day=day, status=Status.unscheduled, volunteer=s.volunteer,
                                         sessions=[s]))
    return result


def roster(session: Session, site_id: int, day: dt.date, now: dt.datetime) -> list[RosterRow]:
    """A Taipei day's attendance at a site (see `roster_range` and `judge` for the rules)."""
    return roster_range(session, site_id, day, day, now)[day]


def month_bounds(year: int, month: int) -> tuple[dt.date, dt.date]:
    return dt.date(year, month, 1), dt.date(year, month, calendar.monthrange(year, month)[1])


def counts(rows: list[RosterRow]) -> dict[Status, int]:
    """How many rows of each status (every status present, zero or not)."""
    found = Counter(r.status for r in rows)
    return {status: found.get(status, 0) for status in Status}


@dataclass
class VolunteerTally:
    volunteer: Volunteer
    counts: dict[Status, int]

    @property
    def scheduled(self) -> int:
        return sum(n for status, n in self.counts.items() if status != Status.unscheduled)


def tally_by_volunteer(days: dict[dt.date, list[RosterRow]]) -> list[VolunteerTally]:
    """Per volunteer, how many occurrences of each status over the days (a month sheet)."""
    tallies: dict[int, VolunteerTally] = {}
    for rows in days.values():
        for row in rows:
            tally = tallies.get(row.volunteer.id)
            if tally is None:
                tally = tallies[row.volunteer.id] = VolunteerTally(
                    row.volunteer, {status: 0 for status in Status})
            tally.counts[row.status] += 1
    return sorted(tallies.values(), key=lambda t: (t.volunteer.volunteer_no, t.volunteer.id))


def row_for(session: Session, shift_id: int, day: dt.date, now: dt.datetime) -> RosterRow | None:
    """The roster row of one shift occurrence (None when the shift does not occur that day)."""
    shift = session.get(Shift, shift_id)
    if shift is None or not shift.occurs_on(day):
        return None
    for row in roster(session, shift.site_id, day, now):
        if row.shift is not None and row.shift.id == shift_id:
            return row
    return None


def shifts_of_site(session: Session, site_id: int) -> list[Shift]:
    """Every shift ever scheduled at a site (cancelled and ended ones too), newest first."""
    return list(session.scalars(
        select(Shift).options(joinedload(Shift.volunteer), joinedload(Shift.service_item))
        .where(Shift.site_id == site_id)
        .order_by(Shift.cancelled_at.is_not(None), Shift.starts_on.desc(), Shift.start_time,
                  Shift.id.desc())))


def is_current(shift: Shift, today: dt.date) -> bool:
    """Not cancelled and not over: it still has occurrences today or later."""
    if shift.cancelled_at is not None:
        return False
    last = shift.starts_on if shift.repeat == Repeat.once else shift.ends_on
    return last is None or last >= today
