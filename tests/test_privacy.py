"""The volunteer's own data (PDPA §3): contact edits, the data download (everything about the
volunteer, nothing of anyone else), correction/deletion requests, and anonymisation that keeps
the unit's totals."""
import csv
import datetime as dt
import io
import json
import zipfile

import pytest
from sqlalchemy import func, select

from models import audit, hours, personal_data, prior_service, privacy
from models.audit import AuditEntry
from models.base import TAIPEI
from models.people import User, Volunteer, VolunteerStatus
from models.privacy import DataRequest, PrivacyError, RequestStatus
from models.service import ServiceSession, SessionSource, SessionStatus


def fresh(db):
    db.rollback()
    db.expire_all()
    return db


def audits(db, action):
    fresh(db)
    return db.scalars(select(AuditEntry).where(AuditEntry.action == action)
                      .order_by(AuditEntry.id)).all()


def served(db, volunteer, site, item, day, minutes=120):
    start = dt.datetime.combine(day, dt.time(9), tzinfo=TAIPEI)
    s = ServiceSession(unit_id=volunteer.unit_id, volunteer_id=volunteer.id, site_id=site.id,
                       service_item_id=item.id, checked_in_at=start,
                       checked_out_at=start + dt.timedelta(minutes=minutes),
                       status=SessionStatus.verified, credited_minutes=minutes,
                       source=SessionSource.poster)
    db.add(s)
    db.commit()
    return s


def me(db, http_user) -> Volunteer:
    return fresh(db).get(User, http_user.user.id).volunteer


def unit_total(db, unit_id) -> tuple[int, int]:
    fresh(db)
    return (db.scalar(select(func.count()).select_from(ServiceSession)
                      .where(ServiceSession.unit_id == unit_id)),
            db.scalar(select(func.sum(ServiceSession.credited_minutes))
                      .where(ServiceSession.unit_id == unit_id,
                             ServiceSession.status == SessionStatus.verified)))


# --- domain ----------------------------------------------------------------------------------

def test_contact_update_is_checked_and_audited(db, make, unit):
    v = make.volunteer(unit)
    with pytest.raises(PrivacyError):
        privacy.update_contact(db, v, None, phone="1" * 41)
    db.rollback()
    with pytest.raises(PrivacyError):
        privacy.update_contact(db, v, None, email="not-an-email")
    db.rollback()
    privacy.update_contact(db, v, None, phone="0912000111", email="me@example.tw",
                           address="臺北市大安區", emergency_contact="媽媽",
                           emergency_phone="0922000333")
    db.commit()
    v = fresh(db).get(Volunteer, v.id)
    assert (v.phone, v.address, v.emergency_contact) == ("0912000111", "臺北市大安區", "媽媽")
    (entry,) = audits(db, "volunteer_contact_update")
    assert entry.before_data()["phone"] == "" and entry.after_data()["phone"] == "0912000111"


def test_anonymisation_keeps_totals(db, make, unit):
    admin = make.user(unit, role="admin")
    user = make.user(unit, role="volunteer")
    v = user.volunteer
    v.phone, v.address, v.pin_hash = "0912", "臺北市", "x"
    db.commit()
    site, item = make.site(unit), make.item(unit)
    served(db, v, site, item, dt.date(2026, 3, 2), 120)
    served(db, v, site, item, dt.date(2026, 3, 3), 60)
    other = make.volunteer(unit)
    served(db, other, site, item, dt.date(2026, 3, 3), 30)
    before_total = unit_total(db, unit.id)
    old_token, old_number = v.card_token, v.id_number
    req = privacy.make_request(db, v, user, "deletion", "請刪除")
    db.commit()
    privacy.handle_request(db, req, admin, outcome="done", response="已刪除")
    db.commit()
    v = fresh(db).get(Volunteer, v.id)
    assert v.name_zh == f"已刪除志工 #{v.id}"
    assert (v.id_number, v.phone, v.email, v.address, v.photo_file_id) == ("", "", "", "", None)
    assert v.anonymised_at is not None and v.status == VolunteerStatus.inactive
    assert v.card_token != old_token and v.pin_hash is None
    assert not db.get(User, user.id).active
    assert unit_total(db, unit.id) == before_total == (3, 210)
    assert hours.verified_minutes(db, v.id) == 180
    (entry,) = audits(db, "volunteer_anonymise")
    assert old_number not in (entry.before or "")  # the log keeps no full ID number
    assert fresh(db).get(DataRequest, req.id).status == RequestStatus.done
    # leaving is in the status history, as any exit: reports of who was active read it
    from models.volunteer_status import active_on, status_history
    (change,) = status_history(db, [v.id])[v.id]
    assert change.status == VolunteerStatus.inactive and change.reason == "依當事人請求刪除個人資料"
    assert change.effective_on == v.left_on
    assert not active_on(v, [change], v.left_on + dt.timedelta(days=1))


