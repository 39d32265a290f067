"""The supervisor dashboard over HTTP: in-place htmx actions, roles, sites, refusals."""
import datetime as dt
import re

import pytest
from sqlalchemy import event, select

from models.audit import AuditEntry
from models.base import TAIPEI, taipei_date, taipei_day_bounds, utcnow
from models.service import ServiceSession, SessionSource, SessionStatus
from models.verification import SupervisorSite


@pytest.fixture
def world(make, unit, db, supervisor):
    site = make.site(unit, name_zh="大安長照服務中心")
    elsewhere = make.site(unit, name_zh="萬華社區關懷據點")
    item = make.item(unit, name_zh="長者陪伴關懷")
    vol = make.volunteer(unit, name_zh="陳淑芬")
    make.cover(vol)
    db.add(SupervisorSite(user_id=supervisor.user.id, site_id=site.id))
    db.commit()
    return site, elsewhere, item, vol


def add_session(db, site, item, vol, hours_ago=5, minutes=90, **kw):
    start = utcnow().replace(microsecond=0) - dt.timedelta(hours=hours_ago)
    s = ServiceSession(unit_id=site.unit_id, volunteer_id=vol.id, site_id=site.id, service_item_id=item.id,
                       checked_in_at=start,
                       checked_out_at=None if kw.pop("open", False) else start + dt.timedelta(minutes=minutes),
                       status=kw.pop("status", SessionStatus.closed), source=kw.pop("source", SessionSource.kiosk_card), **kw)
    db.add(s)
    db.commit()
    return s


def fresh(db, s):
    db.rollback()
    db.expire_all()
    return db.get(ServiceSession, s.id)


def test_dashboard_shows_on_site_and_queue_for_my_sites(db, world, supervisor, make, unit):
    site, elsewhere, item, vol = world
    add_session(db, site, item, vol, hours_ago=1, open=True)
    other_vol = make.volunteer(unit, name_zh="林志明")
    add_session(db, elsewhere, item, other_vol)
    queued = add_session(db, site, item, vol, hours_ago=30)
    page = supervisor.get("/dashboard/").get_data(as_text=True)
    assert "陳淑芬" in page and "大安長照服務中心" in page
    assert f'id="session-{queued.id}"' in page
    assert "林志明" not in page  # not my site
    assert "我負責的所有地點" in page


def test_an_admins_site_filter_offers_all_sites_not_their_own(db, world, admin):
    page = admin.get("/dashboard/").get_data(as_text=True)
    assert "所有服務地點" in page and "我負責的所有地點" not in page


def test_home_page_lists_today_at_my_sites_and_an_admin_sees_every_site(db, world, supervisor,
                                                                         admin, make, unit):
    site, elsewhere, item, vol = world
    add_session(db, site, item, vol, hours_ago=0.02, open=True)  # started a minute ago
    add_session(db, elsewhere, item, make.volunteer(unit, name_zh="林志明"), hours_ago=0.02,
                open=True)
    mine = supervisor.get("/").get_data(as_text=True)
    assert "陳淑芬" in mine and "林志明" not in mine  # as on the dashboard: my sites only
    every = admin.get("/").get_data(as_text=True)
    assert "陳淑芬" in every and "林志明" in every


