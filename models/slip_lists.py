"""Lists of hour slips: the staff's issued slips (paged, narrowed to a volunteer or a search),
the volunteers a staff member may issue slips for, a volunteer's own slips and sessions, and
which slip (and sites) each belongs to. Issuing is models/slips.py.
"""
from __future__ import annotations

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, joinedload

from .paging import PAGE_SIZE, Page, nearest_page
from .people import User, Volunteer
from .service import ServiceSession, Site
from .slips import HourSlip, HourSlipEntry, require_staff
from .verification import supervised_site_ids


SEARCH_MAX = 60


def _staff_slips_query(session: Session, user: User, volunteer_id: int | None = None,
                       search: str = ""):
    """The slips a staff member may handle (a supervisor: all sessions at their sites), of one
    volunteer, or whose number contains `search` or whose volunteer's name contains it or
    number starts with it."""
    require_staff(user)
    query = select(HourSlip).where(HourSlip.unit_id == user.unit_id)
    allowed = supervised_site_ids(session, user)
    if allowed is not None:
        elsewhere = (select(HourSlipEntry.id)
                     .join(ServiceSession, ServiceSession.id == HourSlipEntry.session_id)
                     .where(HourSlipEntry.slip_id == HourSlip.id,
                            ServiceSession.site_id.not_in(allowed or {-1})))
        query = query.where(~elsewhere.exists())
    if volunteer_id is not None:
        query = query.where(HourSlip.volunteer_id == volunteer_id)
    search = (search or "").strip()[:SEARCH_MAX]
    if search:
        named = select(Volunteer.id).where(
            Volunteer.unit_id == user.unit_id,
            or_(Volunteer.name_zh.contains(search, autoescape=True),
                Volunteer.name_en.icontains(search, autoescape=True),
                Volunteer.volunteer_no.istartswith(search, autoescape=True)))
        query = query.where(or_(HourSlip.serial.contains(search, autoescape=True),
                                HourSlip.volunteer_id.in_(named)))
    return query


def staff_slips(session: Session, user: User, *, volunteer_id: int | None = None,
                limit: int = 100) -> list[HourSlip]:
    """The newest slips a staff member may handle (a supervisor: all sessions at their sites)."""
    query = _staff_slips_query(session, user, volunteer_id).options(
        joinedload(HourSlip.volunteer), joinedload(HourSlip.issued_by))
    return list(session.scalars(query.order_by(HourSlip.issued_at.desc(), HourSlip.id.desc())
                                .limit(limit)))


def staff_slip_page(session: Session, user: User, *, volunteer_id: int | None = None,
                    search: str = "", page: int = 1, per_page: int = PAGE_SIZE) -> Page:
    """One page (newest first) of the slips a staff member may handle, narrowed to one
    volunteer and/or a search (see _staff_slips_query); a page out of range is the nearest."""
    query = _staff_slips_query(session, user, volunteer_id, search)
    total = session.scalar(query.with_only_columns(func.count(HourSlip.id)).order_by(None)) or 0
    found = Page([], total, nearest_page(page, total, per_page), per_page)
    if total:
        found.rows = list(session.scalars(
            query.options(joinedload(HourSlip.volunteer), joinedload(HourSlip.issued_by))
            .order_by(HourSlip.issued_at.desc(), HourSlip.id.desc())
            .limit(per_page).offset(found.offset)))
    return found


def sites_of_slips(session: Session, slip_ids: list[int]) -> dict[int, list[Site]]:
    """slip id -> the sites of its sessions (by name), in one query: two slips of one month
    from two sites' supervisors are told apart by them."""
    found: dict[int, list[Site]] = {i: [] for i in slip_ids}
    if not slip_ids:
        return found
    rows = session.execute(
        select(HourSlipEntry.slip_id, Site).join(ServiceSession, HourSlipEntry.session_id == ServiceSession.id)
        .join(Site, Site.id == ServiceSession.site_id)
        .where(HourSlipEntry.slip_id.in_(slip_ids)).distinct().order_by(Site.name_zh))
    for slip_id, site in rows:
        found[slip_id].append(site)
    return found


def slip_list_volunteer(session: Session, user: User, volunteer_id: int) -> Volunteer | None:
    """The volunteer the list of issued slips is narrowed to: one of the user's unit."""
    volunteer = session.get(Volunteer, volunteer_id)
    return volunteer if volunteer is not None and volunteer.unit_id == user.unit_id else None


def volunteer_slips(session: Session, volunteer_id: int) -> list[HourSlip]:
    return list(session.scalars(
        select(HourSlip).where(HourSlip.volunteer_id == volunteer_id)
        .options(joinedload(HourSlip.issued_by))
        .order_by(HourSlip.issued_at.desc(), HourSlip.id.desc())))


def slip_volunteers(session: Session, user: User) -> list[Volunteer]:
    """Volunteers a staff member may issue slips for: of the unit (admins), or who served at
    one of the supervisor's sites."""
    require_staff(user)
    query = select(Volunteer).where(Volunteer.unit_id == user.unit_id)
    allowed = supervised_site_ids(session, user)
    if allowed is not None:
        served = select(ServiceSession.volunteer_id).where(
            ServiceSession.site_id.in_(allowed or {-1}))
        query = query.where(Volunteer.id.in_(served))
    return list(session.scalars(query.order_by(Volunteer.volunteer_no, Volunteer.id)))


def volunteer_sessions(session: Session, volunteer_id: int, *, limit: int = 30,
                       offset: int = 0) -> list[ServiceSession]:
    """A volunteer's sessions, newest first, a page at a time."""
    return list(session.scalars(
        select(ServiceSession)
        .options(joinedload(ServiceSession.site), joinedload(ServiceSession.service_item))
        .where(ServiceSession.volunteer_id == volunteer_id)
        .order_by(ServiceSession.checked_in_at.desc(), ServiceSession.id.desc())
        .limit(limit).offset(offset)))


def slip_serials(session: Session, session_ids: list[int]) -> dict[int, str]:
    """The serial of the slip each of these sessions is on now."""
    if not session_ids:
        return {}
    rows = session.execute(
        select(ServiceSession.id, HourSlip.serial)
        .join(HourSlip, HourSlip.id == ServiceSession.hour_slip_id)
        .where(ServiceSession.id.in_(session_ids)))
    return {sid: serial for sid, serial in rows}
