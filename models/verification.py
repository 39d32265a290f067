"""Supervisors verify service sessions: approve, adjust, reject, reopen, enter paper sheets.

Only verified sessions count anywhere. Credited minutes follow the unit's rounding rule,
applied at verification. Every change is audited with before and after; a change made
against an out-of-date row is refused with who changed it ("already changed by X").
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import ForeignKey, bindparam, func, literal_column, or_, select
from sqlalchemy.orm import Mapped, Session, mapped_column, selectinload

from . import audit
from .audit import AuditEntry
from .base import TAIPEI, Base, begin_write, taipei_date, taipei_day_bounds
from .certificates import counted_on
from .checkin import SHORT_SESSION_MINUTES, overlapping_session
from .gates import dated_refusals, gate_refusals
from .hours import hours_text
from .messages import N_, Refused
from .people import Role, User, Volunteer
from .service import (STAFF_ON_BEHALF, Flag, ServiceItem, ServiceSession, SessionSource, SessionStatus,
                      Site)
from .unit import Rounding, Unit


class SupervisorSite(Base):
    """A supervisor assigned to a site sees and acts on that site's sessions only."""

    __tablename__ = "supervisor_site"

    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id"), primary_key=True)


class VerificationError(Refused):
    """A refused verification action; `message` is an English msgid with %(params)s."""


class StaleRow(VerificationError):
    def __init__(self, changed_by: str):
        super().__init__(N_("This session was already changed by %(who)s. Here is the current row."),
                         who=changed_by)


class ReasonRequired(VerificationError):
    """An action that needs a reason was sent without one (the form marks its reason field)."""

    def __init__(self):
        super().__init__(N_("A reason is required."))


class CountedOnCertificate(VerificationError):
    """Reopening would change hours printed on an issued performance certificate."""

    def __init__(self, certificate):
        super().__init__(N_("This session is counted on performance certificate %(serial)s, "
                            "issued on %(day)s. Its printed hours will no longer match: tick the "
                            "box to reopen it anyway, then issue a new certificate."),
                         serial=certificate.serial, day=certificate.issued_on.isoformat())


FLAGGED = "flagged"  # filter value: any flag


# --- who may act where --------------------------------------------------------------------

def supervised_site_ids(session: Session, user: User) -> set[int] | None:
    """Site ids a supervisor may act on; None means every site of the unit (admins)."""
    if user.role == Role.admin:
        return None
    return set(session.scalars(select(SupervisorSite.site_id).where(SupervisorSite.user_id == user.id)))


def may_act_on(session: Session, user: User, site_id: int, unit_id: int) -> bool:
    if user.role not in (Role.admin, Role.supervisor) or user.unit_id != unit_id:
        return False
    allowed = supervised_site_ids(session, user)
    return allowed is None or site_id in allowed


def assign_sites(session: Session, supervisor: User, site_ids: set[int], actor: User,
                 now: dt.datetime) -> None:
    begin_write(session)
    before = sorted(supervised_site_ids(session, supervisor) or [])
    valid = set(session.scalars(select(Site.id).where(Site.unit_id == actor.unit_id,
                                                      Site.id.in_(site_ids))))
    for row in session.scalars(select(SupervisorSite).where(SupervisorSite.user_id == supervisor.id)):
        if row.site_id not in valid:
            session.delete(row)
    for site_id in valid - set(before):
        session.add(SupervisorSite(user_id=supervisor.id, site_id=site_id))
    audit.record(session, action="supervisor_sites", entity="user", entity_id=supervisor.id,
                 actor=actor, before={"sites": before}, after={"sites": sorted(valid)}, now=now)


# --- reading ------------------------------------------------------------------------------