def test_requests_are_checked(db, make, unit):
    admin = make.user(unit, role="admin")
    v = make.volunteer(unit)
    with pytest.raises(PrivacyError):
        privacy.make_request(db, v, None, "correction", "")
    db.rollback()
    with pytest.raises(PrivacyError):
        privacy.make_request(db, v, None, "nonsense", "x")
    db.rollback()
    req = privacy.make_request(db, v, None, "correction", "生日錯了")
    db.commit()
    with pytest.raises(PrivacyError):
        privacy.handle_request(db, req, admin, outcome="done", response="")
    db.rollback()
    other_admin = make.user(make.unit(), role="admin")
    with pytest.raises(PrivacyError):
        privacy.handle_request(db, fresh(db).get(DataRequest, req.id), other_admin,
                               outcome="done", response="ok")
    db.rollback()
    privacy.handle_request(db, fresh(db).get(DataRequest, req.id), admin, outcome="refused",
                           response="請帶證件來")
    db.commit()
    req = fresh(db).get(DataRequest, req.id)
    assert req.status == RequestStatus.refused and req.response == "請帶證件來"
    assert fresh(db).get(Volunteer, v.id).anonymised_at is None
    with pytest.raises(PrivacyError):
        privacy.handle_request(db, req, admin, outcome="done", response="again")


# --- HTTP ------------------------------------------------------------------------------------

def test_my_data_pages_roles(admin, supervisor, volunteer, anon):
    assert volunteer.get("/me/data/").status_code == 200
    for person in (admin, supervisor):
        assert person.get("/me/data/").status_code == 403
        assert person.get("/me/data/download").status_code == 403
    assert anon.get("/me/data/").status_code == 302
    assert admin.get("/admin/data-requests/").status_code == 200
    for person in (supervisor, volunteer):
        assert person.get("/admin/data-requests/").status_code == 403


def test_download_has_everything_about_me_and_nothing_of_anyone_else(
        db, make, unit, volunteer, admin):
    v = me(db, volunteer)
    v.phone = "0912345678"
    db.commit()
    other = make.volunteer(unit, name_zh="別人王", phone="0999888777")
    site, item = make.site(unit), make.item(unit)
    mine = served(db, v, site, item, dt.date(2026, 3, 2))
    theirs = served(db, other, site, item, dt.date(2026, 3, 2))
    make.cover(v, policy_no="MINE-1")
    make.cover(other, policy_no="THEIRS-1")
    admin_user = fresh(db).get(User, admin.user.id)
    prior_service.add_prior_hours(db, fresh(db).get(Volunteer, v.id), admin_user,
                                source_unit="甲協會", period_start=dt.date(2020, 1, 1),
                                period_end=dt.date(2020, 12, 31), minutes=600)
    db.commit()
    prior_service.add_prior_hours(db, fresh(db).get(Volunteer, other.id), admin_user,
                                source_unit="乙協會", period_start=dt.date(2020, 1, 1),
                                period_end=dt.date(2020, 12, 31), minutes=900)
    db.commit()
    assert volunteer.post("/me/data/requests", {"kind": "correction",
                                                "details": "電話改了"}).status_code == 302

    response = volunteer.get("/me/data/download")
    assert response.status_code == 200 and response.mimetype == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    names = set(archive.namelist())
    assert {"data.json", "profile.csv", "sessions.csv", "hour_slips.csv", "training.csv",
            "insurance_covers.csv", "prior_hours.csv", "audit_entries.csv",
            "data_requests.csv"} <= names
    data = json.loads(archive.read("data.json"))
    v = fresh(db).get(Volunteer, v.id)
    assert data["profile"][0]["id_number"] == v.id_number
    assert data["profile"][0]["phone"] == "0912345678"
    assert "pin_hash" not in data["profile"][0] and "card_token" not in data["profile"][0]
    assert [s["id"] for s in data["sessions"]] == [mine.id]
    [row] = data["sessions"]  # readable: names next to ids, Taipei times with their offset
    assert row["site_name"] == site.name_zh and row["service_item_name"] == item.name_zh
    assert row["checked_in_at"].endswith("+08:00")
    assert row["checked_in_at"] == mine.checked_in_at.astimezone(TAIPEI).isoformat()
    assert [c["policy_no"] for c in data["insurance_covers"]] == ["MINE-1"]
    assert [p["minutes"] for p in data["prior_hours"]] == [600]
    assert data["training"]  # the factory's training records
    assert [r["details"] for r in data["data_requests"]] == ["電話改了"]
    actions = {e["action"] for e in data["audit_entries"]}
    assert {"prior_hours_add", "data_request_create"} <= actions
    everything = b"".join(archive.read(n) for n in names).decode("utf-8-sig", "replace")
    for foreign in ("別人王", "0999888777", "THEIRS-1", "乙協會", other.id_number):
        assert foreign not in everything
    assert all(e.get("entity_id") != theirs.id or e["entity"] != "service_session"
               for e in data["audit_entries"])
    rows = list(csv.reader(io.StringIO(archive.read("profile.csv").decode("utf-8-sig"))))
    assert rows[0][0] == "系統內部編號" and archive.read("profile.csv").startswith(b"\xef\xbb\xbf")
    (entry,) = audits(db, "id_number_export")
    assert entry.entity_id == v.id and entry.after_data() == {"purpose": "my_data_download"}
    # Who did it, in their own log: their own check-in is "self" (it was "staff"), a staff
    # member's change is "staff" (never the staff member's name).
    from models import checkin
    from models.base import utcnow

    checkin.check_in(db, volunteer=fresh(db).get(Volunteer, v.id), site=site, item=item,
                     now=utcnow(), source=SessionSource.poster)
    db.commit()
    data = personal_data.my_data(db, fresh(db).get(Volunteer, v.id))
    by_action = {e["action"]: e["actor_label"] for e in data["audit_entries"]}
    assert by_action["check_in"] == "self" and by_action["prior_hours_add"] == "staff"
    # The page shows their insurance cover too (the check-in gate they meet), and no one else's.
    covers = volunteer.get("/me/data/").get_data(as_text=True).split('id="my-covers"')[1].split("</section>")[0]
    assert "保單 MINE-1" in covers and "THEIRS-1" not in covers
    page = volunteer.get("/me/data/").get_data(as_text=True)
    assert f'<dd id="my-gender">{ {"female": "女", "male": "男", "other": "其他"}[v.gender.value] }</dd>' in page
    # Their application (availability, experience, consent), without the interviewer's notes.
    from models.people import Gender
    from models.recruitment import Application

    db.add(Application(unit_id=unit.id, reference_no="A2026-09999", name_zh=v.name_zh,
                       gender=Gender.female, birth_date=dt.date(1985, 3, 2), phone="0912-000-111",
                       id_number=v.id_number, availability="週末上午", experience="社區關懷",
                       privacy_consent_at=dt.datetime(2026, 1, 5, 2, 0, tzinfo=dt.timezone.utc),
                       notes="面談：內部意見", volunteer_id=v.id))
    db.commit()
    data = personal_data.my_data(db, fresh(db).get(Volunteer, v.id))
    [application] = data["applications"]
    assert application["availability"] == "週末上午" and application["experience"] == "社區關懷"
    assert application["privacy_consent_at"] == "2026-01-05T10:00:00+08:00"
    assert "notes" not in application and "內部意見" not in json.dumps(data, ensure_ascii=False)


