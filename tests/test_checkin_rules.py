"""The check-in rules, called directly with a controlled clock (no HTTP)."""
import datetime as dt

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from models.audit import AuditEntry
from models.base import TAIPEI
from models.checkin import (DOUBLE_TAP, Action, CheckinEvent, Outcome, after_check_out, check_in,
                            check_out, checks_position, close_stale, offline_event_time, open_session)
from models.people import VolunteerStatus
from models.service import Flag, ServiceSession, SessionSource, SessionStatus

NOW = dt.datetime(2026, 11, 27, 2, 0, tzinfo=dt.timezone.utc)  # 10:00 in Taipei
POSTER = SessionSource.poster


@pytest.fixture
def world(make, unit):
    site = make.site(unit)
    item = make.item(unit)
    vol = make.volunteer(unit)
    make.cover(vol, starts_on=dt.date(2026, 1, 1), ends_on=dt.date(2026, 12, 31))
    return site, item, vol


def _in(db, vol, site, item, now=NOW, **kw):
    result = check_in(db, volunteer=vol, site=site, item=item, now=now, source=POSTER, **kw)
    db.commit()
    return result


def _out(db, vol, now, **kw):
    result = check_out(db, volunteer=vol, now=now, source=POSTER, **kw)
    db.commit()
    return result


def test_check_in_then_out_records_server_times(db, world):
    site, item, vol = world
    result = _in(db, vol, site, item)
    assert result.outcome == Outcome.ok and result.session.status == SessionStatus.open
    assert result.session.checked_in_at == NOW
    out = _out(db, vol, NOW + dt.timedelta(minutes=95))
    assert out.outcome == Outcome.ok
    s = out.session
    assert s.status == SessionStatus.closed and s.elapsed_minutes(NOW) == 95
    assert s.credited_minutes == 0  # nothing counts until a supervisor verifies it
    actions = db.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert actions == ["check_in", "check_out"]


def test_double_tap_check_in_is_idempotent(db, world):
    site, item, vol = world
    first = _in(db, vol, site, item)
    second = _in(db, vol, site, item, now=NOW + dt.timedelta(seconds=1))
    assert second.outcome == Outcome.repeated and second.session.id == first.session.id
    assert db.scalar(select(func.count(ServiceSession.id))) == 1


def test_same_idempotency_key_returns_first_outcome(db, world):
    site, item, vol = world
    first = _in(db, vol, site, item, key="k-1")
    _out(db, vol, NOW + dt.timedelta(minutes=30))
    retry = _in(db, vol, site, item, key="k-1", now=NOW + dt.timedelta(minutes=31))
    assert retry.outcome == Outcome.repeated and retry.session.id == first.session.id
    assert db.scalar(select(func.count(ServiceSession.id))) == 1


def test_another_volunteers_key_is_neither_their_answer_nor_a_reason_to_drop_the_check_in(db, make, world):
    """A key is the client's to make: sent again by another volunteer (of another unit here), it
    answered with the first volunteer's session and recorded nothing for the second."""
    site, item, vol = world
    first = _in(db, vol, site, item, key="k-shared")
    other_unit = make.unit()
    stranger, their_site, their_item = make.volunteer(other_unit), make.site(other_unit), make.item(other_unit)
    make.cover(stranger, starts_on=dt.date(2026, 1, 1), ends_on=dt.date(2026, 12, 31))
    theirs = _in(db, stranger, their_site, their_item, key="k-shared", now=NOW + dt.timedelta(minutes=1))
    assert theirs.outcome == Outcome.ok and theirs.session.id != first.session.id
    assert theirs.session.volunteer_id == stranger.id and theirs.session.site_id == their_site.id
    out = _out(db, stranger, NOW + dt.timedelta(minutes=30), key="k-shared")  # and a check-out
    assert out.outcome == Outcome.ok and out.session.id == theirs.session.id
    assert open_session(db, vol.id).id == first.session.id  # the first volunteer's is untouched
    retry = _in(db, vol, site, item, key="k-shared", now=NOW + dt.timedelta(minutes=31))
    assert retry.outcome == Outcome.repeated and retry.session.id == first.session.id


