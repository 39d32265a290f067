"""Evaluation, exit and the team view over HTTP: every route, every role, and exit blocking
check-in on the phone and on the kiosk keypad."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import select

from models import evaluation as ev
from models import volunteer_status as vs
from models import kiosk as kiosks
from models.attendance import Repeat, Shift
from models.audit import AuditEntry
from models.base import taipei_date, taipei_day_bounds, utcnow
from models.evaluation import Evaluation, EvaluationCriterion
from models.people import VolunteerStatus, Volunteer
from models.service import ServiceSession, SessionSource, SessionStatus
from models.verification import SupervisorSite
from tests.conftest import HttpUser
from tests.test_kiosk_tablet import PIN, enrol

EN = {"Accept-Language": "en"}


def fresh(db):
    """See what the app's requests committed: end the test's transaction, forget loaded rows."""
    db.rollback()
    db.expire_all()


def this_year() -> int:
    return taipei_date(utcnow()).year


@pytest.fixture
def world(db, make, unit, admin, supervisor):
    """Two sites; the supervisor looks after the first; one volunteer at each, with verified
    hours this year; the year's two criteria."""
    mine, other = make.site(unit, name_zh="大安據點"), make.site(unit, name_zh="萬華據點")
    item = make.item(unit)
    db.add(SupervisorSite(user_id=supervisor.user.id, site_id=mine.id))
    ours = make.volunteer(unit, name_zh="王小明", insured=True)
    theirs = make.volunteer(unit, name_zh="李大同", insured=True)
    # served this year (in the first hours of 1 January too: then from midnight)
    start = max(utcnow() - dt.timedelta(hours=5), taipei_day_bounds(dt.date(this_year(), 1, 1))[0])
    for vol, site, minutes in ((ours, mine, 150), (theirs, other, 60)):
        db.add(ServiceSession(unit_id=unit.id, volunteer_id=vol.id, site_id=site.id,
                              service_item_id=item.id, checked_in_at=start,
                              checked_out_at=start + dt.timedelta(minutes=minutes),
                              status=SessionStatus.verified, credited_minutes=minutes,
                              source=SessionSource.poster))
    db.commit()
    year = this_year()
    a = ev.save_criterion(db, unit.id, year, admin.user, utcnow(), name_zh="服務態度",
                          name_en="Attitude", weight=2, scale_min=1, scale_max=5)
    b = ev.save_criterion(db, unit.id, year, admin.user, utcnow(), name_zh="團隊合作",
                          name_en="Teamwork", weight=1, scale_min=1, scale_max=5)
    db.commit()
    return {"mine": mine, "other": other, "item": item, "ours": ours, "theirs": theirs,
            "criteria": (a, b), "year": year}


def evaluate_url(w, vol):
    return f"/evaluation/{w['year']}/volunteers/{vol.id}"


def form(w, **changes):
    a, b = w["criteria"]
    data = {f"score-{a.id}": "4", f"score-{b.id}": "5", "outcome": "continue_service",
            "comments": "", "coaching_plan": "", "exit_reason": "", "exit_on": "", "action": "save"}
    data.update(changes)
    return data


# --- the year's list -------------------------------------------------------------------------

def test_list_shows_who_is_evaluated_and_who_is_due(db, world, admin, supervisor):
    page = supervisor.get("/evaluation/").get_data(as_text=True)
    assert "王小明" in page and "李大同" not in page  # the supervisor's own site only
    page = admin.get("/evaluation/", headers=EN).get_data(as_text=True)
    assert "王小明" in page and "李大同" in page and "0 finalised, 0 in progress, 2 still due" in page
    supervisor.post(evaluate_url(world, world["ours"]), form(world))
    page = admin.get("/evaluation/", headers=EN).get_data(as_text=True)
    assert "0 finalised, 1 in progress, 1 still due" in page
    row = re.search(rf'<tr id="volunteer-{world["ours"].id}">(.*?)</tr>', page, re.S).group(1)
    assert "Draft" in row and "Continue" in row and "86.7" in row  # (2*4/5 + 1*5/5) / 3
    assert admin.get("/evaluation/?year=abc").status_code == 400


