"""Recognition pages (issue #6): the bulk eligibility equals the per-volunteer engine, the
deadline calendar, award lists with applied/granted tracking and the XLSX for filing,
performance certificates (requests, 7-day due date, issuing, numbers, PDF), milestones; every
route for every role."""
import datetime as dt
import io
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import select

import webapp.routes.recognition as routes
from models import award_grants
from models import awards as aw
from models import award_rules
from models import recognition as rec
from models import certificates
from models import golden_family as gf
from models.audit import AuditEntry
from models.base import TAIPEI
from models.prior_service import PriorHours
from models.service import ServiceSession, SessionSource, SessionStatus
from tests.test_awards import HISTORIES, build

NOW = dt.datetime(2026, 3, 5, 2, 0, tzinfo=dt.timezone.utc)  # 10:00 in Taipei
TODAY = dt.date(2026, 3, 5)
V = SessionStatus.verified

needs_poppler = pytest.mark.skipif(shutil.which("pdftotext") is None,
                                   reason="pdftotext missing: ./dev setup installs poppler-utils")


@pytest.fixture(autouse=True)
def frozen(monkeypatch):
    monkeypatch.setattr(routes, "utcnow", lambda: NOW)


@pytest.fixture
def place(make, unit):
    return make.site(unit), make.item(unit, name_zh="圖書整理")


def serve(db, unit, place, vol, hours, when=dt.datetime(2025, 6, 1, 10, tzinfo=TAIPEI),
          status=V):
    site, item = place
    db.add(ServiceSession(unit_id=unit.id, volunteer_id=vol.id, site_id=site.id,
                          service_item_id=item.id, checked_in_at=when,
                          checked_out_at=when + dt.timedelta(hours=1), status=status,
                          credited_minutes=round(hours * 60) if status == V else 0,
                          source=SessionSource.manual))
    db.commit()


def audits(db, action):
    db.rollback()
    db.expire_all()
    return db.scalars(select(AuditEntry).where(AuditEntry.action == action)
                      .order_by(AuditEntry.id)).all()


def page(response):
    return response.get_data(as_text=True)


def words(html: str) -> str:
    """The page's words without its tags (a date or a duration sits in a span of its own)."""
    return re.sub(r"<[^>]+>", "", html)


# --- bulk equals one by one -----------------------------------------------------------------------

def test_unit_eligibility_gives_the_engines_answers(db, make, unit, place):
    """Every history of tests/test_awards.py in one unit: the bulk answer (a fixed number of
    queries) is the per-volunteer answer, field by field, on several days."""
    vols = [build(db, make, unit, place, p.values[0]) for p in HISTORIES]
    fields = ("award_key", "eligible", "level", "counted_to", "service_minutes", "prior_minutes",
              "used_minutes", "counted_minutes", "seniority_start", "seniority_source",
              "service_months", "missing_minutes", "missing_months", "missing_conditions",
              "message", "params")
    for as_of in (dt.date(2026, 6, 15), dt.date(2025, 2, 28), dt.date(2024, 2, 29)):
        bulk = dict(rec.unit_eligibility(db, unit.id, as_of))
        assert {v.id for v in bulk} == {v.id for v in vols}
        for vol in vols:
            one = aw.eligibility(db, vol, as_of)
            assert [[getattr(e, f) for f in fields] for e in bulk[vol]] == \
                   [[getattr(e, f) for f in fields] for e in one], (vol.id, as_of)
        # candidates only: the same eligible volunteers
        some = rec.unit_eligibility(db, unit.id, as_of, candidates_only=True)
        eligible = {(v.id, e.award_key) for v, items in bulk.items() for e in items if e.eligible}
        assert {(v.id, e.award_key) for v, items in some for e in items if e.eligible} == eligible


# --- the deadline calendar -------------------------------------------------------------------------

def test_deadlines_count_who_qualifies(db, make, unit, place):
    a, b, c = (make.volunteer(unit) for _ in range(3))
    serve(db, unit, place, a, 1500, dt.datetime(2025, 12, 31, 23, 0, tzinfo=TAIPEI))
    serve(db, unit, place, b, 1499, dt.datetime(2025, 12, 1, 10, tzinfo=TAIPEI))
    serve(db, unit, place, b, 700, dt.datetime(2026, 1, 2, 10, tzinfo=TAIPEI))  # after 31 Dec
    serve(db, unit, place, c, 599.5)
    other = make.unit()
    serve(db, other, (make.site(other), make.item(other)), make.volunteer(other), 3000)
    got = {d.key: d for d in rec.deadlines(db, unit.id, TODAY)}
    assert got["mohw"].due == dt.date(2026, 3, 31) and got["mohw"].qualifying == 1
    assert got["taipei_contribution"].due == dt.date(2026, 5, 31)
    assert got["taipei_contribution"].qualifying == 2  # a and b; c is half an hour short
    assert got["golden_diamond"].due == dt.date(2026, 7, 15)
    assert got["golden_diamond_team"].qualifying == 0  # one site, no 3-year-old team
    assert got["national"].due == dt.date(2026, 7, 31) and got["national"].qualifying == 0
    assert (got["report_h1"].opens, got["report_h1"].due) == (dt.date(2026, 7, 1),
                                                              dt.date(2026, 7, 10))
    assert got["report_h2"].due == dt.date(2027, 1, 10)
    dues = [d.due for d in rec.deadlines(db, unit.id, TODAY)]
    assert dues == sorted(dues)
    # brute force agrees
    for key in ("mohw", "taipei_contribution", "golden_diamond"):
        d = got[key]
        as_of = TODAY if key != "mohw" else d.due
        n = sum(next(e for e in aw.eligibility(db, v, as_of) if e.award_key == key).eligible
                for v in (a, b, c))
        assert n == d.qualifying, key
    # after the MOHW deadline the next one is a year later, counting 2026's hours
    later = {d.key: d for d in rec.deadlines(db, unit.id, dt.date(2026, 4, 1))}
    assert later["mohw"].due == dt.date(2027, 3, 31) and later["mohw"].qualifying == 2
    # in the report window
    jan = {d.key: d for d in rec.deadlines(db, unit.id, dt.date(2027, 1, 5))}
    assert jan["report_h2"].is_open and jan["report_h2"].days_left == 5


def test_deadline_calendar_on_the_admin_home(admin, supervisor, db, make, unit, place):
    vol = make.volunteer(unit)
    serve(db, unit, place, vol, 1600, dt.datetime(2025, 3, 1, 10, tzinfo=TAIPEI))
    home = page(admin.get("/"))
    assert 'hx-get="/admin/awards/deadlines"' in home
    assert 'hx-get="/admin/awards/deadlines"' not in page(supervisor.get("/"))
    part = page(admin.get("/admin/awards/deadlines", headers={"HX-Request": "true"}))
    assert "衛生福利志願服務獎勵</strong>：1 位符合，3 月 31 日截止" in part
    assert "臺北市志願服務貢獻獎</strong>：1 位符合，5 月 31 日截止" in part
    assert "半年成果報表（1–6 月）" in part and "7 月 1 日–7 月 10 日" in part
    assert "<html" not in part
    admin.user.locale = "en"
    db.merge(admin.user)
    db.commit()
    en = page(admin.get("/admin/awards/deadlines"))
    assert "MOHW volunteer service award</strong>: 1 qualifying, due 3/31" in en


def test_the_calendar_is_cached_and_cleared_by_a_decision(admin, db, make, unit, place):
    vol = make.volunteer(unit)
    serve(db, unit, place, vol, 650)
    first = page(admin.get("/admin/awards/deadlines"))
    assert "臺北市志願服務貢獻獎</strong>：1 位符合" in first
    for _ in range(2):
        serve(db, unit, place, make.volunteer(unit), 650)
    # kept for a few minutes: the two new ones are not counted yet
    assert "臺北市志願服務貢獻獎</strong>：1 位符合" in page(admin.get("/admin/awards/deadlines"))
    for status in ("applied", "granted"):  # a decision completes an application
        r = admin.post("/admin/awards/taipei_contribution/record", {
            "volunteer_id": vol.id, "level": 1, "status": status, "on": "2026-03-01",
            "as_of": "2026-03-05"}, hx=True)
        assert r.status_code == 200
    # the decision cleared it: vol is granted (never proposed again), the two others qualify
    assert "臺北市志願服務貢獻獎</strong>：2 位符合" in page(admin.get("/admin/awards/deadlines"))


# --- award lists and tracking ---------------------------------------------------------------------

def test_award_list_shows_the_evidence(admin, db, make, unit, place):
    vol = make.volunteer(unit, name_zh="王小明")
    serve(db, unit, place, vol, 1550, dt.datetime(2025, 5, 1, 10, tzinfo=TAIPEI))
    db.add(PriorHours(volunteer_id=vol.id, source_unit="前單位", period_start=dt.date(2020, 1, 1),
                      period_end=dt.date(2021, 1, 1), minutes=60 * 10))
    db.commit()
    short = make.volunteer(unit, name_zh="李短少")
    serve(db, unit, place, short, 1400)
    other_unit = make.unit()
    stranger = make.volunteer(other_unit, name_zh="外單位")
    serve(db, other_unit, (make.site(other_unit), make.item(other_unit)), stranger, 3000)
    html = page(admin.get("/admin/awards/mohw?as_of=2026-03-05"))
    assert "王小明" in html and "李短少" not in html and "外單位" not in html
    assert "銅質徽章" in html
    assert "1,560 小時 00 分" in html  # 1,550 h here and 10 h from an earlier unit
    assert "其他單位 10 小時 00 分" in html
    assert "2025-12-31" in html  # counted to the previous 31 December
    # a day when nobody qualifies yet (the round due 2025-03-31 counts hours to 2024-12-31)
    assert "王小明" not in page(admin.get("/admin/awards/mohw?as_of=2025-03-01"))
    bad = admin.get("/admin/awards/mohw?as_of=31-12-2025")
    assert bad.status_code == 400 and "YYYY-MM-DD" in page(bad)
    assert admin.get("/admin/awards/nobel").status_code == 404
    assert admin.get("/admin/awards/golden_diamond_team").status_code == 404


