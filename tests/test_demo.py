"""The demo unit (`hourbook demo`, models.demo) shows what the README promises on any day: a
supervisor with a forgotten check-out and flagged sessions to look at, and someone turned away
today, whatever the random draws gave; and its sessions are ones the app could have recorded."""
import datetime as dt
from collections import defaultdict

import pytest
from sqlalchemy import select

from models.base import TAIPEI, taipei_date
from models.checkin import next_taipei_midnight
from models.refusal_log import refused_attempts
from models.demo import SUPERVISOR_EMAILS, seed_demo
from models.people import User
from models.service import Flag, ServiceSession, SessionStatus
from models.to_do import to_do
from models.verification import supervised_site_ids

# a Monday morning (the day before was a Sunday, without service), a Thursday five minutes
# after midnight in Taipei, and a new year's day
MOMENTS = [dt.datetime(2026, 12, 7, 9, 30, tzinfo=TAIPEI), dt.datetime(2027, 3, 4, 0, 5, tzinfo=TAIPEI),
           dt.datetime(2027, 1, 1, 10, 0, tzinfo=TAIPEI)]


@pytest.mark.parametrize("now", MOMENTS, ids=lambda m: m.strftime("%Y-%m-%d-%H%M"))
def test_the_first_supervisor_always_has_something_to_look_at(db, now):
    now = now.astimezone(dt.timezone.utc)
    seed_demo(db, now=now)
    db.commit()
    today = taipei_date(now)
    sup = db.scalar(select(User).where(User.email == SUPERVISOR_EMAILS[0]))
    sites = supervised_site_ids(db, sup)
    waiting = db.scalars(select(ServiceSession).where(
        ServiceSession.site_id.in_(sites),
        ServiceSession.status.in_([SessionStatus.closed, SessionStatus.needs_review]))).all()

    def having(flag):
        return [s for s in waiting if flag.value in s.flags.split(",")]

    forgotten = having(Flag.auto_closed)
    assert forgotten and all(s.status == SessionStatus.needs_review and s.credited_minutes == 0
                             for s in forgotten)
    assert [s.status for s in having(Flag.short)] == [SessionStatus.closed]
    assert [s.status for s in having(Flag.position_unavailable)] == [SessionStatus.closed]
    assert all(taipei_date(s.checked_in_at).weekday() != 6 for s in waiting)  # no service on Sundays

    [turned_away] = refused_attempts(db, sup.unit_id, today, sites)
    assert turned_away.refusal_code == "no_insurance" and not turned_away.served_later

    todo = to_do(db, sup, today)  # what their home page shows
    assert todo.waiting.flagged >= 3 and todo.waiting.forgotten >= 1 and todo.turned_away == 1
    _recorded_as_the_app_would(db, now)


def _recorded_as_the_app_would(db, now):
    """Forgotten check-outs end where the stale-session job ends them (the site's limit or
    midnight in Taipei); nobody's sessions overlap; four weeks of service, most verified, a
    few flagged."""
    sessions = db.scalars(select(ServiceSession).order_by(ServiceSession.checked_in_at)).all()
    by_volunteer = defaultdict(list)
    for s in sessions:
        by_volunteer[s.volunteer_id].append(s)
        if Flag.auto_closed.value in s.flags:
            assert s.checked_out_at == min(s.checked_in_at + dt.timedelta(minutes=s.site.max_session_minutes),
                                           next_taipei_midnight(s.checked_in_at))
    for rows in by_volunteer.values():
        for earlier, later in zip(rows, rows[1:]):
            assert earlier.checked_out_at is not None and earlier.checked_out_at <= later.checked_in_at
    recent = [s for s in sessions if s.checked_in_at >= now - dt.timedelta(days=28)]
    waiting = [s for s in recent if s.status in (SessionStatus.closed, SessionStatus.needs_review)]
    assert 20 <= len(waiting) <= 45 and len([s for s in waiting if s.flags]) <= 6
    assert len([s for s in recent if s.status == SessionStatus.verified]) > 2 * len(waiting)
