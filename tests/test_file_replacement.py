"""A replaced or removed upload leaves nothing behind: one stored file row and one file on disk
for each file in use; the same bytes uploaded again change nothing; and a file's bytes follow
the database transaction (a deleted file's bytes go only once the change that drops its row
has committed, a new file's bytes go when it rolls back)."""
from __future__ import annotations

import datetime as dt
import io

import pytest
from PIL import Image
from sqlalchemy import func, select

from models import audit, files, personal_data, privacy, training, unit_profile
from models.audit import AuditEntry
from models.files import StoredFile
from models.people import Volunteer
from models.training import TrainingCourse, TrainingMode, TrainingRecord

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
OTHER_PDF = b"%PDF-1.4\n2 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def image(color, size=(600, 700)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, "PNG")
    return out.getvalue()


@pytest.fixture
def root(app, tmp_path):
    app.config["HOURBOOK_UPLOAD_DIR"] = str(tmp_path / "uploads")
    return tmp_path / "uploads"


def fresh(db):
    """See what the app's requests committed."""
    db.rollback()
    db.expire_all()
    return db


def stored_ids(db) -> list[int]:
    return list(fresh(db).scalars(select(StoredFile.id).order_by(StoredFile.id)))


def on_disk(root) -> list[str]:
    """The stored keys of the files under the upload root."""
    if not root.exists():
        return []
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def keys(db, *file_ids) -> list[str]:
    return sorted(fresh(db).get(StoredFile, i).storage_key for i in file_ids)


def audit_count(db) -> int:
    return fresh(db).scalar(select(func.count(AuditEntry.id)))


def actions(db, action) -> list[int | None]:
    return list(fresh(db).scalars(select(AuditEntry.entity_id)
                                  .where(AuditEntry.action == action).order_by(AuditEntry.id)))


def upload(person, url, field, data, name, **form):
    return person.post(url, {**form, field: (io.BytesIO(data), name)},
                       content_type="multipart/form-data")


def photo_id(db, volunteer_id) -> int | None:
    return fresh(db).get(Volunteer, volunteer_id).photo_file_id


# --- the head-shot photo -----------------------------------------------------------------------

def test_a_replaced_photo_is_deleted_wherever_it_is_replaced(db, unit, admin, volunteer, root):
    me = volunteer.user.volunteer.id
    by_admin = upload(admin, f"/admin/record-book/volunteers/{me}/photo", "photo",
                      image("red"), "red.png")
    assert by_admin.status_code == 302
    first = photo_id(db, me)
    assert stored_ids(db) == [first] and on_disk(root) == keys(db, first)

    by_me = upload(volunteer, "/me/data/photo", "photo", image("blue"), "blue.png")
    assert by_me.status_code == 302
    second = photo_id(db, me)
    assert second != first
    assert stored_ids(db) == [second] and on_disk(root) == keys(db, second)
    assert admin.get(f"/files/{first}").status_code == 404
    assert volunteer.get(f"/files/{second}").status_code == 200
    assert actions(db, "file_deleted") == [first]

    again = upload(admin, f"/admin/record-book/volunteers/{me}/photo", "photo",
                   image("green"), "green.png")
    assert again.status_code == 302
    third = photo_id(db, me)
    assert stored_ids(db) == [third] and on_disk(root) == keys(db, third)
    assert actions(db, "file_deleted") == [first, second]


def test_the_same_photo_twice_changes_nothing(db, unit, admin, volunteer, root):
    me = volunteer.user.volunteer.id
    assert upload(volunteer, "/me/data/photo", "photo", image("red"), "me.png").status_code == 302
    first, entries, kept = photo_id(db, me), audit_count(db), on_disk(root)
    for person, url in ((volunteer, "/me/data/photo"),
                        (admin, f"/admin/record-book/volunteers/{me}/photo")):
        response = upload(person, url, "photo", image("red"), "me-again.png")
        assert response.status_code == 302
        assert photo_id(db, me) == first and stored_ids(db) == [first]
        assert on_disk(root) == kept and audit_count(db) == entries


def test_a_failed_replacement_keeps_the_old_photo_and_not_the_new(db, unit, admin, volunteer,
                                                                   root, monkeypatch):
    me = volunteer.user.volunteer.id
    assert upload(volunteer, "/me/data/photo", "photo", image("red"), "me.png").status_code == 302
    first = photo_id(db, me)
    kept = on_disk(root)
    real_record = audit.record

    def failing(session, *, action, **kw):  # the request fails after the old photo was let go
        if action == "volunteer_photo_set":
            raise RuntimeError("the database went away")
        return real_record(session, action=action, **kw)

    monkeypatch.setattr(audit, "record", failing)
    with pytest.raises(RuntimeError):
        upload(volunteer, "/me/data/photo", "photo", image("blue"), "new.png")
    monkeypatch.undo()
    assert photo_id(db, me) == first and stored_ids(db) == [first]
    assert on_disk(root) == kept  # the old bytes stay, the new ones are gone
    assert volunteer.get(f"/files/{first}").status_code == 200


