"""Verification rules without HTTP: rounding, locks, overlaps, limits, stale rows, scope."""
import datetime as dt

import pytest
from sqlalchemy import select

from models.audit import AuditEntry
from models.base import TAIPEI
from models.service import Flag, ServiceSession, SessionSource, SessionStatus
from models.unit import Rounding
from models import verification as v

NOW = dt.datetime(2026, 11, 27, 10, 0, tzinfo=dt.timezone.utc)


@pytest.fixture
def setup(make, unit, db):
    site, item = make.site(unit), make.item(unit)
    vol = make.volunteer(unit)
    make.cover(vol, starts_on=dt.date(2026, 1, 1), ends_on=dt.date(2026, 12, 31))
    admin = make.user(unit, role="admin")
    sup = make.user(unit, role="supervisor")
    db.add(v.SupervisorSite(user_id=sup.id, site_id=site.id))
    db.commit()
    return site, item, vol, admin, sup


def closed(db, site, item, vol, start, minutes, **kw):
    s = ServiceSession(unit_id=site.unit_id, volunteer_id=vol.id, site_id=site.id,
                       service_item_id=item.id, checked_in_at=start,
                       checked_out_at=start + dt.timedelta(minutes=minutes),
                       status=kw.pop("status", SessionStatus.closed), source=SessionSource.poster, **kw)
    db.add(s)
    db.commit()
    return s


@pytest.mark.parametrize("rounding,minutes,expected", [
    (Rounding.none, 97, 97), (Rounding.down_15, 97, 90), (Rounding.down_30, 97, 90),
    (Rounding.down_15, 14, 0), (Rounding.down_30, 59, 30), (Rounding.none, 0, 0),
])
def test_rounding(rounding, minutes, expected):
    assert v.credited(minutes, rounding) == expected


def test_approve_applies_the_units_rounding_and_locks(db, unit, setup):
    site, item, vol, admin, sup = setup
    unit.rounding = Rounding.down_15
    db.merge(unit)
    db.commit()
    s = closed(db, site, item, vol, NOW - dt.timedelta(hours=5), 97)
    v.approve(db, s.id, sup, NOW)
    db.commit()
    assert s.status == SessionStatus.verified and s.credited_minutes == 90 and s.verified_by_id == sup.id
    with pytest.raises(v.VerificationError, match="locked"):
        v.adjust(db, s.id, sup, NOW, checked_in_at=s.checked_in_at, checked_out_at=s.checked_out_at, reason="x")
    db.rollback()
    entry = db.scalar(select(AuditEntry).where(AuditEntry.action == "approve"))
    assert entry.before_data()["status"] == "closed" and entry.after_data()["status"] == "verified"


def test_adjust_requires_reason_and_valid_times(db, make, unit, setup):
    site, item, vol, admin, sup = setup
    s = closed(db, site, item, vol, NOW - dt.timedelta(hours=5), 60)
    other = closed(db, site, item, vol, NOW - dt.timedelta(hours=3), 60)
    start = s.checked_in_at
    cases = [
        (dict(checked_in_at=start, checked_out_at=start + dt.timedelta(minutes=30), reason=" "), "reason"),
        (dict(checked_in_at=start, checked_out_at=start - dt.timedelta(minutes=1), reason="x"), "after the check-in"),
        (dict(checked_in_at=start - dt.timedelta(hours=10), checked_out_at=start + dt.timedelta(hours=3), reason="x"), "limit"),
        (dict(checked_in_at=start, checked_out_at=other.checked_in_at + dt.timedelta(minutes=5), reason="x"), "overlaps"),
        (dict(checked_in_at=NOW, checked_out_at=NOW + dt.timedelta(hours=1), reason="x"), "future"),
    ]
    for kwargs, message in cases:
        with pytest.raises(v.VerificationError, match=message):
            v.adjust(db, s.id, sup, NOW, **kwargs)
        db.rollback()
    db.expire_all()
    assert db.get(ServiceSession, s.id).checked_out_at == start + dt.timedelta(minutes=60)
    v.adjust(db, s.id, sup, NOW, checked_in_at=start, checked_out_at=start + dt.timedelta(minutes=45), reason="紙本更正")
    db.commit()
    assert Flag.edited.value in s.flag_set and s.status == SessionStatus.closed


