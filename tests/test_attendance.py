"""Attendance (出缺席記錄): the roster rules on a hand-built day (domain, controlled clock),
shifts and excused marks with their audit entries, and the pages and sheets over real HTTP
for every role (volunteers 403, supervisors on their own sites only, admins everywhere)."""
import csv
import datetime as dt
import io
import re

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from models import attendance as att
from models import shift_changes
from models.attendance import AttendanceMark, MarkStatus, Repeat, Shift, Status
from models.shift_changes import AttendanceRefused, InvalidShift
from models.audit import AuditEntry
from models.base import TAIPEI, taipei_date, utcnow
from models.people import VolunteerStatus
from models.service import ServiceSession, SessionSource, SessionStatus
from models.verification import SupervisorSite

DAY = dt.date(2026, 3, 2)  # a Monday, in the past
EVENING = dt.datetime.combine(DAY, dt.time(18, 0), tzinfo=TAIPEI)  # "now" for the hand-built day


def tp(day: dt.date, hhmm: str) -> dt.datetime:
    """A Taipei wall-clock moment (aware)."""
    return dt.datetime.combine(day, dt.time.fromisoformat(hhmm), tzinfo=TAIPEI)


def t(hhmm: str) -> dt.time:
    return dt.time.fromisoformat(hhmm)


def fresh(db):
    """End the test's read transaction (SQLite keeps its snapshot) and forget loaded rows."""
    db.rollback()
    db.expire_all()
    return db


def audits(db, action=None):
    fresh(db)
    query = select(AuditEntry).order_by(AuditEntry.id)
    if action:
        query = query.where(AuditEntry.action == action)
    return db.scalars(query).all()


def counts_of(db, model) -> int:
    fresh(db)
    return db.scalar(select(func.count()).select_from(model))


@pytest.fixture
def site(make, unit):
    return make.site(unit, name_zh="大安長照服務中心", name_en="Da'an Care Centre")


@pytest.fixture
def other_site(make, unit):
    return make.site(unit, name_zh="萬華社區關懷據點", name_en="Wanhua Care Point")


@pytest.fixture
def item(make, unit):
    return make.item(unit, name_zh="長者陪伴關懷", name_en="Companionship")


@pytest.fixture
def boss(make, unit):
    """An admin account for calling the domain directly."""
    return make.user(unit, role="admin")


def schedule(db, actor, site, item, vol, day, start, end, repeat="once", ends_on=None, now=None):
    fresh(db)
    shift = shift_changes.create_shift(db, actor, now or EVENING, site_id=site.id, service_item_id=item.id,
                             volunteer_id=vol.id, repeat=repeat, starts_on=day, ends_on=ends_on,
                             start_time=t(start), end_time=t(end))
    db.commit()
    return shift


def served(db, vol, site, item, start: dt.datetime, end: dt.datetime | None,
           status=SessionStatus.closed):
    fresh(db)
    s = ServiceSession(unit_id=vol.unit_id, volunteer_id=vol.id, site_id=site.id,
                       service_item_id=item.id, checked_in_at=start, checked_out_at=end,
                       status=SessionStatus.open if end is None else status,
                       source=SessionSource.kiosk_card)
    db.add(s)
    db.commit()
    return s


def by_name(rows):
    return {r.volunteer.name_zh: r for r in rows}


# --- the roster rules on a hand-built day ----------------------------------------------------

@pytest.fixture
def day_built(db, make, unit, site, other_site, item, boss):
    """DAY at `site`: one volunteer per status, the edges of each threshold, and more."""
    v = {name: make.volunteer(unit, name_zh=name) for name in (
        "準時", "剛好十分", "遲到", "早退", "剛好早十分", "遲到早退", "缺席", "被退回", "請假",
        "晚班", "未開始", "還在", "臨時", "別處")}
    plan = [("準時", "09:00", "12:00"), ("剛好十分", "09:00", "12:00"), ("遲到", "09:00", "12:00"),
            ("早退", "13:00", "17:00"), ("剛好早十分", "13:00", "17:00"),
            ("遲到早退", "13:00", "17:00"), ("缺席", "09:00", "12:00"),
            ("被退回", "09:00", "12:00"), ("請假", "09:00", "12:00"), ("晚班", "23:00", "23:59"),
            ("未開始", "19:00", "21:00"), ("還在", "14:00", "18:30")]
    shifts = {name: schedule(db, boss, site, item, v[name], DAY, a, b) for name, a, b in plan}
    for name, a, b in [("準時", "08:55", "12:05"), ("剛好十分", "09:10", "12:00"),
                       ("遲到", "09:11", "12:00"), ("早退", "12:58", "16:45"),
                       ("剛好早十分", "13:00", "16:50"), ("遲到早退", "13:30", "16:00"),
                       ("晚班", "23:05", "23:50"), ("臨時", "10:00", "11:00")]:
        served(db, v[name], site, item, tp(DAY, a), tp(DAY, b))
    served(db, v["被退回"], site, item, tp(DAY, "09:00"), tp(DAY, "12:00"), SessionStatus.rejected)
    served(db, v["缺席"], other_site, item, tp(DAY, "09:00"), tp(DAY, "12:00"))  # wrong site
    served(db, v["還在"], site, item, tp(DAY, "14:02"), None)  # still on site
    served(db, v["別處"], other_site, item, tp(DAY, "09:00"), tp(DAY, "10:00"))
    fresh(db)
    shift_changes.mark_excused(db, shifts["請假"].id, DAY, "家中有事", boss, EVENING)
    db.commit()
    return v, shifts


