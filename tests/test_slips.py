"""Hour slips (時數條): issuing, numbering under concurrency, one slip per session, void and
reissue, who may do what over HTTP, the PDF's text, and the volunteer's "my hours"."""
from __future__ import annotations

import datetime as dt
import re
import subprocess
import threading

import pytest
from sqlalchemy import func, select

from models import slip_lists, slips
from models.audit import AuditEntry
from models.base import TAIPEI, begin_write, utcnow
from models.people import User, Volunteer
from models.service import ServiceSession, SessionSource, SessionStatus
from models.slips import HourSlip, HourSlipEntry, SlipConflict, SlipError
from models.verification import SupervisorSite

MARCH = (dt.date(2026, 3, 1), dt.date(2026, 3, 31))
ISSUE_NOW = dt.datetime(2026, 4, 2, 1, 0, tzinfo=dt.timezone.utc)  # 2026-04-02 09:00 Taipei


# --- data ----------------------------------------------------------------------------------

def served(db, volunteer, site, item, day, start="09:00", minutes=150, status=SessionStatus.verified,
           persons=None):
    """A session on a Taipei calendar day; verified ones are credited in full."""
    checked_in = dt.datetime.combine(day, dt.time.fromisoformat(start), tzinfo=TAIPEI)
    s = ServiceSession(unit_id=volunteer.unit_id, volunteer_id=volunteer.id, site_id=site.id,
                       service_item_id=item.id, checked_in_at=checked_in,
                       checked_out_at=checked_in + dt.timedelta(minutes=minutes), status=status,
                       credited_minutes=minutes if status == SessionStatus.verified else 0,
                       source=SessionSource.poster, persons_served=persons)
    db.add(s)
    db.commit()
    return s


def fresh(db):
    db.rollback()  # end the test's read transaction: SQLite would keep showing its old snapshot
    db.expire_all()
    return db


def assign(db, user, *sites):
    for site in sites:
        db.add(SupervisorSite(user_id=user.id, site_id=site.id))
    db.commit()


def audit_actions(db, action):
    return fresh(db).scalars(select(AuditEntry).where(AuditEntry.action == action)
                             .order_by(AuditEntry.id)).all()


@pytest.fixture
def place(make, unit):
    site = make.site(unit, name_zh="大安長照服務中心", name_en="Da'an Care Centre")
    other = make.site(unit, name_zh="萬華社區關懷據點", name_en="Wanhua Care Point")
    item = make.item(unit, name_zh="長者陪伴關懷", code="A01")
    return site, other, item


@pytest.fixture
def staff_user(make, unit):
    return make.user(unit, role="admin", display_name="王承辦")


def pdf_text(data: bytes, tmp_path) -> str:
    path = tmp_path / "slip.pdf"
    path.write_bytes(data)
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True,
                          capture_output=True, text=True).stdout


# --- issuing -------------------------------------------------------------------------------

def test_issue_for_everyone_holds_only_verified_sessions_on_no_slip(db, make, unit, place, staff_user):
    site, other, item = place
    chen = make.volunteer(unit, name_zh="陳淑芬", volunteer_no="0001", record_book_no="北市115-0042")
    lin = make.volunteer(unit, name_zh="林志明", volunteer_no="0002")
    a = served(db, chen, site, item, dt.date(2026, 3, 2), minutes=150)
    b = served(db, chen, other, item, dt.date(2026, 3, 31), start="23:30", minutes=20)  # Taipei day
    served(db, chen, site, item, dt.date(2026, 3, 9), status=SessionStatus.closed)
    served(db, chen, site, item, dt.date(2026, 4, 1), start="00:10")  # April in Taipei
    served(db, chen, site, item, dt.date(2026, 2, 28), start="23:50")  # February in Taipei
    c = served(db, lin, site, item, dt.date(2026, 3, 15), minutes=60)

    begin_write(fresh(db))
    issued = slips.issue_slips(db, staff_user, ISSUE_NOW, date_from=MARCH[0], date_to=MARCH[1])
    db.commit()

    assert [s.serial for s in issued] == [f"{unit.id:03d}-2026-00001", f"{unit.id:03d}-2026-00002"]
    first, second = issued
    assert first.volunteer_id == chen.id and first.total_minutes == 170
    assert sorted(e.session_id for e in first.entries) == sorted([a.id, b.id])
    assert second.volunteer_id == lin.id and [e.session_id for e in second.entries] == [c.id]
    assert (first.period_start, first.period_end) == MARCH and first.issued_by_id == staff_user.id
    fresh(db)
    by_id = {s.id: s.hour_slip_id for s in db.scalars(select(ServiceSession))}
    assert by_id[a.id] == by_id[b.id] == first.id and by_id[c.id] == second.id
    assert sum(1 for v in by_id.values() if v is None) == 3
    entries = audit_actions(db, "issue_slip")
    assert [e.entity_id for e in entries] == [first.id, second.id]
    assert entries[0].actor_user_id == staff_user.id
    assert entries[0].after_data()["session_ids"] == [a.id, b.id]
    assert entries[0].after_data()["serial"] == first.serial

    # the same period again: nothing left to slip
    begin_write(fresh(db))
    assert slips.issue_slips(db, staff_user, ISSUE_NOW, date_from=MARCH[0], date_to=MARCH[1]) == []
    db.rollback()