def test_adjusted_times_decide_whether_the_session_is_short(db, setup):
    """A 28-second check-in set to 09:00-11:30 still said "Short" beside 2 h 30 min."""
    site, item, vol, admin, sup = setup
    start = NOW - dt.timedelta(hours=5)
    s = closed(db, site, item, vol, start, 0, flags=Flag.short.value)
    v.adjust(db, s.id, sup, NOW, checked_in_at=start, checked_out_at=start + dt.timedelta(minutes=150),
             reason="紙本更正")
    db.commit()
    assert s.flag_set == {Flag.edited.value}
    later = closed(db, site, item, vol, start + dt.timedelta(hours=3), 30)
    v.adjust(db, later.id, sup, NOW, checked_in_at=later.checked_in_at,
             checked_out_at=later.checked_in_at + dt.timedelta(seconds=40), reason="誤按")
    db.commit()
    assert later.flag_set == {Flag.edited.value, Flag.short.value}


def test_adjust_to_another_day_needs_that_days_cover_and_training(db, make, unit, setup):
    """Moving a session to another day is judged as a paper-sheet entry for that day: no hours
    on a day without insurance, nor before the category's special training was completed."""
    from models.training import TrainingCourse, TrainingKind, TrainingRecord

    site, item, vol, admin, sup = setup
    s = closed(db, site, item, vol, NOW - dt.timedelta(hours=5), 60)
    day = dt.timedelta(days=1)
    with pytest.raises(v.VerificationError, match="insurance"):  # the cover starts 2026-01-01
        v.adjust(db, s.id, sup, NOW, checked_in_at=dt.datetime(2025, 12, 31, 10, tzinfo=TAIPEI),
                 checked_out_at=dt.datetime(2025, 12, 31, 11, tzinfo=TAIPEI), reason="日期更正")
    db.rollback()
    special = select(TrainingCourse.id).where(TrainingCourse.kind == TrainingKind.special)
    db.execute(TrainingRecord.__table__.update().where(
        TrainingRecord.volunteer_id == vol.id, TrainingRecord.course_id.in_(special))
        .values(completed_on=dt.date(2026, 11, 20)))
    db.commit()
    with pytest.raises(v.VerificationError, match="special training"):
        v.adjust(db, s.id, sup, NOW, checked_in_at=dt.datetime(2026, 11, 19, 10, tzinfo=TAIPEI),
                 checked_out_at=dt.datetime(2026, 11, 19, 11, tzinfo=TAIPEI), reason="日期更正")
    db.rollback()
    db.expire_all()
    assert db.get(ServiceSession, s.id).checked_in_at == NOW - dt.timedelta(hours=5)
    # the certificate's own day counts, and times on the same day are corrected as before
    v.adjust(db, s.id, sup, NOW, checked_in_at=dt.datetime(2026, 11, 20, 10, tzinfo=TAIPEI),
             checked_out_at=dt.datetime(2026, 11, 20, 11, tzinfo=TAIPEI), reason="日期更正")
    db.commit()
    moved = db.get(ServiceSession, s.id)
    v.adjust(db, s.id, sup, NOW, checked_in_at=moved.checked_in_at - dt.timedelta(hours=1),
             checked_out_at=moved.checked_out_at, reason="早到一小時", expected_version=moved.version)
    db.commit()
    assert db.get(ServiceSession, s.id).checked_in_at.astimezone(TAIPEI).date() == \
        (NOW - 7 * day).astimezone(TAIPEI).date()


