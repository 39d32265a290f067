"""Phone check-in over HTTP: the site poster (/s/<token>) and the kiosk's rotating QR (/k/<token>)."""
import datetime as dt
import re

import pytest
from sqlalchemy import select

from models.base import utcnow
from models.checkin import CheckinEvent
from models.kiosk import create_device, enrol, presence_token
from models.service import Flag, ServiceSession, SessionSource, SessionStatus
from models.sites import regenerate_site_token
from models.insurance import InsuranceCover
from models.training import TrainingRecord

KEY = re.compile(r'name="key" value="([^"]+)"')
CHECK_IN_BUTTON = 'value="check_in">簽到</button>'
CHECK_OUT_BUTTON = 'value="check_out">簽退</button>'


@pytest.fixture
def site(make, unit):
    return make.site(unit, name_zh="大安長照服務中心", name_en="Da'an Care Centre")


@pytest.fixture
def item(make, unit):
    return make.item(unit, name_zh="長者陪伴關懷")


@pytest.fixture
def insured(volunteer, make):
    make.cover(volunteer.user.volunteer)
    return volunteer


def _key(page):
    return KEY.search(page).group(1)


def _sessions(db):
    db.rollback()  # end the test's read transaction: SQLite would keep showing its old snapshot
    db.expire_all()
    return db.scalars(select(ServiceSession)).all()


def test_scan_poster_while_signed_out_signs_in_then_lands_back(app, make, unit, site, anon):
    user = make.user(unit, role="volunteer")
    make.cover(user.volunteer)
    first = anon.get(f"/s/{site.token}")
    assert first.status_code == 302 and first.headers["Location"] == f"/sign-in?next=/s/{site.token}"
    sign_in_page = anon.get(first.headers["Location"]).get_data(as_text=True)
    assert "登入後即可在大安長照服務中心簽到" in sign_in_page  # where the sign-in leads
    for elsewhere in ("/", "/s/not-a-token", "/me/hours", "//evil.example/s/x"):
        assert "登入後即可在" not in anon.get(f"/sign-in?next={elsewhere}").get_data(as_text=True)
    response = anon.sign_in(user.email, make.PASSWORD, next_url=f"/s/{site.token}")
    assert response.headers["Location"] == f"/s/{site.token}"
    page = anon.get(f"/s/{site.token}").get_data(as_text=True)
    assert "大安長照服務中心" in page and CHECK_IN_BUTTON in page and user.volunteer.name_zh in page


def test_check_in_and_out_with_one_tap_each(db, site, item, insured):
    page = insured.get(f"/s/{site.token}").get_data(as_text=True)
    assert "長者陪伴關懷" in page
    response = insured.post(f"/s/{site.token}", {"action": "check_in", "item_id": item.id, "key": _key(page)})
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "已簽到" in page and CHECK_OUT_BUTTON in page
    [s] = _sessions(db)
    assert s.status == SessionStatus.open and s.source == SessionSource.poster
    assert abs((s.checked_in_at - utcnow()).total_seconds()) < 5  # the server's clock
    response = insured.post(f"/s/{site.token}", {"action": "check_out", "key": _key(page), "persons_served": "6"})
    page = response.get_data(as_text=True)
    assert "已簽退" in page and "督導審核" in page
    [s] = _sessions(db)
    assert s.status == SessionStatus.closed and s.persons_served == 6


def test_double_tap_creates_one_session(db, site, item, insured):
    page = insured.get(f"/s/{site.token}").get_data(as_text=True)
    data = {"action": "check_in", "item_id": item.id, "key": _key(page)}
    assert insured.post(f"/s/{site.token}", data).status_code == 200
    assert insured.post(f"/s/{site.token}", data).status_code == 200
    assert len(_sessions(db)) == 1


def test_item_defaults_to_the_last_one_used_here(db, make, unit, site, item, insured):
    other = make.item(unit, name_zh="共餐服務", code="Z99")
    page = insured.get(f"/s/{site.token}").get_data(as_text=True)
    page = insured.post(f"/s/{site.token}", {"action": "check_in", "item_id": other.id, "key": _key(page)}).get_data(as_text=True)
    insured.post(f"/s/{site.token}", {"action": "check_out", "key": _key(page)})
    page = insured.get(f"/s/{site.token}").get_data(as_text=True)
    assert re.search(rf'<option value="{other.id}" selected>', page)


def test_no_insurance_is_refused_with_reason(db, site, item, volunteer):
    page = volunteer.get(f"/s/{site.token}").get_data(as_text=True)
    response = volunteer.post(f"/s/{site.token}", {"action": "check_in", "item_id": item.id, "key": _key(page)})
    assert response.status_code == 409
    assert "沒有有效的意外保險，請洽承辦人" in response.get_data(as_text=True)
    assert _sessions(db) == []
    assert db.scalar(select(CheckinEvent.refusal_code)) == "no_insurance"