def test_volunteers_cannot_use_any_of_it(world, volunteer):
    for url in ("/evaluation/", "/evaluation/criteria", "/sites/overview",
                evaluate_url(world, world["ours"]), f"/evaluation/volunteers/{world['ours'].id}/status"):
        assert volunteer.get(url).status_code == 403, url
    assert volunteer.post(evaluate_url(world, world["ours"]), form(world)).status_code == 403


# --- criteria -----------------------------------------------------------------------------------

def test_years_after_next_year_are_refused(db, world, admin):
    """Review 5092: ?year=2030 opened, and criteria could be set up for it. Evaluations and
    their criteria go up to next year (criteria are prepared ahead), never further."""
    too_far = world["year"] + 2
    for url in (f"/evaluation/?year={too_far}", f"/evaluation/criteria?year={too_far}",
                f"/sites/overview?year={too_far}"):
        response = admin.get(url)
        assert response.status_code == 400, url
        assert f"請輸入 2000 至 {world['year'] + 1} 年之間的年份" in response.get_data(as_text=True)
    data = {"name_zh": "出勤", "name_en": "", "weight": "2", "scale_min": "1", "scale_max": "5"}
    assert admin.post(f"/evaluation/criteria?year={too_far}", data).status_code == 400
    assert admin.post(f"/evaluation/criteria/copy?year={too_far}").status_code == 400
    assert admin.get(evaluate_url({**world, "year": too_far}, world["ours"])).status_code == 404
    fresh(db)
    assert ev.criteria_for(db, world["mine"].unit_id, too_far) == []
    with pytest.raises(ev.InvalidEvaluation) as refused:  # the domain refuses it too
        ev.save_criterion(db, world["mine"].unit_id, too_far, admin.user, utcnow(), name_zh="出勤",
                          weight=1, scale_min=1, scale_max=5)
    assert refused.value.errors == {"year": "year_range"}
    db.rollback()
    # next year is open: its criteria can be prepared
    page = admin.get(f"/evaluation/criteria?year={world['year'] + 1}").get_data(as_text=True)
    assert f'max="{world["year"] + 1}"' in page
    assert admin.post(f"/evaluation/criteria?year={world['year'] + 1}", data).status_code == 302


def test_admin_sets_criteria_with_validation(db, world, admin, supervisor):
    year = world["year"] + 1
    page = admin.get(f"/evaluation/criteria?year={year}", headers=EN).get_data(as_text=True)
    assert "No criteria for this year yet." in page
    bad = admin.post(f"/evaluation/criteria?year={year}",
                     {"name_zh": "出勤", "name_en": "", "weight": "0", "scale_min": "1", "scale_max": "5"},
                     headers=EN)
    assert bad.status_code == 400 and "The weight must be a whole number from 1 to 100." in bad.get_data(as_text=True)
    bad = admin.post(f"/evaluation/criteria?year={year}",
                     {"name_zh": "出勤", "weight": "2", "scale_min": "5", "scale_max": "3"})
    assert bad.status_code == 400 and "最高分必須高於最低分" in bad.get_data(as_text=True)
    assert ev.criteria_for(db, world["mine"].unit_id, year) == []
    ok = admin.post(f"/evaluation/criteria?year={year}",
                    {"name_zh": "出勤", "name_en": "Attendance", "weight": "2", "scale_min": "1", "scale_max": "5"})
    assert ok.status_code == 302
    fresh(db)
    [c] = ev.criteria_for(db, world["mine"].unit_id, year)
    assert (c.name_zh, c.weight) == ("出勤", 2)
    assert admin.post(f"/evaluation/criteria/{c.id}", {"name_zh": "出勤率", "weight": "3",
                                                      "scale_min": "1", "scale_max": "5"}).status_code == 302
    fresh(db)
    assert db.get(EvaluationCriterion, c.id).name_zh == "出勤率"
    cid = c.id
    assert admin.post(f"/evaluation/criteria/{cid}/delete").status_code == 302
    fresh(db)
    assert db.get(EvaluationCriterion, cid) is None
    # copy this year's into next year
    assert admin.post(f"/evaluation/criteria/copy?year={year}").status_code == 302
    fresh(db)
    assert [c.name_zh for c in ev.criteria_for(db, world["mine"].unit_id, year)] == ["服務態度", "團隊合作"]
    # supervisors may not touch criteria
    assert supervisor.get("/evaluation/criteria").status_code == 403
    some = world["criteria"][0]
    assert supervisor.get(f"/evaluation/criteria/{some.id}").status_code == 403
    assert supervisor.post(f"/evaluation/criteria/{some.id}", {"name_zh": "x", "weight": "1",
                                                               "scale_min": "1", "scale_max": "5"}).status_code == 403
    assert supervisor.post(f"/evaluation/criteria/{some.id}/delete").status_code == 403
    assert supervisor.post(f"/evaluation/criteria/copy?year={year + 1}").status_code == 403
    assert supervisor.post(f"/evaluation/criteria?year={year}", {"name_zh": "x", "weight": "1",
                                                                 "scale_min": "1", "scale_max": "5"}).status_code == 403


