"""Golden Diamond family and team applications (models.group_awards, issue #6): one per family or
team and year, decisions complete the pending one and are never dated before it, a family with
applications on record is kept; the admin records them on the families and teams pages, nobody
else can, and bad input changes nothing."""
import datetime as dt
import json

import pytest
from sqlalchemy import func, select

from models import golden_family as gf
from models import group_awards as ga
from models.audit import AuditEntry
from models.awards import GrantStatus
from tests.test_golden_team import AS_OF, team
from tests.test_recognition import audits, page, place, serve, words  # noqa: F401 (place: fixture)

FILED = dt.date(2026, 7, 10)
DECIDED = dt.date(2026, 10, 20)


@pytest.fixture
def family(db, make, unit, place):
    """A family that qualifies (each member 700 h since 2025-06-01, years from training)."""
    a, b = make.volunteer(unit, name_zh="林母"), make.volunteer(unit, name_zh="林子")
    fam = gf.create_family(db, unit.id, "林家", [a.volunteer_no, b.volunteer_no], None)
    db.commit()
    for member in (a, b):
        serve(db, unit, place, member, 700)
    return fam


def statuses(db, **where):
    db.rollback()
    return [(a.year, a.status.value, a.applied_on, a.decided_on)
            for a in db.scalars(select(ga.GroupAwardApplication).filter_by(**where)
                                .order_by(ga.GroupAwardApplication.year))]


def test_one_application_a_year_and_its_decision(db, make, unit, family):
    record = lambda status, on: ga.record_application(  # noqa: E731
        db, unit.id, ga.FAMILY, family.id, status, on, None, dt.datetime(2028, 1, 1, tzinfo=dt.timezone.utc))
    record("applied", FILED)
    with pytest.raises(ga.ApplicationError) as refused:
        record("applied", FILED + dt.timedelta(days=1))
    assert refused.value.params == {"year": 2026}
    with pytest.raises(ga.ApplicationError):  # before the application
        record("granted", FILED - dt.timedelta(days=1))
    record("granted", DECIDED)
    db.commit()
    assert statuses(db, family_id=family.id) == [(2026, "granted", FILED, DECIDED)]
    with pytest.raises(ga.ApplicationError) as refused:  # the year is decided
        record("not_granted", DECIDED + dt.timedelta(days=1))
    assert refused.value.message.startswith("The %(year)d application")
    db.rollback()
    # next year: a new application; a decision with no application on record is that year's
    record("not_granted", dt.date(2027, 9, 1))
    db.commit()
    assert statuses(db, family_id=family.id)[-1] == (2027, "not_granted", None,
                                                      dt.date(2027, 9, 1))
    assert [e.action for e in audits(db, "group_award_granted")] == ["group_award_granted"]
    [granted] = audits(db, "group_award_granted")
    assert json.loads(granted.before)["status"] == "applied"
    assert json.loads(granted.after)["status"] == "granted"


def test_no_application_or_decision_after_today(db, unit, family):
    now = dt.datetime(2026, 7, 10, 16, 30, tzinfo=dt.timezone.utc)  # 2026-07-11 00:30 in Taipei
    for status in ("applied", "granted"):
        with pytest.raises(ga.ApplicationError) as refused:
            ga.record_application(db, unit.id, ga.FAMILY, family.id, status,
                                  dt.date(2026, 7, 12), None, now)
        assert refused.value.params == {"today": "2026-07-11"}
        db.rollback()
    assert statuses(db, family_id=family.id) == []
    ga.record_application(db, unit.id, ga.FAMILY, family.id, "applied", dt.date(2026, 7, 11),
                          None, now)
    db.commit()
    assert statuses(db, family_id=family.id) == [(2026, "applied", dt.date(2026, 7, 11), None)]


def test_the_database_holds_one_application_per_family_and_year(db, unit, family):
    from sqlalchemy.exc import IntegrityError

    db.add(ga.GroupAwardApplication(unit_id=unit.id, family_id=family.id, year=2026,
                                    status=GrantStatus.applied, applied_on=FILED))
    db.commit()
    db.add(ga.GroupAwardApplication(unit_id=unit.id, family_id=family.id, year=2026,
                                    status=GrantStatus.applied, applied_on=FILED))
    with pytest.raises(IntegrityError):
        db.commit()
    db.rollback()
    db.add(ga.GroupAwardApplication(unit_id=unit.id, year=2026, status=GrantStatus.applied))
    with pytest.raises(IntegrityError):  # neither a family nor a team
        db.commit()
    db.rollback()


def test_a_family_with_applications_is_kept(admin, db, unit, family):
    ga.record_application(db, unit.id, ga.FAMILY, family.id, "applied", FILED, None)
    db.commit()
    html = page(admin.get("/admin/awards/families"))
    assert f'action="/admin/awards/families/{family.id}/delete"' not in html
    r = admin.post(f"/admin/awards/families/{family.id}/delete", {})
    assert r.status_code == 409 and "這個家庭已有獎項申請紀錄" in page(r)
    db.rollback()
    assert db.get(gf.AwardFamily, family.id) is not None
    assert audits(db, "award_family_deleted") == []


