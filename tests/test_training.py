"""Training: the catalogue, records, events, progress and seniority, the completion certificate,
the check-in gate, and the admin pages."""
from __future__ import annotations

import dataclasses
import datetime as dt
import subprocess

import pytest
from sqlalchemy import func, select

from models import completion, training, training_events
from models.audit import AuditEntry
from models.base import TAIPEI
from models.checkin import Outcome, check_in
from models.gates import gate_refusals
from models.service import ServiceSession, SessionSource
from models.training import (TrainingCourse, TrainingEvent, TrainingKind, TrainingMode,
                             TrainingRecord, InvalidTraining)
from models.unit import Category
from models.unit_profile import UnitProfile
from webapp.i18n import local_params

NOW = dt.datetime(2026, 11, 27, 2, 0, tzinfo=dt.timezone.utc)  # 10:00 in Taipei
TODAY = dt.date(2026, 11, 27)


def course(db, unit, code):
    return db.scalar(select(TrainingCourse).where(TrainingCourse.unit_id == unit.id,
                                                  TrainingCourse.code == code))


def actions(db):
    return db.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()


@pytest.fixture
def seeded(db, unit):
    training.seed_catalogue(db, unit)
    db.commit()
    return unit


def give(db, unit, vol, codes, on):
    for code in codes:
        c = course(db, unit, code)
        training.add_record(db, vol, course=c, completed_on=on, minutes=c.minutes,
                            mode=TrainingMode.in_person)
    db.commit()


# --- catalogue -------------------------------------------------------------------------------

def test_catalogue_follows_the_rules_and_seeding_is_idempotent(db, unit):
    added = training.seed_catalogue(db, unit)
    db.commit()
    assert len(added) == 10
    courses = {c.code: c for c in training.courses_of(db, unit.id)}
    basic = [c for c in courses.values() if c.kind == TrainingKind.basic and not c.legacy]
    assert sorted(c.name for c in basic) == sorted(["志願服務內涵及倫理", "志願服務法規之認識",
                                                    "志願服務經驗分享"])
    assert sum(c.minutes for c in basic) == 6 * 60
    assert courses["B12"].legacy and courses["B12"].minutes == 12 * 60
    sw = {c.name: c.minutes for c in courses.values() if c.category == Category.social_welfare}
    assert sw == {"社會福利概述": 120, "社會資源與志願服務": 60, "綜合討論": 60,
                  "運用單位業務簡介及工作內容說明(含實習)": 120}
    co = {c.name: c.minutes for c in courses.values() if c.category == Category.comprehensive}
    assert co == {"綜合討論": 60, "運用單位業務簡介及工作內容說明(含實習)": 120}
    assert courses["SW04"].run_by_unit and courses["CO02"].run_by_unit
    assert actions(db) == ["training_catalogue_seeded"]
    # edited courses are left alone; nothing is added twice
    training.update_course(db, courses["SW01"], None, name="社會福利概論", name_en="",
                           minutes=180, active=True)
    db.commit()
    assert training.seed_catalogue(db, unit) == []
    db.commit()
    db.expire_all()
    assert db.scalar(select(func.count(TrainingCourse.id))) == 10
    assert course(db, unit, "SW01").name == "社會福利概論"
    entry = db.scalar(select(AuditEntry).where(AuditEntry.action == "training_course_updated"))
    assert entry.before_data()["minutes"] == 120 and entry.after_data()["minutes"] == 180


def test_course_edit_validation(db, seeded):
    c = course(db, seeded, "B01")
    with pytest.raises(InvalidTraining) as bad:
        training.update_course(db, c, None, name=" ", name_en="x" * 161, minutes=0, active=True)
    assert bad.value.errors == {"name": "required", "name_en": "too_long", "minutes": "not_positive"}


# --- records -------------------------------------------------------------------------------

def test_record_crud_with_validation_and_audit(db, make, seeded):
    vol = make.volunteer(seeded, trained=False)
    c = course(db, seeded, "B01")
    with pytest.raises(InvalidTraining) as bad:
        training.add_record(db, vol, course=None, completed_on=TODAY + dt.timedelta(days=1),
                            minutes=-5, mode="telepathy", provider="x" * 200, today=TODAY)
    assert bad.value.errors == {"course_id": "required", "completed_on": "future",
                                "minutes": "not_positive", "mode": "unknown",
                                "provider": "too_long"}
    db.rollback()
    other = make.unit()
    training.seed_catalogue(db, other)
    db.commit()
    with pytest.raises(InvalidTraining) as bad:
        training.add_record(db, vol, course=course(db, other, "B01"), completed_on=TODAY,
                            minutes=120, mode=TrainingMode.online)
    assert bad.value.errors == {"course_id": "other_unit"}
    db.rollback()
    record = training.add_record(db, vol, course=c, completed_on=dt.date(2025, 5, 1), minutes=120,
                                 mode=TrainingMode.online, provider=" 臺北E大 ",
                                 certificate_no="E-123", today=TODAY)
    db.commit()
    assert record.provider == "臺北E大"
    with pytest.raises(InvalidTraining) as bad:
        training.add_record(db, vol, course=c, completed_on=dt.date(2025, 5, 1), minutes=120,
                            mode=TrainingMode.online)
    assert bad.value.errors == {"completed_on": "duplicate"}
    db.rollback()
    training.update_record(db, record, course=c, completed_on=dt.date(2025, 5, 2), minutes=90,
                           mode=TrainingMode.group_viewing, provider="本會", certificate_no="G-1")
    db.commit()
    db.expire_all()
    assert record.minutes == 90 and record.mode == TrainingMode.group_viewing
    training.delete_record(db, record)
    db.commit()
    assert db.scalar(select(func.count(TrainingRecord.id))) == 0
    trail = db.scalars(select(AuditEntry).where(AuditEntry.entity == "training_record")
                       .order_by(AuditEntry.id)).all()
    assert [e.action for e in trail] == ["training_record_added", "training_record_updated",
                                         "training_record_deleted"]
    assert trail[1].before_data()["minutes"] == 120 and trail[1].after_data()["minutes"] == 90
    assert trail[2].before_data()["completed_on"] == "2025-05-02"