def test_issue_for_one_volunteer_and_bad_periods(db, make, unit, place, staff_user):
    site, _other, item = place
    chen, lin = make.volunteer(unit), make.volunteer(unit)
    served(db, chen, site, item, dt.date(2026, 3, 2))
    served(db, lin, site, item, dt.date(2026, 3, 3))
    begin_write(fresh(db))
    [slip] = slips.issue_slips(db, staff_user, ISSUE_NOW, date_from=MARCH[0], date_to=MARCH[1],
                               volunteer_id=lin.id)
    db.commit()
    assert slip.volunteer_id == lin.id
    for date_from, date_to in [(MARCH[1], MARCH[0]), (dt.date(2025, 1, 1), dt.date(2026, 3, 1)),
                               (None, MARCH[1])]:
        begin_write(fresh(db))
        with pytest.raises(SlipError):
            slips.issue_slips(db, staff_user, ISSUE_NOW, date_from=date_from, date_to=date_to)
        db.rollback()
    stranger_unit = make.unit()
    stranger = make.volunteer(stranger_unit)
    begin_write(fresh(db))
    with pytest.raises(SlipError):
        slips.issue_slips(db, staff_user, ISSUE_NOW, date_from=MARCH[0], date_to=MARCH[1],
                          volunteer_id=stranger.id)
    db.rollback()


def test_supervisor_slips_only_sessions_of_their_sites(db, make, unit, place):
    site, other, item = place
    boss = make.user(unit, role="supervisor", display_name="林督導")
    assign(db, boss, site)
    chen = make.volunteer(unit)
    mine = served(db, chen, site, item, dt.date(2026, 3, 2))
    served(db, chen, other, item, dt.date(2026, 3, 3))
    only_other = make.volunteer(unit)
    served(db, only_other, other, item, dt.date(2026, 3, 4))

    assert {v.id for v in slip_lists.slip_volunteers(fresh(db), boss)} == {chen.id}
    begin_write(fresh(db))
    issued = slips.issue_slips(db, boss, ISSUE_NOW, date_from=MARCH[0], date_to=MARCH[1])
    db.commit()
    assert [[e.session_id for e in s.entries] for s in issued] == [[mine.id]]
    lonely = make.user(unit, role="supervisor")  # no sites assigned: sees nothing
    begin_write(fresh(db))
    assert slips.issue_slips(db, lonely, ISSUE_NOW, date_from=MARCH[0], date_to=MARCH[1]) == []
    db.rollback()


def test_volunteer_cannot_issue(db, make, unit, place):
    site, _other, item = place
    vol_user = make.user(unit, role="volunteer")
    served(db, vol_user.volunteer, site, item, dt.date(2026, 3, 2))
    begin_write(fresh(db))
    with pytest.raises(PermissionError):
        slips.issue_slips(db, vol_user, ISSUE_NOW, date_from=MARCH[0], date_to=MARCH[1])
    db.rollback()


def test_numbers_restart_each_year_and_a_rollback_gives_the_number_back(db, make, unit, place, staff_user):
    site, _other, item = place
    chen, lin = make.volunteer(unit), make.volunteer(unit)
    served(db, chen, site, item, dt.date(2026, 12, 30))
    served(db, lin, site, item, dt.date(2026, 12, 31))
    period = (dt.date(2026, 12, 1), dt.date(2026, 12, 31))
    year_end = dt.datetime(2026, 12, 31, 15, 0, tzinfo=dt.timezone.utc)  # 2026-12-31 23:00 Taipei
    begin_write(fresh(db))
    slips.issue_slips(db, staff_user, year_end, date_from=period[0], date_to=period[1],
                      volunteer_id=chen.id)
    db.rollback()  # e.g. the request failed after issuing: the number is not used up
    new_year = dt.datetime(2026, 12, 31, 16, 30, tzinfo=dt.timezone.utc)  # 2027-01-01 00:30 Taipei
    begin_write(fresh(db))
    [a] = slips.issue_slips(db, staff_user, new_year, date_from=period[0], date_to=period[1],
                            volunteer_id=chen.id)
    db.commit()
    begin_write(fresh(db))
    [b] = slips.issue_slips(db, staff_user, new_year, date_from=period[0], date_to=period[1])
    db.commit()
    assert (a.serial, b.serial) == (f"{unit.id:03d}-2027-00001", f"{unit.id:03d}-2027-00002")


# --- concurrency ---------------------------------------------------------------------------

def _issue_in_threads(app, actor_id, jobs):
    """Run issue_slips in one thread per job (volunteer id or None), all at once."""
    Session = app.extensions["hourbook_db"]["sessionmaker"]
    barrier = threading.Barrier(len(jobs))
    results, errors = [], []

    def work(volunteer_id):
        session = Session()
        try:
            barrier.wait()
            begin_write(session)  # before the first read, as every state-changing request does
            actor = session.get(User, actor_id)
            issued = slips.issue_slips(session, actor, ISSUE_NOW, date_from=MARCH[0],
                                       date_to=MARCH[1], volunteer_id=volunteer_id)
            session.commit()
            results.append([s.serial for s in issued])
        except SlipConflict:
            session.rollback()
            results.append("conflict")
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


