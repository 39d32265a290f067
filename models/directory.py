"""The volunteer directory (志工名冊, /admin/volunteers): the unit's volunteers, found by name or
number, each with the facts an admin asks first: insured today, trained for the unit's
category, record book, verified hours this year.

Every column comes from the one place that decides it (insurance.cover_statuses,
training.training_statuses, hours.verified_minutes_of), read in bulk for the volunteers of one
page (PAGE_SIZE, by LIMIT/OFFSET after a COUNT): a fixed number of queries however many
volunteers the unit has.
"""
from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from .evaluation import site_people, year_bounds, year_moments
from .hours import verified_minutes_of
from .insurance import EXPIRING_DAYS, CoverStatus, cover_statuses
from .paging import PAGE_SIZE, Page, nearest_page
from .people import Role, User, Volunteer, VolunteerStatus
from .training import TrainingStatus, training_statuses
from .unit import Unit
from .verification import supervised_site_ids

SEARCH_MAX = 60


class StatusFilter(str, enum.Enum):
    active = "active"
    left = "left"
    all = "all"


@dataclass
class DirectoryRow:
    volunteer: Volunteer
    cover: CoverStatus
    training: TrainingStatus
    minutes_this_year: int

    @property
    def insurance(self) -> str:
        """"covered", "ending" (unbroken cover ends within EXPIRING_DAYS days) or "none"."""
        if not self.cover.insured:
            return "none"
        return "ending" if self.cover.expiring(EXPIRING_DAYS) else "covered"


# One page of the directory: DirectoryRow rows (see models/paging.py).
DirectoryPage = Page


def visible_volunteer_ids(session: Session, user: User, year: int) -> set[int] | None:
    """None for admins (the whole unit); a supervisor's volunteers, as the evaluation list
    has them: scheduled or checked in at one of their sites this year."""
    if user.role == Role.admin:
        return None
    first, last = year_bounds(year)
    people = site_people(session, user.unit_id, first, last, supervised_site_ids(session, user))
    return {vid for ids in people.values() for vid in ids}


def directory(session: Session, user: User, today: dt.date, search: str = "",
              status: StatusFilter = StatusFilter.active, page: int = 1) -> DirectoryPage:
    """One page of the unit's volunteers the user may see, by volunteer number, narrowed to
    those whose name (Chinese or English) contains `search` or whose number starts with it.
    A page before the first or after the last is the first or the last."""
    conditions = [Volunteer.unit_id == user.unit_id, Volunteer.anonymised_at.is_(None)]
    if status == StatusFilter.active:
        conditions.append(Volunteer.status == VolunteerStatus.active)
    elif status == StatusFilter.left:
        conditions.append(Volunteer.status == VolunteerStatus.inactive)
    search = (search or "").strip()[:SEARCH_MAX]
    if search:
        conditions.append(or_(Volunteer.name_zh.contains(search, autoescape=True),
                              Volunteer.name_en.icontains(search, autoescape=True),
                              Volunteer.volunteer_no.istartswith(search, autoescape=True)))
    visible = visible_volunteer_ids(session, user, today.year)
    if visible is not None:
        conditions.append(Volunteer.id.in_(visible or {-1}))
    total = session.scalar(select(func.count(Volunteer.id)).where(*conditions)) or 0
    page = nearest_page(page, total)
    if not total:
        return DirectoryPage([], 0, page)
    volunteers = list(session.scalars(
        select(Volunteer).where(*conditions).order_by(Volunteer.volunteer_no, Volunteer.id)
        .limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)))
    category = session.scalar(select(Unit.category).where(Unit.id == user.unit_id))
    covers = cover_statuses(session, volunteers, today)
    training = training_statuses(session, volunteers, category)
    minutes = verified_minutes_of(session, volunteers, *year_moments(today.year))
    rows = [DirectoryRow(v, cover, training[v.id], minutes[v.id])
            for v, cover in zip(volunteers, covers)]
    return DirectoryPage(rows, total, page)