def test_criteria_lock_once_evaluations_begin(db, world, admin):
    a, _b = world["criteria"]
    admin.post(evaluate_url(world, world["ours"]), form(world))
    page = admin.get("/evaluation/criteria", headers=EN).get_data(as_text=True)
    assert "its criteria can no longer change" in page and 'action="/evaluation/criteria?' not in page
    r = admin.post(f"/evaluation/criteria/{a.id}", {"name_zh": "改", "weight": "9", "scale_min": "1",
                                                   "scale_max": "5"}, headers=EN)
    assert r.status_code == 400
    fresh(db)
    assert db.get(EvaluationCriterion, a.id).weight == 2


def test_other_units_criteria_are_not_found(db, make, admin):
    other = make.unit()
    boss = make.user(other, role="admin")
    c = ev.save_criterion(db, other.id, 2026, boss, utcnow(), name_zh="x", weight=1, scale_min=1, scale_max=5)
    db.commit()
    assert admin.get(f"/evaluation/criteria/{c.id}").status_code == 404
    assert admin.post(f"/evaluation/criteria/{c.id}/delete").status_code == 404


# --- evaluating ------------------------------------------------------------------------------------

def test_form_is_prefilled_and_saves_then_finalises(db, world, supervisor):
    url = evaluate_url(world, world["ours"])
    page = supervisor.get(url, headers=EN).get_data(as_text=True)
    assert "2 h 30 min" in re.search(r'id="fact-hours">(.*?)</dd>', page).group(1)
    assert "Attitude" in page and 'name="outcome" value="exit"' in page
    bad = supervisor.post(url, form(world, **{f"score-{world['criteria'][0].id}": "9"}), headers=EN)
    assert bad.status_code == 400 and "The score is outside the scale." in bad.get_data(as_text=True)
    bad = supervisor.post(url, form(world, outcome="coaching"))
    assert bad.status_code == 400 and "這一欄必填" in bad.get_data(as_text=True)
    fresh(db)
    assert db.scalar(select(Evaluation)) is None
    assert supervisor.post(url, form(world, comments="很好")).status_code == 302
    page = supervisor.get(url).get_data(as_text=True)
    assert "很好" in page and 'value="4" checked' in page  # editable, with what was saved
    assert supervisor.post(url, form(world, action="finalise")).status_code == 302
    fresh(db)
    saved = db.scalar(select(Evaluation))
    assert saved.is_final and saved.verified_minutes == 150 and saved.evaluator_id == supervisor.user.id
    listing = supervisor.get(f"/evaluation/?year={world['year']}").get_data(as_text=True)
    assert "查看考核" in listing and "待處理" not in listing  # a finalised one is read, not "pending"
    again = supervisor.post(url, form(world, outcome="coaching", coaching_plan="x"), headers=EN)
    assert again.status_code == 400 and "can no longer change" in again.get_data(as_text=True)
    fresh(db)
    assert db.scalar(select(Evaluation)).outcome.value == "continue_service"


def test_a_form_sent_without_scores_is_shown_again_not_an_error_page(db, world, supervisor):
    """No score picked (or only some), with or without an outcome: the form comes back with
    what to fix, for save and for finalise, and nothing is kept (it once answered 500)."""
    url = evaluate_url(world, world["ours"])
    a, b = world["criteria"]
    for action in ("save", "finalise"):
        for changes in ({f"score-{a.id}": "", f"score-{b.id}": "", "outcome": ""},
                        {f"score-{a.id}": "", f"score-{b.id}": ""},
                        {f"score-{b.id}": "", "outcome": ""}):
            body = {k: v for k, v in form(world, action=action, **changes).items() if v != "" or
                    not k.startswith("score-") or k.endswith(str(a.id))}
            response = supervisor.post(url, body)
            assert response.status_code == 400, (action, changes)
            assert "服務態度" in response.get_data(as_text=True)
    fresh(db)
    assert db.scalar(select(Evaluation)) is None