def test_roster_gives_every_status_with_its_evidence(db, site, day_built):
    v, shifts = day_built
    rows = att.roster(fresh(db), site.id, DAY, EVENING)
    got = {name: row.status for name, row in by_name(rows).items()}
    assert got == {
        "準時": Status.present, "剛好十分": Status.present, "遲到": Status.late,
        "早退": Status.left_early, "剛好早十分": Status.present,
        "遲到早退": Status.late_left_early, "缺席": Status.absent, "被退回": Status.absent,
        "請假": Status.excused, "晚班": Status.present, "未開始": Status.upcoming,
        "還在": Status.present, "臨時": Status.unscheduled,
    }
    rows = by_name(rows)
    assert rows["遲到"].late_minutes == 11 and rows["遲到"].early_minutes == 0
    assert rows["早退"].early_minutes == 15 and rows["早退"].late_minutes == 0
    assert (rows["遲到早退"].late_minutes, rows["遲到早退"].early_minutes) == (30, 60)
    # the evidence: the session matched, and the rejected one kept apart
    assert [s.checked_in_at for s in rows["準時"].sessions] == [tp(DAY, "08:55")]
    assert rows["被退回"].sessions == [] and len(rows["被退回"].not_counted) == 1
    assert rows["缺席"].sessions == []  # its session at another site does not count here
    assert rows["請假"].mark.reason == "家中有事"
    assert rows["還在"].still_open and rows["還在"].last_out is None
    assert rows["臨時"].shift is None and rows["臨時"].sessions[0].volunteer_id == v["臨時"].id
    assert "別處" not in rows
    # scheduled rows by start time, unscheduled last
    statuses = [r.status for r in att.roster(db, site.id, DAY, EVENING)]
    assert statuses[-1] == Status.unscheduled
    assert att.counts(list(rows.values()))[Status.present] == 5


def test_taipei_midnight_edge(db, make, unit, site, item, boss):
    vol = make.volunteer(unit, name_zh="夜貓")
    schedule(db, boss, site, item, vol, DAY, "23:00", "23:59")
    night = served(db, vol, site, item, tp(DAY, "23:05"), tp(DAY, "23:55"))
    assert night.checked_in_at.astimezone(dt.timezone.utc).hour == 15  # 15:05 UTC, same date
    after_midnight = served(db, vol, site, item, tp(DAY + dt.timedelta(days=1), "00:10"),
                            tp(DAY + dt.timedelta(days=1), "00:40"))
    # 00:10 Taipei on the next day is still DAY by the UTC calendar
    assert after_midnight.checked_in_at.astimezone(dt.timezone.utc).date() == DAY
    now = tp(DAY + dt.timedelta(days=2), "12:00")
    [row] = att.roster(fresh(db), site.id, DAY, now)
    assert row.status == Status.present and row.starts_at == tp(DAY, "23:00")
    assert [s.id for s in row.sessions] == [night.id]
    [next_day] = att.roster(db, site.id, DAY + dt.timedelta(days=1), now)
    assert next_day.status == Status.unscheduled and next_day.sessions[0].id == after_midnight.id
    assert att.roster(db, site.id, DAY - dt.timedelta(days=1), now) == []


def test_late_evening_shift_absent_only_after_its_time(db, make, unit, site, item, boss):
    vol = make.volunteer(unit)
    schedule(db, boss, site, item, vol, DAY, "23:00", "23:59")
    fresh(db)
    assert att.roster(db, site.id, DAY, tp(DAY, "22:59"))[0].status == Status.upcoming
    assert att.roster(db, site.id, DAY, tp(DAY, "23:10"))[0].status == Status.upcoming
    assert att.roster(db, site.id, DAY, tp(DAY, "23:11"))[0].status == Status.absent


def test_upcoming_until_the_late_threshold_then_absent(db, make, unit, site, item, boss):
    vol = make.volunteer(unit)
    schedule(db, boss, site, item, vol, DAY, "09:00", "12:00")
    fresh(db)
    assert [r.status for r in att.roster(db, site.id, DAY, tp(DAY, "08:00"))] == [Status.upcoming]
    assert [r.status for r in att.roster(db, site.id, DAY, tp(DAY, "09:10"))] == [Status.upcoming]
    assert [r.status for r in att.roster(db, site.id, DAY, tp(DAY, "09:10:01"))] == [Status.absent]
    # a volunteer already on site before the start is present, not upcoming
    served(db, vol, site, item, tp(DAY, "08:50"), None)
    assert [r.status for r in att.roster(fresh(db), site.id, DAY, tp(DAY, "08:55"))] == \
        [Status.present]


def test_a_rejected_session_is_no_presence_and_not_unscheduled(db, make, unit, site, item):
    vol = make.volunteer(unit)
    served(db, vol, site, item, tp(DAY, "09:00"), tp(DAY, "10:00"), SessionStatus.rejected)
    assert att.roster(fresh(db), site.id, DAY, EVENING) == []


def test_weekly_shift_with_an_end_date(db, make, unit, site, item, boss):
    vol = make.volunteer(unit, name_zh="每週一")
    first, last = DAY, DAY + dt.timedelta(days=14)  # three Mondays
    schedule(db, boss, site, item, vol, first, "09:00", "12:00", "weekly", ends_on=last)
    served(db, vol, site, item, tp(DAY + dt.timedelta(days=7), "09:20"),
           tp(DAY + dt.timedelta(days=7), "12:00"))
    now = tp(DAY + dt.timedelta(days=60), "12:00")
    days = att.roster_range(fresh(db), site.id, first - dt.timedelta(days=7),
                            last + dt.timedelta(days=7), now)
    scheduled = {d: [r.status for r in rows] for d, rows in days.items() if rows}
    assert scheduled == {DAY: [Status.absent], DAY + dt.timedelta(days=7): [Status.late],
                         DAY + dt.timedelta(days=14): [Status.absent]}
    assert len(days) == 29  # every day of the range is there, most of them empty


