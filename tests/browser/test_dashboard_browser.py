"""The supervisor dashboard in a real browser at tablet and phone sizes: actions change rows in
place; on a phone each session is a card whose buttons fit the screen and a thumb."""
import datetime as dt

from playwright.sync_api import expect
from sqlalchemy import select

from models.base import TAIPEI, utcnow
from models.service import ServiceSession, SessionSource, SessionStatus
from models.verification import SupervisorSite
from tests.browser.conftest import assert_fits_phone, assert_touch_targets, screenshot, sign_in


def _session(db, site, item, vol, hours_ago, minutes=120, flags="", open_=False):
    start = utcnow().replace(microsecond=0) - dt.timedelta(hours=hours_ago)
    s = ServiceSession(unit_id=site.unit_id, volunteer_id=vol.id, site_id=site.id, service_item_id=item.id,
                       checked_in_at=start, checked_out_at=None if open_ else start + dt.timedelta(minutes=minutes),
                       status=SessionStatus.open if open_ else SessionStatus.closed,
                       source=SessionSource.kiosk_card, flags=flags)
    db.add(s)
    db.commit()
    return s


def _status(db, s):
    db.rollback()
    db.expire_all()
    return db.get(ServiceSession, s.id)


def test_supervisor_verifies_in_place(db, make, unit, tablet, open_page):
    site = make.site(unit, name_zh="大安長照服務中心", name_en="Da'an Care Centre")
    item = make.item(unit, name_zh="長者陪伴關懷")
    sup = make.user(unit, role="supervisor", display_name="林督導")
    db.add(SupervisorSite(user_id=sup.id, site_id=site.id))
    db.commit()
    names = ["陳淑芬", "林志明", "黃雅婷", "張家豪", "李怡君"]
    vols = [make.volunteer(unit, name_zh=n) for n in names]
    for v in vols:
        make.cover(v)
    approve_me = _session(db, site, item, vols[0], 30)
    adjust_me = _session(db, site, item, vols[1], 28)
    others = [_session(db, site, item, v, 26 - i) for i, v in enumerate(vols[2:4])]
    flagged = _session(db, site, item, vols[4], 20, flags="offline")
    _session(db, site, item, vols[0], 1, open_=True)

    page = sign_in(tablet, sup.email)
    page.goto("/dashboard/")
    assert page.locator("#on-site").inner_text().count("陳淑芬") == 1
    expect(page.locator("#queue-tools")).to_contain_text("有 4 筆無標記的紀錄")
    screenshot(page, "dashboard-tablet")

    # approve: the row changes in place, no page load
    page.evaluate("window.__marker = 'same page'")
    row = page.locator(f"#session-{approve_me.id}")
    row.get_by_role("button", name="核准").click()
    page.locator(f"#session-{approve_me.id} .status-verified").wait_for()
    assert page.evaluate("window.__marker") == "same page"
    assert _status(db, approve_me).status == SessionStatus.verified
    expect(page.locator("#queue-tools")).to_contain_text("有 3 筆無標記的紀錄")  # follows the rows

    # adjust with a reason, using the keyboard only
    page.locator(f"#session-{adjust_me.id}").get_by_role("button", name="修改時間").click()
    form = page.locator(f"#session-{adjust_me.id} form")
    start = adjust_me.checked_in_at.astimezone(TAIPEI)
    form.locator("input[name=checked_out_at]").fill((start + dt.timedelta(minutes=75)).strftime("%Y-%m-%dT%H:%M"))
    form.locator("input[name=reason]").fill("志工提早離開")
    form.locator("input[name=reason]").press("Enter")
    page.locator(f"#session-{adjust_me.id} .badge-warn", has_text="已修改").wait_for()
    assert _status(db, adjust_me).elapsed_minutes(utcnow()) == 75
    expect(page.locator("#queue-tools")).to_contain_text("有 2 筆無標記的紀錄")  # edited: flagged
    assert page.evaluate("window.__marker") == "same page"

    # refused: reject without a reason keeps the form with the message (an expected 400)
    page.allow_console_error("status of 400")
    page.locator(f"#session-{others[0].id}").get_by_role("button", name="退回").click()
    page.locator(f"#session-{others[0].id} form input[name=reason]").wait_for()
    page.evaluate(f"document.querySelector('#session-{others[0].id} form input[name=reason]').removeAttribute('required')")
    page.locator(f"#session-{others[0].id} form").get_by_role("button", name="退回").click()
    page.locator(f"#session-{others[0].id} .error", has_text="請填寫原因").wait_for()
    page.locator(f"#session-{others[0].id} form").get_by_role("button", name="取消").click()

    # bulk approve the unflagged rest, with the count confirmed (edited and offline rows are flagged:
    # they need a look of their own)
    page.get_by_role("button", name="核准所有無標記紀錄…").click()
    confirm = page.get_by_role("button", name="確定核准 2 筆")
    confirm.wait_for()
    screenshot(page, "dashboard-bulk-confirm")
    confirm.click()
    page.get_by_text("已核准 2 筆紀錄。").wait_for()
    for s in others:
        assert _status(db, s).status == SessionStatus.verified
    assert _status(db, flagged).status == SessionStatus.closed
    assert _status(db, adjust_me).status == SessionStatus.closed
    page.locator(f"#session-{others[0].id}").wait_for(state="detached")  # the queue reloaded itself
    screenshot(page, "dashboard-after")