def test_admin_reopens_a_finalised_evaluation_with_a_reason_to_correct_it(db, world, admin, supervisor):
    url = evaluate_url(world, world["ours"])
    assert supervisor.post(url, form(world, comments="很好", action="finalise")).status_code == 302
    page = supervisor.get(url).get_data(as_text=True)
    assert 'id="reopen"' not in page and 'id="reopen-form"' not in page  # supervisors evaluate; only admins reopen
    assert supervisor.post(url + "/reopen", {"reason": "打錯分數"}).status_code == 403
    assert 'id="reopen-form"' in admin.get(url).get_data(as_text=True)
    bad = admin.post(url + "/reopen", {"reason": "  "})
    assert bad.status_code == 400 and "這一欄必填" in bad.get_data(as_text=True)
    fresh(db)
    assert db.scalar(select(Evaluation)).is_final
    assert admin.post(url + "/reopen", {"reason": "打錯分數"}).status_code == 302
    fresh(db)
    reopened = db.scalar(select(Evaluation))
    assert not reopened.is_final and reopened.finalised_at is None and reopened.comments == "很好"
    entry = db.scalar(select(AuditEntry).where(AuditEntry.action == "evaluation_reopened"))
    assert entry.actor_user_id == admin.user.id and entry.after_data()["reason"] == "打錯分數"
    assert entry.before_data()["status"] == "final" and entry.after_data()["status"] == "draft"
    # A draft is edited as before (the supervisor too), then finalised anew.
    a = world["criteria"][0]
    assert supervisor.post(url, form(world, **{f"score-{a.id}": "2"}, action="finalise")).status_code == 302
    fresh(db)
    again = db.scalar(select(Evaluation))
    assert again.is_final and again.scores and again.score_of(a.id) == 2
    reopened_again = admin.post(url + "/reopen", {"reason": "x"})
    assert reopened_again.status_code == 302  # final again: may be reopened again
    fresh(db)
    twice = admin.post(url + "/reopen", {"reason": "x"}, headers=EN)
    assert twice.status_code == 400 and "not finalised" in twice.get_data(as_text=True)
    assert admin.post(f"/evaluation/{world['year']}/volunteers/{world['theirs'].id}/reopen",
                      {"reason": "x"}).status_code == 404  # no evaluation yet


def test_an_exit_evaluation_reopens_only_after_the_volunteer_is_reactivated(db, world, admin):
    vol = world["ours"]
    url = evaluate_url(world, vol)
    assert admin.post(url, form(world, outcome="exit", exit_reason="長期未出勤",
                                action="finalise")).status_code == 302
    refused = admin.post(url + "/reopen", {"reason": "退場有誤"})
    assert refused.status_code == 400 and "請先到狀態頁面恢復服務" in refused.get_data(as_text=True)
    fresh(db)
    assert db.scalar(select(Evaluation)).is_final and not db.get(Volunteer, vol.id).is_active
    assert admin.post(f"/evaluation/volunteers/{vol.id}/reactivate", {"reason": "退場有誤"}).status_code == 302
    assert admin.post(url + "/reopen", {"reason": "退場有誤"}).status_code == 302
    assert admin.post(url, form(world, action="finalise")).status_code == 302  # now: continue
    fresh(db)
    assert db.get(Volunteer, vol.id).is_active
    assert db.scalar(select(Evaluation)).outcome.value == "continue_service"