def test_a_record_given_no_hours_takes_the_courses_hours_in_the_domain(db, make, seeded):
    """The default is the domain's, not the form's: any caller leaving the hours out (None)
    gets the course's own hours, on a new record and on a corrected one (whose course
    changed: the new course's hours), and the audit entry says so."""
    vol = make.volunteer(seeded, trained=False)
    b01, b02 = course(db, seeded, "B01"), course(db, seeded, "B02")
    record = training.add_record(db, vol, course=b01, completed_on=dt.date(2025, 5, 1),
                                 minutes=None, mode=TrainingMode.online, today=TODAY)
    db.commit()
    assert record.minutes == b01.minutes
    added = db.scalar(select(AuditEntry).where(AuditEntry.action == "training_record_added"))
    assert added.after_data()["minutes"] == b01.minutes
    training.update_record(db, record, course=b01, completed_on=dt.date(2025, 5, 1),
                           minutes=60, mode=TrainingMode.online, today=TODAY)
    db.commit()
    assert record.minutes == 60
    b02.minutes = 90
    db.commit()
    training.update_record(db, record, course=b02, completed_on=dt.date(2025, 5, 1),
                           minutes=None, mode=TrainingMode.online, today=TODAY)
    db.commit()
    db.expire_all()
    assert record.course_id == b02.id and record.minutes == 90
    with pytest.raises(InvalidTraining) as bad:  # no course, no hours: the course is asked for
        training.add_record(db, vol, course=None, completed_on=dt.date(2025, 5, 1),
                            minutes=None, mode=TrainingMode.online, today=TODAY)
    assert bad.value.errors == {"course_id": "required", "minutes": "not_positive"}
    db.rollback()


def test_a_record_before_birth_or_of_a_course_already_recorded_is_refused(db, make, seeded,
                                                                          admin):
    """The review: a training date before the volunteer's birth date was accepted, and so was a
    second record of the same course (another day). Both are refused: the second is a double
    entry (the first's date counts and its certificate goes with the record book; two would
    count the course's hours twice), to be corrected on the record there. A pair recorded
    before the rule can still be corrected, and attendance at the unit's event is still
    recorded for someone who has the course already (the roster keeps who came)."""
    vol = make.volunteer(seeded, trained=False, birth_date=dt.date(1990, 6, 1))
    c = course(db, seeded, "B01")
    with pytest.raises(InvalidTraining) as bad:
        training.add_record(db, vol, course=c, completed_on=dt.date(1990, 5, 31), minutes=120,
                            mode=TrainingMode.online, today=TODAY)
    assert bad.value.errors == {"completed_on": "before_birth"}
    db.rollback()
    first = training.add_record(db, vol, course=c, completed_on=dt.date(1990, 6, 1),
                                minutes=120, mode=TrainingMode.online, today=TODAY)
    db.commit()
    with pytest.raises(InvalidTraining) as bad:
        training.add_record(db, vol, course=c, completed_on=dt.date(2025, 5, 1), minutes=120,
                            mode=TrainingMode.online, today=TODAY)
    assert bad.value.errors == {"course_id": "repeated"}
    assert bad.value.params == {"day": "1990-06-01"}
    db.rollback()
    # another record changed into the same course is refused the same way
    other = training.add_record(db, vol, course=course(db, seeded, "B02"),
                                completed_on=dt.date(2025, 5, 1), minutes=120,
                                mode=TrainingMode.online, today=TODAY)
    db.commit()
    with pytest.raises(InvalidTraining) as bad:
        training.update_record(db, other, course=c, completed_on=other.completed_on,
                               minutes=120, mode=other.mode, today=TODAY)
    assert bad.value.errors == {"course_id": "repeated"}
    db.rollback()
    with pytest.raises(InvalidTraining) as bad:
        training.update_record(db, first, course=c, completed_on=dt.date(1980, 1, 1),
                               minutes=120, mode=first.mode, today=TODAY)
    assert bad.value.errors == {"completed_on": "before_birth"}
    db.rollback()
    # a pair from before the rule: each can still be corrected
    db.add(TrainingRecord(volunteer_id=vol.id, course_id=c.id, completed_on=dt.date(2024, 1, 1),
                          minutes=120, mode=TrainingMode.online))
    db.commit()
    training.update_record(db, first, course=c, completed_on=first.completed_on, minutes=100,
                           mode=first.mode, certificate_no="E-9", today=TODAY)
    db.commit()
    # the unit's event: attendance is recorded even so
    event = training_events.create_event(db, seeded.id, course=c, held_on=dt.date(2026, 11, 20),
                                  place="本會", actor=admin.user)
    db.commit()
    assert len(training_events.mark_attendance(db, event, [vol.id], actor=admin.user, today=TODAY)) == 1


@pytest.mark.parametrize("lang, words", [
    ("zh-TW", ("日期不能早於志工的出生日期。", "這位志工已有這門課程的紀錄（2025-04-01 完成）")),
    ("en", ("The date cannot be before the volunteer&#39;s birth date.",
            "This course is already recorded for this volunteer (completed on 2025-04-01)."))])
def test_record_before_birth_or_repeated_is_refused_in_words(db, make, unit, admin, lang, words):
    training.seed_catalogue(db, unit)
    db.commit()
    vol = make.volunteer(unit, trained=False, birth_date=dt.date(1990, 6, 1))
    url = f"/admin/training/volunteers/{vol.id}/records/new"
    headers = {"Accept-Language": lang}
    response = admin.post(url, _record_form(db, unit, completed_on="1980-01-01"), headers=headers)
    assert response.status_code == 400 and words[0] in response.get_data(as_text=True)
    assert admin.post(url, _record_form(db, unit)).status_code == 302
    response = admin.post(url, _record_form(db, unit, completed_on="2025-06-01"), headers=headers)
    assert response.status_code == 400 and words[1] in response.get_data(as_text=True)
    db.rollback()
    assert db.scalar(select(func.count(TrainingRecord.id))) == 1


# --- progress and seniority -------------------------------------------------------------------

def test_progress_and_seniority(db, make, seeded):
    vol = make.volunteer(seeded, trained=False)
    status = training.training_status(db, vol, Category.social_welfare)
    assert not status.basic_done and not status.special_done and status.seniority_start is None
    assert [c.code for c in status.missing] == ["B01", "B02", "B03", "SW01", "SW02", "SW03", "SW04"]
    give(db, seeded, vol, ["B01", "B02"], dt.date(2024, 3, 1))
    give(db, seeded, vol, ["B03"], dt.date(2024, 3, 8))
    give(db, seeded, vol, ["SW01", "SW02", "SW03"], dt.date(2024, 2, 1))
    status = training.training_status(db, vol, Category.social_welfare)
    assert status.basic_done_on == dt.date(2024, 3, 8)  # the last of the three courses
    assert status.special_done_on is None and [c.code for c in status.missing] == ["SW04"]
    give(db, seeded, vol, ["SW04"], dt.date(2024, 3, 5))
    status = training.training_status(db, vol, Category.social_welfare)
    assert status.special_done_on == dt.date(2024, 3, 5)
    assert status.seniority_start == dt.date(2024, 3, 8)  # the later of the two
    # the comprehensive category needs only its own two courses
    co = training.training_status(db, vol, Category.comprehensive)
    assert [c.code for c in co.missing_special] == ["CO01", "CO02"] and co.seniority_start is None
    # as of a day: records after it do not count yet; the certificate's own day counts
    assert training.training_status(db, vol, Category.social_welfare,
                                     as_of=dt.date(2024, 3, 7)).basic_done_on is None
    assert training.training_status(db, vol, Category.social_welfare,
                                     as_of=dt.date(2024, 3, 8)).seniority_start == dt.date(2024, 3, 8)


