"""Uploaded files (certificates, head-shot photos): kept outside the static folder, served only
to authorised users. Rows describe them; the bytes live under the instance folder."""
from __future__ import annotations

import datetime as dt
import importlib
import re
from dataclasses import dataclass, field

from sqlalchemy import ForeignKey, String, event, exists, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from .base import Base, UTCDateTime, utcnow


class StoredFile(Base):
    __tablename__ = "stored_file"

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    kind: Mapped[str] = mapped_column(String(30))  # certificate, photo, plan_document, ...
    original_name: Mapped[str] = mapped_column(String(200), default="")
    content_type: Mapped[str] = mapped_column(String(60))  # decided from the content, not the name
    size: Mapped[int] = mapped_column()
    sha256: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(120), unique=True)  # path under the upload root
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


# --- storing and reading uploads -------------------------------------------------------------

DEFAULT_ALLOWED = ("application/pdf", "image/jpeg", "image/png")
DEFAULT_MAX_BYTES = 5 * 1024 * 1024

_MAGIC = (  # a PDF is recognised by sniff_type's own check
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
)

EXTENSIONS = {"application/pdf": ".pdf", "image/jpeg": ".jpg", "image/png": ".png"}


class UploadRefused(ValueError):
    """An upload we will not keep. `code` is one of: empty, too_large, wrong_type."""

    def __init__(self, code: str, detail: str = ""):
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code = code
        self.detail = detail


def sniff_type(data: bytes) -> str | None:
    """The file's type from its first bytes (magic numbers), never from its name; None if unknown.

    A PDF may have a little junk before its header (readers look in the first 1024 bytes), and
    ends with its end-of-file marker: both are required, so a web page that merely mentions
    "%PDF-" near its top is not taken for one."""
    for magic, content_type in _MAGIC:
        if data.startswith(magic):
            return content_type
    head = data[:1024]
    if b"%PDF-" in head and b"%%EOF" in data[-1024:] and b"<html" not in head.lower():
        return "application/pdf"
    return None


def _safe_name(name: str) -> str:
    name = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch.isprintable() and ch not in '"<>|:*?')
    return name.strip()[:200]


def store_upload(session, unit_id: int, kind: str, data: bytes, original_name: str,
                 uploaded_by_id: int | None, *, root, allowed=DEFAULT_ALLOWED,
                 max_bytes: int = DEFAULT_MAX_BYTES, actor=None) -> StoredFile:
    """Check and keep an uploaded file: bytes under `<root>/<unit>/<random>`, a StoredFile row
    added (and flushed) to the caller's transaction, with an audit entry. Callers commit.

    The type comes from the content (magic bytes); a PNG named .pdf is stored as PNG if PNG
    is allowed. Raises UploadRefused for empty, oversize or not-allowed files (nothing kept).
    If the caller's transaction rolls back, the bytes are removed too (installs from before
    that was so may hold such files: `hourbook files prune`).
    """
    import hashlib
    import secrets
    from pathlib import Path

    from . import audit

    if not data:
        raise UploadRefused("empty")
    if len(data) > max_bytes:
        raise UploadRefused("too_large", f"{len(data)} > {max_bytes} bytes")
    content_type = sniff_type(data)
    if content_type is None or content_type not in allowed:
        raise UploadRefused("wrong_type", content_type or "unknown")
    key = f"{int(unit_id)}/{secrets.token_urlsafe(24)}"
    path = Path(root) / key
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "xb") as out:  # "x": never overwrite
        out.write(data)
    stored = StoredFile(unit_id=unit_id, kind=kind, original_name=_safe_name(original_name),
                        content_type=content_type, size=len(data),
                        sha256=hashlib.sha256(data).hexdigest(), storage_key=key,
                        uploaded_by_id=uploaded_by_id)
    session.add(stored)
    session.flush()
    _when_settled(session, path, on="rollback")
    audit.record(session, action="file_uploaded", entity="stored_file", entity_id=stored.id,
                 actor=actor, unit_id=unit_id,
                 after={"kind": kind, "content_type": content_type, "size": len(data),
                        "original_name": stored.original_name, "sha256": stored.sha256})
    return stored


