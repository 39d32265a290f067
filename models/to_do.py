"""What waits for a supervisor or an admin at their sites (the staff home page's "to do"):
sessions waiting for verification, the flagged ones and the forgotten check-outs among them
(verification.waiting_at, as the dashboard's queue counts them), who was turned away today
(refusal_log.turned_away: the lines of the dashboard's card), and their volunteers' insurance: without cover
today, or cover ending within insurance.EXPIRING_DAYS. An admin also sees the new applications
waiting for an interview or a decision (recruitment.new_applications).

A supervisor's sites are verification.supervised_site_ids; their volunteers, those the
directory shows them (directory.visible_volunteer_ids: scheduled or checked in at one of their
sites this year). An admin's are every site and every active volunteer of the unit.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from .refusal_log import turned_away
from .directory import visible_volunteer_ids
from .insurance import CoverStatus, cover_overview, cover_statuses, expiring, uninsured
from .people import Role, User, Volunteer, VolunteerStatus
from .recruitment import new_applications
from .verification import Waiting, supervised_site_ids, waiting_at


@dataclass
class ToDo:
    waiting: Waiting
    turned_away: int = 0  # lines of today's refusal log (a person, site, action and reason each)
    uninsured: list[Volunteer] = field(default_factory=list)
    cover_ending: list[CoverStatus] = field(default_factory=list)
    applications: int = 0  # an admin's: new applications, not yet interviewed or decided

    @property
    def anything(self) -> bool:
        return bool(self.waiting.sessions or self.turned_away or self.uninsured or self.cover_ending
                    or self.applications)


def to_do(session: Session, user: User, today: dt.date) -> ToDo:
    """What waits for `user` (a supervisor or an admin) on `today`, a Taipei day."""
    site_ids = supervised_site_ids(session, user)
    volunteer_ids = visible_volunteer_ids(session, user, today.year)
    if volunteer_ids is None:
        covers = cover_overview(session, user.unit_id, today)
    else:
        covers = cover_statuses(session, list(session.scalars(
            select(Volunteer).where(Volunteer.unit_id == user.unit_id,
                                    Volunteer.status == VolunteerStatus.active,
                                    Volunteer.id.in_(volunteer_ids or {-1}))
            .order_by(Volunteer.volunteer_no, Volunteer.id))), today)
    return ToDo(waiting=waiting_at(session, user.unit_id, site_ids),
                turned_away=turned_away(session, user.unit_id, today, site_ids),
                uninsured=uninsured(covers), cover_ending=expiring(covers),
                applications=(new_applications(session, user.unit_id)
                              if user.role == Role.admin else 0))
