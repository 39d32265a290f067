"""Hour slips (時數條): the tables, gap-free serial numbers, issuing, voiding and reissuing.

A slip holds one volunteer's verified sessions that are on no slip yet, over a month or a date
range (Taipei calendar days). Issuing numbers it (see "Serial numbers" below) and locks its
sessions (ServiceSession.hour_slip_id, set by an UPDATE ... WHERE hour_slip_id IS NULL whose
row count must match, so two concurrent issuers can never put one session on two slips).
Voiding keeps the slip, its number and its entries as history and frees the sessions; a
reissue voids and issues a replacement (replaces_id). Supervisors slip sessions of their own
sites only; admins all of the unit's. Callers commit; every change is audited.

The period a slip may cover and the period each new slip carries are models/slip_periods.py
(never past the issue day; a volunteer's new slip follows on from their earlier ones, or names
the slips it overlaps); the lists of issued slips (paged, searched, a volunteer's own) are
models/slip_lists.py.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import (Date, ForeignKey, String, UniqueConstraint, bindparam, func, insert, select,
                        update)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, joinedload, mapped_column, relationship, selectinload

from . import audit
from .base import Base, UTCDateTime, begin_write, taipei_date, taipei_day_bounds, utcnow
from .people import Role, User, Volunteer
from .service import ServiceSession, SessionStatus
from .verification import supervised_site_ids
from .messages import N_, Refused

if TYPE_CHECKING:  # slip_periods reads HourSlip: imported here only where used, no import cycle
    from .slip_periods import SlipPeriod


class SerialCounter(Base):
    """The last number issued per unit, kind of document and year: numbers never repeat or skip."""

    __tablename__ = "serial_counter"

    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(30), primary_key=True)
    year: Mapped[int] = mapped_column(primary_key=True)
    last: Mapped[int] = mapped_column(default=0)


def take_serials(session: Session, unit_id: int, kind: str, year: int, count: int = 1) -> int:
    """Take `count` consecutive numbers inside the caller's write transaction; the first one.

    The UPDATE takes a row lock (PostgreSQL) or runs under the write lock (SQLite), so two
    supervisors issuing at once get consecutive numbers; if the caller rolls back, the numbers
    are given back with it — no gaps.
    """
    key = (SerialCounter.unit_id == unit_id, SerialCounter.kind == kind, SerialCounter.year == year)
    for _attempt in range(2):
        value = session.execute(
            update(SerialCounter).where(*key).values(last=SerialCounter.last + count)
            .returning(SerialCounter.last)
            # no identity-map walk: with thousands of slips in the session it made issuing O(n²)
            .execution_options(synchronize_session=False)
        ).scalar()
        if value is not None:
            return value - count + 1
        try:
            with session.begin_nested():
                session.execute(insert(SerialCounter).values(unit_id=unit_id, kind=kind, year=year, last=0))
        except IntegrityError:
            pass  # someone else created the row first: update it
    raise RuntimeError("could not take a serial number")


def next_serial(session: Session, unit_id: int, kind: str, year: int) -> int:
    """Take the next number (see take_serials)."""
    return take_serials(session, unit_id, kind, year)


class HourSlip(Base):
    __tablename__ = "hour_slip"
    __table_args__ = (UniqueConstraint("unit_id", "year", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    volunteer_id: Mapped[int] = mapped_column(ForeignKey("volunteer.id"), index=True)
    year: Mapped[int] = mapped_column()
    seq: Mapped[int] = mapped_column()
    serial: Mapped[str] = mapped_column(String(40), unique=True)
    period_start: Mapped[dt.date] = mapped_column(Date)
    period_end: Mapped[dt.date] = mapped_column(Date)
    total_minutes: Mapped[int] = mapped_column()
    issued_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    issued_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    voided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    voided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    void_reason: Mapped[str] = mapped_column(String(300), default="")
    replaces_id: Mapped[int | None] = mapped_column(ForeignKey("hour_slip.id"))

    volunteer: Mapped[Volunteer] = relationship()
    issued_by: Mapped[User] = relationship(foreign_keys=[issued_by_id])
    entries: Mapped[list["HourSlipEntry"]] = relationship(back_populates="slip", order_by="HourSlipEntry.id")


class HourSlipEntry(Base):
    """One session on a slip, with the minutes printed (history survives voiding)."""

    __tablename__ = "hour_slip_entry"

    id: Mapped[int] = mapped_column(primary_key=True)
    slip_id: Mapped[int] = mapped_column(ForeignKey("hour_slip.id"), index=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("service_session.id"), index=True)
    minutes: Mapped[int] = mapped_column()

    slip: Mapped[HourSlip] = relationship(back_populates="entries")
    service_session: Mapped[ServiceSession] = relationship()


# === Issuing, voiding and reading slips ===================================================
#
# Serial numbers: "UUU-YYYY-NNNNN" — the unit's id (at least 3 digits), the Gregorian year
# (Asia/Taipei) the slip was issued in, and the slip's sequence number within that unit and
# year, from 00001 up, taken with `next_serial(kind="hour_slip")` inside the issuing write
# transaction: numbers never repeat and never skip (a rolled-back issue gives its number back;
# a voided slip keeps its number and its reissue takes the next one).

SLIP_KIND = "hour_slip"
REASON_MAX = 300


def format_serial(unit_id: int, year: int, seq: int) -> str:
    return f"{unit_id:03d}-{year}-{seq:05d}"


class SlipError(Refused):
    """A refused slip action; `message` is an English msgid with %(params)s."""


class SlipConflict(SlipError):
    """Another issuer put some of these sessions on a slip first: nothing was issued."""

    def __init__(self):
        super().__init__(N_("Some of these sessions were put on another slip a moment ago. "
                            "Nothing was issued: look at the list again."))


def require_staff(user: User) -> None:
    if user.role not in (Role.admin, Role.supervisor):
        raise PermissionError("staff only")


def _require_reason(reason: str | None) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise SlipError(N_("A reason is required."))
    if len(reason) > REASON_MAX:
        raise SlipError(N_("Use at most %(max)d characters."), max=REASON_MAX)
    return reason


@dataclass
class PendingSlip:
    """What a slip for one volunteer would hold: verified sessions on no slip yet, and the
    period it would carry (see slip_periods)."""

    volunteer: Volunteer
    sessions: list[ServiceSession]
    period: SlipPeriod | None = None

    @property
    def total_minutes(self) -> int:
        return sum(s.credited_minutes for s in self.sessions)


def _unslipped_query(session: Session, actor: User, date_from: dt.date, date_to: dt.date,
                     volunteer_id: int | None = None):
    query = select(ServiceSession).where(
        ServiceSession.unit_id == actor.unit_id,
        ServiceSession.status == SessionStatus.verified,
        ServiceSession.hour_slip_id.is_(None),
        ServiceSession.checked_in_at >= taipei_day_bounds(date_from)[0],
        ServiceSession.checked_in_at < taipei_day_bounds(date_to)[1],
    )
    allowed = supervised_site_ids(session, actor)
    if allowed is not None:  # a supervisor: sessions of their own sites only
        query = query.where(ServiceSession.site_id.in_(allowed or {-1}))
    if volunteer_id is not None:
        query = query.where(ServiceSession.volunteer_id == volunteer_id)
    return query


def pending_slips(session: Session, actor: User, *, date_from: dt.date, date_to: dt.date,
                  volunteer_id: int | None = None) -> list[PendingSlip]:
    """Per volunteer (by volunteer number), the sessions a slip issued now would hold."""
    from .slip_periods import check_period, slip_periods  # it reads this module's table

    require_staff(actor)
    check_period(date_from, date_to)
    query = _unslipped_query(session, actor, date_from, date_to, volunteer_id).options(
        joinedload(ServiceSession.volunteer), joinedload(ServiceSession.site),
        joinedload(ServiceSession.service_item))
    grouped: dict[int, PendingSlip] = {}
    for s in session.scalars(query.order_by(ServiceSession.checked_in_at, ServiceSession.id)):
        grouped.setdefault(s.volunteer_id, PendingSlip(s.volunteer, [])).sessions.append(s)
    periods = slip_periods(session, actor.unit_id, date_from, date_to,
                           {vid: taipei_date(p.sessions[0].checked_in_at) for vid, p in grouped.items()},
                           volunteer_id)
    for vid, pending in grouped.items():
        pending.period = periods[vid]
    return sorted(grouped.values(), key=lambda p: (p.volunteer.volunteer_no, p.volunteer.id))


def slip_snapshot(slip: HourSlip, session_ids: list[int] | None = None) -> dict:
    """The slip as the audit log records it."""
    data = {
        "serial": slip.serial,
        "volunteer_id": slip.volunteer_id,
        "period_start": slip.period_start.isoformat(),
        "period_end": slip.period_end.isoformat(),
        "total_minutes": slip.total_minutes,
        "issued_by_id": slip.issued_by_id,
        "voided_at": slip.voided_at.isoformat() if slip.voided_at else None,
        "void_reason": slip.void_reason or "",
        "replaces_id": slip.replaces_id,
    }
    if session_ids is not None:
        data["session_ids"] = session_ids
    return data


def _issue_one(session: Session, actor: User, now: dt.datetime, pending: PendingSlip,
               date_from: dt.date, date_to: dt.date, replaces: HourSlip | None = None) -> HourSlip:
    year = taipei_date(now).year
    seq = next_serial(session, actor.unit_id, SLIP_KIND, year)
    slip = HourSlip(unit_id=actor.unit_id, volunteer_id=pending.volunteer.id, year=year, seq=seq,
                    serial=format_serial(actor.unit_id, year, seq), period_start=date_from,
                    period_end=date_to, total_minutes=pending.total_minutes,
                    issued_by_id=actor.id, issued_at=now,
                    replaces_id=replaces.id if replaces is not None else None)
    session.add(slip)
    session.flush()
    ids = [s.id for s in pending.sessions]
    # The lock: only sessions still on no slip are taken. A concurrent issuer that got there
    # first leaves fewer rows to update, and then nothing of this issue may stand.
    taken = session.execute(
        update(ServiceSession)
        .where(ServiceSession.id.in_(ids), ServiceSession.hour_slip_id.is_(None),
               ServiceSession.status == SessionStatus.verified)
        .values(hour_slip_id=slip.id)
        .execution_options(synchronize_session=False)
    ).rowcount
    if taken != len(ids):
        raise SlipConflict()
    for s in pending.sessions:
        session.expire(s, ["hour_slip_id"])
        session.add(HourSlipEntry(slip_id=slip.id, session_id=s.id, minutes=s.credited_minutes))
    session.flush()
    audit.record(session, action="issue_slip", entity="hour_slip", entity_id=slip.id, actor=actor,
                 after=slip_snapshot(slip, ids), now=now)
    return slip


ISSUE_CHUNK = 500  # slips per round of bulk statements when issuing for a whole unit


def issue_slips(session: Session, actor: User, now: dt.datetime, *, date_from: dt.date,
                date_to: dt.date, volunteer_id: int | None = None) -> list[HourSlip]:
    """Issue one slip per volunteer (or for one volunteer) over the period's verified sessions
    that are on no slip yet — a supervisor's of their own sites only. The period may not end
    after today (Taipei, at `now`); each slip's own period follows `slip_periods`. Returns the new
    slips in serial order (none when there is nothing to put on a slip). Raises SlipConflict when
    a concurrent issuer took some of the sessions first: the caller rolls back, nothing was issued.

    Built for a whole unit at once (thousands of slips): the sessions are read as plain rows,
    the serial numbers taken with one UPDATE, and slips, session locks, entries and audit
    entries written in bulk statements, chunk by chunk — no ORM object per session.
    """
    from .slip_periods import check_period, slip_periods  # it reads this module's table

    begin_write(session)
    require_staff(actor)
    check_period(date_from, date_to, taipei_date(now))
    if volunteer_id is not None:
        volunteer = session.get(Volunteer, volunteer_id)
        if volunteer is None or volunteer.unit_id != actor.unit_id:
            raise SlipError(N_("Choose a volunteer of your own unit."))
    rows = session.execute(
        _unslipped_query(session, actor, date_from, date_to, volunteer_id)
        .with_only_columns(ServiceSession.volunteer_id, ServiceSession.id, ServiceSession.credited_minutes,
                           ServiceSession.checked_in_at)
        .join(Volunteer, Volunteer.id == ServiceSession.volunteer_id)
        .order_by(Volunteer.volunteer_no, Volunteer.id, ServiceSession.checked_in_at, ServiceSession.id))
    grouped: dict[int, list[tuple[int, int]]] = {}
    first_days: dict[int, dt.date] = {}
    for vid, sid, minutes, checked_in_at in rows:
        grouped.setdefault(vid, []).append((sid, minutes or 0))
        first_days.setdefault(vid, taipei_date(checked_in_at))  # in time order: the first
    if not grouped:
        return []
    periods = slip_periods(session, actor.unit_id, date_from, date_to, first_days, volunteer_id)
    year = taipei_date(now).year
    first = take_serials(session, actor.unit_id, SLIP_KIND, year, len(grouped))
    pending = [(vid, sessions, periods[vid]) for vid, sessions in grouped.items()]
    for start in range(0, len(pending), ISSUE_CHUNK):
        _issue_chunk(session, actor, now, pending[start:start + ISSUE_CHUNK], first + start, year)
    return slips_in_range(session, actor.unit_id, year, first, first + len(pending) - 1)


def _issue_chunk(session: Session, actor: User, now: dt.datetime,
                 pending: list[tuple[int, list[tuple[int, int]], SlipPeriod]], first_seq: int,
                 year: int) -> None:
    slip_rows = [dict(unit_id=actor.unit_id, volunteer_id=vid, year=year, seq=first_seq + n,
                      serial=format_serial(actor.unit_id, year, first_seq + n),
                      period_start=period.start, period_end=period.end,
                      total_minutes=sum(m for _sid, m in sessions), issued_by_id=actor.id,
                      issued_at=now, void_reason="", replaces_id=None)
                 for n, (vid, sessions, period) in enumerate(pending)]
    slip_ids = session.execute(
        insert(HourSlip).returning(HourSlip.id, sort_by_parameter_order=True), slip_rows).scalars().all()
    locks = [{"slip": slip_id, "sid": sid}
             for slip_id, (_vid, sessions, _p) in zip(slip_ids, pending) for sid, _m in sessions]
    # The lock: only sessions still on no slip are taken. A concurrent issuer that got there
    # first leaves fewer rows to update, and then nothing of this issue may stand.
    sessions_table = ServiceSession.__table__
    taken = session.execute(
        update(sessions_table)
        .where(sessions_table.c.id == bindparam("sid"), sessions_table.c.hour_slip_id.is_(None),
               sessions_table.c.status == SessionStatus.verified.value)
        .values(hour_slip_id=bindparam("slip")), locks).rowcount  # executemany: the sum
    if taken != len(locks):
        raise SlipConflict()
    session.execute(insert(HourSlipEntry), [
        {"slip_id": slip_id, "session_id": sid, "minutes": minutes}
        for slip_id, (_vid, sessions, _p) in zip(slip_ids, pending) for sid, minutes in sessions])
    audit.record_many(session, [
        {"action": "issue_slip", "entity": "hour_slip", "entity_id": slip_id,
         # a transient HourSlip (never added to the session) gives the audit its usual shape
         "after": slip_snapshot(HourSlip(**row), [sid for sid, _m in sessions])}
        for slip_id, row, (_vid, sessions, _p) in zip(slip_ids, slip_rows, pending)], actor=actor, now=now)


def batch_parts(unit_id: int, year: int, first: int, last: int, size: int) -> list[dict]:
    """An issuing batch (serial numbers first..last of a year) cut into parts of at most `size`
    slips, each with its serial range and its place in the batch (1-based), for printing."""
    parts = []
    for a in range(first, last + 1, size):
        b = min(a + size - 1, last)
        parts.append({"year": year, "first": a, "last": b, "from_no": a - first + 1,
                      "to_no": b - first + 1, "first_serial": format_serial(unit_id, year, a),
                      "last_serial": format_serial(unit_id, year, b)})
    return parts


def count_in_range(session: Session, unit_id: int, year: int, first: int, last: int) -> int:
    return session.scalar(select(func.count()).select_from(HourSlip).where(
        HourSlip.unit_id == unit_id, HourSlip.year == year, HourSlip.seq >= first, HourSlip.seq <= last))


def slips_in_range(session: Session, unit_id: int, year: int, first: int, last: int,
                   details: bool = False) -> list[HourSlip]:
    """A unit's slips numbered first..last in a year (one issuing batch), in serial order."""
    query = select(HourSlip).where(HourSlip.unit_id == unit_id, HourSlip.year == year,
                                   HourSlip.seq >= first, HourSlip.seq <= last).order_by(HourSlip.seq)
    return list(session.scalars(_with_details(query) if details else query))