def test_open_ended_weekly_shift_and_its_month(db, make, unit, site, item, boss):
    vol = make.volunteer(unit)
    schedule(db, boss, site, item, vol, DAY, "09:00", "10:00", "weekly")
    first, last = att.month_bounds(2026, 3)
    days = att.roster_range(fresh(db), site.id, first, last, EVENING)
    mondays = [d for d, rows in days.items() if rows]
    assert mondays == [dt.date(2026, 3, n) for n in (2, 9, 16, 23, 30)]
    assert [days[d][0].status for d in mondays] == [Status.absent] + [Status.upcoming] * 4
    [tally] = att.tally_by_volunteer(days)
    assert tally.scheduled == 5 and tally.counts[Status.absent] == 1


# --- shifts ------------------------------------------------------------------------------------

def test_create_shift_is_audited(db, make, unit, site, item, boss):
    vol = make.volunteer(unit)
    shift = schedule(db, boss, site, item, vol, DAY, "09:00", "12:00", "weekly",
                     ends_on=DAY + dt.timedelta(days=28))
    [entry] = audits(db, "shift_create")
    assert entry.entity == "shift" and entry.entity_id == shift.id and entry.before is None
    assert entry.actor_user_id == boss.id
    assert entry.after_data() == {
        "site_id": site.id, "service_item_id": item.id, "volunteer_id": vol.id,
        "repeat": "weekly", "starts_on": "2026-03-02", "ends_on": "2026-03-30",
        "start_time": "09:00", "end_time": "12:00", "cancelled_at": None}


def test_one_off_shift_ignores_a_last_day(db, make, unit, site, item, boss):
    shift = schedule(db, boss, site, item, make.volunteer(unit), DAY, "09:00", "12:00", "once",
                     ends_on=DAY + dt.timedelta(days=7))
    assert shift.ends_on is None and shift.repeat == Repeat.once


@pytest.mark.parametrize("changes, field, code", [
    ({"end_time": t("09:00")}, "end_time", "end_before_start"),
    ({"end_time": t("08:00")}, "end_time", "end_before_start"),
    ({"volunteer_id": 999999}, "volunteer_id", "unknown_volunteer"),
    ({"volunteer_id": "abc"}, "volunteer_id", "unknown_volunteer"),
    ({"site_id": 999999}, "site_id", "unknown_site"),
    ({"service_item_id": 999999}, "service_item_id", "unknown_item"),
    ({"repeat": "daily"}, "repeat", "unknown_repeat"),
    ({"repeat": "weekly", "ends_on": DAY - dt.timedelta(days=1)}, "ends_on", "last_before_first"),
    ({"starts_on": None}, "starts_on", "required"),
])
def test_bad_shifts_change_nothing(db, make, unit, site, item, boss, changes, field, code):
    vol = make.volunteer(unit)
    values = dict(site_id=site.id, service_item_id=item.id, volunteer_id=vol.id, repeat="once",
                  starts_on=DAY, ends_on=None, start_time=t("09:00"), end_time=t("12:00"))
    values.update(changes)
    fresh(db)
    with pytest.raises(InvalidShift) as caught:
        shift_changes.create_shift(db, boss, EVENING, **values)
    db.rollback()
    assert caught.value.errors[field] == code
    assert counts_of(db, Shift) == 0 and audits(db) == []


def test_other_units_and_inactive_volunteers_cannot_be_scheduled(db, make, unit, site, item, boss):
    stranger = make.volunteer(make.unit())
    gone = make.volunteer(unit, status=VolunteerStatus.inactive)
    for vol, code in ((stranger, "unknown_volunteer"), (gone, "inactive_volunteer")):
        with pytest.raises(InvalidShift) as caught:
            schedule(db, boss, site, item, vol, DAY, "09:00", "12:00")
        db.rollback()
        assert caught.value.errors["volunteer_id"] == code
    assert counts_of(db, Shift) == 0


def test_a_volunteer_cannot_hold_overlapping_shifts(db, make, unit, site, other_site, item, boss):
    vol = make.volunteer(unit)
    weekly = schedule(db, boss, site, item, vol, DAY, "09:00", "12:00", "weekly")
    with pytest.raises(InvalidShift) as caught:  # a one-off on a later Monday, elsewhere
        schedule(db, boss, other_site, item, vol, DAY + dt.timedelta(days=21), "11:00", "13:00")
    db.rollback()
    assert caught.value.errors == {"start_time": "overlap"} and caught.value.conflict.id == weekly.id
    # back to back, another weekday, or after the weekly one ended: fine
    schedule(db, boss, site, item, vol, DAY, "12:00", "13:00")
    schedule(db, boss, site, item, vol, DAY + dt.timedelta(days=1), "09:00", "12:00", "weekly")
    assert counts_of(db, Shift) == 3


def test_cancel_a_one_off_shift_before_it_starts_only(db, make, unit, site, item, boss):
    vol = make.volunteer(unit)
    shift = schedule(db, boss, site, item, vol, DAY, "09:00", "12:00")
    fresh(db)
    with pytest.raises(AttendanceRefused) as caught:
        shift_changes.cancel_shift(db, shift.id, boss, tp(DAY, "09:00"))
    assert caught.value.code == "started"
    db.rollback()
    shift_changes.cancel_shift(fresh(db), shift.id, boss, tp(DAY, "08:59"))
    db.commit()
    assert db.get(Shift, shift.id).cancelled_at == tp(DAY, "08:59")
    assert att.roster(fresh(db), site.id, DAY, EVENING) == []
    [entry] = audits(db, "shift_cancel")
    assert entry.before_data()["cancelled_at"] is None and entry.after_data()["cancelled_at"]
    with pytest.raises(AttendanceRefused) as caught:
        shift_changes.cancel_shift(fresh(db), shift.id, boss, tp(DAY, "08:59"))
    assert caught.value.code == "already_cancelled"