def test_concurrent_issuers_get_consecutive_numbers(app, db, make, unit, place, staff_user):
    site, _other, item = place
    volunteers = [make.volunteer(unit) for _ in range(8)]
    for n, v in enumerate(volunteers):
        served(db, v, site, item, dt.date(2026, 3, 1 + n))
        served(db, v, site, item, dt.date(2026, 3, 20 + n))
    results, errors = _issue_in_threads(app, staff_user.id, [v.id for v in volunteers])
    assert errors == []
    serials = sorted(serial for r in results for serial in r)
    assert serials == [f"{unit.id:03d}-2026-{n:05d}" for n in range(1, 9)]
    fresh(db)
    seqs = sorted(db.scalars(select(HourSlip.seq)))
    assert seqs == list(range(1, 9))
    # every session on exactly one slip, every slip with its own volunteer's two sessions
    assert db.scalar(select(func.count(ServiceSession.id)).where(ServiceSession.hour_slip_id.is_(None))) == 0
    for slip in db.scalars(select(HourSlip)):
        owners = {e.service_session.volunteer_id for e in slip.entries}
        assert owners == {slip.volunteer_id} and len(slip.entries) == 2


def test_two_issuers_slipping_the_same_volunteer_never_share_a_session(app, db, make, unit, place, staff_user):
    site, _other, item = place
    chen = make.volunteer(unit)
    sessions = [served(db, chen, site, item, dt.date(2026, 3, d)) for d in (2, 9, 16)]
    results, errors = _issue_in_threads(app, staff_user.id, [chen.id, chen.id, None, None])
    assert errors == []
    issued = [r for r in results if r not in ("conflict", [])]
    assert len(issued) == 1 and len(issued[0]) == 1, results
    fresh(db)
    assert db.scalar(select(func.count(HourSlip.id))) == 1
    assert db.scalar(select(func.count(HourSlipEntry.id))) == 3
    slip = db.scalar(select(HourSlip))
    assert {s.hour_slip_id for s in db.scalars(select(ServiceSession))} == {slip.id}
    assert sorted(e.session_id for e in slip.entries) == [s.id for s in sessions]
    assert slip.seq == 1  # the refused issuers gave their numbers back


# --- void and reissue ----------------------------------------------------------------------

def _one_slip(db, make, unit, place, actor, volunteer=None):
    site, _other, item = place
    volunteer = volunteer or make.volunteer(unit, name_zh="陳淑芬")
    served(db, volunteer, site, item, dt.date(2026, 3, 2), minutes=150)
    served(db, volunteer, site, item, dt.date(2026, 3, 9), minutes=120)
    begin_write(fresh(db))
    [slip] = slips.issue_slips(db, actor, ISSUE_NOW, date_from=MARCH[0], date_to=MARCH[1],
                               volunteer_id=volunteer.id)
    db.commit()
    return slip


def test_void_frees_the_sessions_and_keeps_the_history(db, make, unit, place, staff_user):
    slip = _one_slip(db, make, unit, place, staff_user)
    begin_write(fresh(db))
    with pytest.raises(SlipError):
        slips.void_slip(db, slip.id, staff_user, ISSUE_NOW, reason="  ")
    db.rollback()
    later = ISSUE_NOW + dt.timedelta(hours=1)
    begin_write(fresh(db))
    slips.void_slip(db, slip.id, staff_user, later, reason="時數登錄錯誤")
    db.commit()
    fresh(db)
    voided = db.get(HourSlip, slip.id)
    assert voided.voided_at == later and voided.voided_by_id == staff_user.id
    assert voided.void_reason == "時數登錄錯誤" and len(voided.entries) == 2  # entries stay
    assert db.scalar(select(func.count(ServiceSession.id))
                     .where(ServiceSession.hour_slip_id.is_not(None))) == 0
    [entry] = audit_actions(db, "void_slip")
    assert entry.before_data()["voided_at"] is None and entry.after_data()["void_reason"] == "時數登錄錯誤"
    assert sorted(entry.after_data()["released_session_ids"]) == sorted(e.session_id for e in voided.entries)
    begin_write(fresh(db))
    with pytest.raises(SlipError):
        slips.void_slip(db, slip.id, staff_user, later, reason="again")
    db.rollback()
    # the freed sessions go on a new slip with the next number
    begin_write(fresh(db))
    [again] = slips.issue_slips(db, staff_user, later, date_from=MARCH[0], date_to=MARCH[1])
    db.commit()
    assert again.seq == 2 and again.total_minutes == 270


def test_reissue_voids_and_replaces_with_a_new_number(db, make, unit, place, staff_user):
    site, _other, item = place
    slip = _one_slip(db, make, unit, place, staff_user)
    served(db, slip.volunteer, site, item, dt.date(2026, 3, 30), minutes=60)  # verified later
    begin_write(fresh(db))
    new = slips.reissue_slip(db, slip.id, staff_user, ISSUE_NOW, reason="補登一筆服務")
    db.commit()
    fresh(db)
    old = db.get(HourSlip, slip.id)
    assert old.voided_at is not None and old.void_reason == "補登一筆服務"
    assert new.replaces_id == old.id and new.seq == old.seq + 1
    assert (new.period_start, new.period_end) == (old.period_start, old.period_end)
    assert new.total_minutes == 330 and len(new.entries) == 3
    assert slips.replacement_of(db, old).id == new.id
    assert [e.action for e in audit_actions(db, "void_slip")] == ["void_slip"]
    assert len(audit_actions(db, "issue_slip")) == 2
    begin_write(fresh(db))
    with pytest.raises(SlipError, match="already reissued"):
        slips.reissue_slip(db, slip.id, staff_user, ISSUE_NOW, reason="again")
    db.rollback()


