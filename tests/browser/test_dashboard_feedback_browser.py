"""What the dashboard says back, as a supervisor sees it: refusals in red wherever they stand, a
bulk approval the queue outran asks again with the new count, and a session checked out by hand
joins the queue without a reload."""
import datetime as dt

from playwright.sync_api import expect

from models import verification as v
from models.base import TAIPEI, utcnow
from models.verification import SupervisorSite
from tests.browser.conftest import SCREENSHOTS, screenshot, sign_in
from tests.browser.test_dashboard_browser import _session, _status

RED = "rgb(180, 35, 24)"  # --red in app.css


def test_refusals_are_red_a_changed_queue_asks_again_and_a_check_out_joins_the_queue(
        db, make, unit, tablet):
    site = make.site(unit, name_zh="大安長照服務中心")
    item = make.item(unit, name_zh="長者陪伴關懷")
    sup = make.user(unit, role="supervisor", display_name="林督導")
    other = make.user(unit, role="admin", display_name="王承辦")
    db.add(SupervisorSite(user_id=sup.id, site_id=site.id))
    db.commit()
    vols = [make.volunteer(unit, name_zh=n, insured=True) for n in ("陳淑芬", "林志明", "黃雅婷", "張家豪")]
    waiting = [_session(db, site, item, vol, 30 - i) for i, vol in enumerate(vols[:3])]
    on_site = _session(db, site, item, vols[3], 2, open_=True)

    page = sign_in(tablet, sup.email)
    page.allow_console_error("status of 409")
    page.allow_console_error("status of 400")
    page.goto("/dashboard/")
    page.evaluate("window.__marker = 'same page'")

    # bulk approval asked for 3; someone approves one meanwhile
    page.get_by_role("button", name="核准所有無標記紀錄…").click()
    page.get_by_role("button", name="確定核准 3 筆").wait_for()
    v.approve(db, waiting[0].id, other, utcnow())
    db.commit()
    page.get_by_role("button", name="確定核准 3 筆").click()
    refusal = page.locator("#bulk-area .error")
    expect(refusal).to_contain_text("現在符合的是 2 筆，不是 3 筆")
    expect(refusal).to_have_css("color", RED)
    expect(refusal).to_have_attribute("role", "alert")
    expect(page.locator("#queue-tools")).to_contain_text("有 2 筆無標記的紀錄")  # the count follows
    page.locator(f"#session-{waiting[0].id}").wait_for(state="detached")  # and the rows: gone
    screenshot(page, "dashboard-bulk-queue-changed")
    page.get_by_role("button", name="確定核准 2 筆").click()
    page.get_by_text("已核准 2 筆紀錄。").wait_for()

    # checking out by hand: a refusal keeps what was typed, in red; then the session joins the queue
    row = page.locator(f"#on-site-{on_site.id}")
    row.get_by_role("button", name="代為簽退…").click()
    panel = row.locator(f"#checkout-{on_site.id}")  # in the person's row, not under the whole list
    expect(panel.get_by_role("heading")).to_have_text("代 張家豪 簽退")
    name_box, form_box = row.locator(".who").bounding_box(), panel.bounding_box()
    assert 0 <= form_box["y"] - (name_box["y"] + name_box["height"]) < 80, (name_box, form_box)
    page.wait_for_timeout(11_000)  # the list refreshes every 10 s: not while a form is open in it
    expect(panel.locator("input[name=at]")).to_be_visible()
    page.locator("section[aria-labelledby=on-site-title]").screenshot(
        path=SCREENSHOTS / "dashboard-check-out-form-in-the-row.png", animations="allow",
        caret="initial")  # Playwright's injected styles broke the CSP (a console error) at the next swap
    later = (utcnow() + dt.timedelta(hours=2)).astimezone(TAIPEI).strftime("%Y-%m-%dT%H:%M")
    panel.locator("input[name=at]").fill(later)
    panel.locator("input[name=reason]").fill("忘記簽退")
    panel.get_by_role("button", name="簽退").click()
    expect(panel.locator(".error")).to_have_text("時間不能在未來。")
    expect(panel.locator(".error")).to_have_css("color", RED)
    expect(panel.locator("input[name=reason]")).to_have_value("忘記簽退")
    expect(panel.locator("input[name=at]")).to_have_value(later)
    assert page.locator(f"#session-{on_site.id}").count() == 0
    earlier = (utcnow() - dt.timedelta(minutes=20)).astimezone(TAIPEI).strftime("%Y-%m-%dT%H:%M")
    panel.locator("input[name=at]").fill(earlier)
    panel.get_by_role("button", name="簽退").click()
    page.locator("#checkout-panel").get_by_text("張家豪 已於").wait_for()  # under the list: the row is gone
    row.wait_for(state="detached")
    page.locator(f"#session-{on_site.id}").wait_for()  # in the queue, no reload
    assert page.evaluate("window.__marker") == "same page"
    assert _status(db, on_site).checked_out_at is not None
    screenshot(page, "dashboard-checked-out-by-hand-in-queue")
