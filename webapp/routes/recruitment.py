"""Recruitment for admins: openings (publish, share, announcement text) and the application
pipeline (applied → interview scheduled → accepted / declined / waitlisted), htmx row actions
answering with the changed row; refusals come back as the row with the message (400/409).

Accepting creates the volunteer, the account and a one-time set-password link, shown once as
a printable QR and URL (the unit may have no mail server). When SMTP is configured
(webapp/mail.py) the link is also emailed to the applicant.
"""
from __future__ import annotations

from flask import (Blueprint, Response, abort, flash, g, redirect, render_template,
                   request, url_for)
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError
from wtforms import IntegerField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from models import account_links
from models import openings as op
from models import recruitment as r
from models.unit_profile import public_contact
from models.base import taipei_date, utcnow
from models.people import Role, User
from models.openings import Opening
from models.recruitment import Application

from ..welcome import welcome_sheet
from .home import qr_svg
from ..forms import DateField, date_range_refusal, db_id, db_ids, local_moment, read_as_typed
from ..access import roles
from ..extensions import db
from ..i18n import forced_locale, refusal_text

bp = Blueprint("recruitment", __name__, url_prefix="/admin/recruitment")
admin_only = roles(Role.admin)

TOO_LONG = _l("Use at most %(max)d characters.")
OPENING_STATUS = {"draft": _l("Draft"), "published": _l("Published"), "closed": _l("Closed")}
APPLICATION_STATUS = {"applied": _l("Applied"), "interview_scheduled": _l("Interview scheduled"),
                      "accepted": _l("Accepted"), "declined": _l("Declined"),
                      "waitlisted": _l("Waitlisted")}


class IdsField(SelectMultipleField):
    def pre_validate(self, form):
        pass  # which ids are allowed is the domain's call

    def process_formdata(self, valuelist):
        try:
            self.data = db_ids(valuelist)
        except ValueError as exc:
            self.data = []
            raise ValueError(_l("Choose from the list.")) from exc


class OpeningForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(_l("Enter a title.")),
                                                 Length(max=200, message=TOO_LONG)])
    service_items = IdsField(_l("Service items"), coerce=int)
    sites = IdsField(_l("Sites"), coerce=int)
    description = TextAreaField(_l("What the work is"), validators=[
        Optional(), Length(max=5000, message=TOO_LONG)])
    schedule = StringField(_l("Schedule"), validators=[Optional(), Length(max=500, message=TOO_LONG)])
    wanted = IntegerField(_l("How many are wanted"),
                          invalid_value_message=_l("Enter a number from 1 to 10000."), validators=[
        Optional(), read_as_typed,
        NumberRange(min=1, max=10000, message=_l("Enter a number from 1 to 10000."))])
    requirements = TextAreaField(_l("Requirements"), validators=[
        Optional(), Length(max=5000, message=TOO_LONG)])
    closes_on = DateField(_l("Closing date"), invalid_value_message=_l("Enter a date like 2026-01-31."),
                          validators=[Optional()])
    status = SelectField(_l("Status"), choices=[SelectChoice(v, label) for v, label in OPENING_STATUS.items()],
                         invalid_choice_message=_l("Choose one of the options."))


def _wanted_message_fix(form: OpeningForm) -> None:
    """IntegerField reports bad input with WTForms' own (Simplified Chinese) message: replace it."""
    if form.wanted.errors and form.wanted.raw_data and form.wanted.data is None:
        form.wanted.errors = [str(_l("Enter a number from 1 to 10000."))]


# --- helpers ---------------------------------------------------------------------------------

def _me() -> User:
    return db.session.get(User, current_user.id)


def _version() -> int | None:
    raw = request.form.get("version", "")
    return db_id(raw)


def _opening_or_404(opening_id: int) -> Opening:
    opening = db.session.get(Opening, opening_id)
    if opening is None or opening.unit_id != current_user.unit_id:
        abort(404)
    return opening