def test_reissue_with_nothing_left_changes_nothing(db, make, unit, place, staff_user):
    slip = _one_slip(db, make, unit, place, staff_user)
    begin_write(fresh(db))
    db.execute(ServiceSession.__table__.update().values(status=SessionStatus.closed.value,
                                                        hour_slip_id=None))
    db.commit()
    begin_write(fresh(db))
    with pytest.raises(SlipError):
        slips.reissue_slip(db, slip.id, staff_user, ISSUE_NOW, reason="reopened")
    db.rollback()
    assert fresh(db).get(HourSlip, slip.id).voided_at is None  # the void was rolled back too


def test_supervisor_may_not_void_a_slip_with_sessions_elsewhere(db, make, unit, place, staff_user):
    site, other, item = place
    chen = make.volunteer(unit)
    served(db, chen, other, item, dt.date(2026, 3, 5))
    slip = _one_slip(db, make, unit, place, staff_user, volunteer=chen)  # sessions at both sites
    boss = make.user(unit, role="supervisor")
    assign(db, boss, site)
    assert not slips.may_handle_slip(fresh(db), boss, db.get(HourSlip, slip.id))
    begin_write(fresh(db))
    with pytest.raises(PermissionError):
        slips.void_slip(db, slip.id, boss, ISSUE_NOW, reason="not mine")
    db.rollback()
    assert slip_lists.staff_slips(fresh(db), boss) == []
    assign(db, boss, other)
    assert [s.id for s in slip_lists.staff_slips(fresh(db), boss)] == [slip.id]


# --- HTTP ----------------------------------------------------------------------------------

def test_roles_over_http(app, db, make, unit, place, admin, supervisor, volunteer, anon):
    slip = _one_slip(db, make, unit, place, admin.user)
    for url in ["/slips/", f"/slips/{slip.id}", f"/slips/{slip.id}.pdf", f"/slips/batch?ids={slip.id}",
                f"/slips/print.pdf?ids={slip.id}"]:
        assert volunteer.get(url).status_code == 403, url
        assert anon.get(url).status_code == 302, url
    for url in ["/slips/issue", f"/slips/{slip.id}/void", f"/slips/{slip.id}/reissue"]:
        response = volunteer.post(url, {"period": "month", "month": "2026-03", "reason": "x"})
        assert response.status_code == 403, url
    assert fresh(db).get(HourSlip, slip.id).voided_at is None
    assert fresh(db).scalar(select(func.count(HourSlip.id))) == 1
    # a supervisor without the slip's site: 403 on the slip, nothing in the list
    assert supervisor.get(f"/slips/{slip.id}").status_code == 403
    assert supervisor.get(f"/slips/{slip.id}.pdf").status_code == 403
    assert supervisor.get(f"/slips/print.pdf?ids={slip.id}").status_code == 403
    assert supervisor.post(f"/slips/{slip.id}/void", {"reason": "x"}).status_code == 403
    assert slip.serial not in supervisor.get("/slips/").get_data(as_text=True)
    assert supervisor.get("/slips/999999").status_code == 404
    bad = admin.get("/slips/print.pdf?ids=abc")
    assert bad.status_code == 400 and "清單無效" in bad.get_data(as_text=True)
    assert admin.get("/slips/batch").status_code == 400


def test_issue_print_void_and_reissue_over_http(app, db, make, unit, place, tmp_path):
    site, _other, item = place
    boss = make.user(unit, role="supervisor", display_name="林督導")
    assign(db, boss, site)
    from tests.conftest import HttpUser

    person = HttpUser(app.test_client())
    assert person.sign_in(boss.email, make.PASSWORD).status_code == 302
    chen = make.volunteer(unit, name_zh="陳淑芬", volunteer_no="0007", record_book_no="北市115-0042")
    served(db, chen, site, item, dt.date(2026, 3, 2), minutes=150)
    served(db, chen, site, item, dt.date(2026, 3, 9), minutes=120)
    stranger = make.volunteer(unit, name_zh="別處志工")
    served(db, stranger, place[1], item, dt.date(2026, 3, 3))  # not the supervisor's site

    page = person.get("/slips/?period=month&month=2026-03&volunteer=")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "陳淑芬" in text and "別處志工" not in text
    assert "4 小時 30 分" in text  # the total the slip would hold
    partial = person.get("/slips/?period=month&month=2026-03&volunteer=",
                         headers={"HX-Request": "true"}).get_data(as_text=True)
    assert partial.lstrip().startswith('<section class="card" id="issue">')

    response = person.post("/slips/issue", {"period": "month", "month": "2026-03", "volunteer": ""})
    assert response.status_code == 303
    batch_url = response.headers["Location"]
    [slip] = fresh(db).scalars(select(HourSlip)).all()
    assert slip.volunteer_id == chen.id and slip.issued_by_id == boss.id
    # numbered in the year it is issued, whatever month it covers
    assert slip.year == utcnow().astimezone(TAIPEI).year
    assert batch_url == f"/slips/batch?year={slip.year}&first={slip.seq}&last={slip.seq}"
    assert slip.serial in person.get(batch_url).get_data(as_text=True)

    pdf = person.get(f"/slips/print.pdf?ids={slip.id}")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert "attachment" in pdf.headers["Content-Disposition"]
    text = pdf_text(pdf.get_data(), tmp_path)
    assert "陳淑芬" in text and "北市115-0042" in text and slip.serial in text
    assert re.search(r"4\s*小時\s*30\s*分", text), text  # the total
    assert "林督導" in text and "督導簽章" in text

    # nothing left to issue: no new slip, a message
    again = person.post("/slips/issue", {"period": "month", "month": "2026-03", "volunteer": ""})
    assert again.status_code == 303
    assert fresh(db).scalar(select(func.count(HourSlip.id))) == 1

    # void without a reason: refused, translated, nothing changed — back on the slip's page
    refused = person.post(f"/slips/{slip.id}/void", {"reason": ""})
    assert refused.status_code == 303 and refused.headers["Location"] == f"/slips/{slip.id}#change"
    assert "請填寫原因" in person.get(f"/slips/{slip.id}").get_data(as_text=True)
    assert fresh(db).get(HourSlip, slip.id).voided_at is None
    # reissue: the old one void, a new number
    done = person.post(f"/slips/{slip.id}/reissue", {"reason": "更正服務地點"})
    assert done.status_code == 303
    fresh(db)
    old, new = db.get(HourSlip, slip.id), db.scalar(select(HourSlip).where(HourSlip.replaces_id == slip.id))
    assert old.voided_at is not None and new.seq == 2
    assert done.headers["Location"] == f"/slips/{new.id}"
    detail = person.get(f"/slips/{old.id}").get_data(as_text=True)
    assert "更正服務地點" in detail and new.serial in detail
    void_pdf = pdf_text(person.get(f"/slips/{old.id}.pdf").get_data(), tmp_path)
    assert "作廢" in void_pdf
    # void the new one: its sessions are free again
    assert person.post(f"/slips/{new.id}/void", {"reason": "重開"}).status_code == 303
    assert fresh(db).scalar(select(func.count(ServiceSession.id))
                            .where(ServiceSession.hour_slip_id.is_not(None))) == 0
    refused = person.post(f"/slips/{new.id}/void", {"reason": "again"})
    assert refused.status_code == 303 and refused.headers["Location"] == f"/slips/{new.id}#change"
    assert f"時數條 {new.serial} 已經作廢" in person.get(f"/slips/{new.id}").get_data(as_text=True)
    actions = [e.action for e in fresh(db).scalars(select(AuditEntry).where(AuditEntry.entity == "hour_slip")
                                                    .order_by(AuditEntry.id))]
    assert actions == ["issue_slip", "void_slip", "issue_slip", "void_slip"]