def test_former_twelve_hour_certificate_counts_as_basic(db, make, seeded):
    vol = make.volunteer(seeded, trained=False)
    give(db, seeded, vol, ["B12"], dt.date(2015, 6, 1))
    give(db, seeded, vol, ["CO01", "CO02"], dt.date(2016, 1, 10))
    status = training.training_status(db, vol, Category.comprehensive)
    assert status.basic_done_on == dt.date(2015, 6, 1) and status.missing == []
    assert status.seniority_start == dt.date(2016, 1, 10)


# --- events ----------------------------------------------------------------------------------

def test_bulk_attendance_makes_records_never_sessions(db, make, seeded, admin):
    vols = [make.volunteer(seeded, trained=False) for _ in range(3)]
    event = training_events.create_event(db, seeded.id, course=course(db, seeded, "SW04"),
                                  held_on=dt.date(2026, 11, 20), place="本會三樓",
                                  mode=TrainingMode.in_person, actor=admin.user)
    db.commit()
    added = training_events.mark_attendance(db, event, [vols[0].id, vols[1].id], actor=admin.user)
    db.commit()
    assert len(added) == 2 and all(r.minutes == 120 and r.event_id == event.id for r in added)
    # untick one, tick another: records follow the roster
    training_events.mark_attendance(db, event, [vols[1].id, vols[2].id], actor=admin.user)
    db.commit()
    db.expire_all()
    assert set(training_events.attendees(db, event)) == {vols[1].id, vols[2].id}
    assert db.scalar(select(func.count(ServiceSession.id))) == 0
    other = make.volunteer(make.unit())
    with pytest.raises(InvalidTraining):
        training_events.mark_attendance(db, event, [vols[0].id, other.id])
    db.rollback()
    assert set(training_events.attendees(db, event)) == {vols[1].id, vols[2].id}
    assert actions(db).count("training_record_added") == 3
    assert "training_event_created" in actions(db) and "training_record_deleted" in actions(db)


def test_bulk_attendance_keeps_the_record_page_rule_no_training_after_today(db, make, seeded,
                                                                             admin):
    """An event not held yet has no attendees: a record completed after today would let the
    volunteer pass the check-in gate's training check early (add_record's "future" rule)."""
    vol = make.volunteer(seeded, trained=False)
    ahead = training_events.create_event(db, seeded.id, course=course(db, seeded, "SW04"),
                                  held_on=TODAY + dt.timedelta(days=1), actor=admin.user)
    db.commit()
    with pytest.raises(InvalidTraining) as refused:
        training_events.mark_attendance(db, ahead, [vol.id], actor=admin.user, today=TODAY)
    assert refused.value.errors == {"completed_on": "future"}
    db.rollback()
    assert training_events.attendees(db, ahead) == {}
    # held today: attendance is recorded
    training_events.mark_attendance(db, ahead, [vol.id], actor=admin.user,
                             today=TODAY + dt.timedelta(days=1))
    db.commit()
    assert set(training_events.attendees(db, ahead)) == {vol.id}


def test_a_course_lasts_at_most_what_one_record_holds(db, seeded, admin):
    sw04 = course(db, seeded, "SW04")
    with pytest.raises(InvalidTraining) as refused:
        training.update_course(db, sw04, admin.user, name=sw04.name, name_en=sw04.name_en,
                               minutes=training.MAX_MINUTES + 1, active=True)
    assert refused.value.errors == {"minutes": "too_many"}


# --- the check-in gate -----------------------------------------------------------------------

@pytest.fixture
def post(make, seeded):
    site = make.site(seeded)
    item = make.item(seeded, category=Category.social_welfare)
    return site, item


def test_gate_names_the_missing_courses(db, make, seeded, post):
    site, item = post
    vol = make.volunteer(seeded, trained=False)
    make.cover(vol, starts_on=dt.date(2026, 1, 1), ends_on=dt.date(2026, 12, 31))
    codes = {r.code: r for r in gate_refusals(db, vol, site, item, NOW)}
    assert set(codes) == {"basic_training_missing", "special_training_missing"}
    assert codes["basic_training_missing"].params["courses"] == \
        "志願服務內涵及倫理、志願服務法規之認識、志願服務經驗分享"
    give(db, seeded, vol, ["B01", "B02", "B03", "SW01", "SW02", "SW03"], dt.date(2026, 1, 5))
    codes = {r.code: r for r in gate_refusals(db, vol, site, item, NOW)}
    assert set(codes) == {"special_training_missing"}
    assert codes["special_training_missing"].params["courses"] == "運用單位業務簡介及工作內容說明(含實習)"
    result = check_in(db, volunteer=vol, site=site, item=item, now=NOW, source=SessionSource.poster)
    db.commit()
    assert result.outcome == Outcome.refused and result.refusal.code == "special_training_missing"


def test_gate_counts_training_from_the_certificate_day(db, make, seeded, post):
    site, item = post
    vol = make.volunteer(seeded, trained=False)
    make.cover(vol, starts_on=dt.date(2026, 1, 1), ends_on=dt.date(2026, 12, 31))
    give(db, seeded, vol, ["B01", "B02", "B03", "SW01", "SW02", "SW03"], dt.date(2026, 1, 5))
    give(db, seeded, vol, ["SW04"], TODAY + dt.timedelta(days=1))  # certificate dated tomorrow
    assert [r.code for r in gate_refusals(db, vol, site, item, NOW)] == ["special_training_missing"]
    tomorrow = NOW + dt.timedelta(days=1)
    assert gate_refusals(db, vol, site, item, tomorrow) == []
    # the Taipei date decides: 16:30 UTC on the 27th is already the 28th in Taipei
    late = dt.datetime(2026, 11, 27, 16, 30, tzinfo=dt.timezone.utc)
    assert late.astimezone(TAIPEI).date() == TODAY + dt.timedelta(days=1)
    assert gate_refusals(db, vol, site, item, late) == []


def test_gate_checks_the_item_category(db, make, seeded, post):
    site, _ = post
    general = make.item(seeded, category=Category.comprehensive)
    vol = make.volunteer(seeded, trained=False)
    make.cover(vol, starts_on=dt.date(2026, 1, 1), ends_on=dt.date(2026, 12, 31))
    give(db, seeded, vol, ["B01", "B02", "B03", "SW01", "SW02", "SW03", "SW04"], dt.date(2026, 1, 5))
    refusals = gate_refusals(db, vol, site, general, NOW)
    assert [r.code for r in refusals] == ["special_training_missing"]
    assert refusals[0].params["courses"] == "綜合討論、運用單位業務簡介及工作內容說明(含實習)"


def test_refusal_is_shown_in_chinese(app, make, seeded):
    from flask_babel import gettext

    from models.gates import refusal
    from models.messages import Label

    r = refusal("special_training_missing", courses="社會福利概述", category=Label("Social welfare"))
    with app.test_request_context(headers={"Accept-Language": "zh-TW"}):
        assert gettext(r.message, **local_params(r.params)) == (
            "「社會福利類」特殊訓練尚未完成：社會福利概述。如有其他適合您的服務項目，可改選該項目；"
            "否則請洽承辦人。")


