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


def test_the_same_form_sent_at_once_creates_one_record(app, make, unit):
    """A double tap can send one form twice at the same moment: the check-then-insert rules
    (one site of a name, one kiosk of a name, one application per person) hold under it, on
    PostgreSQL too, where only the row lock of models.base.one_writer_per makes the second
    request wait and find the first one's row."""
    from models import kiosk as kiosks
    from models import sites
    from models.base import utcnow
    from models.recruitment import Application, submit_application
    from models.service import Site

    admin, site = make.user(unit), make.site(unit)
    Session = app.extensions["hourbook_db"]["sessionmaker"]
    application = {"name_zh": "王小明", "gender": "male", "birth_date": dt.date(1990, 4, 1),
                   "phone": "0912-345-678", "email": "", "id_kind": "national_id",
                   "id_number": "A123456789", "address": "臺北市", "availability": "週二",
                   "experience": "", "emergency_contact": "王媽媽", "emergency_phone": "02-2700-1234",
                   "guardian_name": "", "guardian_consent": False, "privacy_consent": True}
    actions = {
        "site": lambda s: sites.create_site(s, s.get(type(admin), admin.id), name_zh="重送據點"),
        "kiosk": lambda s: kiosks.create_device(s, site=s.get(Site, site.id), name="服務台平板",
                                                actor=s.get(type(admin), admin.id), now=utcnow()),
        "application": lambda s: submit_application(s, unit.id, None, dict(application), utcnow()),
    }
    for name, action in actions.items():
        barrier = threading.Barrier(6)
        done, errors = [], []

        def send():
            session = Session()
            try:
                barrier.wait()
                action(session)
                session.commit()
                done.append(1)
            except (sites.InvalidSite, kiosks.KioskNameTaken):
                session.rollback()  # refused in words: the expected answer to the repeats
            except Exception as exc:  # noqa: BLE001 - reported below
                errors.append(repr(exc))
            finally:
                session.close()

        threads = [threading.Thread(target=send) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == [], name
        check = Session()
        counts = {"site": check.scalar(select(func.count()).select_from(Site)
                                       .where(Site.name_zh == "重送據點")),
                  "kiosk": check.scalar(select(func.count()).select_from(kiosks.KioskDevice)),
                  "application": check.scalar(select(func.count()).select_from(Application))}
        check.close()
        assert counts[name] == 1, (name, counts)
