"""What a supervisor sees of a session, from the hands-on review of 2026-12-06: a check-out made at
another site, the session's history in words, times with their seconds when minutes would
overstate, and a check-in without position right after a refusal as too far."""
import datetime as dt

import pytest
from sqlalchemy import select

from models.audit import AuditEntry
from models.checkin import Action, CheckinEvent, check_in, check_out
from models.service import Flag, ServiceSession, SessionSource, SessionStatus
from models import verification as v
from models.verification import SupervisorSite

NOW = dt.datetime(2026, 12, 5, 22, 57, 10, tzinfo=dt.timezone.utc)  # 06:57:10 on 12/06 in Taipei


@pytest.fixture
def world(make, unit, db, supervisor):
    daan = make.site(unit, name_zh="大安長照服務中心")
    wanhua = make.site(unit, name_zh="萬華社區關懷據點")
    item = make.item(unit, name_zh="長者陪伴關懷")
    vol = make.volunteer(unit, name_zh="張明德")
    make.cover(vol, starts_on=dt.date(2026, 1, 1), ends_on=dt.date(2026, 12, 31))
    for site in (daan, wanhua):
        db.add(SupervisorSite(user_id=supervisor.user.id, site_id=site.id))
    db.commit()
    return daan, wanhua, item, vol


def fresh(db, s):
    db.rollback()
    db.expire_all()
    return db.get(ServiceSession, s.id)


def _served_at_wanhua_out_at_daan(db, world):
    daan, wanhua, item, vol = world
    opened = check_in(db, volunteer=vol, site=wanhua, item=item, now=NOW,
                      source=SessionSource.kiosk_card)
    db.commit()
    out = check_out(db, volunteer=vol, now=NOW + dt.timedelta(minutes=91),
                    source=SessionSource.kiosk_card, site=daan)
    db.commit()
    assert out.session.id == opened.session.id
    return out.session


# --- 1. checked out at another site -------------------------------------------------------

def test_a_check_out_at_another_site_is_flagged_and_records_where(db, world, supervisor):
    daan, wanhua, item, vol = world
    s = _served_at_wanhua_out_at_daan(db, world)
    assert Flag.checked_out_elsewhere.value in s.flag_set
    event = db.scalar(select(CheckinEvent).where(CheckinEvent.action == Action.check_out))
    assert event.site_id == daan.id  # where it was done, not the session's site
    entry = db.scalar(select(AuditEntry).where(AuditEntry.action == "check_out"))
    assert entry.after_data()["checkout_site_id"] == daan.id
    # never approved in bulk: it needs a supervisor's look
    assert v.unflagged_count(db, supervisor.user, v.QueueFilter()) == 0
    assert v.bulk_approve(db, supervisor.user, v.QueueFilter(), NOW + dt.timedelta(hours=2)) == 0
    assert fresh(db, s).status == SessionStatus.closed


def test_a_check_out_at_the_same_site_is_not_flagged(db, world):
    daan, wanhua, item, vol = world
    check_in(db, volunteer=vol, site=wanhua, item=item, now=NOW, source=SessionSource.poster)
    out = check_out(db, volunteer=vol, now=NOW + dt.timedelta(minutes=60),
                    source=SessionSource.poster, site=wanhua)
    db.commit()
    assert out.session.flag_set == set()


def test_the_dashboard_shows_the_check_out_elsewhere(db, world, supervisor):
    s = _served_at_wanhua_out_at_daan(db, world)
    page = supervisor.get("/dashboard/").get_data(as_text=True)
    row = page[page.index(f'id="session-{s.id}"'):]
    row = row[:row.index("</tr>")]
    assert "在其他地點簽退" in row
    assert "在其他地點簽退</option>" in page  # and the flag filter offers it
    assert "有 0 筆無標記的紀錄可以一次核准" in page


# --- 2. the history in words ----------------------------------------------------------------

def test_the_history_names_the_volunteer_and_how_each_check_in_and_out_was_made(db, world, supervisor):
    daan, wanhua, item, vol = world
    s = _served_at_wanhua_out_at_daan(db, world)
    page = supervisor.get(f"/dashboard/sessions/{s.id}/history").get_data(as_text=True)
    history = page[page.index('<ol class="history">'):]
    assert f"volunteer:{vol.id}" not in history
    assert history.count('<span class="who">張明德</span>') == 2  # check-in and check-out
    assert history.count("· 簽到站掃描志工卡") == 2  # how: the kiosk took their card, both times
    assert "簽退地點" in history and "大安長照服務中心" in history  # where the check-out was made


