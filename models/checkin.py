"""Check-in and check-out: the rules of actual service time, in one place.

Every function takes the SQLAlchemy Session and `now` (aware UTC) so tests control the clock.
Times are always the server's clock, except offline kiosk events (see `offline_event_time`).
Callers commit; these functions only write within the caller's transaction.
"""
from __future__ import annotations

import datetime as dt
import enum
import math
from dataclasses import dataclass, field

from sqlalchemy import Enum, ForeignKey, Index, String, bindparam, event, inspect, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Mapped, Session, mapped_column, object_session, relationship, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from . import audit
from .base import (TAIPEI, Base, UTCDateTime, attach_as_loaded, begin_write, insert_now, read,
                   row_values, taipei_date, update_now, utcnow)
from .insurance import InsuranceCover, is_covered_on
from .people import Volunteer, of_volunteers
from .training import (TrainingCourse, TrainingRecord, TrainingStatus, catalogues_of,
                       status_from, training_status)
from .service import Flag, ServiceItem, ServiceSession, SessionSource, SessionStatus, Site
from .messages import N_, Named


SHORT_SESSION_MINUTES = 1  # shorter than this is flagged "short"
OFFLINE_MAX_AGE = dt.timedelta(hours=24)  # offline events older than this are not trusted
OFFLINE_MAX_AHEAD = dt.timedelta(minutes=2)


class Action(str, enum.Enum):
    check_in = "check_in"
    check_out = "check_out"


class Outcome(str, enum.Enum):
    ok = "ok"
    refused = "refused"
    repeated = "repeated"  # same request again (double tap, retry): nothing changed


@dataclass(frozen=True)
class Refusal:
    """Why a check-in or check-out cannot happen, and what to do. `message` is an English msgid."""

    code: str
    message: str
    params: dict = field(default_factory=dict)


REFUSALS = {
    "inactive": N_("Your volunteer status is inactive. Please contact the unit admin."),
    "no_insurance": N_("No valid accident insurance today. Please contact the unit admin."),
    "site_inactive": N_("This site is not in use. Please contact your supervisor."),
    "not_service_item": N_("Only service items of this unit can be checked into. "
                           "Training and meetings are not service time."),
    "open_elsewhere": N_("You are still checked in at %(site)s. Check out there first."),
    "outside_radius": N_("You seem to be %(distance)d m away from %(site)s. "
                         "Please check in on site."),
    "not_checked_in": N_("You are not checked in."),
    "other_unit": N_("This volunteer does not belong to this unit."),
    "basic_training_missing": N_("Basic training not yet completed: %(courses)s"),
    "special_training_missing": N_("Special training not yet completed: %(courses)s"),
    "no_catalogue": N_("The unit's training courses are not set up yet. Please ask the unit admin "
                       "to add the standard courses."),
    "overlap": N_("This check-in time falls within another session already recorded for this "
                  "volunteer. Please ask your supervisor."),
}


def refusal(code: str, **params) -> Refusal:
    return Refusal(code, REFUSALS[code], params)


class CheckinRefused(Exception):
    def __init__(self, refusal: Refusal, session: ServiceSession | None = None):
        super().__init__(refusal.code)
        self.refusal = refusal
        self.session = session  # the open session elsewhere, for "check out there first"