def test_double_tap_check_out_changes_nothing(db, world):
    site, item, vol = world
    _in(db, vol, site, item)
    first = _out(db, vol, NOW + dt.timedelta(minutes=60))
    second = _out(db, vol, NOW + dt.timedelta(minutes=61))
    assert second.outcome == Outcome.repeated
    assert second.session.checked_out_at == first.session.checked_out_at


def test_a_check_in_from_a_check_outs_answer_within_seconds_is_its_double_tap(db, make, unit, world):
    """A double tap on "Check out": the second tap lands on a button of the answer. A check-in
    posted from that answer (its key: after_check_out) less than DOUBLE_TAP after the check-out
    changes nothing and answers with the check-out; a moment later it is a check-in."""
    site, item, vol = world
    _in(db, vol, site, item, key="in-1")
    out_at = NOW + dt.timedelta(minutes=7)
    out = _out(db, vol, out_at, key="out-1")
    tap = _in(db, vol, site, item, now=out_at + dt.timedelta(milliseconds=400), key=after_check_out("out-1"))
    assert tap.action == Action.check_out and tap.outcome == Outcome.repeated
    assert tap.session.id == out.session.id and tap.session.checked_out_at == out_at
    assert open_session(db, vol.id) is None and db.scalar(select(func.count(ServiceSession.id))) == 1
    assert db.scalar(select(func.count(CheckinEvent.id))) == 2  # nothing logged for the tap
    # the tap did not spend its key: the same button, tapped on purpose a little later, checks in
    later = _in(db, vol, site, item, now=out_at + DOUBLE_TAP, key=after_check_out("out-1"))
    assert later.action == Action.check_in and later.outcome == Outcome.ok
    assert later.session.checked_in_at == out_at + DOUBLE_TAP


def test_a_check_in_from_a_page_loaded_since_is_never_taken_for_a_double_tap(db, make, unit, world):
    """Only the check-out's own answer: a form loaded afresh (its own key), or the answer to
    someone else's check-out, checks in however soon after."""
    site, item, vol = world
    other = make.volunteer(unit)
    make.cover(other, starts_on=dt.date(2026, 1, 1), ends_on=dt.date(2026, 12, 31))
    _in(db, vol, site, item)
    _in(db, other, site, item)
    out_at = NOW + dt.timedelta(minutes=30)
    _out(db, vol, out_at, key="out-1")
    _out(db, other, out_at, key="out-2")
    fresh = _in(db, vol, site, item, now=out_at + dt.timedelta(seconds=1), key="fresh-page")
    assert fresh.action == Action.check_in and fresh.outcome == Outcome.ok
    not_theirs = _in(db, other, site, item, now=out_at + dt.timedelta(seconds=1), key=after_check_out("out-1"))
    assert not_theirs.action == Action.check_in and not_theirs.outcome == Outcome.ok


def test_check_out_without_session_is_refused(db, world):
    site, item, vol = world
    result = _out(db, vol, NOW)
    assert result.outcome == Outcome.refused and result.refusal.code == "not_checked_in"


def test_open_elsewhere_is_refused_with_the_other_session(db, make, unit, world):
    site, item, vol = world
    other_site = make.site(unit, name_zh="萬華據點")
    first = _in(db, vol, site, item)
    result = _in(db, vol, other_site, item, now=NOW + dt.timedelta(minutes=5))
    assert result.outcome == Outcome.refused and result.refusal.code == "open_elsewhere"
    assert result.other_session.id == first.session.id
    assert result.refusal.params["site"] == site.name_zh


