"""The team view per site (團隊概況): a year's verified hours, volunteers, attendance rate,
retention, exits and evaluation outcomes per site — the basis for team awards (see
models/golden_team.py). Built on the evaluation module's facts (who belongs where, who was
active when, attendance in bulk); a fixed number of queries plus three per site."""
from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .evaluation import (Evaluation, EvaluationStatus, Outcome, Tally, attendance_tallies,
                         period_end, site_people, year_bounds, year_moments)
from .volunteer_status import active_on, exits_between, status_history
from .people import User, Volunteer
from .service import ServiceSession, SessionStatus, Site
from .verification import supervised_site_ids

@dataclass
class SiteSummary:
    site: Site
    verified_minutes: int = 0
    volunteers: int = 0  # scheduled or checked in during the year
    active_volunteers: int = 0  # of those, active at the end of the period
    attendance: Tally = field(default_factory=Tally)
    cohort: int = 0  # the site's volunteers active on 1 January
    retained: int = 0  # of the cohort, still active at the end of the period
    exits: int = 0  # exits during the year among the site's volunteers
    outcomes: dict[Outcome, int] = field(default_factory=dict)  # finalised evaluations
    drafts: int = 0  # evaluations not yet finalised

    @property
    def retention(self) -> float | None:
        return round(self.retained / self.cohort * 100, 1) if self.cohort else None


def team_overview(session: Session, user: User, year: int, now: dt.datetime) -> list[SiteSummary]:
    """Per site the user sees, for a Taipei calendar year (up to today in the current year):

    - verified hours of sessions at the site that started in the year;
    - volunteers: scheduled or checked in there during the year; active ones at the period end;
    - attendance rate (see ATTENDED);
    - retention: of the site's volunteers (scheduled or checked in there during the year or the
      year before) who were active on 1 January, the share still active at the period end;
      exits: how many of them exited during the year;
    - evaluation outcomes of the year (finalised, by outcome; drafts counted apart). A volunteer
      at two sites counts at both.

    A fixed number of queries plus three per site (the attendance roster), never per volunteer.
    """
    first, last = year_bounds(year)
    end = period_end(year, now)
    allowed = supervised_site_ids(session, user)
    query = select(Site).where(Site.unit_id == user.unit_id)
    if allowed is not None:
        query = query.where(Site.id.in_(allowed or {-1}))
    sites = list(session.scalars(query.order_by(Site.name_zh, Site.id)))
    site_ids = {s.id for s in sites}
    if not sites:
        return []
    this_year = site_people(session, user.unit_id, first, last, site_ids)
    window = site_people(session, user.unit_id, dt.date(year - 1, 1, 1), last, site_ids)
    all_ids = set().union(*window.values()) if window else set()
    volunteers = {v.id: v for v in session.scalars(
        select(Volunteer).where(Volunteer.id.in_(all_ids or {-1})))}
    history = status_history(session, all_ids)
    start, stop = year_moments(year)
    minutes = dict(session.execute(
        select(ServiceSession.site_id, func.sum(ServiceSession.credited_minutes))
        .where(ServiceSession.unit_id == user.unit_id, ServiceSession.site_id.in_(site_ids),
               ServiceSession.status == SessionStatus.verified,
               ServiceSession.checked_in_at >= start, ServiceSession.checked_in_at < stop)
        .group_by(ServiceSession.site_id)).all())
    evaluations = list(session.execute(
        select(Evaluation.volunteer_id, Evaluation.status, Evaluation.outcome)
        .where(Evaluation.unit_id == user.unit_id, Evaluation.year == year)))
    tallies = attendance_tallies(session, sorted(site_ids), first, end, now)

    result = []
    for site in sites:
        summary = SiteSummary(site, verified_minutes=int(minutes.get(site.id) or 0))
        people = this_year.get(site.id, set())
        summary.volunteers = len(people)
        summary.active_volunteers = sum(
            1 for vid in people if active_on(volunteers[vid], history.get(vid, []), end))
        for tally in tallies.get(site.id, {}).values():
            summary.attendance.add(tally)
        for vid in window.get(site.id, set()):
            vol, changes = volunteers[vid], history.get(vid, [])
            if active_on(vol, changes, first):
                summary.cohort += 1
                summary.retained += active_on(vol, changes, end)
            summary.exits += exits_between(vol, changes, first, end)
        outcomes: Counter = Counter()
        for vid, status, outcome in evaluations:
            if vid in people:
                if status == EvaluationStatus.final:
                    outcomes[outcome] += 1
                else:
                    summary.drafts += 1
        summary.outcomes = {o: outcomes.get(o, 0) for o in Outcome}
        result.append(summary)
    return result
