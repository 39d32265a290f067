"""Insurance covers: the domain rules (record one, record many all-or-nothing, correct, delete,
who is uninsured or expiring on a given day) and the admin pages over real HTTP."""
import datetime as dt
import re

import pytest
from sqlalchemy import func, select

from models import insurance
from models.audit import AuditEntry
from models.base import taipei_date, utcnow
from models.insurance import CoverKind, InsuranceCover, InvalidCover
from models.people import VolunteerStatus

DAY = dt.date(2026, 3, 10)
TODAY = taipei_date(utcnow())


def d(offset: int, base: dt.date = DAY) -> dt.date:
    return base + dt.timedelta(days=offset)


def fresh(db):
    """End the test session's transaction and forget what it loaded: the next read sees what
    the requests committed (and a SQLite writer may begin)."""
    db.rollback()
    db.expire_all()
    return db


def checked(page: str, name: str, value) -> bool:
    """Is the radio button or checkbox `name`=`value` ticked on the page?"""
    for tag in re.findall(r"<input[^>]*>", page):
        if f'name="{name}"' in tag and f'value="{value}"' in tag:
            return re.search(r"\schecked[\s>]", tag) is not None
    raise AssertionError(f"no input {name}={value}")


def cover_count(db) -> int:
    fresh(db)
    return db.scalar(select(func.count()).select_from(InsuranceCover))


def audits(db, action):
    fresh(db)
    return db.scalars(select(AuditEntry).where(AuditEntry.action == action)
                      .order_by(AuditEntry.id)).all()


COVER = {"kind": "commercial", "insurer": "富邦產險", "policy_no": "AC-2026-001"}


def cover_form(**overrides):
    data = {**COVER, "starts_on": TODAY.isoformat(),
            "ends_on": (TODAY + dt.timedelta(days=364)).isoformat()}
    data.update(overrides)
    return data


# --- domain --------------------------------------------------------------------------------

def test_add_cover_records_it_with_an_audit_entry(make, unit, db):
    actor = make.user(unit, role="admin")
    vol = make.volunteer(unit, record_book_no="北市志字第1號")  # group cover: book holders
    cover = insurance.add_cover(db, vol, CoverKind.group, " 國泰產險 ", " G-1 ", d(0), d(364),
                                actor)
    db.commit()
    assert (cover.insurer, cover.policy_no, cover.kind) == ("國泰產險", "G-1", CoverKind.group)
    [entry] = audits(db, "insurance_cover_add")
    assert entry.entity == "insurance_cover" and entry.entity_id == cover.id
    assert entry.actor_user_id == actor.id and entry.unit_id == unit.id
    assert entry.before_data() is None
    assert entry.after_data() == {"volunteer_id": vol.id, "kind": "group", "insurer": "國泰產險",
                                  "policy_no": "G-1", "starts_on": "2026-03-10",
                                  "ends_on": "2027-03-09"}


@pytest.mark.parametrize("changes, field, code", [
    ({"ends_on": d(-1)}, "ends_on", "end_before_start"),
    ({"insurer": "  "}, "insurer", "required"),
    ({"policy_no": ""}, "policy_no", "required"),
    ({"policy_no": "x" * 61}, "policy_no", "too_long"),
    ({"kind": "life"}, "kind", "unknown_kind"),
    ({"starts_on": None}, "starts_on", "required"),
])
def test_add_cover_refuses_bad_values_and_saves_nothing(make, unit, db, changes, field, code):
    actor = make.user(unit, role="admin")
    vol = make.volunteer(unit)
    values = {"kind": "commercial", "insurer": "富邦", "policy_no": "P1", "starts_on": d(0),
              "ends_on": d(30), **changes}
    with pytest.raises(InvalidCover) as caught:
        insurance.add_cover(db, vol, actor=actor, **values)
    db.rollback()
    assert caught.value.errors[field] == code
    assert cover_count(db) == 0 and audits(db, "insurance_cover_add") == []


def test_a_one_day_cover_is_fine(make, unit, db):
    actor = make.user(unit, role="admin")
    vol = make.volunteer(unit)
    insurance.add_cover(db, vol, "commercial", "富邦", "ONE-DAY", d(0), d(0), actor)
    db.commit()
    assert insurance.uninsured_on(db, unit.id, d(0)) == []
    assert [v.id for v in insurance.uninsured_on(db, unit.id, d(1))] == [vol.id]


