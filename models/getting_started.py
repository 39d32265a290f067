"""Getting started: what a new unit still has to do before its volunteers can serve, computed
from its data (nothing is stored). The admin's home page shows the steps, each linking to the page
that does it, until the essential ones are done (the workflow's steps 1–9: the unit's profile,
service items, a site with its poster, a supervisor, the filed plan, volunteers, their training and
their insurance). A kiosk tablet is optional: volunteers can check in on their own phones.

Every step is one cheap query (or a few, stopping at the first trained volunteer), so the home
page of a unit long past its start pays almost nothing for asking."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from .insurance import InsuranceCover
from .kiosk import KioskDevice
from .people import Role, User, Volunteer, VolunteerStatus
from .plan import PlanStatus, PlanVersion, ServicePlan
from .openings import Opening, OpeningStatus
from .service import ServiceItem, Site
from .training import training_status
from .unit import Unit
from .verification import SupervisorSite

# The steps in the order a unit takes them (the keys the page words and links).
STEPS = ("profile", "service_items", "site", "supervisor", "plan", "volunteers", "training",
         "insurance", "kiosk")
OPTIONAL = frozenset({"kiosk"})


@dataclass(frozen=True)
class Step:
    key: str
    done: bool
    essential: bool
    started: bool = False  # begun but not done (a drafted plan, an opening not yet published)


@dataclass(frozen=True)
class Checklist:
    steps: tuple[Step, ...]

    @property
    def essentials_done(self) -> bool:
        return all(s.done for s in self.steps if s.essential)

    @property
    def done_count(self) -> int:
        return sum(1 for s in self.steps if s.done)

    @property
    def next_step(self) -> Step | None:
        """The first essential step not done (the one the page points at first)."""
        return next((s for s in self.steps if s.essential and not s.done), None)


def _any(session: Session, query) -> bool:
    return bool(session.scalar(select(exists(query))))


def _active_volunteers(unit_id: int):
    return select(Volunteer.id).where(Volunteer.unit_id == unit_id,
                                      Volunteer.status == VolunteerStatus.active,
                                      Volunteer.anonymised_at.is_(None))


def _someone_trained(session: Session, unit: Unit) -> bool:
    """Whether an active volunteer has both basic and the unit category's special training.
    Checks volunteers with training records, most records first, and stops at the first one."""
    from .training import TrainingRecord

    candidates = session.scalars(
        select(Volunteer).join(TrainingRecord, TrainingRecord.volunteer_id == Volunteer.id)
        .where(Volunteer.id.in_(_active_volunteers(unit.id)))
        .group_by(Volunteer.id).order_by(func.count(TrainingRecord.id).desc(), Volunteer.id))
    return any(training_status(session, v, unit.category).complete for v in candidates)


def checklist(session: Session, unit_id: int, today: dt.date) -> Checklist:
    """The unit's getting-started steps on `today` (a Taipei date)."""
    unit = session.get(Unit, unit_id)
    done: dict[str, bool] = {}
    started: dict[str, bool] = {}

    done["profile"] = unit.legal_type is not None and bool((unit.registration_no or "").strip())
    done["service_items"] = _any(session, select(ServiceItem.id).where(
        ServiceItem.unit_id == unit_id, ServiceItem.active.is_(True)))
    done["site"] = _any(session, select(Site.id).where(Site.unit_id == unit_id,
                                                       Site.active.is_(True)))
    done["supervisor"] = _any(session, select(SupervisorSite.user_id)
                              .join(User, User.id == SupervisorSite.user_id)
                              .join(Site, Site.id == SupervisorSite.site_id)
                              .where(User.unit_id == unit_id, User.role == Role.supervisor,
                                     User.active.is_(True), Site.active.is_(True)))
    # This year's plan, or a later year's (a unit starting late in the year files next year's),
    # submitted to or approved by the competent authority; a draft is a start.
    plans = select(PlanVersion.status).join(ServicePlan, ServicePlan.id == PlanVersion.plan_id) \
        .where(ServicePlan.unit_id == unit_id, ServicePlan.year >= today.year)
    statuses = set(session.scalars(plans))
    done["plan"] = bool(statuses & {PlanStatus.submitted, PlanStatus.approved})
    started["plan"] = bool(statuses)
    has_volunteers = _any(session, _active_volunteers(unit_id))
    published = _any(session, select(Opening.id).where(
        Opening.unit_id == unit_id, Opening.status != OpeningStatus.draft))
    done["volunteers"] = has_volunteers or published
    started["volunteers"] = _any(session, select(Opening.id).where(Opening.unit_id == unit_id))
    done["training"] = has_volunteers and _someone_trained(session, unit)
    done["insurance"] = has_volunteers and _any(session, select(InsuranceCover.id).where(
        InsuranceCover.volunteer_id.in_(_active_volunteers(unit_id)),
        InsuranceCover.starts_on <= today, InsuranceCover.ends_on >= today))
    done["kiosk"] = _any(session, select(KioskDevice.id).where(
        KioskDevice.unit_id == unit_id, KioskDevice.enrolled_at.is_not(None),
        KioskDevice.revoked_at.is_(None)))
    return Checklist(tuple(
        Step(key, done[key], key not in OPTIONAL, started.get(key, False) and not done[key])
        for key in STEPS))
