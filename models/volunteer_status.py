"""A volunteer's status over time: exit (退場) and re-activation, and who was active when.

The volunteer row holds the current status; `VolunteerStatusChange` keeps every exit and
re-activation with its date and reason, so years already past are judged by who was active
then (the evaluation list, the team view). Exiting deletes nothing: hours, sessions and records
stay, and the check-in gate (models/gates.gate_refusals) refuses inactive volunteers. An exit
is made by an admin, or by finalising an evaluation whose outcome is exit (models/evaluation).
Every change is audited. Plain functions: they take the Session and `now`; callers commit.
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict

from sqlalchemy import Date, Enum, ForeignKey, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from . import audit
from .base import Base, UTCDateTime, begin_write, taipei_date, utcnow
from .people import Role, User, Volunteer, VolunteerStatus

REASON_MAX = 300


def clean_text(text: str | None) -> str:
    """One line of text: surrounding and repeated whitespace removed."""
    return " ".join((text or "").split())


def checked_reason(reason: str | None, errors: dict[str, str]) -> str:
    """A change's reason, cleaned; "required" or "too_long" put in `errors` under "reason"."""
    reason = clean_text(reason)
    if not reason:
        errors["reason"] = "required"
    elif len(reason) > REASON_MAX:
        errors["reason"] = "too_long"
    return reason


class InvalidStatusChange(ValueError):
    """What is wrong, field by field, as codes (required, too_long, future, before_joined,
    not_active, not_inactive, exit_admin_only); `params` for the messages (before_joined: day, the joining
    date)."""

    def __init__(self, errors: dict[str, str], params: dict | None = None):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = dict(errors)
        self.params = dict(params or {})


def exit_day_problem(volunteer: Volunteer, on: dt.date, today: dt.date
                     ) -> tuple[str, dict] | None:
    """Why `on` cannot be the volunteer's exit date, as (code, params), or None: future (after
    `today`), before_joined (before their joining date, which params' day gives). The one
    rule for an exit's date: an admin's exit and an evaluation's."""
    if on > today:
        return "future", {}
    if volunteer.joined_on is not None and on < volunteer.joined_on:
        return "before_joined", {"day": volunteer.joined_on.isoformat()}
    return None


