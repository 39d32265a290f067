"""What a volunteer is told before they act: the check-in page offers an item they can serve and
marks the others; the home page says how to check in or out, that their cover ends soon, and why
a session was rejected or needs review (also on /me/hours)."""
import datetime as dt
import re

import pytest
from sqlalchemy import select

from models import verification as v
from models.base import utcnow
from models.insurance import InsuranceCover
from models.people import Volunteer
from models.service import Flag, ServiceSession, SessionSource, SessionStatus
from models.training import TrainingCourse, TrainingRecord
from models.unit import Category


def _me(db, volunteer):
    return db.scalar(select(Volunteer).where(Volunteer.user_id == volunteer.user.id))


def _options(page):
    return re.findall(r'<option value="(\d+)"([^>]*)>([^<]*)</option>', page)


@pytest.fixture
def two_categories(db, make, unit, volunteer):
    """A social-welfare item first (by code), then a comprehensive one; the volunteer lacks the
    social-welfare unit briefing (SW04), so only the second is open to them."""
    care = make.item(unit, code="A1", name_zh="長者陪伴關懷", name_en="Companionship",
                     category=Category.social_welfare)
    desk = make.item(unit, code="B1", name_zh="櫃台諮詢服務", name_en="Reception desk",
                     category=Category.comprehensive)
    vol = _me(db, volunteer)
    make.cover(vol)
    briefing = db.scalar(select(TrainingCourse.id).where(TrainingCourse.unit_id == unit.id,
                                                         TrainingCourse.code == "SW04"))
    db.execute(TrainingRecord.__table__.delete().where(TrainingRecord.volunteer_id == vol.id,
                                                       TrainingRecord.course_id == briefing))
    db.commit()
    return care, desk, vol