def test_needs_review_must_be_adjusted_before_approval(db, setup):
    site, item, vol, admin, sup = setup
    s = closed(db, site, item, vol, NOW - dt.timedelta(hours=14), 720, status=SessionStatus.needs_review,
               flags="auto_closed")
    with pytest.raises(v.VerificationError, match="real times"):
        v.approve(db, s.id, sup, NOW)
    db.rollback()
    v.adjust(db, s.id, sup, NOW, checked_in_at=s.checked_in_at,
             checked_out_at=s.checked_in_at + dt.timedelta(hours=3), reason="志工說 3 小時")
    v.approve(db, s.id, sup, NOW)
    db.commit()
    assert s.credited_minutes == 180


def test_stale_version_names_who_changed_it(db, setup):
    site, item, vol, admin, sup = setup
    s = closed(db, site, item, vol, NOW - dt.timedelta(hours=5), 60)
    seen = s.version
    v.approve(db, s.id, admin, NOW, expected_version=seen)
    db.commit()
    with pytest.raises(v.StaleRow) as exc:
        v.reject(db, s.id, sup, NOW, reason="late", expected_version=seen)
    assert exc.value.params["who"] == admin.name


def test_supervisor_acts_on_own_sites_only(db, make, unit, setup):
    site, item, vol, admin, sup = setup
    elsewhere = make.site(unit)
    s = closed(db, elsewhere, item, vol, NOW - dt.timedelta(hours=5), 60)
    with pytest.raises(PermissionError):
        v.approve(db, s.id, sup, NOW)
    db.rollback()
    assert v.verification_queue(db, sup, v.QueueFilter()) == []
    assert [r.id for r in v.verification_queue(db, admin, v.QueueFilter())] == [s.id]


def test_reopen_is_for_admins_and_not_for_slipped_sessions(db, setup):
    site, item, vol, admin, sup = setup
    s = closed(db, site, item, vol, NOW - dt.timedelta(hours=5), 60)
    v.approve(db, s.id, sup, NOW)
    db.commit()
    with pytest.raises(PermissionError):
        v.reopen(db, s.id, sup, NOW, reason="x")
    db.rollback()
    v.reopen(db, s.id, admin, NOW, reason="核錯")
    db.commit()
    assert s.status == SessionStatus.closed and s.credited_minutes == 0


def test_bulk_approve_only_unflagged_and_checks_the_confirmed_count(db, setup):
    site, item, vol, admin, sup = setup
    a = closed(db, site, item, vol, NOW - dt.timedelta(hours=9), 60)
    b = closed(db, site, item, vol, NOW - dt.timedelta(hours=7), 60)
    c = closed(db, site, item, vol, NOW - dt.timedelta(hours=5), 60, flags="offline")
    with pytest.raises(v.VerificationError, match="changed"):
        v.bulk_approve(db, sup, v.QueueFilter(), NOW, expected_count=3)
    db.rollback()
    assert v.bulk_approve(db, sup, v.QueueFilter(), NOW, expected_count=2) == 2
    db.commit()
    db.expire_all()
    assert [db.get(ServiceSession, x.id).status for x in (a, b, c)] == [
        SessionStatus.verified, SessionStatus.verified, SessionStatus.closed]


def test_manual_entry_applies_gates(db, make, unit, setup):
    site, item, vol, admin, sup = setup
    uninsured = make.volunteer(unit)
    with pytest.raises(v.VerificationError, match="insurance"):
        v.manual_entry(db, sup, NOW, volunteer=uninsured, site=site, item=item,
                       checked_in_at=NOW - dt.timedelta(hours=3), checked_out_at=NOW - dt.timedelta(hours=1),
                       reason="紙本簽到表")
    db.rollback()
    s = v.manual_entry(db, sup, NOW, volunteer=vol, site=site, item=item,
                       checked_in_at=NOW - dt.timedelta(hours=3), checked_out_at=NOW - dt.timedelta(hours=1),
                       reason="紙本簽到表")
    db.commit()
    assert s.source == SessionSource.manual and s.status == SessionStatus.closed


