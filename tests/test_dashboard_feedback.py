"""What the supervisor's dashboard says back over HTTP: a refused form keeps what was typed and
says why in the field's words (a date picker's year 0001 too), a changed queue asks again with
the new count, and a row or a history says what it really counts and how it began."""
import datetime as dt
import re

from sqlalchemy import select

from models.audit import AuditEntry
from models.base import TAIPEI, utcnow
from models.service import ServiceSession, SessionStatus
from tests.test_dashboard import _row_of, add_session, fresh, world  # noqa: F401 (fixture)

RANGE = "請輸入 1900-01-01 到 2100-12-31 之間的日期。"


def local(moment: dt.datetime) -> str:
    return moment.astimezone(TAIPEI).strftime("%Y-%m-%dT%H:%M")


def field_input(page: str, name: str) -> str:
    """The <input> named `name` in an answer."""
    match = re.search(rf'<input[^>]*name="{name}"[^>]*>', page)
    assert match, f"no input {name}"
    return match.group(0)


def test_a_date_out_of_range_in_adjust_is_refused_in_the_row_with_what_was_typed(db, world, supervisor):
    """Chromium's date picker lets the year 0001 through: the answer is still the row (the
    table keeps its shape) in adjust mode, saying which field and what range, the typed values
    kept and the field marked; nothing changes. The year 9999 the same."""
    site, _e, item, vol = world
    s = add_session(db, site, item, vol, hours_ago=5, minutes=90)
    for name, label, value in (("checked_in_at", "簽到時間", "0001-01-01T09:00"),
                               ("checked_out_at", "簽退時間", "9999-12-31T18:00")):
        data = {"version": s.version, "checked_in_at": local(s.checked_in_at),
                "checked_out_at": local(s.checked_out_at), "reason": "補登", name: value}
        response = supervisor.post(f"/dashboard/sessions/{s.id}/adjust", data, hx=True)
        row = response.get_data(as_text=True)
        assert response.status_code == 400
        assert row.lstrip().startswith(f'<tr id="session-{s.id}"'), row[:200]
        assert f"{label}：{RANGE}" in row
        assert f'value="{value}"' in field_input(row, name)
        assert 'aria-invalid="true"' in field_input(row, name)
        assert 'value="補登"' in field_input(row, "reason")
    after = fresh(db, s)
    assert after.checked_in_at == s.checked_in_at and "edited" not in after.flags


def test_a_date_out_of_range_everywhere_else_the_dashboard_takes_one(db, world, supervisor):
    site, _e, item, vol = world
    # checking out by hand
    s = add_session(db, site, item, vol, hours_ago=2, open=True)
    panel = supervisor.post(f"/dashboard/sessions/{s.id}/check-out",
                            {"version": s.version, "at": "0001-01-01T17:00", "reason": "忘記簽退"}, hx=True)
    text = panel.get_data(as_text=True)
    assert panel.status_code == 400 and f"簽退時間：{RANGE}" in text and f'id="co-at-{s.id}"' in text
    assert fresh(db, s).checked_out_at is None
    # a paper sheet: the page with the message and everything typed, not an error page
    data = {"volunteer": vol.volunteer_no, "site": site.id, "item": item.id,
            "checked_in_at": "0001-01-01T09:00", "checked_out_at": "0001-01-01T11:30",
            "reason": "紙本簽到表"}
    page = supervisor.post("/dashboard/manual", data)
    text = page.get_data(as_text=True)
    assert page.status_code == 400 and f"簽到時間：{RANGE}" in text
    assert 'value="0001-01-01T09:00"' in field_input(text, "checked_in_at")
    assert f'value="{vol.volunteer_no}"' in field_input(text, "volunteer")
    assert 'value="紙本簽到表"' in field_input(text, "reason")
    assert db.scalar(select(ServiceSession).where(ServiceSession.id != s.id)) is None
    # the queue's filter
    queue = supervisor.get("/dashboard/?from=0001-01-01").get_data(as_text=True)
    assert f"起：{RANGE}" in queue