def _application_or_404(application_id: int) -> Application:
    application = db.session.get(Application, application_id)
    if application is None or application.unit_id != current_user.unit_id:
        abort(404)
    return application


def _interviewers() -> list[User]:
    return list(db.session.scalars(select(User).where(
        User.unit_id == current_user.unit_id, User.role.in_([Role.admin, Role.supervisor]),
        User.active.is_(True)).order_by(User.display_name, User.id)))


def _row(a: Application, mode: str = "view", error: str | None = None, status: int = 200,
         welcome: dict | None = None, values=None):
    """The row; `values`: a refused form's submitted fields, shown again as typed. Asked from
    the application's own page (`on=page`, its forms are the row's), that page's card."""
    on_page = request.values.get("on") == "page"
    if on_page:
        g.no_store = True  # as the page itself: the applicant's personal data
    return render_template(
        "recruitment/_application.html" if on_page else "recruitment/_application_row.html",
        a=a, mode=mode, error=error, welcome=welcome, dupes=r.duplicates_of(db.session, a),
        values=values, interviewers=_interviewers() if mode == "interview" else [],
        statuses=APPLICATION_STATUS, set_up_at=_set_up_at(a) if on_page else None), status


def _act(application_id: int, action, error_mode: str = "view"):
    """Run a pipeline action; answer with the changed row, or the row with the refusal."""
    _application_or_404(application_id)
    try:
        result = action()
    except r.StaleApplication as exc:
        db.session.rollback()
        return _row(db.session.get(Application, application_id, populate_existing=True),
                    error=refusal_text(exc), status=409)
    except StaleDataError:  # changed by a concurrent request between our read and our write
        db.session.rollback()
        stale = r.StaleApplication(r.last_changed_by(db.session, application_id))
        return _row(db.session.get(Application, application_id, populate_existing=True),
                    error=refusal_text(stale), status=409)
    except r.RecruitmentError as exc:
        db.session.rollback()
        params = dict(exc.params)
        for key in ("state", "to"):
            if key in params:
                params[key] = str(APPLICATION_STATUS.get(params[key], params[key]))
        return _row(db.session.get(Application, application_id, populate_existing=True),
                    mode=error_mode, error=_(exc.message, **params), status=400,
                    values=request.form)
    db.session.commit()
    welcome = None
    if isinstance(result, r.Decision) and result.token:
        welcome = welcome_sheet(result.token, result.user)
    application = db.session.get(Application, application_id)
    return _row(application, welcome=welcome)


# --- pipeline ----------------------------------------------------------------------------------

@bp.route("/")
@admin_only
def index():
    status = request.args.get("status", "")
    if status not in APPLICATION_STATUS:
        status = ""
    g.no_store = True
    apps = r.pipeline(db.session, current_user.unit_id, status or None)
    openings = op.unit_openings(db.session, current_user.unit_id)
    today = taipei_date(utcnow())
    return render_template("recruitment/index.html", applications=apps, status=status,
                           statuses=APPLICATION_STATUS, openings=openings,
                           all_openings=url_for("openings.index", _external=True),
                           opening_status=OPENING_STATUS,
                           shown={o.id: op.shown_status(o, today).value for o in openings},
                           dupes={a.id: r.duplicates_of(db.session, a) for a in apps})


@bp.route("/openings-qr.svg")
@admin_only
def all_openings_qr():
    """The QR of the public list of every opening taking applications (/openings), to share."""
    return qr_svg(url_for("openings.index", _external=True))


@bp.route("/applications/<int:application_id>/row")
@admin_only
def row(application_id: int):
    mode = request.args.get("mode", "view")
    if mode not in ("view", "interview", "decide", "note"):
        mode = "view"
    return _row(_application_or_404(application_id), mode=mode)


@bp.route("/applications/<int:application_id>")
@admin_only
def application(application_id: int):
    g.no_store = True
    a = _application_or_404(application_id)  # the ID number masked (rules.md: privacy)
    return render_template("recruitment/application.html", a=a, statuses=APPLICATION_STATUS,
                           dupes=r.duplicates_of(db.session, a), set_up_at=_set_up_at(a),
                           interviewers=[])