def test_check_out_by_hand(db, setup):
    site, item, vol, admin, sup = setup
    s = ServiceSession(unit_id=site.unit_id, volunteer_id=vol.id, site_id=site.id, service_item_id=item.id,
                       checked_in_at=NOW - dt.timedelta(hours=2), source=SessionSource.kiosk_card)
    db.add(s)
    db.commit()
    v.check_out_by_hand(db, s.id, sup, NOW, at=NOW - dt.timedelta(minutes=10), reason="忘記簽退")
    db.commit()
    assert s.status == SessionStatus.closed and Flag.manual_checkout.value in s.flag_set
    assert s.checkout_source == SessionSource.manual


# --- the day-of-service gates, again when staff act (records may have changed since) ----------

def test_approving_needs_cover_on_the_sessions_own_day(db, make, unit, setup):
    site, item, vol, admin, sup = setup
    before_cover = closed(db, site, item, vol, dt.datetime(2025, 12, 30, 2, tzinfo=dt.timezone.utc), 90)
    with pytest.raises(v.VerificationError) as refused:
        v.approve(db, before_cover.id, sup, NOW)
    assert refused.value.params == {"name": vol.name_zh, "day": "2025-12-30"}
    assert "had no valid accident insurance on" in refused.value.message
    db.rollback()
    make.cover(vol, starts_on=dt.date(2025, 12, 1), ends_on=dt.date(2025, 12, 31))  # found the policy
    v.approve(db, before_cover.id, sup, NOW)
    db.commit()
    assert db.get(ServiceSession, before_cover.id).status == SessionStatus.verified


def test_moving_a_session_to_an_uninsured_day_is_refused(db, setup):
    site, item, vol, admin, sup = setup
    s = closed(db, site, item, vol, NOW - dt.timedelta(hours=5), 60)
    new_start = dt.datetime(2025, 11, 3, 1, tzinfo=dt.timezone.utc)
    with pytest.raises(v.VerificationError, match="insurance") as refused:
        v.adjust(db, s.id, sup, NOW, checked_in_at=new_start,
                 checked_out_at=new_start + dt.timedelta(hours=2), reason="記錯日期")
    assert refused.value.params["day"] == "2025-11-03"
    db.rollback()
    assert db.get(ServiceSession, s.id).checked_in_at == NOW - dt.timedelta(hours=5)


def test_a_deleted_cover_flags_unverified_sessions_until_it_is_put_right(db, make, unit, setup):
    from models import insurance

    site, item, vol, admin, sup = setup
    [cover] = insurance.covers_of(db, vol.id)
    waiting = closed(db, site, item, vol, NOW - dt.timedelta(days=3), 60)
    done = closed(db, site, item, vol, NOW - dt.timedelta(days=4), 60, status=SessionStatus.verified)
    other = make.volunteer(unit)
    make.cover(other, starts_on=dt.date(2026, 1, 1), ends_on=dt.date(2026, 12, 31))
    theirs = closed(db, site, item, other, NOW - dt.timedelta(days=3), 60)

    insurance.delete_cover(db, cover, admin, now=NOW)  # entered on the wrong volunteer
    db.commit()
    db.expire_all()
    assert db.get(ServiceSession, waiting.id).flag_set == {Flag.day_gates.value}
    assert db.get(ServiceSession, done.id).flag_set == set()  # verified: already counted
    assert db.get(ServiceSession, theirs.id).flag_set == set()  # someone else's cover is fine
    entry = db.scalar(select(AuditEntry).where(AuditEntry.action == "day_gates_rechecked"))
    assert entry.entity_id == waiting.id and entry.after_data()["flags"] == "day_gates"
    # Bulk approval passes over it; approving it alone says why.
    assert v.unflagged_count(db, sup, v.QueueFilter()) == 1
    assert v.bulk_approve(db, sup, v.QueueFilter(), NOW, expected_count=1) == 1
    db.commit()
    assert db.get(ServiceSession, waiting.id).status == SessionStatus.closed
    with pytest.raises(v.VerificationError, match="insurance"):
        v.approve(db, waiting.id, sup, NOW)
    db.rollback()

    insurance.add_cover(db, vol, insurance.CoverKind.commercial, "富邦產險", "F-2026-1",
                        dt.date(2026, 1, 1), dt.date(2026, 12, 31), admin, now=NOW)
    db.commit()
    db.expire_all()
    assert db.get(ServiceSession, waiting.id).flag_set == set()
    v.approve(db, waiting.id, sup, NOW)
    db.commit()