def slip_site_ids(session: Session, slip: HourSlip) -> set[int]:
    return set(session.scalars(
        select(ServiceSession.site_id).join(HourSlipEntry, HourSlipEntry.session_id == ServiceSession.id)
        .where(HourSlipEntry.slip_id == slip.id).distinct()))


def may_handle_slip(session: Session, user: User, slip: HourSlip) -> bool:
    """Staff may see, print, void and reissue a slip: admins of the unit any, supervisors
    those whose every session is at one of their sites."""
    if user.role not in (Role.admin, Role.supervisor) or user.unit_id != slip.unit_id:
        return False
    allowed = supervised_site_ids(session, user)
    return allowed is None or slip_site_ids(session, slip) <= allowed


def may_see_slip(session: Session, user: User, slip: HourSlip) -> bool:
    """Staff as in `may_handle_slip`; a volunteer only their own slips."""
    if user.role == Role.volunteer:
        return slip.volunteer.user_id == user.id
    return may_handle_slip(session, user, slip)


def _load_for_change(session: Session, slip_id: int, actor: User) -> HourSlip:
    slip = session.get(HourSlip, slip_id, populate_existing=True, with_for_update=True)
    if slip is None or slip.unit_id != actor.unit_id:
        raise LookupError("no such slip")
    if not may_handle_slip(session, actor, slip):
        raise PermissionError("not your sites")
    return slip


