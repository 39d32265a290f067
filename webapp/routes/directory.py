"""The volunteer directory (志工): find a volunteer, see the first facts, go to their pages.

Admins see the whole unit; supervisors the volunteers of their sites, as on the evaluation
list. The columns are computed by models/directory.py, a page (PAGE_SIZE volunteers) at a time.
A page that is not there (past the last, before the first, not a number) is answered with a
redirect to the nearest page there is (the first for no number), with htmx as without: the
address bar and the Previous/Next links then agree with the list shown."""
from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for
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
    ok = known and len(search) <= dirs.SEARCH_MAX
    today = taipei_date(utcnow())
    result = dirs.directory(db.session, current_user, today, search=search, status=status, page=page or 1)
    search = search[:dirs.SEARCH_MAX]

    def page_url(number: int) -> str:  # the one address of a page of this search
        return url_for(".index", q=search or None, status=status.value,
                       page=number if number > 1 else None)

    if ok and page != result.page:  # past the last, before the first, not a number
        return redirect(page_url(result.page))
    context = {"result": result, "rows": result.rows, "search": search, "status": status,
               "today": today, "days": EXPIRING_DAYS,
               "admin": current_user.role == Role.admin}
    if request.headers.get("HX-Request") and not request.headers.get("HX-History-Restore-Request"):
        return render_template("directory/_volunteer_rows.html", **context), 200
    return render_template("directory/index.html", **context), 200 if ok else 400