@pytest.mark.parametrize("change,code", [
    ("inactive", "inactive"),
    ("no_cover", "no_insurance"),
    ("expired_cover", "no_insurance"),
    ("site_inactive", "site_inactive"),
    ("item_inactive", "not_service_item"),
    ("no_item", "not_service_item"),
    ("other_unit_item", "not_service_item"),
])
def test_gates_refuse_and_are_logged(db, make, unit, change, code):
    site, item = make.site(unit), make.item(unit)
    vol = make.volunteer(unit)
    if change != "no_cover":
        ends = dt.date(2026, 11, 26) if change == "expired_cover" else dt.date(2026, 12, 31)
        make.cover(vol, starts_on=dt.date(2026, 1, 1), ends_on=ends)
    if change == "inactive":
        vol.status = VolunteerStatus.inactive
    if change == "site_inactive":
        site.active = False
    if change == "item_inactive":
        item.active = False
    if change == "no_item":
        item = None
    if change == "other_unit_item":
        item = make.item(make.unit())
    db.commit()
    result = _in(db, vol, site, item)
    assert result.outcome == Outcome.refused and result.refusal.code == code
    assert open_session(db, vol.id) is None
    event = db.scalar(select(CheckinEvent))
    assert event.outcome == Outcome.refused and event.refusal_code == code
    assert db.scalar(select(AuditEntry.action)) == "checkin_refused"


def test_insurance_is_judged_by_the_taipei_calendar_day(db, make, unit):
    site, item, vol = make.site(unit), make.item(unit), make.volunteer(unit)
    make.cover(vol, starts_on=dt.date(2026, 11, 28), ends_on=dt.date(2026, 12, 31))
    # 2026-11-27 16:30 UTC is already 11-28 00:30 in Taipei
    assert _in(db, vol, site, item, now=dt.datetime(2026, 11, 27, 16, 30, tzinfo=dt.timezone.utc)).ok
    vol2 = make.volunteer(unit)
    make.cover(vol2, starts_on=dt.date(2026, 11, 28), ends_on=dt.date(2026, 12, 31))
    late = _in(db, vol2, site, item, now=dt.datetime(2026, 11, 27, 15, 30, tzinfo=dt.timezone.utc))
    assert late.refusal.code == "no_insurance"


def test_presence_check(db, make, unit):
    site = make.site(unit, latitude=25.0263, longitude=121.5436, radius_m=200)
    item = make.item(unit)
    vols = [make.volunteer(unit) for _ in range(3)]
    for v in vols:
        make.cover(v, starts_on=dt.date(2026, 1, 1), ends_on=dt.date(2026, 12, 31))
    near = _in(db, vols[0], site, item, position=(25.0270, 121.5440, 20))
    assert near.outcome == Outcome.ok and near.session.flags == ""
    far = _in(db, vols[1], site, item, position=(25.0478, 121.5170, 15))  # Taipei Main Station
    assert far.refusal.code == "outside_radius" and far.refusal.params["distance"] > 3000
    unknown = _in(db, vols[2], site, item, position=None)
    assert unknown.outcome == Outcome.ok and Flag.position_unavailable.value in unknown.session.flag_set


def test_the_kiosks_rotating_qr_proves_presence_without_the_phones_position(db, make, unit):
    """Scanned at the reception tablet (valid 90 s): the phone's position is not asked for,
    and a wrong one (indoors, GPS kilometres off) neither refuses nor flags the session."""
    site = make.site(unit, latitude=25.0263, longitude=121.5436, radius_m=200)
    item = make.item(unit)
    vols = [make.volunteer(unit) for _ in range(2)]
    for v in vols:
        make.cover(v, starts_on=dt.date(2026, 1, 1), ends_on=dt.date(2026, 12, 31))
    assert checks_position(site, SessionSource.poster) and not checks_position(site, SessionSource.kiosk_qr)
    far = check_in(db, volunteer=vols[0], site=site, item=item, now=NOW, source=SessionSource.kiosk_qr,
                   position=(25.0478, 121.5170, 15))  # Taipei Main Station
    unknown = check_in(db, volunteer=vols[1], site=site, item=item, now=NOW, source=SessionSource.kiosk_qr)
    db.commit()
    assert far.outcome == Outcome.ok and far.session.flags == ""
    assert unknown.outcome == Outcome.ok and unknown.session.flags == ""