def replacement_of(session: Session, slip: HourSlip) -> HourSlip | None:
    return session.scalar(select(HourSlip).where(HourSlip.replaces_id == slip.id))


def _void(session: Session, slip: HourSlip, actor: User, now: dt.datetime, reason: str) -> None:
    before = slip_snapshot(slip)
    slip.voided_at = now
    slip.voided_by_id = actor.id
    slip.void_reason = reason
    released = list(session.scalars(
        select(ServiceSession.id).where(ServiceSession.hour_slip_id == slip.id)))
    session.execute(update(ServiceSession).where(ServiceSession.hour_slip_id == slip.id)
                    .values(hour_slip_id=None).execution_options(synchronize_session=False))
    session.flush()
    for s in session.identity_map.values():
        if isinstance(s, ServiceSession) and s.id in released:
            session.expire(s, ["hour_slip_id"])
    audit.record(session, action="void_slip", entity="hour_slip", entity_id=slip.id, actor=actor,
                 before=before, after={**slip_snapshot(slip), "released_session_ids": released},
                 now=now)


def void_slip(session: Session, slip_id: int, actor: User, now: dt.datetime, *,
              reason: str) -> HourSlip:
    """Void a slip with a reason: its sessions may go on a slip again; the slip, its number
    and its entries stay as history."""
    begin_write(session)
    require_staff(actor)
    reason = _require_reason(reason)
    slip = _load_for_change(session, slip_id, actor)
    if slip.voided_at is not None:
        raise SlipError(N_("Slip %(serial)s is already void."), serial=slip.serial)
    _void(session, slip, actor, now, reason)
    return slip


