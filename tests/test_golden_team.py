"""Golden Diamond team award (金鑽獎 團隊, issue #6): a site's team qualifies when it is at
least 3 years old, has at least 15 members, all insured, and at least 80 % hold a record book.
Boundaries of each condition, who counts as a member, a fixed number of queries, the admin page."""
import datetime as dt

from sqlalchemy import event

from models import golden_team as gt
from models import recognition as rec
from models.base import TAIPEI
from models.insurance import CoverKind, InsuranceCover
from models.people import VolunteerStatus
from models.service import ServiceSession, SessionSource, SessionStatus

AS_OF = dt.date(2026, 7, 1)
FOUNDED = dt.date(2023, 7, 1)  # exactly 3 years before AS_OF
RECENT = dt.date(2026, 5, 1)


def add_session(db, unit, site, item, vol, day, status=SessionStatus.verified):
    when = dt.datetime.combine(day, dt.time(10), tzinfo=TAIPEI)
    db.add(ServiceSession(unit_id=unit.id, volunteer_id=vol.id, site_id=site.id,
                          service_item_id=item.id, checked_in_at=when,
                          checked_out_at=when + dt.timedelta(hours=2), status=status,
                          credited_minutes=120 if status == SessionStatus.verified else 0,
                          source=SessionSource.manual))


def cover(db, vol, ends_on=AS_OF):
    db.add(InsuranceCover(volunteer_id=vol.id, kind=CoverKind.group, insurer="國泰產險",
                          policy_no=f"G-{vol.id}", starts_on=dt.date(2026, 1, 1), ends_on=ends_on))


def team(db, make, unit, n=15, insured=None, books=None, founded=FOUNDED, name=None):
    """A site whose first verified session is on `founded`, with `n` active volunteers who
    served there recently; the first `insured` have a cover valid on AS_OF, the first `books`
    a record-book number."""
    site = make.site(unit, **({"name_zh": name} if name else {}))
    item = make.item(unit)
    insured = n if insured is None else insured
    books = n if books is None else books
    vols = [make.volunteer(unit, trained=False, commit=False,
                           record_book_no=f"北市志字第{i + 1}號" if i < books else "")
            for i in range(n)]
    db.flush()
    for i, vol in enumerate(vols):
        if i < insured:
            cover(db, vol)
        add_session(db, unit, site, item, vol, RECENT)
    add_session(db, unit, site, item, vols[0], founded)
    db.commit()
    return site, item, vols


def facts_of(db, unit, site, as_of=AS_OF):
    return next(t for t in gt.team_list(db, unit.id, as_of) if t.site.id == site.id)


def missing(facts):
    return {c.key: c.params.get("num") for c in facts.missing}


def test_fifteen_members_qualify_fourteen_do_not(db, make, unit):
    big, _i, _v = team(db, make, unit, n=15)
    small, _i, _v = team(db, make, unit, n=14)
    t = facts_of(db, unit, big)
    assert t.eligible and len(t.members) == 15 and t.founded_on == FOUNDED and t.months == 36
    t = facts_of(db, unit, small)
    assert not t.eligible and missing(t) == {"members": 1}


def test_one_uninsured_member_is_enough_to_fail(db, make, unit):
    site, _i, vols = team(db, make, unit, n=15, insured=14)
    t = facts_of(db, unit, site)
    assert not t.eligible and missing(t) == {"insured": 1}
    assert [v.id for v in t.uninsured] == [vols[14].id]
    # a cover that ended the day before does not count; one ending on the day does
    cover(db, vols[14], ends_on=AS_OF - dt.timedelta(days=1))
    db.commit()
    assert missing(facts_of(db, unit, site)) == {"insured": 1}
    cover(db, vols[14], ends_on=AS_OF)
    db.commit()
    assert facts_of(db, unit, site).eligible


def test_record_books_79_percent_is_short_80_percent_qualifies(db, make, unit):
    short, _i, _v = team(db, make, unit, n=24, books=19)  # 79.2 %
    enough, _i, _v = team(db, make, unit, n=25, books=20)  # 80 %
    t = facts_of(db, unit, short)
    assert not t.eligible and missing(t) == {"record_book": 1} and t.book_percent == 79
    t = facts_of(db, unit, enough)
    assert t.eligible and t.book_percent == 80