def stored_path(root, stored_file: StoredFile):
    """Where a stored file's bytes are; refuses keys that would leave the root."""
    from pathlib import Path

    base = Path(root).resolve()
    path = (base / stored_file.storage_key).resolve()
    if base not in path.parents:
        raise ValueError("storage key outside the upload root")
    return path


def delete_stored(session, stored_file: StoredFile, *, root, actor, now) -> None:
    """Delete a stored file: its row now, with an audit entry, and its bytes from disk once the
    transaction commits (nothing may point to it any more: see release). Callers commit; if
    they roll back, the row and the bytes both stay."""
    from . import audit

    try:
        _when_settled(session, stored_path(root, stored_file), on="commit")
    except ValueError:
        pass  # a key outside the upload root was never ours to delete
    audit.record(session, action="file_deleted", entity="stored_file", entity_id=stored_file.id,
                 actor=actor, unit_id=stored_file.unit_id, now=now,
                 before={"kind": stored_file.kind, "sha256": stored_file.sha256})
    session.delete(stored_file)


def referencing_columns() -> list:
    """Every column that points to a stored file (a foreign key to stored_file.id)."""
    importlib.import_module("models")  # every table known to the metadata

    return [fk.parent for table in Base.metadata.sorted_tables for fk in table.foreign_keys
            if fk.target_fullname == "stored_file.id"]


def is_referenced(session, file_id: int) -> bool:
    """Whether any row (a volunteer's photo, a training certificate, the unit's logo, a plan
    document, ...) still points to the file. Flush first: pending changes count."""
    return any(session.scalar(select(column).where(column == file_id).limit(1)) is not None
               for column in referencing_columns())


def release(session, file_id: int | None, *, root, actor, now=None) -> bool:
    """A reference to a stored file was dropped: delete the file (delete_stored: the row now,
    the bytes after commit) unless another row still points to it. True when deleted."""
    if file_id is None:
        return False
    session.flush()  # the dropped reference is no longer counted
    stored = session.get(StoredFile, file_id)
    if stored is None or is_referenced(session, file_id):
        return False
    delete_stored(session, stored, root=root, actor=actor, now=now)
    return True


def is_current(session, file_id: int | None, data: bytes, *, root) -> bool:
    """Whether `data` is already the file `file_id` (same sha256, bytes still on disk)."""
    import hashlib

    if file_id is None:
        return False
    stored = session.get(StoredFile, file_id)
    if stored is None or stored.sha256 != hashlib.sha256(data).hexdigest():
        return False
    try:
        return stored_path(root, stored).is_file()
    except ValueError:
        return False


def replace_file(session, owner, attribute: str, data: bytes, original_name: str, *,
                 unit_id: int, kind: str, root, actor, allowed=DEFAULT_ALLOWED,
                 max_bytes: int = DEFAULT_MAX_BYTES, now=None) -> StoredFile | None:
    """Point `owner.<attribute>` (a file id column) at an upload, and delete the file it pointed
    to when nothing else does (release: its bytes once the transaction commits).

    None when `data` is already the current file: nothing is stored, changed or audited, so a
    double-submitted upload is harmless. Raises UploadRefused like store_upload (nothing kept).
    Callers audit the change of their own row and commit."""
    old_id = getattr(owner, attribute)
    if is_current(session, old_id, data, root=root):
        return None
    stored = store_upload(session, unit_id, kind, data, original_name,
                          getattr(actor, "id", None), root=root, allowed=allowed,
                          max_bytes=max_bytes, actor=actor)
    setattr(owner, attribute, stored.id)
    session.add(owner)
    release(session, old_id, root=root, actor=actor, now=now)
    return stored


