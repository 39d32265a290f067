"""The period an hour slip covers.

A slip's period is true: it never ends after the day the slip is issued (a month not yet over is
covered up to that day — see `period_so_far`), and a volunteer's new slip begins after their
valid slips over the same days whenever its sessions allow (`slip_periods`); when they do not
(a session verified late, or slipped by another site's supervisor), the overlap is named on both
slips (`overlapping_slips`), never silent. Issuing itself is models/slips.py.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from .messages import N_
from .slips import HourSlip, SlipError

MAX_PERIOD_DAYS = 366


def month_period(year: int, month: int) -> tuple[dt.date, dt.date]:
    """First and last day of a calendar month."""
    first = dt.date(year, month, 1)
    following = dt.date(year + (month == 12), month % 12 + 1, 1)
    return first, following - dt.timedelta(days=1)


def check_period(date_from: dt.date | None, date_to: dt.date | None,
                 today: dt.date | None = None) -> None:
    """A period a slip may cover; issued on `today` (Taipei), it may not end after it: a slip
    names only days already served, so two slips never print the same future days."""
    if date_from is None or date_to is None:
        raise SlipError(N_("Choose the period: a month, or a first and a last day."))
    if date_to < date_from:
        raise SlipError(N_("The last day cannot be before the first day."))
    if (date_to - date_from).days >= MAX_PERIOD_DAYS:
        raise SlipError(N_("Choose a period of at most %(days)d days."), days=MAX_PERIOD_DAYS)
    if today is not None and date_to > today:
        raise SlipError(N_("The last day cannot be after today (%(today)s): a slip covers only "
                           "service already done."), today=today.isoformat())


def period_so_far(date_from: dt.date, date_to: dt.date, today: dt.date) -> tuple[dt.date, dt.date]:
    """The part of a period (a calendar month) a slip issued today may cover: up to today.
    A period that has not begun is refused."""
    if date_from > today:
        raise SlipError(N_("This month has not begun: choose a month up to this one."))
    return date_from, min(date_to, today)


@dataclass
class SlipPeriod:
    """The period one volunteer's new slip carries, and the valid slips of theirs it overlaps
    (none, unless one of its sessions lies within an earlier slip's period)."""

    start: dt.date
    end: dt.date
    overlaps: list[HourSlip] = field(default_factory=list)


def _valid_slips_over(session: Session, unit_id: int, date_from: dt.date, date_to: dt.date,
                      volunteer_id: int | None = None) -> dict[int, list[HourSlip]]:
    """volunteer id -> their valid (not void) slips whose period overlaps date_from..date_to."""
    query = select(HourSlip).where(HourSlip.unit_id == unit_id, HourSlip.voided_at.is_(None),
                                   HourSlip.period_start <= date_to, HourSlip.period_end >= date_from)
    if volunteer_id is not None:
        query = query.where(HourSlip.volunteer_id == volunteer_id)
    found: dict[int, list[HourSlip]] = {}
    for slip in session.scalars(query.order_by(HourSlip.period_start, HourSlip.id)):
        found.setdefault(slip.volunteer_id, []).append(slip)
    return found


def slip_periods(session: Session, unit_id: int, date_from: dt.date, date_to: dt.date,
                 first_days: dict[int, dt.date], volunteer_id: int | None = None) -> dict[int, SlipPeriod]:
    """Each volunteer's new slip period within date_from..date_to, given the first (Taipei) day
    of the sessions it will hold (`first_days`, by volunteer id). It begins the day after the
    volunteer's valid slips over these days end, when none of its sessions lies before that (a
    month slipped on the 5th and again after its end: the 1st–5th, then the 6th–31st); otherwise
    it keeps the whole period and names the slips it overlaps."""
    earlier = _valid_slips_over(session, unit_id, date_from, date_to, volunteer_id)
    periods = {}
    for vid, first_day in first_days.items():
        theirs = earlier.get(vid, [])
        if not theirs:
            periods[vid] = SlipPeriod(date_from, date_to)
            continue
        after = max(s.period_end for s in theirs) + dt.timedelta(days=1)
        if after <= first_day:
            periods[vid] = SlipPeriod(after, date_to)
        else:
            periods[vid] = SlipPeriod(date_from, date_to, theirs)
    return periods


def overlapping_slips(session: Session, found: list[HourSlip]) -> dict[int, list[HourSlip]]:
    """slip id -> the volunteer's other valid slips whose period overlaps its own, for the valid
    slips among `found` (a void one: none). Shown on the slip's page and printed on it: two
    slips over the same days never pass silently."""
    result: dict[int, list[HourSlip]] = {s.id: [] for s in found}
    valid = [s for s in found if s.voided_at is None]
    if not valid:
        return result
    others: dict[int, list[HourSlip]] = {}
    for other in session.scalars(
            select(HourSlip).where(HourSlip.volunteer_id.in_({s.volunteer_id for s in valid}),
                                   HourSlip.voided_at.is_(None),
                                   HourSlip.period_start <= max(s.period_end for s in valid),
                                   HourSlip.period_end >= min(s.period_start for s in valid))
            .order_by(HourSlip.period_start, HourSlip.id)):
        others.setdefault(other.volunteer_id, []).append(other)
    for slip in valid:
        result[slip.id] = [o for o in others.get(slip.volunteer_id, []) if o.id != slip.id
                           and o.period_start <= slip.period_end and o.period_end >= slip.period_start]
    return result
