"""Check-in and check-out: the rules of actual service time, in one place.

What may stop a volunteer serving (status, insurance, training) is models/gates.py.

Every function takes the SQLAlchemy Session and `now` (aware UTC) so tests control the clock.
Times are always the server's clock, except offline kiosk events (see `offline_event_time`).
Callers commit; these functions only write within the caller's transaction.
"""
from __future__ import annotations

import datetime as dt
import enum
import math
from dataclasses import dataclass, field

from sqlalchemy import Enum, ForeignKey, Index, String, bindparam, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship
from sqlalchemy.orm.attributes import set_committed_value

from . import audit
from .base import (TAIPEI, Base, UTCDateTime, attach_as_loaded, begin_write, insert_now, read,
                   row_values, update_now)
from .gates import REFUSALS, Refusal, gate_refusals, refusal
from .messages import Metres, Named
from .people import Volunteer
from .service import Flag, ServiceItem, ServiceSession, SessionSource, SessionStatus, Site


SHORT_SESSION_MINUTES = 1  # shorter than this is flagged "short"
OFFLINE_MAX_AGE = dt.timedelta(hours=24)  # offline events older than this are not trusted
OFFLINE_MAX_AHEAD = dt.timedelta(minutes=2)
# A check-in posted from the answer to a check-out this soon after it is the second tap of a
# double tap on "Check out" (a button of the answer came up under the finger): after_check_out.
DOUBLE_TAP = dt.timedelta(seconds=5)
# A check-in without the phone's position this soon after the same volunteer was refused as too far
# from the same site is flagged refused_far_before: the position may have been withheld on purpose.
FAR_REFUSAL_WINDOW = dt.timedelta(minutes=30)
# Sources whose scan itself proves the volunteer is at the site: the kiosk's rotating QR (valid
# 90 s, shown only on the tablet at reception). No position is asked for or checked.
PRESENCE_PROVEN = frozenset({SessionSource.kiosk_qr})


class Action(str, enum.Enum):
    check_in = "check_in"
    check_out = "check_out"


class Outcome(str, enum.Enum):
    ok = "ok"
    refused = "refused"
    repeated = "repeated"  # same request again (double tap, retry): nothing changed


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
    # The volunteer number typed at a kiosk's keypad that matched nobody (an offline event):
    # the refusal log shows it, so staff can tell whose it may have been. Never a PIN.
    typed_number: Mapped[str | None] = mapped_column(String(20))
    # How far from the site a check-in refused as too far was judged (whole metres); else NULL.
    distance_m: Mapped[int | None] = mapped_column()

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
    refusal: Refusal | None = None  # the first reason: what the refusal log records
    other_session: ServiceSession | None = None  # open elsewhere
    # Every reason at once (the first is `refusal`): a volunteer without insurance and training
    # hears both on one try, not one a trip.
    refusals: list[Refusal] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.refusal is not None and not self.refusals:
            self.refusals = [self.refusal]

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


def default_item(session: Session, volunteer_id: int, site_id: int, items: list[ServiceItem],
                 blocked=frozenset()) -> ServiceItem | None:
    """The item last used at this site (then anywhere), else the first item; of the items the
    volunteer can serve when there is one (`blocked`: ids of those they cannot, as
    gates.refusals_by_item says), so the check-in page never offers one that will be refused."""
    items = [i for i in items if i.id not in blocked] or items
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


_REFUSED_FAR = (select(CheckinEvent.distance_m)
                .where(CheckinEvent.volunteer_id == bindparam("volunteer_id"),
                       CheckinEvent.site_id == bindparam("site_id"),
                       CheckinEvent.outcome == Outcome.refused,
                       CheckinEvent.refusal_code == "outside_radius",
                       CheckinEvent.at >= bindparam("since"), CheckinEvent.at <= bindparam("until"))
                .order_by(CheckinEvent.at.desc(), CheckinEvent.id.desc()).limit(1))


def refused_as_too_far(session: Session, volunteer_id: int, site_id: int,
                       at: dt.datetime) -> int | None:
    """The distance (metres; 0 when not recorded) of the volunteer's latest refusal as too far
    from the site within FAR_REFUSAL_WINDOW before `at`, or None when there was none."""
    found = session.execute(_REFUSED_FAR, {"volunteer_id": volunteer_id, "site_id": site_id,
                                           "since": at - FAR_REFUSAL_WINDOW, "until": at}).first()
    return None if found is None else (found.distance_m or 0)