class VolunteerStatusChange(Base):
    """Exit and re-activation history: the volunteer row only holds the current status."""

    __tablename__ = "volunteer_status_change"

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    volunteer_id: Mapped[int] = mapped_column(ForeignKey("volunteer.id"), index=True)
    status: Mapped[VolunteerStatus] = mapped_column(
        Enum(VolunteerStatus, native_enum=False, length=20))
    effective_on: Mapped[dt.date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(String(REASON_MAX))
    evaluation_id: Mapped[int | None] = mapped_column(ForeignKey("evaluation.id"))
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


# --- who was active when ----------------------------------------------------------------

def status_history(session: Session, volunteer_ids) -> dict[int, list[VolunteerStatusChange]]:
    """volunteer id -> their exits and re-activations, oldest first (one query)."""
    ids = list(volunteer_ids)
    found: dict[int, list[VolunteerStatusChange]] = defaultdict(list)
    if not ids:
        return found
    for change in session.scalars(select(VolunteerStatusChange).where(
            VolunteerStatusChange.volunteer_id.in_(ids))
            .order_by(VolunteerStatusChange.effective_on, VolunteerStatusChange.id)):
        found[change.volunteer_id].append(change)
    return found


def active_on(volunteer: Volunteer, changes: list[VolunteerStatusChange], day: dt.date) -> bool:
    """Was the volunteer active on `day`? Joined by then (an unknown join date counts as
    joined) and not exited: the last status change on or before the day decides; with no
    recorded changes, the row's own status and `left_on` do."""
    if volunteer.joined_on is not None and volunteer.joined_on > day:
        return False
    earlier = [c for c in changes if c.effective_on <= day]
    if earlier:
        return earlier[-1].status == VolunteerStatus.active
    if changes:  # only changes after the day: the status before the first one
        return changes[0].status != VolunteerStatus.active
    if volunteer.status == VolunteerStatus.active:
        return True
    return volunteer.left_on is not None and day < volunteer.left_on


def serving_on(volunteer: Volunteer, changes: list[VolunteerStatusChange], day: dt.date) -> bool:
    """Could service recorded on `day` be the volunteer's for the unit? Active that day, or
    exiting that day (the last day of service counts): the day-of-service gate (models/gates)."""
    return active_on(volunteer, changes, day) or active_on(volunteer, changes,
                                                           day - dt.timedelta(days=1))


def active_during(volunteer: Volunteer, changes: list[VolunteerStatusChange], first: dt.date,
                  last: dt.date) -> bool:
    """Active on at least one day between `first` and `last`."""
    start = max(first, volunteer.joined_on) if volunteer.joined_on else first
    if start > last:
        return False
    if active_on(volunteer, changes, start):
        return True
    return any(c.status == VolunteerStatus.active and start <= c.effective_on <= last
               for c in changes)


def exits_between(volunteer: Volunteer, changes: list[VolunteerStatusChange], first: dt.date,
                  last: dt.date) -> int:
    """How many times the volunteer exited between `first` and `last`."""
    if changes:
        return sum(1 for c in changes if c.status == VolunteerStatus.inactive
                   and first <= c.effective_on <= last)
    return int(volunteer.status == VolunteerStatus.inactive and volunteer.left_on is not None
               and first <= volunteer.left_on <= last)


# --- exit and re-activation ------------------------------------------------------------------

def _status_snapshot(v: Volunteer) -> dict:
    return {"status": v.status.value, "left_on": v.left_on.isoformat() if v.left_on else None,
            "exit_reason": v.exit_reason}


def exit_volunteer(session: Session, volunteer: Volunteer, actor: User, now: dt.datetime, *,
                   reason: str, on: dt.date | None = None,
                   evaluation=None) -> VolunteerStatusChange:
    """Make the volunteer inactive (退場) with reason and date. Nothing is deleted: their
    hours, sessions and records stay; the check-in gate now refuses them."""
    begin_write(session)
    on = on or taipei_date(now)
    errors = {}
    if actor.role != Role.admin:
        errors["status"] = "exit_admin_only"  # the unit admin decides who leaves
    elif not volunteer.is_active:
        errors["status"] = "not_active"
    reason = checked_reason(reason, errors)
    problem = exit_day_problem(volunteer, on, taipei_date(now))
    params = {}
    if problem is not None:
        errors["on"], params = problem
    if errors:
        raise InvalidStatusChange(errors, params)
    before = _status_snapshot(volunteer)
    volunteer.status = VolunteerStatus.inactive
    volunteer.left_on = on
    volunteer.exit_reason = reason
    change = VolunteerStatusChange(unit_id=volunteer.unit_id, volunteer_id=volunteer.id,
                                   status=VolunteerStatus.inactive, effective_on=on, reason=reason,
                                   evaluation_id=evaluation.id if evaluation else None,
                                   actor_user_id=actor.id, at=now)
    session.add(change)
    session.flush()
    audit.record(session, action="volunteer_exit", entity="volunteer", entity_id=volunteer.id,
                 actor=actor, unit_id=volunteer.unit_id, before=before,
                 after={**_status_snapshot(volunteer),
                        "evaluation_id": evaluation.id if evaluation else None}, now=now)
    return change


def reactivate_volunteer(session: Session, volunteer: Volunteer, actor: User, now: dt.datetime,
                         *, reason: str) -> VolunteerStatusChange:
    """An admin brings an exited volunteer back (with a reason), from today."""
    begin_write(session)
    errors = {}
    if volunteer.is_active:
        errors["status"] = "not_inactive"
    elif volunteer.anonymised_at is not None:
        errors["status"] = "not_inactive"  # deleted on request (PDPA): stays gone
    reason = checked_reason(reason, errors)
    if errors:
        raise InvalidStatusChange(errors)
    before = _status_snapshot(volunteer)
    volunteer.status = VolunteerStatus.active
    volunteer.left_on = None
    volunteer.exit_reason = ""
    change = VolunteerStatusChange(unit_id=volunteer.unit_id, volunteer_id=volunteer.id,
                                   status=VolunteerStatus.active, effective_on=taipei_date(now),
                                   reason=reason, actor_user_id=actor.id, at=now)
    session.add(change)
    session.flush()
    audit.record(session, action="volunteer_reactivated", entity="volunteer",
                 entity_id=volunteer.id, actor=actor, unit_id=volunteer.unit_id, before=before,
                 after={**_status_snapshot(volunteer), "reason": reason}, now=now)
    return change


def status_changes_of(session: Session, volunteer_id: int) -> list[VolunteerStatusChange]:
    return status_history(session, [volunteer_id]).get(volunteer_id, [])
