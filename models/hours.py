"""Verified service time: the only minutes that count anywhere."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload

from .base import TAIPEI, taipei_day_bounds
from .people import of_volunteers
from .service import ServiceSession, SessionStatus


def hours_value(minutes: int) -> float:
    """Whole minutes as hours, a number with two decimals, as files write them (XLSX cells)."""
    return round(minutes / 60, 2)


def hours_text(minutes: int) -> str:
    """23.5, 150, 0.02: whole minutes as decimal hours without trailing zeros, as certificates,
    filing lists and record books give them (pages show durations: webapp.i18n.duration)."""
    text = f"{minutes / 60:.2f}".rstrip("0").rstrip(".")
    return text or "0"


def verified_minutes(
    session: Session,
    volunteer_id: int,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
) -> int:
    """Sum of credited minutes of verified sessions that started in [since, until)."""
    query = select(func.coalesce(func.sum(ServiceSession.credited_minutes), 0)).where(
        ServiceSession.volunteer_id == volunteer_id,
        ServiceSession.status == SessionStatus.verified,
    )
    if since is not None:
        query = query.where(ServiceSession.checked_in_at >= since)
    if until is not None:
        query = query.where(ServiceSession.checked_in_at < until)
    return int(session.scalar(query) or 0)


def verified_minutes_of(session: Session, volunteers, since: dt.datetime | None = None,
                        until: dt.datetime | None = None) -> dict[int, int]:
    """verified_minutes() for many volunteers in one query: volunteer id -> minutes (0 for
    those without any)."""
    volunteers = list(volunteers)
    out = {v.id: 0 for v in volunteers}
    if not out:
        return out
    query = select(ServiceSession.volunteer_id, func.sum(ServiceSession.credited_minutes)).where(
        ServiceSession.status == SessionStatus.verified)
    if since is not None:
        query = query.where(ServiceSession.checked_in_at >= since)
    if until is not None:
        query = query.where(ServiceSession.checked_in_at < until)
    query = of_volunteers(query, ServiceSession.volunteer_id, out,
                          {v.unit_id for v in volunteers}).group_by(ServiceSession.volunteer_id)
    for volunteer_id, minutes in session.execute(query):
        if volunteer_id in out:
            out[volunteer_id] = int(minutes or 0)
    return out


def verified_totals(session: Session, volunteer_id: int, now: dt.datetime) -> dict[str, int]:
    """This month, this year (Taipei calendar) and all time."""
    local = now.astimezone(TAIPEI)
    month_start = dt.datetime(local.year, local.month, 1, tzinfo=TAIPEI)
    year_start = dt.datetime(local.year, 1, 1, tzinfo=TAIPEI)
    return {
        "month": verified_minutes(session, volunteer_id, since=month_start),
        "year": verified_minutes(session, volunteer_id, since=year_start),
        "all": verified_minutes(session, volunteer_id),
    }


def sessions_on_day(session: Session, unit_id: int, day: dt.date,
                    site_ids: set[int] | None = None) -> list[ServiceSession]:
    """Every session that started on a Taipei calendar day, earliest first; only at `site_ids`
    when given (a supervisor's sites)."""
    start, end = taipei_day_bounds(day)
    at_sites = [] if site_ids is None else [ServiceSession.site_id.in_(site_ids)]
    return list(
        session.scalars(
            select(ServiceSession)
            .options(
                joinedload(ServiceSession.volunteer),
                joinedload(ServiceSession.site),
                joinedload(ServiceSession.service_item),
            )
            .where(
                ServiceSession.unit_id == unit_id,
                ServiceSession.checked_in_at >= start,
                ServiceSession.checked_in_at < end,
                *at_sites,
            )
            .order_by(ServiceSession.checked_in_at)
        )
    )


def recent_sessions(session: Session, volunteer_id: int, limit: int = 10) -> list[ServiceSession]:
    return list(
        session.scalars(
            select(ServiceSession)
            .options(joinedload(ServiceSession.site), joinedload(ServiceSession.service_item))
            .where(ServiceSession.volunteer_id == volunteer_id)
            .order_by(ServiceSession.checked_in_at.desc())
            .limit(limit)
        )
    )