def test_the_admin_records_a_family_application_and_decision(admin, db, make, unit, place,
                                                             family):
    html = page(admin.get("/admin/awards/families?as_of=2026-03-05"))
    section = html.split('id="family-')[1].split("</article>")[0]
    assert 'data-qualifies="yes"' in html and "尚無申請紀錄" in section
    assert 'value="applied"' in section  # it qualifies: the application can be recorded
    before = page(admin.get("/admin/awards/deadlines"))  # the calendar, now cached for the unit
    assert "金鑽獎 家庭</strong>：1 個家庭符合" in before and "審核中" not in before
    url = f"/admin/awards/families/{family.id}/applications"
    r = admin.post(url, {"status": "applied", "on": "2026-03-01", "as_of": "2026-03-05"})
    assert r.status_code == 303
    assert r.headers["Location"].endswith(f"/admin/awards/families?as_of=2026-03-05#family-{family.id}")
    section = page(admin.get("/admin/awards/families?as_of=2026-03-05")).split(
        'id="family-')[1].split("</article>")[0]
    assert 'data-year="2026" data-status="applied"' in section and "申請 2026-03-01" in words(section)
    assert 'value="applied"' not in section and 'value="granted"' in section
    calendar = page(admin.get("/admin/awards/deadlines"))  # not a cached count from before
    assert "審核中 1 件" in calendar
    r = admin.post(url, {"status": "granted", "on": "2026-02-01", "as_of": "2026-03-05"})
    assert r.status_code == 400 and "決定日期不能早於申請日期（2026-03-01）" in page(r)
    r = admin.post(url, {"status": "granted", "on": "2026-03-04", "as_of": "2026-03-05"})
    assert r.status_code == 303
    assert statuses(db, family_id=family.id) == [
        (2026, "granted", dt.date(2026, 3, 1), dt.date(2026, 3, 4))]
    [entry] = audits(db, "group_award_applied")
    assert entry.actor_user_id == admin.user.id and json.loads(entry.after)["award_key"] == "golden_diamond_family"


def test_the_admin_records_a_team_application(admin, db, make, unit):
    site, _item, _vols = team(db, make, unit, n=15, name="松山據點")
    url = f"/admin/awards/teams/{site.id}/applications"
    r = admin.post(url, {"status": "applied", "on": "2026-07-01", "as_of": AS_OF.isoformat()})
    assert r.status_code == 303
    html = page(admin.get(f"/admin/awards/teams?as_of={AS_OF.isoformat()}"))
    section = html.split(f'id="team-{site.id}"')[1].split("</article>")[0]
    assert 'data-status="applied"' in section
    r = admin.post(url, {"status": "applied", "on": "2026-07-02", "as_of": AS_OF.isoformat()})
    assert r.status_code == 400 and "2026 年的申請已有紀錄" in page(r)
    assert statuses(db, site_id=site.id) == [(2026, "applied", dt.date(2026, 7, 1), None)]
    assert json.loads(audits(db, "group_award_applied")[-1].after)["award_key"] == "golden_diamond_team"


def test_bad_input_and_other_people_change_nothing(admin, supervisor, volunteer, anon, db, make,
                                                   unit, family):
    site = make.site(unit)
    urls = [f"/admin/awards/families/{family.id}/applications",
            f"/admin/awards/teams/{site.id}/applications"]
    for url in urls:
        for data, message in [({"status": "applied", "on": ""}, "請填寫日期"),
                              ({"status": "applied", "on": "2026-02-30"}, None),
                              ({"status": "approved", "on": "2026-03-01"}, None),
                              ({"on": "2026-03-01"}, None)]:
            r = admin.post(url, data)
            assert r.status_code == 400, (url, data)
            if message:
                assert message in page(r)
        for who in (supervisor, volunteer):
            assert who.post(url, {"status": "applied", "on": "2026-03-01"}).status_code == 403
        assert anon.post(url, {"status": "applied", "on": "2026-03-01"}).status_code in (302, 400)
        no_csrf = admin.client.post(url, data={"status": "applied", "on": "2026-03-01"})
        assert no_csrf.status_code == 400
    # another unit's family or site, or none at all
    outsider_site = make.site(make.unit())
    for url in (f"/admin/awards/teams/{outsider_site.id}/applications",
                "/admin/awards/families/999999/applications"):
        assert admin.post(url, {"status": "applied", "on": "2026-03-01"}).status_code == 404
    db.rollback()
    assert db.scalar(select(func.count()).select_from(ga.GroupAwardApplication)) == 0
    assert db.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.action.like("group_award_%"))) == 0