def test_contact_edit_and_bad_input_over_http(db, volunteer):
    bad = volunteer.post("/me/data/contact", {"phone": "1" * 41, "email": ""})
    assert bad.status_code == 400
    assert "40" in bad.get_data(as_text=True)
    assert me(db, volunteer).phone == ""
    bad = volunteer.post("/me/data/contact", {"email": "nope"})
    assert bad.status_code == 400 and me(db, volunteer).email == ""
    ok = volunteer.post("/me/data/contact", {"phone": "0912000111", "email": "a@b.tw",
                                             "address": "臺北市", "emergency_contact": "爸爸",
                                             "emergency_phone": "0922-000-333"})
    assert ok.status_code == 302
    v = me(db, volunteer)
    assert (v.phone, v.email, v.emergency_contact) == ("0912000111", "a@b.tw", "爸爸")
    assert volunteer.post("/me/data/contact", {"phone": "0912000222", "address": "臺北市",
                                               "emergency_contact": "爸爸",
                                               "emergency_phone": "0922-000-333"},
                          headers={}, follow_redirects=False).status_code == 302
    assert volunteer.client.post("/me/data/contact", data={"phone": "x"}).status_code == 400  # no CSRF


def test_request_and_admin_handles_deletion_over_http(app, db, make, unit, volunteer, admin):
    v = me(db, volunteer)
    site, item = make.site(unit), make.item(unit)
    served(db, v, site, item, dt.date(2026, 3, 2), 90)
    before = unit_total(db, unit.id)
    assert volunteer.post("/me/data/requests", {"kind": "deletion"}).status_code == 302
    assert volunteer.post("/me/data/requests", {"kind": "bogus"}).status_code == 400
    (req,) = fresh(db).scalars(select(DataRequest)).all()
    page = admin.get("/admin/data-requests/").get_data(as_text=True)
    assert f'id="request-{req.id}"' in page
    other_admin_unit = make.unit()
    outsider = make.user(other_admin_unit, role="admin")
    from tests.conftest import HttpUser
    stranger = HttpUser(app.test_client())
    stranger.sign_in(outsider.email, make.PASSWORD)
    assert stranger.get(f"/admin/data-requests/{req.id}").status_code == 404
    assert admin.post(f"/admin/data-requests/{req.id}", {"outcome": "done",
                                                         "response": ""}).status_code == 400
    assert fresh(db).get(Volunteer, v.id).anonymised_at is None
    assert admin.post(f"/admin/data-requests/{req.id}", {"outcome": "done",
                                                         "response": "已依法刪除"}).status_code == 302
    v = fresh(db).get(Volunteer, v.id)
    assert v.anonymised_at is not None and v.name_zh.startswith("已刪除志工")
    assert unit_total(db, unit.id) == before
    assert volunteer.get("/me/data/").status_code == 302  # signed out: the account is closed
    assert len(audits(db, "data_request_handle")) == 1