def test_special_training_refusal_names_the_category_missing(app, db, make, seeded, post):
    """A course of the same name done for the other category (綜合討論 of social welfare) does
    not count for a comprehensive item: the refusal says which category's special training is
    missing, that another service item may do, and the training refusals say whom to ask."""
    from flask_babel import gettext

    site, welfare = post
    general = make.item(seeded, category=Category.comprehensive)
    vol = make.volunteer(seeded, trained=False)
    make.cover(vol, starts_on=dt.date(2026, 1, 1), ends_on=dt.date(2026, 12, 31))
    give(db, seeded, vol, ["SW01", "SW02", "SW03", "SW04"], dt.date(2026, 1, 5))
    welfare_missing = training.training_status(db, vol, Category.social_welfare).missing_special
    assert welfare_missing == []  # the social-welfare 綜合討論 is on her record
    refusals = {r.code: r for r in gate_refusals(db, vol, site, general, NOW)}
    assert set(refusals) == {"basic_training_missing", "special_training_missing"}
    special = refusals["special_training_missing"]
    with app.test_request_context(headers={"Accept-Language": "zh-TW"}):
        said = gettext(special.message, **local_params(special.params))
        assert said == ("「綜合類」特殊訓練尚未完成：綜合討論、運用單位業務簡介及工作內容說明(含實習)。"
                        "如有其他適合您的服務項目，可改選該項目；否則請洽承辦人。")
        basic = refusals["basic_training_missing"]
        assert gettext(basic.message, **local_params(basic.params)).endswith("。請洽承辦人。")
    with app.test_request_context(headers={"Accept-Language": "en"}):
        said = gettext(special.message, **local_params(special.params))
        assert said.startswith("Special training for the Comprehensive category not yet completed: ")
        assert said.endswith("If another service item fits you, you may choose it instead; "
                             "otherwise please contact the unit admin.")
    # the social-welfare item names its own category
    give(db, seeded, vol, ["B01", "B02", "B03"], dt.date(2026, 1, 5))
    assert gate_refusals(db, vol, site, welfare, NOW) == []
    [general_gap] = gate_refusals(db, vol, site, general, NOW)
    with app.test_request_context(headers={"Accept-Language": "zh-TW"}):
        assert gettext(general_gap.message, **local_params(general_gap.params)).startswith("「綜合類」")


def test_default_factory_volunteers_are_trained(db, make, unit):
    vol = make.volunteer(unit)
    assert training.training_status(db, vol, Category.social_welfare).seniority_start == dt.date(2000, 1, 1)
    assert training.training_status(db, vol, Category.comprehensive).seniority_start == dt.date(2000, 1, 1)


# --- completion certificate ------------------------------------------------------------------

def _issued(db):
    return db.scalars(select(AuditEntry).where(
        AuditEntry.action == "completion_certificate_issued").order_by(AuditEntry.id)).all()


def test_completion_numbers_and_template(db, make, seeded, admin):
    vol = make.volunteer(seeded, trained=False)
    with pytest.raises(InvalidTraining):
        completion.issue_completion(db, vol, actor=admin.user, now=NOW)
    db.rollback()
    give(db, seeded, vol, ["SW04"], dt.date(2026, 11, 20))
    assert completion.completion_template(db, seeded.id) == completion.DEFAULT_COMPLETION_TEXT
    for bad, code in (("", "required"), ("x" * 1001, "too_long"), ("$nope", "bad_placeholder"),
                      ("費用 $5", "bad_placeholder")):
        with pytest.raises(InvalidTraining) as refused:
            completion.save_completion_template(db, seeded.id, bad, actor=admin.user)
        assert refused.value.errors == {"text": code}
        db.rollback()
    completion.save_completion_template(db, seeded.id, "$name 完成 $hours 小時（$unit）",
                                        actor=admin.user)
    db.commit()
    db.expire_all()
    # kept in the unit's profile row, in the database
    assert db.scalar(select(UnitProfile.completion_template).where(
        UnitProfile.unit_id == seeded.id)) == "$name 完成 $hours 小時（$unit）"
    assert completion.completion_template(db, seeded.id) == "$name 完成 $hours 小時（$unit）"
    first = completion.issue_completion(db, vol, actor=admin.user, now=NOW)
    db.commit()
    assert first.serial == f"C{seeded.id:03d}-2026-00001" and not first.reprint
    assert first.text == f"{vol.name_zh} 完成 2 小時（{seeded.name}）"
    assert first.lines == [("運用單位業務簡介及工作內容說明(含實習)", dt.date(2026, 11, 20), 120)]
    # the same volunteer, records and text later the same Taipei day: the same certificate
    again = completion.issue_completion(db, vol, actor=admin.user,
                                        now=NOW + dt.timedelta(hours=8))  # 18:00 in Taipei
    db.commit()
    assert again.reprint and again == dataclasses.replace(first, reprint=True)
    assert [e.after_data()["serial"] for e in _issued(db)] == [first.serial]
    row = db.scalar(select(completion.IssuedCompletion))
    assert (row.volunteer_id, row.unit_id, row.issued_on, row.total_minutes, row.issued_by_id) == \
        (vol.id, seeded.id, TODAY, 120, admin.user.id)
    assert row.issued_at == NOW and row.text == first.text and len(row.record_ids) == 1
    # a changed template, a new record, another day: a new number each
    completion.save_completion_template(db, seeded.id, "$name 結業 $hours 小時", actor=admin.user)
    db.commit()
    second = completion.issue_completion(db, vol, actor=admin.user, now=NOW)
    db.commit()
    give(db, seeded, vol, ["CO02"], dt.date(2026, 11, 21))  # another course the unit runs
    third = completion.issue_completion(db, vol, actor=admin.user, now=NOW)
    db.commit()
    fourth = completion.issue_completion(db, vol, actor=admin.user, now=NOW + dt.timedelta(days=1))
    db.commit()
    assert [c.serial[-5:] for c in (second, third, fourth)] == ["00002", "00003", "00004"]
    assert second.text == f"{vol.name_zh} 結業 2 小時" and third.text == f"{vol.name_zh} 結業 4 小時"
    assert fourth.issued_on == TODAY + dt.timedelta(days=1)
    assert [e.after_data()["serial"][-5:] for e in _issued(db)] == \
        ["00001", "00002", "00003", "00004"]
    assert actions(db).count("completion_template_updated") == 2