def test_a_refused_adjustment_keeps_the_times_and_reason_typed(db, world, supervisor):
    """Check-out before check-in: the form shows the times typed (not the stored ones, which
    look right beside the message) and the reason, so one field can be corrected."""
    site, _e, item, vol = world
    s = add_session(db, site, item, vol, hours_ago=30, minutes=90)
    day = s.checked_in_at.astimezone(TAIPEI).date().isoformat()
    response = supervisor.post(f"/dashboard/sessions/{s.id}/adjust", {
        "version": s.version, "checked_in_at": f"{day}T12:00", "checked_out_at": f"{day}T09:00",
        "persons_served": "7", "reason": "志工晚到"}, hx=True)
    row = response.get_data(as_text=True)
    assert response.status_code == 400 and "簽退時間必須晚於簽到時間" in row
    assert f'value="{day}T12:00"' in field_input(row, "checked_in_at")
    assert f'value="{day}T09:00"' in field_input(row, "checked_out_at")
    assert 'value="7"' in field_input(row, "persons_served")
    assert 'value="志工晚到"' in field_input(row, "reason")


def test_a_refused_check_out_by_hand_keeps_the_time_and_reason_typed(db, world, supervisor):
    site, _e, item, vol = world
    s = add_session(db, site, item, vol, hours_ago=2, open=True)
    later = local(utcnow() + dt.timedelta(hours=3))  # in the future: refused
    response = supervisor.post(f"/dashboard/sessions/{s.id}/check-out",
                               {"version": s.version, "at": later, "reason": "忘記簽退"}, hx=True)
    panel = response.get_data(as_text=True)
    assert response.status_code == 400 and "時間不能在未來" in panel
    assert f'value="{later}"' in field_input(panel, "at")
    assert 'value="忘記簽退"' in field_input(panel, "reason")


def test_a_changed_queue_asks_again_with_the_new_count(db, world, supervisor, admin):
    """Someone approved one of the three meanwhile: the answer says so and offers "approve 2",
    and tells the page to reload the queue (its rows and the count above them)."""
    site, _e, item, vol = world
    sessions = [add_session(db, site, item, vol, hours_ago=h) for h in (30, 20, 10)]
    confirm = supervisor.get("/dashboard/bulk-approve", headers={"HX-Request": "true"})
    assert 'name="expected" value="3"' in confirm.get_data(as_text=True)
    assert admin.post(f"/dashboard/sessions/{sessions[0].id}/approve",
                      {"version": sessions[0].version}, hx=True).status_code == 200
    stale = supervisor.post("/dashboard/bulk-approve", {"expected": "3"}, hx=True)
    answer = stale.get_data(as_text=True)
    assert stale.status_code == 409
    assert "現在符合的是 2 筆，不是 3 筆" in answer
    assert 'name="expected" value="2"' in answer and "確定核准 2 筆" in answer
    page = supervisor.get("/dashboard/").get_data(as_text=True)
    assert stale.headers["HX-Trigger"] in _queue_events(page)
    assert [fresh(db, x).status for x in sessions[1:]] == [SessionStatus.closed] * 2
    again = supervisor.post("/dashboard/bulk-approve", {"expected": "2"}, hx=True)
    assert again.status_code == 200 and "已核准 2 筆" in again.get_data(as_text=True)


def _queue_events(page: str) -> set[str]:
    """The events that make the dashboard's #queue reload itself."""
    match = re.search(r'<div id="queue"[^>]*hx-trigger="([^"]*)"', page)
    assert match, "no #queue with hx-trigger"
    return {part.strip().split(" ")[0] for part in match.group(1).split(",")}


def test_a_check_out_by_hand_reloads_the_queue_too(db, world, supervisor):
    """The session checked out by hand now waits for verification: the queue reloads on the
    event the answer sends, as the on-site list does."""
    site, _e, item, vol = world
    s = add_session(db, site, item, vol, hours_ago=2, open=True)
    at = local(utcnow() - dt.timedelta(minutes=15))
    response = supervisor.post(f"/dashboard/sessions/{s.id}/check-out",
                               {"version": s.version, "at": at, "reason": "忘記簽退"}, hx=True)
    assert response.status_code == 200
    page = supervisor.get("/dashboard/").get_data(as_text=True)
    assert response.headers["HX-Trigger"] in _queue_events(page)
    assert f'id="session-{s.id}"' in supervisor.get(
        "/dashboard/queue", headers={"HX-Request": "true"}).get_data(as_text=True)


def test_a_paper_sheet_without_a_volunteer_number_asks_for_one(db, world, supervisor):
    site, _e, item, vol = world
    day = (utcnow() - dt.timedelta(days=2)).astimezone(TAIPEI).date().isoformat()
    response = supervisor.post("/dashboard/manual", {
        "volunteer": "  ", "site": site.id, "item": item.id, "checked_in_at": f"{day}T09:00",
        "checked_out_at": f"{day}T11:30", "reason": "紙本簽到表"})
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and "請輸入志工編號。" in page and "沒有志工編號是" not in page
    assert 'aria-invalid="true"' in field_input(page, "volunteer")