def test_the_calendar_counts_pending_family_and_team_applications(db, make, unit, place, family):
    from models import recognition as rec

    due = {d.key: (d.qualifying, d.pending) for d in rec.deadlines(db, unit.id, FILED)}
    assert due["golden_diamond_family"] == (1, 0)
    site, _item, _vols = team(db, make, unit, n=15)
    ga.record_application(db, unit.id, ga.FAMILY, family.id, "applied", FILED, None)
    ga.record_application(db, unit.id, ga.TEAM, site.id, "applied", AS_OF, None)  # it qualifies
    db.commit()
    due = {d.key: d.pending for d in rec.deadlines(db, unit.id, dt.date(2026, 7, 12))}
    assert due["golden_diamond_family"] == 1 and due["golden_diamond_team"] == 1
    # it applied this year: counted as pending, no longer as qualifying
    assert {d.key: d.qualifying for d in rec.deadlines(db, unit.id, FILED)}["golden_diamond_family"] == 0
    ga.record_application(db, unit.id, ga.TEAM, site.id, "granted", DECIDED, None)
    db.commit()
    due = {d.key: d.pending for d in rec.deadlines(db, unit.id, dt.date(2026, 7, 12))}
    assert due["golden_diamond_team"] == 0


def test_a_family_or_team_that_does_not_qualify_cannot_apply(admin, db, make, unit, place):
    """The volunteer awards' hole (anything the form sent was recorded) on the family and team
    pages: an application, or a decision with none on record, for a family or team that does
    not meet the conditions that day is refused and changes nothing."""
    a, b = make.volunteer(unit, name_zh="陳父"), make.volunteer(unit, name_zh="陳女")
    poor = gf.create_family(db, unit.id, "陳家", [a.volunteer_no, b.volunteer_no], None)
    db.commit()
    serve(db, unit, place, a, 700)  # only one member meets the conditions
    url = f"/admin/awards/families/{poor.id}/applications"
    for status in ("applied", "granted"):
        r = admin.post(url, {"status": status, "on": "2026-03-01", "as_of": "2026-03-05"})
        assert r.status_code == 400
        assert "陳家無法於 2026-03-01 申請：符合條件的成員少於 2 位" in words(page(r))
    empty_site = make.site(unit, name_zh="空據點")
    r = admin.post(f"/admin/awards/teams/{empty_site.id}/applications",
                   {"status": "applied", "on": "2026-03-01", "as_of": "2026-03-05"})
    assert r.status_code == 400 and "空據點團隊無法於 2026-03-01 申請" in words(page(r))
    assert statuses(db, family_id=poor.id) == [] and statuses(db, site_id=empty_site.id) == []
    assert audits(db, "group_award_applied") == [] and audits(db, "group_award_granted") == []


def test_the_family_list_says_what_each_member_lacks_and_sets_families_apart(admin, db, make,
                                                                              unit, place):
    """Review 5092: a member short of the family rule showed only "尚未達標", and one family's
    block ran into the next. Each member short of it says by how much (hours, months in
    Taipei), against the family rule's numbers; families are set apart by a rule."""
    from tests.test_recognition import _years

    mother, son, daughter = (make.volunteer(unit, name_zh=n) for n in ("陳母", "陳子", "陳女"))
    serve(db, unit, place, mother, 700)
    serve(db, unit, place, son, 500)  # 100 h short
    serve(db, unit, place, daughter, 550)  # 50 h short, and of 3 years
    _years(db, daughter, dt.date(2024, 1, 1))
    gf.create_family(db, unit.id, "陳家", [m.volunteer_no for m in (mother, son, daughter)], None)
    a, b = make.volunteer(unit, name_zh="林母"), make.volunteer(unit, name_zh="林子")
    gf.create_family(db, unit.id, "林家", [a.volunteer_no, b.volunteer_no], None)
    db.commit()
    html = page(admin.get("/admin/awards/families?as_of=2026-03-05"))
    chen = words(html.split("陳家")[1].split("</article>")[0])
    assert "還差 100 小時 00 分" in chen  # the son
    assert "還差 50 小時 00 分，臺北市年資還差 10 個月" in chen  # the daughter: 26 of 36 months
    assert "還差" not in chen.split("陳子")[0]  # the mother meets both
    english = words(page(admin.get("/admin/awards/families?as_of=2026-03-05",
                                   headers={"Accept-Language": "en"})))
    assert "50 h 00 min more service and 10 more months of service in Taipei needed" in english
    assert html.count('<article class="family"') == 2
    css = admin.get("/static/css/recognition.css").get_data(as_text=True)
    assert ".family + .family { border-top:" in css  # one family set apart from the next
    db.rollback()
    [chen_facts] = [f for f in gf.family_list(db, unit.id, dt.date(2026, 3, 5))
                    if f.family.name == "陳家"]
    assert [(m.shortfall.missing_minutes, m.shortfall.missing_months) if m.shortfall else None
            for m in chen_facts.members] == [None, (6000, 0), (3000, 10)]