def test_volunteer_uploads_own_photo_and_deletion_removes_it(app, db, make, unit, volunteer,
                                                             admin, tmp_path, monkeypatch):
    from PIL import Image

    from models import files

    root = tmp_path / "uploads"
    app.config["HOURBOOK_UPLOAD_DIR"] = str(root)
    png = io.BytesIO()
    Image.new("RGB", (900, 900), (10, 200, 10)).save(png, "PNG")
    # A smaller limit: the test client spools bodies over 500 kB to a file it never closes.
    monkeypatch.setattr(files, "DEFAULT_MAX_BYTES", 200_000)
    too_big = b"\xff\xd8\xff" + b"\0" * 200_010
    response = volunteer.post("/me/data/photo", {"photo": (io.BytesIO(too_big), "big.jpg")},
                              content_type="multipart/form-data")
    assert response.status_code == 400 and "0 MB" in response.get_data(as_text=True)
    response = volunteer.post("/me/data/photo", {"photo": (io.BytesIO(b"%PDF-1.4 x"), "a.jpg")},
                              content_type="multipart/form-data")
    assert response.status_code == 400
    assert me(db, volunteer).photo_file_id is None
    response = volunteer.post("/me/data/photo", {"photo": (io.BytesIO(png.getvalue()), "me.png")},
                              content_type="multipart/form-data")
    assert response.status_code == 302
    photo_id = me(db, volunteer).photo_file_id
    assert photo_id is not None
    page = volunteer.get("/me/data/").get_data(as_text=True)
    assert f"/files/{photo_id}" in page
    shown = volunteer.get(f"/files/{photo_id}")
    assert shown.status_code == 200 and shown.mimetype == "image/jpeg"
    assert Image.open(io.BytesIO(shown.data)).size == (331, 413)
    archive = zipfile.ZipFile(io.BytesIO(volunteer.get("/me/data/download").data))
    assert archive.read("photo.jpg") == shown.data
    stored = fresh(db).get(files.StoredFile, photo_id)
    path = files.stored_path(root, stored)
    assert path.exists()

    assert volunteer.post("/me/data/requests", {"kind": "deletion"}).status_code == 302
    (req,) = fresh(db).scalars(select(DataRequest)).all()
    assert admin.post(f"/admin/data-requests/{req.id}", {"outcome": "done",
                                                         "response": "已刪除"}).status_code == 302
    assert fresh(db).get(files.StoredFile, photo_id) is None
    assert not path.exists()


def test_admin_makes_a_requested_correction(app, db, make, unit, admin, supervisor):
    from sqlalchemy import select

    from models.audit import AuditEntry
    from models.idnumbers import with_check_digit
    from models.people import Volunteer

    vol = make.volunteer(unit, name_zh="王小眀")
    other = make.volunteer(unit)
    url = f"/admin/data-requests/volunteers/{vol.id}/profile"
    assert supervisor.get(url).status_code == 403
    page = admin.get(url).get_data(as_text=True)
    assert "王小眀" in page
    new_id = with_check_digit("A11112222")
    base = {"name_zh": "王小明", "name_en": "", "gender": "male", "birth_date": "1980-02-03",
            "id_kind": "national_id", "id_number": new_id, "phone": "0912-345-678", "email": "",
            "address": "", "emergency_contact": "", "emergency_phone": ""}
    bad = admin.post(url, {**base, "id_number": "A123456788"})
    assert bad.status_code == 400 and "檢查碼" in bad.get_data(as_text=True)
    taken = admin.post(url, {**base, "id_number": other.id_number})
    assert taken.status_code == 400
    db.rollback()
    db.expire_all()
    assert db.get(Volunteer, vol.id).name_zh == "王小眀"  # nothing changed
    assert admin.post(url, base).status_code == 302
    db.rollback()
    db.expire_all()
    fixed = db.get(Volunteer, vol.id)
    assert (fixed.name_zh, fixed.id_number, fixed.phone) == ("王小明", new_id, "0912-345-678")
    entry = db.scalar(select(AuditEntry).where(AuditEntry.action == "volunteer_identity_correct"))
    assert entry.before_data()["name_zh"] == "王小眀" and entry.after_data()["id_number"] == new_id[:3] + "****" + new_id[-3:]
    assert new_id not in (entry.after or "")