def test_two_issues_at_once_give_one_certificate(app, db, make, seeded, admin):
    """The second of two simultaneous issues (two app servers, a retry) waits for the first and
    reprints its certificate instead of taking the next number."""
    import threading
    import time

    vol = make.volunteer(seeded, trained=False)
    give(db, seeded, vol, ["SW04"], dt.date(2026, 11, 20))
    Session = app.extensions["hourbook_db"]["sessionmaker"]
    first_session = Session()
    results, errors = [], []

    def second():
        session = Session()
        try:
            person = session.get(type(vol), vol.id)
            results.append(completion.issue_completion(session, person, actor=None, now=NOW))
            session.commit()
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(repr(exc))
        finally:
            session.close()

    try:
        first = completion.issue_completion(first_session, first_session.get(type(vol), vol.id),
                                            actor=None, now=NOW)
        thread = threading.Thread(target=second)
        thread.start()
        time.sleep(0.5)  # the second is waiting now (PostgreSQL: the volunteer's row lock)
        first_session.commit()
    finally:
        first_session.close()
    thread.join(30)
    assert errors == [] and len(results) == 1
    assert results[0].serial == first.serial and results[0].reprint
    assert len(_issued(db)) == 1


# --- over HTTP -------------------------------------------------------------------------------

import io  # noqa: E402

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def uploads(app, tmp_path):
    app.config["HOURBOOK_UPLOAD_DIR"] = str(tmp_path / "uploads")
    return tmp_path / "uploads"


def _record_form(db, unit, **over):
    data = {"course_id": str(course(db, unit, "B01").id), "completed_on": "2025-04-01",
            "hours": "2", "mode": "online", "provider": "臺北E大", "certificate_no": "E-1"}
    data.update(over)
    return data


def test_a_record_without_hours_takes_the_courses_hours(db, make, unit, admin):
    """Most certificates carry the course's own hours: left empty, the record takes them."""
    training.seed_catalogue(db, unit)
    db.commit()
    vol = make.volunteer(unit, trained=False)
    b01 = course(db, unit, "B01")
    response = admin.post(f"/admin/training/volunteers/{vol.id}/records/new",
                          _record_form(db, unit, hours=""))
    assert response.status_code == 302, response.get_data(as_text=True)
    db.rollback()
    [record] = db.scalars(select(TrainingRecord).where(TrainingRecord.volunteer_id == vol.id)).all()
    assert record.minutes == b01.minutes and record.course_id == b01.id


def test_a_certificate_date_typed_full_width_is_the_date_it_says(db, make, unit, admin):
    """A phone's Chinese keyboard types ２０２５／０４／０１: the form takes it as 2025-04-01."""
    training.seed_catalogue(db, unit)
    db.commit()
    vol = make.volunteer(unit, trained=False)
    response = admin.post(f"/admin/training/volunteers/{vol.id}/records/new",
                          _record_form(db, unit, completed_on="２０２５／０４／０１"))
    assert response.status_code == 302, response.get_data(as_text=True)
    db.rollback()
    [record] = db.scalars(select(TrainingRecord).where(TrainingRecord.volunteer_id == vol.id)).all()
    assert record.completed_on == dt.date(2025, 4, 1)


def test_pages_and_roles(app, db, make, unit, admin, supervisor, volunteer, anon):
    training.seed_catalogue(db, unit)
    vol = make.volunteer(unit)
    db.commit()
    event = training_events.create_event(db, unit.id, course=course(db, unit, "SW04"),
                                  held_on=dt.date(2026, 11, 1))
    c = course(db, unit, "B01")
    record = db.scalar(select(TrainingRecord).where(TrainingRecord.volunteer_id == vol.id))
    db.commit()
    view = ["/admin/training/", f"/admin/training/volunteers/{vol.id}", "/admin/training/courses",
            "/admin/training/events", f"/admin/training/events/{event.id}"]
    edit = [f"/admin/training/volunteers/{vol.id}/records/new",
            f"/admin/training/records/{record.id}/edit", f"/admin/training/records/{record.id}/delete",
            f"/admin/training/courses/{c.id}/edit", "/admin/training/events/new",
            "/admin/training/certificate-template"]
    for url in view + edit:
        assert admin.get(url).status_code == 200, url
        assert volunteer.get(url).status_code == 403, url
        assert anon.get(url).status_code == 302, url
    for url in view:
        assert supervisor.get(url).status_code == 200, url
    for url in edit:
        assert supervisor.get(url).status_code == 403, url
    for url in ("/admin/training/courses/seed", f"/admin/training/events/{event.id}/attendance",
                f"/admin/training/volunteers/{vol.id}/completion"):
        assert supervisor.post(url).status_code == 403
        assert volunteer.post(url).status_code == 403
    page = admin.get("/admin/training/").get_data(as_text=True)
    assert vol.name_zh in page and "2000-01-01" in page
    # another unit's rows are not found
    other = make.unit()
    other_vol = make.volunteer(other)
    assert admin.get(f"/admin/training/volunteers/{other_vol.id}").status_code == 404


@pytest.mark.parametrize("lang", ["zh-TW", "en"])
def test_training_pages_name_courses_in_the_readers_language(db, make, unit, admin, lang):
    """The admin's training pages name each course in the reader's language: in English the
    English name where the course has one, else the Chinese name."""
    training.seed_catalogue(db, unit)
    vol = make.volunteer(unit)
    b01, b02 = course(db, unit, "B01"), course(db, unit, "B02")
    b02.name_en = ""  # no English name: Chinese in either language
    db.commit()
    assert {b01.id, b02.id} <= {r.course_id for r in db.scalars(  # made with basic training
        select(TrainingRecord).where(TrainingRecord.volunteer_id == vol.id))}
    event = training_events.create_event(db, unit.id, course=b01, held_on=dt.date(2026, 11, 1))
    db.commit()
    english = lang == "en"
    for url in (f"/admin/training/volunteers/{vol.id}", "/admin/training/courses",
                "/admin/training/events", f"/admin/training/events/{event.id}"):
        page = admin.get(url, headers={"Accept-Language": lang}).get_data(as_text=True)
        assert (b01.name_en if english else b01.name) in page, url
        assert english == (b01.name not in page), url
        if "events" not in url:
            assert b02.name in page, url


def test_the_course_list_shows_the_codes_the_roster_import_asks_for(db, unit, admin):
    """The import's training columns take course codes (B01, SW01 ...) that no page showed."""
    training.seed_catalogue(db, unit)
    db.commit()
    page = admin.get("/admin/training/courses").get_data(as_text=True)
    for c in training.courses_of(db, unit.id):
        row = page.split(f'id="course-{c.id}"', 1)[1].split("</tr>", 1)[0]
        assert f'<code class="small" title="代碼">{c.code}</code>' in row, c.code


