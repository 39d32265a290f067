"""The applicant's own lookup (查詢報名進度) over HTTP: reference number and birth date, each
status in words, the interview in Taipei time, the same answer for any wrong pair, nothing else
of the application, the rate limit, English."""
import datetime as dt
import re

import pytest
from sqlalchemy import func, select

from models import recruitment as r
from models.audit import AuditEntry
from models.base import TAIPEI, taipei_date, utcnow
from models.recruitment import Application

from .test_openings import good, opening  # noqa: F401 (the opening fixture)

URL = "/application-status"
BIRTH = "1990-04-01"
ID_NUMBER = good()["id_number"]


@pytest.fixture
def reference(anon, db, opening, unit):
    unit.phone, unit.address = "02-2700-0000", "臺北市大安區和平東路二段 100 號"
    db.commit()
    thanks = anon.post(f"/openings/{opening.public_id}/apply", good())
    assert thanks.status_code == 200
    page = thanks.get_data(as_text=True)
    assert f'href="{URL}"' in page  # the thank-you page links to the lookup
    return re.search(r'id="reference-no"[^>]*>([^<]+)<', page).group(1)


def _application(db, reference_no) -> Application:
    db.rollback()
    db.expire_all()
    return db.scalar(select(Application).where(Application.reference_no == reference_no))


def _lookup(anon, reference_no, birth=BIRTH, **kw):
    return anon.post(URL, {"reference_no": reference_no, "birth_date": birth}, **kw)


def _audit_count(db):
    db.rollback()
    return db.scalar(select(func.count()).select_from(AuditEntry))


def _nothing_private(page: str) -> None:
    for private in (ID_NUMBER, "0912-345-678", "臺北市大安區信義路三段1號", "王媽媽", "02-2700-1234",
                    "ming@example.tw", "週二上午", "王小明"):
        assert private not in page


def test_the_lookup_is_linked_from_the_public_pages(anon, opening):
    assert f'href="{URL}"' in anon.get("/openings").get_data(as_text=True)
    assert f'href="{URL}"' in anon.get(f"/openings/{opening.public_id}").get_data(as_text=True)
    page = anon.get(URL)
    assert page.status_code == 200 and "查詢報名進度" in page.get_data(as_text=True)
    assert page.headers["Cache-Control"].startswith("no-store")


def test_a_received_application(anon, db, opening, unit, reference):
    before = _audit_count(db)
    response = _lookup(anon, reference)
    assert response.status_code == 200
    assert response.headers["Cache-Control"].startswith("no-store")
    page = response.get_data(as_text=True)
    assert reference in page and "長者陪伴志工招募" in page and unit.name in page
    assert 'data-status="applied"' in page and "已收到報名" in page
    assert taipei_date(_application(db, reference).created_at).isoformat() in page
    assert 'id="unit-contact"' in page and "02-2700-0000" in page and "和平東路二段 100 號" in page
    _nothing_private(page)
    assert _audit_count(db) == before  # a lookup writes nothing, not even an audit entry


def test_an_interview_is_shown_in_taipei_time(anon, db, make, unit, reference):
    admin = make.user(unit, role="admin")
    day = taipei_date(utcnow()) + dt.timedelta(days=3)
    when = dt.datetime.combine(day, dt.time(8, 30), tzinfo=TAIPEI).astimezone(dt.timezone.utc)
    r.schedule_interview(db, _application(db, reference).id, admin, utcnow(), when=when,
                         place="大安長照服務中心 3 樓會議室", interviewer_id=admin.id, note="帶身分證")
    db.commit()
    page = _lookup(anon, reference).get_data(as_text=True)
    assert 'data-status="interview_scheduled"' in page and "已排面談" in page
    assert day.isoformat() in page and "08:30（臺北時間）" in page  # 00:30 UTC
    assert "大安長照服務中心 3 樓會議室" in page
    assert "帶身分證" not in page and admin.display_name not in page  # the unit's notes stay inside
    _nothing_private(page)


@pytest.mark.parametrize("outcome, words", [
    ("accepted", "單位會交給您歡迎單"), ("declined", "未錄取"), ("waitlisted", "備取")])
def test_a_decision(anon, db, make, unit, reference, outcome, words):
    admin = make.user(unit, role="admin")
    r.decide(db, _application(db, reference).id, admin, utcnow(), outcome=outcome)
    db.commit()
    page = _lookup(anon, reference).get_data(as_text=True)
    assert f'data-status="{outcome}"' in page and words in page
    assert 'id="interview"' not in page
    _nothing_private(page)
    if outcome == "accepted":  # neither the volunteer number nor a link: the unit hands them over
        volunteer = _application(db, reference).volunteer
        assert volunteer.volunteer_no not in page and "/welcome" not in page