def test_open_at_another_site_offers_check_out_there(db, make, unit, site, item, insured):
    other = make.site(unit, name_zh="萬華社區關懷據點")
    page = insured.get(f"/s/{other.token}").get_data(as_text=True)
    insured.post(f"/s/{other.token}", {"action": "check_in", "item_id": item.id, "key": _key(page)})
    page = insured.get(f"/s/{site.token}").get_data(as_text=True)
    assert "萬華社區關懷據點" in page and "先在萬華社區關懷據點簽退" in page
    page = insured.post(f"/s/{site.token}", {"action": "check_out", "key": _key(page)}).get_data(as_text=True)
    assert CHECK_IN_BUTTON in page
    # the confirmation names the site checked out of (this page is another site's)
    assert "已在萬華社區關懷據點簽退" in page
    assert [s.status for s in _sessions(db)] == [SessionStatus.closed]


def test_unknown_and_regenerated_poster_tokens(db, make, unit, site, insured):
    assert insured.get("/s/not-a-real-token").status_code == 404
    old = site.token
    regenerate_site_token(db, db.get(type(site), site.id), make.user(unit, role="admin"))
    db.commit()
    response = insured.get(f"/s/{old}")
    assert response.status_code == 404 and "不再使用" in response.get_data(as_text=True)


def test_other_units_poster_is_not_usable(make, insured):
    foreign = make.site(make.unit())
    assert insured.get(f"/s/{foreign.token}").status_code == 404


def test_presence_check_refuses_far_away_and_flags_unknown_position(db, make, unit, item, insured):
    site = make.site(unit, latitude=25.0263, longitude=121.5436, radius_m=200)
    page = insured.get(f"/s/{site.token}").get_data(as_text=True)
    assert "data-needs-position" in page
    far = insured.post(f"/s/{site.token}", {"action": "check_in", "item_id": item.id, "key": _key(page),
                                            "lat": "25.0478", "lon": "121.5170", "acc": "10"})
    assert far.status_code == 409 and "請在服務地點簽到" in far.get_data(as_text=True)
    assert "請到櫃台的簽到站簽到，或洽督導" in far.get_data(as_text=True)  # a way on if GPS is wrong
    # about 3.5 km: in kilometres with one decimal (was "約 3591 公尺", broken across lines)
    assert re.search("約 [0-9]\\.[0-9]\u00a0公里", far.get_data(as_text=True))
    unknown = insured.post(f"/s/{site.token}", {"action": "check_in", "item_id": item.id, "key": _key(page) + "x"})
    assert unknown.status_code == 200
    assert "您的手機未提供位置，督導會確認這筆服務紀錄" in unknown.get_data(as_text=True)
    [s] = _sessions(db)
    assert Flag.position_unavailable.value in s.flag_set


def test_bad_input_changes_nothing(db, site, item, insured):
    assert insured.post(f"/s/{site.token}", {"action": "explode"}).status_code == 400
    response = insured.post(f"/s/{site.token}", {"action": "check_in", "item_id": "abc"})
    assert response.status_code == 409 and "只有本單位的服務項目" in response.get_data(as_text=True)
    assert insured.post(f"/s/{site.token}", {"action": "check_in", "item_id": item.id, "lat": "999", "lon": "x"}).status_code == 200
    assert len(_sessions(db)) == 1


def test_staff_cannot_use_the_phone_check_in(admin, site):
    assert admin.get(f"/s/{site.token}").status_code == 403


def test_check_in_needs_csrf(db, site, item, insured):
    response = insured.client.post(f"/s/{site.token}", data={"action": "check_in", "item_id": item.id})
    assert response.status_code == 400
    assert _sessions(db) == []


FORM_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def test_without_javascript_each_answer_carries_a_token_for_the_next_tap(db, site, item, insured):
    """A plain form post (no htmx header, no meta tag read): the check-out uses the token in the
    form the check-in answered with, and a tampered token is still refused."""
    page = insured.get(f"/s/{site.token}").get_data(as_text=True)
    answer = insured.client.post(f"/s/{site.token}", data={
        "action": "check_in", "item_id": item.id, "key": _key(page),
        "csrf_token": FORM_TOKEN.search(page).group(1)}).get_data(as_text=True)
    assert "已簽到" in answer
    token = FORM_TOKEN.search(answer).group(1)
    forged = insured.client.post(f"/s/{site.token}", data={
        "action": "check_out", "key": _key(answer), "csrf_token": token[:-2] + "xx"})
    assert forged.status_code == 400
    assert _sessions(db)[0].checked_out_at is None
    done = insured.client.post(f"/s/{site.token}", data={
        "action": "check_out", "key": _key(answer), "csrf_token": token})
    assert done.status_code == 200 and "已簽退" in done.get_data(as_text=True)
    assert _sessions(db)[0].checked_out_at is not None