def test_a_supervisor_proposes_an_exit_and_the_admin_finalises_it(db, world, supervisor, admin):
    """The review: a supervisor finalised an evaluation with the outcome Exit and the volunteer
    left, though the exit itself is the unit admin's (its own form answers a supervisor 403).
    Now the supervisor saves the exit as a draft, is told finalising is the admin's, and
    nothing changes until the admin finalises it."""
    vol = world["ours"]
    url = evaluate_url(world, vol)
    exit_form = form(world, outcome="exit", exit_reason="長期未出勤")
    refused = supervisor.post(url, {**exit_form, "action": "finalise"})
    assert refused.status_code == 400
    assert "只有單位管理者可以定案退場" in refused.get_data(as_text=True)
    fresh(db)
    assert db.get(Volunteer, vol.id).is_active and db.scalar(select(Evaluation)) is None
    assert supervisor.post(url, exit_form).status_code == 302  # saved as a proposal
    fresh(db)
    draft = db.scalar(select(Evaluation))
    assert draft.outcome.value == "exit" and not draft.is_final and db.get(Volunteer, vol.id).is_active
    assert admin.post(url, {**exit_form, "action": "finalise"}).status_code == 302
    fresh(db)
    assert db.scalar(select(Evaluation)).is_final and not db.get(Volunteer, vol.id).is_active


def test_supervisor_of_another_site_gets_403(db, world, supervisor, admin):
    url = evaluate_url(world, world["theirs"])
    assert supervisor.get(url).status_code == 403
    assert supervisor.post(url, form(world)).status_code == 403
    fresh(db)
    assert db.scalar(select(Evaluation)) is None
    assert admin.get(url).status_code == 200  # admins: everyone
    assert admin.get(f"/evaluation/{world['year']}/volunteers/999999").status_code == 404


# --- exit -------------------------------------------------------------------------------------------

def exit_notice(response) -> str:
    html = response.get_data(as_text=True)
    notice = html.split('id="exit-notice"')[1].split("</section>")[0]
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", notice)).strip(), notice


def test_the_exit_notice_offers_the_certificate_only_when_the_volunteer_qualifies(db, make, unit,
                                                                                world, admin):
    """Review 5092: a volunteer who left with 5 h was told "離開的志工可申請績效證明書" with a
    button (a hard-coded address) to a page saying only "還差 145 小時". The notice on the
    status page and on the evaluation form (one partial) now follows certificate_eligibility:
    the certificate is offered only when they qualify, else the notice says what is missing."""
    today = taipei_date(utcnow())
    vol = make.volunteer(unit, name_zh="王怡君", joined_on=today - dt.timedelta(days=550))
    start = taipei_day_bounds(today - dt.timedelta(days=200))[0] + dt.timedelta(hours=2)
    db.add(ServiceSession(unit_id=unit.id, volunteer_id=vol.id, site_id=world["mine"].id,
                          service_item_id=world["item"].id, checked_in_at=start,
                          checked_out_at=start + dt.timedelta(hours=5),
                          status=SessionStatus.verified, credited_minutes=300,
                          source=SessionSource.poster))
    db.commit()
    vs.exit_volunteer(db, vol, admin.user, utcnow(), reason="搬家")
    db.commit()
    pages = (f"/evaluation/volunteers/{vol.id}/status", evaluate_url(world, vol))
    for url in pages:
        text, notice = exit_notice(admin.get(url))
        assert "王怡君 已退場，無法再簽到。" in text and "可申請" not in text
        assert "績效證明書需在本單位服務滿 12 個月且達 150 小時：王怡君 尚未符合" in text, text
        assert "還差 145 小時 00 分" in text
        assert "certificate-link" not in notice and "/admin/certificates/new" not in notice
        text, _notice = exit_notice(admin.get(url, headers=EN))
        assert "needs 12 months of service and 150 hours with this unit" in text
    # with 150 h more the same notice offers it, through the certificates' own address
    db.add(ServiceSession(unit_id=unit.id, volunteer_id=vol.id, site_id=world["mine"].id,
                          service_item_id=world["item"].id, checked_in_at=start - dt.timedelta(days=1),
                          checked_out_at=start - dt.timedelta(days=1) + dt.timedelta(hours=5),
                          status=SessionStatus.verified, credited_minutes=150 * 60,
                          source=SessionSource.poster))
    db.commit()
    for url in pages:
        text, notice = exit_notice(admin.get(url))
        assert "離開的志工可申請志願服務績效證明書，王怡君 符合資格。" in text
        assert f'id="certificate-link" href="/admin/certificates/new?volunteer_id={vol.id}"' in notice


