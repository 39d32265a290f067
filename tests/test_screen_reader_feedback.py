"""What a screen reader hears of in-place (htmx) actions: the dashboard's answers say what was
done in the page's live region, a refused reason is marked on its field, repeated buttons say
whose row they act on; the slips search says its count, not the whole table again."""
import datetime as dt
import json
import re

from models import slips
from models.base import begin_write
from tests.test_dashboard import add_session, world  # noqa: F401 (fixture)
from tests.test_slips import ISSUE_NOW, MARCH, fresh, place, served  # noqa: F401 (fixture)


def _announced(response) -> str:
    return json.loads(response.headers["HX-Trigger-After-Settle"])["announce"]


def test_each_row_action_is_announced_with_whose_row(db, world, supervisor):
    site, _e, item, vol = world
    a, b, c = (add_session(db, site, item, vol, hours_ago=h) for h in (30, 20, 10))
    page = supervisor.get("/dashboard/").get_data(as_text=True)
    assert re.search(r'<p class="visually-hidden" aria-live="polite" data-announce></p>', page)
    approved = supervisor.post(f"/dashboard/sessions/{a.id}/approve", {"version": a.version}, hx=True)
    assert approved.headers["HX-Trigger"] == "session-changed"
    said = _announced(approved)
    assert said.startswith("已核准 陳淑芬 ") and "–" in said
    rejected = supervisor.post(f"/dashboard/sessions/{b.id}/reject", {"version": b.version, "reason": "重複"}, hx=True)
    assert _announced(rejected).startswith("已退回 陳淑芬 ")
    start = c.checked_in_at.astimezone(dt.timezone(dt.timedelta(hours=8)))
    adjusted = supervisor.post(f"/dashboard/sessions/{c.id}/adjust", {
        "version": c.version, "reason": "提早離開",
        "checked_in_at": start.strftime("%Y-%m-%dT%H:%M"),
        "checked_out_at": (start + dt.timedelta(minutes=60)).strftime("%Y-%m-%dT%H:%M")}, hx=True)
    assert adjusted.status_code == 200 and _announced(adjusted).startswith("已修改時間：陳淑芬 ")
    refused = supervisor.post(f"/dashboard/sessions/{b.id}/approve", {"version": b.version}, hx=True)
    assert "HX-Trigger-After-Settle" not in refused.headers  # nothing done, nothing said


def test_a_missing_reason_is_marked_on_its_field(db, world, supervisor):
    site, _e, item, vol = world
    s = add_session(db, site, item, vol)
    for mode in ("reject", "adjust"):
        data = {"version": s.version, "reason": " "}
        if mode == "adjust":
            start = s.checked_in_at.astimezone(dt.timezone(dt.timedelta(hours=8)))
            data |= {"checked_in_at": start.strftime("%Y-%m-%dT%H:%M"),
                     "checked_out_at": (start + dt.timedelta(minutes=60)).strftime("%Y-%m-%dT%H:%M")}
        answer = supervisor.post(f"/dashboard/sessions/{s.id}/{mode}", data, hx=True)
        text = answer.get_data(as_text=True)
        assert answer.status_code == 400
        reason = re.search(r'<input type="text" id="reason-\d+" name="reason"[^>]*>', text).group(0)
        assert 'aria-invalid="true"' in reason and f'aria-describedby="error-{s.id}"' in reason
        assert f'id="error-{s.id}"' in text and "請填寫原因" in text
    # a refusal that is not about the reason leaves it unmarked
    late = supervisor.post(f"/dashboard/sessions/{s.id}/reject", {"version": s.version - 1, "reason": "x"}, hx=True)
    assert 'aria-invalid' not in late.get_data(as_text=True)