def test_my_data_names_courses_in_the_readers_language(volunteer, db):
    from models.training import TrainingRecord

    records = db.query(TrainingRecord).filter_by(volunteer_id=volunteer.user.volunteer.id).all()
    course = next(r.course for r in records if r.course.name_en)
    english = volunteer.get("/me/data/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert course.name_en in english and course.name not in english
    assert course.name in volunteer.get("/me/data/").get_data(as_text=True)


@pytest.mark.parametrize("lang", ["zh-TW", "en"])
def test_my_data_csv_names_courses_sites_and_items_in_my_language(volunteer, db, make, unit, lang):
    """training.csv and sessions.csv name each course, site and item in the reader's language:
    in English the English name where there is one, else the Chinese; data.json the Chinese."""
    from models.training import TrainingRecord

    v = me(db, volunteer)
    records = db.query(TrainingRecord).filter_by(volunteer_id=v.id).all()
    named = next(r.course for r in records if r.course.name_en)
    unnamed = next(r.course for r in records if r.course.id != named.id)
    unnamed.name_en = ""
    site = make.site(unit, name_zh="松山據點", name_en="Songshan Centre")
    item = make.item(unit, name_zh="陪伴長者")
    served(db, v, site, item, dt.date(2026, 3, 2))
    db.commit()
    archive = zipfile.ZipFile(io.BytesIO(volunteer.get(
        "/me/data/download", headers={"Accept-Language": lang}).data))
    english = lang == "en"
    courses = [row["Course" if english else "課程"] for row in _csv_rows(archive, "training.csv")]
    assert (named.name_en if english else named.name) in courses
    assert unnamed.name in courses  # no English name: the Chinese one, in either language
    assert english == (named.name not in courses)
    [session] = _csv_rows(archive, "sessions.csv")
    assert session["Site" if english else "服務地點"] == ("Songshan Centre" if english else "松山據點")
    assert session["Service item" if english else "服務項目"] == "陪伴長者"
    data = json.loads(archive.read("data.json"))  # for a program: the names as kept
    assert named.name in [row["course_name"] for row in data["training"]]
    assert data["sessions"][0]["site_name"] == "松山據點"


def test_a_refused_request_says_so_at_the_top_of_the_long_page(volunteer):
    response = volunteer.post("/me/data/requests", {"kind": "bogus"})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    summary = page.split('id="error-summary"', 1)[1].split("</div>", 1)[0]
    assert "尚未儲存" in summary and 'href="#kind"' in summary
    assert page.index('id="error-summary"') < page.index('name="kind"')  # before the form
    assert 'id="error-summary"' not in volunteer.get("/me/data/").get_data(as_text=True)


def test_the_same_request_sent_twice_is_kept_once(volunteer, db):
    from models.privacy import DataRequest

    data = {"kind": "correction", "details": "電話改為 0912-000-111"}
    assert volunteer.post("/me/data/requests", data).status_code == 302
    again = volunteer.post("/me/data/requests", data)
    assert again.status_code == 400 and "這個申請您已送出" in again.get_data(as_text=True)
    db.rollback()
    assert db.query(DataRequest).count() == 1


def test_a_corrected_birth_date_keeps_the_application_forms_rule(db, make, unit):
    """recruitment.birth_date_problem, by the Taipei calendar: not after today, not more than
    120 years ago (the correction checked only 'not after the UTC date')."""
    admin = make.user(unit, role="admin")
    vol = make.volunteer(unit)
    fields = dict(name_zh=vol.name_zh, name_en="", gender="female", id_kind="national_id",
                  id_number=vol.id_number)
    now = dt.datetime(2026, 12, 31, 17, 0, tzinfo=dt.timezone.utc)  # 1 January 2027 in Taipei
    with pytest.raises(PrivacyError) as refused:
        privacy.correct_identity(db, vol, admin, now, birth_date=dt.date(1905, 3, 1), **fields)
    assert refused.value.message == "Check the birth date." and refused.value.field == "birth_date"
    db.rollback()
    with pytest.raises(PrivacyError) as refused:
        privacy.correct_identity(db, vol, admin, now, birth_date=dt.date(2027, 1, 2), **fields)
    assert refused.value.message == "Enter a birth date in the past."
    db.rollback()
    privacy.correct_identity(db, vol, admin, now, birth_date=dt.date(1907, 1, 1), **fields)
    db.commit()
    assert db.get(Volunteer, vol.id).birth_date == dt.date(1907, 1, 1)  # 120 that day in Taipei


def test_an_impossible_birth_date_is_refused_over_http(db, make, unit, admin):
    vol = make.volunteer(unit)
    url = f"/admin/data-requests/volunteers/{vol.id}/profile"
    response = admin.post(url, {"name_zh": vol.name_zh, "name_en": "", "gender": "female",
                                "birth_date": "1890-01-01", "id_kind": "national_id",
                                "id_number": vol.id_number, "phone": "", "email": "",
                                "address": "", "emergency_contact": "", "emergency_phone": ""})
    assert response.status_code == 400 and "請檢查出生日期" in response.get_data(as_text=True)
    db.rollback()
    db.expire_all()
    assert db.get(Volunteer, vol.id).birth_date == dt.date(1970, 5, 17)


def test_a_correction_that_makes_a_volunteer_a_minor_asks_for_a_guardian(db, make, unit, admin):
    """As on the application form: under 18 needs a parent or guardian's name and consent."""
    vol = make.volunteer(unit)
    url = f"/admin/data-requests/volunteers/{vol.id}/profile"
    page = admin.get(url).get_data(as_text=True)
    assert "法定代理人姓名（未滿 18 歲）" in page and 'name="guardian_consent"' in page
    today = dt.datetime.now(TAIPEI).date()
    sixteen = today.replace(year=today.year - 16, day=min(today.day, 28)).isoformat()
    base = {"name_zh": vol.name_zh, "name_en": "", "gender": "female", "birth_date": sixteen,
            "id_kind": "national_id", "id_number": vol.id_number, "phone": "", "email": "",
            "address": "", "emergency_contact": "", "emergency_phone": "", "guardian_name": ""}
    no_name = admin.post(url, base)
    assert no_name.status_code == 400
    assert "未滿 18 歲的志工需有法定代理人：請填寫其姓名。" in no_name.get_data(as_text=True)
    no_consent = admin.post(url, {**base, "guardian_name": "陳大文"})
    assert no_consent.status_code == 400
    assert "未滿 18 歲的志工需經法定代理人同意。" in no_consent.get_data(as_text=True)
    db.rollback()
    db.expire_all()
    assert db.get(Volunteer, vol.id).birth_date == dt.date(1970, 5, 17)  # nothing changed
    assert admin.post(url, {**base, "guardian_name": " 陳大文 ",
                            "guardian_consent": "y"}).status_code == 302
    db.rollback()
    db.expire_all()
    minor = db.get(Volunteer, vol.id)
    assert (minor.birth_date.isoformat(), minor.guardian_name) == (sixteen, "陳大文")
    # on file now: the next correction needs no new consent, but still a name
    page = admin.get(url).get_data(as_text=True)
    assert 'name="guardian_consent"' not in page and 'value="陳大文"' in page
    assert admin.post(url, {**base, "guardian_name": ""}).status_code == 400
    assert admin.post(url, {**base, "guardian_name": "陳大文", "phone": "0912-000-111"}
                      ).status_code == 302
    # corrected back to an adult: the guardian is cleared, as on the application form
    assert admin.post(url, {**base, "birth_date": "1970-05-17", "phone": "0912-000-111",
                            "guardian_name": "陳大文"}).status_code == 302
    db.rollback()
    db.expire_all()
    assert db.get(Volunteer, vol.id).guardian_name == ""
    english = admin.post(url, {**base, "guardian_name": ""}, headers={"Accept-Language": "en"})
    assert "Volunteers under 18 need a parent or guardian" in english.get_data(as_text=True)


def test_anonymisation_unnames_issued_completion_certificates(db, make, unit):
    """A completion certificate issued before the deletion stays on the unit's record (number,
    date, hours) but, printed again, names no one."""
    from models import completion, training
    from models.training import TrainingCourse, TrainingMode, TrainingRecord

    admin = make.user(unit, role="admin")
    user = make.user(unit, role="volunteer")
    v = user.volunteer
    name = v.name_zh
    training.seed_catalogue(db, unit)
    db.commit()
    sw04 = db.scalar(select(TrainingCourse).where(TrainingCourse.unit_id == unit.id,
                                                  TrainingCourse.code == "SW04"))
    db.add(TrainingRecord(volunteer_id=v.id, course_id=sw04.id, completed_on=dt.date(2026, 3, 2),
                          minutes=120, mode=TrainingMode.in_person))
    db.commit()
    cert = completion.issue_completion(db, v, actor=admin,
                                       now=dt.datetime(2026, 3, 5, 2, 0, tzinfo=dt.timezone.utc))
    db.commit()
    assert name in cert.text and cert.volunteer_name == name
    privacy.anonymise(db, v, admin)
    db.commit()
    v = fresh(db).get(Volunteer, v.id)
    (row,) = completion.issued_completions(db, v.id)
    again = completion.issued_completion(db, v, row.id)
    assert again.serial == cert.serial and again.total_minutes == cert.total_minutes
    assert name not in again.text and name not in json.dumps(row.printed, ensure_ascii=False)
    assert again.volunteer_name == v.name_zh and v.name_zh in again.text


# --- the application form's rules for phone and email (models.contact) ------------------------

PHONE_WORDS = "請輸入像 0912-345-678 這樣的電話號碼"
EMAIL_WORDS = "請輸入像 name@example.tw 這樣的電子郵件地址"


def test_the_admins_correction_keeps_the_application_forms_phone_and_email_rules(
        db, make, unit, admin):
    """The QA review saved (and audited) the phone "abc" through the correction form: refused
    now in the application form's words, with nothing of the form saved (the name typed with
    it neither)."""
    from models.contact import EMAIL_PROBLEM, PHONE_PROBLEM

    vol = make.volunteer(unit, name_zh="王小眀", phone="0912-345-678")
    url = f"/admin/data-requests/volunteers/{vol.id}/profile"
    base = {"name_zh": "王小明", "name_en": "", "gender": "female", "birth_date": "1970-05-17",
            "id_kind": "national_id", "id_number": vol.id_number, "phone": "0912-000-111",
            "email": "", "address": "", "emergency_contact": "", "emergency_phone": ""}
    for field, bad, words in (("phone", "abc", PHONE_WORDS), ("emergency_phone", "abc", PHONE_WORDS),
                              ("phone", "12", PHONE_WORDS), ("email", "me@example", EMAIL_WORDS),
                              ("email", "a..b@example.tw", EMAIL_WORDS)):
        response = admin.post(url, {**base, field: bad})
        assert response.status_code == 400, (field, bad)
        page = response.get_data(as_text=True)
        assert words in page and 'class="field has-error"><label for="c-%s"' % field in page
    english = admin.post(url, {**base, "phone": "abc"}, headers={"Accept-Language": "en"})
    assert PHONE_PROBLEM in english.get_data(as_text=True)
    english = admin.post(url, {**base, "email": "nope"}, headers={"Accept-Language": "en"})
    assert EMAIL_PROBLEM in english.get_data(as_text=True)
    v = fresh(db).get(Volunteer, vol.id)
    assert (v.name_zh, v.phone, v.email, v.emergency_phone) == ("王小眀", "0912-345-678", "", "")
    assert audits(db, "volunteer_contact_update") == []
    assert audits(db, "volunteer_identity_correct") == []
    ok = admin.post(url, {**base, "phone": "(02) 2700-1234 #12", "email": "wang@example.tw",
                          "emergency_phone": "+886 912 345 678"})
    assert ok.status_code == 302
    v = fresh(db).get(Volunteer, vol.id)
    assert (v.phone, v.email, v.emergency_phone) == ("(02) 2700-1234 #12", "wang@example.tw",
                                                     "+886 912 345 678")


def test_the_volunteers_own_contact_form_keeps_the_same_rules(db, volunteer):
    for data, words in (({"phone": "abc"}, PHONE_WORDS), ({"emergency_phone": "call me"}, PHONE_WORDS),
                        ({"email": "me@localhost"}, EMAIL_WORDS)):
        response = volunteer.post("/me/data/contact", data)
        assert response.status_code == 400, data
        assert words in response.get_data(as_text=True)
    v = me(db, volunteer)
    assert (v.phone, v.email, v.emergency_phone) == ("", "", "")
    assert volunteer.post("/me/data/contact", {"phone": "0912-000-111", "address": "臺北市",
                                               "emergency_contact": "媽媽",
                                               "emergency_phone": "0922-000-333"}).status_code == 302
    assert me(db, volunteer).phone == "0912-000-111"


def test_a_volunteer_cannot_blank_what_the_application_form_requires(db, volunteer):
    """Phone, address and the emergency contact are required, as on the application form;
    the contact email is optional, and the form says it is not the sign-in email."""
    full = {"phone": "0912-000-111", "email": "me@example.tw", "address": "臺北市大安區",
            "emergency_contact": "媽媽", "emergency_phone": "0922-000-333"}
    assert volunteer.post("/me/data/contact", full).status_code == 302
    assert "您的聯絡資料已儲存" in volunteer.get("/me/data/").get_data(as_text=True)
    before = len(audits(db, "volunteer_contact_update"))
    blank = volunteer.post("/me/data/contact", {name: "" for name in full})
    assert blank.status_code == 400
    page = blank.get_data(as_text=True)
    assert "您的聯絡資料已儲存" not in page
    for words in ("請輸入電話號碼", "請輸入地址", "請輸入緊急聯絡人"):
        assert words in page
    for name in ("phone", "address", "emergency_contact", "emergency_phone"):
        assert 'id="%s-error"' % name in page
    v = me(db, volunteer)
    assert (v.phone, v.address, v.emergency_contact, v.emergency_phone) == (
        "0912-000-111", "臺北市大安區", "媽媽", "0922-000-333")
    assert len(audits(db, "volunteer_contact_update")) == before
    english = volunteer.post("/me/data/contact", {**full, "phone": ""},
                             headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Enter a phone number." in english
    # the contact email may be left empty
    assert volunteer.post("/me/data/contact", {**full, "email": ""}).status_code == 302
    assert me(db, volunteer).email == ""


def test_full_width_digits_are_a_phone_number(db, volunteer):
    """A Chinese keyboard types ０９１２３４５６７８: the same number, kept in ASCII digits."""
    response = volunteer.post("/me/data/contact", {
        "phone": "０９１２３４５６７８", "email": "", "address": "臺北市",
        "emergency_contact": "媽媽", "emergency_phone": " （０２）２７００－１２３４ "})
    assert response.status_code == 302, response.get_data(as_text=True)
    v = me(db, volunteer)
    assert (v.phone, v.emergency_phone) == ("0912345678", "(02)2700-1234")


def test_the_contact_form_says_the_sign_in_email_is_separate(db, volunteer):
    sign_in = volunteer.user.email
    volunteer.post("/me/data/contact", {"phone": "0912-000-111", "email": "changed@example.com",
                                        "address": "臺北市", "emergency_contact": "媽媽",
                                        "emergency_phone": "0922-000-333"})
    page = volunteer.get("/me/data/").get_data(as_text=True)
    assert 'value="changed@example.com"' in page
    assert f"登入用的電子郵件是 {sign_in}" in page and "聯絡用電子郵件" in page
    english = volunteer.get("/me/data/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert f"You sign in with {sign_in}" in english and "Contact email" in english


def test_update_contact_refuses_what_the_application_form_refuses(db, make, unit):
    """The domain function too (the correction page and the volunteer's page both call it)."""
    from models.contact import EMAIL_PROBLEM, PHONE_PROBLEM

    v = make.volunteer(unit)
    for values, field, message in (({"phone": "abc"}, "phone", PHONE_PROBLEM),
                                   ({"emergency_phone": "0912-abc"}, "emergency_phone", PHONE_PROBLEM),
                                   ({"email": "a@b"}, "email", EMAIL_PROBLEM)):
        with pytest.raises(PrivacyError) as refused:
            privacy.update_contact(db, v, None, **values)
        assert (refused.value.field, refused.value.message) == (field, message)
        db.rollback()
    # what was never on file may stay empty (a roster without it); what is on file of what the
    # application form requires may be changed, not removed; the email may be removed
    privacy.update_contact(db, v, None, phone="", email="", emergency_phone="")
    db.commit()
    privacy.update_contact(db, v, None, phone="0912-000-111", email="me@example.tw",
                           address="臺北市", emergency_contact="媽媽", emergency_phone="0922-000-333")
    db.commit()
    full = {"phone": "0912-000-111", "email": "me@example.tw", "address": "臺北市",
            "emergency_contact": "媽媽", "emergency_phone": "0922-000-333"}
    for name in ("phone", "address", "emergency_contact", "emergency_phone"):
        with pytest.raises(PrivacyError) as refused:
            privacy.update_contact(db, v, None, **{**full, name: " "})
        assert refused.value.field == name and refused.value.message.startswith("Enter ")
        db.rollback()
    privacy.update_contact(db, v, None, **{**full, "email": ""})
    db.commit()


@pytest.mark.parametrize("lang, welfare, comprehensive", [
    ("zh-TW", "綜合討論 · 社會福利類", "綜合討論 · 綜合類"),
    ("en", "General discussion · Social welfare", "General discussion · Comprehensive")])
def test_my_training_list_tells_the_two_categories_courses_apart(db, volunteer, lang, welfare,
                                                                 comprehensive):
    """SW03 and CO01 are both 綜合討論, SW04 and CO02 both the unit briefing: each special course
    is shown with its category, as on the admin's course choices."""
    import re

    page = volunteer.get("/me/data/", headers={"Accept-Language": lang}).get_data(as_text=True)
    rows = re.findall(r'<li><span class="who">([^<]*)</span><span class="what small">([^<]*)</span>',
                      page)
    assert len(rows) >= 4 and len(rows) == len(set(rows)), rows  # no two lines read the same
    names = {name for name, _ in rows}
    assert welfare in names and comprehensive in names


def _csv_rows(archive, name):
    raw = archive.read(name)
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM, as every CSV the app hands out
    return list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))


@pytest.mark.parametrize("lang", ["zh-TW", "en"])
def test_my_data_csv_files_are_in_words_in_my_language(db, make, unit, volunteer, lang):
    """The CSV files a volunteer downloads say each column and each code in words, in their
    language; data.json keeps the column names and codes, for a program."""
    v = me(db, volunteer)
    site, item = make.site(unit), make.item(unit)
    s = served(db, v, site, item, dt.date(2026, 3, 2))
    audit.record(db, action="check_in", entity="service_session", entity_id=s.id,
                 actor_label=audit.volunteer_actor(v.id), unit_id=v.unit_id)  # on their phone
    db.commit()
    assert volunteer.post("/me/data/requests", {"kind": "correction",
                                                "details": "電話改了"}).status_code == 302
    headers = {"Accept-Language": lang}
    archive = zipfile.ZipFile(io.BytesIO(volunteer.get("/me/data/download", headers=headers).data))
    v = me(db, volunteer)
    zh = lang == "zh-TW"
    gender = ({"female": "女", "male": "男", "other": "其他"} if zh else
              {"female": "Female", "male": "Male", "other": "Other"})[v.gender.value]
    [profile] = _csv_rows(archive, "profile.csv")
    assert profile["性別" if zh else "Gender"] == gender
    assert profile["姓名" if zh else "Name"] == v.name_zh
    assert profile["狀態" if zh else "Status"] == ("服務中" if zh else "Active")
    [session] = _csv_rows(archive, "sessions.csv")
    assert session["狀態" if zh else "Status"] == ("已審核" if zh else "Verified")
    assert session["簽到方式" if zh else "Checked in by"] == ("手機掃描據點 QR 碼" if zh else "Phone, site poster")
    assert session["服務地點（系統內部編號）" if zh else "Site (internal number)"] == str(site.id)
    [request] = _csv_rows(archive, "data_requests.csv")
    assert request["狀態" if zh else "Status"] == ("待處理" if zh else "Open")
    entries = _csv_rows(archive, "audit_entries.csv")
    what, kind = ("內容", "紀錄種類") if zh else ("What", "Record kind")
    actors = {row[what]: row["人員" if zh else "Who"] for row in entries}
    sent = "送出個資申請" if zh else "Data request sent"
    assert actors[sent] == ("您本人" if zh else "You")
    assert next(row[kind] for row in entries if row[what] == sent) == ("個資申請" if zh else "Data request")
    # the log's actions and record kinds in words, as the session's history words them
    assert {row[what] for row in entries} >= {("已簽到" if zh else "Checked in"), sent}
    assert all(row[what] and "_" not in row[what] and "_" not in row[kind] for row in entries), entries
    for name in archive.namelist():  # no column goes by its internal name
        if name.endswith(".csv"):
            first = archive.read(name).decode("utf-8-sig").split("\r\n")[0]
            assert not {"status", "source", "gender", "actor_label", "id"} & set(first.split(","))
    data = json.loads(archive.read("data.json"))  # the codes, for a program
    assert data["sessions"][0]["status"] == "verified" and data["profile"][0]["gender"] == v.gender.value