class CheckinEvent(Base):
    """Every check-in/out attempt, accepted or refused: the refusal log supervisors see,
    and the idempotency record (a repeated key returns the first outcome)."""

    __tablename__ = "checkin_event"
    __table_args__ = (Index("ix_checkin_event_unit_at", "unit_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)  # server time received
    volunteer_id: Mapped[int | None] = mapped_column(ForeignKey("volunteer.id"), index=True)
    site_id: Mapped[int | None] = mapped_column(ForeignKey("site.id"))
    action: Mapped[Action] = mapped_column(Enum(Action, native_enum=False, length=20))
    source: Mapped[SessionSource] = mapped_column(Enum(SessionSource, native_enum=False, length=20))
    outcome: Mapped[Outcome] = mapped_column(Enum(Outcome, native_enum=False, length=20))
    refusal_code: Mapped[str | None] = mapped_column(String(40))
    session_id: Mapped[int | None] = mapped_column(ForeignKey("service_session.id"))
    idempotency_key: Mapped[str | None] = mapped_column(String(80), unique=True)
    device_id: Mapped[int | None] = mapped_column(ForeignKey("kiosk_device.id"))
    device_time: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    volunteer: Mapped[Volunteer | None] = relationship()
    site: Mapped[Site | None] = relationship()
    service_session: Mapped[ServiceSession | None] = relationship()

    @property
    def refusal(self) -> Refusal | None:
        if not self.refusal_code:
            return None
        return Refusal(self.refusal_code, REFUSALS.get(self.refusal_code, self.refusal_code))


@dataclass
class Result:
    action: Action
    outcome: Outcome
    session: ServiceSession | None
    refusal: Refusal | None = None
    other_session: ServiceSession | None = None  # open elsewhere

    @property
    def ok(self) -> bool:
        return self.outcome in (Outcome.ok, Outcome.repeated)


# --- lookups ---------------------------------------------------------------------------
# A check-in is the request the product serves most: its statements are built once, here, and
# only their parameters change (building a statement costs more than SQLite running it).

_OPEN_SESSION = select(ServiceSession).where(
    ServiceSession.volunteer_id == bindparam("volunteer_id"), ServiceSession.checked_out_at.is_(None))
_LAST_SESSION = (select(ServiceSession).where(ServiceSession.volunteer_id == bindparam("volunteer_id"))
                 .order_by(ServiceSession.checked_in_at.desc()).limit(1))
_SERVICE_ITEMS = (select(ServiceItem).where(ServiceItem.unit_id == bindparam("unit_id"),
                                            ServiceItem.active.is_(True)).order_by(ServiceItem.code))
_LAST_ITEM_HERE = (select(ServiceSession.service_item_id)
                   .where(ServiceSession.volunteer_id == bindparam("volunteer_id"),
                          ServiceSession.site_id == bindparam("site_id"))
                   .order_by(ServiceSession.checked_in_at.desc()).limit(1))
_LAST_ITEM = (select(ServiceSession.service_item_id)
              .where(ServiceSession.volunteer_id == bindparam("volunteer_id"))
              .order_by(ServiceSession.checked_in_at.desc()).limit(1))


def open_session(session: Session, volunteer_id: int) -> ServiceSession | None:
    return session.scalar(_OPEN_SESSION, {"volunteer_id": volunteer_id})


def last_session(session: Session, volunteer_id: int) -> ServiceSession | None:
    return session.scalar(_LAST_SESSION, {"volunteer_id": volunteer_id})


def service_items_for(session: Session, unit_id: int) -> list[ServiceItem]:
    return list(session.scalars(_SERVICE_ITEMS, {"unit_id": unit_id}))


def default_item(session: Session, volunteer_id: int, site_id: int, items: list[ServiceItem]) -> ServiceItem | None:
    """The item last used at this site (then anywhere), else the first item."""
    ids = {i.id for i in items}
    for query in (_LAST_ITEM_HERE, _LAST_ITEM):
        last = session.scalar(query, {"volunteer_id": volunteer_id, "site_id": site_id})
        if last in ids:
            return next(i for i in items if i.id == last)
    return items[0] if items else None


_EVENT_BY_KEY = select(CheckinEvent).where(CheckinEvent.idempotency_key == bindparam("key"))
_KEY_USED = select(CheckinEvent.id).where(CheckinEvent.idempotency_key == bindparam("key"))


def overlapping_session(session: Session, volunteer_id: int, start: dt.datetime,
                        end: dt.datetime, ignore_id: int | None = None) -> ServiceSession | None:
    """A session of the volunteer (not rejected; still open counts) that shares time with
    start … end: the one rule against counting the same minutes twice, for an offline
    check-in that happened earlier than it arrives and for staff entering or moving times."""
    return session.scalar(
        select(ServiceSession).where(
            ServiceSession.volunteer_id == volunteer_id,
            ServiceSession.id != (ignore_id or -1),
            ServiceSession.status != SessionStatus.rejected,
            ServiceSession.checked_in_at < end,
            or_(ServiceSession.checked_out_at.is_(None), ServiceSession.checked_out_at > start),
        ).order_by(ServiceSession.checked_in_at).limit(1))


def event_by_key(session: Session, key: str | None) -> CheckinEvent | None:
    if not key:
        return None
    if read(session, _KEY_USED, {"key": key}).first() is None:  # nearly always: a cheap look first
        return None
    return session.scalar(_EVENT_BY_KEY, {"key": key})


# --- rules -----------------------------------------------------------------------------

def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres (haversine)."""
    r = 6_371_000
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * r * math.asin(math.sqrt(a))


def gate_refusals(session: Session, volunteer: Volunteer, site: Site, item: ServiceItem | None,
                  when: dt.datetime) -> list[Refusal]:
    """Everything that stops this volunteer serving this item at this site at this moment.

    One function, extended as the workflow grows (training completion joins it later).
    """
    problems: list[Refusal] = []
    if volunteer.unit_id != site.unit_id:
        problems.append(refusal("other_unit"))
    if not volunteer.is_active:
        problems.append(refusal("inactive"))
    if not site.active:
        problems.append(refusal("site_inactive"))
    if item is None or item.unit_id != site.unit_id or not item.active:
        problems.append(refusal("not_service_item"))
    problems += [refusal(code, **params)
                 for code, params in _dated_problems(session, volunteer, item, taipei_date(when))]
    return problems


def _dated_problems(session: Session, volunteer: Volunteer, item: ServiceItem | None,
                    day: dt.date) -> list[tuple[str, dict]]:
    """The gates that belong to the day of service rather than to this moment: accident
    insurance valid that day, and the training the item's category needs completed by then
    (service counts from the certificate's date). A session keeps needing them until it is
    verified, whatever the records say later. (_day_problems_of: the same for many sessions.)"""
    status = None
    if item is not None and item.category is not None:
        status = training_status(session, volunteer, item.category, as_of=day)
    return _day_problems(is_covered_on(session, volunteer.id, day), status)


def _day_problems(covered: bool, status: TrainingStatus | None) -> list[tuple[str, dict]]:
    """The day-of-service gates judged from what was read: cover that day or not, and the
    training status by that day for the item's category (None: the item needs none)."""
    problems: list[tuple[str, dict]] = []
    if not covered:
        problems.append(("no_insurance", {}))
    if status is not None:
        if (not status.basic_done and not status.missing_basic) or \
                (not status.special_done and not status.missing_special):
            problems.append(("no_catalogue", {}))  # nothing to name: the catalogue is empty
        else:
            if not status.basic_done:
                problems.append(("basic_training_missing",
                                 {"courses": _course_names(status.missing_basic)}))
            if not status.special_done:
                problems.append(("special_training_missing",
                                 {"courses": _course_names(status.missing_special)}))
    return problems


def _course_names(courses) -> Named:
    """Missing courses as one message param: their Chinese names (what is logged), carrying the
    English ones, so the UI names them in the reader's language (`local_params`)."""
    from types import SimpleNamespace

    return Named(SimpleNamespace(name_zh="、".join(c.name for c in courses),
                                 name_en=", ".join(c.name_en or c.name for c in courses)))


def _day_problems_of(session: Session, rows) -> dict[int, list[tuple[str, dict]]]:
    """_dated_problems() for many sessions, each on its own day, in at most three queries
    however many rows (covers, catalogues, training records): session id -> problems.
    The rows' service items must be loaded (the queue and recheck_day_gates load them)."""
    rows = list(rows)
    if not rows:
        return {}
    days = {s.id: taipei_date(s.checked_in_at) for s in rows}
    first, last = min(days.values()), max(days.values())
    units = {s.unit_id for s in rows}  # a session's unit is its volunteer's
    volunteers = {s.volunteer_id for s in rows}
    covers: dict[int, list] = {}
    query = of_volunteers(select(InsuranceCover.volunteer_id, InsuranceCover.starts_on,
                                 InsuranceCover.ends_on)
                          .where(InsuranceCover.starts_on <= last, InsuranceCover.ends_on >= first),
                          InsuranceCover.volunteer_id, volunteers, units)
    for cover in session.execute(query):
        covers.setdefault(cover.volunteer_id, []).append(cover)
    trained = [s for s in rows if s.service_item is not None and s.service_item.category is not None]
    trained_units = {s.unit_id for s in trained}
    catalogues = catalogues_of(session, trained_units)
    records: dict[int, list] = {}
    if trained:
        query = of_volunteers(select(TrainingRecord.volunteer_id, TrainingRecord.course_id,
                                     TrainingRecord.completed_on)
                              .where(TrainingRecord.completed_on <= last),
                              TrainingRecord.volunteer_id, {s.volunteer_id for s in trained},
                              trained_units)
        for record in session.execute(query):
            records.setdefault(record.volunteer_id, []).append(record)
    out = {}
    for s in rows:
        day = days[s.id]
        covered = any(c.starts_on <= day <= c.ends_on for c in covers.get(s.volunteer_id, ()))
        status = None
        if s.service_item is not None and s.service_item.category is not None:
            by_then = [r for r in records.get(s.volunteer_id, ()) if r.completed_on <= day]
            status = status_from(catalogues[s.unit_id], by_then, s.service_item.category)
        out[s.id] = _day_problems(covered, status)
    return out


def serving_refusals(session: Session, volunteer: Volunteer, day: dt.date) -> list[Refusal]:
    """What stops this volunteer checking in for service anywhere in the unit on `day`, said
    before they travel (their home page): inactive, no cover that day, or training missing for
    every service item the unit offers (the fewest missing, over its items' categories). The
    site and item chosen are checked again at check-in."""
    problems = [] if volunteer.is_active else [refusal("inactive")]
    if not is_covered_on(session, volunteer.id, day):
        problems.append(refusal("no_insurance"))
    categories = {item.category: item for item in service_items_for(session, volunteer.unit_id)}
    if categories:  # (a unit that offers nothing yet: nothing the volunteer can do about it)
        training = min(([p for p in _dated_problems(session, volunteer, item, day)
                         if p[0] != "no_insurance"] for item in categories.values()), key=len)
        problems += [refusal(code, **params) for code, params in training]
    return problems


# What staff read when a session's own day fails those gates (approving, correcting the times,
# a paper sheet): the volunteer's name and the day, not "today".
DATED_REFUSALS = {
    "no_insurance": N_("%(name)s had no valid accident insurance on %(day)s."),
    "basic_training_missing": N_("%(name)s had not completed basic training by %(day)s: "
                                 "%(courses)s"),
    "special_training_missing": N_("%(name)s had not completed the special training by "
                                   "%(day)s: %(courses)s"),
}


def _worded(problems: list[tuple[str, dict]], volunteer: Volunteer, day: dt.date) -> list[Refusal]:
    return [Refusal(code, DATED_REFUSALS.get(code, REFUSALS[code]),
                    {**params, "name": volunteer.name_zh, "day": day.isoformat()})
            for code, params in problems]


def dated_refusals(session: Session, volunteer: Volunteer, item: ServiceItem | None,
                   when: dt.datetime) -> list[Refusal]:
    """The day-of-service gates for a session that starts at `when`, worded for staff."""
    day = taipei_date(when)
    return _worded(_dated_problems(session, volunteer, item, day), volunteer, day)


def day_gate_reasons(session: Session, sessions) -> dict[int, list[Refusal]]:
    """Why each of `sessions` that carries the day_gates flag fails its day: the refusals
    approving it would give (dated_refusals), for a whole page of rows in at most three
    queries. Session id -> refusals; rows without the flag, or decided already (approved or
    rejected: the flag is history), are left out, and a flagged row whose day passes again has
    an empty list. The rows' volunteers and service items should be loaded (the queue loads
    them)."""
    flagged = [s for s in sessions
               if Flag.day_gates.value in s.flag_set and s.status in _UNVERIFIED]
    problems = _day_problems_of(session, flagged)
    return {s.id: _worded(problems[s.id], s.volunteer, taipei_date(s.checked_in_at))
            for s in flagged}


_UNVERIFIED = (SessionStatus.open, SessionStatus.closed, SessionStatus.needs_review)


def recheck_day_gates(session: Session, volunteer_ids, now: dt.datetime,
                      unit_ids=()) -> list[ServiceSession]:
    """After a volunteer's insurance or training records change (`volunteer_ids`), or a unit's
    course catalogue or a service item's category (`unit_ids`: every volunteer of the unit):
    flag their sessions not yet verified whose day no longer passes the day-of-service gates,
    and unflag those that pass again. Supervisors see the flag in the queue, bulk approval
    leaves flagged sessions alone, and approve() refuses them while the records still say so."""
    whose = []
    if volunteer_ids:
        whose.append(ServiceSession.volunteer_id.in_(list(volunteer_ids)))
    if unit_ids:
        whose.append(ServiceSession.unit_id.in_(list(unit_ids)))
    if not whose:
        return []
    rows = list(session.scalars(
        select(ServiceSession).where(or_(*whose), ServiceSession.status.in_(_UNVERIFIED))
        .options(selectinload(ServiceSession.service_item))))
    problems = _day_problems_of(session, rows)
    changed = []
    for s in rows:
        failing = bool(problems[s.id])
        if failing == (Flag.day_gates.value in s.flag_set):
            continue
        before = s.snapshot()
        s.flags = s.flags_with(Flag.day_gates) if failing else s.flags_without(Flag.day_gates)
        audit.record(session, action="day_gates_rechecked", entity="service_session",
                     entity_id=s.id, actor_label="system", unit_id=s.unit_id, before=before,
                     after=s.snapshot(), now=now)
        changed.append(s)
    session.flush()
    return changed


# Every change to a cover or a training record, whichever page, import or command made it,
# re-checks that volunteer's unverified sessions before the transaction commits; a change to
# what training a service item needs re-checks the whole unit's: a course added, removed,
# retired or brought back (training_status requires the active courses only), or an item's
# category.
_GATES_CHANGED = "hourbook_day_gates_changed"
_UNIT_GATES_CHANGED = "hourbook_unit_day_gates_changed"
_COURSE_GATE_FIELDS = ("active", "kind", "category", "legacy")


def _note_gate_change(_mapper, _connection, target) -> None:
    owner = object_session(target)
    if owner is not None:
        owner.info.setdefault(_GATES_CHANGED, set()).add(target.volunteer_id)


def _note_unit_gate_change(_mapper, _connection, target) -> None:
    owner = object_session(target)
    if owner is not None:
        owner.info.setdefault(_UNIT_GATES_CHANGED, set()).add(target.unit_id)


def _note_changed_fields(*fields):
    def note(mapper, connection, target) -> None:
        state = inspect(target)
        if any(state.attrs[name].history.has_changes() for name in fields):
            _note_unit_gate_change(mapper, connection, target)
    return note


for _record in (InsuranceCover, TrainingRecord):
    for _event in ("after_insert", "after_update", "after_delete"):
        event.listen(_record, _event, _note_gate_change)
for _event in ("after_insert", "after_delete"):
    event.listen(TrainingCourse, _event, _note_unit_gate_change)
event.listen(TrainingCourse, "after_update", _note_changed_fields(*_COURSE_GATE_FIELDS))
event.listen(ServiceItem, "after_update", _note_changed_fields("category"))


@event.listens_for(Session, "before_commit")
def _recheck_before_commit(session: Session) -> None:
    session.flush()  # the commit's own flush comes after this hook: flush first to hear of changes
    changed = session.info.pop(_GATES_CHANGED, None)
    units = session.info.pop(_UNIT_GATES_CHANGED, None)
    if changed or units:
        recheck_day_gates(session, changed or (), utcnow(), unit_ids=units or ())


@event.listens_for(Session, "after_soft_rollback")
def _forget_gate_changes(session: Session, _previous) -> None:
    session.info.pop(_GATES_CHANGED, None)
    session.info.pop(_UNIT_GATES_CHANGED, None)


def _log(session: Session, *, volunteer: Volunteer | None, site: Site | None, unit_id: int,
         action: Action, source: SessionSource, now: dt.datetime, outcome: Outcome,
         refusal_: Refusal | None = None, service_session: ServiceSession | None = None,
         key: str | None = None, device_id: int | None = None,
         device_time: dt.datetime | None = None) -> CheckinEvent:
    return insert_now(session, CheckinEvent(
        unit_id=unit_id, at=now, volunteer_id=volunteer.id if volunteer else None,
        site_id=site.id if site else None, action=action, source=source, outcome=outcome,
        refusal_code=refusal_.code if refusal_ else None,
        session_id=service_session.id if service_session else None,
        idempotency_key=key, device_id=device_id, device_time=device_time,
    ))


def _repeat(session: Session, key: str | None) -> Result | None:
    earlier = event_by_key(session, key)
    if earlier is None:
        return None
    return Result(earlier.action, Outcome.repeated if earlier.outcome == Outcome.ok else earlier.outcome,
                  earlier.service_session, earlier.refusal)


_OPEN_IF_NONE_OPEN = pg_insert(ServiceSession.__table__).on_conflict_do_nothing(
    index_elements=["volunteer_id"], index_where=ServiceSession.checked_out_at.is_(None),
).returning(ServiceSession.__table__.c.id)


def _insert_open_session(session: Session, new: ServiceSession) -> bool:
    """INSERT a new open session; False when the volunteer has one open already.

    SQLite: the write lock (BEGIN IMMEDIATE) is held since begin_write, so no other writer can
    have opened a session since open_session() looked. PostgreSQL: two requests can race;
    the partial unique index decides, and ON CONFLICT DO NOTHING lets the loser find out
    without an error (and without a savepoint around the INSERT).
    """
    if session.get_bind().dialect.name == "sqlite":
        insert_now(session, new)
        return True
    row = session.connection().execute(_OPEN_IF_NONE_OPEN, row_values(new)).first()
    if row is None:
        return False
    attach_as_loaded(session, new, row.id)
    return True


def check_in(session: Session, *, volunteer: Volunteer, site: Site, item: ServiceItem | None,
             now: dt.datetime, source: SessionSource, key: str | None = None,
             position: tuple[float, float, float] | None = None, device_id: int | None = None,
             device_time: dt.datetime | None = None, extra_flags: tuple[Flag, ...] = (),
             actor=None) -> Result:
    """Open a service session. Double taps and retries return the session already open here.

    `position` is (latitude, longitude, accuracy in metres) from the browser, or None.
    """
    begin_write(session)
    if (repeated := _repeat(session, key)) is not None:
        return repeated
    when = device_time or now

    def refuse(r: Refusal, other: ServiceSession | None = None) -> Result:
        # A refusal changes nothing, so it does not spend the idempotency key: a retry is judged
        # afresh (the admin may have fixed the insurance meanwhile).
        _log(session, volunteer=volunteer, site=site, unit_id=site.unit_id, action=Action.check_in,
             source=source, now=now, outcome=Outcome.refused, refusal_=r,
             device_id=device_id, device_time=device_time)
        audit.record(session, action="checkin_refused", entity="volunteer", entity_id=volunteer.id,
                     actor=actor, actor_label=None if actor else f"volunteer:{volunteer.id}",
                     unit_id=site.unit_id, after={"site_id": site.id, "reason": r.code}, now=now)
        return Result(Action.check_in, Outcome.refused, None, r, other)

    current = open_session(session, volunteer.id)
    if current is not None:
        if current.site_id == site.id:
            return Result(Action.check_in, Outcome.repeated, current)
        return refuse(refusal("open_elsewhere", site=Named(current.site)), current)

    if device_time is not None and overlapping_session(session, volunteer.id, when, now):
        # An offline event arrives late: the volunteer may have served elsewhere since (their
        # phone, another kiosk). Online check-ins start now, after every session recorded.
        return refuse(refusal("overlap"))

    problems = gate_refusals(session, volunteer, site, item, when)
    if problems:
        return refuse(problems[0])

    flags = set(extra_flags)
    if site.radius_m and site.latitude is not None and site.longitude is not None:
        if position is None:
            flags.add(Flag.position_unavailable)
        else:
            lat, lon, accuracy = position
            distance = distance_m(lat, lon, site.latitude, site.longitude)
            if distance - min(accuracy or 0, 500) > site.radius_m:
                return refuse(refusal("outside_radius", distance=int(distance), site=Named(site)))

    new = ServiceSession(unit_id=site.unit_id, volunteer_id=volunteer.id, site_id=site.id,
                         service_item_id=item.id, checked_in_at=when, source=source,
                         status=SessionStatus.open, flags=",".join(sorted(f.value for f in flags)),
                         created_at=now)
    if not _insert_open_session(session, new):
        # Another request opened a session for this volunteer a moment ago (the unique index).
        current = open_session(session, volunteer.id)
        if current is not None and current.site_id == site.id:
            return Result(Action.check_in, Outcome.repeated, current)
        return refuse(refusal("open_elsewhere", site=Named(current.site) if current else ""), current)
    for name, loaded in (("site", site), ("service_item", item), ("volunteer", volunteer)):
        set_committed_value(new, name, loaded)  # already loaded: the page reads them, no SQL
    _log(session, volunteer=volunteer, site=site, unit_id=site.unit_id, action=Action.check_in,
         source=source, now=now, outcome=Outcome.ok, service_session=new, key=key,
         device_id=device_id, device_time=device_time)
    audit.record(session, action="check_in", entity="service_session", entity_id=new.id,
                 actor=actor, actor_label=None if actor else f"volunteer:{volunteer.id}",
                 unit_id=site.unit_id, after=new.snapshot(), now=now)
    return Result(Action.check_in, Outcome.ok, new)


def check_out(session: Session, *, volunteer: Volunteer, now: dt.datetime, source: SessionSource,
              key: str | None = None, persons_served: int | None = None,
              device_id: int | None = None, device_time: dt.datetime | None = None,
              extra_flags: tuple[Flag, ...] = (), actor=None, site: Site | None = None) -> Result:
    """Close the volunteer's open session. A repeated check-out changes nothing."""
    begin_write(session)
    if (repeated := _repeat(session, key)) is not None:
        return repeated
    when = device_time or now
    current = open_session(session, volunteer.id)
    if current is None or when < current.checked_in_at:
        last = last_session(session, volunteer.id)
        if current is None and last is not None and last.checked_out_at is not None and \
                now - last.checked_out_at < dt.timedelta(minutes=5):
            return Result(Action.check_out, Outcome.repeated, last)  # a double tap
        r = refusal("not_checked_in")
        _log(session, volunteer=volunteer, site=site, unit_id=volunteer.unit_id,
             action=Action.check_out, source=source, now=now, outcome=Outcome.refused,
             refusal_=r, device_id=device_id, device_time=device_time)
        return Result(Action.check_out, Outcome.refused, None, r)
    before = current.snapshot()
    flags = list(extra_flags)
    minutes = current.elapsed_minutes(when)  # still open: up to `when`
    if minutes < SHORT_SESSION_MINUTES:
        flags.append(Flag.short)
    if minutes > current.site.max_session_minutes:
        flags.append(Flag.long)
    changes = {"checked_out_at": when, "checkout_source": source, "status": SessionStatus.closed,
               "flags": current.flags_with(*flags)}
    if persons_served is not None:
        changes["persons_served"] = persons_served
    update_now(session, current, **changes)
    _log(session, volunteer=volunteer, site=current.site, unit_id=current.unit_id,
         action=Action.check_out, source=source, now=now, outcome=Outcome.ok,
         service_session=current, key=key, device_id=device_id, device_time=device_time)
    audit.record(session, action="check_out", entity="service_session", entity_id=current.id,
                 actor=actor, actor_label=None if actor else f"volunteer:{volunteer.id}",
                 unit_id=current.unit_id, before=before, after=current.snapshot(), now=now)
    return Result(Action.check_out, Outcome.ok, current)


def next_taipei_midnight(moment: dt.datetime) -> dt.datetime:
    local = moment.astimezone(TAIPEI)
    midnight = dt.datetime.combine(local.date() + dt.timedelta(days=1), dt.time(0), tzinfo=TAIPEI)
    return midnight.astimezone(dt.timezone.utc)


def close_stale(session: Session, now: dt.datetime) -> list[ServiceSession]:
    """Forgotten check-outs: sessions open past their site's limit or past midnight in Taipei
    become "needs review" with 0 credited minutes until a supervisor sets the real time."""
    begin_write(session)
    closed = []
    for s in session.scalars(select(ServiceSession).where(ServiceSession.checked_out_at.is_(None))):
        limit = s.checked_in_at + dt.timedelta(minutes=s.site.max_session_minutes)
        cutoff = min(limit, next_taipei_midnight(s.checked_in_at))
        if now < cutoff:
            continue
        before = s.snapshot()
        s.checked_out_at = cutoff
        s.status = SessionStatus.needs_review
        s.credited_minutes = 0
        s.add_flag(Flag.auto_closed)
        audit.record(session, action="auto_close", entity="service_session", entity_id=s.id,
                     actor_label="system", unit_id=s.unit_id, before=before, after=s.snapshot(),
                     now=now)
        closed.append(s)
    session.flush()
    return closed


def offline_event_time(device_time: dt.datetime, device_sent_at: dt.datetime,
                       now: dt.datetime) -> tuple[dt.datetime, bool]:
    """When an offline kiosk event really happened, and whether the device's time was trusted.

    The kiosk's clock may be wrong: its skew is measured when it syncs (server now minus the
    device's "sent at"), and the event time corrected by it. A corrected time in the future or
    older than OFFLINE_MAX_AGE is not trusted: the server's receive time is used instead.
    """
    skew = now - device_sent_at
    corrected = device_time + skew
    if corrected > now + OFFLINE_MAX_AHEAD or corrected < now - OFFLINE_MAX_AGE:
        return now, False
    return min(corrected, now), True