def test_a_training_date_corrected_later_flags_service_before_it(db, make, unit, setup):
    from models import training
    from models.training import TrainingCourse, TrainingKind

    site, item, vol, admin, sup = setup
    s = closed(db, site, item, vol, NOW - dt.timedelta(days=10), 60)
    special = next(r for r in training.records_of(db, vol.id)
                   if db.get(TrainingCourse, r.course_id).kind == TrainingKind.special
                   and db.get(TrainingCourse, r.course_id).category == item.category)
    # The certificate was really dated after the session: service counts only from then.
    training.update_record(db, special, course=special.course, completed_on=dt.date(2026, 11, 25),
                           minutes=special.minutes, mode=special.mode, provider=special.provider,
                           actor=admin, today=NOW.date())
    db.commit()
    db.expire_all()
    assert Flag.day_gates.value in db.get(ServiceSession, s.id).flag_set
    with pytest.raises(v.VerificationError, match="special training") as refused:
        v.approve(db, s.id, sup, NOW)
    assert special.course.name in refused.value.params["courses"]


def test_a_rolled_back_change_rechecks_nothing(db, make, unit, setup):
    from models import insurance

    site, item, vol, admin, sup = setup
    [cover] = insurance.covers_of(db, vol.id)
    s = closed(db, site, item, vol, NOW - dt.timedelta(days=3), 60)
    insurance.delete_cover(db, cover, admin, now=NOW)
    db.flush()
    db.rollback()  # the admin's change failed: the cover stays, and so does the session
    closed(db, site, item, vol, NOW - dt.timedelta(days=2), 60)  # the next commit
    db.expire_all()
    assert db.get(ServiceSession, s.id).flag_set == set()
    assert db.scalar(select(AuditEntry).where(AuditEntry.action == "day_gates_rechecked")) is None


# --- why a flagged row fails its day, and what re-checks it -------------------------------------

def _course(db, unit, code):
    from models.training import TrainingCourse

    return db.scalar(select(TrainingCourse).where(TrainingCourse.unit_id == unit.id,
                                                  TrainingCourse.code == code))


def _record(db, vol, course):
    from models.training import TrainingRecord

    return db.scalar(select(TrainingRecord).where(TrainingRecord.volunteer_id == vol.id,
                                                  TrainingRecord.course_id == course.id))


def _flags(db, s):
    db.expire_all()
    return db.get(ServiceSession, s.id).flag_set