def test_the_explanation_names_the_award_and_the_history_the_level(admin, db, make, unit,
                                                                    place):
    """The review read "Eligible for Honour card with 325 h …", "Eligible for Bronze badge
    with …" (a level's name where the sentence needs the award's) and "Level 1" in the
    history. The award by its name, with the level's when it has several; the history names
    the level; both in the reader's language."""
    vol = make.volunteer(unit, name_zh="王小明")
    serve(db, unit, place, vol, 1560, dt.datetime(2025, 5, 1, 10, tzinfo=TAIPEI))
    en = {"Accept-Language": "en"}
    html = page(admin.get("/admin/awards/mohw?as_of=2026-03-05", headers=en))
    assert ("MOHW volunteer service award (Bronze badge): eligible with 1,560 h 00 min "
            "counted to 2025-12-31") in words(html)
    html = page(admin.get("/admin/awards/mohw?as_of=2026-03-05"))
    assert "可申請衛生福利志願服務獎勵（銅質徽章）：計至 2025-12-31 共 1,560 小時 00 分" in words(html)
    html = page(admin.get("/admin/awards/honour_card?as_of=2026-03-05", headers=en))
    assert "Volunteer honour card: eligible with 1,560 h 00 min counted to 2026-03-05" in words(html)
    assert "the Volunteer" not in html
    html = page(admin.get("/admin/awards/honour_card?as_of=2026-03-05"))
    assert "可申請志願服務榮譽卡：計至 2026-03-05 共 1,560 小時 00 分" in words(html)
    r = admin.post("/admin/awards/mohw/record", {"volunteer_id": vol.id, "level": 1,
                                                "status": "applied", "on": "2026-03-02",
                                                "as_of": "2026-03-05"}, hx=True)
    assert r.status_code == 200
    # the row says what was recorded (before, the form went away without a word)
    assert 'role="status">已為 王小明 登錄：已申請。</p>' in page(r)
    history = page(admin.get("/admin/awards/mohw", headers=en)).split("Applications and decisions")[1]
    assert "Bronze badge · applied 2026-03-02" in words(history) and "Level 1" not in history
    history = page(admin.get("/admin/awards/mohw")).split("申請與核定紀錄")[1]
    assert "銅質徽章 · 申請 2026-03-02" in words(history) and "第 1 級" not in history


def _cells(response, sheet_index=0):
    """An XLSX download's lines under its caption, as {header: value}."""
    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(response.get_data())).worksheets[sheet_index]
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    return [dict(zip(rows[1], line)) for line in rows[2:]]


def test_dates_and_durations_of_an_explanation_stay_on_one_line(app, admin, volunteer, db, make,
                                                                 unit, place):
    """On a phone "counted to 2025-12-19" broke at the date's hyphens ("2025-12-" / "19"), and
    "325 h" / "00 min" apart. Each date and duration of an explanation sits in a span that the
    style sheet keeps on one line, on the award list and on the volunteer's milestones; what is
    typed in (an earlier unit's name) is still escaped."""
    vol = make.volunteer(unit, name_zh="王小明")
    serve(db, unit, place, vol, 1560, dt.datetime(2025, 5, 1, 10, tzinfo=TAIPEI))
    html = page(admin.get("/admin/awards/honour_card?as_of=2026-03-05",
                          headers={"Accept-Language": "en"}))
    row = html.split(f'id="award-row-{vol.id}"')[1].split("</tr>")[0]
    assert ('<td class="small explain">Volunteer honour card: eligible with '
            '<span class="nowrap">1,560 h 00 min</span> counted to '
            '<span class="nowrap">2026-03-05</span></td>') in row
    assert 'to <span class="nowrap">2026-03-05</span></small>' in row  # the hours' column
    me = volunteer.user.volunteer
    serve(db, unit, place, me, 160, dt.datetime(2025, 12, 1, 10, tzinfo=TAIPEI))
    mine = page(volunteer.get("/me/milestones"))
    assert ('可申請志願服務績效證明書：計至 <span class="nowrap">2026-03-05</span> 共 '
            '<span class="nowrap">160 小時 00 分</span>') in mine
    assert '計至 <span class="nowrap">2026-03-05</span>' in mine  # "Counted to" under it
    css = (Path(app.static_folder) / "css" / "app.css").read_text()
    assert re.search(r"^\.nowrap \{ white-space: nowrap; \}$", css, re.M)

    from webapp.i18n import explain_award_html

    earlier = aw.AwardEligibility("national", "志願服務獎勵", "", True, True, 1, "銅牌",
                                  levelled=True)
    earlier.message = ("%(award)s: eligible with %(hours)s counted to %(counted_to)s; "
                       "performance certificate %(certificate_no)s from %(certificate_unit)s, "
                       "issued %(certificate_on)s")
    earlier.params = {"award": "志願服務獎勵", "level": "銅牌", "hours": 3000 * 60,
                      "counted_to": "2026-05-31", "certificate_no": "No.<1>",
                      "certificate_unit": "<b>A&B</b>", "certificate_on": "2025-12-20"}
    with app.test_request_context(headers={"Accept-Language": "en"}):
        shown = explain_award_html(earlier)
    assert shown == ('志願服務獎勵 (銅牌): eligible with <span class="nowrap">3,000 h 00 min</span> '
                     'counted to <span class="nowrap">2026-05-31</span>; performance certificate '
                     'No.&lt;1&gt; from &lt;b&gt;A&amp;B&lt;/b&gt;, issued '
                     '<span class="nowrap">2025-12-20</span>')


def test_the_service_years_say_where_the_months_come_from(admin, db, make, unit, place):
    """The review: 曾淑芬 on the Golden Diamond list, "Service years from 2025-12-19 / 99
    months": the months counted her earlier units' periods in Taipei, the date was when she
    joined this unit. The page and the XLSX break the months down as the hours are: from the
    start with this unit, earlier units in Taipei, less what earlier cards used."""
    vol = make.volunteer(unit, name_zh="曾淑芬", joined_on=dt.date(2025, 12, 19))  # trained 2000
    serve(db, unit, place, vol, 9)
    db.add(PriorHours(volunteer_id=vol.id, source_unit="臺北市立圖書館", in_taipei=True,
                      period_start=dt.date(2017, 11, 1), period_end=dt.date(2025, 12, 18),
                      minutes=650 * 60))
    other = make.volunteer(unit, name_zh="林子")
    gf.create_family(db, unit.id, "曾家", [vol.volunteer_no, other.volunteer_no], None)
    db.commit()
    # in Taipei: 2 months with this unit (from 19 December), 98 more from the earlier period
    # straight before it: 100 months, 2017-11-01 to 2026-03-05 in one stretch
    for url in ("/admin/awards/golden_diamond?as_of=2026-03-05",
                "/admin/awards/families?as_of=2026-03-05"):
        html = page(admin.get(url))
        assert "<strong>100 個月</strong>" in html, url
        assert "自 2025-12-19 起 2 個月 · 其他單位在臺北市 98 個月" in words(html), url
        html = page(admin.get(url, headers={"Accept-Language": "en"}))
        assert "<strong>100 months</strong>" in html, url
        assert "2 months from 2025-12-19 · earlier units in Taipei 98 months" in words(html), url
    [line] = _cells(admin.get("/admin/awards/golden_diamond/export.xlsx?as_of=2026-03-05"))
    assert [line[k] for k in rec.SERVICE_YEARS_HEADERS] == [100, "2025-12-19", 2, 98, 0]
    family = _cells(admin.get("/admin/awards/families/export.xlsx?as_of=2026-03-05"))
    assert [family[0][k] for k in rec.SERVICE_YEARS_HEADERS[:4]] == [100, "2025-12-19", 2, 98]
    assert "已使用年資（月）" not in family[0]
    # the honour card counts years anywhere from training (2000-01-01): 314 months, of which an
    # earlier card used 36
    award_grants.record_grant(db, vol, "honour_card", 1, "granted", dt.date(2020, 1, 1), None, NOW,
                    judged=True)  # a card from before: on record
    db.commit()
    html = page(admin.get("/admin/awards/honour_card?as_of=2026-03-05"))
    assert "<strong>278 個月</strong>" in html
    assert "自 2000-01-01 起 314 個月 · 前次榮譽卡已用 36 個月" in words(html)
    html = page(admin.get("/admin/awards/honour_card?as_of=2026-03-05",
                          headers={"Accept-Language": "en"}))
    assert "314 months from 2000-01-01 · used by earlier cards 36 months" in words(html)
    [line] = _cells(admin.get("/admin/awards/honour_card/export.xlsx?as_of=2026-03-05"))
    assert [line[k] for k in rec.SERVICE_YEARS_HEADERS] == [278, "2000-01-01", 314, None, 36]


def test_an_out_of_range_date_records_nothing(admin, db, make, unit, place):
    vol = make.volunteer(unit)
    serve(db, unit, place, vol, 2100)
    url = "/admin/awards/mohw/record"
    for on, as_of in (("2026-03-02", "9999-12-31"), ("0001-01-01", "2026-03-05"),
                      ("9999-12-31", "2026-03-05")):
        r = admin.post(url, {"volunteer_id": vol.id, "level": 1, "status": "applied",
                             "on": on, "as_of": as_of}, hx=True)
        assert r.status_code == 400, (on, as_of)
    assert "請輸入 1990-01-01 到 2100-12-31 之間的日期" in page(r)
    db.rollback()
    assert db.scalars(select(aw.AwardGrant).where(aw.AwardGrant.volunteer_id == vol.id)).all() == []


