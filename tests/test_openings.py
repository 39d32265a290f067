"""Public recruitment over HTTP: openings pages, QR, the application form and its refusals,
minors, honeypot, rate limit."""
import datetime as dt

import pytest
from sqlalchemy import func, select

from models.audit import AuditEntry
from models.base import taipei_date, utcnow
from models.idnumbers import with_check_digit
from models.openings import Opening, OpeningStatus
from models.recruitment import Application


@pytest.fixture
def opening(db, make, unit):
    item = make.item(unit, name_zh="長者陪伴關懷")
    site = make.site(unit, name_zh="大安長照服務中心")
    o = Opening(unit_id=unit.id, public_id="pub-abc123", title="長者陪伴志工招募",
                description="陪伴長者聊天、散步", schedule="每週二上午 9:00–12:00",
                requirements="年滿16歲", wanted=5,
                closes_on=taipei_date(utcnow()) + dt.timedelta(days=30),
                status=OpeningStatus.published, service_items=[item], sites=[site])
    db.add(o)
    db.commit()
    return o


def good(**over):
    data = {"name_zh": "王小明", "gender": "male", "birth_date": "1990-04-01",
            "phone": "0912-345-678", "email": "ming@example.tw", "id_kind": "national_id",
            "id_number": with_check_digit("A12345678"), "address": "臺北市大安區信義路三段1號",
            "availability": "週二上午", "experience": "", "emergency_contact": "王媽媽",
            "emergency_phone": "02-2700-1234", "privacy_consent": "y"}
    data.update(over)
    return {k: v for k, v in data.items() if v is not None}


def count(db):
    db.rollback()
    db.expire_all()
    return db.scalar(select(func.count()).select_from(Application))


def test_public_pages_open_without_sign_in(anon, opening):
    page = anon.get("/openings").get_data(as_text=True)
    assert "長者陪伴志工招募" in page
    detail = anon.get(f"/openings/{opening.public_id}")
    assert detail.status_code == 200
    text = detail.get_data(as_text=True)
    assert "每週二上午" in text and "大安長照服務中心" in text and "長者陪伴關懷" in text
    assert f"/openings/{opening.public_id}/apply" in text
    assert 'style="' not in text and "<script>" not in text
    qr = anon.get(f"/openings/{opening.public_id}/qr.svg")
    assert qr.status_code == 200 and qr.mimetype == "image/svg+xml" and b"<svg" in qr.data
    assert anon.get(f"/openings/{opening.public_id}/apply").status_code == 200


def test_the_recruiting_unit_is_named_as_the_collector_of_the_data(anon, db, opening, unit):
    unit.address, unit.phone = "臺北市大安區和平東路二段 100 號", "02-2700-0000"
    db.commit()
    assert unit.name in anon.get("/openings").get_data(as_text=True)
    assert f"招募單位：{unit.name}" in anon.get(f"/openings/{opening.public_id}").get_data(as_text=True)
    form = anon.get(f"/openings/{opening.public_id}/apply").get_data(as_text=True)
    notice = form.split('id="privacy-notice"', 1)[1].split("</section>", 1)[0]
    assert f"蒐集者：{unit.name}" in notice  # PDPA §8: the collector by name, before the ID number
    assert "臺北市大安區和平東路二段 100 號 · 02-2700-0000" in notice


def test_draft_opening_is_not_public(anon, db, opening):
    opening.status = OpeningStatus.draft
    db.commit()
    assert anon.get(f"/openings/{opening.public_id}").status_code == 404
    assert anon.post(f"/openings/{opening.public_id}/apply", good()).status_code == 404
    assert "長者陪伴志工招募" not in anon.get("/openings").get_data(as_text=True)
    assert count(db) == 0


@pytest.mark.parametrize("how", ["closed", "past"])
def test_closed_opening_refuses_applications(anon, db, opening, how):
    if how == "closed":
        opening.status = OpeningStatus.closed
    else:
        opening.closes_on = taipei_date(utcnow()) - dt.timedelta(days=1)
    db.commit()
    assert "不再受理" in anon.get(f"/openings/{opening.public_id}").get_data(as_text=True)
    response = anon.post(f"/openings/{opening.public_id}/apply", good())
    assert response.status_code == 409
    assert count(db) == 0