def test_ending_a_weekly_shift_keeps_its_past(db, make, unit, site, item, boss):
    vol = make.volunteer(unit)
    shift = schedule(db, boss, site, item, vol, DAY, "09:00", "12:00", "weekly")
    now = tp(DAY + dt.timedelta(days=14), "10:00")  # the third Monday has started
    shift_changes.cancel_shift(fresh(db), shift.id, boss, now)
    db.commit()
    shift = fresh(db).get(Shift, shift.id)
    assert shift.cancelled_at is None and shift.ends_on == DAY + dt.timedelta(days=20)
    days = att.roster_range(db, site.id, DAY, DAY + dt.timedelta(days=35), now)
    assert [d for d, rows in days.items() if rows] == [DAY + dt.timedelta(days=n) for n in (0, 7, 14)]
    [entry] = audits(db, "shift_end")
    assert entry.before_data()["ends_on"] is None and entry.after_data()["ends_on"] == "2026-03-22"
    # a weekly shift none of whose days has started is simply cancelled
    later = schedule(db, boss, site, item, vol, DAY + dt.timedelta(days=29), "09:00", "12:00",
                     "weekly")
    shift_changes.cancel_shift(fresh(db), later.id, boss, now)
    db.commit()
    assert fresh(db).get(Shift, later.id).cancelled_at == now


def test_cancel_a_finished_weekly_shift_is_refused(db, make, unit, site, item, boss):
    shift = schedule(db, boss, site, item, make.volunteer(unit), DAY, "09:00", "12:00", "weekly",
                     ends_on=DAY + dt.timedelta(days=7))
    with pytest.raises(AttendanceRefused) as caught:
        shift_changes.cancel_shift(fresh(db), shift.id, boss, tp(DAY + dt.timedelta(days=8), "09:00"))
    assert caught.value.code == "over"


# --- excused marks -----------------------------------------------------------------------------

def test_excuse_re_mark_and_withdraw_are_audited(db, make, unit, site, item, boss):
    vol = make.volunteer(unit)
    shift = schedule(db, boss, site, item, vol, DAY, "09:00", "12:00")
    shift_changes.mark_excused(fresh(db), shift.id, DAY, "  看醫生 ", boss, EVENING)
    db.commit()
    assert att.roster(fresh(db), site.id, DAY, EVENING)[0].status == Status.excused
    shift_changes.mark_excused(fresh(db), shift.id, DAY, "陪家人看醫生", boss, EVENING)
    db.commit()
    shift_changes.mark_excused(fresh(db), shift.id, DAY, "陪家人看醫生", boss, EVENING)  # same: no entry
    db.commit()
    shift_changes.withdraw_excuse(fresh(db), shift.id, DAY, boss, EVENING)
    db.commit()
    [row] = att.roster(fresh(db), site.id, DAY, EVENING)
    assert row.status == Status.absent and row.mark is None
    [mark] = db.scalars(select(AttendanceMark)).all()  # one row, never deleted
    assert mark.status == MarkStatus.withdrawn and mark.reason == "陪家人看醫生"
    entries = audits(db)
    assert [e.action for e in entries] == ["shift_create", "attendance_excuse",
                                          "attendance_excuse", "attendance_withdraw"]
    first, second, third = entries[1:]
    assert first.before is None and first.after_data()["reason"] == "看醫生"
    assert second.before_data()["reason"] == "看醫生"
    assert second.after_data()["reason"] == "陪家人看醫生"
    assert third.before_data()["status"] == "excused"
    assert third.after_data()["status"] == "withdrawn"
    assert all(e.entity == "attendance_mark" and e.entity_id == mark.id for e in entries[1:])
    # and excused again after withdrawing
    shift_changes.mark_excused(fresh(db), shift.id, DAY, "補請假", boss, EVENING)
    db.commit()
    assert att.roster(fresh(db), site.id, DAY, EVENING)[0].status == Status.excused


def test_excuse_wins_over_late_and_can_be_set_ahead(db, make, unit, site, item, boss):
    vol = make.volunteer(unit)
    shift = schedule(db, boss, site, item, vol, DAY, "09:00", "10:00", "weekly")
    served(db, vol, site, item, tp(DAY, "09:40"), tp(DAY, "10:00"))
    shift_changes.mark_excused(fresh(db), shift.id, DAY, "公車誤點，已先告知", boss, EVENING)
    ahead = DAY + dt.timedelta(days=7)
    shift_changes.mark_excused(db, shift.id, ahead, "出國", boss, EVENING)
    db.commit()
    [row] = att.roster(fresh(db), site.id, DAY, EVENING)
    assert row.status == Status.excused and row.late_minutes == 40 and row.sessions
    assert att.roster(db, site.id, ahead, EVENING)[0].status == Status.excused