def test_day_gate_reasons_say_why_for_a_page_of_rows_in_four_queries(app, db, make, unit, setup):
    """The clock is the sessions' own days (Taipei): 2026-11-20 09:00 for the flagged rows."""
    from sqlalchemy import event

    from models import gates
    from models.insurance import InsuranceCover

    site, item, vol, admin, sup = setup
    day = dt.datetime(2026, 11, 20, 9, tzinfo=TAIPEI)
    people = {}
    for name in ("王保險", "林訓練", "陳兩者", "張無事"):
        people[name] = make.volunteer(unit, name_zh=name)
        make.cover(people[name], starts_on=dt.date(2026, 1, 1), ends_on=dt.date(2026, 12, 31))
    rows = {name: closed(db, site, item, person, day, 60) for name, person in people.items()}
    later = closed(db, site, item, people["林訓練"], day + dt.timedelta(days=6), 60)  # 11-26
    assert all(_flags(db, s) == set() for s in [*rows.values(), later])

    def cover_ends(person, on):  # the cover really ended earlier
        db.scalar(select(InsuranceCover).where(InsuranceCover.volunteer_id == person.id)).ends_on = on

    def completed(person, code, on):  # the certificate is really dated later
        _record(db, person, _course(db, unit, code)).completed_on = on

    cover_ends(people["王保險"], dt.date(2026, 11, 19))
    completed(people["林訓練"], "SW01", dt.date(2026, 11, 25))
    cover_ends(people["陳兩者"], dt.date(2026, 11, 19))
    completed(people["陳兩者"], "B01", dt.date(2026, 11, 21))
    db.commit()  # the re-check flags the rows of the day, not the one after the certificate
    assert {name for name, s in rows.items() if Flag.day_gates.value in _flags(db, s)} == \
        {"王保險", "林訓練", "陳兩者"}
    assert _flags(db, later) == set()

    page = v.verification_queue(db, sup, v.QueueFilter())  # volunteers and items loaded
    engine = app.extensions["hourbook_db"]["engine"]
    statements = []
    count = lambda *_args: statements.append(1)  # noqa: E731
    event.listen(engine, "before_cursor_execute", count)
    try:
        reasons = gates.day_gate_reasons(db, page)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len(statements) == 4  # status changes, covers, catalogues, training records:
    # however many rows

    def said(name):
        return [(r.code, {k: p for k, p in r.params.items() if k not in ("name", "day")})
                for r in reasons[rows[name].id]]

    assert set(reasons) == {rows[n].id for n in ("王保險", "林訓練", "陳兩者")}  # flagged rows only
    assert said("王保險") == [("no_insurance", {})]
    assert said("林訓練") == [("special_training_missing",
                              {"courses": "社會福利概述", "category": "Social welfare"})]
    assert said("陳兩者") == [("no_insurance", {}),
                             ("basic_training_missing", {"courses": "志願服務內涵及倫理"})]
    for name in ("王保險", "林訓練", "陳兩者"):
        s = rows[name]
        # the very refusals approving the row gives, in the same words
        assert reasons[s.id] == gates.dated_refusals(db, people[name], item, s.checked_in_at)
        assert all(r.params["name"] == name and r.params["day"] == "2026-11-20"
                   for r in reasons[s.id])
    assert reasons[rows["王保險"].id][0].message == gates.DATED_REFUSALS["no_insurance"]
    assert gates.day_gate_reasons(db, []) == {}
    rejected = rows["王保險"]  # decided: its flag is history, nothing more to say
    v.reject(db, rejected.id, sup, NOW, reason="當日未投保")
    db.commit()
    assert rejected.id not in gates.day_gate_reasons(db, [db.get(ServiceSession, rejected.id)])


def test_a_retired_course_brought_back_flags_the_sessions_it_gates_again(db, make, unit, setup):
    """training_status() asks only for the active courses: retiring one lets service without it
    pass, bringing it back makes that service fail again. Either re-checks the unit's sessions
    not yet verified, as a changed cover or training record does."""
    from models import gates, training

    site, item, vol, admin, sup = setup
    sw03 = _course(db, unit, "SW03")  # 綜合討論, social welfare: the item's category

    def edit(course, active, name=None):
        training.update_course(db, course, admin, name=name or course.name,
                               name_en=course.name_en, minutes=course.minutes, active=active)
        db.commit()

    edit(sw03, active=False)
    newcomer = make.volunteer(unit, trained=False, name_zh="周新人")
    make.train(newcomer, unit, codes={"B01", "B02", "B03", "SW01", "SW02", "SW04"})
    make.cover(newcomer, starts_on=dt.date(2026, 1, 1), ends_on=dt.date(2026, 12, 31))
    s = closed(db, site, item, newcomer, NOW - dt.timedelta(days=3), 60)
    theirs = closed(db, site, item, vol, NOW - dt.timedelta(days=3), 60)  # vol has SW03
    assert _flags(db, s) == set()

    edit(_course(db, unit, "SW03"), active=True)
    assert _flags(db, s) == {Flag.day_gates.value} and _flags(db, theirs) == set()
    [why] = gates.day_gate_reasons(db, [db.get(ServiceSession, s.id)])[s.id]
    assert why.code == "special_training_missing" and why.params["courses"] == "綜合討論"
    assert v.bulk_approve(db, sup, v.QueueFilter(), NOW, expected_count=1) == 1  # only theirs
    db.commit()
    assert db.get(ServiceSession, s.id).status == SessionStatus.closed
    with pytest.raises(v.VerificationError, match="special training"):
        v.approve(db, s.id, sup, NOW)
    db.rollback()

    rechecks = select(AuditEntry).where(AuditEntry.action == "day_gates_rechecked",
                                        AuditEntry.entity_id == s.id)
    edit(_course(db, unit, "SW03"), active=True, name="綜合討論（新版）")  # a new name only
    assert len(db.scalars(rechecks).all()) == 1 and _flags(db, s) == {Flag.day_gates.value}
    edit(_course(db, unit, "SW03"), active=False)  # retired again: the day passes
    assert _flags(db, s) == set() and len(db.scalars(rechecks).all()) == 2
    v.approve(db, s.id, sup, NOW)
    db.commit()