def test_apply_gives_a_gap_free_reference_number(anon, db, opening):
    year = taipei_date(utcnow()).year
    numbers = []
    for n, id_prefix in enumerate(["A12345678", "B12345678"]):
        response = anon.post(f"/openings/{opening.public_id}/apply",
                             good(id_number=with_check_digit(id_prefix), email=f"p{n}@example.tw"))
        assert response.status_code == 200, response.get_data(as_text=True)
        db.rollback()
        db.expire_all()
        numbers.append(db.scalars(select(Application.reference_no).order_by(Application.id)).all()[-1])
        assert numbers[-1] in response.get_data(as_text=True)
    assert numbers[0].startswith(f"A{year}-00001") and numbers[1].startswith(f"A{year}-00002")
    a = db.scalars(select(Application).order_by(Application.id)).first()
    assert a.opening_id == opening.id and a.privacy_consent_at is not None
    assert a.id_number == with_check_digit("A12345678")
    entry = db.scalar(select(AuditEntry).where(AuditEntry.entity == "application",
                                               AuditEntry.entity_id == a.id))
    assert entry.action == "apply" and entry.after_data()["id_number"].count("*") >= 4


def test_an_id_number_typed_full_width_on_a_phone_is_accepted_as_half_width(anon, db, opening):
    """A phone's Chinese keyboard types Ａ１２３…: the same number, kept as A123…"""
    number = with_check_digit("A22345678")
    full_width = "".join(chr(ord(c) + 0xFEE0) for c in number)
    response = anon.post(f"/openings/{opening.public_id}/apply", good(gender="female", id_number=full_width))
    assert response.status_code == 200, response.get_data(as_text=True)
    assert db.scalar(select(Application.id_number)) == number


def test_the_same_application_sent_twice_is_kept_once(anon, db, opening):
    """A double tap or a browser re-sending the form: one application, and the person is told
    the first one reached us, with its reference number."""
    url = f"/openings/{opening.public_id}/apply"
    first = anon.post(url, good())
    again = anon.post(url, good(phone="0911-000-111"))  # a corrected phone does not file anew
    assert first.status_code == again.status_code == 200
    assert count(db) == 1
    reference = db.scalar(select(Application.reference_no))
    assert reference in again.get_data(as_text=True)
    assert "這份報名先前已送達" in again.get_data(as_text=True)
    assert "先前已送達" not in first.get_data(as_text=True)
    assert db.scalar(select(Application.phone)) == "0912-345-678"
    assert db.scalar(select(func.count()).select_from(AuditEntry)
                     .where(AuditEntry.action == "apply")) == 1
    # Another person with the same ID number typed (not the same name and birth date) files
    # a new application: the form does not tell strangers who applied.
    other = anon.post(url, good(name_zh="王大明"))
    assert other.status_code == 200 and "先前已送達" not in other.get_data(as_text=True)
    assert count(db) == 2


def test_a_decided_application_does_not_stop_applying_again(anon, db, opening):
    from models.recruitment import ApplicationStatus

    url = f"/openings/{opening.public_id}/apply"
    anon.post(url, good())
    db.rollback()
    db.scalar(select(Application)).status = ApplicationStatus.declined
    db.commit()
    again = anon.post(url, good())
    assert again.status_code == 200 and "先前已送達" not in again.get_data(as_text=True)
    assert count(db) == 2


def test_general_apply_page_for_a_single_unit(anon, db, unit):
    assert anon.get("/apply").status_code == 200
    assert anon.post("/apply", good()).status_code == 200
    assert count(db) == 1


MISSING = [
    ("name_zh", "請輸入姓名"), ("birth_date", "請輸入出生日期"), ("phone", "請輸入電話號碼"),
    ("id_number", "請輸入身分證明文件號碼"), ("address", "請輸入地址"),
    ("availability", "請告訴我們您可以服務的時間"), ("emergency_contact", "請輸入緊急聯絡人"),
    ("emergency_phone", "請輸入電話號碼"), ("gender", "請從選項中選擇"),
    ("privacy_consent", "請閱讀個人資料告知事項並同意"),
]