def test_the_checkin_page_preselects_an_item_she_can_serve_and_marks_the_others(
        db, make, unit, volunteer, two_categories):
    care, desk, vol = two_categories
    site = make.site(unit)
    page = volunteer.get(f"/s/{site.token}").get_data(as_text=True)
    options = {int(i): (attrs, text.strip()) for i, attrs, text in _options(page)}
    assert "selected" in options[desk.id][0] and "disabled" not in options[desk.id][0]
    assert "disabled" in options[care.id][0] and "selected" not in options[care.id][0]
    assert options[care.id][1] == "長者陪伴關懷 — 特殊訓練未完成"
    assert 'id="cannot-serve"' not in page
    english = volunteer.get(f"/s/{site.token}", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Companionship — Special training not completed" in english
    # the item she used here last wins while she can still serve it
    other = make.item(unit, code="C1", name_zh="活動帶領協助", category=Category.comprehensive)
    db.add(ServiceSession(unit_id=unit.id, volunteer_id=vol.id, site_id=site.id,
                          service_item_id=other.id, checked_in_at=utcnow() - dt.timedelta(days=2),
                          checked_out_at=utcnow() - dt.timedelta(days=2, hours=-1),
                          status=SessionStatus.verified, source=SessionSource.poster))
    db.commit()
    page = volunteer.get(f"/s/{site.token}").get_data(as_text=True)
    assert [i for i, attrs, _t in _options(page) if "selected" in attrs] == [str(other.id)]
    # the first check-in, with the item offered, is recorded
    key = re.search(r'name="key" value="([^"]+)"', page).group(1)
    response = volunteer.post(f"/s/{site.token}", {"action": "check_in", "item_id": other.id,
                                                   "key": key}, hx=True)
    assert response.status_code == 200 and "已簽到" in response.get_data(as_text=True)


def test_the_checkin_page_says_why_before_the_tap_when_no_item_is_open(
        db, make, unit, volunteer, two_categories):
    care, desk, vol = two_categories
    site = make.site(unit)
    db.execute(InsuranceCover.__table__.delete().where(InsuranceCover.volunteer_id == vol.id))
    db.commit()
    page = volunteer.get(f"/s/{site.token}").get_data(as_text=True)
    notice = re.search(r'id="cannot-serve">(.*?)</div>', page, re.S).group(1)
    assert "目前還不能簽到" in notice and "沒有有效的意外保險" in notice
    # nothing disabled: the list still submits an item, and the gate says the same at the tap
    assert all("disabled" not in attrs for _i, attrs, _t in _options(page))


def test_gate_refusals_by_item_agree_with_the_check_in_gate(db, make, unit, two_categories):
    from models import gates

    care, desk, vol = two_categories
    site = make.site(unit)
    now = utcnow()
    common, by_item = gates.refusals_by_item(db, vol, site, [care, desk], now)
    for item in (care, desk):
        assert sorted(r.code for r in common + by_item[item.id]) == \
            sorted(r.code for r in gates.gate_refusals(db, vol, site, item, now))
    assert by_item[desk.id] == [] and [r.code for r in by_item[care.id]] == ["special_training_missing"]


def test_the_home_page_says_how_to_check_in_and_out_without_linking_the_poster(db, make, unit, volunteer):
    vol = _me(db, volunteer)
    make.cover(vol)
    site, item = make.site(unit), make.item(unit)
    home = volunteer.get("/").get_data(as_text=True)
    assert "到了服務地點，請用手機相機掃描現場的 QR 海報，或使用櫃台的平板簽到。" in home
    assert f"/s/{site.token}" not in home and "/s/" not in home
    english = volunteer.get("/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "QR poster with your phone camera, or use the reception tablet." in english
    db.add(ServiceSession(unit_id=unit.id, volunteer_id=vol.id, site_id=site.id, service_item_id=item.id,
                          checked_in_at=utcnow() - dt.timedelta(minutes=20),
                          status=SessionStatus.open, source=SessionSource.poster))
    db.commit()
    home = volunteer.get("/").get_data(as_text=True)
    assert "要簽退時，請再掃一次服務地點的 QR 海報，或使用櫃台的平板。" in home
    assert "到了服務地點" not in home and "/s/" not in home


def test_the_home_page_warns_of_cover_ending_within_the_admins_window(db, make, unit, volunteer):
    from models.base import taipei_date
    from models.insurance import EXPIRING_DAYS

    vol = _me(db, volunteer)
    today = taipei_date(utcnow())
    cover = make.cover(vol, starts_on=today - dt.timedelta(days=300), ends_on=today + dt.timedelta(days=EXPIRING_DAYS + 1))
    assert 'id="cover-ending"' not in volunteer.get("/").get_data(as_text=True)
    ends = today + dt.timedelta(days=EXPIRING_DAYS)
    cover.ends_on = ends
    db.commit()
    home = volunteer.get("/").get_data(as_text=True)
    assert f"您的意外保險將於 {ends.isoformat()} 到期，請與單位聯絡。" in home
    english = volunteer.get("/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert f"Your accident insurance ends on {ends.isoformat()}; please contact the unit." in english


def test_rejected_and_needs_review_sessions_say_why(app, db, make, unit, volunteer):
    vol = _me(db, volunteer)
    make.cover(vol)
    site, item = make.site(unit), make.item(unit)
    admin = make.user(unit, role="admin")
    start = utcnow() - dt.timedelta(days=3)
    rows = []
    for days, status, flags in ((0, SessionStatus.closed, ""), (1, SessionStatus.closed, ""),
                                (2, SessionStatus.needs_review, Flag.auto_closed.value)):
        s = ServiceSession(unit_id=unit.id, volunteer_id=vol.id, site_id=site.id, service_item_id=item.id,
                           checked_in_at=start - dt.timedelta(days=days),
                           checked_out_at=start - dt.timedelta(days=days, hours=-2),
                           status=status, source=SessionSource.poster, flags=flags)
        db.add(s)
        rows.append(s)
    db.commit()
    v.reject(db, rows[0].id, admin, utcnow(), reason="當天未到場")
    db.commit()
    v.reject(db, rows[1].id, admin, utcnow(), reason="重複登錄")
    db.commit()
    queries = []
    from sqlalchemy import event

    engine = db.get_bind()
    listen = lambda *a: queries.append(a[2]) if "audit_entry" in a[2] else None  # noqa: E731
    event.listen(engine, "before_cursor_execute", listen)
    try:
        pages = [volunteer.get(url).get_data(as_text=True) for url in ("/", "/me/hours")]
    finally:
        event.remove(engine, "before_cursor_execute", listen)
    assert len(queries) == 2  # one per page, however many rejected rows
    for page in pages:
        assert "原因：當天未到場" in page and "原因：重複登錄" in page
        assert "忘記簽退：督導會補上實際的簽退時間" in page
    english = volunteer.get("/me/hours", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Reason: 重複登錄" in english and "Forgotten check-out: your supervisor will set the real time" in english



def test_the_reception_tablet_preselects_an_item_she_can_serve(app, db, make, unit, two_categories):
    """The tablet's person screen chose the first item (by code) as the phone page did, so a
    keypad check-in was refused for training the other item does not need."""
    from models import kiosk as kiosks
    from tests.test_kiosk_tablet import PIN, enrol

    care, desk, vol = two_categories
    site = make.site(unit)
    admin = make.user(unit, role="admin")
    _device, code = kiosks.create_device(db, site=site, name="櫃台平板", actor=admin, now=utcnow())
    vol.set_pin(PIN)
    db.commit()
    tablet = enrol(app, code)
    screen = tablet.identify_keypad(vol)
    selected = [i for i, attrs, _t in _options(screen.get_data(as_text=True)) if "selected" in attrs]
    assert selected == [str(desk.id)]
    done = tablet.press(screen)
    assert done.status_code == 200
    assert db.scalar(select(ServiceSession.service_item_id).where(ServiceSession.volunteer_id == vol.id)) == desk.id
