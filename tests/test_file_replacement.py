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

from models import audit, files, privacy, training, unit_profile
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


def test_every_column_that_points_to_a_file_is_checked():
    assert {f"{c.table.name}.{c.name}" for c in files.referencing_columns()} == {
        "volunteer.photo_file_id", "training_record.certificate_file_id",
        "unit_profile.logo_file_id", "service_plan_document.file_id"}
