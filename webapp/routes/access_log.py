"""The access log page (admins): who saw or exported full ID numbers and other personal data."""
from __future__ import annotations

from flask import Blueprint, g, render_template, request
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from models import access_log
from models.people import Role

from ..access import roles
from ..extensions import db

bp = Blueprint("access_log", __name__, url_prefix="/admin/access-log")

PAGE = 100


@bp.get("/")
@roles(Role.admin)
def index():
    g.no_store = True
    action = request.args.get("action", "")
    if action not in access_log.ACCESS_ACTIONS:
        action = ""
    before = request.args.get("before", "")
    before_id = int(before) if before.isdigit() else None
    rows = access_log.entries(db.session, current_user.unit_id, before_id=before_id,
                              action=action or None, limit=PAGE)
    return render_template("access_log/index.html", rows=rows, action=action,
                           labels={k: _(v) for k, v in access_log.ACCESS_ACTIONS.items()},
                           purposes={k: _(v) for k, v in access_log.PURPOSES.items()},
                           subjects=_subjects(rows), more=len(rows) == PAGE)


def _subjects(rows) -> dict[int, str]:
    """A readable subject per entry: the volunteer's or applicant's name, or how many people."""
    vols, apps = access_log.subject_names(db.session, current_user.unit_id, rows)
    out = {}
    for r in rows:
        details = r.after_data() or {}
        if r.entity == "volunteer" and r.entity_id:
            out[r.id] = vols.get(r.entity_id) or _("Volunteer #%(id)d", id=r.entity_id)
        elif r.entity == "application" and r.entity_id:
            out[r.id] = _("Application of %(name)s", name=apps.get(r.entity_id, f"#{r.entity_id}"))
        elif "volunteer_ids" in details:
            out[r.id] = ngettext("%(num)d volunteer", "%(num)d volunteers", len(details["volunteer_ids"]))
        elif r.action == "export_mohw":
            out[r.id] = ngettext("%(num)d volunteer", "%(num)d volunteers", details.get("volunteers", 0))
        elif r.entity == "file" and r.entity_id:
            out[r.id] = _("File #%(id)d", id=r.entity_id)
        else:
            out[r.id] = "—"
    return out