@pytest.mark.parametrize("field,message", MISSING)
def test_each_missing_field_is_refused_with_its_message(anon, db, opening, field, message):
    response = anon.post(f"/openings/{opening.public_id}/apply", good(**{field: None}))
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert message in page
    assert f'{field}-error' in page or field in ("gender",)
    assert count(db) == 0


BAD = [
    ("id_number", "A123456788", "檢查碼"),
    ("id_number", "12345", "身分證"),
    ("id_kind", "driver", "請從選項中選擇"),
    ("birth_date", "1990-13-01", "請輸入像 2026-01-31 這樣的日期"),
    ("birth_date", (dt.date.today() + dt.timedelta(days=3)).isoformat(), "出生日期不能在未來"),
    ("phone", "call me", "0912-345-678"),
    ("email", "not-an-email", "name@example.tw"),
    ("gender", "robot", "請從選項中選擇"),
    ("name_zh", "王" * 61, "最多"),
]


@pytest.mark.parametrize("field,value,message", BAD)
def test_each_bad_value_is_refused_with_its_translated_message(anon, db, opening, field, value, message):
    response = anon.post(f"/openings/{opening.public_id}/apply", good(**{field: value}))
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert count(db) == 0


def test_full_width_phone_numbers_are_accepted_and_kept_as_digits(anon, db, opening):
    """A Chinese keyboard types full-width digits: the same phone number."""
    response = anon.post(f"/openings/{opening.public_id}/apply",
                         good(phone=" ０９１２３４５６７８ ", emergency_phone="（０２）２７００－１２３４"))
    assert response.status_code == 200, response.get_data(as_text=True)
    assert count(db) == 1
    a = db.scalars(select(Application)).one()
    assert (a.phone, a.emergency_phone) == ("0912345678", "(02)2700-1234")


def test_passport_and_resident_numbers(anon, db, opening):
    assert anon.post(f"/openings/{opening.public_id}/apply",
                     good(id_kind="passport", id_number="X1234567")).status_code == 200
    response = anon.post(f"/openings/{opening.public_id}/apply",
                         good(id_kind="passport", id_number="X1"))
    assert response.status_code == 400 and "護照" in response.get_data(as_text=True)
    assert count(db) == 1


def test_english_messages_on_request(anon, opening):
    response = anon.post(f"/openings/{opening.public_id}/apply", good(name_zh=None),
                         headers={"Accept-Language": "en"})
    assert "Enter your name." in response.get_data(as_text=True)


def test_minors_need_guardian_name_and_consent(anon, db, opening):
    today = taipei_date(utcnow())
    minor = dt.date(today.year - 16, today.month, min(today.day, 28)).isoformat()
    response = anon.post(f"/openings/{opening.public_id}/apply", good(birth_date=minor))
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "未滿 18 歲" in page and "法定代理人的姓名" in page and "法定代理人同意" in page
    response = anon.post(f"/openings/{opening.public_id}/apply",
                         good(birth_date=minor, guardian_name="王大明"))
    assert response.status_code == 400 and "法定代理人同意" in response.get_data(as_text=True)
    assert count(db) == 0
    response = anon.post(f"/openings/{opening.public_id}/apply",
                         good(birth_date=minor, guardian_name="王大明", guardian_consent="y"))
    assert response.status_code == 200
    db.rollback()
    a = db.scalars(select(Application)).one()
    assert a.guardian_name == "王大明" and a.guardian_consent is True


def test_eighteen_today_is_an_adult(anon, db, opening):
    today = taipei_date(utcnow())
    try:
        birthday = today.replace(year=today.year - 18)
    except ValueError:  # 29 February
        birthday = today.replace(year=today.year - 18, day=28)
    assert anon.post(f"/openings/{opening.public_id}/apply",
                     good(birth_date=birthday.isoformat())).status_code == 200


def test_honeypot_silently_drops_bots(anon, db, opening):
    response = anon.post(f"/openings/{opening.public_id}/apply", good(website="http://spam.example"))
    assert response.status_code == 200
    assert "感謝" in response.get_data(as_text=True)
    assert count(db) == 0
    form = anon.get(f"/openings/{opening.public_id}/apply").get_data(as_text=True)
    assert '<div hidden aria-hidden="true">' in form and 'name="website"' in form