def test_add_record_with_certificate_over_http(app, db, make, unit, admin, uploads):
    training.seed_catalogue(db, unit)
    db.commit()
    vol = make.volunteer(unit, trained=False)
    url = f"/admin/training/volunteers/{vol.id}/records/new"
    # bad input: the form back with translated errors, nothing saved
    response = admin.post(url, _record_form(db, unit, hours="0", completed_on="2025-13-01",
                                            mode="teleport"))
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "請輸入 0.1 到 24 之間的時數" in page and "請輸入像 2026-01-31 這樣的日期" in page
    assert "請從選項中選擇" in page
    db.rollback()
    assert db.scalar(select(func.count(TrainingRecord.id))) == 0
    # an .exe named .pdf is refused
    response = admin.post(url, {**_record_form(db, unit),
                                "certificate": (io.BytesIO(b"MZ\x90\x00rest"), "cert.pdf")},
                          content_type="multipart/form-data")
    assert response.status_code == 400
    assert "請上傳 PDF、JPEG 或 PNG 檔案" in response.get_data(as_text=True)
    db.rollback()
    assert db.scalar(select(func.count(TrainingRecord.id))) == 0
    # oversize
    big = PDF + b"0" * (5 * 1024 * 1024)
    # encoded here in memory: the test client would spool a body this big to an unclosed temp file
    from werkzeug.datastructures import FileStorage
    from werkzeug.test import encode_multipart

    boundary, body = encode_multipart({**_record_form(db, unit), "csrf_token": admin.token,
                                       "certificate": FileStorage(io.BytesIO(big), "a.pdf")})
    response = admin.client.post(url, data=body,
                                 content_type=f"multipart/form-data; boundary={boundary}")
    response.close()
    assert response.status_code == 400 and "檔案太大" in response.get_data(as_text=True)
    db.rollback()
    # a PNG named .pdf is kept as a PNG
    response = admin.post(url, {**_record_form(db, unit), "certificate": (io.BytesIO(PNG), "cert.pdf")},
                          content_type="multipart/form-data")
    assert response.status_code == 302, response.get_data(as_text=True)
    db.rollback()
    record = db.scalar(select(TrainingRecord))
    assert record.minutes == 120 and record.mode == TrainingMode.online
    assert record.certificate_file.content_type == "image/png"
    served = admin.get(f"/files/{record.certificate_file_id}")
    assert served.status_code == 200 and served.data == PNG
    assert "training_record_added" in actions(db) and "file_uploaded" in actions(db)
    # edit keeps the file; delete after confirming
    response = admin.post(f"/admin/training/records/{record.id}/edit",
                          _record_form(db, unit, hours="1.5"))
    assert response.status_code == 302
    db.rollback()
    db.expire_all()
    assert record.minutes == 90 and record.certificate_file_id is not None
    assert admin.post(f"/admin/training/records/{record.id}/delete").status_code == 302
    db.rollback()
    assert db.scalar(select(func.count(TrainingRecord.id))) == 0


def test_roster_over_htmx_makes_records_not_sessions(app, db, make, unit, admin):
    training.seed_catalogue(db, unit)
    db.commit()
    vols = [make.volunteer(unit, trained=False) for _ in range(2)]
    response = admin.post("/admin/training/events/new", {
        "course_id": str(course(db, unit, "SW04").id), "held_on": "2026-11-20",
        "place": "本會", "mode": "in_person"})
    assert response.status_code == 302
    twice = admin.post("/admin/training/events/new", {  # the same form sent again
        "course_id": str(course(db, unit, "SW04").id), "held_on": "2026-11-20",
        "place": "本會", "mode": "in_person"})
    assert twice.status_code == 400 and "這門課程在這一天、這個地點已有場次" in twice.get_data(as_text=True)
    db.rollback()
    event = db.scalar(select(TrainingEvent))
    response = admin.post(f"/admin/training/events/{event.id}/attendance",
                          {"volunteers": [str(v.id) for v in vols]}, hx=True)
    assert response.status_code == 200
    fragment = response.get_data(as_text=True)
    assert fragment.startswith('<div id="roster">') and "<html" not in fragment
    assert "已儲存出席：2 人出席" in fragment
    db.rollback()
    assert set(training_events.attendees(db, event)) == {v.id for v in vols}
    assert db.scalar(select(func.count(ServiceSession.id))) == 0
    other = make.volunteer(make.unit())
    response = admin.post(f"/admin/training/events/{event.id}/attendance",
                          {"volunteers": [str(other.id)]}, hx=True)
    assert response.status_code == 400
    db.rollback()
    assert set(training_events.attendees(db, event)) == {v.id for v in vols}


def _pdf_text(tmp_path, data: bytes) -> str:
    pdf = tmp_path / "c.pdf"
    pdf.write_bytes(data)
    return subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True,
                          text=True, check=True).stdout


def test_completion_certificate_pdf(app, db, make, unit, admin, tmp_path):
    training.seed_catalogue(db, unit)
    db.commit()
    vol = make.volunteer(unit, trained=False)
    url = f"/admin/training/volunteers/{vol.id}/completion"
    assert admin.post(url).status_code == 302  # nothing to certify yet
    give(db, unit, vol, ["SW04"], dt.date(2026, 11, 20))
    response = admin.post("/admin/training/certificate-template", {"text": "$name 完成 $hours 小時"})
    assert response.status_code == 302
    bad = admin.post("/admin/training/certificate-template", {"text": "$oops"})
    assert bad.status_code == 400
    response = admin.post(url)
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    text = _pdf_text(tmp_path, response.data)
    assert "結業證明書" in text
    serial = f"C{unit.id:03d}-{dt.datetime.now(TAIPEI).year}-00001"
    assert serial in text and serial in response.headers["Content-Disposition"]
    assert f"{vol.name_zh} 完成 2 小時" in text
    assert "運用單位業務簡介及工作內容說明(含實習)" in text and "2026-11-20" in text
    assert "中華民國" in text
    # the form posted twice (a double tap, a browser retry): the same certificate, one number
    again = admin.post(url)
    assert again.status_code == 200 and b"%PDF" in again.data[:8]
    assert again.headers["Content-Disposition"] == response.headers["Content-Disposition"]
    assert _pdf_text(tmp_path, again.data) == text
    db.rollback()
    assert actions(db).count("completion_certificate_issued") == 1
    assert db.scalars(select(completion.IssuedCompletion.serial)).all() == [serial]
    # the template changed the same day: a new number
    assert admin.post("/admin/training/certificate-template",
                      {"text": "$name 結業 $hours 小時"}).status_code == 302
    changed = admin.post(url)
    assert changed.status_code == 200
    assert serial[:-1] + "2" in changed.headers["Content-Disposition"]
    assert f"{vol.name_zh} 結業 2 小時" in _pdf_text(tmp_path, changed.data)
    db.rollback()
    assert actions(db).count("completion_certificate_issued") == 2