def _kiosk(app, db, site):
    now = utcnow()
    device, code = create_device(db, site=db.get(type(site), site.id), name="櫃台平板", actor=None, now=now)
    enrol(db, code, now)
    db.commit()
    return device


def _scan(person, token):
    """What the phone's camera opens: the rotating QR's URL, which hands out a presence pass."""
    response = person.get(f"/k/{token}")
    assert response.status_code == 302, response.get_data(as_text=True)
    location = response.headers["Location"]
    assert location.startswith("/k/p/")
    return location


def test_kiosk_rotating_qr(app, db, site, item, insured):
    device = _kiosk(app, db, site)
    url = _scan(insured, presence_token(device, app.secret_key, utcnow()))
    page = insured.get(url).get_data(as_text=True)
    assert "大安長照服務中心" in page and f'hx-post="{url}"' in page
    response = insured.post(url, {"action": "check_in", "item_id": item.id, "key": _key(page)})
    assert response.status_code == 200
    [s] = _sessions(db)
    assert s.source == SessionSource.kiosk_qr


def test_kiosk_pass_outlives_the_rotating_code(app, db, monkeypatch, site, item, insured):
    """Scan, then more than 90 s before the tap: the rotating code would have expired, the
    presence pass has not; it expires PRESENCE_PASS_SECONDS after the scan, and then the
    answer to the panel's htmx POST says so in place of the panel (409, swapped)."""
    import kiosk.phone
    from models import kiosk as kiosks

    device = _kiosk(app, db, site)
    url = _scan(insured, presence_token(device, app.secret_key, utcnow()))
    page = insured.get(url).get_data(as_text=True)
    start = utcnow()
    monkeypatch.setattr(kiosk.phone, "utcnow", lambda: start + dt.timedelta(seconds=kiosks.PRESENCE_VALID_SECONDS + 60))
    response = insured.post(url, {"action": "check_in", "item_id": item.id, "key": _key(page)}, hx=True)
    assert response.status_code == 200 and "已簽到" in response.get_data(as_text=True)
    assert len(_sessions(db)) == 1
    monkeypatch.setattr(kiosk.phone, "utcnow", lambda: start + dt.timedelta(seconds=kiosks.PRESENCE_PASS_SECONDS + 10))
    late = insured.post(url, {"action": "check_out", "key": _key(response.get_data(as_text=True))}, hx=True)
    panel = late.get_data(as_text=True)
    assert late.status_code == 409 and 'id="checkin-panel"' in panel and "<html" not in panel
    assert "已過期" in panel and "重新掃描" in panel
    assert _sessions(db)[0].checked_out_at is None  # nothing changed
    page = insured.get(url)
    assert page.status_code == 404 and "已過期" in page.get_data(as_text=True)


def test_kiosk_scan_while_signed_out_survives_a_slow_sign_in(app, db, monkeypatch, make, unit, site, item, anon):
    """Not signed in: the scan is checked first and the sign-in brings the phone back to the
    pass, which still works minutes later, when the rotating code has long expired."""
    import kiosk.phone

    user = make.user(unit, role="volunteer")
    make.cover(user.volunteer)
    device = _kiosk(app, db, site)
    url = _scan(anon, presence_token(device, app.secret_key, utcnow()))
    first = anon.get(url)
    assert first.status_code == 302 and first.headers["Location"] == f"/sign-in?next={url}"
    start = utcnow()
    monkeypatch.setattr(kiosk.phone, "utcnow", lambda: start + dt.timedelta(minutes=3))  # typing...
    response = anon.sign_in(user.email, make.PASSWORD, next_url=url)
    assert response.headers["Location"] == url
    page = anon.get(url).get_data(as_text=True)
    assert "大安長照服務中心" in page and user.volunteer.name_zh in page
    assert anon.post(url, {"action": "check_in", "item_id": item.id, "key": _key(page)}).status_code == 200
    [s] = _sessions(db)
    assert s.source == SessionSource.kiosk_qr and s.volunteer_id == user.volunteer.id