def test_a_team_one_day_short_of_three_years(db, make, unit):
    young, _i, _v = team(db, make, unit, founded=FOUNDED + dt.timedelta(days=1))
    t = facts_of(db, unit, young)
    assert not t.eligible and missing(t) == {"age": 1} and t.months == 35
    next_day = facts_of(db, unit, young, AS_OF + dt.timedelta(days=1))
    assert next_day.months == 36 and "age" not in missing(next_day)  # (the covers end on AS_OF)


def test_inactive_volunteers_unverified_and_old_sessions_do_not_count(db, make, unit):
    site, item, vols = team(db, make, unit, n=15)
    vols[3].status = VolunteerStatus.inactive
    pending = make.volunteer(unit, trained=False, commit=False, record_book_no="北市志字第99號")
    former = make.volunteer(unit, trained=False, commit=False, record_book_no="北市志字第98號")
    db.flush()
    for vol in (pending, former):
        cover(db, vol)
    for status in (SessionStatus.closed, SessionStatus.needs_review, SessionStatus.rejected):
        add_session(db, unit, site, item, pending, RECENT, status)
    add_session(db, unit, site, item, former, dt.date(2025, 6, 30))  # 12 months + 1 day before
    db.commit()
    t = facts_of(db, unit, site)
    assert len(t.members) == 14 and vols[3] not in t.members
    assert not t.eligible and missing(t) == {"members": 1}
    # an unverified session before the first verified one does not make the team older
    add_session(db, unit, site, item, vols[0], dt.date(2020, 1, 1), SessionStatus.rejected)
    # the same day a year earlier is still inside the window
    add_session(db, unit, site, item, former, dt.date(2025, 7, 1))
    db.commit()
    t = facts_of(db, unit, site)
    assert t.founded_on == FOUNDED and len(t.members) == 15 and t.eligible
    # another unit's sites are not listed
    other = make.unit()
    team(db, make, other, n=2)
    assert {x.site.unit_id for x in gt.team_list(db, unit.id, AS_OF)} == {unit.id}


def test_a_site_without_service_explains_why(db, make, unit):
    empty = make.site(unit)
    t = facts_of(db, unit, empty)
    assert t.founded_on is None and not t.eligible
    assert missing(t) == {"age": None, "members": 15}


def test_a_fixed_number_of_statements(app, db, make, unit):
    engine = app.extensions["hourbook_db"]["engine"]
    statements = []

    def count(*_args):
        statements.append(1)

    def measure():
        db.expire_all()
        statements.clear()
        event.listen(engine, "before_cursor_execute", count)
        try:
            teams = gt.team_list(db, unit.id, AS_OF)
        finally:
            event.remove(engine, "before_cursor_execute", count)
        db.rollback()
        return len(statements), len(teams)

    team(db, make, unit, n=3)
    few = measure()
    for _ in range(3):
        team(db, make, unit, n=16, insured=10, books=5)
    many = measure()
    assert many[1] == few[1] + 3 and many[0] == few[0]


def test_the_calendar_counts_qualifying_teams(db, make, unit):
    team(db, make, unit, n=15)
    team(db, make, unit, n=14)
    got = {d.key: d for d in rec.deadlines(db, unit.id, AS_OF)}
    assert got["golden_diamond_team"].qualifying == 1
    assert got["golden_diamond_team"].due == dt.date(2026, 7, 15)