def test_supervisor_verifies_on_a_phone(db, make, unit, phone):
    site = make.site(unit, name_zh="萬華社區關懷據點")
    item = make.item(unit, name_zh="共餐與送餐服務")
    sup = make.user(unit, role="supervisor", display_name="陳督導")
    db.add(SupervisorSite(user_id=sup.id, site_id=site.id))
    db.commit()
    vols = [make.volunteer(unit, name_zh=n, insured=True) for n in ("洪美玲", "曾月娥")]
    approve_me = _session(db, site, item, vols[0], 30)
    adjust_me = _session(db, site, item, vols[1], 28, flags="offline")
    _session(db, site, item, vols[1], 1, open_=True)

    page = sign_in(phone, sup.email)
    page.goto("/dashboard/")
    assert_fits_phone(page)  # no sideways scrolling: the queue is a list of cards
    assert_touch_targets(page)
    row = page.locator(f"#session-{approve_me.id}")
    approve = row.get_by_role("button", name="核准")
    box, width = approve.bounding_box(), page.viewport_size["width"]
    assert box["x"] >= 0 and box["x"] + box["width"] <= width, box  # on screen, not scrolled away
    screenshot(page, "dashboard-phone")
    approve.click()
    page.locator(f"#session-{approve_me.id} .status-verified").wait_for()
    assert _status(db, approve_me).status == SessionStatus.verified

    page.locator(f"#session-{adjust_me.id}").get_by_role("button", name="修改時間").click()
    form = page.locator(f"#session-{adjust_me.id} form")
    start = adjust_me.checked_in_at.astimezone(TAIPEI)
    form.locator("input[name=checked_out_at]").fill((start + dt.timedelta(minutes=90)).strftime("%Y-%m-%dT%H:%M"))
    form.locator("input[name=reason]").fill("志工提早離開")
    assert_fits_phone(page)
    screenshot(page, "dashboard-adjust-phone")
    form.get_by_role("button", name="儲存時間").click()
    page.locator(f"#session-{adjust_me.id} .badge-warn", has_text="已修改").wait_for()
    assert _status(db, adjust_me).elapsed_minutes(utcnow()) == 90


def test_a_flagged_row_says_why_on_a_phone_and_a_tablet(db, make, unit, open_page):
    """A cover found to have ended before the session: the row says so in words, inside its
    card on a phone (no sideways scrolling, thumb-sized buttons) and inside the flags column on
    a tablet, in English too."""
    from models.insurance import InsuranceCover

    site = make.site(unit, name_zh="萬華社區關懷據點", name_en="Wanhua Community Care Point")
    item = make.item(unit, name_zh="共餐與送餐服務", name_en="Shared and delivered meals")
    sup = make.user(unit, role="supervisor", display_name="陳督導")
    db.add(SupervisorSite(user_id=sup.id, site_id=site.id))
    db.commit()
    vol = make.volunteer(unit, name_zh="王淑惠", insured=True)
    s = _session(db, site, item, vol, 30)
    _session(db, site, item, make.volunteer(unit, name_zh="李大同", insured=True), 28)
    db.scalar(select(InsuranceCover).where(InsuranceCover.volunteer_id == vol.id)).starts_on = \
        s.checked_in_at.astimezone(TAIPEI).date() + dt.timedelta(days=1)
    db.commit()  # the re-check flags the session
    day = s.checked_in_at.astimezone(TAIPEI).date().isoformat()

    for size, locale, words in (("phone", "zh-TW", f"王淑惠 於 {day} 沒有有效的意外保險。"),
                                ("tablet", "en", f"王淑惠 had no valid accident insurance on {day}.")):
        page = sign_in(open_page(size, locale), sup.email)
        page.goto("/dashboard/")
        why = page.locator(f"#session-{s.id} .day-gate-reasons")
        expect(why).to_have_text(words)
        width = page.viewport_size["width"]
        box, cell = why.bounding_box(), page.locator(f"#session-{s.id} .flags").bounding_box()
        assert cell["x"] <= box["x"] and box["x"] + box["width"] <= min(cell["x"] + cell["width"], width) + 0.5
        assert_fits_phone(page, width, tables=True)  # nothing scrolls sideways, not even the table
        if size == "phone":
            assert_touch_targets(page)
        screenshot(page, f"dashboard-flag-reason-{size}")