def test_the_certificate_page_of_a_volunteer_not_qualifying_has_a_way_back(db, make, unit, world,
                                                                          admin):
    """The start page of someone who does not qualify ended at "還差 145 小時": no way back, no
    next step. It links back to the certificates and to the volunteer's status."""
    vol = make.volunteer(unit, name_zh="王怡君")
    vs.exit_volunteer(db, vol, admin.user, utcnow(), reason="搬家")
    db.commit()
    html = admin.get(f"/admin/certificates/new?volunteer_id={vol.id}").get_data(as_text=True)
    assert 'action="/admin/certificates/new"' not in html
    assert 'id="back-to-certificates" href="/admin/certificates/"' in html
    assert f'id="volunteer-status-link" href="/evaluation/volunteers/{vol.id}/status"' in html
    assert "在本單位服務滿 12 個月且達 150 小時" in html


def test_exit_through_evaluation_offers_the_certificate_and_blocks_check_in(app, db, make, unit, world, admin):
    vol = world["ours"]
    vol.set_pin(PIN)
    db.commit()
    url = evaluate_url(world, vol)
    r = admin.post(url, form(world, outcome="exit", exit_reason="長期未出勤", action="finalise"))
    assert r.status_code == 302
    text, notice = exit_notice(admin.get(url))
    # 2 h 30 min: the notice says what a certificate needs instead of offering one
    assert "/admin/certificates/new" not in notice and "還差 147 小時 30 分" in text, text
    fresh(db)
    vol = db.get(Volunteer, vol.id)
    assert vol.status == VolunteerStatus.inactive and vol.exit_reason == "長期未出勤"
    assert vol.left_on == taipei_date(utcnow())
    assert db.scalar(select(ServiceSession).where(ServiceSession.volunteer_id == vol.id)) is not None

    # The kiosk keypad refuses, in Chinese by default.
    device, code = kiosks.create_device(db, site=world["mine"], name="平板", actor=admin.user, now=utcnow())
    db.commit()
    tablet = enrol(app, code)
    screen = tablet.identify_keypad(vol)
    refused = tablet.press(screen)
    assert refused.status_code == 409 and "志工身分已停用" in refused.get_data(as_text=True)
    # The phone check-in refuses too (the volunteer can still sign in to see their hours).
    user = make.user(unit, role="volunteer")
    gone = user.volunteer
    make.cover(gone)
    vs.exit_volunteer(db, gone, admin.user, utcnow(), reason="搬家")
    db.commit()
    phone = HttpUser(app.test_client())
    assert phone.sign_in(user.email, make.PASSWORD).status_code == 302
    page = phone.get(f"/s/{world['mine'].token}").get_data(as_text=True)
    key = re.search(r'name="key" value="([0-9a-f]+)"', page)
    r = phone.post(f"/s/{world['mine'].token}", {"action": "check_in", "item_id": world["item"].id,
                                                  "key": key.group(1) if key else "k1"})
    assert r.status_code == 409 and "志工身分已停用" in r.get_data(as_text=True)
    r = phone.post(f"/s/{world['mine'].token}", {"action": "check_in", "item_id": world["item"].id,
                                                  "key": "k2"}, headers=EN)
    assert "Your volunteer status is inactive" in r.get_data(as_text=True)
    fresh(db)
    assert db.scalar(select(ServiceSession).where(ServiceSession.volunteer_id == gone.id)) is None


@pytest.mark.parametrize("lang, words", [
    ("zh-TW", "離退日期不能早於加入日期（2026-01-10）。"),
    ("en", "The exit date cannot be before the joining date (2026-01-10).")])
def test_an_exit_before_joining_is_refused_in_words(db, world, admin, lang, words):
    vol = world["theirs"]
    db.get(Volunteer, vol.id).joined_on = dt.date(2026, 1, 10)
    db.commit()
    bad = admin.post(f"/evaluation/volunteers/{vol.id}/exit", {"reason": "搬家", "on": "2000-01-01"},
                     headers={"Accept-Language": lang})
    assert bad.status_code == 400 and words in bad.get_data(as_text=True)
    fresh(db)
    assert db.get(Volunteer, vol.id).is_active


