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
from .people import Role, User, Volunteer, VolunteerStatus
from .training import TrainingStatus, training_statuses
from .unit import Unit
from .verification import supervised_site_ids

SEARCH_MAX = 60
PAGE_SIZE = 50


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


def page_count(total: int, per_page: int = PAGE_SIZE) -> int:
    """Pages of `per_page` rows for `total` rows; an empty list is one (empty) page."""
    return max(1, -(-total // per_page))


@dataclass
class DirectoryPage:
    """One page of the directory: its rows, the number of matching volunteers, and which page
    (1-based, within 1..pages) it is."""
    rows: list[DirectoryRow]
    total: int
    page: int
    per_page: int = PAGE_SIZE

    @property
    def pages(self) -> int:
        return page_count(self.total, self.per_page)

    @property
    def first(self) -> int:
        """The position of the page's first row among all matches (0 when there are none)."""
        return (self.page - 1) * self.per_page + 1 if self.rows else 0

    @property
    def last(self) -> int:
        return self.first + len(self.rows) - 1 if self.rows else 0

    @property
    def previous(self) -> int | None:
        return self.page - 1 if self.page > 1 else None

    @property
    def next(self) -> int | None:
        return self.page + 1 if self.page < self.pages else None


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
    page = min(max(page, 1), page_count(total))
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