def test_the_queue_fits_a_portrait_tablet(db, make, unit, open_page):
    """At 768 × 1024 (a tablet held upright, a touch screen) every row's Approve button is in view
    without scrolling, in Chinese and in English; Approve and Reject are thumb-sized (44 px) and
    at least 8 px apart; a flag such as 無法取得位置 stays on one line."""
    site = make.site(unit, name_zh="大安長照服務中心", name_en="Da'an Long-term Care Centre")
    item = make.item(unit, name_zh="長者陪伴關懷", name_en="Companionship for elders")
    sup = make.user(unit, role="supervisor", display_name="林督導")
    db.add(SupervisorSite(user_id=sup.id, site_id=site.id))
    db.commit()
    vols = [make.volunteer(unit, name_zh=n, insured=True) for n in ("王怡君", "吳志明", "洪月娥")]
    _session(db, site, item, vols[0], 30, flags="position_unavailable,short")
    _session(db, site, item, vols[1], 28)
    _session(db, site, item, vols[2], 26, flags="offline")

    for locale in ("zh-TW", "en"):
        page = sign_in(open_page("tablet-portrait", locale), sup.email)
        page.goto("/dashboard/")
        assert_fits_phone(page, 768, tables=True)  # the queue does not scroll sideways
        rows = page.evaluate("""() => [...document.querySelectorAll('#queue-table tbody tr')].map(tr => {
            const wrap = tr.closest('.table-wrap').getBoundingClientRect();
            const a = tr.querySelector('.actions .btn-primary').getBoundingClientRect();
            const r = tr.querySelector('.actions .btn-danger').getBoundingClientRect();
            return {id: tr.id, approveLeft: a.left, approveRight: a.right, wrapLeft: wrap.left,
                    wrapRight: Math.min(wrap.right, innerWidth), approveHeight: a.height, rejectHeight: r.height,
                    gap: Math.max(r.left - a.right, a.left - r.right, r.top - a.bottom, a.top - r.bottom)};
        })""")
        assert len(rows) == 3
        for row in rows:
            assert row["wrapLeft"] - 0.5 <= row["approveLeft"] and row["approveRight"] <= row["wrapRight"] + 0.5, (locale, row)
            assert row["approveHeight"] >= 44 and row["rejectHeight"] >= 44, (locale, row)
            assert row["gap"] >= 8, (locale, row)
        if locale == "zh-TW":
            badge = page.locator("#queue-table .badge-warn", has_text="無法取得位置")
            assert badge.bounding_box()["height"] < 2 * 18, "無法取得位置 breaks over lines"
        screenshot(page, f"dashboard-tablet-portrait-{locale}")


def test_a_tap_without_network_says_nothing_was_saved(db, make, unit, tablet):
    """No network at all: reloading would only bring the browser's error page, so the banner
    says nothing was saved and to try again once online, without a reload button."""
    site, item = make.site(unit), make.item(unit)
    sup = make.user(unit, role="supervisor")
    db.add(SupervisorSite(user_id=sup.id, site_id=site.id))
    vol = make.volunteer(unit, name_zh="陳淑芬")
    make.cover(vol)
    s = _session(db, site, item, vol, 30)
    page = sign_in(tablet, sup.email)
    page.goto("/dashboard/")
    page.allow_console_error("net::ERR_INTERNET_DISCONNECTED")
    page.allow_console_error("htmx:")
    banner = page.locator("#hx-failed")
    page.context.set_offline(True)
    try:
        page.locator(f"#session-{s.id}").get_by_role("button", name="核准").click()
        expect(banner).to_be_visible()
        expect(banner).to_have_attribute("role", "alert")
        expect(banner).to_contain_text("沒有網路連線，這次沒有儲存。請在有網路時再試一次。")
        expect(banner.get_by_role("button", name="重新整理頁面")).to_be_hidden()
        assert _status(db, s).status == SessionStatus.closed
    finally:
        page.context.set_offline(False)
    page.locator(f"#session-{s.id}").get_by_role("button", name="核准").click()
    page.locator(f"#session-{s.id} .status-verified").wait_for()
    expect(banner).to_be_hidden()
