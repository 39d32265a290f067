"""`hourbook files prune`: stored file rows no column points to and files under the upload root
without a row (left by installs from before replaced files were deleted) are reported, and
deleted only with --delete; a file in use, a file too new to tell, and anything not named like
a storage key are never touched."""
from __future__ import annotations

import datetime as dt
import os
import secrets

import pytest
from sqlalchemy import inspect, select

from models import files, plan, record_book, training, unit_profile
from models.audit import AuditEntry
from models.base import utcnow
from models.training import TrainingCourse

from tests.test_file_replacement import PDF, fresh, image, on_disk, stored_ids

OLD_PDF = b"%PDF-1.4\n9 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
HOUR = dt.timedelta(hours=1)


@pytest.fixture
def root(app, tmp_path):
    app.config["HOURBOOK_UPLOAD_DIR"] = str(tmp_path / "uploads")
    return tmp_path / "uploads"


def stray(root, unit_id, age: dt.timedelta, name=None, data=b"left behind") -> str:
    """A file under the root with no row, last modified `age` ago; its key."""
    key = f"{unit_id}/{name or secrets.token_urlsafe(24)}"
    path = root / key
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    when = (utcnow() - age).timestamp()
    os.utime(path, (when, when))
    return key


def prune_cli(app, *args):
    result = app.test_cli_runner().invoke(args=["files", "prune", *args])
    assert result.exit_code == 0, result.output
    return result.output


def in_use(db, make, unit, root):
    """A photo, a certificate, a logo and a plan document, each pointed to by its row."""
    actor = make.user(unit, role="admin")
    vol = make.volunteer(unit, trained=False)
    record_book.set_photo(db, vol, image("red"), "me.png", actor, root=root)
    training.seed_catalogue(db, unit)
    course = db.scalar(select(TrainingCourse).where(TrainingCourse.unit_id == unit.id,
                                                    TrainingCourse.code == "B01"))
    training.add_record(db, vol, course=course, completed_on=dt.date(2025, 4, 1), minutes=120,
                        mode="online", certificate=PDF, certificate_name="b01.pdf", root=root,
                        actor=actor)
    unit_profile.set_logo(db, unit, image("blue", (120, 80)), "logo.png", actor, root=root)
    db.commit()
    plan.add_document(db, make.plan(unit, 2026, actor=actor), PDF, "plan.pdf", "核定函", actor,
                      root=root)
    db.commit()
    return actor


def test_every_foreign_key_to_a_stored_file_in_the_database_is_checked(db):
    in_database = {f"{table}.{column}"
                   for table in inspect(db.connection()).get_table_names()
                   for fk in inspect(db.connection()).get_foreign_keys(table)
                   if fk["referred_table"] == "stored_file"
                   for column in fk["constrained_columns"]}
    assert in_database == {f"{c.table.name}.{c.name}" for c in files.referencing_columns()}
    assert len(in_database) == 4


def test_files_in_use_are_never_touched(app, db, make, unit, root):
    in_use(db, make, unit, root)
    ids, kept = stored_ids(db), on_disk(root)
    assert len(ids) == 4 and len(kept) == 4
    for path in root.rglob("*"):  # old enough to be deleted, if they were not in use
        os.utime(path, (0, 0))

    found = files.prune(db, root, utcnow(), min_age=dt.timedelta(0))
    db.commit()
    assert found.rows == [] and found.strays == [] and found.young == []
    assert stored_ids(db) == ids and on_disk(root) == kept
    assert "deleted 0 stored files and 0 files without a row" in prune_cli(app, "--delete")
    assert stored_ids(db) == ids and on_disk(root) == kept


def test_an_unused_row_is_reported_and_deleted_only_with_delete(app, db, make, unit, root):
    actor = in_use(db, make, unit, root)
    used = stored_ids(db)
    old = files.store_upload(db, unit.id, "photo", OLD_PDF, "old.pdf", actor.id, root=root)
    db.commit()  # as an install before replacement cleanup left a replaced photo
    old_id, old_key = old.id, old.storage_key

    found = files.orphans(db, root, utcnow())
    assert [r.id for r in found.rows] == [old_id] and found.strays == []
    assert found.totals() == {("row", unit.id, "photo"): (1, len(OLD_PDF))}
    db.rollback()

    report = prune_cli(app)
    assert "stored files no row points to: 1 file, " in report
    assert f"  unit {unit.id}, photo: 1 file, {len(OLD_PDF)} bytes" in report
    assert f"  #{old_id} photo {old_key} {len(OLD_PDF)} bytes, uploaded " in report
    assert "nothing deleted: run again with --delete" in report
    assert stored_ids(db) == [*used, old_id] and old_key in on_disk(root)

    report = prune_cli(app, "--delete")
    assert "deleted 1 stored file and 0 files without a row" in report
    assert stored_ids(db) == used and old_key not in on_disk(root) and len(on_disk(root)) == 4
    entry = fresh(db).scalar(select(AuditEntry).where(AuditEntry.action == "file_deleted"))
    assert entry.entity_id == old_id and entry.actor_label == "system"
    assert entry.unit_id == unit.id