@dataclass
class QueueFilter:
    site_id: int | None = None
    date_from: dt.date | None = None  # Taipei calendar dates, inclusive
    date_to: dt.date | None = None
    volunteer_id: int | None = None
    flag: str | None = None  # a Flag value, FLAGGED (any), "unflagged", or None
    # None: the sessions waiting (closed or needing review); DONE_STATUSES: the ones decided,
    # to look one up again (an admin reopens a wrong approval or rejection from there)
    status: str | None = None


DONE_STATUSES = (SessionStatus.verified.value, SessionStatus.rejected.value)


def _with_names(query):
    """Names for the rows, loaded for the rows returned only (selectin: three small queries,
    however many rows), so the database can order and limit before anything is joined."""
    return query.options(selectinload(ServiceSession.volunteer), selectinload(ServiceSession.site),
                         selectinload(ServiceSession.service_item))


def _at_sites(query, unit_id: int, site_ids: set[int] | None):
    """The unit's sessions; with `site_ids`, only those at these sites (a supervisor's)."""
    query = query.where(ServiceSession.unit_id == unit_id)
    if site_ids is not None:
        query = query.where(ServiceSession.site_id.in_(site_ids or {-1}))
    return query


def _scope(query, session: Session, user: User):
    return _at_sites(query, user.unit_id, supervised_site_ids(session, user))


def queue_query(session: Session, user: User, f: QueueFilter):
    """Closed, unverified sessions (awaiting verification or needing review) in the user's sites;
    with f.status, the approved or the rejected ones instead."""
    return _queue_at(user.unit_id, supervised_site_ids(session, user), f)


def _queue_at(unit_id: int, site_ids: set[int] | None, f: QueueFilter):
    """queue_query for the unit's sessions at `site_ids` (None: every site)."""
    # The statuses are rendered as literals so SQLite can match the partial index
    # ix_service_session_queue (it cannot prove a partial-index predicate from bound values).
    statuses = [f.status] if f.status in DONE_STATUSES else [
        SessionStatus.closed.value, SessionStatus.needs_review.value]
    query = select(ServiceSession).where(ServiceSession.status.in_(
        bindparam("queue_statuses", statuses, expanding=True, literal_execute=True)))
    query = _at_sites(query, unit_id, site_ids)
    if f.site_id:
        query = query.where(ServiceSession.site_id == f.site_id)
    if f.volunteer_id:
        query = query.where(ServiceSession.volunteer_id == f.volunteer_id)
    if f.date_from:
        query = query.where(ServiceSession.checked_in_at >= taipei_day_bounds(f.date_from)[0])
    if f.date_to:
        query = query.where(ServiceSession.checked_in_at < taipei_day_bounds(f.date_to)[1])
    if f.flag == FLAGGED:
        query = query.where(or_(ServiceSession.flags != "",
                                ServiceSession.status == SessionStatus.needs_review))
    elif f.flag == "unflagged":
        # literals, so SQLite can match the partial index ix_service_session_unflagged
        query = query.where(ServiceSession.flags == literal_column("''"),
                            ServiceSession.status == literal_column("'closed'"))
    elif f.flag:
        query = query.where(or_(ServiceSession.flags == f.flag,
                                ServiceSession.flags.like(f"{f.flag},%"),
                                ServiceSession.flags.like(f"%,{f.flag}"),
                                ServiceSession.flags.like(f"%,{f.flag},%")))
    return query


def verification_queue(session: Session, user: User, f: QueueFilter, limit: int = 50,
                       offset: int = 0) -> list[ServiceSession]:
    query = _with_names(queue_query(session, user, f))
    return list(session.scalars(
        query.order_by(ServiceSession.checked_in_at.desc(), ServiceSession.id.desc())
        .limit(limit).offset(offset)))


def on_site_now(session: Session, user: User) -> list[ServiceSession]:
    query = _scope(select(ServiceSession).where(ServiceSession.checked_out_at.is_(None)), session, user)
    return list(session.scalars(_with_names(query).order_by(ServiceSession.site_id,
                                                            ServiceSession.checked_in_at)))