def test_no_date_after_today_nor_a_decision_before_its_application(admin, db, make, unit,
                                                                     place):
    """The review: an honour card applied for on 2030-01-01 (accepted), then granted on
    2026-11-01, before the application; the history read "applied 2030-01-01 · decided
    2026-11-01". Today is 2026-03-05 in Taipei (NOW)."""
    vol = make.volunteer(unit)
    serve(db, unit, place, vol, 700)
    url = "/admin/awards/honour_card/record"

    def send(status, on, lang="zh-TW"):
        return admin.post(url, {"volunteer_id": vol.id, "level": 1, "status": status, "on": on,
                                "as_of": "2026-03-05"}, hx=True,
                          headers={"Accept-Language": lang})

    for status in ("applied", "granted", "not_granted"):
        r = send(status, "2030-01-01")
        assert r.status_code == 400 and "日期不能晚於今天（2026-03-05）" in page(r), status
    r = send("applied", "2026-03-06", "en")
    assert r.status_code == 400 and "The date cannot be after today (2026-03-05)" in page(r)
    db.rollback()
    db.expire_all()
    assert db.scalars(select(aw.AwardGrant)).all() == [] and audits(db, "award_applied") == []
    assert send("applied", "2026-03-04").status_code == 200
    r = send("granted", "2026-03-01")
    assert r.status_code == 400 and "決定日期不能早於申請日期（2026-03-04）" in page(r)
    r = send("not_granted", "2026-03-03", "en")
    assert r.status_code == 400
    assert "The decision cannot be dated before the application (2026-03-04)" in page(r)
    db.rollback()
    db.expire_all()
    [grant] = db.scalars(select(aw.AwardGrant)).all()
    assert (grant.status.value, grant.applied_on, grant.decided_on, grant.valid_to) == (
        "applied", dt.date(2026, 3, 4), None, None)
    assert audits(db, "award_granted") == [] and audits(db, "award_not_granted") == []
    r = send("granted", "2026-03-05")
    assert r.status_code == 200 and "已核定" in page(r)


def test_applied_then_granted_never_proposed_again(admin, db, make, unit, place):
    vol = make.volunteer(unit)
    serve(db, unit, place, vol, 2100)
    url = "/admin/awards/mohw/record"
    r = admin.post(url, {"volunteer_id": vol.id, "level": 1, "status": "applied",
                         "on": "2026-03-02", "as_of": "2026-03-05"}, hx=True)
    assert r.status_code == 200
    row = page(r)
    assert row.lstrip().startswith(f'<tr id="award-row-{vol.id}"')
    assert "申請日 2026-03-02" in words(row) and 'value="granted"' in row and 'value="applied"' not in row
    # the list shows the pending application
    assert f'id="award-row-{vol.id}"' in page(admin.get("/admin/awards/mohw"))
    # applying twice is refused, nothing changes
    again = admin.post(url, {"volunteer_id": vol.id, "level": 1, "status": "applied",
                             "on": "2026-03-03", "as_of": "2026-03-05"}, hx=True)
    assert again.status_code == 400 and "已有申請審核中" in page(again)
    r = admin.post(url, {"volunteer_id": vol.id, "level": 1, "status": "granted",
                         "on": "2026-03-04", "as_of": "2026-03-05"}, hx=True)
    assert r.status_code == 200 and "已核定" in page(r)
    db.rollback()
    db.expire_all()
    grants = db.scalars(select(aw.AwardGrant).where(aw.AwardGrant.volunteer_id == vol.id)).all()
    assert [(g.level, g.status.value, g.applied_on, g.decided_on) for g in grants] == [
        (1, "granted", dt.date(2026, 3, 2), dt.date(2026, 3, 4))]
    assert [a.action for a in audits(db, "award_applied")] == ["award_applied"]
    assert audits(db, "award_granted")[-1].actor_user_id == admin.user.id
    # bronze is never proposed again: silver (2,000 h) is
    html = page(admin.get("/admin/awards/mohw"))
    assert "銀質徽章" in html and 'name="level" value="2"' in html
    # granting bronze again is refused
    r = admin.post(url, {"volunteer_id": vol.id, "level": 1, "status": "applied",
                         "on": "2026-03-05", "as_of": "2026-03-05"}, hx=True)
    assert r.status_code == 400 and "此等級已獲頒" in page(r)


def test_the_same_decision_sent_twice_is_recorded_once(admin, db, make, unit, place):
    """A double tap on 已核定 must not grant a second honour card (a renewable award: the second
    would start a new validity period and use another 300 hours), nor file 未獲核定 twice."""
    vol = make.volunteer(unit)
    serve(db, unit, place, vol, 1600)
    for key, status in (("honour_card", "granted"), ("mohw", "not_granted")):
        url = f"/admin/awards/{key}/record"
        body = {"volunteer_id": vol.id, "level": 1, "status": status, "on": "2026-03-02",
                "as_of": "2026-03-05"}
        assert admin.post(url, body | {"status": "applied", "on": "2026-03-01"},
                          hx=True).status_code == 200
        assert admin.post(url, body, hx=True).status_code == 200
        again = admin.post(url, body, hx=True)
        assert again.status_code == 400 and "這項決定已經登錄過了" in page(again), key
        db.rollback()
        db.expire_all()
        grants = db.scalars(select(aw.AwardGrant).where(aw.AwardGrant.volunteer_id == vol.id,
                                                        aw.AwardGrant.award_key == key)).all()
        assert [(g.status.value, g.decided_on) for g in grants] == [(status, dt.date(2026, 3, 2))]
    # a decision of a later day, on a new application, is not a repeat
    for status in ("applied", "not_granted"):
        r = admin.post("/admin/awards/mohw/record", {
            "volunteer_id": vol.id, "level": 1, "status": status, "on": "2026-03-04",
            "as_of": "2026-03-05"}, hx=True)
        assert r.status_code == 200


def test_golden_diamond_needs_the_volunteers_declaration(admin, db, make, unit, place):
    """rules.md: no criminal conviction, declared; PDPA §6: only the declaration is kept. An
    application or grant without it is refused; the decision keeps the application's."""
    vol = make.volunteer(unit)
    serve(db, unit, place, vol, 700)
    url = "/admin/awards/golden_diamond/record"
    html = page(admin.get("/admin/awards/golden_diamond?as_of=2026-03-05"))
    assert 'name="declared"' in html and "志工已聲明無犯罪紀錄" in html
    # an application without it is refused (a decision needs an application first)
    for status, refusal in (("applied", "需有志工無犯罪紀錄之聲明"), ("granted", "請先登錄申請")):
        r = admin.post(url, {"volunteer_id": vol.id, "level": 1, "status": status,
                             "on": "2026-03-02", "as_of": "2026-03-05"}, hx=True)
        assert r.status_code == 400 and refusal in page(r)
    db.rollback()
    db.expire_all()
    assert db.scalars(select(aw.AwardGrant)).all() == []
    r = admin.post(url, {"volunteer_id": vol.id, "level": 1, "status": "applied", "declared": "y",
                         "on": "2026-03-02", "as_of": "2026-03-05"}, hx=True)
    assert r.status_code == 200 and "已於 2026-03-02 聲明無犯罪紀錄" in words(page(r))
    assert 'name="declared"' not in page(r)
    r = admin.post(url, {"volunteer_id": vol.id, "level": 1, "status": "granted",
                         "on": "2026-03-04", "as_of": "2026-03-05"}, hx=True)
    assert r.status_code == 200
    db.rollback()
    db.expire_all()
    [grant] = db.scalars(select(aw.AwardGrant)).all()
    assert (grant.status, grant.declared_on) == (aw.GrantStatus.granted, dt.date(2026, 3, 2))
    assert audits(db, "award_applied")[-1].after_data()["declared_on"] == "2026-03-02"
    # other awards ask for no declaration
    other = make.volunteer(unit)
    serve(db, unit, place, other, 700)
    r = admin.post("/admin/awards/taipei_contribution/record", {
        "volunteer_id": other.id, "level": 1, "status": "applied", "on": "2026-03-02",
        "as_of": "2026-03-05"}, hx=True)
    assert r.status_code == 200 and 'name="declared"' not in page(r)


def test_record_refuses_bad_input(admin, db, make, unit, place):
    vol = make.volunteer(unit)
    serve(db, unit, place, vol, 700)
    url = "/admin/awards/taipei_contribution/record"
    r = admin.post(url, {"volunteer_id": vol.id, "level": 1, "status": "granted", "on": "soon"},
                   hx=True)
    assert r.status_code == 400 and 'class="error"' in page(r)
    r = admin.post(url, {"volunteer_id": vol.id, "level": 1, "status": "maybe", "on": "2026-03-01"},
                   hx=True)
    assert r.status_code == 400
    other = make.volunteer(make.unit())
    r = admin.post(url, {"volunteer_id": other.id, "level": 1, "status": "granted",
                         "on": "2026-03-01"}, hx=True)
    assert r.status_code == 404
    db.rollback()
    db.expire_all()
    assert db.scalars(select(aw.AwardGrant)).all() == []
    # without htmx: back to the list
    r = admin.post(url, {"volunteer_id": vol.id, "level": 1, "status": "applied",
                         "on": "2026-03-01", "as_of": "2026-03-05"})
    assert r.status_code == 302 and "/admin/awards/taipei_contribution" in r.headers["Location"]