@bp.route("/applications/<int:application_id>/interview", methods=["POST"])
@admin_only
def interview(application_id: int):
    raw_interviewer = request.form.get("interviewer_id", "")
    raw_when = request.form.get("interview_at", "")
    when = local_moment(raw_when)
    if when is None and raw_when.strip():  # typed but refused (left empty: the domain asks for it)
        return _row(_application_or_404(application_id), mode="interview", status=400,
                    values=request.form, error=date_range_refusal(raw_when, _("When")) or _("Enter the time, like 2026-01-31 17:00."))
    return _act(application_id, lambda: r.schedule_interview(
        db.session, application_id, _me(), utcnow(), when=when,
        place=request.form.get("interview_place", "")[:200],
        interviewer_id=db_id(raw_interviewer),
        note=request.form.get("note", "")[:2000], expected_version=_version()),
        error_mode="interview")


@bp.route("/applications/<int:application_id>/decide", methods=["POST"])
@admin_only
def decide(application_id: int):
    outcome = request.form.get("outcome", "")
    if outcome not in ("accepted", "declined", "waitlisted"):
        _application_or_404(application_id)
        return _row(_application_or_404(application_id), mode="decide", values=request.form,
                    error=_("Choose accept, decline or waitlist."), status=400)
    return _act(application_id, lambda: r.decide(
        db.session, application_id, _me(), utcnow(), outcome=outcome,
        note=request.form.get("note", "")[:2000], expected_version=_version()),
        error_mode="decide")


@bp.route("/applications/<int:application_id>/note", methods=["POST"])
@admin_only
def note(application_id: int):
    return _act(application_id, lambda: r.add_note(
        db.session, application_id, _me(), utcnow(), request.form.get("note", "")[:2000],
        expected_version=_version()), error_mode="note")


def _set_up_at(a: Application):
    """When the accepted applicant set up their account (None: not yet, or no account)."""
    if a.volunteer is None or a.volunteer.user is None:
        return None
    return account_links.account_set_up_at(db.session, a.volunteer.user)


@bp.route("/applications/<int:application_id>/welcome-link", methods=["GET", "POST"])
@admin_only
def new_link(application_id: int):
    """A fresh printable welcome sheet (the old link stops working). For an account already set
    up, GET asks first (the POST must say `confirmed`)."""
    a = _application_or_404(application_id)
    if request.method == "GET":
        set_up_at = _set_up_at(a)
        if set_up_at is None:
            return redirect(url_for(".application", application_id=a.id))
        return render_template("recruitment/confirm_new_link.html", a=a, set_up_at=set_up_at)
    try:
        token = r.new_link_for_application(db.session, a.id, _me(), utcnow(),
                                           confirmed=request.form.get("confirmed") == "1")
    except r.AccountAlreadySetUp:
        db.session.rollback()
        return redirect(url_for(".new_link", application_id=a.id))
    except r.RecruitmentError as exc:
        db.session.rollback()
        flash(refusal_text(exc), "error")
        return redirect(url_for(".application", application_id=a.id))
    db.session.commit()
    g.no_store = True
    return render_template("recruitment/welcome_sheet.html", a=a,
                           welcome=welcome_sheet(token, a.volunteer.user))


# --- openings ----------------------------------------------------------------------------------

def _local(thing) -> str:
    """A site's or item's name in the reader's language (Chinese when it has no English one)."""
    from flask_babel import get_locale

    if str(get_locale()) == "en" and getattr(thing, "name_en", ""):
        return thing.name_en
    return thing.name_zh


def _opening_choices(form: OpeningForm, opening: Opening | None) -> None:
    """Active items and sites in the reader's language; a retired one the opening already names
    stays, marked as such."""
    items, sites = op.opening_choices(db.session, current_user.unit_id, opening)

    def label(thing, name: str) -> str:
        return name if thing.active else _("%(name)s (retired)", name=name)

    form.service_items.choices = [SelectChoice(i.id, label(i, f"{i.code} {_local(i)}"))
                                  for i in items]
    form.sites.choices = [SelectChoice(s.id, label(s, _local(s))) for s in sites]