def test_a_check_out_by_hand_reads_as_staff_on_behalf(db, world, supervisor):
    daan, wanhua, item, vol = world
    opened = check_in(db, volunteer=vol, site=daan, item=item, now=NOW, source=SessionSource.kiosk_keypad)
    db.commit()
    v.check_out_by_hand(db, opened.session.id, supervisor.user, NOW + dt.timedelta(minutes=60),
                        at=NOW + dt.timedelta(minutes=50), reason="忘記簽退")
    db.commit()
    lines = v.history_lines(db, opened.session)
    assert [(line.entry.action, line.who, line.how) for line in lines] == [
        ("check_in", "張明德", "kiosk_keypad"),
        ("manual_check_out", supervisor.user.name, v.STAFF)]
    page = supervisor.get(f"/dashboard/sessions/{opened.session.id}/history").get_data(as_text=True)
    assert "· 簽到站輸入志工編號" in page and "· 工作人員代為操作" in page


# --- 3. times that agree with the minutes counted -------------------------------------------

def _a_session(db, site, item, vol, start, end, status=SessionStatus.closed):
    s = ServiceSession(unit_id=site.unit_id, volunteer_id=vol.id, site_id=site.id,
                       service_item_id=item.id, checked_in_at=start, checked_out_at=end,
                       status=status, source=SessionSource.kiosk_card,
                       credited_minutes=s_minutes(start, end) if status == SessionStatus.verified else 0)
    db.add(s)
    db.commit()
    return s


def s_minutes(start, end):
    return int((end - start).total_seconds() // 60)


def _today_at(hh, mm, ss):
    from models.base import TAIPEI, taipei_date, utcnow
    return dt.datetime.combine(taipei_date(utcnow()) - dt.timedelta(days=1), dt.time(hh, mm, ss),
                               tzinfo=TAIPEI).astimezone(dt.timezone.utc)


def test_dashboard_rows_carry_seconds_exactly_when_minutes_would_overstate(db, world, supervisor):
    daan, wanhua, item, vol = world
    over = _a_session(db, daan, item, vol, _today_at(7, 57, 40), _today_at(8, 30, 10))  # 32 min
    fine = _a_session(db, daan, item, vol, _today_at(9, 0, 10), _today_at(9, 30, 40))  # 30 min
    page = supervisor.get("/dashboard/").get_data(as_text=True)
    row = page[page.index(f'id="session-{over.id}"'):]
    row = row[:row.index("</tr>")]
    assert "07:57:40–08:30:10" in row and "0 小時 32 分" in row
    row = page[page.index(f'id="session-{fine.id}"'):]
    row = row[:row.index("</tr>")]
    assert "09:00–09:30<" in row and "0 小時 30 分" in row


def test_the_hour_slip_prints_seconds_when_minutes_would_overstate(db, world, supervisor, tmp_path):
    import subprocess
    from models import slips
    from models.base import begin_write, utcnow

    daan, wanhua, item, vol = world
    _a_session(db, daan, item, vol, _today_at(7, 57, 40), _today_at(8, 30, 10), SessionStatus.verified)
    _a_session(db, daan, item, vol, _today_at(9, 0, 10), _today_at(9, 30, 40), SessionStatus.verified)
    day = (_today_at(7, 57, 40) + dt.timedelta(hours=8)).date()
    db.rollback()
    begin_write(db)
    [slip] = slips.issue_slips(db, supervisor.user, utcnow(), date_from=day, date_to=day)
    db.commit()
    pdf = supervisor.get(f"/slips/print.pdf?ids={slip.id}")
    path = tmp_path / "slip.pdf"
    path.write_bytes(pdf.get_data())
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True,
                          capture_output=True, text=True).stdout
    assert "07:57:40–08:30:10" in text and "09:00–09:30" in text, text
    detail = supervisor.get(f"/slips/{slip.id}").get_data(as_text=True)
    assert "07:57:40–08:30:10" in detail and "09:00–09:30<" in detail


# --- 5. one word for a status; lists joined as the language joins them ----------------------