def test_xlsx_for_filing(admin, db, make, unit, place):
    from openpyxl import load_workbook

    vol = make.volunteer(unit, name_zh="=HYPERLINK(\"x\")", record_book_no="北市-123")
    serve(db, unit, place, vol, 620)
    nobody = make.volunteer(unit)
    serve(db, unit, place, nobody, 10)
    r = admin.get("/admin/awards/taipei_contribution/export.xlsx?as_of=2026-03-05")
    assert r.status_code == 200 and r.mimetype.endswith("spreadsheetml.sheet")
    sheet = load_workbook(io.BytesIO(r.get_data())).active
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    assert rows[0][0].startswith("臺北市志願服務貢獻獎")
    header, data = rows[1], rows[2:]
    assert header[:4] == ["序號", "志工編號", "姓名", "身分證統一編號"]
    assert len(data) == 1
    line = dict(zip(header, data[0]))
    assert line["姓名"] == "'=HYPERLINK(\"x\")"  # neutralised: never a formula
    assert line["身分證統一編號"] == vol.id_number and line["紀錄冊編號"] == "北市-123"
    assert line["採計時數"] == 620 and line["時數計至"] == "2026-03-05"
    assert line["申請等級"] == "貢獻獎" and line["狀態"] == "符合"
    # Chinese, as filed; the award by its name
    assert line["說明"] == "可申請臺北市志願服務貢獻獎：計至 2026-03-05 共 620 小時 00 分"
    entry = audits(db, "id_number_export")[-1]  # full ID numbers: in the access log
    assert entry.actor_user_id == admin.user.id and '"rows": 1' in entry.after
    assert '"purpose": "award_list"' in entry.after
    log = admin.get("/admin/access-log/").get_data(as_text=True)
    assert "匯出完整身分證字號" in log and "獎項申請清單" in log


def test_award_xlsx_hours_months_and_counts_are_numbers(admin, db, make, unit, place):
    """The review: hours such as '1568.5' and '659' were text, which Excel cannot sum. Every
    award list (and the families') writes hours, months and counts as numbers, hours with two
    decimals as the results report does; names, numbers of people and dates stay text."""
    from openpyxl import load_workbook

    vol = make.volunteer(unit, joined_on=dt.date(2021, 1, 4))
    serve(db, unit, place, vol, 1568.5, dt.datetime(2025, 5, 1, 10, tzinfo=TAIPEI))
    db.add(PriorHours(volunteer_id=vol.id, source_unit="前單位", in_taipei=True,
                      period_start=dt.date(2019, 1, 1), period_end=dt.date(2020, 12, 31),
                      minutes=60 * 90))
    other = make.volunteer(unit)
    serve(db, unit, place, other, 700)
    gf.create_family(db, unit.id, "林家", [vol.volunteer_no, other.volunteer_no], None)
    db.commit()
    numbers = ["序號", "採計時數", "本單位服務時數", "他單位時數", "已使用時數", "採計年資（月）",
               "本單位年資（月）", "已使用年資（月）"]
    texts = ["志工編號", "姓名", "身分證統一編號", "出生年月日", "申請等級", "時數計至", "年資起算日",
             "說明", "狀態"]
    for key in [r.key for r in award_rules.rules(db) if r.computed]:
        r = admin.get(f"/admin/awards/{key}/export.xlsx?as_of=2026-03-05")
        sheet = load_workbook(io.BytesIO(r.get_data())).active
        header = [c.value for c in sheet[2]]
        lines = list(sheet.iter_rows(min_row=3))
        assert lines or key == "national", key  # 3,000 h and a certificate: nobody here
        for line in lines:
            cells = dict(zip(header, line))
            for name in numbers:
                assert cells[name].data_type == "n", (key, name, cells[name].value)
            for name in texts:
                assert cells[name].value is None or cells[name].data_type == "s", (key, name)
        if key == "mohw":  # hours to 2025-12-31: 1,568.5 here and 90 from the earlier unit
            cells = dict(zip(header, lines[0]))
            assert (cells["採計時數"].value, cells["本單位服務時數"].value,
                    cells["他單位時數"].value) == (1658.5, 1568.5, 90)
            assert cells["採計時數"].number_format == "0.00"
        if key == "golden_diamond":  # years in Taipei: with the earlier unit's two
            cells = dict(zip(header, lines[0]))
            assert cells["他單位臺北市年資（月）"].data_type == "n"
            assert cells["他單位臺北市年資（月）"].value == 24
    r = admin.get("/admin/awards/families/export.xlsx?as_of=2026-03-05")
    sheet = load_workbook(io.BytesIO(r.get_data())).active
    header = [c.value for c in sheet[2]]
    for line in sheet.iter_rows(min_row=3):
        cells = dict(zip(header, line))
        for name in ("序號", "採計時數", "採計年資（月）", "本單位年資（月）", "他單位臺北市年資（月）"):
            assert cells[name].data_type == "n", name
        assert cells["家庭"].data_type == "s" and cells["志工編號"].data_type == "s"


# --- performance certificates ---------------------------------------------------------------------

def qualify(db, unit, place, vol, hours=160):
    serve(db, unit, place, vol, hours, dt.datetime(2025, 1, 10, 10, tzinfo=TAIPEI))
    serve(db, unit, place, vol, 0, dt.datetime(2025, 2, 10, 10, tzinfo=TAIPEI))


def test_volunteer_requests_and_downloads_a_certificate(volunteer, admin, db, make, unit, place,
                                                       tmp_path):
    me = volunteer.user.volunteer
    me.record_book_no = "北市志字第 0042 號"
    me.joined_on = dt.date(2024, 4, 3)
    db.commit()
    serve(db, unit, place, me, 100, dt.datetime(2024, 5, 3, 9, tzinfo=TAIPEI))
    site, _ = place
    serve(db, unit, (site, make.item(unit, name_zh="導覽服務")), me, 60.5,
          dt.datetime(2025, 11, 20, 9, tzinfo=TAIPEI))
    serve(db, unit, place, me, 8, dt.datetime(2026, 1, 5, 9, tzinfo=TAIPEI), status=SessionStatus.closed)
    html = page(volunteer.get("/me/milestones"))
    assert "可申請志願服務績效證明書：計至 2026-03-05 共 160 小時 30 分" in words(html)
    # a goal passed reads as reached, not "160 of 150 hours"
    assert "160 小時 30 分：已達所需的 150 小時" in html and "／150 小時" not in html
    r = volunteer.post("/me/certificates/request", {"note": "轉換單位用"})
    assert r.status_code == 302
    db.rollback()
    db.expire_all()
    cert = db.scalar(select(certificates.PerformanceCertificate))
    assert cert.status == certificates.CertificateStatus.requested and cert.due_on == dt.date(2026, 3, 12)
    assert cert.requested_by_id == volunteer.user.id
    html = page(volunteer.get("/me/milestones"))
    assert "2026-03-12" in html and "/me/certificates/request" not in html
    again = volunteer.post("/me/certificates/request", {})
    assert again.status_code == 400 and "已有申請中的請求" in page(again)
    # the admin sees it with its due date, issues it
    listing = page(admin.get("/admin/certificates/"))
    assert f'id="cert-{cert.id}"' in listing and "2026-03-12" in listing and "逾期" not in listing
    assert "<th>開立期限</th>" in listing  # the date to issue by (not the evaluation's "due")
    r = admin.post(f"/admin/certificates/{cert.id}/issue", {}, hx=True)
    assert r.status_code == 200
    serial = f"P{unit.id:03d}-2026-00001"
    # the row leaves the requests (swapped for nothing) and the issued list, which reloads
    # itself on the trigger, holds it: never in both
    assert page(r).strip() == "" and r.headers["HX-Trigger"] == "certificate-issued"
    assert serial in page(admin.get("/admin/certificates/issued"))
    listing = page(admin.get("/admin/certificates/"))
    assert listing.count(f'id="cert-{cert.id}"') == 1 and serial in listing
    db.rollback()
    db.expire_all()
    cert = db.get(certificates.PerformanceCertificate, cert.id)
    assert cert.status == certificates.CertificateStatus.issued and cert.serial == serial
    assert cert.printed["service_minutes"] == 100 * 60 + 60 * 60 + 30
    # from joining (the start of the year of service counted) to the issue day
    assert cert.printed["period_start"] == "2024-04-03" and cert.printed["period_end"] == "2026-03-05"
    assert cert.printed["service_items"] == ["圖書整理", "導覽服務"]
    grant = db.scalar(select(aw.AwardGrant).where(aw.AwardGrant.volunteer_id == me.id))
    assert (grant.award_key, grant.status.value, grant.decided_on) == (
        "performance_certificate", "granted", TODAY)
    assert [a.action for a in audits(db, "performance_certificate_requested")] == [
        "performance_certificate_requested"]
    assert audits(db, "performance_certificate_issued")[-1].actor_user_id == admin.user.id
    # issuing twice is refused
    twice = admin.post(f"/admin/certificates/{cert.id}/issue", {}, hx=True)
    assert twice.status_code == 400 and "此證明書已開立" in page(twice)
    # both download the same PDF
    mine = volunteer.get(f"/me/certificates/{cert.id}.pdf")
    theirs = admin.get(f"/admin/certificates/{cert.id}.pdf")
    assert mine.status_code == theirs.status_code == 200 and mine.mimetype == "application/pdf"
    assert f"/me/certificates/{cert.id}.pdf" in page(volunteer.get("/me/milestones"))
    if shutil.which("pdftotext"):
        text = pdf_text(mine.get_data(), tmp_path)
        for expected in ("志願服務績效證明書", me.name_zh, "北市志字第 0042 號", "累計 160 小時 30 分",
                         "圖書整理、導覽服務", unit.name, serial, "中華民國 113 年 4 月 3 日",
                         "中華民國 115 年 3 月 5 日"):
            assert expected in text.replace("\n", " ") or expected in text, expected