def test_kiosk_qr_forged_expired_or_revoked(app, db, make, site, insured):
    from models import kiosk as kiosks

    device = _kiosk(app, db, site)
    now = utcnow()
    assert insured.get("/k/forged.token").status_code == 404
    assert insured.get("/k/p/forged.pass").status_code == 404
    stale = presence_token(device, app.secret_key, now - dt.timedelta(minutes=3))
    response = insured.get(f"/k/{stale}")
    assert response.status_code == 404 and "已過期" in response.get_data(as_text=True)
    other_key = presence_token(device, "another secret", now)
    assert insured.get(f"/k/{other_key}").status_code == 404
    assert insured.get(f"/k/p/{kiosks.presence_pass(device.id, 'another secret', now)}").status_code == 404
    old_pass = kiosks.presence_pass(device.id, app.secret_key, now - dt.timedelta(minutes=6))
    response = insured.get(f"/k/p/{old_pass}")
    assert response.status_code == 404 and "已過期" in response.get_data(as_text=True)
    # a kiosk of another unit: its pass does not work for this unit's volunteers
    foreign_site = make.site(make.unit())
    foreign = _kiosk(app, db, foreign_site)
    foreign_url = _scan(insured, presence_token(foreign, app.secret_key, now))
    response = insured.get(foreign_url)
    assert response.status_code == 404 and "無法在此使用" in response.get_data(as_text=True)
    # revoked: neither the code nor a pass handed out before works any more
    url = _scan(insured, presence_token(device, app.secret_key, now))
    kiosks.revoke(db, db.get(type(device), device.id), None, now)
    db.commit()
    assert insured.get(f"/k/{presence_token(device, app.secret_key, now)}").status_code == 404
    assert insured.get(url).status_code == 404


def test_close_stale_command(app, db, site, item, insured):
    page = insured.get(f"/s/{site.token}").get_data(as_text=True)
    insured.post(f"/s/{site.token}", {"action": "check_in", "item_id": item.id, "key": _key(page)})
    [s] = _sessions(db)
    s.checked_in_at = utcnow() - dt.timedelta(hours=13)
    db.commit()
    result = app.test_cli_runner().invoke(args=["sessions", "close-stale"])
    assert "closed 1 stale session\n" in result.output
    [s] = _sessions(db)
    assert s.status == SessionStatus.needs_review and s.credited_minutes == 0


