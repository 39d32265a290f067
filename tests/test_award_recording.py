"""What the admin records on the award lists (review of 2026-12-06): the server records only
what the rules allow (a hand-made level or volunteer was saved as granted and reached the
half-year report), the row shows the level applied for until it is decided, the lists judge
the round open today as the volunteer's milestones do, and the history below the list follows
a recorded row without a reload."""
import datetime as dt

import pytest
from sqlalchemy import select

from models import award_rules
from models import awards as aw
from models import recognition as rec
from models.base import TAIPEI
from webapp.routes import recognition as routes
from tests.test_recognition import _cells, audits, page, place, serve, words  # noqa: F401

MARCH = dt.datetime(2026, 3, 5, 2, 0, tzinfo=dt.timezone.utc)
DECEMBER = dt.datetime(2026, 12, 6, 2, 0, tzinfo=dt.timezone.utc)  # the review's day


@pytest.fixture
def on_day(monkeypatch):
    def set_day(now):
        monkeypatch.setattr(routes, "utcnow", lambda: now)
    set_day(MARCH)
    return set_day


def record(admin, key, vol, level, status, on="2026-03-02", as_of="2026-03-05", lang=None):
    headers = {"Accept-Language": lang} if lang else None
    return admin.post(f"/admin/awards/{key}/record", {
        "volunteer_id": vol.id, "level": level, "status": status, "on": on, "as_of": as_of},
        hx=True, headers=headers)


def grants_of(db, vol):
    db.rollback()
    db.expire_all()
    return [(g.award_key, g.level, g.status.value) for g in db.scalars(
        select(aw.AwardGrant).where(aw.AwardGrant.volunteer_id == vol.id).order_by(aw.AwardGrant.id))]


def test_a_level_or_volunteer_the_rules_do_not_allow_is_refused(admin, db, make, unit, place,
                                                                 on_day):
    """鄭子晴 (1,560 h, bronze applied for) was saved as gold granted with a hand-made level=3,
    and a volunteer of 31.5 h without an application as bronze granted."""
    zheng = make.volunteer(unit, name_zh="鄭子晴")
    serve(db, unit, place, zheng, 1560)
    assert record(admin, "mohw", zheng, 1, "applied").status_code == 200
    for status in ("granted", "not_granted"):
        r = record(admin, "mohw", zheng, 3, status, on="2026-03-04")
        assert r.status_code == 400 and "已登錄的申請是銅質徽章：請登錄該等級的結果" in page(r)
    r = record(admin, "mohw", zheng, 3, "applied", on="2026-03-04")
    assert r.status_code == 400  # one level per application
    assert grants_of(db, zheng) == [("mohw", 1, "applied")]
    # a volunteer of 31.5 h: no decision without an application, no application without the hours
    short = make.volunteer(unit)
    serve(db, unit, place, short, 31.5)
    html = page(admin.get("/admin/awards/mohw?as_of=2026-03-05"))
    row = html.split(f'id="award-row-{zheng.id}"')[1].split("</tr>")[0]
    assert 'value="granted"' in row and 'value="applied"' not in row
    r = record(admin, "mohw", short, 1, "granted")
    assert r.status_code == 400 and "請先登錄申請" in page(r)
    r = record(admin, "mohw", short, 1, "applied")
    assert r.status_code == 400
    assert "無法申請銅質徽章：須滿 1,500 小時，計至 2025-12-31 採計 31.5 小時" in words(page(r))
    r = record(admin, "mohw", short, 1, "applied", lang="en")
    assert ("Bronze badge cannot be applied for: it needs 1,500 hours, and 31.5 hours count to "
            "2025-12-31") in words(page(r))
    # every award with a record form goes through the same check
    for key in ("national", "taipei_contribution", "golden_diamond", "honour_card",
                "performance_certificate"):
        r = admin.post(f"/admin/awards/{key}/record", {
            "volunteer_id": short.id, "level": 1, "status": "applied", "on": "2026-03-02",
            "as_of": "2026-03-05", "declared": "y"}, hx=True)
        assert r.status_code == 400 and "無法申請" in page(r), key
        assert record(admin, key, short, 1, "granted").status_code == 400, key
    # the national award also needs a performance certificate
    long = make.volunteer(unit)
    serve(db, unit, place, long, 3100)
    r = record(admin, "national", long, 1, "applied")
    assert r.status_code == 400 and "須先有志願服務績效證明書" in page(r)
    assert grants_of(db, short) == [] and grants_of(db, long) == []
    assert audits(db, "award_granted") == [] and len(audits(db, "award_applied")) == 1