def test_short_and_long_sessions_are_flagged(db, make, unit, world):
    site, item, vol = world
    _in(db, vol, site, item)
    assert Flag.short.value in _out(db, vol, NOW + dt.timedelta(seconds=40)).session.flag_set
    _in(db, vol, site, item, now=NOW + dt.timedelta(minutes=10))
    site.max_session_minutes = 60
    db.commit()
    assert Flag.long.value in _out(db, vol, NOW + dt.timedelta(minutes=75)).session.flag_set


def test_close_stale_at_site_limit_and_at_taipei_midnight(db, make, unit):
    item = make.item(unit)
    short_site = make.site(unit, max_session_minutes=120)
    long_site = make.site(unit)  # 12 h default
    a, b, c = (make.volunteer(unit) for _ in range(3))
    for v in (a, b, c):
        make.cover(v, starts_on=dt.date(2026, 1, 1), ends_on=dt.date(2026, 12, 31))
    morning = dt.datetime(2026, 11, 27, 9, 0, tzinfo=TAIPEI).astimezone(dt.timezone.utc)
    evening = dt.datetime(2026, 11, 27, 20, 0, tzinfo=TAIPEI).astimezone(dt.timezone.utc)
    _in(db, a, short_site, item, now=morning)
    _in(db, b, long_site, item, now=evening)
    _in(db, c, long_site, item, now=morning)
    at = dt.datetime(2026, 11, 27, 11, 30, tzinfo=TAIPEI).astimezone(dt.timezone.utc)
    closed = close_stale(db, at)
    db.commit()
    assert [s.volunteer_id for s in closed] == [a.id]
    s = closed[0]
    assert s.status == SessionStatus.needs_review and s.credited_minutes == 0
    assert s.checked_out_at == morning + dt.timedelta(minutes=120)
    assert Flag.auto_closed.value in s.flag_set
    after_midnight = dt.datetime(2026, 11, 28, 0, 5, tzinfo=TAIPEI).astimezone(dt.timezone.utc)
    closed = {s.volunteer_id: s for s in close_stale(db, after_midnight)}
    db.commit()
    assert set(closed) == {b.id, c.id}
    midnight = dt.datetime(2026, 11, 28, 0, 0, tzinfo=TAIPEI).astimezone(dt.timezone.utc)
    assert closed[b.id].checked_out_at == midnight  # 20:00 + 12 h would be 08:00 next day
    assert closed[c.id].checked_out_at == morning + dt.timedelta(hours=12)
    assert close_stale(db, after_midnight + dt.timedelta(hours=1)) == []


def test_offline_time_is_corrected_by_device_skew_within_tolerance():
    now = NOW
    # device clock 10 minutes slow: event "09:40" on its clock, sent at "09:50" on its clock
    device_sent = now - dt.timedelta(minutes=10)
    when, trusted = offline_event_time(now - dt.timedelta(minutes=20), device_sent, now)
    assert trusted and when == now - dt.timedelta(minutes=10)
    # an event claiming two days ago is not trusted: the server's time is used
    when, trusted = offline_event_time(now - dt.timedelta(days=2), now, now)
    assert not trusted and when == now
    # an event in the future (after correction) is not trusted
    when, trusted = offline_event_time(now + dt.timedelta(minutes=30), now, now)
    assert not trusted and when == now


def test_database_allows_only_one_open_session_per_volunteer(db, world):
    site, item, vol = world
    _in(db, vol, site, item)
    db.add(ServiceSession(unit_id=site.unit_id, volunteer_id=vol.id, site_id=site.id,
                          service_item_id=item.id, checked_in_at=NOW, source=POSTER))
    with pytest.raises(IntegrityError):
        db.commit()
    db.rollback()


