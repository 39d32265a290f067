"""Getting started: a new unit's admin home page says what to do first, from the data."""
from __future__ import annotations

import datetime as dt

from models import getting_started
from models.base import taipei_date, utcnow
from models.kiosk import KioskDevice
from models.openings import Opening, OpeningStatus
from models.service import ServiceItem
from models.verification import SupervisorSite

TODAY = dt.date(2026, 12, 3)


def steps(db, unit, today=TODAY):
    db.expire_all()
    return {s.key: s for s in getting_started.checklist(db, unit.id, today).steps}


def test_an_empty_unit_has_every_step_to_do_and_they_tick_as_its_data_arrives(db, make):
    unit = make.unit(registration_no="")
    state = steps(db, unit)
    assert list(state) == list(getting_started.STEPS)
    assert not any(s.done for s in state.values())
    assert [k for k, s in state.items() if not s.essential] == ["kiosk"]
    checklist = getting_started.checklist(db, unit.id, TODAY)
    assert checklist.next_step.key == "profile" and not checklist.essentials_done

    unit.registration_no = "北市社團字第 1120034567 號"
    make.item(unit)
    site = make.site(unit)
    supervisor = make.user(unit, role="supervisor")
    db.add(SupervisorSite(user_id=supervisor.id, site_id=site.id))
    db.commit()
    state = steps(db, unit)
    assert all(state[k].done for k in ("profile", "service_items", "site", "supervisor"))
    assert getting_started.checklist(db, unit.id, TODAY).next_step.key == "plan"

    # a drafted plan is a start; submitted to the authority, it is done
    plan = make.plan(unit, 2026, status="draft")
    state = steps(db, unit)
    assert state["plan"].started and not state["plan"].done
    from models import plan as plans
    plans.submit(db, plan, make.user(unit, role="admin"), submitted_on=TODAY, today=TODAY)
    db.commit()
    assert steps(db, unit)["plan"].done

    # an opening drafted is a start, published it is done
    db.add(Opening(unit_id=unit.id, public_id="o-1", title="招募", status=OpeningStatus.draft))
    db.commit()
    state = steps(db, unit)
    assert state["volunteers"].started and not state["volunteers"].done
    db.query(Opening).update({Opening.status: OpeningStatus.published})
    db.commit()
    state = steps(db, unit)
    assert state["volunteers"].done and not state["training"].done and not state["insurance"].done

    untrained = make.volunteer(unit, trained=False)
    make.cover(untrained, starts_on=TODAY - dt.timedelta(days=5), ends_on=TODAY + dt.timedelta(days=5))
    state = steps(db, unit)
    assert state["insurance"].done and not state["training"].done
    make.volunteer(unit)  # basic and special training, long ago
    checklist = getting_started.checklist(db, unit.id, TODAY)
    assert checklist.essentials_done and checklist.next_step is None
    assert not steps(db, unit)["kiosk"].done  # optional: the card goes without it


def test_what_does_not_count(db, make):
    """A retired item or site, an unassigned or deactivated supervisor, last year's plan, a
    returned plan, an exited volunteer, a lapsed cover and a revoked kiosk do not tick a step."""
    from models.people import VolunteerStatus

    unit = make.unit(registration_no="立案 1")
    site = make.site(unit, active=False)
    make.user(unit, role="supervisor")
    gone = make.user(unit, role="supervisor", active=False)
    db.add(SupervisorSite(user_id=gone.id, site_id=site.id))
    make.plan(unit, 2025)  # approved, but for last year
    make.plan(unit, 2026, status="returned")
    db.query(ServiceItem).update({ServiceItem.active: False})  # the plans' items, retired
    left = make.volunteer(unit, status=VolunteerStatus.inactive)
    make.cover(left, starts_on=TODAY - dt.timedelta(days=5), ends_on=TODAY + dt.timedelta(days=5))
    stayed = make.volunteer(unit, trained=False)
    make.cover(stayed, starts_on=TODAY - dt.timedelta(days=60), ends_on=TODAY - dt.timedelta(days=1))
    db.add(KioskDevice(unit_id=unit.id, site_id=site.id, name="平板", created_at=dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc),
                       enrolled_at=dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc),
                       revoked_at=dt.datetime(2026, 2, 1, tzinfo=dt.timezone.utc)))
    db.commit()
    state = steps(db, unit)
    assert state["profile"].done and state["volunteers"].done
    assert {k for k, s in state.items() if not s.done} == {
        "service_items", "site", "supervisor", "plan", "training", "insurance", "kiosk"}
    assert state["plan"].started  # the returned plan started the step but did not finish it


def test_next_years_plan_filed_late_in_the_year_counts(db, make):
    unit = make.unit()
    make.plan(unit, 2027, status="submitted", submitted_on=dt.date(2026, 11, 20))
    assert steps(db, unit)["plan"].done


# --- the admin's home page ------------------------------------------------------------------

def test_admin_home_shows_the_steps_with_their_pages_until_the_essentials_are_done(admin, db, make, unit):
    page = admin.get("/").get_data(as_text=True)
    assert 'id="getting-started"' in page and "開始使用" in page
    assert "已完成 0／9 項" in page
    for href in ("/admin/unit", "/admin/items/", "/admin/sites/", "/admin/team/", "/admin/plans",
                 "/admin/recruitment/", "/admin/import/", "/admin/training/", "/admin/insurance/",
                 "/admin/kiosks"):
        assert f'href="{href}"' in page, href
    assert 'data-step="profile" class="next"' in page

    unit.registration_no = "北市社團字第 1 號"
    site = make.site(unit)
    make.item(unit)
    db.add(SupervisorSite(user_id=make.user(unit, role="supervisor").id, site_id=site.id))
    make.plan(unit, taipei_date(utcnow()).year)  # this year's plan, whatever year the suite runs
    make.volunteer(unit, insured=True)
    db.commit()
    page = admin.get("/").get_data(as_text=True)
    assert 'id="getting-started"' not in page  # the essentials are done: the card is gone


def test_getting_started_in_english(admin):
    admin.post("/language", {"lang": "en", "next": "/"})
    page = admin.get("/").get_data(as_text=True)
    assert "Getting started" in page and "0 of 9 done" in page
    assert "Complete the unit" in page and "Add the service items" in page


def test_supervisors_do_not_see_it(supervisor):
    assert 'id="getting-started"' not in supervisor.get("/").get_data(as_text=True)


def test_a_unit_without_volunteers_is_told_where_they_come_from(admin, supervisor, db, make, unit):
    """A new unit's insurance page said "Every active volunteer is covered on this day", and the
    training and volunteer pages said only that there were none."""
    for url in ("/admin/insurance/", "/admin/training/", "/admin/volunteers"):
        page = admin.get(url).get_data(as_text=True)
        assert 'id="no-volunteers-yet"' in page, url
        assert 'href="/admin/volunteers/new"' in page and 'href="/admin/import/' in page, url
        assert "這一天所有在職志工都有保險" not in page, url
    # a supervisor is told too, without the admin's links
    page = supervisor.get("/admin/insurance/").get_data(as_text=True)
    assert 'id="no-volunteers-yet"' in page and 'href="/admin/volunteers/new"' not in page
    make.volunteer(unit, insured=True)
    db.commit()
    page = admin.get("/admin/insurance/").get_data(as_text=True)
    assert 'id="no-volunteers-yet"' not in page and "這一天所有在職志工都有保險" in page
