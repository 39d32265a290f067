"""Record book: photo crop, readiness, the application packet, book details, prior hours
(never this unit's verified hours), over the domain and over HTTP."""
import datetime as dt
import io
import zipfile

import pytest
from openpyxl import load_workbook
from PIL import Image
from sqlalchemy import select

from models import files, hours, record_book
from models import prior_service
from models.audit import AuditEntry
from models.base import TAIPEI
from models.people import User, Volunteer
from models.record_book import RecordBookError
from models.prior_service import PriorHours
from models.service import ServiceSession, SessionSource, SessionStatus
from models.training import TrainingCourse, TrainingKind, TrainingMode, TrainingRecord

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def fresh(db):
    db.rollback()
    db.expire_all()
    return db


def image_bytes(size=(1200, 800), fmt="PNG", color=(200, 30, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, fmt)
    return out.getvalue()


def audits(db, action):
    fresh(db)
    return db.scalars(select(AuditEntry).where(AuditEntry.action == action)
                      .order_by(AuditEntry.id)).all()


@pytest.fixture
def root(app, tmp_path):
    app.config["HOURBOOK_UPLOAD_DIR"] = str(tmp_path / "uploads")
    return tmp_path / "uploads"


@pytest.fixture
def courses(db, unit):
    basic = TrainingCourse(unit_id=unit.id, code="BASIC", name="基礎訓練", kind=TrainingKind.basic,
                           minutes=360)
    special = TrainingCourse(unit_id=unit.id, code="SW", name="特殊訓練", kind=TrainingKind.special,
                             category=unit.category, minutes=360)
    db.add_all([basic, special])
    db.commit()
    return basic, special


def trained(db, unit, volunteer, courses, root, *, basic=True, special=True):
    """Replace the volunteer's training records: every current basic course (when `basic`) and
    every special course of the unit's category (when `special`), each with its certificate
    file: one PDF for basic, uploaded on each basic record, and one for special likewise (the
    packet sends each once)."""
    for record in db.scalars(select(TrainingRecord).where(
            TrainingRecord.volunteer_id == volunteer.id)):
        db.delete(record)
    db.flush()
    current = db.scalars(select(TrainingCourse).where(
        TrainingCourse.unit_id == unit.id, TrainingCourse.legacy.is_(False),
        TrainingCourse.active.is_(True)).order_by(TrainingCourse.id)).all()
    wanted = {TrainingKind.basic: basic, TrainingKind.special: special}
    for course in current:
        if not wanted[course.kind]:
            continue
        if course.kind == TrainingKind.special and course.category != unit.category:
            continue
        cert_id = files.store_upload(db, unit.id, "certificate", PDF, "cert.pdf", None,
                                     root=root).id
        db.add(TrainingRecord(volunteer_id=volunteer.id, course_id=course.id,
                              completed_on=dt.date(2026, 1, 10), minutes=course.minutes,
                              mode=TrainingMode.online, certificate_file_id=cert_id))
    db.commit()


def with_photo(db, volunteer, root, actor=None):
    record_book.set_photo(db, volunteer, image_bytes(), "me.png", actor, root=root)
    db.commit()


# --- photo -----------------------------------------------------------------------------------

@pytest.mark.parametrize("size", [(1200, 800), (600, 1600), (331, 413), (100, 100)])
def test_photo_is_cropped_to_one_inch_proportions(size):
    jpeg = record_book.crop_photo(image_bytes(size))
    image = Image.open(io.BytesIO(jpeg))
    assert image.format == "JPEG"
    assert image.size == (331, 413)
    assert abs(image.width / image.height - 2.8 / 3.5) < 0.01


def test_photo_centre_crop_keeps_the_middle():
    wide = Image.new("RGB", (1000, 500), (0, 0, 255))
    wide.paste((255, 0, 0), (400, 0, 600, 500))  # a red band in the middle
    out = io.BytesIO()
    wide.save(out, "PNG")
    image = Image.open(io.BytesIO(record_book.crop_photo(out.getvalue()))).convert("RGB")
    r, _g, b = image.getpixel((165, 206))
    assert r > 200 and b < 60


@pytest.mark.parametrize("data", [b"", b"GIF89a" + b"\0" * 100, PDF, b"<html>hi</html>",
                                  b"\xff\xd8\xff" + b"broken"])
def test_wrong_photo_types_are_refused(data):
    with pytest.raises(RecordBookError):
        record_book.crop_photo(data)


def test_oversize_photo_is_refused():
    with pytest.raises(RecordBookError) as error:
        record_book.crop_photo(b"\x89PNG\r\n\x1a\n" + b"\0" * (files.DEFAULT_MAX_BYTES + 1))
    assert "larger" in error.value.message


def test_set_photo_stores_a_jpeg_and_audits(db, make, unit, root):
    admin = make.user(unit, role="admin")
    v = make.volunteer(unit)
    stored = record_book.set_photo(db, v, image_bytes(), "me.png", admin, root=root)
    db.commit()
    assert stored.content_type == "image/jpeg" and stored.kind == "photo"
    assert Image.open(io.BytesIO(files.read_stored(root, stored))).size == (331, 413)
    assert fresh(db).get(Volunteer, v.id).photo_file_id == stored.id
    assert [e.entity_id for e in audits(db, "volunteer_photo_set")] == [v.id]


# --- readiness and packet --------------------------------------------------------------------

def test_readiness_list(db, make, unit, courses, root):
    ready = make.volunteer(unit, name_zh="王小明")
    no_photo = make.volunteer(unit)
    no_special = make.volunteer(unit)
    has_book = make.volunteer(unit, record_book_no="北市志字第1號",
                              record_book_issued_on=dt.date(2025, 1, 1))
    other_unit = make.volunteer(make.unit())
    for v in (ready, no_photo, has_book):
        trained(db, unit, v, courses, root)
    trained(db, unit, no_special, courses, root, special=False)
    for v in (ready, no_special, has_book, other_unit):
        with_photo(db, v, root)
    rows = {r.volunteer.id: r for r in record_book.readiness(db, unit.id)}
    assert set(rows) == {ready.id, no_photo.id, no_special.id}
    assert rows[ready.id].ready
    assert not rows[no_photo.id].ready and not rows[no_photo.id].photo
    assert rows[no_special.id].basic and not rows[no_special.id].special
    assert [r.volunteer.id for r in record_book.ready_volunteers(db, unit.id)] == [ready.id]


def test_packet_contents_and_audit(db, make, unit, courses, root):
    admin = make.user(unit, role="admin")
    a = make.volunteer(unit, name_zh="王小明", id_number="A123456789")
    b = make.volunteer(unit, name_zh="=李大華")
    for v in (a, b):
        trained(db, unit, v, courses, root)
        with_photo(db, v, root)
    outsider = make.volunteer(make.unit())
    data, names = record_book.application_packet(db, admin, [a.id, b.id, outsider.id], root=root,
                                                 completion_pdf=None)
    db.commit()
    archive = zipfile.ZipFile(io.BytesIO(data))
    assert sorted(archive.namelist()) == sorted(names)
    assert sorted(names) == sorted([
        "名冊.xlsx", "001_王小明_photo.jpg", "001_王小明_basic.pdf", "001_王小明_special.pdf",
        "002_=李大華_photo.jpg", "002_=李大華_basic.pdf", "002_=李大華_special.pdf"])
    assert archive.read("001_王小明_basic.pdf") == PDF
    assert Image.open(io.BytesIO(archive.read("001_王小明_photo.jpg"))).size == (331, 413)
    sheet = load_workbook(io.BytesIO(archive.read("名冊.xlsx"))).active
    rows = [[c.value for c in r] for r in sheet.iter_rows()]
    assert rows[0][:5] == ["序號", "姓名", "性別", "出生年月日", "國民身分證統一編號或護照號碼"]
    assert rows[1][:5] == [1, "王小明", "女", "1970-05-17", "A123456789"]
    assert rows[2][1] == "'=李大華"  # never a formula
    assert len(rows) == 3  # the other unit's volunteer is not in it
    entries = audits(db, "id_number_export")
    assert len(entries) == 1
    assert entries[0].after_data() == {"purpose": "record_book_application",
                                       "volunteer_ids": [a.id, b.id]}
    assert entries[0].actor_user_id == admin.id


def test_packet_needs_volunteers(db, make, unit, root):
    admin = make.user(unit, role="admin")
    with pytest.raises(RecordBookError):
        record_book.application_packet(db, admin, [], root=root, completion_pdf=None)


# --- book details and prior hours ------------------------------------------------------------

def test_book_details_are_checked_and_audited(db, make, unit):
    admin = make.user(unit, role="admin")
    v = make.volunteer(unit)
    with pytest.raises(RecordBookError):
        record_book.update_book(db, v, admin, applied_on=None, issued_on=dt.date(2026, 1, 5),
                                book_no="")
    db.rollback()
    with pytest.raises(RecordBookError):
        record_book.update_book(db, v, admin, applied_on=dt.date(2026, 2, 1),
                                issued_on=dt.date(2026, 1, 5), book_no="N1")
    db.rollback()
    record_book.update_book(db, v, admin, applied_on=dt.date(2026, 1, 2),
                            issued_on=dt.date(2026, 1, 5), book_no="北市志字第99號")
    db.commit()
    v = fresh(db).get(Volunteer, v.id)
    assert v.record_book_no == "北市志字第99號" and v.record_book_issued_on == dt.date(2026, 1, 5)
    (entry,) = audits(db, "record_book_update")
    assert entry.before_data()["record_book_no"] == "" and entry.after_data()["record_book_no"]


def test_the_book_cannot_be_taken_off_while_a_group_cover_runs(db, make, unit):
    """Group accident insurance covers record-book holders only (insurance.needs_record_book):
    clearing the book number under a running group cover would leave that cover without its
    condition, which adding it would have refused. Ended covers and commercial ones are fine."""
    from models.insurance import CoverKind

    admin = make.user(unit, role="admin")
    v = make.volunteer(unit, record_book_no="北市志字第1號",
                       record_book_issued_on=dt.date(2025, 1, 5))
    make.cover(v, kind=CoverKind.group, policy_no="G-1", starts_on=dt.date(2026, 1, 1),
               ends_on=dt.date(2026, 12, 31))
    make.cover(v, kind=CoverKind.commercial, starts_on=dt.date(2026, 1, 1),
               ends_on=dt.date(2027, 6, 30))
    clear = dict(applied_on=None, issued_on=None, book_no="")
    during = dt.datetime(2026, 12, 31, 15, 0, tzinfo=dt.timezone.utc)  # 23:00 on the 31st, Taipei
    with pytest.raises(RecordBookError) as refused:
        record_book.update_book(db, v, admin, now=during, **clear)
    assert refused.value.field == "book_no" and refused.value.params == {
        "policy": "G-1", "day": "2026-12-31"}
    db.rollback()
    assert fresh(db).get(Volunteer, v.id).record_book_no == "北市志字第1號"
    # the number corrected, not taken off: fine
    record_book.update_book(db, v, admin, applied_on=None, issued_on=dt.date(2025, 1, 5),
                            book_no="北市志字第2號", now=during)
    db.commit()
    after = dt.datetime(2026, 12, 31, 16, 0, tzinfo=dt.timezone.utc)  # 1 January in Taipei
    record_book.update_book(db, v, admin, now=after, **clear)
    db.commit()
    assert fresh(db).get(Volunteer, v.id).record_book_no == ""


def test_taking_the_book_off_under_a_group_cover_is_refused_over_http(db, make, unit, admin):
    from models.insurance import CoverKind

    v = make.volunteer(unit, record_book_no="北市志字第3號",
                       record_book_issued_on=dt.date(2025, 1, 5))
    make.cover(v, kind=CoverKind.group, policy_no="G-9")  # running today
    response = admin.post(f"/admin/record-book/volunteers/{v.id}/book",
                          {"applied_on": "", "issued_on": "", "book_no": ""})
    assert response.status_code == 400
    assert "G-9" in response.get_data(as_text=True)
    assert fresh(db).get(Volunteer, v.id).record_book_no == "北市志字第3號"


def test_prior_hours_never_count_as_this_units_verified_hours(db, make, unit):
    admin = make.user(unit, role="admin")
    v = make.volunteer(unit)
    site, item = make.site(unit), make.item(unit)
    start = dt.datetime(2026, 3, 2, 9, tzinfo=TAIPEI)
    db.add(ServiceSession(unit_id=unit.id, volunteer_id=v.id, site_id=site.id,
                          service_item_id=item.id, checked_in_at=start,
                          checked_out_at=start + dt.timedelta(minutes=90),
                          status=SessionStatus.verified, credited_minutes=90,
                          source=SessionSource.poster))
    db.commit()
    before = hours.verified_minutes(db, v.id)
    row = prior_service.add_prior_hours(db, v, admin, source_unit="臺北市某協會",
                                      period_start=dt.date(2020, 1, 1),
                                      period_end=dt.date(2023, 12, 31), minutes=6000, note="影本")
    db.commit()
    assert hours.verified_minutes(fresh(db), v.id) == before == 90
    assert prior_service.prior_minutes(db, v.id) == 6000
    assert [p.id for p in prior_service.prior_hours_of(db, v.id)] == [row.id]
    prior_service.delete_prior_hours(db, fresh(db).get(PriorHours, row.id), admin)
    db.commit()
    assert prior_service.prior_hours_of(fresh(db), v.id) == []
    assert len(audits(db, "prior_hours_add")) == 1
    (deleted,) = audits(db, "prior_hours_delete")
    assert deleted.before_data()["minutes"] == 6000


@pytest.mark.parametrize("kw", [
    {"source_unit": ""},
    {"minutes": 0},
    {"period_end": dt.date(2019, 1, 1)},
    {"period_end": dt.date(2026, 3, 3)},  # the day after "today": hours not served yet
])
def test_bad_prior_hours_are_refused(db, make, unit, kw):
    admin = make.user(unit, role="admin")
    v = make.volunteer(unit)
    values = {"source_unit": "甲協會", "period_start": dt.date(2020, 1, 1),
              "period_end": dt.date(2020, 12, 31), "minutes": 60, **kw}
    now = dt.datetime(2026, 3, 2, 17, 0, tzinfo=dt.timezone.utc)  # 03-03 01:00 in Taipei
    with pytest.raises(RecordBookError):
        prior_service.add_prior_hours(db, v, admin, now=now - dt.timedelta(hours=2), **values)
    # a period ending on today's Taipei date is fine (UTC is still the day before)
    if kw.get("period_end") == dt.date(2026, 3, 3):
        prior_service.add_prior_hours(db, v, admin, now=now, **values)


# --- HTTP ------------------------------------------------------------------------------------

def test_pages_are_admin_only(make, unit, admin, supervisor, volunteer, anon):
    v = make.volunteer(unit)
    for url in ("/admin/record-book/", f"/admin/record-book/volunteers/{v.id}"):
        assert admin.get(url).status_code == 200
        assert supervisor.get(url).status_code == 403
        assert volunteer.get(url).status_code == 403
        assert anon.get(url).status_code == 302
    assert volunteer.post("/admin/record-book/packet", {"volunteers": str(v.id)}).status_code == 403
    other = make.volunteer(make.unit())
    assert admin.get(f"/admin/record-book/volunteers/{other.id}").status_code == 404


def test_http_photo_book_prior_hours_and_packet(app, db, make, unit, courses, root, admin):
    v = make.volunteer(unit, name_zh="王小明")
    trained(db, unit, v, courses, root)
    base = f"/admin/record-book/volunteers/{v.id}"
    bad = admin.post(base + "/photo", {"photo": (io.BytesIO(b"GIF89a..."), "x.gif")},
                     content_type="multipart/form-data")
    assert bad.status_code == 400 and "JPEG" in bad.get_data(as_text=True)
    assert fresh(db).get(Volunteer, v.id).photo_file_id is None
    ok = admin.post(base + "/photo", {"photo": (io.BytesIO(image_bytes()), "me.png")},
                    content_type="multipart/form-data")
    assert ok.status_code == 302
    assert fresh(db).get(Volunteer, v.id).photo_file_id is not None

    assert admin.post(base + "/prior-hours", {"source_unit": "甲協會", "period_start": "2020-01-01",
                                              "period_end": "2019-01-01",
                                              "hours": "abc"}).status_code == 400
    assert prior_service.prior_hours_of(fresh(db), v.id) == []
    assert admin.post(base + "/prior-hours", {"source_unit": "甲協會", "period_start": "2020-01-01",
                                              "period_end": "2020-12-31",
                                              "hours": "12.5", "in_taipei": "yes"}).status_code == 302
    (row,) = prior_service.prior_hours_of(fresh(db), v.id)
    assert row.minutes == 750
    assert "12.5" in admin.get(base).get_data(as_text=True)
    # sent twice (a double tap, the back button): refused in words, still one entry
    twice = admin.post(base + "/prior-hours", {"source_unit": "甲協會", "period_start": "2020-01-01",
                                               "period_end": "2020-12-31", "hours": "12.5",
                                               "in_taipei": "yes"})
    assert twice.status_code == 400
    assert "甲協會 2020-01-01 – 2020-12-31 的時數已登錄" in twice.get_data(as_text=True)
    assert len(prior_service.prior_hours_of(fresh(db), v.id)) == 1
    # the next year from the same unit, and the same year from another unit, are their own
    for unit_name, first, last in (("甲協會", "2021-01-01", "2021-12-31"),
                                   ("乙協會", "2020-01-01", "2020-12-31")):
        assert admin.post(base + "/prior-hours", {"source_unit": unit_name, "period_start": first,
                                                  "period_end": last, "hours": "10",
                                                  "in_taipei": "no"}).status_code == 302
    assert len(prior_service.prior_hours_of(fresh(db), v.id)) == 3

    page = admin.get("/admin/record-book/").get_data(as_text=True)
    assert f'id="ready-{v.id}"' in page
    response = admin.post("/admin/record-book/packet", {"volunteers": str(v.id),
                                                        "mark_applied": "1"})
    assert response.status_code == 200 and response.mimetype == "application/zip"
    names = zipfile.ZipFile(io.BytesIO(response.data)).namelist()
    assert "001_王小明_photo.jpg" in names and "001_王小明_special.pdf" in names
    assert len(audits(db, "id_number_export")) == 1
    assert fresh(db).get(Volunteer, v.id).record_book_applied_on is not None

    assert admin.post(base + "/book", {"applied_on": "2026-01-02", "issued_on": "2026-01-10",
                                       "book_no": ""}).status_code == 400
    assert admin.post(base + "/book", {"applied_on": "2026-01-02", "issued_on": "2026-01-10",
                                       "book_no": "北市志字第7號"}).status_code == 302
    assert fresh(db).get(Volunteer, v.id).record_book_no == "北市志字第7號"
    assert f'id="ready-{v.id}"' not in admin.get("/admin/record-book/").get_data(as_text=True)


def test_prior_hours_say_whether_they_were_served_in_taipei(db, make, unit, admin, supervisor):
    """The admin says where earlier hours were served (the Golden Diamond volunteer's years
    count only Taipei); an entry from before the question is answered later, audited."""
    v = make.volunteer(unit, name_zh="林小華")
    base = f"/admin/record-book/volunteers/{v.id}"
    entry = {"source_unit": "甲協會", "period_start": "2020-01-01", "period_end": "2020-12-31",
             "hours": "10"}
    unsaid = admin.post(base + "/prior-hours", entry)
    assert unsaid.status_code == 400 and "請選擇這些時數是否在臺北市服務" in unsaid.get_data(as_text=True)
    assert admin.post(base + "/prior-hours", {**entry, "in_taipei": "no"}).status_code == 302
    (row,) = prior_service.prior_hours_of(fresh(db), v.id)
    assert row.in_taipei is False
    assert 'data-taipei="no"' in admin.get(base).get_data(as_text=True)
    old = prior_service.add_prior_hours(db, fresh(db).get(Volunteer, v.id), None, source_unit="乙協會",
                                      period_start=dt.date(2019, 1, 1),
                                      period_end=dt.date(2019, 12, 31), minutes=60)
    db.commit()
    page = admin.get(base).get_data(as_text=True)
    assert 'data-taipei="unknown"' in page and "未註明是否在臺北市" in page
    assert supervisor.post(f"/admin/record-book/prior-hours/{old.id}/taipei",
                           {"in_taipei": "yes"}).status_code == 403
    assert admin.post(f"/admin/record-book/prior-hours/{old.id}/taipei",
                      {"in_taipei": "maybe"}).status_code == 400
    assert admin.post(f"/admin/record-book/prior-hours/{old.id}/taipei",
                      {"in_taipei": "yes"}).status_code == 302
    assert fresh(db).get(PriorHours, old.id).in_taipei is True
    [entry] = audits(db, "prior_hours_update")
    assert entry.actor_user_id == admin.user.id and entry.before_data()["in_taipei"] is None


def test_pages_in_english_and_chinese(admin, volunteer):
    en = {"Accept-Language": "en"}
    assert "Without a record book" in admin.get("/admin/record-book/", headers=en).get_data(as_text=True)
    assert "尚未領有紀錄冊" in admin.get("/admin/record-book/").get_data(as_text=True)
    assert "Import a roster" in admin.get("/admin/import/", headers=en).get_data(as_text=True)
    assert "匯入名冊" in admin.get("/admin/import/").get_data(as_text=True)
    assert "Data requests" in admin.get("/admin/data-requests/", headers=en).get_data(as_text=True)
    assert "Download all my data" in volunteer.get("/me/data/", headers=en).get_data(as_text=True)
    assert "下載我的全部資料" in volunteer.get("/me/data/").get_data(as_text=True)


def test_my_totals_say_this_unit_and_mention_earlier_units_hours(db, volunteer):
    me = volunteer.user.volunteer
    home = volunteer.get("/").get_data(as_text=True)
    assert "在本單位累計" in home and 'data-total="prior"' not in home
    prior_service.add_prior_hours(db, me, None, source_unit="臺北市立聯合醫院志工隊",
                                period_start=dt.date(2018, 1, 1), period_end=dt.date(2023, 12, 31),
                                minutes=1560 * 60)
    db.commit()
    for url in ("/", "/me/hours"):
        page = volunteer.get(url).get_data(as_text=True)
        assert "您的紀錄冊另有其他單位的 1,560 小時 00 分" in page, url


def test_readiness_list_labels_read_right_in_both_languages(db, make, unit, admin):
    """照片: ✗ had an ASCII colon inside Chinese text: the Chinese page uses the full-width one."""
    make.volunteer(unit, trained=False)
    zh = admin.get("/admin/record-book/").get_data(as_text=True)
    assert "照片：✗" in zh and "基礎訓練：✗" in zh and "特殊訓練：✗" in zh
    assert "照片: " not in zh
    en = admin.get("/admin/record-book/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Photo: ✗" in en and "Basic training: ✗" in en


def test_not_ready_without_the_training_certificates(db, make, unit, courses, root, admin):
    """Training done and a photo, but no certificate files: the list said 準備齊全 and the packet
    went out without the two certificates the application needs."""
    v = make.volunteer(unit, trained=False)
    trained(db, unit, v, courses, root)
    with_photo(db, v, root)
    for record in db.scalars(select(TrainingRecord).where(TrainingRecord.volunteer_id == v.id)):
        record.certificate_file_id = None
    db.commit()
    (row,) = record_book.readiness(fresh(db), unit.id)
    assert row.basic and row.special and row.photo
    assert not row.basic_certificate and not row.special_certificate and not row.ready
    page = admin.get("/admin/record-book/").get_data(as_text=True)
    assert "尚未備齊" in page and "基礎訓練證明：✗" in page and "特殊訓練證明：✗" in page
    detail = admin.get(f"/admin/record-book/volunteers/{v.id}").get_data(as_text=True)
    assert 'id="certificates-missing"' in detail and f"/admin/training/volunteers/{v.id}" in detail
    assert '基礎訓練證明</dt><dd id="basic-certificate">尚未上傳' in detail

    trained(db, unit, v, courses, root)  # the certificates uploaded
    db.commit()
    assert record_book.readiness_of(fresh(db), fresh(db).get(Volunteer, v.id)).ready
    assert 'id="certificates-missing"' not in admin.get(
        f"/admin/record-book/volunteers/{v.id}").get_data(as_text=True)


def test_the_volunteer_page_names_the_courses_whose_certificate_is_missing(db, make, unit, courses,
                                                                           root, admin):
    """"Not uploaded" alone left the admin guessing which of the volunteer's courses still
    lacks its certificate: the page names them, and only them, in the reader's language."""
    import re

    v = make.volunteer(unit, trained=False)
    trained(db, unit, v, courses, root)
    with_photo(db, v, root)
    records = db.scalars(select(TrainingRecord).where(TrainingRecord.volunteer_id == v.id)
                         .order_by(TrainingRecord.id)).all()
    lacking = {kind: next(r for r in records if r.course.kind == kind) for kind in TrainingKind}
    for record in lacking.values():
        record.certificate_file_id = None
    db.commit()
    names = {kind: r.course.name for kind, r in lacking.items()}
    others = {r.course.name for r in records} - set(names.values())
    (row,) = record_book.readiness(fresh(db), unit.id)
    assert [c.name for c in row.basic_missing] == [names[TrainingKind.basic]]
    assert [c.name for c in row.special_missing] == [names[TrainingKind.special]]

    detail = admin.get(f"/admin/record-book/volunteers/{v.id}").get_data(as_text=True)
    for kind, dd in ((TrainingKind.basic, "basic-certificate"), (TrainingKind.special, "special-certificate")):
        cell = re.search(rf'<dd id="{dd}">(.*?)</dd>', detail, re.S).group(1)
        assert "尚未上傳" in cell and names[kind] in cell, cell
        assert not any(other in cell for other in others), cell

    trained(db, unit, v, courses, root)  # every certificate uploaded: nothing named
    db.commit()
    detail = admin.get(f"/admin/record-book/volunteers/{v.id}").get_data(as_text=True)
    assert "尚未上傳" not in detail


# --- one record-book number, one volunteer ---------------------------------------------------

BOOK_DAY = dt.date(2025, 3, 1)


def test_a_number_another_volunteer_of_the_unit_holds_is_refused_over_http(db, make, unit, admin):
    """The QA review gave 北市志字第110001號 to a second volunteer and got "saved": refused now,
    naming who holds it, whatever the width of its digits and its spaces; nothing changes."""
    holder = make.volunteer(unit, name_zh="陳持冊", volunteer_no="7001",
                            record_book_no="北市志字第110001號", record_book_issued_on=BOOK_DAY)
    other = make.volunteer(unit)
    url = f"/admin/record-book/volunteers/{other.id}/book"
    for typed in ("北市志字第110001號", " 北市志字第１１０００１號 ", "北市志字第 110001 號"):
        response = admin.post(url, {"applied_on": "", "issued_on": "2026-01-05", "book_no": typed})
        assert response.status_code == 400, typed
        page = response.get_data(as_text=True)
        assert "陳持冊" in page and "7001" in page and "已登錄" in page
        assert "Record book details saved." not in page and "紀錄冊資料已儲存" not in page
    english = admin.post(url, {"applied_on": "", "issued_on": "2026-01-05",
                               "book_no": "北市志字第110001號"}, headers={"Accept-Language": "en"})
    assert "is already recorded for 陳持冊 (volunteer no. 7001)" in english.get_data(as_text=True)
    again = fresh(db).get(Volunteer, other.id)
    assert (again.record_book_no, again.record_book_issued_on) == ("", None)
    assert audits(db, "record_book_update") == []
    # another number is fine, and is kept with half-width digits
    ok = admin.post(url, {"applied_on": "", "issued_on": "2026-01-05",
                          "book_no": " 北市志字第１１０００２號"})
    assert ok.status_code == 302
    assert fresh(db).get(Volunteer, other.id).record_book_no == "北市志字第110002號"
    assert fresh(db).get(Volunteer, holder.id).record_book_no == "北市志字第110001號"


def test_a_number_held_in_another_unit_is_refused_without_naming_anyone(db, make, unit, admin):
    """Numbers are issued once by the city: a volunteer of another unit holding it means a typo,
    but that unit's volunteer stays unnamed. The same person (same ID number) serving both
    units carries one book: their number is theirs in both."""
    elsewhere = make.unit()
    stranger = make.volunteer(elsewhere, name_zh="林外人", volunteer_no="9001",
                              record_book_no="北市志字第220001號", record_book_issued_on=BOOK_DAY)
    mine = make.volunteer(unit)
    url = f"/admin/record-book/volunteers/{mine.id}/book"
    refused = admin.post(url, {"applied_on": "", "issued_on": "2026-01-05",
                               "book_no": "北市志字第２２０００１號"})
    assert refused.status_code == 400
    page = refused.get_data(as_text=True)
    assert "其他運用單位" in page and "林外人" not in page and "9001" not in page
    assert fresh(db).get(Volunteer, mine.id).record_book_no == ""
    # the same person, who serves in both units
    same_person = make.volunteer(unit, id_number=stranger.id_number)
    assert admin.post(f"/admin/record-book/volunteers/{same_person.id}/book",
                      {"applied_on": "", "issued_on": "2024-05-05",
                       "book_no": "北市志字第220001號"}).status_code == 302
    assert fresh(db).get(Volunteer, same_person.id).record_book_no == "北市志字第220001號"


def test_the_number_rule_in_the_domain(db, make, unit):
    """book_no_refusal: deleted (anonymised) volunteers hold nothing; a number already shared
    before the rule does not stop the book's dates being edited; the check is on the number
    given."""
    from models import privacy

    admin = make.user(unit, role="admin")
    gone = make.volunteer(unit, record_book_no="北市志字第3號", record_book_issued_on=BOOK_DAY)
    privacy.anonymise(db, gone, admin)
    db.commit()
    v = make.volunteer(unit)
    record_book.update_book(db, v, admin, applied_on=None, issued_on=BOOK_DAY,
                            book_no="北市志字第3號")
    db.commit()
    # two volunteers who shared a number before the rule (imported, typed in earlier)
    a = make.volunteer(unit, record_book_no="北市志字第4號", record_book_issued_on=BOOK_DAY)
    b = make.volunteer(unit, record_book_no="北市志字第４號", record_book_issued_on=BOOK_DAY)
    record_book.update_book(db, b, admin, applied_on=dt.date(2025, 1, 2), issued_on=BOOK_DAY,
                            book_no="北市志字第４號")
    db.commit()
    with pytest.raises(RecordBookError) as refused:
        record_book.update_book(db, v, admin, applied_on=None, issued_on=BOOK_DAY,
                                book_no="北市志字第 4 號")
    assert refused.value.message == record_book.BOOK_NO_TAKEN
    assert refused.value.field == "book_no"
    assert (str(refused.value.params["name"]), refused.value.params["volunteer_no"]) == \
        (a.name_zh, a.volunteer_no)
    db.rollback()
    assert fresh(db).get(Volunteer, v.id).record_book_no == "北市志字第3號"


def test_two_saves_of_one_number_at_once_give_it_to_one_volunteer(app, db, make, unit):
    """The second of two saves at once (two admins, two units) waits for the first and is
    refused; on PostgreSQL it is one_writer_per_value's lock that makes it wait."""
    import threading
    import time

    elsewhere = make.unit()
    first_vol, second_vol = make.volunteer(unit), make.volunteer(elsewhere)
    Session = app.extensions["hourbook_db"]["sessionmaker"]
    first_session = Session()
    refused, errors = [], []

    def second():
        session = Session()
        try:
            record_book.update_book(session, session.get(Volunteer, second_vol.id), None,
                                    applied_on=None, issued_on=BOOK_DAY, book_no="北市志字第5號")
            session.commit()
        except RecordBookError as error:
            session.rollback()
            refused.append(error.message)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(repr(exc))
        finally:
            session.close()

    try:
        record_book.update_book(first_session, first_session.get(Volunteer, first_vol.id), None,
                                applied_on=None, issued_on=BOOK_DAY, book_no="北市志字第５號")
        thread = threading.Thread(target=second)
        thread.start()
        time.sleep(0.5)  # the second is waiting now (PostgreSQL: the number's advisory lock)
        first_session.commit()
    finally:
        first_session.close()
    thread.join(30)
    assert errors == [] and refused == [record_book.BOOK_NO_TAKEN_ELSEWHERE]
    fresh(db)
    assert db.get(Volunteer, first_vol.id).record_book_no == "北市志字第5號"
    assert db.get(Volunteer, second_vol.id).record_book_no == ""



# --- the unit's completion certificate as the special-training certificate ------------------

def _pdf_text(tmp_path, data: bytes) -> str:
    import subprocess

    pdf = tmp_path / "packet-cert.pdf"
    pdf.write_bytes(data)
    return subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True,
                          text=True, check=True).stdout


def _unit_trained(db, unit, volunteer, root, *, special_at_events=True):
    """The QA review's volunteer: basic training with its certificate uploaded; the special
    courses of the unit's category (social welfare: SW01-SW03, and SW04, the unit briefing the
    unit always runs), taken at the unit's own training events when `special_at_events`, else
    SW01-SW03 online with no certificate uploaded."""
    from models import training, training_events

    training.seed_catalogue(db, unit)
    db.commit()
    by_code = {c.code: c for c in training.courses_of(db, unit.id)}
    day = dt.date(2026, 1, 10)
    for code in ("B01", "B02", "B03"):  # one certificate of the three courses, on each record
        training.add_record(db, volunteer, course=by_code[code], completed_on=day,
                            minutes=by_code[code].minutes, mode=TrainingMode.online,
                            certificate=PDF, certificate_name="basic.pdf", root=root)
    for code in ("SW01", "SW02", "SW03", "SW04"):
        course = by_code[code]
        if special_at_events or course.run_by_unit:
            event = training_events.create_event(db, unit.id, course=course, held_on=day,
                                          place=f"本會 {code}")
            training_events.mark_attendance(db, event, [volunteer.id])
        else:
            training.add_record(db, volunteer, course=course, completed_on=day,
                                minutes=course.minutes, mode=TrainingMode.online)
    db.commit()


def test_the_units_completion_certificate_counts_and_goes_in_the_packet(
        app, db, make, unit, admin, root, tmp_path):
    """The QA review: the unit ran the special training (its briefing included) and printed
    the completion certificate, yet readiness said "not uploaded" until the admin uploaded
    the system's own PDF again. Now the issued certificate, listing every special course of the
    unit's category, is the special-training certificate, and the packet prints it again."""
    v = make.volunteer(unit, name_zh="王小明", trained=False)
    _unit_trained(db, unit, v, root)
    with_photo(db, v, root)
    page = admin.get(f"/admin/record-book/volunteers/{v.id}").get_data(as_text=True)
    assert 'id="certificates-missing"' in page and "結業證明書" in page  # says what counts
    assert not record_book.readiness_of(fresh(db), fresh(db).get(Volunteer, v.id)).ready

    issued = admin.post(f"/admin/training/volunteers/{v.id}/completion")
    assert issued.status_code == 200 and issued.mimetype == "application/pdf"
    from models.completion import IssuedCompletion
    (cert,) = fresh(db).scalars(select(IssuedCompletion)).all()

    page = admin.get(f"/admin/record-book/volunteers/{v.id}").get_data(as_text=True)
    assert 'id="certificates-missing"' not in page
    assert f'id="special-completion-{cert.id}"' in page and cert.serial in page
    listing = admin.get("/admin/record-book/").get_data(as_text=True)
    row = listing.split(f'id="ready-{v.id}"', 1)[1].split("</li>", 1)[0]
    assert "status-verified" in row and "特殊訓練證明：✓" in row.replace(" ", "")

    response = admin.post("/admin/record-book/packet", {"volunteers": str(v.id)})
    assert response.status_code == 200 and response.mimetype == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    assert sorted(archive.namelist()) == sorted([
        "名冊.xlsx", "001_王小明_photo.jpg", "001_王小明_basic.pdf", "001_王小明_special.pdf"])
    special = archive.read("001_王小明_special.pdf")
    assert special.startswith(b"%PDF")
    text = _pdf_text(tmp_path, special)
    assert "結業證明書" in text and cert.serial in text and "社會福利概述" in text
    sheet = load_workbook(io.BytesIO(archive.read("名冊.xlsx"))).active
    assert [c.value for c in sheet[2]][6:8] == ["001_王小明_basic.pdf", "001_王小明_special.pdf"]


def test_a_certificate_of_the_briefing_alone_does_not_prove_courses_taken_elsewhere(
        db, make, unit, root, tmp_path):
    """A completion certificate proves the records printed on it. Courses of the special
    training taken elsewhere with no certificate uploaded stay unproven: not ready, so not in
    the packet (it would send part of the proof). An uploaded special certificate
    counts as before, and a certificate whose courses the uploaded files already prove is not
    sent twice."""
    from models import completion, training
    from models.completion import IssuedCompletion

    admin = make.user(unit, role="admin")
    v = make.volunteer(unit, name_zh="李大華", trained=False)
    _unit_trained(db, unit, v, root, special_at_events=False)
    with_photo(db, v, root)
    completion.issue_completion(db, v, actor=admin, now=dt.datetime.now(dt.timezone.utc))
    db.commit()
    ready = record_book.readiness_of(fresh(db), fresh(db).get(Volunteer, v.id))
    assert ready.special and not ready.special_certificate and not ready.ready
    assert [c.serial for c in ready.special_completions] == \
        fresh(db).scalars(select(IssuedCompletion.serial)).all()

    def pdf(cert):
        return b"%PDF completion " + cert.serial.encode()

    with pytest.raises(RecordBookError):  # not ready: never sent with part of its proof
        record_book.application_packet(fresh(db), admin, [v.id], root=root, completion_pdf=pdf)
    db.rollback()
    # the online courses' certificates uploaded (one each): ready, the unit's certificate still
    # sent for SW04
    def code_bytes(record):
        return record.course.code.encode()

    for record in training.records_of(db, v.id):
        if record.course.code in ("SW01", "SW02", "SW03"):
            training.update_record(db, record, course=record.course,
                                   completed_on=record.completed_on, minutes=record.minutes,
                                   mode=record.mode, certificate=PDF + code_bytes(record),
                                   certificate_name="online.pdf", root=root)
    db.commit()
    ready = record_book.readiness_of(fresh(db), fresh(db).get(Volunteer, v.id))
    assert ready.ready and len(ready.special_files) == 3 and len(ready.special_completions) == 1
    data, names = record_book.application_packet(fresh(db), admin, [v.id], root=root,
                                                 completion_pdf=pdf)
    specials = sorted(n for n in names if "_special" in n)
    assert specials == [f"001_李大華_special_{k}.pdf" for k in (1, 2, 3, 4)]
    assert zipfile.ZipFile(io.BytesIO(data)).read(specials[-1]).startswith(b"%PDF completion C")
    db.rollback()
    # SW04's certificate uploaded as well (the review's workaround): the unit's is not sent twice
    sw04 = next(r for r in training.records_of(db, v.id) if r.course.code == "SW04")
    training.update_record(db, sw04, course=sw04.course, completed_on=sw04.completed_on,
                           minutes=sw04.minutes, mode=sw04.mode, certificate=PDF,
                           certificate_name="again.pdf", root=root)
    db.commit()
    ready = record_book.readiness_of(fresh(db), fresh(db).get(Volunteer, v.id))
    assert ready.ready and ready.special_completions == []


def test_numbers_shared_before_the_rule_are_shown_for_checking(db, make, unit, admin):
    """Two volunteers given one number before the one-number rule: the record-book page says
    so and names, on each row, who else holds it; a number held once, or by the same person
    twice, is not flagged."""
    a = make.volunteer(unit, name_zh="陳持冊", volunteer_no="7001",
                       record_book_no="北市志字第110001號", record_book_issued_on=BOOK_DAY)
    b = make.volunteer(unit, name_zh="林重號", volunteer_no="7002",
                       record_book_no="北市志字第 １１０００１ 號", record_book_issued_on=BOOK_DAY)
    alone = make.volunteer(unit, name_zh="王單號", volunteer_no="7003",
                           record_book_no="北市志字第110003號", record_book_issued_on=BOOK_DAY)
    db.commit()
    shared = record_book.shared_book_nos(db, unit.id)
    assert {k: [o.id for o in v] for k, v in shared.items()} == {a.id: [b.id], b.id: [a.id]}
    page = admin.get("/admin/record-book/").get_data(as_text=True)
    assert 'id="shared-book-nos"' in page and "有 2 位志工的紀錄冊號碼與其他志工相同" in page
    assert "與 林重號 的號碼相同" in page and "與 陳持冊 的號碼相同" in page
    assert alone.id not in shared
    b.record_book_no = "北市志字第110002號"
    db.commit()
    assert record_book.shared_book_nos(db, unit.id) == {}
    assert 'id="shared-book-nos"' not in admin.get("/admin/record-book/").get_data(as_text=True)


# --- the unit admin's review (2026-12-05) ---------------------------------------------------

def _certify(db, volunteer, codes, root, data=PDF):
    """Upload a certificate file on the volunteer's records of these courses."""
    from models import training

    for record in training.records_of(db, volunteer.id):
        if record.course.code in codes:
            training.update_record(db, record, course=record.course,
                                   completed_on=record.completed_on, minutes=record.minutes,
                                   mode=record.mode, certificate=data,
                                   certificate_name="cert.pdf", root=root)
    db.commit()


def test_a_certificate_of_one_basic_course_does_not_prove_the_basic_training(db, make, unit,
                                                                            root):
    """The review: "Basic training certificate ✓" beside a volunteer whose certificate covered
    one course of three. The certificates count once they cover every current basic course
    (the same PDF on each record is sent once), or the former 12 h set; the special ones once
    they cover every special course."""
    admin = make.user(unit, role="admin")
    v = make.volunteer(unit, name_zh="陳一")  # every course recorded, no certificate yet
    with_photo(db, v, root)
    _certify(db, v, {"SW01", "SW02", "SW03", "SW04"}, root)
    _certify(db, v, {"B01"}, root)
    ready = record_book.readiness_of(fresh(db), fresh(db).get(Volunteer, v.id))
    assert ready.basic and not ready.basic_certificate and not ready.ready
    assert ready.lacking == [record_book.LACKS_BASIC_CERTIFICATE]
    _certify(db, v, {"B02", "B03"}, root)
    ready = record_book.readiness_of(fresh(db), fresh(db).get(Volunteer, v.id))
    assert ready.basic_certificate and ready.special_certificate and ready.ready
    _data, names = record_book.application_packet(fresh(db), admin, [v.id], root=root,
                                                  completion_pdf=None)
    assert [n for n in names if "_basic" in n] == ["001_陳一_basic.pdf"]  # one PDF, sent once

    # the special training likewise: one course's certificate of four does not count
    w = make.volunteer(unit, name_zh="陳二")
    with_photo(db, w, root)
    _certify(db, w, {"B01", "B02", "B03", "SW01"}, root)
    ready = record_book.readiness_of(fresh(db), fresh(db).get(Volunteer, w.id))
    assert ready.basic_certificate and not ready.special_certificate
    assert ready.lacking == [record_book.LACKS_SPECIAL_CERTIFICATE]

    # the former 12 h set's certificate proves the basic training on its own
    from models import training
    old = make.volunteer(unit, name_zh="陳三", trained=False)
    b12 = next(c for c in training.courses_of(db, unit.id) if c.code == "B12")
    training.add_record(db, old, course=b12, completed_on=dt.date(2010, 3, 1),
                        minutes=b12.minutes, mode=TrainingMode.in_person, certificate=PDF,
                        certificate_name="b12.pdf", root=root)
    db.commit()
    assert record_book.readiness_of(fresh(db), fresh(db).get(Volunteer, old.id)).basic_certificate


def test_volunteers_not_ready_are_left_out_of_the_packet_and_named(db, make, unit, admin, root):
    """The review: volunteers without a photo or with training incomplete, ticked with "Record
    today as the application date", went into the ZIP with empty cells and got the date. Now
    the page names who is not ready and why, downloads nothing, records no date; the domain
    packs only the ready."""
    from models.training import TrainingRecord
    from models.base import taipei_date, utcnow

    ready = make.volunteer(unit, name_zh="王小明")
    no_photo = make.volunteer(unit, name_zh="林無照")
    untrained = make.volunteer(unit, name_zh="張未訓")
    for v in (ready, no_photo, untrained):
        _certify(db, v, {"B01", "B02", "B03", "SW01", "SW02", "SW03", "SW04"}, root)
    for v in (ready, untrained):
        with_photo(db, v, root)
    db.delete(db.scalars(select(TrainingRecord).where(
        TrainingRecord.volunteer_id == untrained.id)).first())
    db.commit()

    response = admin.post("/admin/record-book/packet", {
        "volunteers": [str(ready.id), str(no_photo.id), str(untrained.id)], "mark_applied": "1"})
    assert response.status_code == 400 and response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    box = page.split('id="left-out"', 1)[1].split("</div>", 1)[0]
    assert f'id="left-out-{no_photo.id}"' in box and "林無照" in box and "沒有照片" in box
    assert f'id="left-out-{untrained.id}"' in box and "基礎訓練未完成" in box
    assert f'id="left-out-{ready.id}"' not in box
    ticked = page.split('id="readiness"', 1)[1]
    assert f'value="{ready.id}" checked' in ticked and f'value="{no_photo.id}" checked' not in ticked
    assert all(fresh(db).get(Volunteer, v.id).record_book_applied_on is None
               for v in (ready, no_photo, untrained))
    assert audits(db, "id_number_export") == []

    # the domain, asked for all three: the ready one only, dated
    today = taipei_date(utcnow())
    data, names = record_book.application_packet(
        fresh(db), admin.user, [ready.id, no_photo.id, untrained.id], root=root,
        completion_pdf=None, applied_on=today)
    db.commit()
    assert all(n.startswith("001_王小明") for n in names if n != "名冊.xlsx")
    sheet = load_workbook(io.BytesIO(zipfile.ZipFile(io.BytesIO(data)).read("名冊.xlsx"))).active
    assert [r[1].value for r in sheet.iter_rows(min_row=2)] == ["王小明"]
    assert fresh(db).get(Volunteer, ready.id).record_book_applied_on == today
    assert fresh(db).get(Volunteer, no_photo.id).record_book_applied_on is None
    assert fresh(db).get(Volunteer, untrained.id).record_book_applied_on is None

    # over HTTP, the ready one alone: the ZIP, and the date
    response = admin.post("/admin/record-book/packet", {"volunteers": str(ready.id)})
    assert response.status_code == 200 and response.mimetype == "application/zip"


def test_book_dates_cannot_be_in_the_future(db, make, unit):
    """The review: "Issued on" a day in the future was accepted. The issue and application
    dates are refused after today (Taipei); issued before applied stays refused."""
    admin = make.user(unit, role="admin")
    v = make.volunteer(unit)
    now = dt.datetime(2026, 12, 5, 16, 30, tzinfo=dt.timezone.utc)  # 00:30 on the 6th, Taipei
    for applied, issued, field in ((dt.date(2026, 12, 1), dt.date(2026, 12, 7), "issued_on"),
                                   (dt.date(2026, 12, 7), None, "applied_on"),
                                   (dt.date(2026, 12, 3), dt.date(2026, 12, 2), "issued_on")):
        with pytest.raises(RecordBookError) as refused:
            record_book.update_book(db, v, admin, applied_on=applied, issued_on=issued,
                                    book_no="北市志字第5號" if issued else "", now=now)
        assert refused.value.field == field
        db.rollback()
    record_book.update_book(db, v, admin, applied_on=dt.date(2026, 12, 1),
                            issued_on=dt.date(2026, 12, 6), book_no="北市志字第5號", now=now)
    db.commit()
    assert fresh(db).get(Volunteer, v.id).record_book_issued_on == dt.date(2026, 12, 6)


def test_future_issue_date_is_refused_in_words_over_http(db, make, unit, admin):
    v = make.volunteer(unit)
    tomorrow = (dt.datetime.now(TAIPEI).date() + dt.timedelta(days=1)).isoformat()
    response = admin.post(f"/admin/record-book/volunteers/{v.id}/book", {
        "applied_on": "", "issued_on": tomorrow, "book_no": "北市志字第5號"})
    assert response.status_code == 400
    assert "核發日期不能是未來的日期" in response.get_data(as_text=True)
    assert fresh(db).get(Volunteer, v.id).record_book_no == ""


def test_tai_and_its_standard_form_are_one_book_number():
    """台 and 臺 are one character: a number is kept with 臺, the form the city prints."""
    assert record_book.clean_book_no("台北市志字第110001號") == "臺北市志字第110001號"
    assert record_book.book_no_key(" 台北市志字第１１０００１号") == \
        record_book.book_no_key("臺北市志字第110001號")


def test_a_number_typed_with_tai_is_refused_when_another_holds_it_with_the_standard_form(
        db, make, unit, admin):
    holder = make.volunteer(unit, record_book_no="臺北市志字第110001號",
                            record_book_issued_on=dt.date(2025, 1, 5))
    # kept before numbers were cleaned of 台: still the same number
    old = make.volunteer(unit, record_book_no="台北市志字第110009號",
                         record_book_issued_on=dt.date(2025, 1, 5))
    v = make.volunteer(unit)
    with pytest.raises(RecordBookError) as refused:
        record_book.update_book(db, v, fresh(db).get(User, admin.user.id), applied_on=None,
                                issued_on=dt.date(2025, 2, 1), book_no="臺北市志字第110009號")
    assert refused.value.params["volunteer_no"] == old.volunteer_no
    db.rollback()
    response = admin.post(f"/admin/record-book/volunteers/{v.id}/book", {
        "applied_on": "", "issued_on": "2025-02-01", "book_no": "台北市志字第110001號"})
    assert response.status_code == 400
    assert holder.volunteer_no in response.get_data(as_text=True)
    assert fresh(db).get(Volunteer, v.id).record_book_no == ""
    assert admin.post(f"/admin/record-book/volunteers/{v.id}/book", {
        "applied_on": "", "issued_on": "2025-02-01",
        "book_no": "台北市志字第110002號"}).status_code == 302
    assert fresh(db).get(Volunteer, v.id).record_book_no == "臺北市志字第110002號"

def test_a_simplified_hao_is_the_same_book_number(db, make, unit):
    """The review: 北市志字第110001号 (simplified 号) got through while another volunteer held
    北市志字第110001號. Kept and compared with 號, full-width digits half-width as before."""
    admin = make.user(unit, role="admin")
    holder = make.volunteer(unit, record_book_no="北市志字第110001號",
                            record_book_issued_on=dt.date(2025, 1, 5))
    v = make.volunteer(unit)
    for typed in ("北市志字第110001号", "北市志字第１１０００１号"):
        with pytest.raises(RecordBookError) as refused:
            record_book.update_book(db, v, admin, applied_on=None,
                                    issued_on=dt.date(2025, 2, 1), book_no=typed)
        assert refused.value.message == record_book.BOOK_NO_TAKEN
        assert refused.value.params["volunteer_no"] == holder.volunteer_no
        db.rollback()
    record_book.update_book(db, v, admin, applied_on=None, issued_on=dt.date(2025, 2, 1),
                            book_no="北市志字第１１０００２号")
    db.commit()
    assert fresh(db).get(Volunteer, v.id).record_book_no == "北市志字第110002號"
