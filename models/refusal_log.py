"""The refusal log (拒絕紀錄): who was turned away at a check-in or check-out, as staff see it.

Refusals are written where they happen (models/checkin.py: record_refusal, and the gates'
refusals inside check_in/check_out); this module reads them for the supervisor's dashboard,
the staff home page's "to do", the reminder mail and the kiosk's locked numbers.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from .base import taipei_day_bounds
from .checkin import Action, CheckinEvent, Outcome, refused_as_too_far
from .gates import REFUSAL_LABELS
from .people import Volunteer
from .service import Flag, ServiceSession, SessionSource, Site


@dataclass
class RefusedAttempts:
    """A volunteer turned away at a site on one day for one reason: the refusal log supervisors
    see. Repeated tries (a volunteer tapping again, then trying the kiosk) are one entry."""

    volunteer: Volunteer | None
    site: Site | None
    action: Action
    refusal_code: str
    first_at: dt.datetime
    last_at: dt.datetime
    attempts: int
    sources: list[SessionSource]
    served_later: bool = False  # checked in after the last refusal (the problem was fixed)
    typed_number: str | None = None  # a number typed at the kiosk that matched nobody
    distance_m: int | None = None  # too far: how far, at the last try that knew it

    @property
    def reason(self) -> str:
        """Why, in a few words (an English msgid): the volunteer was told the whole sentence."""
        return REFUSAL_LABELS.get(self.refusal_code, self.refusal_code)


def refused_attempts(session: Session, unit_id: int, day: dt.date,
                     site_ids: set[int] | None = None) -> list[RefusedAttempts]:
    """The unit's refused check-ins and check-outs on a Taipei day, newest first; with
    `site_ids`, only those at these sites (a supervisor's)."""
    start, end = taipei_day_bounds(day)
    query = (select(CheckinEvent)
             .where(CheckinEvent.unit_id == unit_id, CheckinEvent.outcome == Outcome.refused,
                    CheckinEvent.at >= start, CheckinEvent.at < end)
             .options(selectinload(CheckinEvent.volunteer), selectinload(CheckinEvent.site))
             .order_by(CheckinEvent.at, CheckinEvent.id))
    if site_ids is not None:
        query = query.where(CheckinEvent.site_id.in_(site_ids or {-1}))
    grouped: dict[tuple, RefusedAttempts] = {}
    for e in session.scalars(query):
        group = (e.volunteer_id, e.typed_number, e.site_id, e.action, e.refusal_code)
        found = grouped.get(group)
        if found is None:
            grouped[group] = RefusedAttempts(e.volunteer, e.site, e.action, e.refusal_code or "", e.at, e.at,
                                             1, [e.source], typed_number=e.typed_number)
        else:
            found.last_at, found.attempts = e.at, found.attempts + 1
            if e.source not in found.sources:
                found.sources.append(e.source)
        if e.distance_m is not None:
            grouped[group].distance_m = e.distance_m
    entries = sorted(grouped.values(), key=lambda r: r.last_at, reverse=True)
    volunteer_ids = {r.volunteer.id for r in entries if r.volunteer is not None}
    if volunteer_ids:
        starts = session.execute(
            select(ServiceSession.volunteer_id, ServiceSession.checked_in_at)
            .where(ServiceSession.volunteer_id.in_(volunteer_ids),
                   ServiceSession.checked_in_at >= start, ServiceSession.checked_in_at < end)).all()
        for r in entries:
            if r.volunteer is not None and r.action == Action.check_in:
                r.served_later = any(vid == r.volunteer.id and at >= r.last_at for vid, at in starts)
    return entries


def turned_away(session: Session, unit_id: int, day: dt.date, site_ids: set[int] | None = None) -> int:
    """How many were turned away on a Taipei day (at `site_ids`): the lines of that day's
    refusal log (refused_attempts: one a person, site, action and reason, however many tries),
    as the dashboard's card shows them, and as the staff home page's "to do" and the
    supervisor's reminder mail count them."""
    return len(refused_attempts(session, unit_id, day, site_ids))


def far_refusals(session: Session, rows: list[ServiceSession]) -> dict[int, int]:
    """For the rows flagged refused_far_before: the distance of the refusal before each (metres;
    0 when not recorded), by session id, as the dashboard shows it beside the flag."""
    flagged = [s for s in rows if Flag.refused_far_before.value in s.flag_set]
    found = {}
    for s in flagged:  # rare, and one indexed look-up each
        distance = refused_as_too_far(session, s.volunteer_id, s.site_id, s.created_at or s.checked_in_at)
        if distance is not None:
            found[s.id] = distance
    return found
