"""The access log: every place that shows or exports a full ID number (and staff opening a
volunteer's files) leaves who / what / when, and admins read it at /admin/access-log."""
from __future__ import annotations

import datetime as dt
import io
import re
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import select

from models import access_log, record_book
from models.audit import AuditEntry
from models.base import utcnow
from models.idnumbers import mask, with_check_digit
from models.people import Gender, User, Volunteer
from models.recruitment import Application

ROOT = Path(__file__).resolve().parent.parent


def entries(db, action=None):
    db.rollback()
    db.expire_all()
    query = select(AuditEntry).where(AuditEntry.action.in_(list(access_log.ACCESS_ACTIONS)))
    if action:
        query = query.where(AuditEntry.action == action)
    return db.scalars(query.order_by(AuditEntry.id)).all()


@pytest.fixture
def application(db, unit):
    a = Application(unit_id=unit.id, reference_no=f"A2026-{unit.id:05d}", name_zh="林美玲",
                    gender=Gender.female, birth_date=dt.date(1985, 3, 2), phone="0912-000-111",
                    email="meiling@example.tw", id_number=with_check_digit("F22334455"),
                    address="臺北市", availability="週末", emergency_contact="林先生",
                    emergency_phone="0922-000-111", privacy_consent_at=utcnow())
    db.add(a)
    db.commit()
    return a


def test_application_detail_masks_the_id_and_so_logs_nothing(admin, db, application):
    """rules.md (privacy): ID numbers are masked on screen, as on the insurance page and My data."""
    page = admin.get(f"/admin/recruitment/applications/{application.id}").get_data(as_text=True)
    assert application.id_number not in page
    assert mask(application.id_number) in page
    assert entries(db, "id_number_view") == []


def test_correction_form_with_the_full_id_is_logged_each_time_it_is_shown(admin, db, make, unit):
    v = make.volunteer(unit, id_number=with_check_digit("A12345678"))
    url = f"/admin/data-requests/volunteers/{v.id}/profile"
    page = admin.get(url)
    assert page.status_code == 200 and v.id_number in page.get_data(as_text=True)
    refused = admin.post(url, {"name_zh": "", "id_kind": "national_id", "id_number": v.id_number,
                               "gender": "female", "birth_date": "1970-05-17"})
    assert refused.status_code == 400
    logged = entries(db, "id_number_view")
    assert [(e.entity, e.entity_id, e.actor_user_id) for e in logged] == [
        ("volunteer", v.id, admin.user.id)] * 2


def test_staff_opening_a_volunteers_photo_is_logged_the_volunteer_is_not(
        app, admin, volunteer, db, tmp_path):
    app.config["HOURBOOK_UPLOAD_DIR"] = str(tmp_path / "uploads")
    me = db.scalar(select(Volunteer).where(Volunteer.user_id == volunteer.user.id))
    image = io.BytesIO()
    Image.new("RGB", (400, 500), (200, 180, 160)).save(image, "PNG")
    record_book.set_photo(db, me, image.getvalue(), "me.png", None, root=tmp_path / "uploads")
    db.commit()
    assert volunteer.get(f"/files/{me.photo_file_id}").status_code == 200
    assert entries(db) == []
    assert admin.get(f"/files/{me.photo_file_id}").status_code == 200
    (entry,) = entries(db, "personal_data_view")
    assert (entry.actor_user_id, entry.entity, entry.entity_id) == (
        admin.user.id, "file", me.photo_file_id)


def test_exports_with_full_ids_are_in_the_log_and_on_the_admin_page(
        admin, volunteer, db, make, unit):
    from tests.test_downloads import _verified_hour

    _verified_hour(db, make, unit)  # a period without one has no file (the page says so)
    assert volunteer.get("/me/data/download").status_code == 200
    response = admin.post("/admin/export/mohw", {
        "period": "range", "date_from": "2026-02-01", "date_to": "2026-03-31", "format": "csv"})
    assert response.status_code == 200
    actions = [e.action for e in entries(db)]
    assert actions == ["id_number_export", "export_mohw"]

    page = admin.get("/admin/access-log/").get_data(as_text=True)
    assert "匯出完整身分證字號" in page and "衛福部匯出" in page
    assert volunteer.user.email in page and admin.user.email in page
    only = admin.get("/admin/access-log/?action=export_mohw").get_data(as_text=True)
    assert "衛福部匯出" in only and volunteer.user.email not in only


def test_the_log_shows_only_the_admins_unit(admin, db, make):
    other_unit = make.unit()
    stranger = make.user(other_unit, role="admin", email="stranger@other.tw")
    access_log.record_view(db, stranger, action="id_number_view", entity="volunteer",
                           entity_id=None, purpose="correction_form")
    db.commit()
    page = admin.get("/admin/access-log/")
    assert page.status_code == 200
    assert "stranger@other.tw" not in page.get_data(as_text=True)


def test_only_admins_read_the_log(supervisor, volunteer, anon):
    assert supervisor.get("/admin/access-log/").status_code == 403
    assert volunteer.get("/admin/access-log/").status_code == 403
    assert anon.get("/admin/access-log/").status_code == 302


def test_entries_cannot_be_changed(admin, db, make, unit):
    v = make.volunteer(unit, id_number=with_check_digit("A12345678"))
    admin.get(f"/admin/data-requests/volunteers/{v.id}/profile")
    (entry,) = entries(db)
    entry.actor_label = "someone else"
    with pytest.raises(RuntimeError, match="append-only"):
        db.commit()


# --- every place a full ID number leaves the database is one of these ----------------------------

LOGGED_PLACES = {
    # file: why it is covered
    "webapp/templates/privacy/correct.html": "id_number_view (data_requests.correct_profile)",
    "webapp/templates/openings/apply.html": "the applicant's own form field (their own number)",
    "models/export.py": "export_mohw",
    "models/record_book.py": "id_number_export (application_packet)",
    "models/privacy.py": "masked in audit entries",
    "models/personal_data.py": "id_number_export (my_data_zip)",
    "models/recognition.py": "id_number_export (award_list)",
    "models/golden_family.py": "id_number_export (award_list)",
    # where the number is kept, checked, imported or masked, not shown or exported
    "models/people.py": "the volunteer's own record (id_number_masked for the screen)",
    "models/recruitment.py": "an application's own record; copied to the volunteer on acceptance",
    "models/roster_rows.py": "read from the admin's own spreadsheet; problems name the line",
    "models/roster_import.py": "the checked rows saved (volunteers by their ID number)",
}


def test_every_place_that_shows_or_exports_a_full_id_number_is_logged():
    """A template or exporter that starts using `id_number` (not the masked one) must be added
    here, with the access-log entry that covers it — or this test fails."""
    found = set()
    candidates = [*ROOT.glob("webapp/templates/**/*.html"), *ROOT.glob("kiosk/templates/**/*.html"),
                  *ROOT.glob("webapp/printing/*.py"), *ROOT.glob("webapp/routes/*.py"),
                  *ROOT.glob("models/*.py")]
    for path in candidates:
        text = path.read_text(encoding="utf-8")
        # reading the attribute of a row (v.id_number, a.id_number), not a form field's name
        if re.search(r"\b(?!masked_)\w+\.id_number\b(?!\s*=[^=])", text):
            found.add(str(path.relative_to(ROOT)))
    found.discard("webapp/routes/openings.py")  # the applicant's own form (form.id_number)
    assert found <= set(LOGGED_PLACES), sorted(found - set(LOGGED_PLACES))
    assert mask("A123456789") != "A123456789"