def test_a_course_added_or_removed_and_an_items_category_recheck_the_unit(db, make, unit, setup):
    from models.training import TrainingCourse, TrainingKind
    from models.unit import Category

    site, item, vol, admin, sup = setup
    s = closed(db, site, item, vol, NOW - dt.timedelta(days=3), 60)
    other_unit = make.unit()
    # (uninsured: a re-check of their unit would flag it)
    elsewhere = closed(db, make.site(other_unit), make.item(other_unit), make.volunteer(other_unit),
                       NOW - dt.timedelta(days=3), 60)
    new = TrainingCourse(unit_id=unit.id, code="SW05", name="長照服務概論", kind=TrainingKind.special,
                         category=Category.social_welfare, minutes=60, active=True)
    db.add(new)
    db.commit()
    assert _flags(db, s) == {Flag.day_gates.value} and _flags(db, elsewhere) == set()
    db.delete(db.get(TrainingCourse, new.id))
    db.commit()
    assert _flags(db, s) == set()

    db.delete(_record(db, vol, _course(db, unit, "CO01")))  # comprehensive: not this item's
    db.commit()
    assert _flags(db, s) == set()
    db.get(type(item), item.id).category = Category.comprehensive
    db.commit()
    assert _flags(db, s) == {Flag.day_gates.value}


def test_an_exit_recorded_later_flags_the_service_after_its_date(db, make, unit, setup):
    """An admin records today that a volunteer left a week ago: what was checked in since then
    is not the unit's service until a supervisor looks at it. The last day counts."""
    from models import gates
    from models.volunteer_status import exit_volunteer, reactivate_volunteer

    site, item, vol, admin, sup = setup
    before = closed(db, site, item, vol, NOW - dt.timedelta(days=9), 60)
    last_day = closed(db, site, item, vol, NOW - dt.timedelta(days=7), 60)
    after = closed(db, site, item, vol, NOW - dt.timedelta(days=3), 60)
    exit_on = (NOW - dt.timedelta(days=7)).astimezone(TAIPEI).date()

    exit_volunteer(db, vol, admin, NOW, reason="搬家", on=exit_on)
    db.commit()
    db.expire_all()
    flagged = {s.id for s in db.scalars(select(ServiceSession))
               if Flag.day_gates.value in s.flag_set}
    assert flagged == {after.id}
    with pytest.raises(v.VerificationError) as refused:
        v.approve(db, after.id, sup, NOW)
    assert refused.value.message == gates.DATED_REFUSALS["not_serving_that_day"]
    db.rollback()
    [why] = gates.day_gate_reasons(db, [db.get(ServiceSession, after.id)])[after.id]
    assert why.code == "not_serving_that_day" and why.params["name"] == vol.name_zh
    for s in (before, last_day):
        v.approve(db, s.id, sup, NOW)
    db.commit()

    # Coming back today does not make the days away service: the flag stays.
    reactivate_volunteer(db, vol, admin, NOW, reason="搬回來")
    db.commit()
    db.expire_all()
    assert Flag.day_gates.value in db.get(ServiceSession, after.id).flag_set
    # A session on a day the volunteer had not joined yet is refused on its own, flag or not.
    vol = db.get(type(vol), vol.id)
    vol.joined_on = (NOW - dt.timedelta(days=1)).astimezone(TAIPEI).date()
    early = closed(db, site, item, vol, NOW - dt.timedelta(days=2), 60)
    with pytest.raises(v.VerificationError):
        v.approve(db, early.id, sup, NOW)
    db.rollback()