def test_an_erased_photo_survives_a_rollback_and_goes_with_the_commit(db, make, unit, root):
    from models import record_book

    admin = make.user(unit, role="admin")
    vol = make.volunteer(unit)
    stored = record_book.set_photo(db, vol, image("red"), "me.png", admin, root=root)
    db.commit()
    kept = on_disk(root)
    assert kept == [stored.storage_key]

    privacy.anonymise(db, vol, admin, root=root)
    assert on_disk(root) == kept  # not before the commit
    db.rollback()
    assert stored_ids(db) == [stored.id] and on_disk(root) == kept
    assert files.read_stored(root, db.get(StoredFile, stored.id))

    privacy.anonymise(db, db.get(Volunteer, vol.id), admin, root=root)
    db.commit()
    assert stored_ids(db) == [] and on_disk(root) == []


def test_erasure_deletes_the_certificate_scans_and_keeps_the_training(db, make, unit, admin,
                                                                       root):
    actor = admin.user
    training.seed_catalogue(db, unit)
    vol = make.volunteer(unit, trained=False)
    courses = {c: db.scalar(select(TrainingCourse).where(TrainingCourse.unit_id == unit.id,
                                                         TrainingCourse.code == c))
               for c in ("B01", "B02")}
    for (code, course), data in zip(courses.items(), (PDF, OTHER_PDF)):
        training.add_record(db, vol, course=course, completed_on=dt.date(2025, 4, 1),
                            minutes=120, mode="online", certificate=data,
                            certificate_name=f"{code}.pdf", root=root, actor=actor)
    db.commit()
    records = {r.id: r.certificate_file_id for r in fresh(db).scalars(
        select(TrainingRecord).where(TrainingRecord.volunteer_id == vol.id))}
    certificates = sorted(records.values())
    assert len(certificates) == 2 and stored_ids(db) == certificates
    kept = on_disk(root)
    assert kept == keys(db, *certificates)

    privacy.anonymise(db, db.get(Volunteer, vol.id), actor, root=root)
    assert on_disk(root) == kept  # not before the commit
    db.rollback()
    assert stored_ids(db) == certificates and on_disk(root) == kept
    assert {r.id: r.certificate_file_id for r in db.scalars(
        select(TrainingRecord).where(TrainingRecord.volunteer_id == vol.id))} == records

    privacy.anonymise(db, db.get(Volunteer, vol.id), actor, root=root)
    db.commit()
    assert stored_ids(db) == [] and on_disk(root) == []
    left = fresh(db).scalars(select(TrainingRecord).where(TrainingRecord.volunteer_id == vol.id)
                             .order_by(TrainingRecord.id)).all()
    assert [(r.id, r.course_id, r.completed_on, r.certificate_file_id) for r in left] == [
        (i, c.id, dt.date(2025, 4, 1), None) for i, c in zip(sorted(records), courses.values())]
    assert actions(db, "file_deleted") == certificates
    assert actions(db, "training_record_updated") == sorted(records)
    assert [r["certificate_file_id"] for r in personal_data.my_data(db, db.get(Volunteer, vol.id))
            ["training"]] == [None, None]
    page = admin.get(f"/admin/training/volunteers/{vol.id}")
    assert page.status_code == 200 and "/files/" not in page.get_data(as_text=True)


# --- the unit's seal/logo ----------------------------------------------------------------------

def test_a_replaced_logo_is_deleted_and_the_same_one_changes_nothing(db, unit, admin, root):
    def logo_id():
        return unit_profile.profile_of(fresh(db), unit.id).logo_file_id

    assert upload(admin, "/admin/unit/logo", "logo", image("red", (120, 80)), "a.png") \
        .status_code == 302
    first = logo_id()
    assert upload(admin, "/admin/unit/logo", "logo", image("blue", (120, 80)), "b.png") \
        .status_code == 302
    second = logo_id()
    assert second != first
    assert stored_ids(db) == [second] and on_disk(root) == keys(db, second)
    assert admin.get(f"/files/{second}").data == image("blue", (120, 80))

    entries = audit_count(db)
    assert upload(admin, "/admin/unit/logo", "logo", image("blue", (120, 80)), "b2.png") \
        .status_code == 302
    assert logo_id() == second and stored_ids(db) == [second]
    assert on_disk(root) == keys(db, second) and audit_count(db) == entries

    assert admin.post("/admin/unit/logo/remove").status_code == 302
    assert logo_id() is None and stored_ids(db) == [] and on_disk(root) == []


def test_a_logo_replaced_in_a_savepoint_follows_the_savepoint(db, make, unit, root):
    actor = make.user(unit, role="admin")
    first = unit_profile.set_logo(db, unit, image("red", (120, 80)), "a.png", actor, root=root)
    db.commit()
    first_key = first.storage_key

    from models.base import begin_write

    begin_write(db)  # a writer before the savepoints, as a request is
    savepoint = db.begin_nested()
    unit_profile.set_logo(db, unit, image("blue", (120, 80)), "b.png", actor, root=root)
    savepoint.rollback()  # the blue one never happened
    with db.begin_nested():
        green = unit_profile.set_logo(db, unit, image("green", (120, 80)), "c.png", actor,
                                      root=root)
    assert first_key in on_disk(root)  # released, not yet committed
    db.commit()
    assert stored_ids(db) == [green.id] and on_disk(root) == keys(db, green.id)
    assert unit_profile.logo_bytes(db, unit.id, root) == image("green", (120, 80))