def test_the_row_shows_the_level_applied_for_until_it_is_decided(admin, db, make, unit, place,
                                                                   on_day):
    """Once bronze was applied for, the level column said 銀質徽章 (the next level) while the
    form recorded bronze; Golden Diamond and the Taipei award said "every level granted", and
    the filing XLSX had no level."""
    vol = make.volunteer(unit, name_zh="鄭子晴")
    serve(db, unit, place, vol, 1560)
    for key in ("mohw", "taipei_contribution", "golden_diamond"):
        r = admin.post(f"/admin/awards/{key}/record", {
            "volunteer_id": vol.id, "level": 1, "status": "applied", "on": "2026-03-02",
            "as_of": "2026-03-05", "declared": "y"}, hx=True)
        assert r.status_code == 200, key
    for key, level in (("mohw", "銅質徽章"), ("taipei_contribution", "貢獻獎"),
                       ("golden_diamond", "優良志工")):
        html = page(admin.get(f"/admin/awards/{key}?as_of=2026-03-05"))
        row = html.split(f'id="award-row-{vol.id}"')[1].split("</tr>")[0]
        assert f"<td>{level}</td>" in row, key
        assert "銀質徽章" not in row and "所有等級均已獲頒" not in row and "已有申請審核中" in row
        assert 'name="level" value="1"' in row
        [line] = _cells(admin.get(f"/admin/awards/{key}/export.xlsx?as_of=2026-03-05"))
        assert (line["申請等級"], line["狀態"]) == (level, "申請中"), key
    # decided: the next level is proposed again
    assert record(admin, "mohw", vol, 1, "granted", on="2026-03-04").status_code == 200
    e = next(x for x in aw.eligibility(db, vol, dt.date(2026, 3, 5)) if x.award_key == "mohw")
    assert (e.level, e.missing_conditions) == (2, [])


def test_the_lists_judge_the_round_open_today_as_the_milestones_do(admin, volunteer, db, make,
                                                                     unit, place, on_day):
    """On 2026-12-06 the MOHW list counted hours to 2025-12-31 (the round due 2026-03-31,
    closed) while the deadline said 2027-03-31; the national one used 2026-05-31 against a
    2027-07-31 deadline; the volunteer's milestones said 2026-12-31."""
    on_day(DECEMBER)
    me = volunteer.user.volunteer
    serve(db, unit, place, me, 1000)  # 2025-06-01
    serve(db, unit, place, me, 1600, dt.datetime(2026, 9, 1, 10, tzinfo=TAIPEI))
    html = words(page(admin.get("/admin/awards/mohw")))
    assert "計至 2026-12-31" in html and "2025-12-31" not in html and "2,600 小時 00 分" in html
    day = dt.date(2026, 12, 6)
    listed = {key: rec.award_row(db, me, key, day).eligibility for key in ("mohw", "national")}
    mine = {m.eligibility.award_key: m.eligibility for m in rec.milestones(db, me, day)}
    for key, (counted_to, due) in {"mohw": (dt.date(2026, 12, 31), dt.date(2027, 3, 31)),
                                   "national": (dt.date(2027, 5, 31), dt.date(2027, 7, 31))}.items():
        assert (listed[key].counted_to, listed[key].filing_deadline) == (counted_to, due), key
        assert (mine[key].counted_to, mine[key].counted_minutes) == (
            counted_to, listed[key].counted_minutes), key
    milestones = words(page(volunteer.get("/me/milestones")))
    assert "2026-12-31" in milestones and "2027-03-31" in milestones
    # an application recorded today is judged for the same round: 2,600 h to 2026-12-31
    r = record(admin, "mohw", me, 1, "applied", on="2026-12-06", as_of="2026-12-06")
    assert r.status_code == 200
    assert grants_of(db, me) == [("mohw", 1, "applied")]
    assert aw.award_round(award_rules.rule_of(db, "mohw"), dt.date(2027, 3, 31)) == aw.AwardRound(
        dt.date(2027, 3, 31), dt.date(2026, 12, 31))
    assert aw.award_round(award_rules.rule_of(db, "mohw"), dt.date(2027, 4, 1)) == aw.AwardRound(
        dt.date(2028, 3, 31), dt.date(2027, 12, 31))