def reissue_slip(session: Session, slip_id: int, actor: User, now: dt.datetime, *,
                 reason: str) -> HourSlip:
    """Void the slip (unless it already is) and issue its replacement: a new number over the
    same volunteer and period, with the verified sessions on no slip now (replaces_id links
    the two). Refused when the slip was already replaced or nothing is left to put on it."""
    begin_write(session)
    require_staff(actor)
    reason = _require_reason(reason)
    old = _load_for_change(session, slip_id, actor)
    newer = replacement_of(session, old)
    if newer is not None:
        raise SlipError(N_("Slip %(serial)s was already reissued as %(new)s."),
                        serial=old.serial, new=newer.serial)
    if old.voided_at is None:
        _void(session, old, actor, now, reason)
    [pending] = pending_slips(session, actor, date_from=old.period_start, date_to=old.period_end,
                              volunteer_id=old.volunteer_id) or [None]
    if pending is None:
        raise SlipError(N_("No verified sessions of this volunteer in %(start)s – %(end)s are "
                           "free to go on a new slip."),
                        start=old.period_start.isoformat(), end=old.period_end.isoformat())
    return _issue_one(session, actor, now, pending, old.period_start, old.period_end, replaces=old)


# --- reading ------------------------------------------------------------------------------

def _with_details(query):
    return query.options(
        joinedload(HourSlip.volunteer), joinedload(HourSlip.issued_by),
        selectinload(HourSlip.entries).joinedload(HourSlipEntry.service_session)
        .options(joinedload(ServiceSession.site), joinedload(ServiceSession.service_item)))


def slip_with_details(session: Session, slip_id: int) -> HourSlip | None:
    return session.scalar(_with_details(select(HourSlip).where(HourSlip.id == slip_id)))


def slips_with_details(session: Session, slip_ids: list[int]) -> list[HourSlip]:
    """The slips in the order asked for (a printed batch keeps the issuing order)."""
    found = {s.id: s for s in session.scalars(
        _with_details(select(HourSlip).where(HourSlip.id.in_(slip_ids))))}
    return [found[i] for i in slip_ids if i in found]