def test_an_issued_certificate_is_printed_again_as_it_was(app, db, make, unit, admin, supervisor,
                                                         tmp_path):
    """A volunteer lost their certificate: the admin finds it on the volunteer's training page
    and prints it again, months later, after the certificate text changed: the same number,
    date and text. Supervisors see no such link and cannot fetch it; another volunteer's id in
    the address finds nothing."""
    training.seed_catalogue(db, unit)
    vol = make.volunteer(unit, trained=False)
    other = make.volunteer(unit, trained=False)
    db.commit()
    give(db, unit, vol, ["SW04"], dt.date(2026, 3, 2))
    with db.begin():
        cert = completion.issue_completion(db, vol, actor=admin.user,
                                           now=dt.datetime(2026, 3, 5, 2, 0, tzinfo=dt.timezone.utc))
    page = admin.get(f"/admin/training/volunteers/{vol.id}").get_data(as_text=True)
    assert "已發結業證明書" in page and cert.serial in page and "2026-03-05" in page
    row = db.scalars(select(completion.IssuedCompletion)).one()
    url = f"/admin/training/volunteers/{vol.id}/completion/{row.id}"
    assert url in page
    assert admin.post("/admin/training/certificate-template",
                      {"text": "$name 於本會結業"}).status_code == 302
    response = admin.get(url)
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert cert.serial in response.headers["Content-Disposition"]
    text = _pdf_text(tmp_path, response.data)
    assert cert.serial in text and "於本會結業" not in text
    assert f"茲證明 {vol.name_zh} 君" in text  # the text as it was printed
    db.rollback()
    assert db.scalar(select(func.count(completion.IssuedCompletion.id))) == 1  # no new number
    assert admin.get(f"/admin/training/volunteers/{other.id}/completion/{row.id}").status_code == 404
    assert supervisor.get(url).status_code == 403
    assert url not in supervisor.get(f"/admin/training/volunteers/{vol.id}").get_data(as_text=True)


def test_completion_template_is_the_same_on_every_app_server(app, db, make, unit, admin,
                                                             tmp_path):
    """Two app servers (their own instance folders) on one database see one template."""
    from webapp import create_app

    app.instance_path = str(tmp_path / "server-a")
    other = create_app({"TESTING": True, "SECRET_KEY": app.config["SECRET_KEY"],
                        "HOURBOOK_DATABASE_URL": app.config["HOURBOOK_DATABASE_URL"],
                        "RATELIMIT_STORAGE_URI": "memory://"})
    other.instance_path = str(tmp_path / "server-b")
    try:
        from tests.conftest import HttpUser

        admin_b = HttpUser(other.test_client())
        assert admin_b.sign_in(admin.user.email, make.PASSWORD).status_code == 302
        form = "/admin/training/certificate-template"
        assert completion.DEFAULT_COMPLETION_TEXT in admin_b.get(form).get_data(as_text=True)
        assert admin.post(form, {"text": "$name 於本會結業"}).status_code == 302
        assert "$name 於本會結業" in admin_b.get(form).get_data(as_text=True)
        training.seed_catalogue(db, unit)
        vol = make.volunteer(unit, trained=False)
        db.commit()
        give(db, unit, vol, ["SW04"], dt.date(2026, 11, 20))
        response = admin_b.post(f"/admin/training/volunteers/{vol.id}/completion")
        assert response.status_code == 200
        assert f"{vol.name_zh} 於本會結業" in _pdf_text(tmp_path, response.data)
        # issued on server B, posted again on server A: the same certificate
        again = admin.post(f"/admin/training/volunteers/{vol.id}/completion")
        assert again.headers["Content-Disposition"] == response.headers["Content-Disposition"]
    finally:
        other.extensions["hourbook_db"]["engine"].dispose()


def test_attendance_of_an_event_not_held_yet_is_refused_over_http(app, db, make, unit, admin):
    training.seed_catalogue(db, unit)
    vol = make.volunteer(unit, trained=False)
    ahead = dt.datetime.now(TAIPEI).date() + dt.timedelta(days=10)
    event = training_events.create_event(db, unit.id, course=course(db, unit, "SW04"), held_on=ahead,
                                  actor=admin.user)
    db.commit()
    response = admin.post(f"/admin/training/events/{event.id}/attendance",
                          {"volunteers": [str(vol.id)]}, hx=True)
    assert response.status_code == 400
    assert "這個場次在今天之後" in response.get_data(as_text=True)
    db.rollback()
    assert training_events.attendees(db, event) == {}
    assert db.scalar(select(func.count(TrainingRecord.id))) == 0


def test_retiring_and_bringing_back_a_course_on_its_page_rechecks_waiting_sessions(
        app, db, make, unit, admin):
    """A course in use again is required again: service of a volunteer who never took it,
    waiting for verification, is flagged (the dashboard says which course) until it is retired
    again."""
    from models.service import Flag, SessionStatus

    training.seed_catalogue(db, unit)
    vol = make.volunteer(unit, trained=False, name_zh="周新人")
    make.cover(vol, starts_on=dt.date(2026, 1, 1), ends_on=dt.date(2026, 12, 31))  # covers NOW
    make.train(vol, unit, codes={"B01", "B02", "B03", "SW01", "SW02", "SW04"})
    db.commit()
    sw03 = course(db, unit, "SW03")
    item = make.item(unit, category=Category.social_welfare)
    site = make.site(unit)

    def edit(active: bool):
        data = {"name": sw03.name, "name_en": sw03.name_en, "hours": "1"}
        response = admin.post(f"/admin/training/courses/{sw03.id}/edit",
                              {**data, **({"active": "y"} if active else {})})
        assert response.status_code == 302, response.get_data(as_text=True)
        db.rollback()  # read what the request committed: a new transaction, nothing cached
        db.expire_all()

    edit(active=False)
    start = NOW - dt.timedelta(days=2)
    s = ServiceSession(unit_id=unit.id, volunteer_id=vol.id, site_id=site.id, service_item_id=item.id,
                       checked_in_at=start, checked_out_at=start + dt.timedelta(hours=2),
                       status=SessionStatus.closed, source=SessionSource.poster)
    db.add(s)
    db.commit()
    edit(active=True)
    assert db.get(ServiceSession, s.id).flag_set == {Flag.day_gates.value}
    day = start.astimezone(TAIPEI).date()
    queue = admin.get("/dashboard/").get_data(as_text=True)
    assert f"周新人 於 {day} 尚未完成「社會福利類」特殊訓練：綜合討論" in queue
    english = admin.get("/dashboard/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert (f"周新人 had not completed the special training for the Social welfare category by "
            f"{day}: General discussion") in english
    # approving it refuses in the reader's language, the course by its English name too
    refused = admin.post(f"/dashboard/sessions/{s.id}/approve",
                         {"version": db.get(ServiceSession, s.id).version}, hx=True,
                         headers={"Accept-Language": "en"})
    assert refused.status_code == 400
    assert f"special training for the Social welfare category by {day}: General discussion" in \
        refused.get_data(as_text=True)
    db.rollback()
    edit(active=False)
    assert db.get(ServiceSession, s.id).flag_set == set()


# --- course choices: the two categories' courses of the same name ----------------------------

def _options(page: str) -> dict[int, tuple[str, str]]:
    """The course select's options: course id -> (optgroup label, visible text)."""
    import html
    import re

    select = re.search(r'<select[^>]*name="course_id"[^>]*>(.*?)</select>', page, re.S).group(1)
    out, group = {}, ""
    for tag, attrs, text in re.findall(r'<(optgroup|option)([^>]*)>([^<]*)', select):
        if tag == "optgroup":
            group = html.unescape(re.search(r'label="([^"]*)"', attrs).group(1))
        else:
            value = re.search(r'value="([^"]*)"', attrs).group(1)
            if value:
                out[int(value)] = (group, html.unescape(text))
    return out


