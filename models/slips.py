"""Hour slips (時數條) and gap-free serial numbers.

A slip holds one volunteer's verified sessions that are on no slip yet, over a month or a date
range (Taipei calendar days). Issuing numbers it (see "Serial numbers" below) and locks its
sessions (ServiceSession.hour_slip_id, set by an UPDATE ... WHERE hour_slip_id IS NULL whose
row count must match, so two concurrent issuers can never put one session on two slips).
Voiding keeps the slip, its number and its entries as history and frees the sessions; a
reissue voids and issues a replacement (replaces_id). Supervisors slip sessions of their own
sites only; admins all of the unit's. Callers commit; every change is audited.

A slip's period is true: it never ends after the day the slip is issued (a month not yet over is
covered up to that day — see `period_so_far`), and a volunteer's new slip begins after their
valid slips over the same days whenever its sessions allow (`slip_periods`); when they do not
(a session verified late, or slipped by another site's supervisor), the overlap is named on both
slips (`overlapping_slips`), never silent.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import (Date, ForeignKey, String, UniqueConstraint, bindparam, func, insert, or_, select,
                        update)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, joinedload, mapped_column, relationship, selectinload

from . import audit
from .base import Base, UTCDateTime, begin_write, taipei_date, taipei_day_bounds, utcnow
from .people import Role, User, Volunteer
from .service import ServiceSession, SessionStatus, Site
from .verification import supervised_site_ids
from .messages import N_, Refused
from .paging import PAGE_SIZE, Page, nearest_page


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
MAX_PERIOD_DAYS = 366
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


def month_period(year: int, month: int) -> tuple[dt.date, dt.date]:
    """First and last day of a calendar month."""
    first = dt.date(year, month, 1)
    following = dt.date(year + (month == 12), month % 12 + 1, 1)
    return first, following - dt.timedelta(days=1)


def check_period(date_from: dt.date | None, date_to: dt.date | None,
                 today: dt.date | None = None) -> None:
    """A period a slip may cover; issued on `today` (Taipei), it may not end after it: a slip
    names only days already served, so two slips never print the same future days."""
    if date_from is None or date_to is None:
        raise SlipError(N_("Choose the period: a month, or a first and a last day."))
    if date_to < date_from:
        raise SlipError(N_("The last day cannot be before the first day."))
    if (date_to - date_from).days >= MAX_PERIOD_DAYS:
        raise SlipError(N_("Choose a period of at most %(days)d days."), days=MAX_PERIOD_DAYS)
    if today is not None and date_to > today:
        raise SlipError(N_("The last day cannot be after today (%(today)s): a slip covers only "
                           "service already done."), today=today.isoformat())


def period_so_far(date_from: dt.date, date_to: dt.date, today: dt.date) -> tuple[dt.date, dt.date]:
    """The part of a period (a calendar month) a slip issued today may cover: up to today.
    A period that has not begun is refused."""
    if date_from > today:
        raise SlipError(N_("This month has not begun: choose a month up to this one."))
    return date_from, min(date_to, today)


def _require_staff(user: User) -> None:
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
class SlipPeriod:
    """The period one volunteer's new slip carries, and the valid slips of theirs it overlaps
    (none, unless one of its sessions lies within an earlier slip's period)."""

    start: dt.date
    end: dt.date
    overlaps: list["HourSlip"] = field(default_factory=list)


def _valid_slips_over(session: Session, unit_id: int, date_from: dt.date, date_to: dt.date,
                      volunteer_id: int | None = None) -> dict[int, list[HourSlip]]:
    """volunteer id -> their valid (not void) slips whose period overlaps date_from..date_to."""
    query = select(HourSlip).where(HourSlip.unit_id == unit_id, HourSlip.voided_at.is_(None),
                                   HourSlip.period_start <= date_to, HourSlip.period_end >= date_from)
    if volunteer_id is not None:
        query = query.where(HourSlip.volunteer_id == volunteer_id)
    found: dict[int, list[HourSlip]] = {}
    for slip in session.scalars(query.order_by(HourSlip.period_start, HourSlip.id)):
        found.setdefault(slip.volunteer_id, []).append(slip)
    return found


def slip_periods(session: Session, unit_id: int, date_from: dt.date, date_to: dt.date,
                 first_days: dict[int, dt.date], volunteer_id: int | None = None) -> dict[int, SlipPeriod]:
    """Each volunteer's new slip period within date_from..date_to, given the first (Taipei) day
    of the sessions it will hold (`first_days`, by volunteer id). It begins the day after the
    volunteer's valid slips over these days end, when none of its sessions lies before that (a
    month slipped on the 5th and again after its end: the 1st–5th, then the 6th–31st); otherwise
    it keeps the whole period and names the slips it overlaps."""
    earlier = _valid_slips_over(session, unit_id, date_from, date_to, volunteer_id)
    periods = {}
    for vid, first_day in first_days.items():
        theirs = earlier.get(vid, [])
        if not theirs:
            periods[vid] = SlipPeriod(date_from, date_to)
            continue
        after = max(s.period_end for s in theirs) + dt.timedelta(days=1)
        if after <= first_day:
            periods[vid] = SlipPeriod(after, date_to)
        else:
            periods[vid] = SlipPeriod(date_from, date_to, theirs)
    return periods


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
    _require_staff(actor)
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
    begin_write(session)
    _require_staff(actor)
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


def sites_of_slips(session: Session, slip_ids: list[int]) -> dict[int, list[Site]]:
    """slip id -> the sites of its sessions (by name), in one query: two slips of one month
    from two sites' supervisors are told apart by them."""
    found: dict[int, list[Site]] = {i: [] for i in slip_ids}
    if not slip_ids:
        return found
    rows = session.execute(
        select(HourSlipEntry.slip_id, Site).join(ServiceSession, HourSlipEntry.session_id == ServiceSession.id)
        .join(Site, Site.id == ServiceSession.site_id)
        .where(HourSlipEntry.slip_id.in_(slip_ids)).distinct().order_by(Site.name_zh))
    for slip_id, site in rows:
        found[slip_id].append(site)
    return found


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
    _require_staff(actor)
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
    _require_staff(actor)
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


SEARCH_MAX = 60


def _staff_slips_query(session: Session, user: User, volunteer_id: int | None = None,
                       search: str = ""):
    """The slips a staff member may handle (a supervisor: all sessions at their sites), of one
    volunteer, or whose number contains `search` or whose volunteer's name contains it or
    number starts with it."""
    _require_staff(user)
    query = select(HourSlip).where(HourSlip.unit_id == user.unit_id)
    allowed = supervised_site_ids(session, user)
    if allowed is not None:
        elsewhere = (select(HourSlipEntry.id)
                     .join(ServiceSession, ServiceSession.id == HourSlipEntry.session_id)
                     .where(HourSlipEntry.slip_id == HourSlip.id,
                            ServiceSession.site_id.not_in(allowed or {-1})))
        query = query.where(~elsewhere.exists())
    if volunteer_id is not None:
        query = query.where(HourSlip.volunteer_id == volunteer_id)
    search = (search or "").strip()[:SEARCH_MAX]
    if search:
        named = select(Volunteer.id).where(
            Volunteer.unit_id == user.unit_id,
            or_(Volunteer.name_zh.contains(search, autoescape=True),
                Volunteer.name_en.icontains(search, autoescape=True),
                Volunteer.volunteer_no.istartswith(search, autoescape=True)))
        query = query.where(or_(HourSlip.serial.contains(search, autoescape=True),
                                HourSlip.volunteer_id.in_(named)))
    return query


def staff_slips(session: Session, user: User, *, volunteer_id: int | None = None,
                limit: int = 100) -> list[HourSlip]:
    """The newest slips a staff member may handle (a supervisor: all sessions at their sites)."""
    query = _staff_slips_query(session, user, volunteer_id).options(
        joinedload(HourSlip.volunteer), joinedload(HourSlip.issued_by))
    return list(session.scalars(query.order_by(HourSlip.issued_at.desc(), HourSlip.id.desc())
                                .limit(limit)))


def staff_slip_page(session: Session, user: User, *, volunteer_id: int | None = None,
                    search: str = "", page: int = 1, per_page: int = PAGE_SIZE) -> Page:
    """One page (newest first) of the slips a staff member may handle, narrowed to one
    volunteer and/or a search (see _staff_slips_query); a page out of range is the nearest."""
    query = _staff_slips_query(session, user, volunteer_id, search)
    total = session.scalar(query.with_only_columns(func.count(HourSlip.id)).order_by(None)) or 0
    found = Page([], total, nearest_page(page, total, per_page), per_page)
    if total:
        found.rows = list(session.scalars(
            query.options(joinedload(HourSlip.volunteer), joinedload(HourSlip.issued_by))
            .order_by(HourSlip.issued_at.desc(), HourSlip.id.desc())
            .limit(per_page).offset(found.offset)))
    return found


def overlapping_slips(session: Session, found: list[HourSlip]) -> dict[int, list[HourSlip]]:
    """slip id -> the volunteer's other valid slips whose period overlaps its own, for the valid
    slips among `found` (a void one: none). Shown on the slip's page and printed on it: two
    slips over the same days never pass silently."""
    result: dict[int, list[HourSlip]] = {s.id: [] for s in found}
    valid = [s for s in found if s.voided_at is None]
    if not valid:
        return result
    others: dict[int, list[HourSlip]] = {}
    for other in session.scalars(
            select(HourSlip).where(HourSlip.volunteer_id.in_({s.volunteer_id for s in valid}),
                                   HourSlip.voided_at.is_(None),
                                   HourSlip.period_start <= max(s.period_end for s in valid),
                                   HourSlip.period_end >= min(s.period_start for s in valid))
            .order_by(HourSlip.period_start, HourSlip.id)):
        others.setdefault(other.volunteer_id, []).append(other)
    for slip in valid:
        result[slip.id] = [o for o in others.get(slip.volunteer_id, []) if o.id != slip.id
                           and o.period_start <= slip.period_end and o.period_end >= slip.period_start]
    return result


def slip_list_volunteer(session: Session, user: User, volunteer_id: int) -> Volunteer | None:
    """The volunteer the list of issued slips is narrowed to: one of the user's unit."""
    volunteer = session.get(Volunteer, volunteer_id)
    return volunteer if volunteer is not None and volunteer.unit_id == user.unit_id else None


def volunteer_slips(session: Session, volunteer_id: int) -> list[HourSlip]:
    return list(session.scalars(
        select(HourSlip).where(HourSlip.volunteer_id == volunteer_id)
        .options(joinedload(HourSlip.issued_by))
        .order_by(HourSlip.issued_at.desc(), HourSlip.id.desc())))


def slip_volunteers(session: Session, user: User) -> list[Volunteer]:
    """Volunteers a staff member may issue slips for: of the unit (admins), or who served at
    one of the supervisor's sites."""
    _require_staff(user)
    query = select(Volunteer).where(Volunteer.unit_id == user.unit_id)
    allowed = supervised_site_ids(session, user)
    if allowed is not None:
        served = select(ServiceSession.volunteer_id).where(
            ServiceSession.site_id.in_(allowed or {-1}))
        query = query.where(Volunteer.id.in_(served))
    return list(session.scalars(query.order_by(Volunteer.volunteer_no, Volunteer.id)))


def volunteer_sessions(session: Session, volunteer_id: int, *, limit: int = 30,
                       offset: int = 0) -> list[ServiceSession]:
    """A volunteer's sessions, newest first, a page at a time."""
    return list(session.scalars(
        select(ServiceSession)
        .options(joinedload(ServiceSession.site), joinedload(ServiceSession.service_item))
        .where(ServiceSession.volunteer_id == volunteer_id)
        .order_by(ServiceSession.checked_in_at.desc(), ServiceSession.id.desc())
        .limit(limit).offset(offset)))


def slip_serials(session: Session, session_ids: list[int]) -> dict[int, str]:
    """The serial of the slip each of these sessions is on now."""
    if not session_ids:
        return {}
    rows = session.execute(
        select(ServiceSession.id, HourSlip.serial)
        .join(HourSlip, HourSlip.id == ServiceSession.hour_slip_id)
        .where(ServiceSession.id.in_(session_ids)))
    return {sid: serial for sid, serial in rows}