def test_reopening_a_session_counted_on_an_issued_certificate_needs_the_admins_note(
        db, make, unit, setup):
    """A performance certificate prints the verified hours up to its issue day: reopening one of
    those sessions says so, and happens only once the admin has noted it (the audit names the
    certificate). Sessions after the certificate, or verified after it, reopen as before."""
    from models import certificates

    site, item, vol, admin, sup = setup
    vol.joined_on = dt.date(2024, 1, 1)
    served = [closed(db, site, item, vol, NOW - dt.timedelta(days=20 + i), 600) for i in range(16)]
    for s in served:
        v.approve(db, s.id, sup, NOW - dt.timedelta(days=3))
    db.commit()
    cert = certificates.request_certificate(db, vol, admin, NOW - dt.timedelta(days=2))
    certificates.issue_certificate(db, cert.id, admin, NOW - dt.timedelta(days=2))
    db.commit()
    later = closed(db, site, item, vol, NOW - dt.timedelta(days=1), 60)
    v.approve(db, later.id, sup, NOW)
    db.commit()

    assert certificates.counted_on(db, served[0]) == cert
    assert certificates.counted_on(db, later) is None  # after the issue day
    with pytest.raises(v.CountedOnCertificate) as refused:
        v.reopen(db, served[0].id, admin, NOW, reason="重複登錄")
    assert refused.value.params == {"serial": cert.serial,
                                    "day": cert.issued_on.isoformat()}
    db.rollback()
    assert db.get(ServiceSession, served[0].id).status == SessionStatus.verified
    v.reopen(db, later.id, admin, NOW, reason="時數錯誤")  # not on the certificate
    v.reopen(db, served[0].id, admin, NOW, reason="重複登錄", certificate_noted=True)
    db.commit()
    assert db.get(ServiceSession, served[0].id).status == SessionStatus.closed
    entry = db.scalar(select(AuditEntry).where(AuditEntry.action == "reopen",
                                               AuditEntry.entity_id == served[0].id))
    assert entry.after_data()["certificate"] == cert.serial
    assert certificates.hours_changed(db, [cert]) == {cert.id: 150 * 60}  # printed 160 h
    # approved again after the certificate: no longer what it printed
    v.approve(db, served[0].id, sup, NOW)
    db.commit()
    assert certificates.counted_on(db, db.get(ServiceSession, served[0].id)) is None
    assert certificates.hours_changed(db, [cert]) == {}  # the same minutes again
    # reopened and rejected: the admin issues a new certificate, which replaces the old one
    v.reopen(db, served[1].id, admin, NOW, reason="未到場", certificate_noted=True)
    v.reject(db, served[1].id, sup, NOW, reason="未到場")
    db.commit()
    assert certificates.hours_changed(db, [cert]) == {cert.id: 150 * 60}
    new = certificates.request_certificate(db, vol, admin, NOW)
    certificates.issue_certificate(db, new.id, admin, NOW + dt.timedelta(minutes=1))
    db.commit()
    assert new.printed["service_minutes"] == 150 * 60  # without the rejected session
    assert certificates.hours_changed(db, [cert, new]) == {}