def test_audit_log_is_append_only(db, world):
    site, item, vol = world
    _in(db, vol, site, item)
    entry = db.scalar(select(AuditEntry))
    entry.action = "tampered"
    with pytest.raises(RuntimeError):
        db.commit()
    db.rollback()


def test_refusal_does_not_spend_the_idempotency_key(db, make, unit):
    site, item, vol = make.site(unit), make.item(unit), make.volunteer(unit)
    refused = _in(db, vol, site, item, key="retry-me")
    assert refused.refusal.code == "no_insurance"
    make.cover(vol, starts_on=dt.date(2026, 1, 1), ends_on=dt.date(2026, 12, 31))  # the admin fixes it
    retried = _in(db, vol, site, item, key="retry-me", now=NOW + dt.timedelta(minutes=2))
    assert retried.outcome == Outcome.ok


def test_empty_training_catalogue_is_named_as_such(db, make):
    from models.unit import Category

    bare = make.unit(category=Category.social_welfare)
    site, item = make.site(bare), make.item(bare)
    vol = make.volunteer(bare, trained=False)
    make.cover(vol, starts_on=dt.date(2026, 1, 1), ends_on=dt.date(2026, 12, 31))
    result = _in(db, vol, site, item)
    assert result.refusal.code == "no_catalogue"


def test_a_check_out_never_overwrites_a_change_made_since_the_session_was_read(app, db, world):
    """The check-out writes with one UPDATE of its own (models.base.update_now): it still checks
    the row's version, so a supervisor's edit in between is not silently lost."""
    from sqlalchemy.orm.exc import StaleDataError

    site, item, vol = world
    opened = _in(db, vol, site, item).session
    assert open_session(db, vol.id) is opened  # this request has read the open session
    other = app.extensions["hourbook_db"]["sessionmaker"]()
    row = other.get(ServiceSession, opened.id)
    row.note = "corrected by the supervisor"
    other.commit()
    other.close()
    with pytest.raises(StaleDataError):
        check_out(db, volunteer=vol, now=NOW + dt.timedelta(minutes=30), source=POSTER)
    db.rollback()
    db.expire_all()
    fresh = db.get(ServiceSession, opened.id)
    assert fresh.note == "corrected by the supervisor" and fresh.checked_out_at is None
    out = _out(db, vol, NOW + dt.timedelta(minutes=31))  # read again: now it closes
    assert out.outcome == Outcome.ok and out.session.note == "corrected by the supervisor"
    assert db.scalar(select(func.count(CheckinEvent.id)).where(CheckinEvent.action == "check_out")) == 1


def test_a_late_offline_check_in_cannot_open_a_session_over_one_recorded_since(db, world):
    """Offline events carry the time they happened; arriving late, one may fall inside a
    session recorded meanwhile (adjust and paper sheets refuse such an overlap too)."""
    site, item, vol = world
    _in(db, vol, site, item)  # 10:00 Taipei, online
    _out(db, vol, NOW + dt.timedelta(hours=1))  # 11:00
    late = NOW + dt.timedelta(hours=2)
    inside = _in(db, vol, site, item, now=late, key="off-1",
                 device_time=NOW - dt.timedelta(minutes=30))  # 09:30: runs into 10:00-11:00
    assert inside.outcome == Outcome.refused and inside.refusal.code == "overlap"
    assert db.scalar(select(func.count(ServiceSession.id))) == 1
    logged = db.scalar(select(CheckinEvent).where(CheckinEvent.refusal_code == "overlap"))
    assert logged is not None and logged.refusal.message.startswith("This check-in time")
    after = _in(db, vol, site, item, now=late, key="off-2",
                device_time=NOW + dt.timedelta(minutes=90))  # 11:30: after it
    assert after.outcome == Outcome.ok and after.session.checked_in_at == NOW + dt.timedelta(minutes=90)