def history(session: Session, service_session: ServiceSession) -> list[AuditEntry]:
    return list(session.scalars(
        select(AuditEntry).where(AuditEntry.entity == "service_session",
                                 AuditEntry.entity_id == service_session.id)
        .order_by(AuditEntry.at, AuditEntry.id)))


def rejection_reasons(session: Session, sessions) -> dict[int, str]:
    """Why each rejected one of `sessions` was rejected, as the supervisor wrote it (kept in the
    audit entry of the rejection, the latest if reopened and rejected again), for a page of rows
    in one query: session id -> reason."""
    ids = [s.id for s in sessions if s.status == SessionStatus.rejected]
    if not ids:
        return {}
    reasons: dict[int, str] = {}
    for entry in session.scalars(
            select(AuditEntry).where(AuditEntry.entity == "service_session", AuditEntry.action == "reject",
                                     AuditEntry.entity_id.in_(ids))
            .order_by(AuditEntry.at, AuditEntry.id)):
        reasons[entry.entity_id] = (entry.after_data() or {}).get("reason") or ""
    return reasons


@dataclass(frozen=True)
class Change:
    """One field of a session as a history entry changed it, with values typed for showing:
    datetimes (UTC), a SessionStatus, a SessionSource, a list of Flags, minutes (int), the Site
    or ServiceItem, or text. `before` is MISSING when the entry did not record it (a check-in)."""

    key: str
    before: object
    after: object


MISSING = object()
# The order a history entry's changes are shown in; volunteer_id never changes.
HISTORY_FIELDS = ("checked_in_at", "checked_out_at", "checkout_site_id", "site_id", "service_item_id",
                  "source", "status", "credited_minutes", "persons_served", "flags", "reason")


def _typed(session: Session, key: str, value):
    if value is None or (value == "" and key != "flags"):
        return None
    if key in ("checked_in_at", "checked_out_at"):
        moment = dt.datetime.fromisoformat(value)
        return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)
    if key == "status":
        return SessionStatus(value)
    if key == "source":
        return SessionSource(value)
    if key == "flags":
        return [Flag(f) for f in sorted(filter(None, (value or "").split(",")))
                if f in Flag._value2member_map_]
    if key in ("site_id", "checkout_site_id"):
        return session.get(Site, value)
    if key == "service_item_id":
        return session.get(ServiceItem, value)
    return value


def history_changes(session: Session, entry: AuditEntry) -> list[Change]:
    """What a session's history entry changed, field by field (unchanged fields left out)."""
    before, after = entry.before_data() or {}, entry.after_data() or {}
    changes = []
    for key in HISTORY_FIELDS:
        if key not in after or (key in before and before[key] == after[key]):
            continue
        if key not in before and after[key] in (None, "") and key != "reason":
            continue  # a check-in's empty fields: nothing to say
        if key == "checkout_site_id" and after[key] == after.get("site_id"):
            continue  # checked out where it was checked into: nothing to say
        old = _typed(session, key, before[key]) if key in before else MISSING
        changes.append(Change(key, old, _typed(session, key, after[key])))
    return changes


# How a volunteer's own check-in or check-out was made is the session source it was made by;
# what staff did for them reads STAFF ("staff on behalf"): a check-out by hand.
STAFF = STAFF_ON_BEHALF
_MADE_BY = {"check_in": "source", "check_out": "checkout_source"}


@dataclass(frozen=True)
class HistoryLine:
    """One entry of a session's history, in words: who (a person's name; None: the system, a
    forgotten check-out closed overnight), how a check-in or check-out was made (a SessionSource
    value, or STAFF; None for a verification), and what it changed."""

    entry: AuditEntry
    who: str | None
    how: str | None
    changes: list[Change]


