"""The supervisor dashboard with the keyboard alone (Tab, Shift+Tab, arrows, Enter, Space): approve,
adjust with a reason and reject a session; every control the keyboard lands on shows its focus,
and after a row changes in place the keyboard is still in that row (not thrown back to the top)."""
from __future__ import annotations

import datetime as dt
import json

from playwright.sync_api import Page, expect

from models.audit import AuditEntry
from models.base import TAIPEI
from models.service import ServiceSession, SessionSource, SessionStatus
from models.verification import SupervisorSite

from .conftest import screenshot, sign_in
from .test_accessibility_browser import axe_violations

FOCUSED = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const style = getComputedStyle(el);
  const ring = style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2;
  const row = el.closest('tr');
  return {tag: el.tagName.toLowerCase(), text: (el.innerText || el.value || '').trim(), name: el.name || '',
          row: row ? row.id : '', ring: ring || (style.boxShadow && style.boxShadow !== 'none')};
}"""


def focused(page: Page) -> dict | None:
    return page.evaluate(FOCUSED)


def tab_to(page: Page, row: str, text: str, limit: int = 120) -> dict:
    """Press Tab until the control labelled `text` in row `row` has the focus; every stop on the
    way must show a focus ring."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        now = focused(page)
        if now is None:
            continue
        assert now["ring"], f"no visible focus on {now}"
        if now["row"] == row and now["text"] == text:
            return now
    raise AssertionError(f"Tab never reached {text!r} in #{row}")


def keeps_focus_in(page: Page, row: str) -> None:
    """After the row was swapped in place, the keyboard focus is inside it (not back at the top)."""
    try:
        page.wait_for_function("(row) => document.activeElement && document.activeElement.closest('tr')"
                               " && document.activeElement.closest('tr').id === row", arg=row, timeout=3000)
    except Exception:
        raise AssertionError(f"focus left #{row}: now on {focused(page)}") from None


def _session(db, site, item, vol, day: dt.date) -> ServiceSession:
    start = dt.datetime.combine(day, dt.time(9, 0), tzinfo=TAIPEI).astimezone(dt.timezone.utc)
    s = ServiceSession(unit_id=site.unit_id, volunteer_id=vol.id, site_id=site.id, service_item_id=item.id,
                       checked_in_at=start, checked_out_at=start + dt.timedelta(minutes=120),
                       status=SessionStatus.closed, source=SessionSource.kiosk_card)
    db.add(s)
    db.commit()
    return s


def fresh(db, s) -> ServiceSession:
    db.rollback()
    db.expire_all()
    return db.get(ServiceSession, s.id)


def test_supervisor_approves_adjusts_and_rejects_with_the_keyboard_only(db, make, unit, open_page):
    site = make.site(unit, name_zh="大安長照服務中心", name_en="Da'an Care Centre")
    item = make.item(unit, name_zh="長者陪伴關懷")
    sup = make.user(unit, role="supervisor", display_name="林督導")
    db.add(SupervisorSite(user_id=sup.id, site_id=site.id))
    db.commit()
    day = dt.datetime.now(TAIPEI).date() - dt.timedelta(days=2)
    approve_me, adjust_me, reject_me = (
        _session(db, site, item, make.volunteer(unit, name_zh=name, insured=True), day)
        for name in ("陳淑芬", "林志明", "黃雅婷"))

    page = open_page("tablet", locale="en")  # en-US date fields: mm/dd/yyyy, hh:mm AM
    sign_in(page, sup.email)
    page.goto("/dashboard/")
    page.locator(f"#session-{approve_me.id}").wait_for()

    # Approve: Tab to the row's Approve button, Enter.
    tab_to(page, f"session-{approve_me.id}", "Approve")
    screenshot(page, "keyboard-dashboard-focus")
    page.keyboard.press("Enter")
    expect(page.locator(f"#session-{approve_me.id} .status-verified")).to_be_visible()
    assert fresh(db, approve_me).status == SessionStatus.verified
    keeps_focus_in(page, f"session-{approve_me.id}")

    # Adjust: Space on Adjust opens the form with the focus in the reason field; Shift+Tab back to
    # the check-out hour, one hour less with the arrow key, Tab back to the reason, Enter saves.
    tab_to(page, f"session-{adjust_me.id}", "Adjust")
    page.keyboard.press("Space")
    reason = page.locator(f"#reason-{adjust_me.id}")
    expect(reason).to_be_focused()
    assert axe_violations(page) == [], "the open adjust form fails axe"
    checkout = page.locator(f"#out-{adjust_me.id}")
    before = checkout.input_value()
    steps = 0
    while steps < 8:  # back through the check-out field's parts until ArrowDown takes an hour off
        page.keyboard.press("Shift+Tab")
        steps += 1
        page.keyboard.press("ArrowDown")
        changed = checkout.input_value()
        if changed != before:
            if changed[:-5] == before[:-5] and changed[-5:] == "10:00":
                break
            page.keyboard.press("ArrowUp")  # another part (the minutes): put it back
            assert checkout.input_value() == before
    expect(checkout).to_be_focused()
    new_out = dt.datetime.fromisoformat(checkout.input_value()).replace(tzinfo=TAIPEI)
    assert new_out.hour == 10, checkout.input_value()
    for _ in range(8):  # forward again to the reason
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.name") == "reason":
            break
    expect(reason).to_be_focused()
    page.keyboard.type("Left an hour early")
    page.keyboard.press("Enter")
    expect(page.locator(f"#session-{adjust_me.id} .badge-warn")).to_be_visible()
    adjusted = fresh(db, adjust_me)
    assert adjusted.checked_out_at == new_out.astimezone(dt.timezone.utc)
    assert adjusted.elapsed_minutes(adjusted.checked_out_at) == 60
    keeps_focus_in(page, f"session-{adjust_me.id}")

    # Reject: Enter on Reject, type the reason, Tab to the form's Reject button, Space.
    tab_to(page, f"session-{reject_me.id}", "Reject")
    page.keyboard.press("Enter")
    expect(page.locator(f"#reason-{reject_me.id}")).to_be_focused()
    page.keyboard.type("Not on the roster that day")
    page.keyboard.press("Tab")
    now = focused(page)
    assert now["text"] == "Reject" and now["ring"], now
    page.keyboard.press("Space")
    expect(page.locator(f"#session-{reject_me.id} .status-rejected")).to_be_visible()
    assert fresh(db, reject_me).status == SessionStatus.rejected
    screenshot(page, "keyboard-dashboard-done")

    reasons = {(json.loads(e.after or "{}")).get("reason") for e in db.query(AuditEntry).filter(
        AuditEntry.entity == "service_session", AuditEntry.entity_id.in_([adjust_me.id, reject_me.id]))}
    assert {"Left an hour early", "Not on the roster that day"} <= reasons


def test_a_part_that_loads_itself_does_not_take_the_focus(db, make, unit, open_page):
    """The admin home page's filing-deadline card loads itself after the page (htmx, on load):
    the focus stays where the person had it, at the top of the page, not on the card's button."""
    admin = make.user(unit, role="admin")
    page = open_page("phone")
    sign_in(page, admin.email)
    page.locator("#deadlines .people").wait_for()  # the card has loaded
    page.wait_for_timeout(300)  # and settled
    assert focused(page) is None, f"the page load moved the focus to {focused(page)}"
    page.keyboard.press("Tab")
    first = focused(page)
    assert first is not None and not page.evaluate(
        "() => !!document.activeElement.closest('#deadlines')"), first