def test_bad_input_is_refused_in_words_and_changes_nothing(app, db, make, unit, place, admin):
    site, _other, item = place
    served(db, make.volunteer(unit), site, item, dt.date(2026, 3, 2))
    cases = [
        ({"period": "range", "date_from": "2026-03-31", "date_to": "2026-03-01"}, "最後一天不能早於第一天"),
        ({"period": "range", "date_from": "2026-13-01", "date_to": "2026-03-01"}, "2026-01-31"),
        ({"period": "month", "month": "1999-01"}, None),
        ({"period": "month", "month": "2026-3"}, None),
        ({"period": "week"}, "請從選項中選擇"),
        ({"period": "month", "month": "2026-03", "volunteer": "999999"}, None),
    ]
    for data, words in cases:
        response = admin.post("/slips/issue", data)
        assert response.status_code == 400, data
        if words:
            assert words in response.get_data(as_text=True), data
        preview = admin.get("/slips/", query_string=data)
        assert preview.status_code == 400, data
    english = admin.post("/slips/issue", cases[0][0], headers={"Accept-Language": "en"})
    assert "The last day cannot be before the first day." in english.get_data(as_text=True)
    no_csrf = admin.client.post("/slips/issue", data={"period": "month", "month": "2026-03"})
    assert no_csrf.status_code == 400
    assert fresh(db).scalar(select(func.count(HourSlip.id))) == 0