def test_dates_the_wrong_way_round_are_named_not_an_empty_queue(db, world, supervisor):
    site, _e, item, vol = world
    add_session(db, site, item, vol, hours_ago=30)
    page = supervisor.get("/dashboard/?from=2026-12-04&to=2026-12-01").get_data(as_text=True)
    assert "起日（2026-12-04）晚於迄日（2026-12-01），請把兩個日期對調。" in page
    assert "這裡沒有待審核的紀錄" not in page
    fragment = supervisor.get("/dashboard/queue?from=2026-12-04&to=2026-12-01",
                              headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "晚於迄日" in fragment


def test_the_reject_form_submits_with_the_danger_button(db, world, supervisor):
    site, _e, item, vol = world
    s = add_session(db, site, item, vol)
    form = supervisor.get(f"/dashboard/sessions/{s.id}/row?mode=reject",
                          headers={"HX-Request": "true"}).get_data(as_text=True)
    [submit] = re.findall(r'<button type="submit" class="([^"]*)"', form)
    assert "btn-danger" in submit.split() and "btn-primary" not in submit.split()


def test_an_auto_closed_row_shows_0_credited_and_the_end_on_its_own_day(db, world, supervisor):
    """Closed at midnight for a forgotten check-out: nothing counts until the times are set
    (not "16 h"), and the end at 00:00 shows its date, the next day's."""
    site, _e, item, vol = world
    day = (utcnow() - dt.timedelta(days=3)).astimezone(TAIPEI).date()
    start = dt.datetime.combine(day, dt.time(8), tzinfo=TAIPEI).astimezone(dt.timezone.utc)
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tzinfo=TAIPEI).astimezone(dt.timezone.utc)
    s = add_session(db, site, item, vol, status=SessionStatus.needs_review, flags="auto_closed")
    s.checked_in_at, s.checked_out_at = start, end
    db.commit()
    row = _row_of(supervisor.get("/dashboard/").get_data(as_text=True), s)
    assert "設定實際時間前採計 0 小時 00 分" in row and "16 小時" not in row
    next_day = day + dt.timedelta(days=1)
    this_year = utcnow().astimezone(TAIPEI).year
    shown_end = next_day.strftime("%m/%d" if next_day.year == this_year else "%Y-%m-%d") + " 00:00"
    assert f"–{shown_end}" in row
    english = _row_of(supervisor.get("/dashboard/", headers={"Accept-Language": "en"}).get_data(as_text=True), s)
    assert "0 h 00 min credited until the times are set" in english


def test_history_of_a_session_never_changed_says_how_it_began(db, world, supervisor):
    """No audit entry (a session from before the log, or one nothing ever happened to): the
    history still says when and how it began, who approved it and when, and that nothing
    was changed."""
    site, _e, item, vol = world
    s = add_session(db, site, item, vol, hours_ago=30)
    s.status, s.verified_by_id = SessionStatus.verified, supervisor.user.id
    s.verified_at = s.checked_out_at + dt.timedelta(hours=2)
    db.commit()
    assert db.scalar(select(AuditEntry).where(AuditEntry.entity == "service_session",
                                          AuditEntry.entity_id == s.id)) is None
    page = supervisor.get(f"/dashboard/sessions/{s.id}/history").get_data(as_text=True)
    began = s.checked_in_at.astimezone(TAIPEI).strftime("%Y-%m-%d %H:%M")
    assert f"{began} · 簽到站掃描志工卡" in page
    verified = s.verified_at.astimezone(TAIPEI).strftime("%Y-%m-%d %H:%M")
    assert f"由 {supervisor.user.name} 於 {verified}" in page
    assert "紀錄後未曾修改。" in page
    changed = add_session(db, site, item, vol, hours_ago=60)
    supervisor.post(f"/dashboard/sessions/{changed.id}/adjust", {
        "version": changed.version, "checked_in_at": local(changed.checked_in_at),
        "checked_out_at": local(changed.checked_out_at - dt.timedelta(minutes=30)),
        "reason": "提早離開"}, hx=True)
    page = supervisor.get(f"/dashboard/sessions/{changed.id}/history").get_data(as_text=True)
    assert "紀錄後未曾修改" not in page and "提早離開" in page