def test_the_admin_sees_the_teams_others_do_not(admin, supervisor, volunteer, anon, db, make,
                                                unit):
    team(db, make, unit, n=15, name="松山據點")
    _s, _i, vols = team(db, make, unit, n=14, insured=12, books=10, name="信義據點",
                        founded=dt.date(2024, 2, 1))
    html = admin.get("/admin/awards/teams?as_of=2026-07-01").get_data(as_text=True)
    assert "金鑽獎 團隊" in html
    qualifying = html.split("松山據點")[1].split("</article>")[0]
    assert "符合" in qualifying and "四項條件都符合" in qualifying
    short = html.split("信義據點")[1].split("</article>")[0]
    for text in ("團隊成立還差 7 個月", "還差 1 位成員", "2 位沒有有效保險",
                 "還差 2 位成員持有紀錄冊"):
        assert text in short, text
    assert f"沒有有效保險：{vols[12].name_zh}、{vols[13].name_zh}" in short
    assert 'data-qualifies="yes"' in html and 'data-qualifies="no"' in html
    assert admin.get("/admin/awards/teams?as_of=soon").status_code == 400
    assert "/admin/awards/teams" in admin.get("/admin/awards/").get_data(as_text=True)
    for who in (supervisor, volunteer):
        assert who.get("/admin/awards/teams").status_code == 403
    assert anon.get("/admin/awards/teams").status_code == 302


def test_the_teams_xlsx_lists_teams_what_is_missing_and_members(admin, supervisor, db, make,
                                                                   unit):
    import io

    from openpyxl import load_workbook

    from models.audit import AuditEntry
    from sqlalchemy import select

    team(db, make, unit, n=15, name="松山據點")
    team(db, make, unit, n=14, insured=12, books=10, name="信義據點", founded=dt.date(2024, 2, 1))
    r = admin.get("/admin/awards/teams/export.xlsx?as_of=2026-07-01",
                  headers={"Accept-Language": "en"})  # a filing list is in Chinese anyway
    assert r.status_code == 200 and "golden_diamond_team-20260701.xlsx" in r.headers["Content-Disposition"]
    book = load_workbook(io.BytesIO(r.get_data()))
    assert book.sheetnames == ["團隊", "成員"]
    rows = [[c.value for c in row] for row in book["團隊"].iter_rows()]
    assert rows[0][0] == "金鑽獎 團隊（2026-07-01）"
    teams = {line[1]: dict(zip(rows[1], line)) for line in rows[2:]}
    assert teams["松山據點"]["結果"] == "符合" and teams["松山據點"]["未符合的條件"] is None
    short = teams["信義據點"]
    assert (short["成員數"], short["有效保險人數"], short["持紀錄冊人數"], short["紀錄冊比例（%）"]) == \
        (14, 12, 10, 71)
    # counts and months are numbers a spreadsheet can sum; names and dates stay text
    header = rows[1]
    for line in book["團隊"].iter_rows(min_row=3):
        types = {h: c.data_type for h, c in zip(header, line) if c.value is not None}
        for h in ("序號", "團隊年資（月）", "成員數", "有效保險人數", "持紀錄冊人數", "紀錄冊比例（%）"):
            assert types[h] == "n", h
        assert types["團隊（服務地點）"] == "s" and types["首次服務日"] == "s"
    assert all(row[0].data_type == "n" for row in book["成員"].iter_rows(min_row=2))
    assert short["結果"] == "未符合"
    for text in ("團隊成立還差 7 個月", "還差 1 位成員", "2 位沒有有效保險", "還差 2 位成員持有紀錄冊"):
        assert text in short["未符合的條件"], text
    members = [[c.value for c in row] for row in book["成員"].iter_rows()][1:]
    assert len(members) == 29
    assert sum(1 for m in members if m[1] == "信義據點" and m[4] == "否") == 2
    db.rollback()
    entry = db.scalars(select(AuditEntry).where(AuditEntry.action == "export_award_list")
                       .order_by(AuditEntry.id)).all()[-1]
    assert entry.actor_user_id == admin.user.id and "golden_diamond_team" in entry.after
    assert 'id="export-xlsx"' in admin.get("/admin/awards/teams?as_of=2026-07-01").get_data(as_text=True)
    assert supervisor.get("/admin/awards/teams/export.xlsx").status_code == 403


# --- the numbers are the rule's data -------------------------------------------------------------

def _set_thresholds(db, key, **values):
    from sqlalchemy import select

    from models import award_rules

    award_rules.seed_rules(db)
    rule = db.scalar(select(award_rules.AwardRule).where(award_rules.AwardRule.key == key))
    rule.thresholds = {**(rule.thresholds or {}), **values}
    db.commit()