def test_english_page(admin):
    page = admin.get("/slips/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Issue slips" in page
    assert "開立時數條" in admin.get("/slips/").get_data(as_text=True)


# --- the volunteer's own hours and slips ---------------------------------------------------

def test_my_hours_shows_sessions_totals_and_own_slips_only(app, db, make, unit, place, volunteer, admin, tmp_path):
    site, _other, item = place
    me = fresh(db).get(Volunteer, volunteer.user.volunteer.id)
    me.record_book_no = "北市115-0099"
    db.commit()
    served(db, me, site, item, dt.date(2026, 3, 2), minutes=90)
    served(db, me, site, item, dt.date(2026, 3, 3), status=SessionStatus.closed)
    mine = _one_slip(db, make, unit, place, admin.user, volunteer=me)
    other = _one_slip(db, make, unit, place, admin.user)

    page = volunteer.get("/me/hours")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert mine.serial in text and other.serial not in text
    assert "待審核" in text and "已審核" in text
    # 90 + 150 + 120 minutes (hours and minutes each kept on one line: hours_html)
    assert re.search(r'data-total="all"><span class="nowrap">6 小時</span> <span class="nowrap">00 分</span><', text)
    # the session waiting for verification says how long it was (it counts once verified)
    assert re.search(r'2026-03-03 09:00–11:30\s*· <span class="nowrap muted">2 小時 30 分</span>', text)
    assert f"/me/slips/{mine.id}.pdf" in text
    # each slip names the sites of its sessions: two slips of a month are told apart
    line = re.search(rf"{mine.serial}.*?</li>", text, re.S).group(0)
    assert re.search(rf'class="muted small slip-sites">{site.name_zh}<', line)

    own = volunteer.get(f"/me/slips/{mine.id}.pdf")
    assert own.status_code == 200 and own.mimetype == "application/pdf"
    # opened in the browser with its name, like the volunteer's performance certificate
    assert own.headers["Content-Disposition"].startswith("inline; ")
    assert f"hour-slip-{mine.serial}.pdf" in own.headers["Content-Disposition"]
    words = pdf_text(own.get_data(), tmp_path)
    assert me.name_zh in words and "北市115-0099" in words and re.search(r"6\s*小時", words)
    assert volunteer.get(f"/me/slips/{other.id}.pdf").status_code == 404  # someone else's
    assert volunteer.get(f"/slips/{other.id}.pdf").status_code == 403  # the staff address
    assert admin.get("/me/hours").status_code == 403
    assert volunteer.get("/me/hours?page=x").status_code == 200


def test_an_issue_over_sessions_slipped_meanwhile_is_refused_whole(app, db, make, unit, place, staff_user):
    """The lock itself: sessions read as free, then slipped by someone else before this issue
    writes — the UPDATE ... WHERE hour_slip_id IS NULL takes fewer rows, and nothing stands."""
    site, _other, item = place
    chen = make.volunteer(unit)
    for day in (2, 9):
        served(db, chen, site, item, dt.date(2026, 3, day))
    [stale] = slips.pending_slips(fresh(db), staff_user, date_from=MARCH[0], date_to=MARCH[1])
    db.rollback()
    other = app.extensions["hourbook_db"]["sessionmaker"]()
    begin_write(other)
    [first] = slips.issue_slips(other, other.get(User, staff_user.id), ISSUE_NOW,
                                date_from=MARCH[0], date_to=MARCH[1])
    other.commit()
    other.close()
    begin_write(db)
    with pytest.raises(SlipConflict):
        slips._issue_one(db, db.get(User, staff_user.id), ISSUE_NOW, stale, *MARCH)
    db.rollback()
    fresh(db)
    assert db.scalar(select(func.count(HourSlip.id))) == 1
    assert {s.hour_slip_id for s in db.scalars(select(ServiceSession))} == {first.id}


def test_issuing_for_a_whole_unit_prints_in_parts_with_short_addresses(db, make, unit, place, admin, monkeypatch):
    """More slips than one PDF may hold (MAX_BATCH): the batch page offers parts, each with a
    short address (serial range), and each part's PDF holds exactly its slips."""
    import webapp.routes.slips as slip_routes

    monkeypatch.setattr(slip_routes, "MAX_BATCH", 2)
    site, _other, item = place
    people = [make.volunteer(unit, name_zh=f"志工{n}", volunteer_no=f"{n:04d}") for n in range(1, 6)]
    for person in people:
        served(db, person, site, item, dt.date(2026, 3, 2), minutes=60)
    response = admin.post("/slips/issue", {"period": "month", "month": "2026-03", "volunteer": ""})
    assert response.status_code == 303
    issued = fresh(db).scalars(select(HourSlip).order_by(HourSlip.seq)).all()
    assert [s.volunteer_id for s in issued] == [p.id for p in people]  # by volunteer number
    assert [s.seq for s in issued] == [1, 2, 3, 4, 5]
    page = admin.get(response.headers["Location"]).get_data(as_text=True)
    assert "已開立 5 張時數條" in page
    parts = re.findall(r'href="(/slips/print\.pdf\?[^"]+)"', page)
    assert len(parts) == 3 and all(len(url) < 80 for url in parts)
    holders = []
    for url in parts:
        pdf = admin.get(url.replace("&amp;", "&"))
        assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
        holders.append(pdf)
    # a part larger than MAX_BATCH is refused; a range with a slip of another unit is not found
    assert admin.get("/slips/print.pdf?year=2026&first=1&last=3").status_code == 400
    assert admin.get("/slips/print.pdf?year=2026&first=5&last=6").status_code == 404
    entries = audit_actions(db, "issue_slip")
    assert len(entries) == 5 and entries[0].after_data()["serial"] == issued[0].serial
    assert entries[0].after_data()["session_ids"] == [e.session_id for e in issued[0].entries]


# --- the period is true: never after the day of issue, never silently overlapping ---------

def _on(monkeypatch, moment):
    """The slip pages read the clock as at `moment` (aware)."""
    import webapp.routes.slips as slip_routes

    monkeypatch.setattr(slip_routes, "utcnow", lambda: moment)


def test_this_month_is_slipped_up_to_today_and_the_next_slip_follows_on(
        app, db, make, unit, place, admin, monkeypatch, tmp_path):
    """On 5 December a December slip covers 1–5 December (said on the preview, printed on the
    slip); a range ending after today or a month not begun is refused; after the month ends the
    rest of December goes on a slip from the 6th; a session verified late, inside the first
    slip's days, goes on a slip that names the overlap on the page and on paper."""
    site, _other, item = place
    chen = make.volunteer(unit, name_zh="陳淑芬", volunteer_no="0001")
    served(db, chen, site, item, dt.date(2026, 12, 2), minutes=120)
    served(db, chen, site, item, dt.date(2026, 12, 4), minutes=60)
    _on(monkeypatch, dt.datetime(2026, 12, 5, 1, 0, tzinfo=dt.timezone.utc))  # 09:00 Taipei

    preview = admin.get("/slips/?period=month&month=2026-12&volunteer=").get_data(as_text=True)
    assert "2026-12-01 至 2026-12-05" in preview and 'id="period-note"' in preview
    assert "本月尚未結束" in preview and "2026-12-31" not in preview
    for data, words in [
            ({"period": "range", "date_from": "2026-12-01", "date_to": "2026-12-31"},
             "最後一天不能晚於今天（2026-12-05）"),
            ({"period": "month", "month": "2027-01"}, "這個月份還沒開始")]:
        refused = admin.post("/slips/issue", {**data, "volunteer": ""})
        assert refused.status_code == 400 and words in refused.get_data(as_text=True), data
        assert admin.get("/slips/", query_string=data).status_code == 400
    assert fresh(db).scalar(select(func.count(HourSlip.id))) == 0

    assert admin.post("/slips/issue", {"period": "month", "month": "2026-12",
                                       "volunteer": ""}).status_code == 303
    first = fresh(db).scalar(select(HourSlip))
    assert (first.period_start, first.period_end) == (dt.date(2026, 12, 1), dt.date(2026, 12, 5))
    words = pdf_text(admin.get(f"/slips/{first.id}.pdf").get_data(), tmp_path)
    assert re.search(r"115/12/01\s*～\s*115/12/05", words), words
    assert "115/12/31" not in words and "重疊" not in words

    # after the month: the rest of December, from the day after the first slip
    served(db, chen, site, item, dt.date(2026, 12, 20), minutes=90)
    _on(monkeypatch, dt.datetime(2027, 1, 2, 1, 0, tzinfo=dt.timezone.utc))
    preview = admin.get("/slips/?period=month&month=2026-12&volunteer=").get_data(as_text=True)
    assert "服務期間 2026-12-06 至 2026-12-31" in preview and 'id="period-note"' not in preview
    assert admin.post("/slips/issue", {"period": "month", "month": "2026-12",
                                       "volunteer": ""}).status_code == 303
    second = fresh(db).scalar(select(HourSlip).where(HourSlip.id != first.id))
    assert (second.period_start, second.period_end) == (dt.date(2026, 12, 6), dt.date(2026, 12, 31))
    assert second.total_minutes == 90
    words = pdf_text(admin.get(f"/slips/{second.id}.pdf").get_data(), tmp_path)
    assert re.search(r"115/12/06\s*～\s*115/12/31", words) and "重疊" not in words

    # a session of 3 December verified only now: its slip must name the 1–5 December one
    served(db, chen, site, item, dt.date(2026, 12, 3), minutes=30)
    preview = admin.get("/slips/?period=month&month=2026-12&volunteer=").get_data(as_text=True)
    # the serial and the dates each kept on one line on a phone
    assert (f'與時數條 <span class="nowrap">{first.serial}</span>（<span class="nowrap">2026-12-01'
            '</span> 至 <span class="nowrap">2026-12-05</span>）的服務期間重疊') in preview
    assert admin.post("/slips/issue", {"period": "month", "month": "2026-12",
                                       "volunteer": ""}).status_code == 303
    third = fresh(db).scalar(select(HourSlip).order_by(HourSlip.id.desc()))
    assert (third.period_start, third.period_end) == (dt.date(2026, 12, 1), dt.date(2026, 12, 31))
    words = re.sub(r"\s+", "", pdf_text(admin.get(f"/slips/{third.id}.pdf").get_data(), tmp_path))
    assert f"{first.serial}（115/12/01～115/12/05）" in words and f"{second.serial}" in words
    assert "重疊" in words
    # both earlier slips, printed again, say so too; the pages list the overlapping slips
    assert "重疊" in pdf_text(admin.get(f"/slips/{first.id}.pdf").get_data(), tmp_path)
    page = admin.get(f"/slips/{third.id}").get_data(as_text=True)
    overlaps = re.search(r'<div id="overlaps"[^>]*>.*?</div>', page, re.S).group(0)
    assert first.serial in overlaps and second.serial in overlaps


def test_a_slip_period_may_not_end_after_the_day_of_issue(db, make, unit, place, staff_user):
    site, _other, item = place
    served(db, make.volunteer(unit), site, item, dt.date(2026, 3, 30))
    begin_write(fresh(db))
    with pytest.raises(SlipError, match="after today"):  # ISSUE_NOW is 2 April
        slips.issue_slips(db, staff_user, ISSUE_NOW, date_from=MARCH[0], date_to=dt.date(2026, 4, 3))
    db.rollback()
    assert fresh(db).scalar(select(func.count(HourSlip.id))) == 0


# --- the list of issued slips: pages, one volunteer's, a search ------------------------------

def test_issued_slips_page_and_narrow_to_a_volunteer_or_a_search(app, db, make, unit, place, admin):
    """54 slips: 50 to a page, the oldest on page 2; the directory's ?volunteer= link shows
    that volunteer's slips only (and picks them in the issue form); a search finds a slip by
    number or name; with htmx, only the rows are swapped."""
    site, _other, item = place
    chen = make.volunteer(unit, name_zh="陳淑芬", volunteer_no="0001")
    for month in (1, 2):
        served(db, chen, site, item, dt.date(2026, month, 10))
        begin_write(fresh(db))
        slips.issue_slips(db, admin.user, ISSUE_NOW - dt.timedelta(days=10 - month),
                          date_from=dt.date(2026, month, 1), date_to=dt.date(2026, month, 28))
        db.commit()
    others = [make.volunteer(unit, name_zh=f"志工{n}", volunteer_no=f"{n:04d}") for n in range(2, 53)]
    for person in [chen, *others]:
        served(db, person, site, item, dt.date(2026, 3, 2), minutes=60)
    begin_write(fresh(db))
    slips.issue_slips(db, admin.user, ISSUE_NOW, date_from=MARCH[0], date_to=MARCH[1])
    db.commit()
    every = fresh(db).scalars(select(HourSlip).order_by(HourSlip.issued_at.desc(), HourSlip.id.desc())).all()
    assert len(every) == 54
    oldest = every[-1]
    assert oldest.volunteer_id == chen.id

    page = admin.get("/slips/").get_data(as_text=True)
    assert page.count('<tr id="slip-') == 50 and oldest.serial not in page
    assert "第 1–50 筆，共 54 筆" in page
    nxt = re.search(r'<a class="btn" rel="next" href="([^"]+)" hx-get="([^"]+)" hx-target="#issued-slips"', page)
    assert nxt and nxt.group(1) == nxt.group(2) == "/slips/?page=2"
    second = admin.get("/slips/?page=2").get_data(as_text=True)
    assert second.count('<tr id="slip-') == 4 and oldest.serial in second
    rows = admin.get("/slips/?page=2", headers={"HX-Request": "true", "HX-Target": "issued-slips"})
    text = rows.get_data(as_text=True)
    assert text.lstrip().startswith('<div id="issued-slips"') and oldest.serial in text
    assert "<html" not in text and 'id="issue"' not in text

    # the directory's link: this volunteer's slips, and the issue form set to them
    mine = admin.get(f"/slips/?volunteer={chen.id}").get_data(as_text=True)
    chen_serials = {s.serial for s in every if s.volunteer_id == chen.id}
    assert mine.count('<tr id="slip-') == 3 and all(serial in mine for serial in chen_serials)
    assert "0001 陳淑芬 的時數條" in mine and "顯示所有志工的時數條" in mine
    assert re.search(rf'<option selected value="{chen.id}">|<option value="{chen.id}" selected', mine)
    assert 'rel="next"' not in mine

    # a search by slip number or by name; kept on the page links
    found = admin.get("/slips/", query_string={"q": oldest.serial}).get_data(as_text=True)
    assert found.count('<tr id="slip-') == 1 and oldest.serial in found
    named = admin.get("/slips/", query_string={"q": "志工1"}).get_data(as_text=True)
    assert named.count('<tr id="slip-') == 10  # 志工10–志工19
    paged = admin.get("/slips/", query_string={"q": "志工"}).get_data(as_text=True)
    assert 'href="/slips/?q=%E5%BF%97%E5%B7%A5&amp;page=2"' in paged
    nobody = admin.get("/slips/", query_string={"q": "無此人"}).get_data(as_text=True)
    assert "沒有符合「無此人」的時數條" in nobody
    assert admin.get("/slips/?volunteer=abc").status_code == 400
    assert admin.get("/slips/?page=x").status_code == 400

    # the issue form's answer (htmx) brings the list narrowed to its volunteer along
    both = admin.get(f"/slips/?period=month&month=2026-03&volunteer={chen.id}",
                     headers={"HX-Request": "true", "HX-Target": "issue"}).get_data(as_text=True)
    assert both.lstrip().startswith('<section class="card" id="issue">')
    oob = re.search(r'<section class="card" id="issued" hx-swap-oob="true">.*', both, re.S).group(0)
    assert oob.count('<tr id="slip-') == 3


def test_a_supervisor_finds_only_slips_of_their_sites(app, db, make, unit, place, admin, supervisor):
    site, other, item = place
    assign(db, supervisor.user, site)
    chen = make.volunteer(unit, name_zh="陳淑芬")
    mine = _one_slip(db, make, unit, place, admin.user, volunteer=chen)
    served(db, chen, other, item, dt.date(2026, 2, 3))
    begin_write(fresh(db))
    [elsewhere] = slips.issue_slips(db, admin.user, ISSUE_NOW, date_from=dt.date(2026, 2, 1),
                                    date_to=dt.date(2026, 2, 28))
    db.commit()
    page = supervisor.get(f"/slips/?volunteer={chen.id}&q=陳").get_data(as_text=True)
    assert mine.serial in page and elsewhere.serial not in page
    stranger = make.volunteer(make.unit())
    assert supervisor.get(f"/slips/?volunteer={stranger.id}").status_code == 400


# --- a refused void or reissue: back on the slip's page, the reason kept ------------------------

def test_a_refused_void_or_reissue_returns_to_the_slip_with_the_reason_kept(db, make, unit, place, admin):
    slip = _one_slip(db, make, unit, place, admin.user)
    too_long = "登錄錯誤" * 80  # 320 characters
    refused = admin.post(f"/slips/{slip.id}/void", {"reason": too_long})
    assert refused.status_code == 303
    assert refused.headers["Location"] == f"/slips/{slip.id}#change"  # a reload GETs the slip
    page = admin.get(f"/slips/{slip.id}").get_data(as_text=True)
    assert "最多 300 個字元" in page
    assert re.search(rf'<textarea[^>]*>\s*{too_long}</textarea>', page)  # as typed
    again = admin.get(f"/slips/{slip.id}").get_data(as_text=True)  # a reload: a fresh form
    assert "最多 300 個字元" not in again and too_long not in again
    assert fresh(db).get(HourSlip, slip.id).voided_at is None

    # a reissue refused by the domain (nothing left to put on a new slip): the same
    begin_write(fresh(db))
    db.execute(ServiceSession.__table__.update().values(status=SessionStatus.closed.value))
    db.commit()
    refused = admin.post(f"/slips/{slip.id}/reissue", {"reason": "補登服務"})
    assert refused.status_code == 303 and refused.headers["Location"] == f"/slips/{slip.id}#change"
    page = admin.get(f"/slips/{slip.id}").get_data(as_text=True)
    assert "沒有可列入新時數條的已審核服務" in page
    assert re.search(r'<textarea[^>]*>\s*補登服務</textarea>', page)
    assert fresh(db).get(HourSlip, slip.id).voided_at is None