@pytest.mark.parametrize("day, reason, code", [
    (DAY + dt.timedelta(days=1), "生病", "not_scheduled"),
    (DAY, "   ", "reason_required"),
    (DAY, "很" * 301, "reason_too_long"),
])
def test_bad_excuses_change_nothing(db, make, unit, site, item, boss, day, reason, code):
    shift = schedule(db, boss, site, item, make.volunteer(unit), DAY, "09:00", "12:00")
    with pytest.raises(AttendanceRefused) as caught:
        shift_changes.mark_excused(fresh(db), shift.id, day, reason, boss, EVENING)
    db.rollback()
    assert caught.value.code == code
    assert counts_of(db, AttendanceMark) == 0 and len(audits(db)) == 1


def test_withdraw_without_an_excuse_is_refused(db, make, unit, site, item, boss):
    shift = schedule(db, boss, site, item, make.volunteer(unit), DAY, "09:00", "12:00")
    with pytest.raises(AttendanceRefused) as caught:
        shift_changes.withdraw_excuse(fresh(db), shift.id, DAY, boss, EVENING)
    assert caught.value.code == "not_excused"


def test_domain_refuses_a_supervisor_outside_their_sites(db, make, unit, site, item, boss):
    sup = make.user(unit, role="supervisor")
    vol = make.volunteer(unit)
    with pytest.raises(PermissionError):
        schedule(db, sup, site, item, vol, DAY, "09:00", "12:00")
    db.rollback()
    shift = schedule(db, boss, site, item, vol, DAY, "09:00", "12:00")
    with pytest.raises(PermissionError):
        shift_changes.mark_excused(fresh(db), shift.id, DAY, "生病", sup, EVENING)
    db.rollback()
    with pytest.raises(PermissionError):
        shift_changes.cancel_shift(fresh(db), shift.id, sup, EVENING)


# --- over HTTP ---------------------------------------------------------------------------------

@pytest.fixture
def assigned(db, supervisor, site):
    """The supervisor is assigned to `site` (not to `other_site`)."""
    fresh(db)
    db.add(SupervisorSite(user_id=supervisor.user.id, site_id=site.id))
    db.commit()
    return supervisor


@pytest.fixture
def http_day(db, make, unit, site, other_site, item, boss):
    """On DAY: 陳淑芬 absent at `site`, 林志明 present; 王大明 absent at `other_site`."""
    a = make.volunteer(unit, name_zh="陳淑芬")
    b = make.volunteer(unit, name_zh="林志明")
    c = make.volunteer(unit, name_zh="王大明")
    absent = schedule(db, boss, site, item, a, DAY, "09:00", "12:00")
    schedule(db, boss, site, item, b, DAY, "09:00", "12:00")
    served(db, b, site, item, tp(DAY, "09:00"), tp(DAY, "12:00"))
    elsewhere = schedule(db, boss, other_site, item, c, DAY, "09:00", "12:00")
    return {"absent": absent, "elsewhere": elsewhere, "a": a, "b": b, "c": c}


def excuse_url(shift, day=DAY):
    return f"/attendance/shifts/{shift.id}/days/{day.isoformat()}/excuse"


def every_url(site, shift):
    """(method, url, data) for every action of the blueprint, on this site / shift."""
    return [
        ("GET", "/attendance/", None),
        ("GET", f"/attendance/sites/{site.id}?on={DAY}", None),
        ("GET", f"/attendance/sites/{site.id}/month?month=2026-03", None),
        ("GET", f"/attendance/sites/{site.id}/shifts", None),
        ("GET", f"/attendance/sites/{site.id}/sheet.csv?on={DAY}", None),
        ("GET", f"/attendance/sites/{site.id}/sheet.xlsx?month=2026-03", None),
        ("GET", f"/attendance/sites/{site.id}/sheet.pdf?on={DAY}", None),
        ("GET", "/attendance/shifts/new", None),
        ("POST", "/attendance/shifts/new", None),
        ("GET", f"/attendance/shifts/{shift.id}/days/{DAY}", None),
        ("GET", excuse_url(shift), None),
        ("POST", excuse_url(shift), {"reason": "生病"}),
        ("POST", f"/attendance/shifts/{shift.id}/days/{DAY}/withdraw", {}),
        ("GET", f"/attendance/shifts/{shift.id}/cancel", None),
        ("POST", f"/attendance/shifts/{shift.id}/cancel", {}),
    ]


def call(person, method, url, data):
    if method == "GET":
        return person.get(url)
    return person.post(url, data)


def test_volunteers_get_403_everywhere(db, volunteer, site, http_day):
    for method, url, data in every_url(site, http_day["absent"]):
        assert call(volunteer, method, url, data).status_code == 403, (method, url)
    assert counts_of(db, AttendanceMark) == 0


def test_signed_out_people_are_sent_to_sign_in(anon, site, http_day):
    for method, url, _data in every_url(site, http_day["absent"]):
        if method == "GET":
            response = anon.get(url)
            assert response.status_code == 302 and "/sign-in" in response.headers["Location"]


def test_supervisor_outside_their_site_gets_403(db, assigned, other_site, item, http_day):
    shift = http_day["elsewhere"]
    for method, url, data in every_url(other_site, shift)[1:]:
        if url == "/attendance/shifts/new":
            continue  # the form itself is open; scheduling at other_site is refused below
        assert call(assigned, method, url, data).status_code == 403, (method, url)
    response = assigned.post("/attendance/shifts/new", {
        "site_id": other_site.id, "volunteer_id": http_day["c"].id, "service_item_id": item.id,
        "repeat": "once", "starts_on": "2026-03-03", "start_time": "09:00", "end_time": "12:00"})
    assert response.status_code == 403
    assert counts_of(db, Shift) == 3 and counts_of(db, AttendanceMark) == 0
    assert len(audits(db, "shift_create")) == 3  # those of the fixture