def test_a_missing_reason_is_marked_when_checking_out_by_hand(db, world, supervisor):
    site, _e, item, vol = world
    s = add_session(db, site, item, vol, hours_ago=2, open=True)
    at = (s.checked_in_at + dt.timedelta(minutes=30)).astimezone(dt.timezone(dt.timedelta(hours=8)))
    answer = supervisor.post(f"/dashboard/sessions/{s.id}/check-out",
                             {"version": s.version, "at": at.strftime("%Y-%m-%dT%H:%M"), "reason": ""}, hx=True)
    reason = re.search(r'<input type="text" id="co-reason-\d+"[^>]*>', answer.get_data(as_text=True)).group(0)
    assert 'aria-invalid="true"' in reason and f'aria-describedby="co-error-{s.id}"' in reason


def test_repeated_buttons_say_whose_row_and_toggles_are_expandable(db, world, supervisor):
    site, _e, item, vol = world
    s = add_session(db, site, item, vol)
    add_session(db, site, item, vol, hours_ago=1, open=True)
    page = supervisor.get("/dashboard/").get_data(as_text=True)
    row = re.search(rf'<tr id="session-{s.id}".*?</tr>', page, re.S).group(0)
    approve = re.search(r'<button type="submit"[^>]*>核准</button>', row).group(0)
    assert 'aria-label="核准 陳淑芬 ' in approve
    for label in ("修改時間", "退回"):
        button = re.search(rf'<button [^>]*aria-label="{label} 陳淑芬 [^>]*>{label}</button>', row)
        assert button and 'aria-expanded="false"' in button.group(0)
    checkout = re.search(r'<button [^>]*>代為簽退…</button>', page, re.S).group(0)
    assert 'aria-expanded="false"' in checkout and 'aria-controls="checkout-' in checkout
    assert 'aria-label="代為簽退… 陳淑芬"' in checkout


def test_the_bulk_confirmation_takes_the_focus(db, world, supervisor):
    site, _e, item, vol = world
    add_session(db, site, item, vol)
    panel = supervisor.get("/dashboard/bulk-approve", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert 'data-return-focus="#bulk-open"' in panel
    assert re.search(r'<button type="submit" class="btn btn-primary" autofocus>確定核准 1 筆', panel)
    assert 'id="bulk-open"' in supervisor.get("/dashboard/").get_data(as_text=True)


def test_the_slip_search_says_its_count_not_the_table(db, make, unit, place, admin):
    site, _o, item = place
    chen = make.volunteer(unit, name_zh="陳淑芬", volunteer_no="0001")
    served(db, chen, site, item, dt.date(2026, 3, 2))
    begin_write(fresh(db))
    slips.issue_slips(db, admin.user, ISSUE_NOW, date_from=MARCH[0], date_to=MARCH[1])
    db.commit()
    page = admin.get("/slips/").get_data(as_text=True)
    assert re.search(r'<div id="issued-slips">', page) and "aria-live" not in page.split('id="issued-slips"')[1][:200]
    assert '<th><span class="visually-hidden">PDF</span></th>' in page  # no empty header cell
    rows = admin.get("/slips/?q=陳淑芬", headers={"HX-Request": "true", "HX-Target": "issued-slips"})
    assert _announced(rows) == "找到 1 張時數條"
    none = admin.get("/slips/?q=nobody", headers={"HX-Request": "true", "HX-Target": "issued-slips"})
    assert _announced(none) == "找到 0 張時數條"


def test_the_slip_preview_takes_the_focus(db, make, unit, place, admin):
    site, _o, item = place
    served(db, make.volunteer(unit, name_zh="陳淑芬"), site, item, dt.date(2026, 3, 2))
    card = admin.get("/slips/?period=range&date_from=2026-03-01&date_to=2026-03-31",
                     headers={"HX-Request": "true", "HX-Target": "issue"}).get_data(as_text=True)
    assert re.search(r'<div class="panel" id="preview">\s*<h3 tabindex="-1" autofocus>', card)


def test_hour_totals_break_between_hours_and_minutes_only(app):
    from webapp.i18n import duration_html
    with app.test_request_context():
        assert str(duration_html(725)) == '<span class="nowrap">12 小時</span> <span class="nowrap">05 分</span>'