def test_the_reference_and_date_are_read_as_people_type_them(anon, reference):
    typed = " " + reference.lower().replace("a", "ａ").replace("-", "－") + " "  # a phone's keyboard
    page = _lookup(anon, typed, birth="79/4/1").get_data(as_text=True)  # ROC date of 1990-04-01
    assert 'data-status="applied"' in page


def _without_typing(page: str) -> str:
    """The page less what differs by what was typed: values and the CSRF token."""
    page = re.sub(r'value="[^"]*"', "", page)
    return re.sub(r'content="[^"]*"', "", page)


def test_a_wrong_birth_date_and_a_wrong_reference_get_the_same_answer(anon, db, reference):
    before = _audit_count(db)
    wrong_date = _lookup(anon, reference, birth="1990-04-02")
    wrong_ref = _lookup(anon, reference[:-1] + ("2" if reference[-1] != "2" else "3"))
    both = _lookup(anon, "A1999-99999", birth="2001-01-01")
    assert wrong_date.status_code == wrong_ref.status_code == both.status_code == 400
    pages = [p.get_data(as_text=True) for p in (wrong_date, wrong_ref, both)]
    for page in pages:
        assert "查無符合這組報名編號和出生日期的報名" in page
        assert "長者陪伴志工招募" not in page and 'id="application-state"' not in page
        _nothing_private(page)
    assert _without_typing(pages[0]) == _without_typing(pages[1]) == _without_typing(pages[2])
    assert _audit_count(db) == before


def test_both_are_needed(anon, reference):
    response = _lookup(anon, reference, birth="")
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "請輸入出生日期。" in page
    assert 'id="application-state"' not in page
    response = _lookup(anon, "", birth=BIRTH)
    assert response.status_code == 400 and "請輸入報名編號。" in response.get_data(as_text=True)


def test_csrf_is_required(app, reference):
    response = app.test_client().post(URL, data={"reference_no": reference, "birth_date": BIRTH})
    assert response.status_code == 400 and "已收到報名" not in response.get_data(as_text=True)


def test_wrong_lookups_are_rate_limited(app, anon, reference):
    app.config["HOURBOOK_STATUS_LIMIT"] = "2 per minute"
    for _ in range(3):  # a right answer does not count
        assert _lookup(anon, reference).status_code == 200
    assert [_lookup(anon, reference, birth="2000-01-01").status_code for _ in range(2)] == [400, 400]
    blocked = _lookup(anon, reference)  # even the right pair, once the limit is reached
    assert blocked.status_code == 429
    assert "已收到報名" not in blocked.get_data(as_text=True)
    assert anon.get(URL).status_code == 200  # reading the form stays open


def test_the_limit_is_the_sign_in_limit_unless_set(app, anon, reference):
    app.config["HOURBOOK_LOGIN_LIMIT"] = "1 per minute"
    assert _lookup(anon, "A1999-99999").status_code == 400
    assert _lookup(anon, "A1999-99998").status_code == 429


def test_the_status_limit_is_set_from_the_environment(monkeypatch, tmp_path):
    from webapp.config import from_environment

    monkeypatch.delenv("HOURBOOK_STATUS_LIMIT", raising=False)
    assert "HOURBOOK_STATUS_LIMIT" not in from_environment(tmp_path)
    monkeypatch.setenv("HOURBOOK_STATUS_LIMIT", "3 per minute")
    assert from_environment(tmp_path)["HOURBOOK_STATUS_LIMIT"] == "3 per minute"


def test_in_english(anon, db, make, unit, reference):
    en = {"headers": {"Accept-Language": "en"}}
    assert "Check my application" in anon.get(URL, **en).get_data(as_text=True)
    wrong = _lookup(anon, reference, birth="2000-01-01", **en).get_data(as_text=True)
    assert "No application matches this reference number and birth date" in wrong
    admin = make.user(unit, role="admin")
    when = dt.datetime.combine(taipei_date(utcnow()) + dt.timedelta(days=2), dt.time(14, 0),
                               tzinfo=TAIPEI).astimezone(dt.timezone.utc)
    r.schedule_interview(db, _application(db, reference).id, admin, utcnow(), when=when,
                         place="Room 3", interviewer_id=None)
    db.commit()
    page = _lookup(anon, reference, **en).get_data(as_text=True)
    assert "Interview scheduled" in page and "14:00 (Taipei time)" in page
    assert "Room 3" in page
