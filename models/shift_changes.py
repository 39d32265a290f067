"""Changes to the schedule (排班): shifts created and cancelled, occurrences excused (請假).

Every change takes the write lock, checks the actor's site, and is audited; nothing is ever
deleted. What the schedule and the check-ins say about a day is models/attendance.py.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import audit
from .attendance import REASON_MAX, AttendanceMark, MarkStatus, Repeat, Shift, shift_window
from .base import begin_write, taipei_date
from .people import User, Volunteer, VolunteerStatus
from .service import ServiceItem, Site
from .verification import may_act_on



class InvalidShift(ValueError):
    """What is wrong with a shift, field by field, as reason codes.

    Codes: required, unknown_site, inactive_site, unknown_item, unknown_volunteer,
    inactive_volunteer, unknown_repeat, end_before_start, last_before_first, overlap
    (`conflict` is the volunteer's shift it collides with).
    """

    def __init__(self, errors: dict[str, str], conflict: Shift | None = None):
        super().__init__("; ".join(f"{name}: {code}" for name, code in errors.items()))
        self.errors = dict(errors)
        self.conflict = conflict


class AttendanceRefused(ValueError):
    """A refused change to a shift or a mark. Codes: not_scheduled, reason_required,
    reason_too_long, not_excused, already_cancelled, started, over."""

    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


def shift_snapshot(shift: Shift) -> dict:
    """A shift as the audit log records it."""
    return {
        "site_id": shift.site_id,
        "service_item_id": shift.service_item_id,
        "volunteer_id": shift.volunteer_id,
        "repeat": shift.repeat.value if shift.repeat else None,
        "starts_on": shift.starts_on.isoformat() if shift.starts_on else None,
        "ends_on": shift.ends_on.isoformat() if shift.ends_on else None,
        "start_time": shift.start_time.strftime("%H:%M") if shift.start_time else None,
        "end_time": shift.end_time.strftime("%H:%M") if shift.end_time else None,
        "cancelled_at": shift.cancelled_at.isoformat() if shift.cancelled_at else None,
    }


def mark_snapshot(mark: AttendanceMark, shift: Shift) -> dict:
    return {
        "shift_id": mark.shift_id,
        "volunteer_id": shift.volunteer_id,
        "site_id": shift.site_id,
        "day": mark.day.isoformat(),
        "status": mark.status.value,
        "reason": mark.reason,
    }


def share_a_day(a: Shift, b: Shift) -> bool:
    """Do two shifts (not cancelled) ever occur on the same day?"""
    if a.repeat == Repeat.once:
        return b.occurs_on(a.starts_on)
    if b.repeat == Repeat.once:
        return a.occurs_on(b.starts_on)
    if a.starts_on.weekday() != b.starts_on.weekday():
        return False
    first = max(a.starts_on, b.starts_on)  # an occurrence of both: same weekday as each start
    return all(s.ends_on is None or first <= s.ends_on for s in (a, b))


def _int_or_none(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _mine(session: Session, model, ident, unit_id: int):
    ident = _int_or_none(ident)
    row = session.get(model, ident) if ident is not None else None
    return row if row is not None and row.unit_id == unit_id else None


def create_shift(session: Session, actor: User, now: dt.datetime, *, site_id, service_item_id,
                 volunteer_id, repeat, starts_on, ends_on, start_time, end_time) -> Shift:
    """Schedule a volunteer at a site for a service item, once or weekly (Taipei wall clock).

    A shift lies within one Taipei day (end after start; 23:00-23:59 is fine, overnight is
    not). A weekly shift runs from `starts_on` (its weekday) to `ends_on`, or open-ended;
    a one-off shift ignores `ends_on`. A volunteer cannot hold two shifts that overlap in
    time on a common day (at any site). Raises PermissionError for a site the actor may not
    act on, InvalidShift for bad input; nothing is added then.
    """
    begin_write(session)
    errors: dict[str, str] = {}
    site = _mine(session, Site, site_id, actor.unit_id)
    if site is None:
        errors["site_id"] = "unknown_site" if site_id not in (None, "") else "required"
    elif not may_act_on(session, actor, site.id, site.unit_id):
        raise PermissionError("not your site")
    elif not site.active:
        errors["site_id"] = "inactive_site"
    item = _mine(session, ServiceItem, service_item_id, actor.unit_id)
    if item is None or not item.active:
        errors["service_item_id"] = "unknown_item" if service_item_id not in (None, "") else "required"
    volunteer = _mine(session, Volunteer, volunteer_id, actor.unit_id)
    if volunteer is None:
        errors["volunteer_id"] = "unknown_volunteer" if volunteer_id not in (None, "") else "required"
    elif volunteer.status != VolunteerStatus.active:
        errors["volunteer_id"] = "inactive_volunteer"
    try:
        repeat = Repeat(repeat)
    except ValueError:
        errors["repeat"] = "unknown_repeat" if repeat else "required"
        repeat = None
    if not isinstance(starts_on, dt.date):
        errors["starts_on"] = "required"
    for name, value in (("start_time", start_time), ("end_time", end_time)):
        if not isinstance(value, dt.time):
            errors[name] = "required"
    if "start_time" not in errors and "end_time" not in errors and end_time <= start_time:
        errors["end_time"] = "end_before_start"
    if repeat != Repeat.weekly:
        ends_on = None
    elif ends_on is not None and not isinstance(ends_on, dt.date):
        errors["ends_on"] = "required"
    elif ends_on is not None and isinstance(starts_on, dt.date) and ends_on < starts_on:
        errors["ends_on"] = "last_before_first"
    if errors:
        raise InvalidShift(errors)

    shift = Shift(unit_id=actor.unit_id, site_id=site.id, service_item_id=item.id,
                  volunteer_id=volunteer.id, repeat=repeat, starts_on=starts_on, ends_on=ends_on,
                  start_time=start_time.replace(second=0, microsecond=0, tzinfo=None),
                  end_time=end_time.replace(second=0, microsecond=0, tzinfo=None),
                  created_by_id=actor.id, created_at=now)
    for other in session.scalars(select(Shift).where(Shift.volunteer_id == volunteer.id,
                                                     Shift.cancelled_at.is_(None))):
        if (other.start_time < shift.end_time and shift.start_time < other.end_time
                and share_a_day(shift, other)):
            raise InvalidShift({"start_time": "overlap"}, conflict=other)
    session.add(shift)
    session.flush()
    audit.record(session, action="shift_create", entity="shift", entity_id=shift.id, actor=actor,
                 after=shift_snapshot(shift), now=now)
    return shift


def _load_shift(session: Session, shift_id: int, actor: User) -> Shift:
    shift = session.get(Shift, shift_id, populate_existing=True)
    if shift is None or shift.unit_id != actor.unit_id:
        raise LookupError("no such shift")
    if not may_act_on(session, actor, shift.site_id, shift.unit_id):
        raise PermissionError("not your site")
    return shift


def cancel_shift(session: Session, shift_id: int, actor: User, now: dt.datetime) -> Shift:
    """Cancel what has not started yet; what has happened stays on the record.

    A one-off shift that has not started gets `cancelled_at`. A weekly shift none of whose
    occurrences has started is cancelled the same way; one that has run already is ended
    instead: its last day becomes the day before its first occurrence not yet started, so
    the attendance sheets of the past keep it. Nothing is ever deleted.
    """
    begin_write(session)
    shift = _load_shift(session, shift_id, actor)
    if shift.cancelled_at is not None:
        raise AttendanceRefused("already_cancelled")
    before = shift_snapshot(shift)
    if shift.repeat == Repeat.once:
        if shift_window(shift, shift.starts_on)[0] <= now:
            raise AttendanceRefused("started")
        shift.cancelled_at = now
        action = "shift_cancel"
    else:
        day = max(shift.starts_on, taipei_date(now))
        while not (shift.occurs_on(day) and shift_window(shift, day)[0] > now):
            day += dt.timedelta(days=1)
            if shift.ends_on is not None and day > shift.ends_on:
                raise AttendanceRefused("over")
        if day == shift.starts_on:
            shift.cancelled_at = now
            action = "shift_cancel"
        else:
            shift.ends_on = day - dt.timedelta(days=1)
            action = "shift_end"
    session.flush()
    audit.record(session, action=action, entity="shift", entity_id=shift.id, actor=actor,
                 before=before, after=shift_snapshot(shift), now=now)
    return shift


def _clean_reason(reason: str | None) -> str:
    reason = " ".join((reason or "").split())
    if not reason:
        raise AttendanceRefused("reason_required")
    if len(reason) > REASON_MAX:
        raise AttendanceRefused("reason_too_long")
    return reason


def _mark_of(session: Session, shift_id: int, day: dt.date) -> AttendanceMark | None:
    return session.scalar(select(AttendanceMark).where(AttendanceMark.shift_id == shift_id,
                                                       AttendanceMark.day == day))


def mark_excused(session: Session, shift_id: int, day: dt.date, reason: str, actor: User,
                 now: dt.datetime) -> AttendanceMark:
    """Excuse one occurrence of a shift (請假), with a reason; past, today or ahead.

    Marking again changes the reason (or re-excuses a withdrawn mark): the same row is
    updated, the audit log keeps every version.
    """
    begin_write(session)
    shift = _load_shift(session, shift_id, actor)
    if not shift.occurs_on(day):
        raise AttendanceRefused("not_scheduled")
    reason = _clean_reason(reason)
    mark = _mark_of(session, shift.id, day)
    before = mark_snapshot(mark, shift) if mark is not None else None
    if mark is None:
        mark = AttendanceMark(unit_id=shift.unit_id, shift_id=shift.id, day=day)
        session.add(mark)
    elif mark.status == MarkStatus.excused and mark.reason == reason:
        return mark  # nothing to change
    mark.status = MarkStatus.excused
    mark.reason = reason
    mark.marked_by_id = actor.id
    mark.marked_at = now
    session.flush()
    audit.record(session, action="attendance_excuse", entity="attendance_mark", entity_id=mark.id,
                 actor=actor, before=before, after=mark_snapshot(mark, shift), now=now)
    return mark


def withdraw_excuse(session: Session, shift_id: int, day: dt.date, actor: User,
                    now: dt.datetime) -> AttendanceMark:
    """Take an excuse back: the occurrence is judged from the check-ins again."""
    begin_write(session)
    shift = _load_shift(session, shift_id, actor)
    mark = _mark_of(session, shift.id, day)
    if mark is None or mark.status != MarkStatus.excused:
        raise AttendanceRefused("not_excused")
    before = mark_snapshot(mark, shift)
    mark.status = MarkStatus.withdrawn
    mark.marked_by_id = actor.id
    mark.marked_at = now
    session.flush()
    audit.record(session, action="attendance_withdraw", entity="attendance_mark",
                 entity_id=mark.id, actor=actor, before=before, after=mark_snapshot(mark, shift),
                 now=now)
    return mark