def test_on_site_fragment_refreshes_itself(db, world, supervisor):
    site, _e, item, vol = world
    page = supervisor.get("/dashboard/").get_data(as_text=True)
    assert 'hx-trigger="every 10s' in page
    add_session(db, site, item, vol, hours_ago=1, open=True)
    fragment = supervisor.get("/dashboard/on-site", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "陳淑芬" in fragment and "<html" not in fragment


def test_approve_in_place_returns_the_locked_row(db, world, supervisor):
    site, _e, item, vol = world
    s = add_session(db, site, item, vol, minutes=95)
    response = supervisor.post(f"/dashboard/sessions/{s.id}/approve", {"version": s.version}, hx=True)
    assert response.status_code == 200
    row = response.get_data(as_text=True)
    assert row.lstrip().startswith(f'<tr id="session-{s.id}"') and "已審核" in row and "核准" not in row
    s = fresh(db, s)
    assert s.status == SessionStatus.verified and s.credited_minutes == 95
    assert db.scalar(select(AuditEntry.action).where(AuditEntry.entity == "service_session", AuditEntry.entity_id == s.id)) == "approve"


def test_adjust_needs_a_reason_and_sane_times(db, world, supervisor):
    site, _e, item, vol = world
    s = add_session(db, site, item, vol, hours_ago=5, minutes=90)
    local_in = s.checked_in_at.astimezone(TAIPEI).strftime("%Y-%m-%dT%H:%M")
    earlier = (s.checked_in_at - dt.timedelta(minutes=30)).astimezone(TAIPEI).strftime("%Y-%m-%dT%H:%M")
    later = (s.checked_in_at + dt.timedelta(minutes=60)).astimezone(TAIPEI).strftime("%Y-%m-%dT%H:%M")
    bad = supervisor.post(f"/dashboard/sessions/{s.id}/adjust",
                          {"version": s.version, "checked_in_at": local_in, "checked_out_at": earlier, "reason": "更正"}, hx=True)
    assert bad.status_code == 400 and "簽退時間必須晚於簽到時間" in bad.get_data(as_text=True)
    no_reason = supervisor.post(f"/dashboard/sessions/{s.id}/adjust",
                                {"version": s.version, "checked_in_at": local_in, "checked_out_at": later, "reason": ""}, hx=True)
    assert no_reason.status_code == 400 and "請填寫原因" in no_reason.get_data(as_text=True)
    garbage = supervisor.post(f"/dashboard/sessions/{s.id}/adjust",
                              {"version": s.version, "checked_in_at": "yesterday", "checked_out_at": later, "reason": "x"}, hx=True)
    assert garbage.status_code == 400
    assert fresh(db, s).checked_out_at == s.checked_in_at + dt.timedelta(minutes=90)
    ok = supervisor.post(f"/dashboard/sessions/{s.id}/adjust",
                         {"version": s.version, "checked_in_at": local_in, "checked_out_at": later, "reason": "志工提早離開"}, hx=True)
    assert ok.status_code == 200 and "已修改" in ok.get_data(as_text=True)
    assert fresh(db, s).elapsed_minutes(utcnow()) == 60


def test_adjust_sent_back_unchanged_is_refused_and_the_row_stays_unflagged(db, world, supervisor):
    """Opening 修改時間, typing a reason and saving without changing the times must not mark
    the session edited (that takes it out of bulk approval)."""
    site, _e, item, vol = world
    s = add_session(db, site, item, vol, hours_ago=5, minutes=90)
    shown_in = s.checked_in_at.astimezone(TAIPEI).strftime("%Y-%m-%dT%H:%M")  # as the form shows
    shown_out = s.checked_out_at.astimezone(TAIPEI).strftime("%Y-%m-%dT%H:%M")
    same = supervisor.post(f"/dashboard/sessions/{s.id}/adjust",
                           {"version": s.version, "checked_in_at": shown_in, "checked_out_at": shown_out,
                            "reason": "確認"}, hx=True)
    assert same.status_code == 400 and "沒有任何修改" in same.get_data(as_text=True)
    after = fresh(db, s)
    assert "edited" not in after.flags and after.checked_in_at == s.checked_in_at
    assert db.scalar(select(AuditEntry).where(AuditEntry.action == "adjust")) is None


def test_reject_with_reason(db, world, supervisor):
    site, _e, item, vol = world
    s = add_session(db, site, item, vol)
    assert supervisor.post(f"/dashboard/sessions/{s.id}/reject", {"version": s.version, "reason": ""}, hx=True).status_code == 400
    response = supervisor.post(f"/dashboard/sessions/{s.id}/reject", {"version": s.version, "reason": "非服務時間"}, hx=True)
    assert response.status_code == 200 and "已退回" in response.get_data(as_text=True)
    entry = db.scalar(select(AuditEntry).where(AuditEntry.action == "reject"))
    assert entry.after_data()["reason"] == "非服務時間"


def test_second_supervisor_gets_already_changed_by(db, world, supervisor, admin):
    site, _e, item, vol = world
    s = add_session(db, site, item, vol)
    seen = s.version
    assert admin.post(f"/dashboard/sessions/{s.id}/approve", {"version": seen}, hx=True).status_code == 200
    late = supervisor.post(f"/dashboard/sessions/{s.id}/reject", {"version": seen, "reason": "重複"}, hx=True)
    assert late.status_code == 409
    text = late.get_data(as_text=True)
    assert f"已被{admin.user.name}修改" in text and "已審核" in text  # and the current row
    assert fresh(db, s).status == SessionStatus.verified


def test_supervisor_outside_their_site_gets_403(db, world, supervisor):
    _s, elsewhere, item, vol = world
    s = add_session(db, elsewhere, item, vol)
    assert supervisor.post(f"/dashboard/sessions/{s.id}/approve", {"version": s.version}, hx=True).status_code == 403
    assert supervisor.get(f"/dashboard/sessions/{s.id}/history").status_code == 403
    assert fresh(db, s).status == SessionStatus.closed


def test_volunteer_cannot_approve(db, world, volunteer):
    site, _e, item, vol = world
    s = add_session(db, site, item, vol)
    assert volunteer.post(f"/dashboard/sessions/{s.id}/approve", {"version": s.version}, hx=True).status_code == 403
    assert volunteer.get("/dashboard/").status_code == 403
    assert fresh(db, s).status == SessionStatus.closed


def test_approve_needs_csrf(db, world, supervisor):
    site, _e, item, vol = world
    s = add_session(db, site, item, vol)
    response = supervisor.client.post(f"/dashboard/sessions/{s.id}/approve", data={"version": s.version},
                                      headers={"HX-Request": "true"})
    assert response.status_code == 400
    assert fresh(db, s).status == SessionStatus.closed


def test_admin_reopens_with_reason_and_history_shows_it(db, world, admin):
    site, _e, item, vol = world
    s = add_session(db, site, item, vol)
    admin.post(f"/dashboard/sessions/{s.id}/approve", {"version": s.version}, hx=True)
    s = fresh(db, s)
    response = admin.post(f"/dashboard/sessions/{s.id}/reopen", {"version": s.version, "reason": "時數登錄錯誤"}, hx=True)
    assert response.status_code == 200 and "待審核" in response.get_data(as_text=True)
    history = admin.get(f"/dashboard/sessions/{s.id}/history").get_data(as_text=True)
    assert "核准紀錄" in history and "重新開啟審核" in history and "時數登錄錯誤" in history


def test_history_speaks_the_readers_language_in_taipei_time(db, world, supervisor):
    site, _e, item, vol = world
    day = (utcnow() - dt.timedelta(days=2)).astimezone(TAIPEI).date()
    start = dt.datetime.combine(day, dt.time(14, 10), tzinfo=TAIPEI)
    s = add_session(db, site, item, vol)
    s.checked_in_at, s.checked_out_at = start, start + dt.timedelta(minutes=150)  # 14:10–16:40
    db.commit()
    response = supervisor.post(f"/dashboard/sessions/{s.id}/adjust", {
        "version": s.version, "reason": "提早離開",
        "checked_in_at": f"{day}T14:10", "checked_out_at": f"{day}T16:10"}, hx=True)
    assert response.status_code == 200, response.get_data(as_text=True)
    history = supervisor.get(f"/dashboard/sessions/{s.id}/history").get_data(as_text=True)
    assert "修正紀錄" in history and "簽退</span>：" in history
    assert f"<del>{day} 16:40</del> → <ins>{day} 16:10</ins>" in history  # Taipei, not UTC
    assert "已修改" in history and "提早離開" in history
    s = fresh(db, s)
    assert supervisor.post(f"/dashboard/sessions/{s.id}/approve", {"version": s.version},
                           hx=True).status_code == 200
    history = supervisor.get(f"/dashboard/sessions/{s.id}/history").get_data(as_text=True)
    assert "核准紀錄" in history and "<ins>2 小時 00 分</ins>" in history
    assert '<del><span class="status status-closed">待審核</span></del> → <ins><span class="status status-verified">已審核</span></ins>' in " ".join(history.split())
    words = re.sub(r"<[^>]+>", " ", history.split("<ol", 1)[1])  # what the reader sees
    for raw in ("adjust", "approve", "checked_out_at", "+00:00", "verified", "credited_minutes"):
        assert raw not in words, raw
    english = supervisor.get(f"/dashboard/sessions/{s.id}/history",
                             headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Adjusted the session" in english and "Check-out</span>: " in english


def test_bulk_approve_with_count_confirmation(db, world, supervisor):
    site, _e, item, vol = world
    a = add_session(db, site, item, vol, hours_ago=30)
    b = add_session(db, site, item, vol, hours_ago=20)
    flagged = add_session(db, site, item, vol, hours_ago=10, flags="offline")
    confirm = supervisor.get("/dashboard/bulk-approve", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert 'name="expected" value="2"' in confirm
    stale = supervisor.post("/dashboard/bulk-approve", {"expected": "5"}, hx=True)
    assert stale.status_code == 409
    response = supervisor.post("/dashboard/bulk-approve", {"expected": "2"}, hx=True)
    assert response.status_code == 200 and "已核准 2 筆" in response.get_data(as_text=True)
    assert response.headers["HX-Trigger"] == "queue-changed"
    assert [fresh(db, x).status for x in (a, b, flagged)] == [SessionStatus.verified, SessionStatus.verified, SessionStatus.closed]


def test_check_out_by_hand_from_on_site(db, world, supervisor):
    site, _e, item, vol = world
    s = add_session(db, site, item, vol, hours_ago=2, open=True)
    at = (utcnow() - dt.timedelta(minutes=15)).astimezone(TAIPEI).strftime("%Y-%m-%dT%H:%M")
    assert supervisor.post(f"/dashboard/sessions/{s.id}/check-out", {"version": s.version, "at": at, "reason": ""}, hx=True).status_code == 400
    response = supervisor.post(f"/dashboard/sessions/{s.id}/check-out", {"version": s.version, "at": at, "reason": "忘記簽退"}, hx=True)
    assert response.status_code == 200 and response.headers["HX-Trigger"] == "on-site-changed"
    assert fresh(db, s).status == SessionStatus.closed


def test_manual_entry_from_a_paper_sheet(db, world, supervisor):
    site, _e, item, vol = world
    day = (utcnow() - dt.timedelta(days=2)).astimezone(TAIPEI).date().isoformat()
    data = {"volunteer": vol.volunteer_no, "site": site.id, "item": item.id,
            "checked_in_at": f"{day}T09:00", "checked_out_at": f"{day}T11:30", "reason": "紙本簽到表"}
    assert supervisor.post("/dashboard/manual", {**data, "volunteer": "0000"}).status_code == 400
    assert supervisor.post("/dashboard/manual", {**data, "checked_out_at": f"{day}T08:00"}).status_code == 400
    response = supervisor.post("/dashboard/manual", data)
    assert response.status_code == 201
    [s] = db.scalars(select(ServiceSession)).all()
    assert s.source == SessionSource.manual and s.elapsed_minutes(utcnow()) == 150
    assert s.checked_in_at.astimezone(TAIPEI).hour == 9  # typed in Taipei time, stored in UTC
    again = supervisor.post("/dashboard/manual", data)  # the same sheet entered twice
    assert again.status_code == 400 and f"{day} 09:00" in again.get_data(as_text=True)  # Taipei
    assert len(db.scalars(select(ServiceSession)).all()) == 1


def test_queue_filters(db, world, supervisor, make, unit):
    site, _e, item, vol = world
    other = make.volunteer(unit, name_zh="王小明")
    make.cover(other)
    a = add_session(db, site, item, vol, hours_ago=60)
    b = add_session(db, site, item, other, hours_ago=5, flags="short")
    by_vol = supervisor.get(f"/dashboard/queue?volunteer={other.volunteer_no}", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert f"session-{b.id}" in by_vol and f"session-{a.id}" not in by_vol
    # the number typed on a Chinese keyboard (full-width digits) is the same number
    wide = other.volunteer_no.translate({ord(c): ord(c) + 0xFEE0 for c in "0123456789"})
    by_wide = supervisor.get(f"/dashboard/queue?volunteer={wide}", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert f"session-{b.id}" in by_wide and f"session-{a.id}" not in by_wide
    flagged = supervisor.get("/dashboard/queue?flag=short", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert f"session-{b.id}" in flagged and f"session-{a.id}" not in flagged
    today = utcnow().astimezone(TAIPEI).date()
    recent = supervisor.get(f"/dashboard/queue?from={(today - dt.timedelta(days=1)).isoformat()}", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert f"session-{a.id}" not in recent
    bad = supervisor.get("/dashboard/queue?from=not-a-date&volunteer=99999", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "請輸入像 2026-01-31 這樣的日期" in bad and "沒有志工編號是 99999" in bad


def test_statement_count_does_not_grow_with_rows(app, db, world, supervisor, make, unit):
    site, _e, item, vol = world
    engine = app.extensions["hourbook_db"]["engine"]
    statements = []

    def count(*_args):
        statements.append(1)

    def measure():
        statements.clear()
        event.listen(engine, "before_cursor_execute", count)
        try:
            assert supervisor.get("/dashboard/", headers={"HX-Request": "false"}).status_code == 200
            assert supervisor.get("/dashboard/on-site", headers={"HX-Request": "true"}).status_code == 200
        finally:
            event.remove(engine, "before_cursor_execute", count)
        return len(statements)

    vols = [make.volunteer(unit) for _ in range(12)]
    for v in vols[:2]:
        add_session(db, site, item, v, hours_ago=30)
        add_session(db, site, item, v, hours_ago=1, open=True)
    few = measure()
    for v in vols[2:]:
        add_session(db, site, item, v, hours_ago=30)
        add_session(db, site, item, v, hours_ago=1, open=True)
    many = measure()
    assert few == many, (few, many)


def test_an_approved_session_is_found_again_and_an_admin_reopens_it(db, world, supervisor, admin):
    site, _e, item, vol = world
    s = add_session(db, site, item, vol)
    waiting = add_session(db, site, item, vol, hours_ago=30)
    assert supervisor.post(f"/dashboard/sessions/{s.id}/approve", {"version": s.version},
                           hx=True).status_code == 200
    default = admin.get("/dashboard/").get_data(as_text=True)
    assert f'id="session-{s.id}"' not in default and f'id="session-{waiting.id}"' in default
    approved = admin.get(f"/dashboard/queue?status=verified&volunteer={vol.volunteer_no}")
    page = approved.get_data(as_text=True)
    assert f'id="session-{s.id}"' in page and f'id="session-{waiting.id}"' not in page
    assert "mode=reopen" in page and "bulk-approve" not in page  # nothing to approve in bulk here
    mine = supervisor.get("/dashboard/queue?status=verified").get_data(as_text=True)
    assert f'id="session-{s.id}"' in mine and "mode=reopen" not in mine  # admins reopen
    s = fresh(db, s)
    assert admin.post(f"/dashboard/sessions/{s.id}/reopen",
                      {"version": s.version, "reason": "誤核准"}, hx=True).status_code == 200
    assert fresh(db, s).status == SessionStatus.closed
    assert f'id="session-{s.id}"' not in admin.get("/dashboard/queue?status=verified").get_data(as_text=True)
    assert "沒有符合的紀錄" in admin.get("/dashboard/queue?status=rejected").get_data(as_text=True)


def test_the_unflagged_count_follows_each_row_change(db, world, supervisor):
    site, _e, item, vol = world
    a, b = add_session(db, site, item, vol, hours_ago=5), add_session(db, site, item, vol, hours_ago=30)
    tools = supervisor.get("/dashboard/queue-tools", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert 'id="queue-tools"' in tools and "2 筆無標記的紀錄" in tools
    response = supervisor.post(f"/dashboard/sessions/{a.id}/approve", {"version": a.version}, hx=True)
    assert response.headers["HX-Trigger"] == "session-changed"  # the page asks for the count again
    tools = supervisor.get(f"/dashboard/queue-tools?site={site.id}").get_data(as_text=True)
    assert "1 筆無標記的紀錄" in tools
    assert 'hx-trigger="session-changed from:body"' in supervisor.get("/dashboard/").get_data(as_text=True)


def test_a_cover_deleted_by_the_admin_shows_on_the_waiting_session_and_blocks_approval(
        db, world, supervisor, admin):
    from models.insurance import InsuranceCover

    site, _e, item, vol = world
    s = add_session(db, site, item, vol, hours_ago=26)
    cover = db.scalar(select(InsuranceCover).where(InsuranceCover.volunteer_id == vol.id))
    assert admin.post(f"/admin/insurance/covers/{cover.id}/delete", {}).status_code == 302
    queue = supervisor.get("/dashboard/queue", headers={"HX-Request": "true"}).get_data(as_text=True)
    row = queue[queue.index(f'id="session-{s.id}"'):]
    assert "當日不符服務條件" in row[:row.index("</tr>")]
    refused = supervisor.post(f"/dashboard/sessions/{s.id}/approve", {"version": fresh(db, s).version}, hx=True)
    day = s.checked_in_at.astimezone(TAIPEI).date().isoformat()
    assert f"陳淑芬 於 {day} 沒有有效的意外保險" in refused.get_data(as_text=True)
    assert fresh(db, s).status == SessionStatus.closed
    history = supervisor.get(f"/dashboard/sessions/{s.id}/history").get_data(as_text=True)
    assert "保險、訓練紀錄或課程變更後重新檢查當日條件" in history and "志工時數簿（自動）" in history
    assert "day_gates" not in history and "system" not in history


def _row_of(page: str, s) -> str:
    row = page[page.index(f'id="session-{s.id}"'):]
    return row[:row.index("</tr>")]


def test_a_flagged_row_says_why_in_words_wherever_it_is_listed(db, world, supervisor, admin,
                                                             make, unit):
    from models.insurance import InsuranceCover

    site, elsewhere, item, vol = world
    waiting = add_session(db, site, item, vol, hours_ago=26)
    # on site now, and since today began in Taipei (the home page lists today's sessions)
    since_midnight = utcnow() - taipei_day_bounds(taipei_date(utcnow()))[0]
    today = add_session(db, site, item, vol, open=True,
                        hours_ago=min(0.5, since_midnight.total_seconds() / 3600 / 2))
    fine = add_session(db, elsewhere, item, make.volunteer(unit, name_zh="林志明", insured=True),
                       hours_ago=26)
    cover = db.scalar(select(InsuranceCover).where(InsuranceCover.volunteer_id == vol.id))
    assert admin.post(f"/admin/insurance/covers/{cover.id}/delete", {}).status_code == 302

    day = waiting.checked_in_at.astimezone(TAIPEI).date().isoformat()
    why = f"陳淑芬 於 {day} 沒有有效的意外保險。"
    for page in (supervisor.get("/dashboard/"),
                 supervisor.get("/dashboard/queue", headers={"HX-Request": "true"}),
                 supervisor.get("/dashboard/queue?flag=day_gates"),
                 admin.get("/dashboard/"),  # an admin's queue: every site
                 supervisor.get(f"/dashboard/sessions/{waiting.id}/row",
                                headers={"HX-Request": "true"})):
        row = _row_of(page.get_data(as_text=True), waiting)
        assert "當日不符服務條件" in row and why in row
    assert "保險" not in _row_of(admin.get("/dashboard/").get_data(as_text=True), fine)
    english = _row_of(supervisor.get("/dashboard/", headers={"Accept-Language": "en"})
                      .get_data(as_text=True), waiting)
    assert f"陳淑芬 had no valid accident insurance on {day}." in english
    # today's sessions on the home page: the one on site now, whose day is today
    home = admin.get("/").get_data(as_text=True)
    on_day = today.checked_in_at.astimezone(TAIPEI).date().isoformat()
    assert f"陳淑芬 於 {on_day} 沒有有效的意外保險。" in home
    # a refused approval answers with the row, still saying why
    refused = supervisor.post(f"/dashboard/sessions/{waiting.id}/approve",
                              {"version": fresh(db, waiting).version}, hx=True)
    assert refused.status_code == 400 and why in _row_of(refused.get_data(as_text=True), waiting)


def test_a_flag_the_records_no_longer_bear_out_says_so(db, world, supervisor):
    from models.service import Flag

    site, _e, item, vol = world
    s = add_session(db, site, item, vol, hours_ago=26)
    db.execute(ServiceSession.__table__.update().where(ServiceSession.id == s.id)
               .values(flags=Flag.day_gates.value))  # not through the records: nothing re-checked
    db.commit()
    row = _row_of(supervisor.get("/dashboard/").get_data(as_text=True), s)
    assert "紀錄顯示當日條件已再度符合，核准時會再檢查一次。" in row


def test_statement_count_does_not_grow_with_flagged_rows(app, db, world, supervisor, make, unit):
    from models.insurance import InsuranceCover

    site, _e, item, vol = world
    engine = app.extensions["hourbook_db"]["engine"]
    statements = []

    def count(*_args):
        statements.append(1)

    def measure(*urls):
        statements.clear()
        event.listen(engine, "before_cursor_execute", count)
        try:
            pages = [supervisor.get(url).get_data(as_text=True) for url in urls]
        finally:
            event.remove(engine, "before_cursor_execute", count)
        return len(statements), pages

    def flagged(n):  # volunteers whose cover is found to have ended before their session
        for i in range(n):
            person = make.volunteer(unit, trained=bool(i % 2))  # half of them untrained too
            make.cover(person, starts_on=dt.date(2020, 1, 1), ends_on=dt.date(2030, 12, 31))
            add_session(db, site, item, person, hours_ago=30)
            db.scalar(select(InsuranceCover).where(InsuranceCover.volunteer_id == person.id)) \
                .ends_on = dt.date(2021, 1, 1)
        db.commit()

    urls = ("/dashboard/", "/dashboard/queue?flag=day_gates", "/")
    flagged(2)
    few, pages = measure(*urls)
    assert pages[0].count('class="day-gate-reasons"') == 2
    flagged(8)
    many, pages = measure(*urls)
    assert pages[0].count('class="day-gate-reasons"') == 10
    assert pages[0].count("沒有有效的意外保險") == 10 and "尚未完成基礎訓練" in pages[0]
    assert few == many, (few, many)


def test_reopening_a_session_on_an_issued_certificate_asks_the_admin_first(app, db, world, admin,
                                                                          supervisor):
    from models import certificates
    from models import verification as v

    site, _e, item, vol = world
    vol.joined_on = dt.date(2020, 1, 1)
    served = [add_session(db, site, item, vol, hours_ago=24 * (3 + i), minutes=600)
              for i in range(16)]
    for s in served:
        v.approve(db, s.id, supervisor.user, utcnow())
    db.commit()
    cert = certificates.request_certificate(db, vol, admin.user, utcnow())
    certificates.issue_certificate(db, cert.id, admin.user, utcnow())
    db.commit()
    s = fresh(db, served[0])
    form = admin.get(f"/dashboard/sessions/{s.id}/row?mode=reopen", headers={"HX-Request": "true"})
    page = form.get_data(as_text=True)
    assert f"已列入績效證明書 {cert.serial}" in page and 'name="certificate_noted"' in page
    refused = admin.post(f"/dashboard/sessions/{s.id}/reopen",
                         {"version": s.version, "reason": "重複登錄"}, hx=True)
    assert refused.status_code == 400 and cert.serial in refused.get_data(as_text=True)
    assert fresh(db, s).status == SessionStatus.verified
    done = admin.post(f"/dashboard/sessions/{s.id}/reopen",
                      {"version": s.version, "reason": "重複登錄", "certificate_noted": "y"}, hx=True)
    assert done.status_code == 200 and fresh(db, s).status == SessionStatus.closed
    english = admin.get(f"/dashboard/sessions/{served[1].id}/row?mode=reopen",
                        headers={"HX-Request": "true", "Accept-Language": "en"})
    assert f"Counted on performance certificate {cert.serial}" in english.get_data(as_text=True)
    # the certificates page reminds the admin, with both numbers, until the hours match again
    listed = admin.get("/admin/certificates/").get_data(as_text=True)
    row = listed[listed.index(f'id="cert-{cert.id}"'):]
    row = row[:row.index("</tr>")]
    assert "發證後時數已變動" in row and "證明書印 160 小時 00 分，目前審核通過 150 小時 00 分" in row
    assert "/admin/certificates/new?volunteer_no=" in row
    # and the admin's reminders say it: the home page's panel and the daily reminder mail
    panel = admin.get("/admin/awards/deadlines", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "發證後時數已變動的證明書：1 張" in panel
    from models import reminder_mail
    from models.unit import Unit
    from webapp.cli_reminders import reminder_messages
    from webapp.mail import SmtpSettings
    reminder = reminder_mail.unit_reminder(db, vol.unit_id, utcnow().date())
    assert reminder.changed_certificates == 1
    settings = SmtpSettings("localhost", 25, False, None, "", "hb@example.tw")
    with app.app_context():
        [mail] = reminder_messages(settings, db.get(Unit, vol.unit_id), reminder, [admin.user])
    assert "1 張已開立的證明書發證後時數已變動：請重新開立" in mail.get_content()
    again = admin.post(f"/dashboard/sessions/{s.id}/approve", {"version": fresh(db, s).version},
                       hx=True)
    assert again.status_code == 200
    assert "發證後時數已變動" not in admin.get("/admin/certificates/").get_data(as_text=True)
    assert "發證後時數已變動" not in admin.get("/admin/awards/deadlines").get_data(as_text=True)


def test_a_session_of_another_year_shows_its_year_in_the_queue(db, world, supervisor):
    """In January the queue still holds December's sessions: "12/30 09:00" alone would read as
    this December; a session of this year needs no year."""
    site, _e, item, vol = world
    this_year = add_session(db, site, item, vol, hours_ago=2)
    last_year = add_session(db, site, item, vol, hours_ago=24 * 400)
    page = supervisor.get("/dashboard/").get_data(as_text=True)
    old = last_year.checked_in_at.astimezone(TAIPEI)
    assert old.strftime("%Y-%m-%d %H:%M") in _row_of(page, last_year)
    new = this_year.checked_in_at.astimezone(TAIPEI)
    row = _row_of(page, this_year)
    if new.year == utcnow().astimezone(TAIPEI).year:
        assert new.strftime("%m/%d %H:%M") in row and new.strftime("%Y-%m-%d") not in row
