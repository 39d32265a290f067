"""Import of an existing roster (CSV/XLSX, docs/roster-template.md): check first (every row's
problems), then import all or nothing."""
from __future__ import annotations

from flask import (
    Blueprint,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField

from models import roster_import
from models import roster_rows
from models.base import utcnow
from models.export import MIMETYPES
from models.people import Role
from models.roster_import import ImportRefused

from ..access import roles
from ..downloads import download
from ..extensions import db
from ..i18n import refusal_text

bp = Blueprint("roster_import", __name__, url_prefix="/admin/import")
admin_only = roles(Role.admin)
MAX_BYTES = 5 * 1024 * 1024
KIND_LABELS = {
    roster_rows.VOLUNTEERS: _l("Volunteers"),
    roster_rows.PRIOR: _l("Hours from earlier units"),
    roster_rows.TRAINING: _l("Training records"),
    roster_rows.INSURANCE: _l("Insurance covers"),
}


class ImportForm(FlaskForm):
    file = FileField(_l("Roster file (CSV or XLSX)"))


def problem_text(problem) -> str:
    return refusal_text(problem)


@bp.get("/")
@admin_only
def index():
    return render_template("roster_import/index.html", form=ImportForm(formdata=None),
                           result=None, dry_run=True, kind_labels=KIND_LABELS)


@bp.post("/")
@admin_only
def upload():
    form = ImportForm()
    dry_run = request.form.get("action") != "import"
    result = None
    status = 400
    if form.validate_on_submit():
        storage = form.file.data
        data = b""
        if storage:
            try:
                data = storage.stream.read(MAX_BYTES + 1)
            finally:
                storage.close()
        name = getattr(storage, "filename", "") or ""
        if not data:
            form.file.errors = [*form.file.errors, _("Choose a file to upload.")]
        elif len(data) > MAX_BYTES:
            form.file.errors = [*form.file.errors, _("The file is too large (at most %(mb)d MB).",
                                                     mb=MAX_BYTES // (1024 * 1024))]
        elif dry_run:
            result = roster_import.check(db.session, current_user.unit_id, data, name)
            status = 400 if result.problems else 200
        else:
            try:
                result = roster_import.run(db.session, current_user, data, name, now=utcnow())
            except ImportRefused as error:
                db.session.rollback()
                result = roster_import.Result(error.problems, {})
            else:
                db.session.commit()
                flash(_("Imported: %(v)d volunteers, %(p)d prior hours, %(t)d training "
                        "records, %(i)d insurance covers.",
                        v=result.counts["volunteers"], p=result.counts["prior_hours"],
                        t=result.counts["training"], i=result.counts["insurance"]), "success")
                return redirect(url_for(".index"))
    return render_template("roster_import/index.html", form=form, result=result,
                           dry_run=dry_run, kind_labels=KIND_LABELS,
                           problem_text=problem_text), status


@bp.get("/roster-template.xlsx")
@admin_only
def template():
    return download(roster_import.template_xlsx(), "roster-template.xlsx", MIMETYPES["xlsx"])