def test_supervisor_sees_only_their_sites(assigned, site, other_site, http_day):
    page = assigned.get("/attendance/").get_data(as_text=True)
    assert "大安長照服務中心" in page and "萬華社區關懷據點" not in page
    page = assigned.get(f"/attendance/sites/{site.id}?on={DAY}").get_data(as_text=True)
    assert "陳淑芬" in page and "林志明" in page and "王大明" not in page
    assert "缺席" in page and "出席" in page
    form = assigned.get("/attendance/shifts/new").get_data(as_text=True)
    sites = re.search(r'<select[^>]*name="site_id".*?</select>', form, re.S).group(0)
    assert "大安長照服務中心" in sites and "萬華社區關懷據點" not in sites


def test_admin_sees_every_site(admin, site, other_site, http_day):
    page = admin.get("/attendance/").get_data(as_text=True)
    assert "大安長照服務中心" in page and "萬華社區關懷據點" in page
    for s in (site, other_site):
        assert admin.get(f"/attendance/sites/{s.id}?on={DAY}").status_code == 200
        assert admin.get(f"/attendance/sites/{s.id}/shifts").status_code == 200
        assert admin.get(f"/attendance/sites/{s.id}/month?month=2026-03").status_code == 200


def test_other_units_things_are_404(admin, make, item):
    foreign_unit = make.unit()
    foreign = make.site(foreign_unit)
    assert admin.get(f"/attendance/sites/{foreign.id}").status_code == 404
    assert admin.get("/attendance/shifts/999999/days/2026-03-02/excuse").status_code == 404
    assert admin.get("/attendance/sites/999999/sheet.csv").status_code == 404


def test_excuse_in_place_with_htmx_then_re_mark_and_withdraw(db, assigned, site, http_day):
    shift = http_day["absent"]
    key = f"shift-{shift.id}-{DAY}"
    form = assigned.get(excuse_url(shift), headers={"HX-Request": "true"})
    assert form.status_code == 200
    html = form.get_data(as_text=True)
    assert html.lstrip().startswith(f'<tr id="{key}"') and 'name="reason"' in html
    assert "<html" not in html
    response = assigned.post(excuse_url(shift), {"reason": "感冒請假"}, hx=True)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert html.lstrip().startswith(f'<tr id="{key}"')
    assert "請假" in html and "感冒請假" in html and "撤回請假" in html
    assert 'id="roster-counts" hx-swap-oob="true"' in html  # the day's counts follow along
    [entry] = audits(db, "attendance_excuse")
    assert entry.actor_user_id == assigned.user.id and entry.before is None
    assert entry.after_data() == {"shift_id": shift.id, "volunteer_id": http_day["a"].id,
                                  "site_id": site.id, "day": "2026-03-02", "status": "excused",
                                  "reason": "感冒請假"}
    # re-mark: the form comes back filled in; the new reason replaces the old one
    assert "感冒請假" in assigned.get(excuse_url(shift), headers={"HX-Request": "true"}).get_data(
        as_text=True)
    html = assigned.post(excuse_url(shift), {"reason": "家人住院"}, hx=True).get_data(as_text=True)
    assert "家人住院" in html and "感冒請假" not in html
    entries = audits(db, "attendance_excuse")
    assert [e.after_data()["reason"] for e in entries] == ["感冒請假", "家人住院"]
    assert entries[1].before_data()["reason"] == "感冒請假"
    # withdraw: back to absent
    response = assigned.post(f"/attendance/shifts/{shift.id}/days/{DAY}/withdraw", {}, hx=True)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "缺席" in html and "家人住院" not in html
    [entry] = audits(db, "attendance_withdraw")
    assert entry.before_data()["status"] == "excused" and entry.after_data()["status"] == "withdrawn"
    [mark] = fresh(db).scalars(select(AttendanceMark)).all()
    assert mark.status == MarkStatus.withdrawn
    # withdrawing again: refused in the row, nothing changes
    response = assigned.post(f"/attendance/shifts/{shift.id}/days/{DAY}/withdraw", {}, hx=True)
    assert response.status_code == 400 and "沒有請假" in response.get_data(as_text=True)
    assert len(audits(db, "attendance_withdraw")) == 1


def test_excuse_without_htmx_redirects_to_the_day(db, admin, site, http_day):
    shift = http_day["absent"]
    page = admin.get(excuse_url(shift))
    assert page.status_code == 200 and "<html" in page.get_data(as_text=True)
    response = admin.post(excuse_url(shift), {"reason": "出差"})
    assert response.status_code == 302
    assert response.headers["Location"] == f"/attendance/sites/{site.id}?on={DAY}#roster"
    page = admin.get(f"/attendance/sites/{site.id}?on={DAY}").get_data(as_text=True)
    assert "出差" in page and "陳淑芬" in page


@pytest.mark.parametrize("reason, message", [("", "請輸入原因"), ("很" * 301, "最多 300 個字元")])
def test_bad_excuse_is_400_with_a_message_and_changes_nothing(db, admin, http_day, reason, message):
    response = admin.post(excuse_url(http_day["absent"]), {"reason": reason}, hx=True)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert message in html and 'name="reason"' in html
    assert counts_of(db, AttendanceMark) == 0 and audits(db, "attendance_excuse") == []


def test_excuse_on_a_day_without_the_shift_is_404(db, admin, http_day):
    response = admin.post(excuse_url(http_day["absent"], DAY + dt.timedelta(days=1)),
                          {"reason": "生病"}, hx=True)
    assert response.status_code == 404
    assert admin.post(f"/attendance/shifts/{http_day['absent'].id}/days/not-a-day/excuse",
                      {"reason": "生病"}).status_code == 404
    assert counts_of(db, AttendanceMark) == 0