# --- rules -----------------------------------------------------------------------------

def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres (haversine)."""
    r = 6_371_000
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * r * math.asin(math.sqrt(a))


def checks_position(site: Site, source: SessionSource) -> bool:
    """Whether a check-in here this way is judged by the phone's position (the site's radius):
    the phone page asks for the position only then."""
    return bool(site.radius_m and site.latitude is not None and site.longitude is not None
                and source not in PRESENCE_PROVEN)


_AFTER = "~after"


def after_check_out(key: str) -> str:
    """The idempotency key of the forms in the answer to a check-out made with `key`: a check-in
    posted with it less than DOUBLE_TAP after that check-out is the double tap's second tap."""
    return key + _AFTER


def _double_tap_of_check_out(session: Session, volunteer: Volunteer, key: str | None,
                             now: dt.datetime) -> ServiceSession | None:
    """The session whose check-out a check-in with this key, arriving now, is the double tap of."""
    if not key or not key.endswith(_AFTER):
        return None
    earlier = event_by_key(session, key[:-len(_AFTER)])
    if earlier is None or earlier.action != Action.check_out or earlier.outcome != Outcome.ok \
            or earlier.volunteer_id != volunteer.id or not dt.timedelta(0) <= now - earlier.at < DOUBLE_TAP:
        return None
    return earlier.service_session


def _log(session: Session, *, volunteer: Volunteer | None, site: Site | None, unit_id: int,
         action: Action, source: SessionSource, now: dt.datetime, outcome: Outcome,
         refusal_: Refusal | None = None, service_session: ServiceSession | None = None,
         key: str | None = None, device_id: int | None = None,
         device_time: dt.datetime | None = None, typed_number: str | None = None,
         distance_m: int | None = None) -> CheckinEvent:
    return insert_now(session, CheckinEvent(
        unit_id=unit_id, at=now, volunteer_id=volunteer.id if volunteer else None,
        site_id=site.id if site else None, action=action, source=source, outcome=outcome,
        refusal_code=refusal_.code if refusal_ else None,
        session_id=service_session.id if service_session else None,
        idempotency_key=key, device_id=device_id, device_time=device_time,
        typed_number=typed_number, distance_m=distance_m,
    ))


def record_refusal(session: Session, *, volunteer: Volunteer | None, site: Site, action: Action,
                   source: SessionSource, code: str, now: dt.datetime, key: str | None = None,
                   device_id: int | None = None, device_time: dt.datetime | None = None,
                   typed_number: str | None = None) -> Result:
    """A check-in or check-out refused before the rules below could judge it, because the kiosk
    could not tell who it was: a number locked after wrong PINs, or an offline event whose card
    or number is unknown or whose PIN was wrong (`volunteer`: the number's owner, whom it names,
    or None; `typed_number`: the keypad's number when it named nobody, kept for staff).
    Logged like every refusal, so staff see it (refusal_log.refused_attempts); never a session.
    `key` is spent: the same event sent again is answered the same without counting again."""
    r = refusal(code)
    _log(session, volunteer=volunteer, site=site, unit_id=site.unit_id, action=action, source=source,
         now=now, outcome=Outcome.refused, refusal_=r, key=key, device_id=device_id,
         device_time=device_time, typed_number=(typed_number or None) if volunteer is None else None)
    if volunteer is not None:
        audit.record(session, action="checkin_refused", entity="volunteer", entity_id=volunteer.id,
                     actor_label=f"kiosk:{device_id}" if device_id else "kiosk", unit_id=site.unit_id,
                     after={"site_id": site.id, "reason": code, "action": action.value}, now=now)
    return Result(action, Outcome.refused, None, r)


