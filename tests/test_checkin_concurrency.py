"""20 people tapping at once: the database keeps exactly one open session per volunteer."""
import datetime as dt
import threading

from sqlalchemy import func, select

from models.base import begin_write
from models.checkin import CheckinEvent, Outcome, check_in
from models.service import ServiceSession, SessionSource


def test_twenty_threads_check_in_the_same_volunteer(app, make, unit):
    site, item, vol = make.site(unit), make.item(unit), make.volunteer(unit)
    make.cover(vol)
    Session = app.extensions["hourbook_db"]["sessionmaker"]
    now = dt.datetime.now(dt.timezone.utc)
    barrier = threading.Barrier(20)
    outcomes, errors = [], []

    def tap(i):
        session = Session()
        try:
            barrier.wait()
            begin_write(session)  # as every state-changing request does first
            v, s, it = session.get(type(vol), vol.id), session.get(type(site), site.id), session.get(type(item), item.id)
            result = check_in(session, volunteer=v, site=s, item=it, now=now,
                              source=SessionSource.kiosk_card, key=f"tap-{i}")
            session.commit()
            outcomes.append(result.outcome)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(repr(exc))
        finally:
            session.close()

    threads = [threading.Thread(target=tap, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert outcomes.count(Outcome.ok) == 1
    assert outcomes.count(Outcome.repeated) == 19
    check = Session()
    assert check.scalar(select(func.count(ServiceSession.id))) == 1
    assert check.scalar(select(func.count(CheckinEvent.id)).where(CheckinEvent.outcome == Outcome.ok)) == 1
    check.close()