# --- a training record's certificate -------------------------------------------------------------

def _record_form(db, unit, **over):
    course = fresh(db).scalar(select(TrainingCourse).where(TrainingCourse.unit_id == unit.id,
                                                           TrainingCourse.code == "B01"))
    return {"course_id": str(course.id), "completed_on": "2025-04-01", "hours": "2",
            "mode": "online", "provider": "臺北E大", "certificate_no": "E-1", **over}


def test_a_replaced_certificate_is_deleted_and_the_same_one_changes_nothing(db, make, unit,
                                                                            admin, root):
    training.seed_catalogue(db, unit)
    vol = make.volunteer(unit, trained=False)
    added = upload(admin, f"/admin/training/volunteers/{vol.id}/records/new", "certificate",
                   PDF, "a.pdf", **_record_form(db, unit))
    assert added.status_code == 302, added.get_data(as_text=True)
    record = fresh(db).scalar(select(TrainingRecord).where(TrainingRecord.volunteer_id == vol.id))
    record_id, first = record.id, record.certificate_file_id
    assert stored_ids(db) == [first] and on_disk(root) == keys(db, first)

    url = f"/admin/training/records/{record_id}/edit"
    assert upload(admin, url, "certificate", OTHER_PDF, "b.pdf",
                  **_record_form(db, unit)).status_code == 302
    second = fresh(db).get(TrainingRecord, record_id).certificate_file_id
    assert second != first
    assert stored_ids(db) == [second] and on_disk(root) == keys(db, second)
    assert admin.get(f"/files/{second}").data == OTHER_PDF

    entries = audit_count(db)  # the same form and file sent again
    assert upload(admin, url, "certificate", OTHER_PDF, "b.pdf",
                  **_record_form(db, unit)).status_code == 302
    assert fresh(db).get(TrainingRecord, record_id).certificate_file_id == second
    assert stored_ids(db) == [second] and on_disk(root) == keys(db, second)
    assert audit_count(db) == entries

    assert admin.post(f"/admin/training/records/{record_id}/delete").status_code == 302
    assert stored_ids(db) == [] and on_disk(root) == []


def test_a_refused_record_keeps_no_uploaded_bytes(db, make, unit, admin, root):
    training.seed_catalogue(db, unit)
    vol = make.volunteer(unit, trained=False)
    future = (dt.date.today() + dt.timedelta(days=30)).isoformat()
    refused = upload(admin, f"/admin/training/volunteers/{vol.id}/records/new", "certificate",
                     PDF, "a.pdf", **_record_form(db, unit, completed_on=future))
    assert refused.status_code == 400
    assert stored_ids(db) == [] and on_disk(root) == []


def test_a_file_still_used_elsewhere_is_kept(db, make, unit, admin, root):
    """Nothing links one file twice today; if something ever does, replacing one link keeps
    the file for the other, and the last link to go takes it."""
    training.seed_catalogue(db, unit)
    vol = make.volunteer(unit, trained=False)
    codes = ("B01", "B02")
    courses = [db.scalar(select(TrainingCourse).where(TrainingCourse.unit_id == unit.id,
                                                      TrainingCourse.code == c)) for c in codes]
    shared = files.store_upload(db, unit.id, "certificate", PDF, "shared.pdf", None, root=root)
    records = [TrainingRecord(volunteer_id=vol.id, course_id=c.id, completed_on=dt.date(2025, 4, 1),
                              minutes=120, mode=TrainingMode.online, certificate_file_id=shared.id)
               for c in courses]
    db.add_all(records)
    db.commit()
    first_id, other_id, shared_id = records[0].id, records[1].id, shared.id

    assert upload(admin, f"/admin/training/records/{first_id}/edit", "certificate", OTHER_PDF,
                  "mine.pdf", **_record_form(db, unit)).status_code == 302
    mine = fresh(db).get(TrainingRecord, first_id).certificate_file_id
    assert stored_ids(db) == sorted([shared_id, mine])
    assert on_disk(root) == keys(db, shared_id, mine)
    assert admin.get(f"/files/{shared_id}").data == PDF

    assert admin.post(f"/admin/training/records/{other_id}/delete").status_code == 302
    assert stored_ids(db) == [mine] and on_disk(root) == keys(db, mine)


def test_every_column_that_points_to_a_file_is_checked():
    assert {f"{c.table.name}.{c.name}" for c in files.referencing_columns()} == {
        "volunteer.photo_file_id", "training_record.certificate_file_id",
        "unit_profile.logo_file_id", "service_plan_document.file_id"}
