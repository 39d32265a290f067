"""Uploads: type from the content, size limit, stored outside static, served to the right people."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from models import files
from models.audit import AuditEntry
from models.files import StoredFile, UploadRefused
from models.training import TrainingCourse, TrainingKind, TrainingMode, TrainingRecord

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64
EXE = b"MZ\x90\x00" + b"\x00" * 64


@pytest.fixture
def root(tmp_path, app):
    app.config["HOURBOOK_UPLOAD_DIR"] = str(tmp_path / "uploads")
    return tmp_path / "uploads"


def _store(db, unit, data, name="cert.pdf", **kw):
    stored = files.store_upload(db, unit.id, "certificate", data, name, None,
                                root=kw.pop("root"), **kw)
    db.commit()
    return stored


@pytest.mark.parametrize("data,expected", [(PDF, "application/pdf"), (PNG, "image/png"),
                                           (JPEG, "image/jpeg")])
def test_type_is_taken_from_the_content(db, unit, root, data, expected):
    stored = _store(db, unit, data, name="whatever.pdf", root=root)
    assert stored.content_type == expected
    assert stored.size == len(data)
    assert stored.storage_key.startswith(f"{unit.id}/")
    assert (root / stored.storage_key).read_bytes() == data
    assert files.read_stored(root, stored) == data
    assert "static" not in str(root / stored.storage_key)


def test_a_pdf_that_is_really_a_png(db, unit, root):
    stored = _store(db, unit, PNG, name="certificate.pdf", root=root)
    assert stored.content_type == "image/png"
    assert files.download_name(stored) == "certificate.png"
    with pytest.raises(UploadRefused) as refused:
        files.store_upload(db, unit.id, "certificate", PNG, "certificate.pdf", None, root=root,
                           allowed=("application/pdf",))
    assert refused.value.code == "wrong_type"


@pytest.mark.parametrize("data", [EXE, b"<html><script>alert(1)</script>", b"GIF89a....",
                                  b"<html><body>%PDF-1.4 <script>alert(1)</script></body></html>",
                                  b"<!doctype html><html>%PDF-1.4\n%%EOF\n</html>",
                                  b"%PDF-1.4 but cut off before its end"])
def test_other_types_are_refused_whatever_their_name(db, unit, root, data):
    with pytest.raises(UploadRefused) as refused:
        files.store_upload(db, unit.id, "certificate", data, "certificate.pdf", None, root=root)
    assert refused.value.code == "wrong_type"
    db.rollback()
    assert db.scalar(select(StoredFile)) is None
    assert not root.exists() or not any(root.rglob("*"))


def test_oversize_and_empty_files_are_refused(db, unit, root):
    with pytest.raises(UploadRefused) as refused:
        files.store_upload(db, unit.id, "certificate", PDF + b"x" * 100, "a.pdf", None,
                           root=root, max_bytes=100)
    assert refused.value.code == "too_large"
    with pytest.raises(UploadRefused) as refused:
        files.store_upload(db, unit.id, "certificate", b"", "a.pdf", None, root=root)
    assert refused.value.code == "empty"
    db.rollback()
    assert db.scalar(select(StoredFile)) is None


def test_upload_is_audited_and_names_cleaned(db, unit, root):
    stored = _store(db, unit, PDF, name="../../etc/<passwd>.pdf", root=root)
    assert stored.original_name == "passwd.pdf"
    entry = db.scalar(select(AuditEntry).where(AuditEntry.action == "file_uploaded"))
    assert entry.entity_id == stored.id
    assert entry.after_data()["content_type"] == "application/pdf"


def test_storage_key_cannot_leave_the_root(db, unit, root):
    stored = _store(db, unit, PDF, root=root)
    stored.storage_key = "../../outside"
    with pytest.raises(ValueError):
        files.read_stored(root, stored)
    db.rollback()


# --- serving -------------------------------------------------------------------------------

def _certificate_of(db, unit, volunteer, root, data=PDF, name="證書.pdf"):
    course = TrainingCourse(unit_id=unit.id, code=f"X{volunteer.id}", name="測試課程",
                            kind=TrainingKind.basic, minutes=120)
    db.add(course)
    db.flush()
    stored = files.store_upload(db, unit.id, "certificate", data, name, None, root=root)
    db.add(TrainingRecord(volunteer_id=volunteer.id, course_id=course.id,
                          completed_on=dt.date(2025, 3, 1), minutes=120,
                          mode=TrainingMode.in_person, certificate_file_id=stored.id))
    db.commit()
    return stored


def test_owner_volunteer_and_admin_can_read(db, make, unit, root, admin, volunteer):
    stored = _certificate_of(db, unit, volunteer.user.volunteer, root)
    for person in (volunteer, admin):
        response = person.get(f"/files/{stored.id}")
        assert response.status_code == 200
        assert response.data == PDF
        assert response.mimetype == "application/pdf"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        disposition = response.headers["Content-Disposition"]
        assert disposition.startswith("inline")
        assert "filename*=UTF-8''%E8%AD%89%E6%9B%B8.pdf" in disposition
        assert "no-store" in response.headers["Cache-Control"]


def test_others_are_refused(app, db, make, unit, root, volunteer, supervisor):
    stored = _certificate_of(db, unit, volunteer.user.volunteer, root)
    from tests.conftest import _signed_in

    other_volunteer = _signed_in(app, make, unit, "volunteer")
    assert other_volunteer.get(f"/files/{stored.id}").status_code == 403
    assert supervisor.get(f"/files/{stored.id}").status_code == 403
    other_unit_admin = _signed_in(app, make, make.unit(), "admin")
    assert other_unit_admin.get(f"/files/{stored.id}").status_code == 404
    assert other_volunteer.get("/files/999999").status_code == 404


def test_anonymous_is_sent_to_sign_in(db, unit, root, anon, make):
    vol = make.volunteer(unit)
    stored = _certificate_of(db, unit, vol, root)
    response = anon.get(f"/files/{stored.id}")
    assert response.status_code == 302
    assert "/sign-in" in response.headers["Location"]


def test_missing_bytes_are_404(db, unit, root, admin, make):
    vol = make.volunteer(unit)
    stored = _certificate_of(db, unit, vol, root)
    (root / stored.storage_key).unlink()
    assert admin.get(f"/files/{stored.id}").status_code == 404