def test_the_history_follows_a_recorded_row_and_says_decision_day(admin, db, make, unit, place,
                                                                   on_day):
    """The history below the list said 尚無紀錄 until a reload; a "not granted" decision read
    "未獲核定 … 核定 2026-03-04" (核定: approved)."""
    vol = make.volunteer(unit, name_zh="鄭子晴")
    serve(db, unit, place, vol, 1560)
    html = page(admin.get("/admin/awards/mohw?as_of=2026-03-05"))
    history = html.split('id="award-history"')[1].split("</section>")[0]
    assert 'hx-get="/admin/awards/mohw/history"' in history
    assert 'hx-trigger="award-recorded from:body"' in history and "尚無紀錄" in history
    r = record(admin, "mohw", vol, 1, "applied")
    assert r.status_code == 200 and r.headers["HX-Trigger"] == "award-recorded"
    part = page(admin.get("/admin/awards/mohw/history"))
    assert 'id="award-history"' in part
    assert "鄭子晴" in part and "尚無紀錄" not in part and "<html" not in part
    r = record(admin, "mohw", vol, 1, "not_granted", on="2026-03-04")
    assert r.status_code == 200
    part = words(page(admin.get("/admin/awards/mohw/history")))
    assert "未獲核定" in part and "決定日 2026-03-04" in part and "核定 2026-03-04" not in part
    en = words(page(admin.get("/admin/awards/mohw/history", headers={"Accept-Language": "en"})))
    assert "decided 2026-03-04" in en
    # a refused record triggers nothing
    r = record(admin, "mohw", vol, 3, "granted", on="2026-03-04")
    assert r.status_code == 400 and "HX-Trigger" not in r.headers
    assert admin.get("/admin/awards/nobel/history").status_code == 404


def test_the_history_is_for_admins_only(admin, supervisor, volunteer, anon, db, make, unit, place,
                                        on_day):
    """The history reads only, but it names volunteers and their applications: an admin's, like
    the list it sits under. A supervisor and a volunteer get 403 (the page and its htmx reload
    alike), and someone not signed in is sent to sign in (htmx: the whole page, HX-Redirect)."""
    vol = make.volunteer(unit, name_zh="鄭子晴")
    serve(db, unit, place, vol, 1560)
    assert record(admin, "mohw", vol, 1, "applied").status_code == 200
    url = "/admin/awards/mohw/history"
    assert "鄭子晴" in page(admin.get(url))
    for who in (supervisor, volunteer):
        for headers in ({}, {"HX-Request": "true"}):
            r = who.get(url, headers=headers)
            assert r.status_code == 403 and "鄭子晴" not in page(r), (who.user.role, headers)
    r = anon.get(url)
    assert r.status_code == 302 and r.headers["Location"].startswith("/sign-in?next=")
    assert "/admin/awards/mohw/history" in r.headers["Location"].replace("%2F", "/")
    r = anon.get(url, headers={"HX-Request": "true"})
    assert r.status_code == 401 and r.headers["HX-Redirect"].startswith("/sign-in?next=")
    assert "鄭子晴" not in page(r)


def test_the_row_proposes_the_level_the_hours_reach_and_never_one_received(admin, db, make, unit,
                                                                           place, on_day):
    """The MOHW row proposed bronze to a volunteer of 2,600 h (rules.md: 2,500 h is gold; each
    level once, one level per application): three rounds to reach the gold the hours already
    earn. It proposes the highest level reached above those already received; a level received
    is not proposed again, nor one below it."""
    gold = make.volunteer(unit, name_zh="金志工")
    serve(db, unit, place, gold, 2600)
    silver = make.volunteer(unit, name_zh="銀志工")  # bronze received, 2,100 h: silver
    serve(db, unit, place, silver, 2100)
    done = make.volunteer(unit, name_zh="滿志工")  # gold received: nothing left to propose
    serve(db, unit, place, done, 2700)
    for vol, level in ((silver, 1), (done, 3)):
        assert record(admin, "mohw", vol, level, "applied", on="2026-03-01").status_code == 200
        assert record(admin, "mohw", vol, level, "granted", on="2026-03-02").status_code == 200

    def row(vol):
        html = page(admin.get("/admin/awards/mohw?as_of=2026-03-05"))
        return html.split(f'id="award-row-{vol.id}"')[1].split("</tr>")[0]

    first = row(gold)
    assert "<td>金質徽章</td>" in first and 'name="level" value="3"' in first
    assert "銅質徽章" not in words(first) and 'value="applied"' in first
    second = row(silver)
    assert "<td>銀質徽章</td>" in second and 'name="level" value="2"' in second
    assert "<td>銅質徽章</td>" not in second
    # gold received: not listed again, nor proposed silver or bronze
    assert f'id="award-row-{done.id}"' not in page(admin.get("/admin/awards/mohw?as_of=2026-03-05"))
    e = rec.award_row(db, done, "mohw", dt.date(2026, 3, 5)).eligibility
    assert (e.eligible, e.level, e.missing_conditions) == (False, None, ["all_levels_granted"])
    # the form records what it proposes
    assert record(admin, "mohw", gold, 3, "applied").status_code == 200
    assert grants_of(db, gold) == [("mohw", 3, "applied")]
    e = rec.award_row(db, gold, "mohw", dt.date(2026, 3, 5)).eligibility
    assert (e.level, e.level_name_zh) == (3, "金質徽章")