def _edit_opening(opening: Opening | None):
    form = OpeningForm(obj=opening) if request.method == "GET" and opening else OpeningForm()
    _opening_choices(form, opening)
    if request.method == "GET":
        if opening is not None:
            form.status.data = opening.status.value
            form.service_items.data = [i.id for i in opening.service_items]
            form.sites.data = [s.id for s in opening.sites]
        else:
            form.service_items.data, form.sites.data = [], []
    elif form.validate_on_submit():
        try:
            saved = op.save_opening(
                db.session, _me(), utcnow(), opening, title=form.title.data,
                description=form.description.data, schedule=form.schedule.data,
                requirements=form.requirements.data, wanted=form.wanted.data,
                closes_on=form.closes_on.data, status=form.status.data,
                service_item_ids=form.service_items.data, site_ids=form.sites.data)
        except op.ClosingDatePassed as exc:
            db.session.rollback()
            form.closes_on.errors = [*form.closes_on.errors, refusal_text(exc)]
        except op.OpeningError as exc:
            db.session.rollback()
            form.title.errors = [*form.title.errors, refusal_text(exc)]
        else:
            db.session.commit()
            flash(_("Opening saved."), "success")
            return redirect(url_for(".opening", opening_id=saved.id))
    else:
        _wanted_message_fix(form)
    status = 400 if request.method == "POST" else 200
    return render_template("recruitment/opening_form.html", form=form, opening=opening), status


@bp.route("/openings/new", methods=["GET", "POST"])
@admin_only
def new_opening():
    return _edit_opening(None)


@bp.route("/openings/<int:opening_id>/edit", methods=["GET", "POST"])
@admin_only
def edit_opening(opening_id: int):
    return _edit_opening(_opening_or_404(opening_id))


ANNOUNCEMENT_LOCALE = "zh_Hant_TW"  # the Taipei city platform takes Chinese text


def _announcement(opening: Opening) -> str:
    """The text for the city platform: in Chinese, headings, names and colons alike, whatever
    the admin's UI language (the page around it stays in the UI language)."""
    with forced_locale(ANNOUNCEMENT_LOCALE):
        labels = {"unit": _("Unit"), "items": _("Service items"), "sites": _("Sites"),
                  "work": _("What the work is"), "schedule": _("Schedule"),
                  "wanted": _("How many are wanted"), "requirements": _("Requirements"),
                  "closes": _("Closing date"), "apply": _("Apply online"),
                  "contact": _("Contact"), "name": _("Contact person"), "phone": _("Phone"),
                  "email": _("Email"), "address": _("Address")}
        link = url_for("openings.show", public_id=opening.public_id, _external=True)
        return op.announcement_text(  # Chinese names, full-width colons
            opening, link, labels, people=lambda n: ngettext("%(num)d person", "%(num)d people", n),
            contact=public_contact(db.session, opening.unit))


@bp.route("/openings/<int:opening_id>")
@admin_only
def opening(opening_id: int):
    o = _opening_or_404(opening_id)
    return render_template("recruitment/opening.html", opening=o, opening_status=OPENING_STATUS,
                           applications=r.pipeline(db.session, current_user.unit_id, opening_id=o.id),
                           statuses=APPLICATION_STATUS,
                           shown=op.shown_status(o, taipei_date(utcnow())).value,
                           text=_announcement(o),
                           link=url_for("openings.show", public_id=o.public_id, _external=True))


@bp.route("/openings/<int:opening_id>/announcement.txt")
@admin_only
def announcement(opening_id: int):
    return Response(_announcement(_opening_or_404(opening_id)), mimetype="text/plain")


@bp.app_template_filter("application_status")
def application_status_label(status) -> str:
    value = getattr(status, "value", status)
    return str(APPLICATION_STATUS.get(value, value))

