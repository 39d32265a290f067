"""Uploaded files (certificates, head-shot photos): kept outside the static folder, served only
to authorised users. Rows describe them; the bytes live under the instance folder."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

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
    If the caller's transaction rolls back, the bytes stay as an orphan file (harmless; no
    row points to it).
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
    """Delete a stored file: its bytes from disk and its row (nothing may point to it any
    more), with an audit entry. Callers commit; if they roll back, the row stays and only
    the bytes are gone (the file then answers "not found")."""
    from . import audit

    try:
        stored_path(root, stored_file).unlink(missing_ok=True)
    except ValueError:
        pass  # a key outside the upload root was never ours to delete
    audit.record(session, action="file_deleted", entity="stored_file", entity_id=stored_file.id,
                 actor=actor, unit_id=stored_file.unit_id, now=now,
                 before={"kind": stored_file.kind, "sha256": stored_file.sha256})
    session.delete(stored_file)


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
