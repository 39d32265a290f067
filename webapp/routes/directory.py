"""The volunteer directory (志工): find a volunteer, see the first facts, go to their pages.

Admins see the whole unit; supervisors the volunteers of their sites, as on the evaluation
list. The columns are computed by models/directory.py, a page (PAGE_SIZE volunteers) at a time.
A page that is not there (past the last, before the first, not a number) is answered with a
redirect to the nearest page there is (the first for no number), with htmx as without: the
address bar and the Previous/Next links then agree with the list shown.

Admins add one volunteer here (a walk-in): the roster import's volunteer row, checked and
saved by models.roster_import.add_volunteer, so a form and an import never disagree."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField
from wtforms.fields.choices import SelectChoice

from models import directory as dirs
from models import roster_import
from models import roster_rows
from models.base import taipei_date, utcnow
from models.insurance import EXPIRING_DAYS
from models.people import Role
from models.recruitment import next_volunteer_no

from ..access import STAFF, roles
from ..forms import GENDER_LABELS, ID_KIND_LABELS
from ..extensions import db
from ..i18n import refusal_text

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
               "admin": current_user.role == Role.admin,
               "here": page_url(result.page)}  # where "Edit details" returns to
    if request.headers.get("HX-Request") and not request.headers.get("HX-History-Restore-Request"):
        return render_template("directory/_volunteer_rows.html", **context), 200
    return render_template("directory/index.html", **context), 200 if ok else 400


class AddVolunteerForm(FlaskForm):
    """The roster's volunteer sheet as a form (roster_rows.VOLUNTEER_FIELDS, but the number,
    which is the unit's next). No validators here: add_volunteer checks it as the import does."""
    name_zh = StringField(_l("Name"), render_kw={"maxlength": 60, "autocomplete": "off"})
    name_en = StringField(_l("English name"), render_kw={"maxlength": 120, "autocomplete": "off"})
    gender = SelectField(_l("Gender"), validate_choice=False, choices=[
        SelectChoice("", "—"), *(SelectChoice(v, label) for v, label in GENDER_LABELS.items())])
    birth_date = StringField(_l("Birth date"), render_kw={"type": "date"})
    id_kind = SelectField(_l("Kind of ID"), validate_choice=False, choices=[
        SelectChoice(v, label) for v, label in ID_KIND_LABELS.items()])
    id_number = StringField(_l("ID or passport number"),
                            render_kw={"maxlength": 20, "autocomplete": "off"})
    phone = StringField(_l("Phone"), render_kw={"type": "tel", "maxlength": 40})
    email = StringField(_l("Email"), render_kw={"type": "email", "maxlength": 254})
    address = StringField(_l("Address"), render_kw={"maxlength": 300})
    emergency_contact = StringField(_l("Emergency contact"), render_kw={"maxlength": 120})
    emergency_phone = StringField(_l("Emergency contact phone"),
                                  render_kw={"type": "tel", "maxlength": 40})
    joined_on = StringField(_l("Joined on"), render_kw={"type": "date"})
    record_book_no = StringField(_l("Record book number"), render_kw={"maxlength": 40},
                                 description=_l("Only if the volunteer already has a record book."))
    record_book_issued_on = StringField(_l("Record book issued on"), render_kw={"type": "date"})


FORM_FIELDS = {column: name for column, name in roster_rows.VOLUNTEER_FIELDS.items()
               if name != "volunteer_no"}


def _add_page(form: AddVolunteerForm, errors: list[str] = (), status: int = 200):
    return render_template("directory/new.html", form=form, loose_errors=errors,
                           fields=FORM_FIELDS.values(),
                           next_no=next_volunteer_no(db.session, current_user.unit_id)), status


@bp.route("/new", methods=["GET", "POST"])
@roles(Role.admin)
def new():
    """Add one volunteer; afterwards their status page, where a sign-in link is made."""
    if request.method == "GET":
        return _add_page(AddVolunteerForm(formdata=None,
                                          data={"joined_on": taipei_date(utcnow()).isoformat()}))
    form = AddVolunteerForm()
    if not form.validate():  # only the CSRF token
        return _add_page(form, [_("The form has expired. Reload the page and try again.")], 400)
    try:
        volunteer = roster_import.add_volunteer(
            db.session, current_user, {name: getattr(form, name).data or ""
                                       for name in FORM_FIELDS.values()}, now=utcnow())
    except roster_import.ImportRefused as refused:
        db.session.rollback()
        loose = []
        for problem in refused.problems:
            field = getattr(form, FORM_FIELDS.get(problem.column, ""), None)
            if field is None:
                loose.append(refusal_text(problem))
            else:
                field.errors = [*field.errors, refusal_text(problem)]
        return _add_page(form, loose, 400)
    db.session.commit()
    flash(_("%(name)s is added as volunteer %(number)s. Make a sign-in link for them below.",
            name=volunteer.name_zh, number=volunteer.volunteer_no), "success")
    return redirect(url_for("volunteer_status.status", volunteer_id=volunteer.id))