def history_lines(session: Session, service_session: ServiceSession) -> list[HistoryLine]:
    """The session's history as the supervisor reads it: each entry with the name of who did it
    (the volunteer themselves, or a staff member) and how."""
    s = service_session
    users = {u.id: u for u in session.scalars(select(User).where(User.unit_id == s.unit_id))}
    lines = []
    for e in history(session, s):
        who, how = None, None
        volunteer_id = audit.acting_volunteer_id(e)
        if e.actor_user_id in users:
            who = users[e.actor_user_id].name
            if e.action in ("check_in", "check_out", "manual_check_out"):
                how = STAFF
        elif volunteer_id is not None:
            volunteer = s.volunteer if volunteer_id == s.volunteer_id else session.get(Volunteer, volunteer_id)
            who = volunteer.name_zh if volunteer is not None else e.actor_label
        elif e.actor_label != "system":
            who = e.actor_label
        if how is None and e.action in _MADE_BY:
            after = e.after_data() or {}
            how = after.get(_MADE_BY[e.action])
            if how is None and e.action == "check_out" and s.checkout_source is not None:
                how = s.checkout_source.value  # written before check-outs recorded theirs
        elif e.action == "manual_entry":
            how = SessionSource.manual.value
        lines.append(HistoryLine(e, who, how, history_changes(session, e)))
    return lines


def last_changed_by(session: Session, service_session: ServiceSession) -> str:
    entry = session.scalar(
        select(AuditEntry).where(AuditEntry.entity == "service_session",
                                 AuditEntry.entity_id == service_session.id)
        .order_by(AuditEntry.id.desc()).limit(1))
    if entry is None:
        return "?"
    if entry.actor_user_id:
        user = session.get(User, entry.actor_user_id)
        if user is not None:
            return user.name
    return entry.actor_label


# --- rules --------------------------------------------------------------------------------

ROUNDING_STEP = {Rounding.down_15: 15, Rounding.down_30: 30}  # minutes; Rounding.none: no step


def credited(minutes: int, rounding: Rounding) -> int:
    """Credited minutes under the unit's rounding rule (none / down to 15 / down to 30)."""
    minutes = max(0, minutes)
    step = ROUNDING_STEP.get(rounding)
    return minutes // step * step if step else minutes


def _load(session: Session, session_id: int, actor: User, expected_version: int | None
          ) -> ServiceSession:
    s = session.get(ServiceSession, session_id, populate_existing=True)
    if s is None or not may_act_on(session, actor, s.site_id, s.unit_id):
        raise PermissionError("not your site")
    if expected_version is not None and s.version != expected_version:
        raise StaleRow(last_changed_by(session, s))
    return s


def _locked(s: ServiceSession) -> None:
    if s.status == SessionStatus.verified:
        raise VerificationError(N_("This session is approved and locked. An admin can reopen it."))
    if s.status == SessionStatus.rejected:
        raise VerificationError(N_("This session was rejected. An admin can reopen it."))


