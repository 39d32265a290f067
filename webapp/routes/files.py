"""Uploaded files (certificates, photos), served only to those allowed to read them.

The bytes live under HOURBOOK_UPLOAD_DIR (default: instance/uploads), never in static/.
Other blueprints read uploads with `read_upload()`, hand the bytes to models/ (which keep
them: models.files) and link to `files.show`.
"""
from __future__ import annotations

from pathlib import Path

from flask import Blueprint, abort, current_app
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from models import access_log, files
from models.files import StoredFile, UploadRefused
from models.people import Role

from ..access import roles
from ..downloads import download
from ..extensions import db

bp = Blueprint("files", __name__, url_prefix="/files")

UPLOAD_MESSAGES = {
    "empty": _l("Choose a file to upload."),
    "too_large": _l("The file is too large (at most %(mb)d MB)."),
    "wrong_type": _l("Upload a PDF, JPEG or PNG file."),
}


def upload_root() -> Path:
    return Path(current_app.config["HOURBOOK_UPLOAD_DIR"])


def refusal_message(error: UploadRefused, max_bytes: int = files.DEFAULT_MAX_BYTES) -> str:
    message = UPLOAD_MESSAGES.get(error.code, UPLOAD_MESSAGES["wrong_type"])
    return str(message) % {"mb": max_bytes // (1024 * 1024)}


def read_upload(storage, max_bytes: int = files.DEFAULT_MAX_BYTES) -> bytes:
    """The bytes of a werkzeug FileStorage (b"" for none), for models/ to check and keep.

    Reads at most max_bytes + 1 bytes, so an oversize file is refused without reading it all."""
    if not storage:
        return b""
    try:
        return storage.stream.read(max_bytes + 1)
    finally:
        storage.close()  # large uploads are spooled to a temporary file: release it now


@bp.get("/<int:file_id>")
@roles(Role.admin, Role.supervisor, Role.volunteer)
def show(file_id: int):
    stored = db.session.get(StoredFile, file_id)
    if stored is None or stored.unit_id != current_user.unit_id:
        abort(404)
    if not files.may_read(db.session, current_user, stored):
        abort(403)
    try:
        data = files.read_stored(upload_root(), stored)
    except (FileNotFoundError, ValueError):
        abort(404)
    if current_user.role != Role.volunteer:  # staff opening a volunteer's file: logged
        access_log.record_view(db.session, current_user, action="personal_data_view",
                               entity="file", entity_id=stored.id, purpose="uploaded_file",
                               kind=stored.kind)
        db.session.commit()
    # Images and PDFs open in the browser; anything else would be a download (never HTML).
    return download(data, files.download_name(stored), stored.content_type,
                    inline=stored.content_type in files.EXTENSIONS)