def test_group_cover_is_for_record_book_holders_only(admin, make, unit, db):
    holder = make.volunteer(unit, name_zh="林書華", record_book_no="北市志字第9號")
    without = make.volunteer(unit, name_zh="陳淑芬")
    with pytest.raises(insurance.InvalidCover) as refused:
        insurance.add_covers_for_many(db, [holder, without], CoverKind.group, "衛福部團體意外險",
                                      "MOHW-115", d(0), d(364), admin.user)
    assert refused.value.errors == {"volunteers": "group_needs_record_book"}
    assert [v.id for v in refused.value.volunteers] == [without.id]
    db.rollback()
    assert cover_count(db) == 0  # all or none
    # over HTTP, the one form: the message names who has no book; commercial cover is fine
    response = admin.post("/admin/insurance/covers/bulk", {
        "volunteers": [str(holder.id), str(without.id)], "kind": "group", "insurer": "衛福部團體意外險",
        "policy_no": "MOHW-115", "starts_on": d(0).isoformat(), "ends_on": d(364).isoformat()})
    assert response.status_code == 400
    assert "以下志工尚未取得紀錄冊：陳淑芬" in response.get_data(as_text=True)
    assert cover_count(db) == 0
    other = make.volunteer(unit, name_zh="王大明")
    db.commit()
    english = admin.post("/admin/insurance/covers/bulk", {  # names joined in the reader's language
        "volunteers": [str(without.id), str(other.id)], "kind": "group", "insurer": "衛福部團體意外險",
        "policy_no": "MOHW-115", "starts_on": d(0).isoformat(), "ends_on": d(364).isoformat()},
        headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert f"陳淑芬 ({without.volunteer_no}), 王大明 ({other.volunteer_no})" in english and "、" not in english
    cover = insurance.add_cover(db, without, CoverKind.commercial, "國泰產險", "C-1", d(0), d(364),
                                admin.user)
    db.commit()
    with pytest.raises(insurance.InvalidCover):  # nor by editing it into group cover
        insurance.update_cover(db, cover, admin.user, kind="group", insurer="國泰產險",
                               policy_no="C-1", starts_on=d(0), ends_on=d(364))


def test_add_for_many_saves_every_one_with_its_own_audit_entry(make, unit, db):
    actor = make.user(unit, role="admin")
    vols = [make.volunteer(unit, record_book_no=f"北市志字第{n}號") for n in range(3)]
    covers = insurance.add_covers_for_many(db, [vols[0], vols[1].id, vols[2], vols[0]],
                                           "group", "衛福部團體意外險", "MOHW-115", d(0), d(364),
                                           actor)
    db.commit()
    assert sorted(c.volunteer_id for c in covers) == sorted(v.id for v in vols)  # each once
    entries = audits(db, "insurance_cover_add")
    assert sorted(e.entity_id for e in entries) == sorted(c.id for c in covers)
    assert {e.after_data()["policy_no"] for e in entries} == {"MOHW-115"}


def test_add_for_many_is_all_or_nothing(make, unit, db):
    actor = make.user(unit, role="admin")
    mine = [make.volunteer(unit) for _ in range(3)]
    ids = [v.id for v in mine]
    stranger = make.volunteer(make.unit())
    # one volunteer of another unit among them: nobody is covered
    with pytest.raises(InvalidCover) as caught:
        insurance.add_covers_for_many(db, [*ids, stranger.id], "commercial", "富邦", "B-1", d(0),
                                      d(99), actor)
    db.rollback()
    assert caught.value.errors == {"volunteers": "not_in_unit"}
    assert [v.id for v in caught.value.volunteers] == [stranger.id]
    fresh(db)  # end the reading transaction: SQLite writers begin as writers
    # an id that does not exist: nobody either
    with pytest.raises(InvalidCover):
        insurance.add_covers_for_many(db, [ids[0], 999999], "commercial", "富邦", "B-1",
                                      d(0), d(99), actor)
    db.rollback()
    # one who already holds this policy for overlapping days: nobody either
    insurance.add_cover(db, mine[1], "commercial", "富邦", "B-1", d(50), d(150), actor)
    db.commit()
    with pytest.raises(InvalidCover) as caught:
        insurance.add_covers_for_many(db, ids, "commercial", "富邦", "B-1", d(0), d(99), actor)
    db.rollback()
    assert caught.value.errors == {"volunteers": "duplicate"}
    assert [v.id for v in caught.value.volunteers] == [ids[1]]
    assert cover_count(db) == 1 and len(audits(db, "insurance_cover_add")) == 1
    fresh(db)
    # nobody at all
    with pytest.raises(InvalidCover) as caught:
        insurance.add_covers_for_many(db, [], "commercial", "富邦", "B-2", d(0), d(9), actor)
    assert caught.value.errors == {"volunteers": "none_chosen"}


def test_update_and_delete_keep_before_and_after_in_the_audit_log(make, unit, db):
    actor = make.user(unit, role="admin")
    vol = make.volunteer(unit)
    cover = insurance.add_cover(db, vol, "commercial", "富邦", "TYPO", d(0), d(364), actor)
    db.commit()
    insurance.update_cover(db, cover, actor, kind="commercial", insurer="富邦",
                           policy_no="RIGHT-1", starts_on=d(0), ends_on=d(100))
    db.commit()
    [entry] = audits(db, "insurance_cover_update")
    assert entry.before_data()["policy_no"] == "TYPO"
    assert entry.after_data()["policy_no"] == "RIGHT-1"
    assert entry.after_data()["ends_on"] == d(100).isoformat()
    fresh(db)
    with pytest.raises(InvalidCover) as caught:
        insurance.update_cover(db, cover, actor, kind="commercial", insurer="富邦",
                               policy_no="RIGHT-1", starts_on=d(0), ends_on=d(-5))
    db.rollback()
    assert caught.value.errors == {"ends_on": "end_before_start"}
    cover_id = cover.id
    fresh(db)
    insurance.delete_cover(db, cover, actor)
    db.commit()
    assert db.get(InsuranceCover, cover_id) is None
    [gone] = audits(db, "insurance_cover_delete")
    assert gone.entity_id == cover_id and gone.after is None
    assert gone.before_data()["policy_no"] == "RIGHT-1"


def test_admin_of_another_unit_cannot_touch_a_cover(make, unit, db):
    vol = make.volunteer(unit)
    cover = make.cover(vol)
    outsider = make.user(make.unit(), role="admin")
    with pytest.raises(InvalidCover):
        insurance.update_cover(db, cover, outsider, kind="group", insurer="x", policy_no="y",
                               starts_on=d(0), ends_on=d(1))
    with pytest.raises(InvalidCover):
        insurance.delete_cover(db, cover, outsider)
    db.rollback()
    assert cover_count(db) == 1


def test_uninsured_and_expiring_lists_on_a_given_day(make, unit, db):
    def vol(name, *covers, **kw):
        v = make.volunteer(unit, name_zh=name, **kw)
        for start, end in covers:
            make.cover(v, starts_on=d(start), ends_on=d(end))
        return v

    none = vol("沒有保險")
    ended = vol("昨天到期", (-365, -1))
    later = vol("明天才生效", (1, 365))
    soon = vol("十天後到期", (-100, 10))
    edge = vol("剛好三十天", (-100, 30))
    safe = vol("三十一天", (-100, 31))
    renewed = vol("已續保", (-100, 5), (6, 370))
    overlap = vol("重疊續保", (-100, 20), (15, 25))
    today_only = vol("今天最後一天", (-10, 0))
    vol("已退場", status=VolunteerStatus.inactive)  # exited volunteers are not listed
    make.cover(make.volunteer(make.unit()), starts_on=d(-1), ends_on=d(1))  # another unit

    uninsured = insurance.uninsured_on(db, unit.id, DAY)
    assert {v.id for v in uninsured} == {none.id, ended.id, later.id}

    expiring = insurance.expiring_within(db, unit.id, DAY)
    assert [(s.volunteer.id, s.covered_until, s.days_left) for s in expiring] == [
        (today_only.id, d(0), 0),
        (soon.id, d(10), 10),
        (overlap.id, d(25), 25),
        (edge.id, d(30), 30),
    ]
    assert safe.id not in {s.volunteer.id for s in expiring}
    assert renewed.id not in {s.volunteer.id for s in expiring}
    assert [s.volunteer.id for s in insurance.expiring_within(db, unit.id, DAY, days=7)] == [
        today_only.id]
    # a day later the picture changes: the last-day cover has run out, the later one started
    assert {v.id for v in insurance.uninsured_on(db, unit.id, d(1))} == {
        none.id, ended.id, today_only.id}


def test_covered_until_chains_back_to_back_covers(make, unit):
    def c(start, end):
        return InsuranceCover(starts_on=d(start), ends_on=d(end))

    assert insurance.covered_until([], DAY) is None
    assert insurance.covered_until([c(1, 9)], DAY) is None
    assert insurance.covered_until([c(-5, 5), c(6, 10), c(12, 20)], DAY) == d(10)  # gap on 11
    assert insurance.covered_until([c(3, 40), c(-5, 5)], DAY) == d(40)
    assert insurance.covered_until([c(-50, -1), c(0, 3)], DAY) == d(3)


# --- who may use the pages -----------------------------------------------------------------

VIEW_URLS = ["/admin/insurance/", "/admin/insurance/volunteers"]


def test_anonymous_is_sent_to_sign_in(anon, make, unit):
    vol = make.volunteer(unit)
    cover = make.cover(vol)
    for url in [*VIEW_URLS, f"/admin/insurance/volunteers/{vol.id}",
                f"/admin/insurance/volunteers/{vol.id}/covers/new", "/admin/insurance/covers/bulk",
                f"/admin/insurance/covers/{cover.id}/edit",
                f"/admin/insurance/covers/{cover.id}/delete"]:
        response = anon.get(url)
        assert response.status_code == 302, url
        assert response.headers["Location"].startswith("/sign-in?next=/admin/insurance"), url


def test_volunteer_gets_403_everywhere(volunteer, make, unit, db):
    vol = make.volunteer(unit)
    cover = make.cover(vol)
    for url in [*VIEW_URLS, f"/admin/insurance/volunteers/{vol.id}",
                "/admin/insurance/covers/bulk"]:
        assert volunteer.get(url).status_code == 403, url
    response = volunteer.post(f"/admin/insurance/volunteers/{vol.id}/covers/new", cover_form())
    assert response.status_code == 403
    assert volunteer.post(f"/admin/insurance/covers/{cover.id}/delete").status_code == 403
    assert cover_count(db) == 1


def test_supervisor_may_look_but_not_change(supervisor, make, unit, db):
    vol = make.volunteer(unit, name_zh="陳督導看")
    cover = make.cover(vol)
    page = supervisor.get("/admin/insurance/").get_data(as_text=True)
    assert "意外保險" in page and "/covers/bulk" not in page
    page = supervisor.get("/admin/insurance/volunteers").get_data(as_text=True)
    assert "陳督導看" in page
    page = supervisor.get(f"/admin/insurance/volunteers/{vol.id}").get_data(as_text=True)
    assert cover.policy_no in page
    assert "/edit" not in page and "/delete" not in page and "/covers/new" not in page
    assert 'href="/admin/insurance/"' in supervisor.get("/").get_data(as_text=True)  # nav link
    for url in [f"/admin/insurance/volunteers/{vol.id}/covers/new", "/admin/insurance/covers/bulk",
                f"/admin/insurance/covers/{cover.id}/edit",
                f"/admin/insurance/covers/{cover.id}/delete"]:
        assert supervisor.get(url).status_code == 403, url
        assert supervisor.post(url, cover_form(volunteers=[vol.id])).status_code == 403, url
    assert cover_count(db) == 1
    assert audits(db, "insurance_cover_delete") == []


def test_another_units_volunteer_or_cover_is_not_found(admin, make):
    other = make.unit()
    vol = make.volunteer(other)
    cover = make.cover(vol)
    assert admin.get(f"/admin/insurance/volunteers/{vol.id}").status_code == 404
    assert admin.post(f"/admin/insurance/volunteers/{vol.id}/covers/new",
                      cover_form()).status_code == 404
    assert admin.get(f"/admin/insurance/covers/{cover.id}/edit").status_code == 404
    assert admin.post(f"/admin/insurance/covers/{cover.id}/delete").status_code == 404


# --- recording covers over HTTP -------------------------------------------------------------

def test_admin_adds_one_cover(admin, make, unit, db):
    vol = make.volunteer(unit, name_zh="林一")
    form = admin.get(f"/admin/insurance/volunteers/{vol.id}/covers/new")
    assert form.status_code == 200
    assert checked(form.get_data(as_text=True), "kind", "commercial")  # no record book
    response = admin.post(f"/admin/insurance/volunteers/{vol.id}/covers/new", cover_form())
    assert response.status_code == 302
    assert response.headers["Location"] == f"/admin/insurance/volunteers/{vol.id}"
    page = admin.get(response.headers["Location"]).get_data(as_text=True)
    assert "已為林一記錄保險" in page and "AC-2026-001" in page
    [entry] = audits(db, "insurance_cover_add")
    assert entry.actor_user_id == admin.user.id
    assert entry.after_data()["volunteer_id"] == vol.id


def test_record_book_holder_gets_group_cover_preselected(admin, make, unit):
    vol = make.volunteer(unit, record_book_no="北市志字第 0012345 號")
    page = admin.get(f"/admin/insurance/volunteers/{vol.id}/covers/new").get_data(as_text=True)
    assert checked(page, "kind", "group")


@pytest.mark.parametrize("changes, message", [
    ({"ends_on": (TODAY - dt.timedelta(days=1)).isoformat()}, "最後一天不能早於第一天"),
    ({"insurer": ""}, "請輸入保險公司"),
    ({"policy_no": ""}, "請輸入保單號碼"),
    ({"policy_no": "9" * 61}, "最多 60 個字元"),
    ({"starts_on": ""}, "請輸入保險生效的第一天"),
    ({"ends_on": "2026/13/40"}, "請輸入像 2026-01-31 這樣的日期"),
    ({"kind": "life"}, "請從選項中選擇"),
    ({"kind": ""}, "請選擇保險種類"),
])
def test_bad_cover_input_returns_the_form_with_the_error(admin, make, unit, db, changes,
                                                         message):
    vol = make.volunteer(unit)
    response = admin.post(f"/admin/insurance/volunteers/{vol.id}/covers/new",
                          cover_form(**changes))
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert message in page
    assert 'aria-invalid="true"' in page or 'id="kind-error"' in page
    assert cover_count(db) == 0


def test_the_same_policy_twice_is_refused(admin, make, unit, db):
    vol = make.volunteer(unit)
    url = f"/admin/insurance/volunteers/{vol.id}/covers/new"
    assert admin.post(url, cover_form()).status_code == 302
    response = admin.post(url, cover_form())
    assert response.status_code == 400
    assert "已有這張保單" in response.get_data(as_text=True)
    assert cover_count(db) == 1


def test_bulk_add_covers_everyone_ticked(admin, make, unit, db):
    vols = [make.volunteer(unit) for _ in range(3)]
    insured = make.volunteer(unit, insured=True)
    form = admin.get("/admin/insurance/covers/bulk?preselect=uninsured").get_data(as_text=True)
    for v in vols:
        assert checked(form, "volunteers", v.id)
    assert not checked(form, "volunteers", insured.id)
    response = admin.post("/admin/insurance/covers/bulk",
                          cover_form(volunteers=[v.id for v in vols]))
    assert response.status_code == 302
    assert "已為 3 位志工記錄保險" in admin.get("/admin/insurance/").get_data(as_text=True)
    fresh(db)
    assert insurance.uninsured_on(db, unit.id, TODAY) == []
    assert len(audits(db, "insurance_cover_add")) == 3


def test_bulk_add_with_one_bad_row_saves_nothing(admin, make, unit, db):
    vols = [make.volunteer(unit) for _ in range(3)]
    stranger = make.volunteer(make.unit(), name_zh="外單位")
    response = admin.post("/admin/insurance/covers/bulk",
                          cover_form(volunteers=[*(v.id for v in vols), stranger.id]))
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "只能選擇本單位的志工" in page and "外單位" not in page
    assert cover_count(db) == 0
    # one of them already holds the policy for these days: the message names them, nobody added
    make.cover(vols[1], policy_no=COVER["policy_no"], starts_on=TODAY, ends_on=TODAY)
    response = admin.post("/admin/insurance/covers/bulk",
                          cover_form(volunteers=[v.id for v in vols]))
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "已有這張保單" in page and vols[1].name_zh in page
    for v in vols:  # the ticks survive the refusal
        assert checked(page, "volunteers", v.id)
    assert cover_count(db) == 1 and audits(db, "insurance_cover_add") == []
    # nobody ticked, or a tampered id
    response = admin.post("/admin/insurance/covers/bulk", cover_form())
    assert response.status_code == 400 and "請至少選擇一位志工" in response.get_data(as_text=True)
    response = admin.post("/admin/insurance/covers/bulk", cover_form(volunteers=["abc"]))
    assert response.status_code == 400 and "請從名單中選擇志工" in response.get_data(as_text=True)
    assert cover_count(db) == 1


def test_admin_edits_a_cover(admin, make, unit, db):
    vol = make.volunteer(unit, record_book_no="北市志字第7號")
    cover = make.cover(vol, policy_no="OLD-1")
    url = f"/admin/insurance/covers/{cover.id}/edit"
    page = admin.get(url).get_data(as_text=True)
    assert 'value="OLD-1"' in page
    bad = admin.post(url, cover_form(policy_no="NEW-1", ends_on="2000-01-01"))
    assert bad.status_code == 400
    response = admin.post(url, cover_form(policy_no="NEW-1", kind="group"))
    assert response.status_code == 302
    fresh(db)
    assert db.get(InsuranceCover, cover.id).policy_no == "NEW-1"
    [entry] = audits(db, "insurance_cover_update")
    assert entry.before_data()["policy_no"] == "OLD-1"
    assert entry.after_data()["policy_no"] == "NEW-1" and entry.after_data()["kind"] == "group"


def test_admin_deletes_a_cover_after_confirming(admin, make, unit, db):
    vol = make.volunteer(unit)
    cover = make.cover(vol, policy_no="MISTAKE-1")
    url = f"/admin/insurance/covers/{cover.id}/delete"
    confirm = admin.get(url)
    assert confirm.status_code == 200 and "MISTAKE-1" in confirm.get_data(as_text=True)
    assert cover_count(db) == 1  # asking changes nothing
    response = admin.post(url)
    assert response.status_code == 302
    assert cover_count(db) == 0
    [entry] = audits(db, "insurance_cover_delete")
    assert entry.before_data()["policy_no"] == "MISTAKE-1" and entry.after is None
    assert admin.client.post(url).status_code == 400  # no CSRF token: refused


# --- the lists -----------------------------------------------------------------------------

def test_overview_lists_for_a_chosen_day(admin, make, unit):
    make.volunteer(unit, name_zh="無保險甲")
    soon = make.volunteer(unit, name_zh="快到期乙")
    make.cover(soon, starts_on=d(-10), ends_on=d(12), policy_no="SOON-1")
    fine = make.volunteer(unit, name_zh="保障中丙")
    make.cover(fine, starts_on=d(-10), ends_on=d(200))
    page = admin.get(f"/admin/insurance/?on={DAY.isoformat()}").get_data(as_text=True)
    uninsured, expiring = page.split('id="uninsured"')[1].split('id="expiring"')
    assert "無保險甲" in uninsured and "快到期乙" not in uninsured
    assert "快到期乙" in expiring and "SOON-1" in expiring and "剩 12 天" in expiring
    assert "保障中丙" not in page
    # 13 days later the expiring one has run out
    later = admin.get(f"/admin/insurance/?on={d(13).isoformat()}").get_data(as_text=True)
    assert "快到期乙" in later.split('id="uninsured"')[1].split('id="expiring"')[0]


def test_overview_answers_htmx_with_just_the_lists(admin, make, unit):
    make.volunteer(unit, name_zh="無保險甲")
    response = admin.get(f"/admin/insurance/?on={DAY.isoformat()}",
                         headers={"HX-Request": "true"})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert page.lstrip().startswith('<div id="insurance-lists">') and "<html" not in page
    assert "無保險甲" in page


def test_overview_with_a_bad_day_says_so(admin):
    response = admin.get("/admin/insurance/?on=2026-02-30")
    assert response.status_code == 400
    assert "請輸入像 2026-01-31 這樣的日期" in response.get_data(as_text=True)


def test_volunteer_list_shows_current_cover_with_masked_id_numbers(admin, make, unit):
    vol = make.volunteer(unit, name_zh="王小明", record_book_no="B-777")
    make.cover(vol, policy_no="POL-9", insurer="新光產險", kind=CoverKind.group,
               starts_on=TODAY - dt.timedelta(days=1), ends_on=TODAY + dt.timedelta(days=100))
    bare = make.volunteer(unit, name_zh="李小華")
    gone = make.volunteer(unit, name_zh="張離開", status=VolunteerStatus.inactive)
    page = admin.get("/admin/insurance/volunteers").get_data(as_text=True)
    row = page.split("王小明")[1].split("</tr>")[0]
    assert "POL-9" in row and "新光產險" in row and "團體意外險" in row and "B-777" in row
    assert vol.masked_id_number in page and vol.id_number not in page
    assert "無保險" in page.split("李小華")[1].split("</tr>")[0]
    assert bare.id_number not in page
    assert "已退場" in page.split("張離開")[1].split("</tr>")[0]
    assert gone.id_number not in page


def test_pages_speak_english_on_request(admin, make, unit):
    make.volunteer(unit, name_zh="無保險甲")
    admin.post("/language", {"lang": "en"})
    page = admin.get("/admin/insurance/").get_data(as_text=True)
    assert "Accident insurance" in page and "Cover ending within 30 days" in page
    assert "意外保險" not in page