def _check_times(session: Session, s_id: int | None, volunteer_id: int, site: Site,
                 start: dt.datetime, end: dt.datetime, now: dt.datetime) -> None:
    if end <= start:
        raise VerificationError(N_("The check-out time must be after the check-in time."))
    if end > now + dt.timedelta(minutes=1):
        raise VerificationError(N_("Times cannot be in the future."))
    minutes = int((end - start).total_seconds() // 60)
    if minutes > site.max_session_minutes:
        raise VerificationError(N_("That is longer than this site's limit of %(hours)s hours."),
                                hours=hours_text(site.max_session_minutes))
    overlap = overlapping_session(session, volunteer_id, start, end, ignore_id=s_id)
    if overlap is not None:
        raise VerificationError(N_("This overlaps another session of the same volunteer (%(when)s)."),
                                when=overlap.checked_in_at.astimezone(TAIPEI).strftime("%Y-%m-%d %H:%M"))


def _require_day_gates(session: Session, volunteer: Volunteer, item: ServiceItem | None,
                       start: dt.datetime) -> None:
    """Service counts only on a day the volunteer was insured and trained for the item: checked
    at check-in, and again when staff approve, move or enter a session (the records may have
    been corrected since, or the session moved to another day)."""
    problems = dated_refusals(session, volunteer, item, start)
    if problems:
        raise VerificationError(problems[0].message, **problems[0].params)


def _require_reason(reason: str | None) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ReasonRequired()
    return reason[:500]


def approve(session: Session, session_id: int, actor: User, now: dt.datetime,
            expected_version: int | None = None, *, day_gates: bool = True) -> ServiceSession:
    """Approve a closed session: its credited minutes are the elapsed time, rounded the unit's
    way. `day_gates=False` (bulk approval of unflagged sessions only) skips re-checking the
    day's insurance and training: a session carries the day_gates flag whenever a change to
    those records made its day fail (gates.recheck_day_gates)."""
    begin_write(session)
    s = _load(session, session_id, actor, expected_version)
    _locked(s)
    if s.status == SessionStatus.needs_review:
        raise VerificationError(N_("Set the real times first: this session was closed automatically."))
    if s.status != SessionStatus.closed:
        raise VerificationError(N_("Only closed sessions can be approved."))
    if day_gates:
        _require_day_gates(session, s.volunteer, s.service_item, s.checked_in_at)
    before = s.snapshot()
    rounding = session.get(Unit, s.unit_id).rounding
    s.credited_minutes = credited(s.elapsed_minutes(now), rounding)
    s.status = SessionStatus.verified
    s.verified_by_id = actor.id
    s.verified_at = now
    session.flush()
    audit.record(session, action="approve", entity="service_session", entity_id=s.id, actor=actor,
                 before=before, after=s.snapshot(), now=now)
    return s


KEEP = object()  # adjust(persons_served=KEEP): leave the recorded number as it is
PERSONS_SERVED_MAX = 9999


def adjust(session: Session, session_id: int, actor: User, now: dt.datetime, *,
           checked_in_at: dt.datetime, checked_out_at: dt.datetime, reason: str,
           expected_version: int | None = None, persons_served=KEEP) -> ServiceSession:
    """Correct the times (also of an open or auto-closed session); it then awaits approval.
    `persons_served` (受服務人次, optional): a whole number 0–9999, or None to clear it."""
    begin_write(session)
    reason = _require_reason(reason)
    if persons_served is not KEEP and persons_served is not None and not (
            isinstance(persons_served, int) and 0 <= persons_served <= PERSONS_SERVED_MAX):
        raise VerificationError(N_("Persons served is a whole number from 0 to %(max)s, or "
                                   "empty."), max=PERSONS_SERVED_MAX)
    s = _load(session, session_id, actor, expected_version)
    _locked(s)

    def to_minute(moment):
        return moment.replace(second=0, microsecond=0) if moment is not None else None

    if s.status == SessionStatus.closed and to_minute(checked_in_at) == to_minute(s.checked_in_at) \
            and to_minute(checked_out_at) == to_minute(s.checked_out_at) \
            and (persons_served is KEEP or persons_served == s.persons_served):
        # The form sent back as it was shown (to the minute): marking the session edited would
        # take it out of bulk approval for nothing.
        raise VerificationError(N_("Nothing was changed: these are the times already recorded."))
    _check_times(session, s.id, s.volunteer_id, s.site, checked_in_at, checked_out_at, now)
    if taipei_date(checked_in_at) != taipei_date(s.checked_in_at):
        # moved to another day: that day must pass (its own day passed at check-in, and a
        # later change to the records flags it: gates.recheck_day_gates)
        _require_day_gates(session, s.volunteer, s.service_item, checked_in_at)
    before = {**s.snapshot(), "persons_served": s.persons_served}
    s.checked_in_at = checked_in_at
    s.checked_out_at = checked_out_at
    if persons_served is not KEEP:
        s.persons_served = persons_served
    s.status = SessionStatus.closed
    s.credited_minutes = 0
    s.add_flag(Flag.edited)
    # "Short" says what the times say: set to 09:00-11:30, a 28-second check-in is no longer short
    s.flags = (s.flags_with(Flag.short) if s.elapsed_minutes(now) < SHORT_SESSION_MINUTES
               else s.flags_without(Flag.short))
    session.flush()
    audit.record(session, action="adjust", entity="service_session", entity_id=s.id, actor=actor,
                 before=before, after={**s.snapshot(), "persons_served": s.persons_served,
                                       "reason": reason}, now=now)
    return s


def check_out_by_hand(session: Session, session_id: int, actor: User, now: dt.datetime, *,
                      at: dt.datetime, reason: str, expected_version: int | None = None
                      ) -> ServiceSession:
    begin_write(session)
    reason = _require_reason(reason)
    s = _load(session, session_id, actor, expected_version)
    if s.checked_out_at is not None:
        raise VerificationError(N_("This volunteer has already checked out."))
    _check_times(session, s.id, s.volunteer_id, s.site, s.checked_in_at, at, now)
    before = s.snapshot()
    s.checked_out_at = at
    s.checkout_source = SessionSource.manual
    s.status = SessionStatus.closed
    s.add_flag(Flag.manual_checkout)
    session.flush()
    audit.record(session, action="manual_check_out", entity="service_session", entity_id=s.id,
                 actor=actor, before=before, after={**s.snapshot(), "reason": reason}, now=now)
    return s


def reject(session: Session, session_id: int, actor: User, now: dt.datetime, *, reason: str,
           expected_version: int | None = None) -> ServiceSession:
    begin_write(session)
    reason = _require_reason(reason)
    s = _load(session, session_id, actor, expected_version)
    _locked(s)
    if s.checked_out_at is None:
        raise VerificationError(N_("The volunteer is still on site: check them out first."))
    before = s.snapshot()
    s.status = SessionStatus.rejected
    s.credited_minutes = 0
    s.verified_by_id = actor.id
    s.verified_at = now
    session.flush()
    audit.record(session, action="reject", entity="service_session", entity_id=s.id, actor=actor,
                 before=before, after={**s.snapshot(), "reason": reason}, now=now)
    return s


def reopen(session: Session, session_id: int, actor: User, now: dt.datetime, *, reason: str,
           expected_version: int | None = None, certificate_noted: bool = False) -> ServiceSession:
    """Admins only: an approved or rejected session goes back to awaiting verification.

    A session counted on an issued performance certificate (paper the volunteer holds) is
    reopened only when the admin has seen that its printed hours will no longer match
    (`certificate_noted`); the audit entry names the certificate, and a new one can be issued
    once the session is settled."""
    begin_write(session)
    if actor.role != Role.admin:
        raise PermissionError("admins only")
    reason = _require_reason(reason)
    s = _load(session, session_id, actor, expected_version)
    if s.status not in (SessionStatus.verified, SessionStatus.rejected):
        raise VerificationError(N_("Only approved or rejected sessions can be reopened."))
    if s.hour_slip_id is not None:
        raise VerificationError(N_("This session is on an hour slip. Void the slip first."))
    certificate = counted_on(session, s)
    if certificate is not None and not certificate_noted:
        raise CountedOnCertificate(certificate)
    before = s.snapshot()
    s.status = SessionStatus.closed
    s.credited_minutes = 0
    s.verified_by_id = None
    s.verified_at = None
    session.flush()
    after = {**s.snapshot(), "reason": reason}
    if certificate is not None:
        after["certificate"] = certificate.serial
    audit.record(session, action="reopen", entity="service_session", entity_id=s.id, actor=actor,
                 before=before, after=after, now=now)
    return s


def bulk_approve(session: Session, actor: User, f: QueueFilter, now: dt.datetime,
                 expected_count: int | None = None) -> int:
    """Approve every unflagged closed session in the filter. With `expected_count` (what the
    supervisor confirmed), nothing happens if the queue changed meanwhile."""
    begin_write(session)
    unflagged = QueueFilter(f.site_id, f.date_from, f.date_to, f.volunteer_id, "unflagged")
    ids = list(session.scalars(queue_query(session, actor, unflagged).with_only_columns(ServiceSession.id)))
    if expected_count is not None and len(ids) != expected_count:
        raise VerificationError(N_("The queue changed: %(now)d sessions match now, not %(then)d. "
                                   "Check and confirm again."), now=len(ids), then=expected_count)
    for session_id in ids:
        approve(session, session_id, actor, now, day_gates=False)  # unflagged: the day passed
    return len(ids)


def manual_entry(session: Session, actor: User, now: dt.datetime, *, volunteer: Volunteer,
                 site: Site, item: ServiceItem | None, checked_in_at: dt.datetime,
                 checked_out_at: dt.datetime, reason: str) -> ServiceSession:
    """A session from a paper sign-in sheet. The same gates as a check-in apply."""
    begin_write(session)
    reason = _require_reason(reason)
    if not may_act_on(session, actor, site.id, site.unit_id) or volunteer.unit_id != actor.unit_id:
        raise PermissionError("not your site")
    _require_day_gates(session, volunteer, item, checked_in_at)  # worded for the sheet's day
    problems = gate_refusals(session, volunteer, site, item, checked_in_at)
    if problems:
        raise VerificationError(problems[0].message, **problems[0].params)
    _check_times(session, None, volunteer.id, site, checked_in_at, checked_out_at, now)
    s = ServiceSession(unit_id=site.unit_id, volunteer_id=volunteer.id, site_id=site.id,
                       service_item_id=item.id, checked_in_at=checked_in_at,
                       checked_out_at=checked_out_at, status=SessionStatus.closed,
                       source=SessionSource.manual, checkout_source=SessionSource.manual,
                       note=reason)
    session.add(s)
    session.flush()
    audit.record(session, action="manual_entry", entity="service_session", entity_id=s.id,
                 actor=actor, after={**s.snapshot(), "reason": reason}, now=now)
    return s


def _count(session: Session, query) -> int:
    return session.scalar(query.with_only_columns(func.count(ServiceSession.id))) or 0


def unflagged_count(session: Session, user: User, f: QueueFilter) -> int:
    unflagged = QueueFilter(f.site_id, f.date_from, f.date_to, f.volunteer_id, "unflagged")
    return _count(session, queue_query(session, user, unflagged))


@dataclass
class Waiting:
    """Sessions waiting for verification at some sites, counted as the dashboard's queue shows
    them: all of them (the queue as it opens), the flagged ones among them (filter "Any flag":
    a flag, or needing review; approved one by one, never in bulk), and the forgotten
    check-outs among those (filter "auto-closed": 0 minutes credited until the real time is
    set)."""

    sessions: int = 0
    flagged: int = 0
    forgotten: int = 0


def waiting_at(session: Session, unit_id: int, site_ids: set[int] | None) -> Waiting:
    """What waits for verification at the unit's `site_ids` (None: every site; a supervisor's:
    supervised_site_ids). Three counts on the queue's indexes."""
    def count(flag: str | None) -> int:
        return _count(session, _queue_at(unit_id, site_ids, QueueFilter(flag=flag)))

    return Waiting(count(None), count(FLAGGED), count(Flag.auto_closed.value))


__all__ = ["SupervisorSite", "VerificationError", "StaleRow", "ReasonRequired", "QueueFilter", "approve", "adjust",
           "Change", "MISSING", "history_changes", "HistoryLine", "history_lines", "STAFF",
           "DONE_STATUSES",
           "reject", "rejection_reasons", "reopen", "bulk_approve", "manual_entry", "check_out_by_hand", "credited",
           "verification_queue", "on_site_now", "history", "may_act_on", "assign_sites",
           "supervised_site_ids", "unflagged_count", "Waiting", "waiting_at"]