# --- orphans: files nothing uses any more -------------------------------------------------------
# Before replaced and removed files were deleted (replace_file, release), and before a new
# file's bytes followed its transaction, an install could gather stored file rows no column
# points to (an old photo, logo or certificate) and files under the upload root with no row
# (an upload whose transaction rolled back). `hourbook files prune` finds and deletes them.

STORAGE_KEY = re.compile(r"([1-9][0-9]*)/([A-Za-z0-9_-]{32})")  # store_upload's keys, only
STRAY_MIN_AGE = dt.timedelta(hours=1)  # younger files without a row may be uploads in flight


@dataclass(frozen=True)
class StrayFile:
    """A file under the upload root named like a storage key, with no stored file row."""

    key: str
    size: int
    modified_at: dt.datetime

    @property
    def unit_id(self) -> int:
        return int(self.key.split("/", 1)[0])


@dataclass
class Orphans:
    rows: list[StoredFile] = field(default_factory=list)  # rows no column points to
    strays: list[StrayFile] = field(default_factory=list)  # files without a row, old enough
    young: list[StrayFile] = field(default_factory=list)  # without a row, too new to tell

    def totals(self) -> dict[tuple[str, int, str | None], tuple[int, int]]:
        """("row" or "stray", unit id, kind) -> (files, bytes); strays have no kind (None)."""
        out: dict[tuple[str, int, str | None], tuple[int, int]] = {}
        for what, unit_id, kind, size in (
                *(("row", r.unit_id, r.kind, r.size) for r in self.rows),
                *(("stray", f.unit_id, None, f.size) for f in self.strays)):
            count, total = out.get((what, unit_id, kind), (0, 0))
            out[(what, unit_id, kind)] = (count + 1, total + size)
        return dict(sorted(out.items()))


def _files_named_like_keys(root):
    """(key, lstat) of each regular file `<root>/<unit id>/<token>`; symbolic links (to files
    or folders) and anything named otherwise are passed over."""
    import os
    from pathlib import Path

    base = Path(root)
    if not base.is_dir():
        return
    for unit_dir in os.scandir(base):
        if unit_dir.is_symlink() or not unit_dir.is_dir(follow_symlinks=False):
            continue
        for entry in os.scandir(unit_dir.path):
            key = f"{unit_dir.name}/{entry.name}"
            if STORAGE_KEY.fullmatch(key) and entry.is_file(follow_symlinks=False):
                yield key, entry.stat(follow_symlinks=False)


def orphans(session, root, now: dt.datetime, *, min_age: dt.timedelta = STRAY_MIN_AGE) -> Orphans:
    """Stored file rows no column points to (referencing_columns), and files under `root`
    named like a storage key with no row; those modified within `min_age` before `now` are
    only counted (young): an upload whose row is not committed yet looks the same."""
    unused = select(StoredFile).where(*(~exists().where(column == StoredFile.id)
                                        for column in referencing_columns()))
    found = Orphans(rows=list(session.scalars(unused.order_by(StoredFile.unit_id,
                                                              StoredFile.kind, StoredFile.id))))
    known = set(session.scalars(select(StoredFile.storage_key)))
    for key, stat in sorted(_files_named_like_keys(root)):
        if key in known:
            continue
        modified = dt.datetime.fromtimestamp(stat.st_mtime, dt.timezone.utc)
        stray = StrayFile(key=key, size=stat.st_size, modified_at=modified)
        (found.young if modified > now - min_age else found.strays).append(stray)
    return found


def prune(session, root, now: dt.datetime, *, min_age: dt.timedelta = STRAY_MIN_AGE) -> Orphans:
    """Delete what orphans() finds: each unused row by delete_stored (audited; its bytes once
    the transaction commits), and the old files without a row, also once it commits (one
    audit entry lists them). Young files stay. Callers commit; a rollback deletes nothing."""
    from pathlib import Path

    from . import audit
    from .base import begin_write

    begin_write(session)
    found = orphans(session, root, now, min_age=min_age)
    for stored in found.rows:
        delete_stored(session, stored, root=root, actor=None, now=now)
    for stray in found.strays:
        _when_settled(session, Path(root) / stray.key, on="commit")
    if found.strays:
        audit.record(session, action="stray_files_deleted", entity="stored_file",
                     actor_label="system", now=now,
                     after={"keys": [f.key for f in found.strays],
                            "bytes": sum(f.size for f in found.strays)})
    session.flush()
    return found