def test_htmx_posts_get_only_the_panel_back_with_the_next_action(db, make, unit, site, item, insured):
    other = make.item(unit, name_zh="餐食協助")
    page = insured.get(f"/s/{site.token}").get_data(as_text=True)
    assert 'hx-post="/s/' in page  # the page's forms post through htmx
    response = insured.post(f"/s/{site.token}", {"action": "check_in", "item_id": other.id,
                                                 "key": _key(page)}, hx=True)
    panel = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<html" not in panel and panel.lstrip().startswith(("{#", "<section"))
    assert 'id="checkin-panel"' in panel and "已簽到" in panel and CHECK_OUT_BUTTON in panel
    response = insured.post(f"/s/{site.token}", {"action": "check_out", "key": _key(panel)}, hx=True)
    panel = response.get_data(as_text=True)
    # checked out: the confirmation, and checking in again is a link to the form, not a button
    assert "已簽退" in panel and CHECK_IN_BUTTON not in panel
    assert re.search(rf'<a class="btn" href="/s/{site.token}" hx-get="/s/{site.token}" '
                     r'hx-target="#checkin-panel" hx-swap="outerHTML">再次簽到</a>', panel)
    response = insured.get(f"/s/{site.token}", headers={"HX-Request": "true"})
    panel = response.get_data(as_text=True)
    assert "<html" not in panel and CHECK_IN_BUTTON in panel and "已簽退" not in panel
    # the check-in form offers the item just used here first
    assert re.search(rf'<option value="{other.id}" selected>', panel)
    [s] = _sessions(db)
    assert s.status == SessionStatus.closed


def test_htmx_refusal_answers_409_with_the_reason_in_the_panel(db, make, unit, site, item, volunteer):
    page = volunteer.get(f"/s/{site.token}").get_data(as_text=True)  # no insurance cover
    response = volunteer.post(f"/s/{site.token}", {"action": "check_in", "item_id": item.id,
                                                   "key": _key(page)}, hx=True)
    panel = response.get_data(as_text=True)
    assert response.status_code == 409 and "<html" not in panel
    assert "沒有有效的意外保險" in panel and CHECK_IN_BUTTON in panel
    assert _sessions(db) == []


def test_a_refusal_says_every_reason_at_once_and_keeps_the_item_chosen(db, make, unit, site, item,
                                                                       volunteer):
    """No insurance and no training: both said on the one try (not one a trip), the training
    ones saying whom to ask; the refusal log keeps the first; the item chosen stays chosen."""
    vol = volunteer.user.volunteer
    chosen = make.item(unit, name_zh="櫃台諮詢服務", code="Z99")  # not the first item
    db.execute(TrainingRecord.__table__.delete().where(TrainingRecord.volunteer_id == vol.id))
    db.commit()
    page = volunteer.get(f"/s/{site.token}").get_data(as_text=True)
    assert re.search(rf'<option value="{item.id}" selected>', page)  # the first, before any try
    response = volunteer.post(f"/s/{site.token}", {"action": "check_in", "item_id": chosen.id,
                                                   "key": _key(page)}, hx=True)
    panel = response.get_data(as_text=True)
    assert response.status_code == 409 and "<html" not in panel
    assert "簽到未成功" in panel and "沒有登記成功" not in panel
    assert "沒有有效的意外保險，請洽承辦人。" in panel
    assert re.search(r"<li>尚未完成基礎訓練：[^<]+。請洽承辦人。</li>", panel)
    assert "<li>「社會福利類」特殊訓練尚未完成：" in panel
    assert re.search(rf'<option value="{chosen.id}" selected>', panel)
    assert not re.search(rf'<option value="{item.id}" selected>', panel)
    assert _sessions(db) == []
    assert db.scalars(select(CheckinEvent.refusal_code)).all() == ["no_insurance"]
    english = volunteer.post(f"/s/{site.token}", {"action": "check_in", "item_id": chosen.id,
                                                  "key": _key(panel)}, hx=True, headers=EN)
    text = english.get_data(as_text=True)
    assert "Check-in not recorded" in text and "No valid accident insurance today." in text
    assert "Basic training not yet completed: " in text
    assert "Special training for the Social welfare category not yet completed: " in text
    assert re.search(rf'<option value="{chosen.id}" selected>', text)


EN = {"Accept-Language": "en"}


def test_buttons_and_refusals_are_in_the_readers_language(db, make, unit, item, insured):
    """English: "Check in" / "Check out" (not a bilingual label), and the refusals name the
    sites by their English names; the refusal log keeps its code as before."""
    here = make.site(unit, name_zh="大安長照服務中心", name_en="Daan Care Centre",
                     latitude=25.0263, longitude=121.5436, radius_m=200)
    there = make.site(unit, name_zh="萬華社區關懷據點", name_en="Wanhua Care Point")
    page = insured.get(f"/s/{here.token}", headers=EN).get_data(as_text=True)
    assert 'value="check_in">Check in</button>' in page and "簽到" not in page
    far = insured.post(f"/s/{here.token}", {"action": "check_in", "item_id": item.id, "key": _key(page),
                                            "lat": "25.0478", "lon": "121.5170", "acc": "10"}, headers=EN)
    text = far.get_data(as_text=True)
    assert far.status_code == 409 and "\u00a0km away from Daan Care Centre." in text and "大安" not in text
    page = insured.get(f"/s/{there.token}", headers=EN).get_data(as_text=True)
    insured.post(f"/s/{there.token}", {"action": "check_in", "item_id": item.id, "key": _key(page)}, headers=EN)
    page = insured.get(f"/s/{there.token}", headers=EN).get_data(as_text=True)
    assert 'value="check_out">Check out</button>' in page and "簽退" not in page
    refused = insured.post(f"/s/{here.token}", {"action": "check_in", "item_id": item.id, "key": _key(page) + "0",
                                                "lat": "25.0263", "lon": "121.5436", "acc": "5"}, headers=EN, hx=True)
    text = refused.get_data(as_text=True)
    assert refused.status_code == 409
    assert "You are still checked in at Wanhua Care Point. Check out there first." in text and "萬華" not in text
    zh = insured.post(f"/s/{here.token}", {"action": "check_in", "item_id": item.id, "key": _key(page) + "1"}, hx=True)
    assert "您還在萬華社區關懷據點簽到中，請先在那裡簽退。" in zh.get_data(as_text=True)
    db.rollback()
    assert sorted(db.scalars(select(CheckinEvent.refusal_code).where(CheckinEvent.refusal_code.is_not(None))).all()) == \
        ["open_elsewhere", "open_elsewhere", "outside_radius"]


def test_after_a_tap_the_answer_takes_the_focus(db, site, item, insured):
    """The confirmation (or the refusal) is what a screen reader should read next: it carries
    autofocus, which app.js prefers to the first form field of the new panel."""
    page = insured.get(f"/s/{site.token}").get_data(as_text=True)
    panel = insured.post(f"/s/{site.token}", {"action": "check_in", "item_id": item.id, "key": _key(page)},
                         hx=True).get_data(as_text=True)
    assert re.search(r'<div class="confirm confirm-ok" role="status" tabindex="-1" autofocus>', panel)
    assert panel.count("autofocus") == 1  # not the persons-served field
    panel = insured.post(f"/s/{site.token}", {"action": "check_out", "key": _key(panel)}, hx=True).get_data(as_text=True)
    assert "已簽退</p>" in panel and panel.count("autofocus") == 1


def test_a_presence_pass_works_for_the_person_who_scanned_only(app, db, make, unit, site, insured,
                                                             anon):
    """A forwarded pass link does not let someone at home check in 'at reception'."""
    from tests.conftest import HttpUser

    device = _kiosk(app, db, site)
    friend_user = make.user(unit, role="volunteer")
    friend = make.volunteer(unit, user=friend_user)
    make.cover(friend)
    other = HttpUser(app.test_client())
    assert other.sign_in(friend_user.email, make.PASSWORD).status_code == 302
    mine = _scan(insured, presence_token(device, app.secret_key, utcnow()))  # signed in: bound
    assert insured.get(mine).status_code == 200
    response = other.get(mine)
    assert response.status_code == 404  # someone else's pass
    assert "請用您自己的手機掃描" in response.get_data(as_text=True)


def test_a_pass_scanned_signed_out_works_on_the_phone_that_scanned_only(app, db, make, unit, site, item,
                                                                      insured, anon):
    """Scanned while signed out, the /k/p/ link was sent in LINE to a volunteer not at the site,
    who opened it at once, signed in, and checked in 'at reception'. Now it is refused on any
    other phone, however quickly, with the words to scan the kiosk's code; on the phone that
    scanned it, it is the first person's to sign in there, and only theirs."""
    device = _kiosk(app, db, site)
    url = _scan(anon, presence_token(device, app.secret_key, utcnow()))
    forwarded = insured.get(url)
    assert forwarded.status_code == 404
    assert "這個簽到碼是別人或另一支手機掃描的。要簽到，請用您自己的手機掃描簽到站螢幕上的 QR 碼。" \
        in forwarded.get_data(as_text=True)
    tap = insured.post(url, {"action": "check_in", "item_id": item.id, "key": "forwarded-1"}, hx=True)
    panel = tap.get_data(as_text=True)
    assert tap.status_code == 409 and 'id="checkin-panel"' in panel and "自己的手機" in panel
    assert _sessions(db) == []

    user = make.user(unit, role="volunteer")
    make.cover(user.volunteer)
    assert anon.sign_in(user.email, make.PASSWORD, next_url=url).headers["Location"] == url
    page = anon.get(url).get_data(as_text=True)
    assert user.volunteer.name_zh in page
    bound = re.search(r'hx-post="(/k/p/[^"]+)"', page).group(1)
    assert bound != url  # the taps go to a pass bound to that person...
    assert insured.get(bound).status_code == 404  # ... which nobody else can use either
    assert anon.post(bound, {"action": "check_in", "item_id": item.id, "key": _key(page)}).status_code == 200
    [s] = _sessions(db)
    assert s.volunteer_id == user.volunteer.id and s.source == SessionSource.kiosk_qr


def test_a_volunteer_hears_at_home_what_stops_them_checking_in(app, db, make, unit, volunteer):
    from models.insurance import InsuranceCover
    from models.people import Volunteer

    make.item(unit)
    home = volunteer.get("/").get_data(as_text=True)
    assert 'id="cannot-serve"' in home and "目前還不能簽到" in home
    assert "沒有有效的意外保險" in home and "尚未完成" not in home  # trained, not insured
    vol = db.scalar(select(Volunteer).where(Volunteer.user_id == volunteer.user.id))
    make.cover(vol)
    assert 'id="cannot-serve"' not in volunteer.get("/").get_data(as_text=True)
    db.execute(TrainingRecord.__table__.delete().where(TrainingRecord.volunteer_id == vol.id))
    db.commit()
    untrained = volunteer.get("/").get_data(as_text=True)
    assert "尚未完成基礎訓練" in untrained and "沒有有效的意外保險" not in untrained
    assert db.scalar(select(InsuranceCover.id).where(InsuranceCover.volunteer_id == vol.id))


def test_a_double_tap_on_check_out_does_not_check_back_in(db, make, unit, monkeypatch, site, item, insured):
    """The second tap of a double tap on 簽退 lands on the answer. Checked out here, the answer
    has no button at all (checking in again is a link to the form); checked out at another
    site first, its 簽到 button for here carries the check-out's key: tapped within seconds it
    changes nothing and the answer is the check-out's again; tapped later, it checks in."""
    page = insured.get(f"/s/{site.token}").get_data(as_text=True)
    page = insured.post(f"/s/{site.token}", {"action": "check_in", "item_id": item.id, "key": _key(page)},
                        hx=True).get_data(as_text=True)
    out = insured.post(f"/s/{site.token}", {"action": "check_out", "key": _key(page)}, hx=True)
    panel = out.get_data(as_text=True)
    assert "已簽退" in panel and 'name="action"' not in panel and "再次簽到</a>" in panel
    # checked in at another site, checking out there from here
    other = make.site(unit, name_zh="萬華社區關懷據點")
    page = insured.get(f"/s/{other.token}").get_data(as_text=True)
    insured.post(f"/s/{other.token}", {"action": "check_in", "item_id": item.id, "key": _key(page)})
    page = insured.get(f"/s/{site.token}").get_data(as_text=True)
    start = utcnow()
    _clock(monkeypatch, start)
    panel = insured.post(f"/s/{site.token}", {"action": "check_out", "key": _key(page)}, hx=True).get_data(as_text=True)
    assert "已在萬華社區關懷據點簽退" in panel and CHECK_IN_BUTTON in panel
    _clock(monkeypatch, start + dt.timedelta(milliseconds=400))
    tap = insured.post(f"/s/{site.token}", {"action": "check_in", "item_id": item.id, "key": _key(panel)}, hx=True)
    assert tap.status_code == 200
    again = tap.get_data(as_text=True)
    assert "已在萬華社區關懷據點簽退" in again and "已簽到" not in again
    assert all(s.checked_out_at is not None for s in _sessions(db))
    _clock(monkeypatch, start + dt.timedelta(seconds=6))  # on purpose, a moment later
    later = insured.post(f"/s/{site.token}", {"action": "check_in", "item_id": item.id, "key": _key(again)}, hx=True)
    assert "已簽到" in later.get_data(as_text=True)
    [now_open] = [s for s in _sessions(db) if s.checked_out_at is None]
    assert now_open.site_id == site.id


def _clock(monkeypatch, moment):
    import kiosk.phone

    monkeypatch.setattr(kiosk.phone, "utcnow", lambda: moment)


def test_check_out_shows_the_times_that_make_its_duration(db, monkeypatch, site, item, insured):
    """Only whole minutes served count: 09:16:50 to 09:23:10 is 6 minutes, though 09:16 and
    09:23 are 7 apart; the confirmation then shows the times with their seconds, and says so."""
    from models.base import TAIPEI

    start = (utcnow() - dt.timedelta(minutes=30)).replace(second=50, microsecond=0)
    end = start + dt.timedelta(minutes=6, seconds=20)
    hhmm = lambda t, f="%H:%M": t.astimezone(TAIPEI).strftime(f)  # noqa: E731
    _clock(monkeypatch, start)
    page = insured.get(f"/s/{site.token}").get_data(as_text=True)
    page = insured.post(f"/s/{site.token}", {"action": "check_in", "item_id": item.id, "key": _key(page)},
                        hx=True).get_data(as_text=True)
    _clock(monkeypatch, end)
    panel = insured.post(f"/s/{site.token}", {"action": "check_out", "key": _key(page)},
                         hx=True).get_data(as_text=True)
    assert f'<p class="confirm-time">{hhmm(end)}</p>' in panel
    assert "服務時間：0 小時 06 分" in panel
    assert f"{hhmm(start, '%H:%M:%S')} 簽到、{hhmm(end, '%H:%M:%S')} 簽退：只計入完整的分鐘。" in panel
    # times whose minutes agree with the duration are shown to the minute
    page = insured.get(f"/s/{site.token}").get_data(as_text=True)
    again = end + dt.timedelta(minutes=1, seconds=5)
    _clock(monkeypatch, again)
    page = insured.post(f"/s/{site.token}", {"action": "check_in", "item_id": item.id, "key": _key(page)},
                        hx=True).get_data(as_text=True)
    _clock(monkeypatch, again + dt.timedelta(minutes=7, seconds=30))
    panel = insured.post(f"/s/{site.token}", {"action": "check_out", "key": _key(page)},
                         hx=True).get_data(as_text=True)
    assert "服務時間：0 小時 07 分" in panel and "只計入完整的分鐘" not in panel
    assert f"{hhmm(again)} 簽到、{hhmm(again + dt.timedelta(minutes=7, seconds=30))} 簽退。" in panel


def test_check_out_says_what_the_units_rounding_will_count(db, monkeypatch, unit, site, item, insured):
    from models.unit import Rounding

    unit.rounding = Rounding.down_15
    db.commit()
    start = utcnow() - dt.timedelta(hours=1)
    _clock(monkeypatch, start)
    page = insured.get(f"/s/{site.token}").get_data(as_text=True)
    page = insured.post(f"/s/{site.token}", {"action": "check_in", "item_id": item.id, "key": _key(page)},
                        hx=True).get_data(as_text=True)
    _clock(monkeypatch, start + dt.timedelta(minutes=40))
    panel = insured.post(f"/s/{site.token}", {"action": "check_out", "key": _key(page)},
                         hx=True).get_data(as_text=True)
    assert "服務時間：0 小時 40 分" in panel
    assert "本單位的服務時間以每 15 分鐘為單位計算，不足的部分不計：督導審核後會計入 0 小時 30 分。" in panel


def test_kiosk_rotating_qr_does_not_ask_for_or_judge_the_phones_position(app, db, make, unit, item,
                                                                        insured):
    """Scanned at the reception tablet, the volunteer stands at it: a geofenced site's check-in
    through the kiosk's QR neither asks for the position nor refuses a phone whose GPS is off,
    nor flags a session whose phone shared none."""
    site = make.site(unit, latitude=25.0263, longitude=121.5436, radius_m=200)
    device = _kiosk(app, db, site)
    url = _scan(insured, presence_token(device, app.secret_key, utcnow()))
    page = insured.get(url).get_data(as_text=True)
    assert "data-needs-position" not in page and "會詢問您的位置" not in page
    # the poster of the same site still asks (and judges: test_presence_check_refuses_far_away...)
    assert "data-needs-position" in insured.get(f"/s/{site.token}").get_data(as_text=True)
    response = insured.post(url, {"action": "check_in", "item_id": item.id, "key": _key(page),
                                  "lat": "25.0478", "lon": "121.5170", "acc": "10"}, hx=True)  # 2.6 km off
    assert response.status_code == 200 and "已簽到" in response.get_data(as_text=True)
    [s] = _sessions(db)
    assert s.source == SessionSource.kiosk_qr and s.flags == ""


def test_the_home_page_names_the_items_a_training_gap_stops(app, db, make, unit, volunteer):
    """A unit of two categories: a volunteer without the social-welfare unit briefing (SW04)
    can serve the comprehensive item only. Before they travel, the home page names the three
    items that refuse them and the course they miss, not only the gaps that stop every item."""
    from models.people import Volunteer
    from models.training import TrainingCourse
    from models.unit import Category

    for zh, en in (("長者陪伴關懷", "Companionship for elders"),
                   ("共餐與送餐服務", "Shared and delivered meals"),
                   ("活動帶領協助", "Activity assistance")):
        make.item(unit, name_zh=zh, name_en=en, category=Category.social_welfare)
    make.item(unit, name_zh="櫃台諮詢服務", name_en="Reception desk", category=Category.comprehensive)
    vol = db.scalar(select(Volunteer).where(Volunteer.user_id == volunteer.user.id))
    make.cover(vol)
    briefing = db.scalar(select(TrainingCourse.id).where(TrainingCourse.unit_id == unit.id,
                                                         TrainingCourse.code == "SW04"))
    db.execute(TrainingRecord.__table__.delete().where(TrainingRecord.volunteer_id == vol.id,
                                                       TrainingRecord.course_id == briefing))
    db.commit()
    home = volunteer.get("/").get_data(as_text=True)
    assert 'id="cannot-serve"' in home and "有些服務項目您還不能簽到" in home
    assert "目前還不能簽到" not in home  # the reception desk is open to them
    notice = re.search(r'id="cannot-serve">(.*?)</section>', home, re.S).group(1)
    assert ("長者陪伴關懷、共餐與送餐服務、活動帶領協助需要的特殊訓練尚未完成："
            "運用單位業務簡介及工作內容說明(含實習)") in notice
    assert "櫃台諮詢服務" not in notice
    english = volunteer.get("/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert ("Special training not yet completed for Companionship for elders, Shared and "
            "delivered meals, Activity assistance: The unit&#39;s work and the volunteer&#39;s "
            "tasks (with practice)") in english
    # with every item refused (no cover now), the heading says so; the item gap is still named
    db.execute(InsuranceCover.__table__.delete().where(InsuranceCover.volunteer_id == vol.id))
    db.commit()
    home = volunteer.get("/").get_data(as_text=True)
    assert "目前還不能簽到" in home and "沒有有效的意外保險" in home
    assert "活動帶領協助需要的特殊訓練尚未完成" in home


def test_training_gaps_every_item_shares_are_said_once_and_the_others_per_item(db, make, unit):
    """No training at all in a unit of two categories: basic training stops every item (said
    as at the check-in); each category's special courses are named with the items they stop."""
    from models import gates
    from models.base import taipei_date
    from models.unit import Category

    make.item(unit, name_zh="長者陪伴關懷", category=Category.social_welfare)
    make.item(unit, name_zh="櫃台諮詢服務", category=Category.comprehensive)
    vol = make.volunteer(unit, trained=False)
    make.volunteer(unit)  # seeds the catalogue
    make.cover(vol)
    found = gates.serving_refusals(db, vol, taipei_date(utcnow()))
    assert [(r.code, str(r.params.get("service_items", ""))) for r in found] == [
        ("basic_training_missing", ""),
        ("special_training_missing", "長者陪伴關懷"),
        ("special_training_missing", "櫃台諮詢服務")]