def test_the_team_thresholds_come_from_the_rule(admin, db, make, unit):
    """A city that changes the team's numbers changes them in the award rule: the judgement,
    the explanation, the teams page and the rules page all follow."""
    site, _i, _v = team(db, make, unit, n=14, books=10)  # 71 % with a record book
    assert missing(facts_of(db, unit, site)) == {"members": 1, "record_book": 2}
    _set_thresholds(db, "golden_diamond_team", min_members=12, record_book_percent=70,
                    team_months=48)
    t = facts_of(db, unit, site)
    assert missing(t) == {"age": 12}
    assert t.missing[0].params["required"] == 48
    html = admin.get("/admin/awards/teams?as_of=2026-07-01").get_data(as_text=True)
    assert "團隊成立還差 12 個月（須滿 48 個月）" in html
    assert "團隊成立滿 48 個月" in html and "至少 12 位成員" in html and "至少 70% 持有" in html
    rules = admin.get("/admin/awards/").get_data(as_text=True).split('id="rule-golden_diamond_team"')[1]
    rules = rules.split("</div>")[0]
    for text in ("成立至少 48 個月", "至少 12 位成員", "最近 12 個月內", "當天全體成員皆有有效保險",
                 "至少 70% 的成員持有志願服務紀錄冊"):
        assert text in rules, text
    assert "100%" not in rules  # every member, not "at least 100 %"
    assert "本系統不計算" not in rules and "團隊頁面" in rules
    # the members' window is data too: with 1 month, the May sessions no longer make members
    _set_thresholds(db, "golden_diamond_team", member_window_months=1)
    assert missing(facts_of(db, unit, site))["members"] == 12


def test_a_share_of_100_percent_reads_every_member(admin, db, unit):
    """"At least 100% of the members insured on the day" is awkward: at 100 % the rule reads
    "every member"; another share keeps its percent (rules page and teams page, both
    languages)."""
    def pages(lang):
        headers = {"Accept-Language": lang}
        rules = admin.get("/admin/awards/", headers=headers).get_data(as_text=True)
        rules = rules.split('id="rule-golden_diamond_team"')[1].split("</div>")[0]
        return rules, admin.get("/admin/awards/teams", headers=headers).get_data(as_text=True)

    rules, teams = pages("en")  # the defaults: 100 % insured, 80 % with a record book
    assert "Every member insured on the day" in rules and "100%" not in rules
    assert "At least 80% of the members hold a record book" in rules
    assert "has at least 15 members, every member is insured on the day, and at least 80% hold " \
        "a record book." in teams and "100%" not in teams
    rules, teams = pages("zh-TW")
    assert "當天全體成員皆有有效保險" in rules and "100%" not in rules
    assert "至少 15 位成員、當天全體成員皆有有效保險，且至少 80% 持有志願服務紀錄冊，即符合資格" in teams
    _set_thresholds(db, "golden_diamond_team", insured_percent=90, record_book_percent=100)
    rules, teams = pages("en")
    assert "At least 90% of the members insured on the day" in rules
    assert "Every member holds a record book" in rules
    assert "at least 90% of them are insured on the day, and every member holds a record " \
        "book." in teams
    rules, teams = pages("zh-TW")
    assert "當天至少 90% 的成員有有效保險" in rules and "全體成員皆持有志願服務紀錄冊" in rules
    assert "當天至少 90% 有有效保險，且全體成員皆持有志願服務紀錄冊" in teams


def test_an_insured_share_below_all(db, make, unit):
    site, _i, _v = team(db, make, unit, n=15, insured=12)
    assert missing(facts_of(db, unit, site)) == {"insured": 3}
    _set_thresholds(db, "golden_diamond_team", insured_percent=90)  # 13.5: 14 needed
    t = facts_of(db, unit, site)
    assert missing(t) == {"insured": 2}
    from models.messages import english_n, translated
    assert translated(t.missing[0].message, t.missing[0].params, None, english_n) \
        == "2 more insured members needed"