@pytest.mark.parametrize("lang", ["zh-TW", "en"])
def test_course_choices_tell_the_two_categories_courses_apart(db, make, seeded, admin, lang):
    """SW03 and CO01 are both 綜合討論 (1 h), SW04 and CO02 both the unit briefing: every form
    that picks a course shows them with different text, each in its category's group."""
    vol = make.volunteer(seeded, trained=False)
    training.add_record(db, vol, course=course(db, seeded, "B01"), completed_on=TODAY,
                        minutes=120, mode=TrainingMode.in_person)
    db.commit()
    record = db.scalar(select(TrainingRecord))
    pages = [f"/admin/training/volunteers/{vol.id}/records/new", "/admin/training/events/new",
             f"/admin/training/records/{record.id}/edit"]
    zh = lang == "zh-TW"
    sw_group = "特殊訓練 · 社會福利類" if zh else "Special training · Social welfare"
    co_group = "特殊訓練 · 綜合類" if zh else "Special training · Comprehensive"
    for url in pages:
        options = _options(admin.get(url, headers={"Accept-Language": lang}).get_data(as_text=True))
        texts = [text for _, text in options.values()]
        assert len(texts) == len(set(texts)), (url, texts)  # no two options read the same
        sw03, co01 = options[course(db, seeded, "SW03").id], options[course(db, seeded, "CO01").id]
        sw04, co02 = options[course(db, seeded, "SW04").id], options[course(db, seeded, "CO02").id]
        assert sw03[0] == sw04[0] == sw_group and co01[0] == co02[0] == co_group
        if zh:
            assert sw03[1] == "綜合討論 · 社會福利類（1 h）" and co01[1] == "綜合討論 · 綜合類（1 h）"
        else:
            assert sw03[1] == "General discussion · Social welfare (1 h)"
            assert co01[1] == "General discussion · Comprehensive (1 h)"
        assert options[course(db, seeded, "B01").id][0] == ("基礎訓練" if zh else "Basic training")


# --- entering events and records: no defaults that save by themselves --------------------------

def test_an_untouched_new_event_form_is_refused_in_words(db, make, seeded, admin):
    """Save on the untouched form used to add B01 today: the course is a choice to make (a
    "Choose the course" option is selected), the date still starts at today."""
    import re

    page = admin.get("/admin/training/events/new").get_data(as_text=True)
    select = re.search(r'<select[^>]*name="course_id"[^>]*>.*?</select>', page, re.S).group(0)
    assert re.search(r'<option selected value="">請選擇課程</option>', select), select[:300]
    today = re.search(r'name="held_on"[^>]*value="([^"]*)"', page).group(1)
    assert today == dt.datetime.now(TAIPEI).date().isoformat()
    untouched = admin.post("/admin/training/events/new", {"course_id": "", "held_on": today,
                                                          "place": "", "mode": "in_person"})
    assert untouched.status_code == 400 and "請選擇課程。" in untouched.get_data(as_text=True)
    nothing = admin.post("/admin/training/events/new", {"held_on": today, "mode": "in_person"})
    assert nothing.status_code == 400 and "請選擇課程。" in nothing.get_data(as_text=True)
    db.rollback()
    assert db.scalar(select_count(TrainingEvent)) == 0
    chosen = admin.post("/admin/training/events/new", {
        "course_id": str(course(db, seeded, "SW02").id), "held_on": today, "mode": "in_person"})
    assert chosen.status_code == 302
    # the record form asks for the course the same way
    db.rollback()
    vol = make.volunteer(seeded, trained=False)
    form = admin.get(f"/admin/training/volunteers/{vol.id}/records/new").get_data(as_text=True)
    assert '<option selected value="">請選擇課程</option>' in form
    refused = admin.post(f"/admin/training/volunteers/{vol.id}/records/new",
                         _record_form(db, seeded, course_id=""))
    assert refused.status_code == 400 and "請選擇課程。" in refused.get_data(as_text=True)


def select_count(model):
    return select(func.count(model.id))


def test_a_record_holds_at_most_its_courses_hours(db, make, seeded, admin):
    """社會資源與志願服務 is 1 h (rules.md): a record of it with 5 h is refused, on the page, in
    add_record and in the import; fewer hours, as a certificate may say, are kept. A record
    whose course was shortened later can still be edited without touching its hours."""
    vol = make.volunteer(seeded, trained=False)
    sw02 = course(db, seeded, "SW02")
    url = f"/admin/training/volunteers/{vol.id}/records/new"
    five = admin.post(url, _record_form(db, seeded, course_id=str(sw02.id), hours="5"))
    assert five.status_code == 400
    assert "最多為課程的 1 小時" in five.get_data(as_text=True)
    english = admin.post(url, _record_form(db, seeded, course_id=str(sw02.id), hours="5"),
                         headers={"Accept-Language": "en"})
    assert "At most the course&#39;s 1 h" in english.get_data(as_text=True)
    db.rollback()
    assert db.scalar(select_count(TrainingRecord)) == 0
    with pytest.raises(InvalidTraining) as refused:
        training.add_record(db, vol, course=sw02, completed_on=TODAY, minutes=61,
                            mode=TrainingMode.in_person)
    assert refused.value.errors == {"minutes": "over_course"}
    assert refused.value.params == {"hours": "1"}
    db.rollback()
    half = admin.post(url, _record_form(db, seeded, course_id=str(sw02.id), hours="0.5"))
    assert half.status_code == 302
    # B01 recorded at its 2 h; the catalogue's B01 then shortened to 1.5 h: still editable
    b01 = course(db, seeded, "B01")
    assert admin.post(url, _record_form(db, seeded)).status_code == 302
    db.rollback()
    record = db.scalar(select(TrainingRecord).where(TrainingRecord.course_id == b01.id))
    training.update_course(db, b01, None, name=b01.name, name_en=b01.name_en, minutes=90,
                           active=True)
    db.commit()
    edit = f"/admin/training/records/{record.id}/edit"
    assert admin.post(edit, _record_form(db, seeded, provider="本會")).status_code == 302
    raised = admin.post(edit, _record_form(db, seeded, hours="2.5"))
    assert raised.status_code == 400 and "最多為課程的 1.5 小時" in raised.get_data(as_text=True)


def test_the_import_holds_a_record_to_its_courses_hours(db, make, seeded):
    from models import roster_import

    vol = make.volunteer(seeded, trained=False)
    data = ("類型,證件號碼,課程代碼,完成日期,時數\n"
            f"訓練紀錄,{vol.id_number},SW02,2025-01-02,5\n"
            f"訓練紀錄,{vol.id_number},SW01,2025-01-02,2\n").encode()
    (problem,) = roster_import.check(db, seeded.id, data, "r.csv").problems
    assert (problem.row, problem.column, problem.params) == (2, "時數", {"hours": "1"})
