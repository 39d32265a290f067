"""The volunteer directory (志工): find a volunteer, see the first facts, go to their pages.

Admins see the whole unit; supervisors the volunteers of their sites, as on the evaluation
list. The columns are computed by models/directory.py, a page (PAGE_SIZE volunteers) at a time;
a page number out of range is the nearest page there is."""
from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_login import current_user

from models import directory as dirs
from models.base import taipei_date, utcnow
from models.insurance import EXPIRING_DAYS
from models.people import Role

from ..access import STAFF, roles
from ..extensions import db

bp = Blueprint("directory", __name__, url_prefix="/admin/volunteers")


@bp.get("")
@roles(*STAFF)
def index():
    search = request.args.get("q", "")
    raw_status = request.args.get("status", "") or dirs.StatusFilter.active.value
    known = raw_status in dirs.StatusFilter.__members__
    status = dirs.StatusFilter(raw_status) if known else dirs.StatusFilter.active
    raw_page = request.args.get("page", "") or "1"
    try:
        page = int(raw_page)
    except ValueError:  # not a number: the first page
        page = None
    ok = known and len(search) <= dirs.SEARCH_MAX and page is not None
    today = taipei_date(utcnow())
    result = dirs.directory(db.session, current_user, today, search=search, status=status, page=page or 1)
    context = {"result": result, "rows": result.rows, "search": search[:dirs.SEARCH_MAX], "status": status,
               "today": today, "days": EXPIRING_DAYS, "admin": current_user.role == Role.admin}
    code = 200 if ok else 400
    if request.headers.get("HX-Request") and not request.headers.get("HX-History-Restore-Request"):
        return render_template("directory/_volunteer_rows.html", **context), 200
    return render_template("directory/index.html", **context), code