def person(n: int, **over):
    """The n-th different applicant (own ID number, name and phone)."""
    return good(name_zh=f"申請人{n}", id_number=with_check_digit(f"A1{n:07d}"), **over)


@pytest.mark.parametrize("url", ["opening", "general"])
def test_mistakes_do_not_count_towards_the_rate_limit(anon, db, opening, url):
    """At a recruitment desk everyone applies from one address: six forms sent back with
    mistakes in a minute locked the next applicant out."""
    url = f"/openings/{opening.public_id}/apply" if url == "opening" else "/apply"
    codes = [anon.post(url, good(name_zh=None)).status_code for _ in range(6)]
    assert codes == [400] * 6
    assert anon.post(url, good()).status_code == 200
    assert count(db) == 1


@pytest.mark.parametrize("url", ["opening", "general"])
def test_at_the_limit_the_form_comes_back_with_what_was_typed(anon, db, opening, url):
    url = f"/openings/{opening.public_id}/apply" if url == "opening" else "/apply"
    for n in range(20):  # the default: 20 accepted applications a minute from one address
        assert anon.post(url, person(n)).status_code == 200
    anon.post(url, good(name_zh=None))  # a mistake is still answered, and does not count
    response = anon.post(url, good(name_zh="林美華", address="臺北市萬華區西園路二段9號"))
    assert response.status_code == 429
    page = response.get_data(as_text=True)
    assert "此網路剛才送出的報名太多，請稍候一分鐘再送出。" in page
    assert 'value="林美華"' in page and "臺北市萬華區西園路二段9號" in page
    assert 'name="csrf_token"' in page and "嘗試次數過多" not in page
    assert response.headers["Cache-Control"].startswith("no-store")
    assert count(db) == 20
    assert anon.get(url).status_code == 200  # reading stays open
    english = anon.post(url, good(name_zh="林美華"), headers={"Accept-Language": "en"})
    assert english.status_code == 429
    assert "Too many applications from this network just now" in english.get_data(as_text=True)


def test_other_limits_keep_the_general_page(app, anon, unit):
    """Only the application form answers its limit with the form: sign-in keeps its page."""
    app.config["HOURBOOK_LOGIN_LIMIT"] = "1 per minute"
    anon.post("/sign-in", {"email": "nobody@example.tw", "password": "wrong"})
    response = anon.post("/sign-in", {"email": "nobody@example.tw", "password": "wrong"})
    assert response.status_code == 429 and "嘗試次數過多" in response.get_data(as_text=True)


def test_personal_data_notice_on_the_form(anon, opening):
    page = anon.get(f"/openings/{opening.public_id}/apply").get_data(as_text=True)
    assert "個人資料告知事項" in page and "保存期間" in page and "蒐集目的" in page


def test_csrf_is_required(app, opening):
    client = app.test_client()
    response = client.post(f"/openings/{opening.public_id}/apply", data=good())
    assert response.status_code == 400


def test_forms_with_mistakes_have_a_loose_limit_of_their_own(app, anon, db, opening):
    """A script sending forms with mistakes saves nothing, and is stopped too (the form still
    comes back with what was typed)."""
    app.config["HOURBOOK_APPLY_POST_LIMIT"] = "3 per minute"
    url = f"/openings/{opening.public_id}/apply"
    assert [anon.post(url, good(name_zh=None)).status_code for _ in range(3)] == [400] * 3
    response = anon.post(url, good(name_zh=None, address="臺北市萬華區西園路二段9號"))
    assert response.status_code == 429
    assert "臺北市萬華區西園路二段9號" in response.get_data(as_text=True)
    assert count(db) == 0