def test_an_issued_certificate_is_not_asked_for_again(volunteer, admin, db, make, unit, place):
    """Review (screens 101a): with certificate P001-… issued, the milestones page still offered
    the note and "Ask the unit for my certificate" above its download link. Once a certificate
    prints every verified minute there is nothing to ask for (and a posted request is refused);
    hours verified since make the request one for an updated certificate."""
    me = volunteer.user.volunteer
    qualify(db, unit, place, me)
    boss = admin.user
    cert = certificates.request_certificate(db, me, boss, NOW)
    db.commit()
    certificates.issue_certificate(db, cert.id, boss, NOW)
    db.commit()
    html = page(volunteer.get("/me/milestones", headers={"Accept-Language": "en"}))
    assert f"/me/certificates/{cert.id}.pdf" in html
    assert "/me/certificates/request" not in html and "Ask the unit" not in html
    assert "shows all your verified hours" in html
    r = volunteer.post("/me/certificates/request", {})
    assert r.status_code == 400
    db.rollback()
    assert len(certificates.certificates_of(db, me.id)) == 1
    # hours verified since: the request is for an updated certificate
    serve(db, unit, place, me, 2.5, dt.datetime(2026, 3, 1, 9, tzinfo=TAIPEI))
    html = page(volunteer.get("/me/milestones", headers={"Accept-Language": "en"}))
    assert "/me/certificates/request" in html and "Ask the unit for an updated certificate" in html
    assert f"2 h 30 min verified since certificate {cert.serial}" in words(html)
    assert volunteer.post("/me/certificates/request", {}).status_code == 302


def pdf_text(data: bytes, tmp_path) -> str:
    path = tmp_path / "certificate.pdf"
    path.write_bytes(data)
    return subprocess.run(["pdftotext", "-raw", str(path), "-"], check=True, capture_output=True,
                          text=True).stdout


@needs_poppler
def test_certificate_pdf_is_a4_with_the_form_content(db, make, unit, place, tmp_path):
    from webapp.printing.performance import performance_pdf

    data = performance_pdf({
        "volunteer_name": "陳美麗", "volunteer_no": "5001", "birth_date": "1960-02-29",
        "record_book_no": "", "period_start": "2020-01-01", "period_end": "2026-02-28",
        "service_items": ["關懷訪視"], "service_minutes": 9000, "prior_minutes": 120,
        "unit_name": "臺北市測試協會", "issued_on": "2026-03-05", "serial": "P001-2026-00007"})
    text = pdf_text(data, tmp_path)
    for expected in ("志願服務績效證明書", "陳美麗", "中華民國 49 年 2 月 29 日", "（尚未核發）",
                     "累計 150 小時 00 分", "他單位紀錄時數", "2 小時 00 分", "P001-2026-00007",
                     "關懷訪視", "負責人："):
        assert expected in text, expected
    info = subprocess.run(["pdfinfo", str(tmp_path / "certificate.pdf")], capture_output=True,
                          text=True).stdout
    assert re.search(r"^Pages:\s+1$", info, re.M) and "595.28 x 841.89 pts (A4)" in info


def test_not_eligible_is_explained_and_refused(volunteer, admin, db, make, unit, place):
    me = volunteer.user.volunteer
    serve(db, unit, place, me, 126.5)
    html = page(volunteer.get("/me/milestones"))
    assert "還差 23 小時 30 分" in words(html)
    assert "/me/certificates/request" not in html
    r = volunteer.post("/me/certificates/request", {})
    assert r.status_code == 400 and "尚未符合" in page(r)
    start = page(admin.get(f"/admin/certificates/new?volunteer_id={me.id}"))
    assert "還差 23 小時 30 分" in words(start) and 'action="/admin/certificates/new"' not in start
    r = admin.post("/admin/certificates/new", {"volunteer_id": me.id})
    assert r.status_code == 400
    db.rollback()
    db.expire_all()
    assert db.scalars(select(certificates.PerformanceCertificate)).all() == []


def test_a_request_no_longer_eligible_is_refused_in_the_readers_words(admin, volunteer, db, make,
                                                                      unit, place):
    """Short of both hours and months (a plural message): refused with what is missing, worded
    as the eligibility pages word it, when requesting and when issuing a request made earlier."""
    me = volunteer.user.volunteer
    qualify(db, unit, place, me)
    staff = make.user(unit, role="admin")
    cert = certificates.request_certificate(db, me, staff, NOW - dt.timedelta(days=2))
    db.commit()
    # then a session is corrected down and the joining day turns out to be recent
    db.execute(ServiceSession.__table__.update().where(ServiceSession.volunteer_id == me.id,
                                                       ServiceSession.credited_minutes > 0)
               .values(credited_minutes=round(126.5 * 60)))
    me.joined_on = dt.date(2025, 7, 5)
    db.commit()
    r = admin.post(f"/admin/certificates/{cert.id}/issue", {}, hx=True)
    assert r.status_code == 400
    assert "尚未符合資格：還差 23 小時 30 分，年資還差 4 個月" in page(r)
    english = admin.post(f"/admin/certificates/{cert.id}/issue", {}, hx=True,
                         headers={"Accept-Language": "en"})
    assert "23 h 30 min more service and 4 more months of service needed" in page(english)
    db.rollback()
    db.expire_all()
    assert db.get(certificates.PerformanceCertificate, cert.id).status == \
        certificates.CertificateStatus.requested
    other = make.volunteer(unit, joined_on=dt.date(2025, 7, 5))
    serve(db, unit, place, other, 126.5)
    with pytest.raises(certificates.NotEligible) as refused:
        certificates.request_certificate(db, other, staff, NOW)
    assert str(refused.value) == ("Not eligible yet: 23 h 30 min more service and 4 more months "
                                  "of service needed")
    db.rollback()


def test_admin_starts_a_certificate_for_a_volunteer(admin, db, make, unit, place):
    vol = make.volunteer(unit, name_zh="張退場")
    qualify(db, unit, place, vol)
    start = admin.get(f"/admin/certificates/new?volunteer_id={vol.id}")
    assert start.status_code == 200
    html = page(start)
    assert "張退場" in html and 'action="/admin/certificates/new"' in html
    assert admin.get(f"/admin/certificates/new?volunteer_no={vol.volunteer_no}").status_code == 200
    assert admin.get("/admin/certificates/new?volunteer_no=nobody").status_code == 302
    stranger = make.volunteer(make.unit())
    assert admin.get(f"/admin/certificates/new?volunteer_id={stranger.id}").status_code == 404
    assert admin.get("/admin/certificates/new?volunteer_id=x").status_code == 302  # says what to enter
    r = admin.post("/admin/certificates/new", {"volunteer_id": vol.id, "note": "退場時提供"})
    assert r.status_code == 302
    db.rollback()
    db.expire_all()
    cert = db.scalar(select(certificates.PerformanceCertificate))
    assert cert.requested_by_id == admin.user.id and cert.note == "退場時提供"
    assert "已有申請中的請求" in page(admin.get(f"/admin/certificates/new?volunteer_id={vol.id}"))
    assert admin.post("/admin/certificates/new", {"volunteer_id": stranger.id}).status_code == 404
    assert admin.post("/admin/certificates/new", {"volunteer_id": vol.id,
                                                  "note": "x" * 301}).status_code == 400


def test_overdue_requests_are_highlighted(admin, db, make, unit, place):
    vol = make.volunteer(unit)
    qualify(db, unit, place, vol)
    staff = make.user(unit, role="admin")
    cert = certificates.request_certificate(db, vol, staff, NOW - dt.timedelta(days=8))
    db.commit()
    assert cert.due_on == TODAY - dt.timedelta(days=1)
    html = page(admin.get("/admin/certificates/"))
    row = html[html.index(f'id="cert-{cert.id}"'):]
    row = row[:row.index("</tr>")]
    assert 'class="overdue"' in row and "逾期" in row
    home = page(admin.get("/admin/awards/deadlines"))
    assert "1 件績效證明書申請待處理" in home and "1 件逾期" in home


def test_certificate_numbers_are_consecutive_per_unit_and_given_back_on_rollback(db, make, unit, place):
    staff = make.user(unit, role="admin")
    vols = [make.volunteer(unit) for _ in range(3)]
    for v in vols:
        qualify(db, unit, place, v)
    requested = [certificates.request_certificate(db, v, staff, NOW) for v in vols]
    db.commit()
    certificates.issue_certificate(db, requested[0].id, staff, NOW)
    db.rollback()  # the number goes back
    issued = []
    for c in requested:
        issued.append(certificates.issue_certificate(db, c.id, staff, NOW).serial)
        db.commit()
    assert issued == [f"P{unit.id:03d}-2026-{n:05d}" for n in (1, 2, 3)]
    other = make.unit()
    o_staff = make.user(other, role="admin")
    ov = make.volunteer(other)
    qualify(db, other, (make.site(other), make.item(other)), ov)
    oc = certificates.request_certificate(db, ov, o_staff, NOW)
    db.commit()
    assert certificates.issue_certificate(db, oc.id, o_staff, NOW).serial == f"P{other.id:03d}-2026-00001"
    with pytest.raises(PermissionError):
        certificates.issue_certificate(db, requested[0].id, o_staff, NOW)
    db.rollback()