# --- the bytes follow the transaction of their row --------------------------------------------
# A new file's bytes are written before its row is committed, and a deleted file's bytes must
# stay until the deletion of its row is committed: each is noted here with the transaction (or
# savepoint) it belongs to, and settled when that transaction ends: a new file's bytes removed
# if it rolls back, a deleted file's bytes removed once it commits.

_SETTLE = "hourbook_files_settle"


def _when_settled(session, path, *, on: str) -> None:
    """Remove the file at `path` when the current transaction ends with `on` ("commit" or
    "rollback")."""
    transaction = session.get_nested_transaction() or session.get_transaction()
    session.info.setdefault(_SETTLE, []).append((transaction, path, on))


def _within(transaction, ended) -> bool:
    if transaction is None:  # noted before the session began: the outermost transaction's
        return ended.parent is None
    while transaction is not None:
        if transaction is ended:
            return True
        transaction = transaction.parent
    return False


def _settle(session, outcome: str, ended=None) -> None:
    """Remove the files noted for `outcome` in the transaction `ended` (None: all noted)."""
    import logging

    noted = session.info.pop(_SETTLE, None)
    if not noted:
        return
    keep = []
    for transaction, path, on in noted:
        if ended is not None and not _within(transaction, ended):
            keep.append((transaction, path, on))
        elif on == outcome:
            try:
                path.unlink(missing_ok=True)
            except OSError:  # left behind, with no row: logged, never an error for the user
                logging.getLogger(__name__).warning("could not remove %s", path, exc_info=True)
    if keep:
        session.info[_SETTLE] = keep


@event.listens_for(Session, "after_commit")
def _after_commit(session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint released: its files wait for the outermost commit
    _settle(session, "commit")


@event.listens_for(Session, "after_soft_rollback")
def _after_rollback(session, previous_transaction) -> None:
    _settle(session, "rollback", previous_transaction)


@event.listens_for(Session, "after_transaction_end")
def _after_end(session, transaction) -> None:
    if transaction.parent is None:  # closed without a commit: the database rolled it back
        _settle(session, "rollback")


def read_stored(root, stored_file: StoredFile) -> bytes:
    """The bytes of a stored file (FileNotFoundError if they are gone)."""
    return stored_path(root, stored_file).read_bytes()


def download_name(stored_file: StoredFile) -> str:
    """A name to offer on download, with the extension of the real type."""
    from pathlib import PurePosixPath

    ext = EXTENSIONS.get(stored_file.content_type, "")
    stem = PurePosixPath(stored_file.original_name or f"file-{stored_file.id}").stem or "file"
    return f"{stem}{ext}"


def owner_volunteer_ids(session, stored_file: StoredFile) -> set[int]:
    """The volunteers a file belongs to: the volunteer whose training certificate or photo it is."""
    from sqlalchemy import select

    from .people import Volunteer
    from .training import TrainingRecord

    ids = set(session.scalars(select(TrainingRecord.volunteer_id)
                              .where(TrainingRecord.certificate_file_id == stored_file.id)))
    ids |= set(session.scalars(select(Volunteer.id)
                               .where(Volunteer.photo_file_id == stored_file.id)))
    return ids


def may_read(session, user, stored_file: StoredFile) -> bool:
    """Admins of the file's unit, and the volunteer it belongs to."""
    if user is None or getattr(user, "unit_id", None) != stored_file.unit_id:
        return False
    role = getattr(getattr(user, "role", None), "value", None)
    if role == "admin":
        return True
    if role == "volunteer" and user.volunteer is not None:
        return user.volunteer.id in owner_volunteer_ids(session, stored_file)
    return False