def test_a_rolled_back_prune_deletes_nothing(db, make, unit, root):
    actor = make.user(unit, role="admin")
    old = files.store_upload(db, unit.id, "certificate", OLD_PDF, "old.pdf", actor.id, root=root)
    db.commit()
    key = stray(root, unit.id, 2 * HOUR)
    kept = on_disk(root)

    found = files.prune(db, root, utcnow())
    assert [r.id for r in found.rows] == [old.id] and [f.key for f in found.strays] == [key]
    assert on_disk(root) == kept  # not before the commit
    db.rollback()
    assert stored_ids(db) == [old.id] and on_disk(root) == kept


def test_only_old_files_named_like_storage_keys_without_a_row_are_deleted(app, db, make, unit,
                                                                          root, tmp_path):
    in_use(db, make, unit, root)
    used, used_files = stored_ids(db), on_disk(root)
    old = stray(root, unit.id, 2 * HOUR)
    other_unit = stray(root, unit.id + 1, 3 * HOUR, data=b"x" * 10)  # no such unit: still ours
    young = stray(root, unit.id, dt.timedelta(minutes=10))
    not_ours = [stray(root, unit.id, 2 * HOUR, name="notes.txt"),
                stray(root, unit.id, 2 * HOUR, name=secrets.token_urlsafe(24) + ".bak"),
                stray(root, "abc", 2 * HOUR, name=secrets.token_urlsafe(24)),
                stray(root, "007", 2 * HOUR, name=secrets.token_urlsafe(24)),
                stray(root, f"{unit.id}/deeper", 2 * HOUR, name=secrets.token_urlsafe(24))]
    (root / "README").write_text("kept")
    outside = tmp_path / "outside"
    outside.mkdir()
    for name in (secrets.token_urlsafe(24), "target"):  # old enough, if they were ours
        (outside / name).write_text("not under the root")
        os.utime(outside / name, (0, 0))
    target = outside / "target"
    link = root / str(unit.id) / secrets.token_urlsafe(24)
    link.symlink_to(target)  # a link named like a key: neither it nor its target is ours
    (root / "77").symlink_to(outside, target_is_directory=True)
    everything_outside = sorted(p.name for p in outside.iterdir())

    found = files.orphans(db, root, utcnow())
    assert [f.key for f in found.strays] == sorted([old, other_unit])
    assert [f.key for f in found.young] == [young] and found.rows == []
    assert found.totals() == {("stray", unit.id, None): (1, len(b"left behind")),
                              ("stray", unit.id + 1, None): (1, 10)}
    db.rollback()

    report = prune_cli(app)
    assert f"files under {root} without a row: 2 files, 21 bytes" in report
    assert f"  unit {unit.id}: 1 file, 11 bytes\n  unit {unit.id + 1}: 1 file, 10 bytes\n" \
        in report
    assert f"  {other_unit} 10 bytes, modified " in report
    assert "left alone: 1 file without a row, modified in the last 60 minutes" in report
    assert old in on_disk(root) and other_unit in on_disk(root)

    report = prune_cli(app, "--delete")
    assert "deleted 0 stored files and 2 files without a row" in report
    left = on_disk(root)
    assert old not in left and other_unit not in left
    assert young in left and all(key in left for key in not_ours) and "README" in left
    assert link.is_symlink() and target.read_text() == "not under the root"
    assert sorted(p.name for p in outside.iterdir()) == everything_outside
    assert stored_ids(db) == used and all(key in left for key in used_files)
    entry = fresh(db).scalar(select(AuditEntry).where(AuditEntry.action == "stray_files_deleted"))
    assert sorted(entry.after_data()["keys"]) == sorted([old, other_unit])

    assert "left alone" not in prune_cli(app, "--delete", "--min-age", "5")
    assert young not in on_disk(root)


def test_no_upload_root_yet_finds_nothing(app, db, root):
    assert not root.exists()
    assert prune_cli(app) == (f"stored files no row points to: 0 files, 0 bytes\n"
                              f"files under {root} without a row: 0 files, 0 bytes\n")