def test_only_my_certificates(volunteer, app, make, db, unit, place):
    staff = make.user(unit, role="admin")
    other = make.volunteer(unit)
    qualify(db, unit, place, other)
    cert = certificates.request_certificate(db, other, staff, NOW)
    certificates.issue_certificate(db, cert.id, staff, NOW)
    db.commit()
    assert volunteer.get(f"/me/certificates/{cert.id}.pdf").status_code == 404
    assert volunteer.get("/me/certificates/999999.pdf").status_code == 404


# --- milestones -------------------------------------------------------------------------------------

def test_milestones_explain_progress(volunteer, db, make, unit, place):
    me = volunteer.user.volunteer
    from sqlalchemy import update

    from models.training import TrainingRecord

    db.execute(update(TrainingRecord).where(TrainingRecord.volunteer_id == me.id)
               .values(completed_on=dt.date(2025, 11, 1)))
    db.commit()
    serve(db, unit, place, me, 126.5, dt.datetime(2025, 12, 1, 10, tzinfo=TAIPEI))
    html = page(volunteer.get("/me/milestones"))
    assert "還差 23 小時 30 分，年資還差 8 個月" in words(html)  # training completed 2025-11-01: 4 months
    assert 'data-award="honour_card"' in html and 'data-award="mohw"' in html
    assert 'data-award="golden_diamond_team"' not in html
    assert '<progress id="hours-performance_certificate" max="100" value="84"' in html
    assert "/me/milestones" in page(volunteer.get("/"))


def test_milestones_name_the_award_in_the_readers_language(volunteer, db, unit, place):
    """The review read "Eligible for Certificate with 160 h …": a level's name where the
    sentence needs the award's."""
    me = volunteer.user.volunteer
    serve(db, unit, place, me, 160, dt.datetime(2025, 12, 1, 10, tzinfo=TAIPEI))
    english = page(volunteer.get("/me/milestones", headers={"Accept-Language": "en"}))
    assert ("Volunteer service performance certificate: eligible with 160 h 00 min counted "
            "to 2026-03-05") in words(english)
    assert "Eligible for Certificate" not in english and "績效證明書" not in english
    assert "可申請志願服務績效證明書：計至 2026-03-05 共 160 小時 00 分" in words(page(
        volunteer.get("/me/milestones")))


def _milestone_cards(html: str) -> dict[str, tuple[str, list[str]]]:
    """award key -> (the card's heading, its small lines), as the volunteer reads them."""
    import html as html_module

    cards = {}
    for key, body in re.findall(r'data-award="([^"]+)">(.*?)</section>', html, re.S):
        heading = re.search(r"<h2>(.*?)</h2>", body, re.S).group(1)
        small = re.findall(r'<p class="small muted"[^>]*>(.*?)</p>', body, re.S)
        cards[key] = (html_module.unescape(heading.strip()),
                      [html_module.unescape(re.sub(r"<[^>]+>", "", s)) for s in small])
    return cards


@pytest.mark.parametrize("lang", ["zh-TW", "en"])
def test_milestones_say_which_hours_count_for_the_next_application(volunteer, db, unit, place,
                                                                     lang):
    """On 2026-03-05 the national award counts hours to 2026-05-31 (a day ahead): the card says
    hours served until then count toward the application filed by 31 July; MOHW's hours to
    2025-12-31 are for the application filed by 31 March. An award of one level is not named
    twice ("志願服務榮譽卡 · 榮譽卡")."""
    serve(db, unit, place, volunteer.user.volunteer, 10, dt.datetime(2025, 12, 1, 10, tzinfo=TAIPEI))
    cards = _milestone_cards(page(volunteer.get("/me/milestones", headers={"Accept-Language": lang})))
    zh = lang == "zh-TW"
    national, mohw, card = cards["national"][1][0], cards["mohw"][1][0], cards["honour_card"][1][0]
    if zh:
        assert national == "服務到 2026-05-31 為止的時數，都計入下一次申請（單位於 2026-07-31 前送件）。"
        assert mohw == "時數計至 2025-12-31，用於單位於 2026-03-31 前送件的申請。"
        assert card == "時數計至 2026-03-05"
        assert cards["honour_card"][0] == "志願服務榮譽卡"
        assert cards["golden_diamond"][0] == "金鑽獎 優良志工"
        assert cards["taipei_contribution"][0] == "臺北市志願服務貢獻獎"
        assert cards["national"][0] == "志願服務獎勵 · 銅牌"
        assert cards["mohw"][0] == "衛生福利志願服務獎勵 · 銅質徽章"
    else:
        assert national == ("Hours served until 2026-05-31 count toward the next application, "
                            "which the unit files by 2026-07-31.")
        assert mohw == "Hours counted to 2025-12-31, for the application the unit files by 2026-03-31."
        assert card == "Counted to 2026-03-05"
        assert cards["honour_card"][0] == "Volunteer honour card"
        assert cards["golden_diamond"][0] == "Golden Diamond volunteer"
        assert cards["national"][0] == "National volunteer service award · Bronze"


def test_milestones_count_toward_the_next_round_of_windowed_awards(db, make, unit, place):
    """In December, hours served since 31 May count toward next year's national award (hours
    to 31 May, due 31 July) and this year's hours toward next March's MOHW award (hours to the
    previous 31 December), as in the deadline calendar."""
    vol = make.volunteer(unit)
    serve(db, unit, place, vol, 40, dt.datetime(2026, 3, 1, 10, tzinfo=TAIPEI))
    serve(db, unit, place, vol, 60, dt.datetime(2026, 9, 1, 10, tzinfo=TAIPEI))
    by_key = {m.eligibility.award_key: m.eligibility
              for m in rec.milestones(db, vol, dt.date(2026, 12, 3))}
    assert by_key["national"].counted_to == dt.date(2027, 5, 31)
    assert by_key["national"].counted_minutes == 100 * 60
    assert by_key["mohw"].counted_to == dt.date(2026, 12, 31)
    assert by_key["mohw"].counted_minutes == 100 * 60
    assert by_key["honour_card"].counted_to == dt.date(2026, 12, 3)
    # in April, MOHW's round of this year is past: progress counts toward next March's
    april = {m.eligibility.award_key: m.eligibility for m in rec.milestones(db, vol, dt.date(2026, 4, 2))}
    assert april["mohw"].counted_to == dt.date(2026, 12, 31)
    assert april["national"].counted_to == dt.date(2026, 5, 31) and april["national"].counted_minutes == 40 * 60


# --- who may use what ---------------------------------------------------------------------------

ADMIN_GETS = ["/admin/awards/", "/admin/awards/deadlines", "/admin/awards/mohw",
              "/admin/awards/mohw/export.xlsx", "/admin/certificates/"]


@pytest.mark.parametrize("url", ADMIN_GETS)
def test_admin_pages_for_admins_only(url, admin, supervisor, volunteer, anon):
    assert admin.get(url).status_code == 200
    assert supervisor.get(url).status_code == 403
    assert volunteer.get(url).status_code == 403
    assert anon.get(url).status_code == 302


@pytest.mark.parametrize("url", ["/me/milestones"])
def test_volunteer_pages_for_volunteers_only(url, admin, supervisor, volunteer, anon):
    assert volunteer.get(url).status_code == 200
    assert admin.get(url).status_code == 403
    assert supervisor.get(url).status_code == 403
    assert anon.get(url).status_code == 302


def test_posts_are_role_checked_and_csrf_protected(admin, supervisor, volunteer, db, make, unit,
                                                   place):
    vol = make.volunteer(unit)
    qualify(db, unit, place, vol)
    staff = make.user(unit, role="admin")
    cert = certificates.request_certificate(db, vol, staff, NOW)
    db.commit()
    for who in (supervisor, volunteer):
        assert who.post(f"/admin/certificates/{cert.id}/issue", {}, hx=True).status_code == 403
        assert who.post("/admin/certificates/new", {"volunteer_id": vol.id}).status_code == 403
        assert who.post("/admin/awards/mohw/record", {"volunteer_id": vol.id, "level": 1,
                                                     "status": "applied", "on": "2026-03-01"}
                        ).status_code == 403
    assert admin.post("/me/certificates/request", {}).status_code == 403
    assert supervisor.post("/me/certificates/request", {}).status_code == 403
    # no CSRF token: refused, nothing changes
    r = admin.client.post(f"/admin/certificates/{cert.id}/issue", data={})
    assert r.status_code == 400
    db.rollback()
    db.expire_all()
    assert db.get(certificates.PerformanceCertificate, cert.id).status == certificates.CertificateStatus.requested
    assert admin.post(f"/admin/certificates/{cert.id}/issue", {}, hx=True).status_code == 200
    assert admin.get("/admin/certificates/999999.pdf").status_code == 404
    # an admin of another unit cannot see or issue it
    db.rollback()
    outsider = make.user(make.unit(), role="admin")
    from tests.conftest import HttpUser

    other_admin = HttpUser(admin.client.application.test_client())
    assert other_admin.sign_in(outsider.email, make.PASSWORD).status_code == 302
    assert other_admin.get(f"/admin/certificates/{cert.id}.pdf").status_code == 404
    assert other_admin.post(f"/admin/certificates/{cert.id}/issue", {}, hx=True).status_code == 404


# --- concurrency and exits ------------------------------------------------------------------------