def test_the_status_filter_words_a_verified_session_as_its_rows_do(db, world, supervisor):
    page = supervisor.get("/dashboard/").get_data(as_text=True)
    select_ = page[page.index('id="f-status"'):page.index("</select>", page.index('id="f-status"'))]
    assert ">已審核</option>" in select_ and ">已退回</option>" in select_ and "已核准" not in select_
    english = supervisor.get("/dashboard/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    select_ = english[english.index('id="f-status"'):english.index("</select>", english.index('id="f-status"'))]
    assert ">Verified</option>" in select_ and ">Rejected</option>" in select_


def test_the_refusal_log_joins_the_ways_tried_with_an_enumeration_comma(db, world, supervisor):
    from models.base import utcnow
    from models.checkin import Outcome
    daan, wanhua, item, vol = world
    for source in (SessionSource.kiosk_card, SessionSource.kiosk_keypad):
        db.add(CheckinEvent(unit_id=daan.unit_id, at=utcnow(), volunteer_id=vol.id, site_id=daan.id,
                            action=Action.check_in, source=source, outcome=Outcome.refused,
                            refusal_code="no_insurance"))
    db.commit()
    page = supervisor.get("/dashboard/").get_data(as_text=True)
    assert "簽到站掃描志工卡、簽到站輸入志工編號" in page
    english = supervisor.get("/dashboard/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Kiosk, card, Kiosk, keypad" in english


# --- 4. refused as too far, then checked in without a position ------------------------------

@pytest.fixture
def fenced(world, db):
    daan, wanhua, item, vol = world
    daan.latitude, daan.longitude, daan.radius_m = 25.0330, 121.5430, 150
    db.commit()
    return daan, item, vol


FAR_AWAY = (25.0330, 121.5655, 10.0)  # about 2.3 km east


def test_a_check_in_without_position_after_a_too_far_refusal_is_flagged_with_the_distance(
        db, fenced, supervisor):
    from models.checkin import Outcome
    from models.refusal_log import refused_attempts
    from models.base import taipei_date
    daan, item, vol = fenced
    refused = check_in(db, volunteer=vol, site=daan, item=item, now=NOW, source=SessionSource.poster,
                       position=FAR_AWAY)
    db.commit()
    assert refused.outcome == Outcome.refused and refused.refusal.code == "outside_radius"
    [event] = db.scalars(select(CheckinEvent)).all()
    assert 2200 < event.distance_m < 2400
    accepted = check_in(db, volunteer=vol, site=daan, item=item, now=NOW + dt.timedelta(seconds=6),
                        source=SessionSource.poster, position=None)
    db.commit()
    s = accepted.session
    assert s.flag_set == {Flag.position_unavailable.value, Flag.refused_far_before.value}
    check_out(db, volunteer=vol, now=NOW + dt.timedelta(minutes=40), source=SessionSource.poster,
              site=daan)
    db.commit()
    [line] = refused_attempts(db, daan.unit_id, taipei_date(NOW))
    assert line.distance_m == event.distance_m
    page = supervisor.get(f"/dashboard/?from={taipei_date(NOW)}&to={taipei_date(NOW)}&refusals_day={taipei_date(NOW)}").get_data(as_text=True)
    row = page[page.index(f'id="session-{s.id}"'):]
    row = row[:row.index("</tr>")]
    # a distance of 1,000 m or more in kilometres, one decimal, kept on one line
    km = f'<span class="nowrap">{event.distance_m / 1000:.1f}\u00a0公里</span>'
    assert f"剛因距離太遠被拒：距離約 {km}" in row
    card = page[page.index('id="refusals"'):page.index("</section>", page.index('id="refusals"'))]
    assert f"離服務地點太遠：距離約 {km}" in card


def test_without_a_refusal_or_long_after_one_only_the_position_is_missing(db, fenced):
    daan, item, vol = fenced
    check_in(db, volunteer=vol, site=daan, item=item, now=NOW, source=SessionSource.poster,
             position=FAR_AWAY)
    db.commit()
    later = check_in(db, volunteer=vol, site=daan, item=item, now=NOW + dt.timedelta(minutes=31),
                     source=SessionSource.poster, position=None)
    db.commit()
    assert later.session.flag_set == {Flag.position_unavailable.value}
