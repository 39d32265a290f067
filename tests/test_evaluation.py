"""Annual evaluation, exit and the team view: the rules in models/evaluation.py, with a
controlled clock (nothing here reads the wall clock)."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import event, select

from models import evaluation as ev
from models import volunteer_status as vs
from models.team_view import team_overview
from models.attendance import Repeat, Shift
from models.audit import AuditEntry
from models.base import TAIPEI
from models.evaluation import EvaluationStatus, InvalidEvaluation, Outcome
from models.people import VolunteerStatus
from models.service import ServiceSession, SessionSource, SessionStatus
from models.training import TrainingCourse, TrainingMode, TrainingRecord
from models.verification import SupervisorSite

NOW = dt.datetime(2026, 12, 15, 10, 0, tzinfo=TAIPEI).astimezone(dt.timezone.utc)


def at(y, m, d, h=9, mi=0):
    return dt.datetime(y, m, d, h, mi, tzinfo=TAIPEI).astimezone(dt.timezone.utc)


def served(db, vol, site, item, start, minutes, status=SessionStatus.verified):
    s = ServiceSession(unit_id=vol.unit_id, volunteer_id=vol.id, site_id=site.id,
                       service_item_id=item.id, checked_in_at=start,
                       checked_out_at=start + dt.timedelta(minutes=minutes), status=status,
                       credited_minutes=minutes if status == SessionStatus.verified else 0,
                       source=SessionSource.poster)
    db.add(s)
    db.commit()
    return s


def shift(db, vol, site, item, day, repeat=Repeat.once, ends_on=None):
    s = Shift(unit_id=vol.unit_id, site_id=site.id, service_item_id=item.id, volunteer_id=vol.id,
              repeat=repeat, starts_on=day, ends_on=ends_on, start_time=dt.time(9),
              end_time=dt.time(12))
    db.add(s)
    db.commit()
    return s


@pytest.fixture
def world(db, make, unit):
    site = make.site(unit, name_zh="大安據點")
    item = make.item(unit)
    boss = make.user(unit, role="admin")
    return {"site": site, "item": item, "boss": boss}


def criteria(db, unit, boss, year=2026):
    a = ev.save_criterion(db, unit.id, year, boss, NOW, name_zh="服務態度", name_en="Attitude",
                          weight=3, scale_min=1, scale_max=5)
    b = ev.save_criterion(db, unit.id, year, boss, NOW, name_zh="出勤", name_en="Attendance",
                          weight=1, scale_min=0, scale_max=10)
    db.commit()
    return a, b


# --- criteria ------------------------------------------------------------------------------

def test_criteria_are_validated_and_nothing_changes_on_bad_input(db, unit, world):
    boss = world["boss"]
    cases = [
        (dict(name_zh="", weight=1, scale_min=1, scale_max=5), "name_zh", "required"),
        (dict(name_zh="態度", weight=0, scale_min=1, scale_max=5), "weight", "weight_range"),
        (dict(name_zh="態度", weight=-3, scale_min=1, scale_max=5), "weight", "weight_range"),
        (dict(name_zh="態度", weight=None, scale_min=1, scale_max=5), "weight", "required"),
        (dict(name_zh="態度", weight=1, scale_min=5, scale_max=5), "scale_max", "scale_order"),
        (dict(name_zh="態度", weight=1, scale_min=1, scale_max=101), "scale_max", "scale_range"),
    ]
    for kw, name, code in cases:
        with pytest.raises(InvalidEvaluation) as e:
            ev.save_criterion(db, unit.id, 2026, boss, NOW, **kw)
        assert e.value.errors[name] == code
        db.rollback()
    assert ev.criteria_for(db, unit.id, 2026) == []
    criteria(db, unit, boss)
    with pytest.raises(InvalidEvaluation) as e:
        ev.save_criterion(db, unit.id, 2026, boss, NOW, name_zh="服務態度", weight=1,
                          scale_min=1, scale_max=5)
    assert e.value.errors == {"name_zh": "duplicate"}
    db.rollback()
    # The same name in another year is fine: each year has its own criteria.
    ev.save_criterion(db, unit.id, 2027, boss, NOW, name_zh="服務態度", weight=1, scale_min=1,
                      scale_max=5)
    assert [c.name_zh for c in ev.criteria_for(db, unit.id, 2026)] == ["服務態度", "出勤"]
    saved = db.scalars(select(AuditEntry).where(AuditEntry.action == "evaluation_criterion_saved")
                       .order_by(AuditEntry.id)).all()
    assert len(saved) == 3 and saved[0].after_data()["weight"] == 3


def test_criteria_lock_once_the_year_has_an_evaluation(db, make, unit, world):
    boss = world["boss"]
    a, b = criteria(db, unit, boss)
    vol = make.volunteer(unit)
    ev.save_evaluation(db, vol, 2026, boss, NOW, scores={a.id: 4, b.id: 8},
                       outcome="continue_service")
    db.commit()
    for attempt in (
        lambda: ev.save_criterion(db, unit.id, 2026, boss, NOW, name_zh="新", weight=1,
                                  scale_min=1, scale_max=5),
        lambda: ev.save_criterion(db, unit.id, 2026, boss, NOW, name_zh="服務態度", weight=9,
                                  scale_min=1, scale_max=5, criterion=a),
        lambda: ev.delete_criterion(db, b, boss, NOW),
    ):
        with pytest.raises(InvalidEvaluation) as e:
            attempt()
        assert e.value.errors == {"year": "locked"}
        db.rollback()
    db.expire_all()
    assert [(c.name_zh, c.weight) for c in ev.criteria_for(db, unit.id, 2026)] == [("服務態度", 3), ("出勤", 1)]
    # Next year is open, and can start from this year's.
    copied = ev.copy_criteria(db, unit.id, 2026, 2027, boss, NOW)
    assert [(c.name_zh, c.weight, c.scale_max) for c in copied] == [("服務態度", 3, 5), ("出勤", 1, 10)]


def test_weighted_total_is_out_of_100(db, unit, world):
    a, b = criteria(db, unit, world["boss"])
    # 4/5 weighted 3, 10/10 weighted 1: (3*0.8 + 1*1.0) / 4 = 0.85
    assert ev.weighted_total({a.id: 4, b.id: 10}, [a, b]) == 85.0
    assert ev.weighted_total({a.id: 5, b.id: 10}, [a, b]) == 100.0
    assert ev.weighted_total({a.id: 4}, [a, b]) is None


# --- the prefilled facts ---------------------------------------------------------------------

def test_facts_count_only_the_years_verified_hours_attendance_and_training(db, make, unit, world):
    site, item = world["site"], world["item"]
    vol = make.volunteer(unit)
    served(db, vol, site, item, at(2026, 3, 2), 120)
    served(db, vol, site, item, at(2026, 12, 31, 23, 0), 30)  # Taipei 31 Dec: counts
    served(db, vol, site, item, at(2027, 1, 1, 0, 30), 45)  # next year (UTC still 2026)
    served(db, vol, site, item, at(2025, 12, 31, 9), 60)  # last year
    served(db, vol, site, item, at(2026, 4, 1), 90, status=SessionStatus.closed)  # unverified
    served(db, vol, site, item, at(2026, 4, 2), 90, status=SessionStatus.rejected)
    # Shifts: 5 Mondays from 2 Nov; attended 2 Nov (on time) and 9 Nov (late), absent the rest
    # except 16 Nov, excused.
    weekly = shift(db, vol, site, item, dt.date(2026, 11, 2), Repeat.weekly, dt.date(2026, 11, 30))
    served(db, vol, site, item, at(2026, 11, 2, 9, 0), 180)
    served(db, vol, site, item, at(2026, 11, 9, 9, 40), 140)
    from models.shift_changes import mark_excused
    mark_excused(db, weekly.id, dt.date(2026, 11, 16), "生病", world["boss"], NOW)
    course = db.scalar(select(TrainingCourse).where(TrainingCourse.unit_id == unit.id,
                                                    TrainingCourse.code == "B01"))
    db.add(TrainingRecord(volunteer_id=vol.id, course_id=course.id, completed_on=dt.date(2026, 6, 1),
                          minutes=120, mode=TrainingMode.in_person))
    db.commit()

    facts = ev.facts_for(db, vol, 2026, NOW)
    assert facts.verified_minutes == 120 + 30 + 180 + 140
    # 2, 9 Nov attended; 23, 30 Nov absent; 16 Nov excused (left out)
    assert (facts.attendance.attended, facts.attendance.scheduled) == (2, 4)
    assert facts.attendance.rate == 50.0
    assert [r.minutes for r in facts.training] == [120] and facts.training_minutes == 120
    assert facts.training_complete  # the factory trained them in 2000


def test_attendance_in_the_current_year_stops_today(db, make, unit, world):
    site, item = world["site"], world["item"]
    vol = make.volunteer(unit)
    shift(db, vol, site, item, dt.date(2026, 12, 14))  # yesterday: absent
    shift(db, vol, site, item, dt.date(2026, 12, 20))  # ahead: not counted
    facts = ev.facts_for(db, vol, 2026, NOW)
    assert (facts.attendance.attended, facts.attendance.scheduled) == (0, 1)


# --- saving an evaluation ---------------------------------------------------------------------

def test_evaluation_is_validated_then_saved_then_edited_until_final(db, make, unit, world):
    boss = world["boss"]
    a, b = criteria(db, unit, boss)
    vol = make.volunteer(unit)
    served(db, vol, world["site"], world["item"], at(2026, 5, 5), 600)
    bad = [
        (dict(scores={a.id: 4}, outcome="continue_service"), {f"score-{b.id}": "score_required"}),
        (dict(scores={a.id: 6, b.id: 3}, outcome="continue_service"), {f"score-{a.id}": "score_range"}),
        (dict(scores={a.id: 0, b.id: 3}, outcome="continue_service"), {f"score-{a.id}": "score_range"}),
        (dict(scores={a.id: 3, b.id: 3}, outcome=None), {"outcome": "required"}),
        (dict(scores={a.id: 3, b.id: 3}, outcome="promote"), {"outcome": "unknown_outcome"}),
        (dict(scores={a.id: 3, b.id: 3}, outcome="coaching"), {"coaching_plan": "required"}),
        (dict(scores={a.id: 3, b.id: 3}, outcome="exit"), {"exit_reason": "required"}),
        (dict(scores={a.id: 3, b.id: 3}, outcome="exit", exit_reason="搬家",
              exit_on=dt.date(2026, 12, 16)), {"exit_on": "future"}),
    ]
    for kw, errors in bad:
        with pytest.raises(InvalidEvaluation) as e:
            ev.save_evaluation(db, vol, 2026, boss, NOW, **kw)
        assert e.value.errors == errors
        db.rollback()
    assert ev.evaluation_of(db, vol.id, 2026) is None

    first = ev.save_evaluation(db, vol, 2026, boss, NOW, scores={a.id: 3, b.id: 5},
                               outcome="coaching", coaching_plan="每月督導面談一次")
    db.commit()
    assert first.status == EvaluationStatus.draft and first.verified_minutes == 600
    later = NOW + dt.timedelta(days=1)
    again = ev.save_evaluation(db, vol, 2026, boss, later, scores={a.id: 4, b.id: 9},
                               outcome="continue_service", comments="表現穩定", finalise=True)
    db.commit()
    assert again.id == first.id and again.is_final and again.finalised_at == later
    assert {s.criterion_id: s.score for s in again.scores} == {a.id: 4, b.id: 9}
    assert again.coaching_plan == ""  # every field is as sent with this save
    with pytest.raises(InvalidEvaluation) as e:
        ev.save_evaluation(db, vol, 2026, boss, later, scores={a.id: 1, b.id: 1},
                           outcome="continue_service")
    assert e.value.errors == {"status": "final"}
    db.rollback()
    entries = db.scalars(select(AuditEntry).where(AuditEntry.entity == "evaluation")
                         .order_by(AuditEntry.id)).all()
    assert [x.action for x in entries] == ["evaluation_saved", "evaluation_finalised"]
    assert entries[0].before is None and entries[0].after_data()["outcome"] == "coaching"
    assert entries[1].before_data()["scores"] == {str(a.id): 3, str(b.id): 5}
    assert entries[1].after_data()["scores"] == {str(a.id): 4, str(b.id): 9}
    assert vol.is_active  # continuing


def test_no_criteria_no_evaluation(db, make, unit, world):
    vol = make.volunteer(unit)
    with pytest.raises(InvalidEvaluation) as e:
        ev.save_evaluation(db, vol, 2026, world["boss"], NOW, scores={}, outcome="continue_service")
    assert e.value.errors == {"year": "no_criteria"}


# --- exit and re-activation ----------------------------------------------------------------------

def test_finalised_exit_makes_the_volunteer_inactive_and_keeps_everything(db, make, unit, world):
    boss = world["boss"]
    a, b = criteria(db, unit, boss)
    vol = make.volunteer(unit)
    s = served(db, vol, world["site"], world["item"], at(2026, 5, 5), 600)
    draft = ev.save_evaluation(db, vol, 2026, boss, NOW, scores={a.id: 1, b.id: 1}, outcome="exit",
                               exit_reason="長期未出勤")
    db.commit()
    assert vol.is_active and draft.exit_on == dt.date(2026, 12, 15)  # a draft exit changes nothing
    ev.save_evaluation(db, vol, 2026, boss, NOW, scores={a.id: 1, b.id: 1}, outcome="exit",
                       exit_reason="長期未出勤", exit_on=dt.date(2026, 12, 1), finalise=True)
    db.commit()
    db.expire_all()
    assert vol.status == VolunteerStatus.inactive and vol.left_on == dt.date(2026, 12, 1)
    assert vol.exit_reason == "長期未出勤"
    assert db.get(ServiceSession, s.id) is not None  # nothing deleted
    [change] = vs.status_changes_of(db, vol.id)
    assert change.status == VolunteerStatus.inactive and change.evaluation_id == draft.id
    exit_entry = db.scalar(select(AuditEntry).where(AuditEntry.action == "volunteer_exit"))
    assert exit_entry.before_data()["status"] == "active"
    assert exit_entry.after_data()["status"] == "inactive"


def test_only_the_unit_admin_makes_a_volunteer_leave(db, make, unit, world):
    """A supervisor's exit (the status page's, or finalising an evaluation with the outcome
    Exit) is refused and changes nothing; their draft exit evaluation is kept for the admin."""
    boss = world["boss"]
    sup = make.user(unit, role="supervisor")
    a, b = criteria(db, unit, boss)
    vol = make.volunteer(unit)
    with pytest.raises(vs.InvalidStatusChange) as e:
        vs.exit_volunteer(db, vol, sup, NOW, reason="搬家")
    assert e.value.errors == {"status": "exit_admin_only"}
    db.rollback()
    with pytest.raises(InvalidEvaluation) as e:
        ev.save_evaluation(db, vol, 2026, sup, NOW, scores={a.id: 1, b.id: 1}, outcome="exit",
                           exit_reason="長期未出勤", finalise=True)
    assert e.value.errors == {"outcome": "exit_admin_only"}
    db.rollback()
    assert vol.is_active and ev.evaluation_of(db, vol.id, 2026) is None
    ev.save_evaluation(db, vol, 2026, sup, NOW, scores={a.id: 1, b.id: 1}, outcome="exit",
                       exit_reason="長期未出勤")
    db.commit()
    ev.save_evaluation(db, vol, 2026, boss, NOW, scores={a.id: 1, b.id: 1}, outcome="exit",
                       exit_reason="長期未出勤", finalise=True)
    db.commit()
    assert not vol.is_active


def test_an_exit_date_before_the_volunteer_joined_is_refused(db, make, unit, world):
    """The review: an exit on 2000-01-01 was accepted for a volunteer who joined 2026-12-06.
    The admin's exit and an evaluation's exit (its draft and its finalising) refuse it alike,
    naming the joining date; the joining day itself is fine."""
    boss = world["boss"]
    a, b = criteria(db, unit, boss)
    vol = make.volunteer(unit, joined_on=dt.date(2026, 12, 6))
    with pytest.raises(vs.InvalidStatusChange) as e:
        vs.exit_volunteer(db, vol, boss, NOW, reason="搬家", on=dt.date(2000, 1, 1))
    assert e.value.errors == {"on": "before_joined"} and e.value.params == {"day": "2026-12-06"}
    db.rollback()
    with pytest.raises(InvalidEvaluation) as e:
        ev.save_evaluation(db, vol, 2026, boss, NOW, scores={a.id: 1, b.id: 1}, outcome="exit",
                           exit_reason="長期未出勤", exit_on=dt.date(2026, 12, 5), finalise=True)
    assert e.value.errors == {"exit_on": "before_joined"} and e.value.params == {"day": "2026-12-06"}
    db.rollback()
    assert vol.is_active and vol.left_on is None
    vs.exit_volunteer(db, vol, boss, NOW, reason="搬家", on=dt.date(2026, 12, 6))
    db.commit()
    assert vol.left_on == dt.date(2026, 12, 6)


def test_admin_exit_and_reactivation_with_reasons(db, make, unit, world):
    boss = world["boss"]
    vol = make.volunteer(unit)
    for kw, errors in ((dict(reason=" "), {"reason": "required"}),
                       (dict(reason="搬家", on=dt.date(2026, 12, 16)), {"on": "future"})):
        with pytest.raises(vs.InvalidStatusChange) as e:
            vs.exit_volunteer(db, vol, boss, NOW, **kw)
        assert e.value.errors == errors
        db.rollback()
    assert vol.is_active
    with pytest.raises(vs.InvalidStatusChange) as e:
        vs.reactivate_volunteer(db, vol, boss, NOW, reason="回來了")
    assert e.value.errors == {"status": "not_inactive"}
    db.rollback()
    vs.exit_volunteer(db, vol, boss, NOW, reason="搬家", on=dt.date(2026, 3, 1))
    db.commit()
    with pytest.raises(vs.InvalidStatusChange) as e:
        vs.exit_volunteer(db, vol, boss, NOW, reason="again")
    assert e.value.errors == {"status": "not_active"}
    db.rollback()
    vs.reactivate_volunteer(db, vol, boss, NOW, reason="搬回臺北")
    db.commit()
    assert vol.is_active and vol.left_on is None
    history = vs.status_changes_of(db, vol.id)
    assert [(c.status.value, c.effective_on, c.reason) for c in history] == [
        ("inactive", dt.date(2026, 3, 1), "搬家"), ("active", dt.date(2026, 12, 15), "搬回臺北")]
    assert not vs.active_on(vol, history, dt.date(2026, 6, 1))
    assert vs.active_on(vol, history, dt.date(2026, 2, 28))
    assert vs.active_on(vol, history, dt.date(2026, 12, 15))
    actions = db.scalars(select(AuditEntry.action).where(AuditEntry.entity == "volunteer")
                         .order_by(AuditEntry.id)).all()
    assert actions == ["volunteer_exit", "volunteer_reactivated"]


# --- who is due, who may evaluate ---------------------------------------------------------------

def test_supervisors_see_and_evaluate_the_volunteers_of_their_sites_only(db, make, unit, world):
    site, item = world["site"], world["item"]
    other = make.site(unit, name_zh="萬華據點")
    sup = make.user(unit, role="supervisor")
    db.add(SupervisorSite(user_id=sup.id, site_id=site.id))
    db.commit()
    mine = make.volunteer(unit, name_zh="我的")
    theirs = make.volunteer(unit, name_zh="別人的")
    idle = make.volunteer(unit, name_zh="沒排班")
    shift(db, mine, site, item, dt.date(2026, 2, 2))
    served(db, theirs, other, item, at(2026, 2, 3), 60)
    assert ev.may_evaluate(db, sup, mine, 2026)
    assert not ev.may_evaluate(db, sup, theirs, 2026)
    assert not ev.may_evaluate(db, sup, mine, 2025)  # not at the site that year
    assert [r.volunteer.name_zh for r in ev.evaluation_list(db, sup, 2026)] == ["我的"]
    admin_list = [r.volunteer.name_zh for r in ev.evaluation_list(db, world["boss"], 2026)]
    assert set(admin_list) == {"我的", "別人的", "沒排班"}
    assert ev.may_evaluate(db, world["boss"], idle, 2026)
    stranger = make.user(make.unit(), role="admin")
    assert not ev.may_evaluate(db, stranger, mine, 2026)


def test_the_due_list_leaves_out_who_had_left_before_the_year(db, make, unit, world):
    boss = world["boss"]
    gone = make.volunteer(unit, name_zh="早已離開")
    vs.exit_volunteer(db, gone, boss, NOW, reason="舊事", on=dt.date(2025, 6, 1))
    left_this_year = make.volunteer(unit, name_zh="今年離開")
    vs.exit_volunteer(db, left_this_year, boss, NOW, reason="搬家", on=dt.date(2026, 6, 1))
    late = make.volunteer(unit, name_zh="明年才加入", joined_on=dt.date(2027, 1, 5))
    db.commit()
    names = {r.volunteer.name_zh for r in ev.evaluation_list(db, boss, 2026)}
    assert "今年離開" in names and "早已離開" not in names and late.name_zh not in names
    assert "早已離開" in {r.volunteer.name_zh for r in ev.evaluation_list(db, boss, 2025)}


# --- the team view -----------------------------------------------------------------------------

def test_team_overview_per_site(db, make, unit, world):
    boss, site, item = world["boss"], world["site"], world["item"]
    other = make.site(unit, name_zh="萬華據點")
    a, b = criteria(db, unit, boss)
    stay, leave, new, old_timer = (make.volunteer(unit, name_zh=n) for n in ("留任", "離開", "新人", "去年"))
    new.joined_on = dt.date(2026, 5, 1)
    db.commit()
    served(db, stay, site, item, at(2026, 2, 1), 300)
    served(db, leave, site, item, at(2026, 2, 2), 120)
    served(db, new, site, item, at(2026, 6, 1), 60, status=SessionStatus.closed)  # unverified
    served(db, old_timer, site, item, at(2025, 8, 1), 60)  # last year only: in the cohort
    served(db, stay, other, item, at(2026, 3, 1), 45)
    shift(db, stay, site, item, dt.date(2026, 12, 7))
    served(db, stay, site, item, at(2026, 12, 7, 9, 5), 170)  # attended
    shift(db, leave, site, item, dt.date(2026, 12, 8))  # absent
    ev.save_evaluation(db, stay, 2026, boss, NOW, scores={a.id: 5, b.id: 9}, outcome="continue_service",
                       finalise=True)
    ev.save_evaluation(db, leave, 2026, boss, NOW, scores={a.id: 1, b.id: 1}, outcome="exit",
                       exit_reason="不適任", exit_on=dt.date(2026, 12, 10), finalise=True)
    ev.save_evaluation(db, new, 2026, boss, NOW, scores={a.id: 3, b.id: 5}, outcome="coaching",
                       coaching_plan="陪同服務")  # a draft
    db.commit()

    [s1, s2] = team_overview(db, boss, 2026, NOW)
    assert s1.site.id == site.id and s2.site.id == other.id
    assert s1.verified_minutes == 300 + 120 + 170 and s2.verified_minutes == 45
    assert s1.volunteers == 3 and s1.active_volunteers == 2  # 留任, 新人 (離開 left)
    assert (s1.attendance.attended, s1.attendance.scheduled) == (1, 2)
    # cohort on 1 Jan: 留任, 離開, 去年 (served there last year); 新人 joined in May
    assert (s1.cohort, s1.retained, s1.exits) == (3, 2, 1) and s1.retention == 66.7
    assert s1.outcomes == {Outcome.continue_service: 1, Outcome.coaching: 0, Outcome.exit: 1}
    assert s1.drafts == 1
    assert s2.volunteers == 1 and s2.outcomes[Outcome.continue_service] == 1

    # Supervisors see their own sites only.
    sup = make.user(unit, role="supervisor")
    db.add(SupervisorSite(user_id=sup.id, site_id=other.id))
    db.commit()
    assert [s.site.id for s in team_overview(db, sup, 2026, NOW)] == [other.id]


def test_team_overview_queries_do_not_grow_with_volunteers(db, make, unit, world, app):
    boss, site, item = world["boss"], world["site"], world["item"]

    def count_queries(n_volunteers):
        for _ in range(n_volunteers):
            v = make.volunteer(unit, trained=False)
            served(db, v, site, item, at(2026, 2, 1), 60)
            shift(db, v, site, item, dt.date(2026, 3, 2))
        db.expire_all()
        seen = []
        engine = db.get_bind()
        listener = lambda *args: seen.append(1)  # noqa: E731
        event.listen(engine, "before_cursor_execute", listener)
        try:
            team_overview(db, boss, 2026, NOW)
        finally:
            event.remove(engine, "before_cursor_execute", listener)
        return len(seen)

    few = count_queries(2)
    many = count_queries(12)
    assert many == few