def _issue_in_threads(app, actor_id, jobs):
    """issue_certificate in one thread per job (certificate id), all at once, as requests do."""
    import threading

    from models.base import begin_write
    from models.people import User

    Session = app.extensions["hourbook_db"]["sessionmaker"]
    barrier = threading.Barrier(len(jobs))
    results, errors = [], []

    def work(cert_id):
        session = Session()
        try:
            barrier.wait()
            begin_write(session)
            actor = session.get(User, actor_id)
            results.append(certificates.issue_certificate(session, cert_id, actor, NOW).serial)
            session.commit()
        except certificates.CertificateError:
            session.rollback()
            results.append("refused")
        except Exception as exc:  # noqa: BLE001 - reported below
            session.rollback()
            errors.append(repr(exc))
        finally:
            session.close()

    threads = [threading.Thread(target=work, args=(job,)) for job in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results, errors


def test_concurrent_issuers_get_consecutive_numbers_and_issue_once(app, db, make, unit, place):
    staff = make.user(unit, role="admin")
    vols = [make.volunteer(unit) for _ in range(5)]
    for v in vols:
        qualify(db, unit, place, v)
    certs = [certificates.request_certificate(db, v, staff, NOW).id for v in vols]
    db.commit()
    # five requests, and the first one asked for twice at the same moment
    results, errors = _issue_in_threads(app, staff.id, [*certs, certs[0]])
    assert errors == []
    assert results.count("refused") == 1
    serials = sorted(r for r in results if r != "refused")
    assert serials == [f"P{unit.id:03d}-2026-{n:05d}" for n in range(1, 6)]
    db.rollback()
    db.expire_all()
    assert sorted(db.scalars(select(certificates.PerformanceCertificate.seq))) == [1, 2, 3, 4, 5]
    assert len(db.scalars(select(aw.AwardGrant)).all()) == 5  # one grant per certificate


def test_a_volunteer_who_left_can_be_given_a_certificate(admin, db, make, unit, place):
    """The exit page links to the start form: it works for inactive volunteers too."""
    from models.people import VolunteerStatus

    vol = make.volunteer(unit, name_zh="離隊志工")
    qualify(db, unit, place, vol)
    vol.status, vol.left_on = VolunteerStatus.inactive, dt.date(2026, 3, 1)
    db.commit()
    html = page(admin.get(f"/admin/certificates/new?volunteer_id={vol.id}"))
    assert "離隊志工" in html and "已離隊" in html and 'action="/admin/certificates/new"' in html
    assert admin.post("/admin/certificates/new", {"volunteer_id": vol.id}).status_code == 302
    db.rollback()
    cert = db.scalar(select(certificates.PerformanceCertificate))
    assert admin.post(f"/admin/certificates/{cert.id}/issue", {}, hx=True).status_code == 200


# --- a performance certificate from an earlier unit -----------------------------------------------

def test_a_certificate_from_an_earlier_unit_counts_for_the_national_award(admin, supervisor, db,
                                                                           make, unit):
    """A newcomer with 4,000 record-book hours and the performance certificate their previous
    unit issued: the admin records the certificate on the record-book page, and the national
    award's list proposes the bronze medal, saying which certificate counted."""
    from models import prior_service

    vol = make.volunteer(unit, name_zh="新志工", joined_on=dt.date(2026, 1, 10))
    prior_service.add_prior_hours(db, vol, None, source_unit="臺北市立圖書館",
                                period_start=dt.date(2012, 1, 1), period_end=dt.date(2025, 12, 31),
                                minutes=4000 * 60)
    db.commit()
    national = next(e for e in aw.eligibility(db, vol, TODAY) if e.award_key == "national")
    assert not national.eligible and national.missing_minutes == 0
    assert national.missing_conditions == ["performance_certificate"]
    assert aw.explain(national).startswith("Needs a performance certificate first: this unit's, "
                                           "or one from an earlier unit")
    # this unit cannot issue one yet: it certifies its own service only
    assert not next(e for e in aw.eligibility(db, vol, TODAY)
                    if e.award_key == "performance_certificate").eligible
    assert "新志工" not in page(admin.get("/admin/awards/national?as_of=2026-03-05"))

    base = f"/admin/record-book/volunteers/{vol.id}"
    good = {"issuing_unit": "臺北市立圖書館", "issued_on": "2025-12-20",
            "certificate_no": "北市圖志績字第0123號"}
    for bad in ({**good, "issued_on": "2099-01-01"}, {**good, "certificate_no": ""},
                {**good, "issuing_unit": " "}, {**good, "issued_on": "1989-12-31"}):
        assert admin.post(base + "/certificates", bad).status_code == 400
    assert supervisor.post(base + "/certificates", good).status_code == 403
    assert admin.post(base + "/certificates", {**good, "csrf_token": "forged"}).status_code == 400
    assert prior_service.prior_certificates_of(db, vol.id) == []
    r = admin.post(base + "/certificates", good)
    assert r.status_code == 302 and r.headers["Location"].endswith("#certificates")
    [entry] = audits(db, "prior_certificate_add")
    assert entry.actor_user_id == admin.user.id and "北市圖志績字第0123號" in entry.after
    shown = page(admin.get(base))
    assert "臺北市立圖書館" in shown and "北市圖志績字第0123號" in shown and "2025-12-20 核發" in shown
    twice = admin.post(base + "/certificates", good)
    assert twice.status_code == 400 and "已經登錄過了" in page(twice)

    listed = page(admin.get("/admin/awards/national?as_of=2026-03-05"))
    row = listed.split(f'id="award-row-{vol.id}"')[1].split("</tr>")[0]
    assert "銅牌" in row
    assert "績效證明書：臺北市立圖書館 北市圖志績字第0123號（2025-12-20 核發）" in words(row)
    db.rollback()
    national = next(e for e in aw.eligibility(db, vol, TODAY) if e.award_key == "national")
    assert national.eligible and national.level == 1
    assert national.certificate == {"source": "earlier_unit", "issued_on": dt.date(2025, 12, 20),
                                    "number": "北市圖志績字第0123號", "unit": "臺北市立圖書館"}
    assert aw.explain(national).endswith("; performance certificate 北市圖志績字第0123號 from "
                                         "臺北市立圖書館, issued 2025-12-20")
    [(_v, [bulk])] = rec.unit_eligibility(db, unit.id, TODAY, ["national"], volunteers=[vol])
    assert (bulk.eligible, bulk.certificate, bulk.message) == (True, national.certificate,
                                                              national.message)
    # not before the day it was issued
    before = next(e for e in aw.eligibility(db, vol, dt.date(2025, 12, 19))
                  if e.award_key == "national")
    assert before.missing_conditions == ["performance_certificate"]

    # deleted (typed for the wrong volunteer): the award needs a certificate again
    [cert] = prior_service.prior_certificates_of(db, vol.id)
    assert admin.get(f"/admin/record-book/certificates/{cert.id}/delete").status_code == 200
    assert admin.post(f"/admin/record-book/certificates/{cert.id}/delete").status_code == 302
    assert audits(db, "prior_certificate_delete")[-1].actor_user_id == admin.user.id
    assert "新志工" not in page(admin.get("/admin/awards/national?as_of=2026-03-05"))


def test_this_units_certificate_is_named_too(db, make, unit, place):
    [spec] = [c.values[0] for c in HISTORIES if c.id == "30-national-3000h-with-certificate"]
    vol = build(db, make, unit, place, spec)
    national = next(e for e in aw.eligibility(db, vol, dt.date(2026, 6, 15))
                    if e.award_key == "national")
    assert national.eligible and national.certificate["source"] == "this_unit"
    assert aw.explain(national).endswith("; this unit's performance certificate of 2025-01-10")


# --- Golden Diamond family -------------------------------------------------------------------------

def _years(db, vol, since):
    from sqlalchemy import update

    from models.training import TrainingRecord

    db.execute(update(TrainingRecord).where(TrainingRecord.volunteer_id == vol.id)
               .values(completed_on=since))
    db.commit()


def test_a_family_qualifies_with_two_members_meeting_years_and_hours(admin, db, make, unit, place):
    mother = make.volunteer(unit, name_zh="林母")
    son = make.volunteer(unit, name_zh="林子")
    daughter = make.volunteer(unit, name_zh="林女")
    serve(db, unit, place, mother, 700)
    serve(db, unit, place, son, 600)
    serve(db, unit, place, daughter, 650)
    _years(db, daughter, dt.date(2024, 1, 1))  # 2 years only
    r = admin.post("/admin/awards/families", {
        "name": "林家", "numbers": f"{mother.volunteer_no}，{daughter.volunteer_no}"})
    assert r.status_code == 302
    html = page(admin.get("/admin/awards/families?as_of=2026-03-05"))
    assert "林家" in html and 'data-qualifies="no"' in html  # the daughter is short of 3 years
    assert "26 個月" in html
    db.rollback()
    family = db.scalar(select(gf.AwardFamily))
    assert [e.action for e in audits(db, "award_family_created")] == ["award_family_created"]
    # the son joins in a new family with the mother? she is already in one
    r = admin.post("/admin/awards/families", {"name": "另一家",
                                             "numbers": f"{son.volunteer_no} {mother.volunteer_no}"})
    assert r.status_code == 400 and "林母 已在另一個家庭中" in page(r)
    # remove and regroup: mother and son both meet 3 years and 600 hours
    assert admin.post(f"/admin/awards/families/{family.id}/delete", {}).status_code == 302
    assert audits(db, "award_family_deleted")[-1].actor_user_id == admin.user.id
    r = admin.post("/admin/awards/families", {
        "name": "林家", "numbers": f"{mother.volunteer_no},{son.volunteer_no},{daughter.volunteer_no}"})
    assert r.status_code == 302
    html = page(admin.get("/admin/awards/families?as_of=2026-03-05"))
    assert 'data-qualifies="yes"' in html
    calendar = page(admin.get("/admin/awards/deadlines"))
    assert "金鑽獎 家庭</strong>：1 個家庭符合，7 月 15 日截止" in calendar
    db.rollback()
    facts = gf.family_list(db, unit.id, TODAY)[0]
    assert [m.meets for m in facts.members] == [True, True, False] and facts.qualifies
    # 599.9 h is not 600 h
    db.rollback()
    other = make.unit()
    o_place = (make.site(other), make.item(other))
    a, b = make.volunteer(other), make.volunteer(other)
    serve(db, other, o_place, a, 600)
    serve(db, other, o_place, b, 599.9)
    gf.create_family(db, other.id, "王家", [a.volunteer_no, b.volunteer_no], None)
    db.commit()
    [f] = gf.family_list(db, other.id, TODAY)
    assert [m.meets for m in f.members] == [True, False] and not f.qualifies


def test_the_family_thresholds_come_from_the_rule(admin, db, make, unit, place):
    """The family's numbers are its rule's data: more members, more hours or more months there
    change who qualifies and what the family page says."""

    mother, son = make.volunteer(unit, name_zh="林母"), make.volunteer(unit, name_zh="林子")
    serve(db, unit, place, mother, 700)
    serve(db, unit, place, son, 650)
    gf.create_family(db, unit.id, "林家", [mother.volunteer_no, son.volunteer_no], None)
    db.commit()
    html = page(admin.get("/admin/awards/families?as_of=2026-03-05"))
    assert "至少 2 位有親屬關係的志工，每位至少服務 600 小時、年資滿 36 個月" in html
    assert "3 years and 600 hours" not in html and 'data-qualifies="yes"' in html
    award_rules.seed_rules(db)
    rule = db.scalar(select(award_rules.AwardRule).where(award_rules.AwardRule.key == "golden_diamond_family"))
    rule.thresholds = {**rule.thresholds, "member_minutes": 680 * 60}
    db.commit()
    [f] = gf.family_list(db, unit.id, TODAY)
    assert [m.meets for m in f.members] == [True, False] and not f.qualifies
    rule.thresholds = {**rule.thresholds, "member_minutes": 600 * 60, "min_members": 3}
    db.commit()
    [f] = gf.family_list(db, unit.id, TODAY)
    assert all(m.meets for m in f.members) and not f.qualifies
    html = page(admin.get("/admin/awards/families?as_of=2026-03-05"))
    assert "至少 3 位有親屬關係的志工" in html and 'data-qualifies="no"' in html
    rules = page(admin.get("/admin/awards/")).split('id="rule-golden_diamond_family"')[1]
    assert "至少 3 位符合成員條件" in rules.split("</div>")[0]
    assert "每位至少服務 600 小時、年資滿 36 個月" in rules.split("</div>")[0]
    volunteer_rule = page(admin.get("/admin/awards/")).split('id="rule-golden_diamond"')[1]
    assert "年資只計在臺北市的服務" in volunteer_rule.split("</div>")[0]


def test_families_xlsx_for_filing(admin, supervisor, db, make, unit, place):
    from openpyxl import load_workbook

    mother = make.volunteer(unit, name_zh="林母")
    son = make.volunteer(unit, name_zh="林子")
    serve(db, unit, place, mother, 700)
    serve(db, unit, place, son, 599.9)
    gf.create_family(db, unit.id, "林家", [mother.volunteer_no, son.volunteer_no], None)
    db.commit()
    html = page(admin.get("/admin/awards/families?as_of=2026-03-05"))
    assert 'href="/admin/awards/families/export.xlsx?as_of=2026-03-05"' in html
    r = admin.get("/admin/awards/families/export.xlsx?as_of=2026-03-05")
    assert r.status_code == 200 and r.mimetype.endswith("spreadsheetml.sheet")
    assert "golden_diamond_family-20260305.xlsx" in r.headers["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(r.get_data())).active
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    assert rows[0][0] == "金鑽獎 家庭（2026-03-05）"
    header, data = rows[1], [dict(zip(rows[1], line)) for line in rows[2:]]
    assert header[:4] == ["序號", "家庭", "志工編號", "姓名"]
    assert [(d["姓名"], d["身分證統一編號"], d["採計時數"], d["成員符合個人條件"], d["家庭是否符合"])
            for d in data] == [("林母", mother.id_number, 700, "是", "未符合"),
                               ("林子", son.id_number, 599.9, "否", "未符合")]
    entry = audits(db, "id_number_export")[-1]  # full ID numbers: in the access log
    assert entry.actor_user_id == admin.user.id and "golden_diamond_family" in entry.after
    assert admin.get("/admin/awards/families/export.xlsx?as_of=soon").status_code == 400
    assert supervisor.get("/admin/awards/families/export.xlsx").status_code == 403


def test_families_xlsx_says_what_each_member_still_lacks(admin, db, make, unit, place):
    """The family page says what a member still lacks ("還差 0 小時 06 分"); the filing XLSX only
    said 否. Its 尚缺 column holds the page's words (awards.shortfall_message), in Chinese
    whoever downloads it, and nothing for a member who meets the hours and years."""
    from openpyxl import load_workbook

    mother = make.volunteer(unit, name_zh="林母")
    son = make.volunteer(unit, name_zh="林子")
    daughter = make.volunteer(unit, name_zh="林女")
    serve(db, unit, place, mother, 700)
    serve(db, unit, place, son, 599.9)
    serve(db, unit, place, daughter, 590)
    _years(db, daughter, dt.date(2024, 1, 1))  # 26 months of the 36
    gf.create_family(db, unit.id, "林家", [mother.volunteer_no, son.volunteer_no,
                                          daughter.volunteer_no], None)
    db.commit()
    html = page(admin.get("/admin/awards/families?as_of=2026-03-05"))
    shown = [words(s.split("</small>")[0]) for s in html.split('class="shortfall">')[1:]]
    assert shown == ["還差 0 小時 06 分", "還差 10 小時 00 分，臺北市年資還差 10 個月"]
    for headers in ({}, {"Accept-Language": "en"}):
        r = admin.get("/admin/awards/families/export.xlsx?as_of=2026-03-05", headers=headers)
        sheet = load_workbook(io.BytesIO(r.get_data())).active
        rows = [[c.value for c in row] for row in sheet.iter_rows()]
        header = rows[1]
        assert header.index("尚缺") == header.index("成員符合個人條件") + 1
        data = [dict(zip(header, line)) for line in rows[2:]]
        assert [(d["姓名"], d["成員符合個人條件"], d["尚缺"]) for d in data] == [
            ("林母", "是", None), ("林子", "否", shown[0]), ("林女", "否", shown[1])], headers


def test_family_input_is_checked(admin, db, make, unit):
    vol = make.volunteer(unit)
    stranger = make.volunteer(make.unit())
    for data, message in [({"name": "", "numbers": f"{vol.volunteer_no} 1"}, "請填寫家庭名稱"),
                          ({"name": "家", "numbers": vol.volunteer_no}, "至少要有 2 位志工"),
                          ({"name": "家", "numbers": f"{vol.volunteer_no} {vol.volunteer_no}"},
                           "至少要有 2 位志工"),
                          ({"name": "家", "numbers": f"{vol.volunteer_no} {stranger.volunteer_no}"},
                           f"沒有編號 {stranger.volunteer_no} 的志工"),
                          ({"name": "家" * 61, "numbers": f"{vol.volunteer_no} 1"}, "最多 60 個字元")]:
        r = admin.post("/admin/awards/families", data)
        assert r.status_code == 400 and message in page(r), data
    db.rollback()
    assert db.scalars(select(gf.AwardFamily)).all() == []
    assert admin.post("/admin/awards/families/999999/delete", {}).status_code == 404


def test_family_pages_for_admins_only(admin, supervisor, volunteer, anon, db, make, unit):
    a, b = make.volunteer(unit), make.volunteer(unit)
    family = gf.create_family(db, unit.id, "陳家", [a.volunteer_no, b.volunteer_no], None)
    db.commit()
    assert admin.get("/admin/awards/families").status_code == 200
    for who in (supervisor, volunteer):
        assert who.get("/admin/awards/families").status_code == 403
        assert who.post("/admin/awards/families", {"name": "x", "numbers": "1 2"}).status_code == 403
        assert who.post(f"/admin/awards/families/{family.id}/delete", {}).status_code == 403
    assert anon.get("/admin/awards/families").status_code == 302
    # another unit's admin cannot remove it
    db.rollback()
    outsider = make.user(make.unit(), role="admin")
    from tests.conftest import HttpUser

    other_admin = HttpUser(admin.client.application.test_client())
    assert other_admin.sign_in(outsider.email, make.PASSWORD).status_code == 302
    assert other_admin.post(f"/admin/awards/families/{family.id}/delete", {}).status_code == 404
    assert "陳家" not in page(other_admin.get("/admin/awards/families"))


def test_starting_a_certificate_without_a_number_says_what_to_enter(admin):
    """下一步 with the number field empty (or an address without one) lands back on the
    certificates page with a message, never on a 404 page."""
    for url in ("/admin/certificates/new?volunteer_no=", "/admin/certificates/new",
                "/admin/certificates/new?volunteer_id=abc"):
        response = admin.get(url)
        assert response.status_code == 302 and response.headers["Location"].endswith("/admin/certificates/")
        assert "請輸入要開立證明書的志工編號" in page(admin.get("/admin/certificates/"))


def test_a_certificate_starts_from_a_number_typed_full_width(admin, db, make, unit):
    """The review: １０１２ typed on a Chinese keyboard was "no volunteer with number １０１２"
    on the certificates page and in the family form (every lookup by number goes through
    people.volunteer_by_number)."""
    make.volunteer(unit, volunteer_no="1012", name_zh="全形號")
    db.commit()
    response = admin.get("/admin/certificates/new?volunteer_no=１０１２")
    assert response.status_code == 200 and "全形號" in page(response)