def test_roster_day_by_htmx_and_bad_day(admin, site, http_day):
    response = admin.get(f"/attendance/sites/{site.id}?on={DAY}",
                         headers={"HX-Request": "true", "HX-Target": "roster"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and html.lstrip().startswith('<section class="card" id="roster"')
    response = admin.get(f"/attendance/sites/{site.id}?on=2026-02-30")
    assert response.status_code == 400 and "請輸入像 2026-01-31 這樣的日期" in response.get_data(as_text=True)


def test_roster_in_english_on_request(admin, site, http_day):
    admin.post("/language", {"lang": "en", "next": "/"})
    page = admin.get(f"/attendance/sites/{site.id}?on={DAY}").get_data(as_text=True)
    assert "Absent" in page and "Present" in page and "Mark excused" in page


# --- scheduling over HTTP ----------------------------------------------------------------------

def shift_form(site, vol, item, **overrides):
    data = {"site_id": site.id, "volunteer_id": vol.id, "service_item_id": item.id,
            "repeat": "weekly", "starts_on": "2026-12-07", "ends_on": "2027-01-25",
            "start_time": "09:00", "end_time": "12:00"}
    data.update(overrides)
    return data


def test_schedule_a_weekly_shift_over_http(db, assigned, make, unit, site, item):
    vol = make.volunteer(unit, name_zh="黃雅婷")
    response = assigned.post("/attendance/shifts/new", shift_form(site, vol, item))
    assert response.status_code == 302
    assert response.headers["Location"] == f"/attendance/sites/{site.id}/shifts"
    [shift] = fresh(db).scalars(select(Shift)).all()
    assert (shift.repeat, shift.starts_on, shift.ends_on, shift.start_time, shift.end_time) == (
        Repeat.weekly, dt.date(2026, 12, 7), dt.date(2027, 1, 25), t("09:00"), t("12:00"))
    assert shift.created_by_id == assigned.user.id
    [entry] = audits(db, "shift_create")
    assert entry.actor_user_id == assigned.user.id
    page = assigned.get(f"/attendance/sites/{site.id}/shifts").get_data(as_text=True)
    assert "黃雅婷" in page and "每星期一 09:00–12:00，2026-12-07 至 2027-01-25" in page


@pytest.mark.parametrize("overrides, message", [
    ({"end_time": "08:30"}, "結束時間必須晚於開始時間"),
    ({"volunteer_id": "999999"}, "請從名單中選擇志工"),
    ({"volunteer_id": ""}, "這一欄必填"),
    ({"site_id": "999999"}, "請從名單中選擇服務地點"),
    ({"service_item_id": "999999"}, "請從名單中選擇服務項目"),
    ({"ends_on": "2026-11-30"}, "最後一天不能早於第一天"),
    ({"repeat": "daily"}, "請從選項中選擇"),
    ({"start_time": "9 點"}, "請輸入像 09:30 這樣的時間"),
    ({"starts_on": ""}, "請輸入日期"),
])
def test_bad_shift_form_is_400_with_a_message(db, admin, make, unit, site, item, overrides, message):
    vol = make.volunteer(unit)
    response = admin.post("/attendance/shifts/new", shift_form(site, vol, item, **overrides))
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert counts_of(db, Shift) == 0 and audits(db, "shift_create") == []


def test_overlapping_shift_is_refused_with_the_other_shift(db, admin, make, unit, site, item):
    vol = make.volunteer(unit, name_zh="張家豪")
    assert admin.post("/attendance/shifts/new", shift_form(site, vol, item)).status_code == 302
    response = admin.post("/attendance/shifts/new", shift_form(
        site, vol, item, repeat="once", starts_on="2026-12-21", start_time="11:00",
        end_time="13:00"))
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "張家豪 在這段時間已有班" in html and "星期一" in html
    assert counts_of(db, Shift) == 1


def test_cancel_over_http(db, admin, make, unit, site, item, boss):
    vol = make.volunteer(unit)
    future = taipei_date(utcnow()) + dt.timedelta(days=3)
    shift = schedule(db, boss, site, item, vol, future, "09:00", "12:00", now=utcnow())
    past = schedule(db, boss, site, item, vol, DAY, "09:00", "12:00", now=utcnow())
    assert "取消班表" in admin.get(f"/attendance/shifts/{shift.id}/cancel").get_data(as_text=True)
    response = admin.post(f"/attendance/shifts/{shift.id}/cancel", {})
    assert response.status_code == 302
    assert fresh(db).get(Shift, shift.id).cancelled_at is not None
    response = admin.post(f"/attendance/shifts/{past.id}/cancel", {})
    assert response.status_code == 400 and "已經開始" in response.get_data(as_text=True)
    assert fresh(db).get(Shift, past.id).cancelled_at is None
    assert len(audits(db, "shift_cancel")) == 1
    page = admin.get(f"/attendance/sites/{site.id}/shifts").get_data(as_text=True)
    assert "已取消" in page  # kept in the list, never deleted


# --- sheets ------------------------------------------------------------------------------------

@pytest.fixture
def sheet_day(db, make, unit, site, item, boss):
    """A day with a present, a late, an excused and a nasty name."""
    names = ["林志明", "=HYPERLINK(\"http://x\")", "@SUM(1)", "-2+3", "陳淑芬"]
    vols = [make.volunteer(unit, name_zh=n) for n in names]
    shifts = [schedule(db, boss, site, item, v, DAY, "09:00", "12:00") for v in vols]
    served(db, vols[0], site, item, tp(DAY, "08:58"), tp(DAY, "12:01"))
    served(db, vols[1], site, item, tp(DAY, "09:25"), tp(DAY, "12:00"))
    shift_changes.mark_excused(fresh(db), shifts[4].id, DAY, "+886 打電話請假", boss, EVENING)
    db.commit()
    return vols


def test_csv_sheet_for_excel(admin, site, sheet_day):
    response = admin.get(f"/attendance/sites/{site.id}/sheet.csv?on={DAY}")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    body = response.get_data()
    assert body.startswith(b"\xef\xbb\xbf")  # utf-8-sig for Excel
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows[0] == ["日期", "志工編號", "姓名", "服務項目", "班表", "簽到", "簽退", "狀態",
                       "遲到（分）", "早退（分）", "備註"]
    by = {r[2]: r for r in rows[1:]}
    assert by["林志明"][4:8] == ["09:00–12:00", "08:58", "12:01", "出席"]
    late = by["'=HYPERLINK(\"http://x\")"]  # neutralised
    assert late[7] == "遲到" and late[8] == "25"
    assert "'@SUM(1)" in by and "'-2+3" in by
    assert by["陳淑芬"][7] == "請假" and by["陳淑芬"][10] == "請假原因：+886 打電話請假"
    assert all(not cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)
    assert {r[0] for r in rows[1:]} == {"2026-03-02"}


def test_xlsx_sheet_keeps_text_as_text(admin, site, sheet_day):
    response = admin.get(f"/attendance/sites/{site.id}/sheet.xlsx?month=2026-03")
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.get_data()))
    detail, summary = book.worksheets
    header = [c.value for c in detail[1]]
    assert header[:3] == ["日期", "志工編號", "姓名"]
    cells = {row[2].value: row for row in detail.iter_rows(min_row=2)}
    nasty = cells['=HYPERLINK("http://x")']
    assert nasty[2].data_type == "s" and nasty[8].value == 25
    assert cells["林志明"][0].value.date() == DAY
    assert not any(c.data_type == "f" for row in detail.iter_rows() for c in row)
    tallies = {row[1].value: [c.value for c in row] for row in summary.iter_rows(min_row=2)}
    assert tallies["林志明"][2] == 1  # scheduled once this month