def test_the_limits_are_set_from_the_environment(monkeypatch, tmp_path):
    """HOURBOOK_APPLY_LIMIT and HOURBOOK_APPLY_POST_LIMIT, as the README says; unset, the
    form's own defaults."""
    from webapp.config import from_environment

    monkeypatch.delenv("HOURBOOK_APPLY_LIMIT", raising=False)
    monkeypatch.delenv("HOURBOOK_APPLY_POST_LIMIT", raising=False)
    assert "HOURBOOK_APPLY_LIMIT" not in from_environment(tmp_path)
    monkeypatch.setenv("HOURBOOK_APPLY_LIMIT", "50 per minute")
    monkeypatch.setenv("HOURBOOK_APPLY_POST_LIMIT", "100 per minute")
    config = from_environment(tmp_path)
    assert config["HOURBOOK_APPLY_LIMIT"] == "50 per minute"
    assert config["HOURBOOK_APPLY_POST_LIMIT"] == "100 per minute"


def test_an_id_number_of_the_other_sex_is_refused_on_the_gender_field(anon, db, opening):
    """A national ID's second digit is the holder's sex (1 man, 2 woman; resident certificates 8
    and 9): a woman's number with "male" chosen is a typo in one of them."""
    url = f"/openings/{opening.public_id}/apply"
    woman = with_check_digit("A22345678")
    response = anon.post(url, good(gender="male", id_number=woman))
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "這個身分證號碼是女性的：請檢查性別或號碼。" in page
    assert 'id="gender-error"' in page and 'id="id_number-error"' not in page
    en = anon.post(url, good(gender="female", id_number=with_check_digit("A12345678")),
                   headers={"Accept-Language": "en"})
    assert "The ID number is a man&#39;s: check the gender or the number." in en.get_data(as_text=True)
    resident = anon.post(url, good(gender="female", id_kind="resident_cert",
                                   id_number=with_check_digit("A82345678")))
    assert resident.status_code == 400
    assert count(db) == 0
    assert anon.post(url, good(gender="female", id_number=woman)).status_code == 200
    assert anon.post(url, good(name_zh="王其他", gender="other",
                               id_number=with_check_digit("A12345679"))).status_code == 200
    assert count(db) == 2


def test_the_opening_and_the_thank_you_page_say_where_and_how_to_reach_the_unit(anon, db, opening, unit):
    """A visitor with the opening's link sees the sites' addresses, the unit's contact and a way
    to the other openings; after applying, whom to call about the interview."""
    from models.unit_profile import profile_of

    opening.sites[0].address = "臺北市大安區復興南路一段 200 號"
    unit.address, unit.phone = "臺北市大安區和平東路二段 100 號", "02-2700-0000"
    profile = profile_of(db, unit.id)
    profile.contact_name, profile.contact_email = "王承辦", "volunteer@example.tw"
    db.add(profile)
    db.commit()
    page = anon.get(f"/openings/{opening.public_id}").get_data(as_text=True)
    assert "臺北市大安區復興南路一段 200 號" in page  # the site's address
    assert 'id="unit-contact"' in page and "王承辦" in page
    assert '<a href="tel:0227000000">02-2700-0000</a>' in page  # the unit's phone: no contact phone
    assert '<a href="mailto:volunteer@example.tw">' in page
    assert 'id="all-openings" href="/openings"' in page and "所有招募" in page
    thanks = anon.post(f"/openings/{opening.public_id}/apply", good())
    assert thanks.status_code == 200
    text = thanks.get_data(as_text=True)
    assert 'id="reference-no"' in text and 'id="unit-contact"' in text
    assert "02-2700-0000" in text and "volunteer@example.tw" in text
    en = anon.get(f"/openings/{opening.public_id}", headers={"Accept-Language": "en"})
    assert "← All openings" in en.get_data(as_text=True)


def test_without_contact_details_no_empty_contact_box(anon, db, opening, unit):
    unit.address = unit.phone = ""
    db.commit()
    assert 'id="unit-contact"' not in anon.get(f"/openings/{opening.public_id}").get_data(as_text=True)


@pytest.mark.parametrize("written, link", [
    ("(02) 2594-3001 #123", "tel:0225943001,123"),  # was tel:(02): the text up to the first space
    ("02-2700-0000 分機 12", "tel:0227000000,12"),
    ("+886 2 2700 1234", "tel:+886227001234"),
    ("０９１２－３４５－６７８", "tel:0912345678"),
])
def test_a_phone_as_written_becomes_a_link_a_phone_dials(written, link):
    from models.contact import tel_uri

    assert tel_uri(written) == link