def test_admin_exits_and_reactivates_with_reasons(db, world, admin, supervisor):
    vol = world["theirs"]
    status_url = f"/evaluation/volunteers/{vol.id}/status"
    assert supervisor.get(status_url).status_code == 403
    assert supervisor.post(f"/evaluation/volunteers/{vol.id}/exit", {"reason": "x"}).status_code == 403
    bad = admin.post(f"/evaluation/volunteers/{vol.id}/exit", {"reason": "", "on": ""})
    assert bad.status_code == 400 and "這一欄必填" in bad.get_data(as_text=True)
    future = (taipei_date(utcnow()) + dt.timedelta(days=3)).isoformat()
    bad = admin.post(f"/evaluation/volunteers/{vol.id}/exit", {"reason": "搬家", "on": future}, headers=EN)
    assert bad.status_code == 400 and "The date cannot be in the future." in bad.get_data(as_text=True)
    fresh(db)
    assert db.get(Volunteer, vol.id).is_active
    assert admin.post(f"/evaluation/volunteers/{vol.id}/exit", {"reason": "搬家", "on": ""}).status_code == 302
    page = admin.get(status_url).get_data(as_text=True)
    assert "還差 149 小時 00 分" in exit_notice(admin.get(status_url))[0] and "搬家" in page  # 1 h
    assert page.count("已退場，無法再簽到") == 1 and "已登錄" in page and "的離退" in page  # said once
    bad = admin.post(f"/evaluation/volunteers/{vol.id}/reactivate", {"reason": ""})
    assert bad.status_code == 400
    assert supervisor.post(f"/evaluation/volunteers/{vol.id}/reactivate", {"reason": "x"}).status_code == 403
    assert admin.post(f"/evaluation/volunteers/{vol.id}/reactivate", {"reason": "搬回來"}).status_code == 302
    fresh(db)
    assert db.get(Volunteer, vol.id).is_active
    actions = db.scalars(select(AuditEntry.action).where(AuditEntry.entity == "volunteer",
                                                         AuditEntry.entity_id == vol.id)
                         .order_by(AuditEntry.id)).all()
    assert actions == ["volunteer_exit", "volunteer_reactivated"]
    page = admin.get(status_url).get_data(as_text=True)
    assert "搬家" in page and "搬回來" in page


# --- the team view ------------------------------------------------------------------------------------

def test_team_view_per_site_scoped_by_role(db, world, admin, supervisor):
    page = admin.get("/sites/overview", headers=EN).get_data(as_text=True)
    mine = re.search(rf'<tr id="site-{world["mine"].id}">(.*?)</tr>', page, re.S).group(1)
    other = re.search(rf'<tr id="site-{world["other"].id}">(.*?)</tr>', page, re.S).group(1)
    assert "2 h 30 min" in mine and "1 h 00 min" in other
    page = supervisor.get("/sites/overview").get_data(as_text=True)
    assert f'id="site-{world["mine"].id}"' in page and f'id="site-{world["other"].id}"' not in page
    assert "萬華據點" not in page
    assert admin.get("/sites/overview?year=1999").status_code == 400


def test_another_units_admin_finds_nothing(app, make, world):
    stranger = HttpUser(app.test_client())
    boss = make.user(make.unit(), role="admin")
    assert stranger.sign_in(boss.email, make.PASSWORD).status_code == 302
    vol = world["ours"]
    assert stranger.get(evaluate_url(world, vol)).status_code == 404
    assert stranger.post(evaluate_url(world, vol), form(world)).status_code == 404
    assert stranger.get(f"/evaluation/volunteers/{vol.id}/status").status_code == 404
    assert stranger.post(f"/evaluation/volunteers/{vol.id}/exit", {"reason": "x"}).status_code == 404
    page = stranger.get("/sites/overview").get_data(as_text=True)
    assert "大安據點" not in page and "王小明" not in stranger.get("/evaluation/").get_data(as_text=True)


def test_before_the_criteria_an_admin_is_sent_to_set_them(db, make, unit, admin):
    vol = make.volunteer(unit, name_zh="王小明")
    url = f"/evaluation/{this_year()}/volunteers/{vol.id}"
    page = admin.get(url).get_data(as_text=True)
    assert f'href="/evaluation/criteria?year={this_year()}"' in page and "請洽承辦人" not in page