def _repeat(session: Session, key: str | None, volunteer_id: int) -> tuple[Result | None, str | None]:
    """This request again (its idempotency key recorded for this volunteer): the first answer.
    Else None, and the key to record this request under: None when the key was another
    volunteer's, so that someone else's session is never shown, nor this request dropped as
    theirs (keys are the client's to make: random, but not ours to trust)."""
    earlier = event_by_key(session, key)
    if earlier is None:
        return None, key
    if earlier.volunteer_id != volunteer_id:
        return None, None
    return Result(earlier.action, Outcome.repeated if earlier.outcome == Outcome.ok else earlier.outcome,
                  earlier.service_session, earlier.refusal), key


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
    """Open a service session. Double taps and retries return the session already open here;
    a check-in posted from the answer to a check-out within DOUBLE_TAP (after_check_out) is the
    second tap of a double tap on "Check out": it returns that check-out, changing nothing.

    `position` is (latitude, longitude, accuracy in metres) from the browser, or None; it is
    checked against the site's radius unless the source proves presence (checks_position).
    """
    begin_write(session)
    repeated, key = _repeat(session, key, volunteer.id)
    if repeated is not None:
        return repeated
    when = device_time or now

    def refuse(r: Refusal, other: ServiceSession | None = None,
               every: list[Refusal] | None = None, distance: int | None = None) -> Result:
        # A refusal changes nothing, so it does not spend the idempotency key: a retry is judged
        # afresh (the admin may have fixed the insurance meanwhile). `every`: all the reasons,
        # `r` the first (the one logged).
        _log(session, volunteer=volunteer, site=site, unit_id=site.unit_id, action=Action.check_in,
             source=source, now=now, outcome=Outcome.refused, refusal_=r,
             device_id=device_id, device_time=device_time, distance_m=distance)
        after = {"site_id": site.id, "reason": r.code} | ({"distance_m": distance} if distance is not None else {})
        audit.record(session, action="checkin_refused", entity="volunteer", entity_id=volunteer.id,
                     actor=actor, actor_label=None if actor else audit.volunteer_actor(volunteer.id),
                     unit_id=site.unit_id, after=after, now=now)
        return Result(Action.check_in, Outcome.refused, None, r, other, every or [r])

    current = open_session(session, volunteer.id)
    if current is not None:
        if current.site_id == site.id:
            return Result(Action.check_in, Outcome.repeated, current)
        return refuse(refusal("open_elsewhere", site=Named(current.site)), current)

    if (tapped := _double_tap_of_check_out(session, volunteer, key, now)) is not None:
        # Nothing changes (the key is not spent): the answer is the check-out again. A tap on the
        # same button meant as a check-in, a few seconds later, goes through.
        return Result(Action.check_out, Outcome.repeated, tapped)

    if device_time is not None and overlapping_session(session, volunteer.id, when, now):
        # An offline event arrives late: the volunteer may have served elsewhere since (their
        # phone, another kiosk). Online check-ins start now, after every session recorded.
        return refuse(refusal("overlap"))

    problems = gate_refusals(session, volunteer, site, item, when)
    if problems:
        return refuse(problems[0], every=problems)

    flags = set(extra_flags)
    if checks_position(site, source):
        if position is None:
            flags.add(Flag.position_unavailable)
            if refused_as_too_far(session, volunteer.id, site.id, now) is not None:
                flags.add(Flag.refused_far_before)
        else:
            lat, lon, accuracy = position
            distance = distance_m(lat, lon, site.latitude, site.longitude)
            if distance - min(accuracy or 0, 500) > site.radius_m:
                return refuse(refusal("outside_radius", distance=Metres(int(distance)), site=Named(site)),
                              distance=int(distance))

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
                 actor=actor, actor_label=None if actor else audit.volunteer_actor(volunteer.id),
                 unit_id=site.unit_id, after=new.snapshot(), now=now)
    return Result(Action.check_in, Outcome.ok, new)


def check_out(session: Session, *, volunteer: Volunteer, now: dt.datetime, source: SessionSource,
              key: str | None = None, persons_served: int | None = None,
              device_id: int | None = None, device_time: dt.datetime | None = None,
              extra_flags: tuple[Flag, ...] = (), actor=None, site: Site | None = None) -> Result:
    """Close the volunteer's open session. A repeated check-out changes nothing."""
    begin_write(session)
    repeated, key = _repeat(session, key, volunteer.id)
    if repeated is not None:
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
    if site is not None and site.id != current.site_id:
        flags.append(Flag.checked_out_elsewhere)  # the time since includes the journey here
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
    # The event and the history name where the check-out was made (the kiosk's or poster's
    # site), which may be another site than the session's, and how.
    _log(session, volunteer=volunteer, site=site or current.site, unit_id=current.unit_id,
         action=Action.check_out, source=source, now=now, outcome=Outcome.ok,
         service_session=current, key=key, device_id=device_id, device_time=device_time)
    after = current.snapshot() | {"checkout_source": source.value,
                                  "checkout_site_id": (site or current.site).id}
    audit.record(session, action="check_out", entity="service_session", entity_id=current.id,
                 actor=actor, actor_label=None if actor else audit.volunteer_actor(volunteer.id),
                 unit_id=current.unit_id, before=before, after=after, now=now)
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