def test_pdf_sheets_day_and_month(admin, site, sheet_day):
    day = admin.get(f"/attendance/sites/{site.id}/sheet.pdf?on={DAY}")
    assert day.status_code == 200 and day.mimetype == "application/pdf"
    body = day.get_data()
    assert body.startswith(b"%PDF-") and b"/FontFile" in body  # the CJK font, embedded
    assert len(re.findall(rb"/Type\s*/Page\b", body)) == 1
    month = admin.get(f"/attendance/sites/{site.id}/sheet.pdf?month=2026-03").get_data()
    assert month.startswith(b"%PDF-")


def test_month_page_and_bad_month(admin, site, sheet_day):
    page = admin.get(f"/attendance/sites/{site.id}/month?month=2026-03").get_data(as_text=True)
    assert "03-02" in page and "林志明" in page and "03-31" in page
    assert admin.get(f"/attendance/sites/{site.id}/month?month=2026-13").status_code == 400
    response = admin.get(f"/attendance/sites/{site.id}/sheet.csv?month=2026-13")
    assert response.status_code == 400 and "2026-01" in response.get_data(as_text=True)
    assert admin.get(f"/attendance/sites/{site.id}/sheet.doc?on={DAY}").status_code == 404


def test_posts_without_the_csrf_token_are_refused(db, admin, site, item, http_day):
    shift = http_day["absent"]
    response = admin.client.post(excuse_url(shift), data={"reason": "生病"},
                                 headers={"HX-Request": "true"})
    assert response.status_code == 400
    response = admin.client.post("/attendance/shifts/new", data=shift_form(site, http_day["a"], item))
    assert response.status_code == 400
    response = admin.client.post(f"/attendance/shifts/{shift.id}/cancel")
    assert response.status_code == 400
    assert counts_of(db, AttendanceMark) == 0 and counts_of(db, Shift) == 3
    assert fresh(db).get(Shift, shift.id).cancelled_at is None


def test_attendance_of_a_unit_without_sites_tells_each_role_what_to_do(admin, supervisor):
    """A new unit's admin was told to ask the unit admin, i.e. themselves, to assign sites."""
    page = admin.get("/attendance/").get_data(as_text=True)
    assert "請洽承辦人" not in page
    assert "單位還沒有服務地點" in page and 'href="/admin/sites/new"' in page
    page = supervisor.get("/attendance/").get_data(as_text=True)
    assert "請洽承辦人設定" in page and 'href="/admin/sites/new"' not in page


def test_english_pdf_sheet_breaks_lines_between_words(db, admin, unit, site, item, sheet_day, tmp_path):
    """English cells wrap at spaces ("Companionship for | elders"), never inside a word
    ("elde|rs", "Check-o|ut"), and name the unit in English."""
    import shutil
    import subprocess

    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext missing: ./dev setup installs poppler-utils")
    item.name_en = "Companionship for elders"
    unit.name_en = "Warm Sun Foundation"
    db.commit()
    admin.post("/language", {"lang": "en", "next": "/"})
    path = tmp_path / "sheet.pdf"
    path.write_bytes(admin.get(f"/attendance/sites/{site.id}/sheet.pdf?month=2026-03").get_data())
    words = subprocess.run(["pdftotext", str(path), "-"], check=True, capture_output=True,
                           text=True).stdout.split()
    for word in ("elders", "Check-out", "(min)", "Warm"):
        assert word in words, f"{word!r} broken across lines: {words[:80]}"
