"""The yearly service plan with its filing (seed steps 2–3): admins only. Thin: parse,
authorise, call models.plan, render. The unit profile (step 1) is routes/unit_profile.py."""
from __future__ import annotations

from flask import (Blueprint, Response, abort, flash, redirect, render_template, request,
                   url_for)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import IntegerField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional

from models import plan as plans
from models import unit_profile
from models.base import taipei_date, utcnow
from models.export import MIMETYPES
from models.files import DEFAULT_MAX_BYTES, UploadRefused
from models.people import Role
from models.plan import PlanError, ServicePlan
from models.service import ServiceItem
from models.unit import Unit

from ..access import roles
from ..downloads import download
from ..extensions import db
from ..forms import DateField
from ..printing.plan import plan_doc, plan_pdf
from ..i18n import refusal_text
from .files import refusal_message, upload_root

bp = Blueprint("unit_plan", __name__, url_prefix="/admin")
admin_only = roles(Role.admin)
BAD_DATE = _l("Enter a date like 2026-01-31.")
TOO_LONG = _l("Use at most %(max)d characters.")


# --- forms -------------------------------------------------------------------------------

class NewPlanForm(FlaskForm):
    # which years: the domain's rule (plans.plan_years: last year to next year)
    year = IntegerField(_l("Year"), invalid_value_message=_l("Enter the year, like 2027."), validators=[
        InputRequired(_l("Enter the year, like 2027."))])


class SectionForm(FlaskForm):
    text = TextAreaField(_l("Text"), validators=[
        Length(max=plans.SECTION_MAX, message=TOO_LONG)])


class ItemsForm(FlaskForm):
    """CSRF only: the picked items are read from request.form (item, text-<id>)."""


class FilingForm(FlaskForm):
    day = DateField(_l("Date"), invalid_value_message=BAD_DATE, validators=[Optional()])
    reference_no = StringField(_l("Filing reference number"), validators=[
        Length(max=plans.REFERENCE_MAX, message=TOO_LONG)])
    reason = TextAreaField(_l("Why it was returned"), validators=[
        Length(max=plans.REASON_MAX, message=TOO_LONG)])


class RemoveForm(FlaskForm):
    """A remove button: the CSRF token only."""


class DocumentForm(FlaskForm):
    document = FileField(_l("Document (PDF, JPEG or PNG)"))
    label = StringField(_l("What it is"), validators=[
        Length(max=plans.LABEL_MAX, message=TOO_LONG)])


# --- helpers -----------------------------------------------------------------------------

def status_label(status) -> str:
    return _(plans.STATUS_LABELS[plans.PlanStatus(status)][0])


def section_label(key: str) -> str:
    return _(plans.SECTION_BY_KEY[key].label)


bp.add_app_template_filter(status_label, "plan_status")
bp.add_app_template_filter(section_label, "plan_section")


def _unit() -> Unit:
    return db.session.get(Unit, current_user.unit_id)


def _plan_or_404(year: int) -> ServicePlan:
    plan = plans.plan_for_year(db.session, current_user.unit_id, year)
    if plan is None:
        abort(404)
    return plan


def _section_or_404(key: str) -> plans.Section:
    section = plans.SECTION_BY_KEY.get(key)
    if section is None:
        abort(404)
    return section


def _unit_items(version) -> list[ServiceItem]:
    """The unit's active service items, plus any inactive one the version already picked."""
    picked = {i.service_item_id for i in version.items}
    items = db.session.query(ServiceItem).filter(ServiceItem.unit_id == current_user.unit_id)
    return [i for i in items.order_by(ServiceItem.code) if i.active or i.id in picked]


# --- plans -------------------------------------------------------------------------------

@bp.route("/plans", methods=["GET", "POST"])
@admin_only
def plan_list():
    year = request.args.get("year", type=int)  # from a reminder: the year it is about
    low, high = plans.plan_years(taipei_date(utcnow()))
    if year is None or not low <= year <= high:
        year = high
    form = NewPlanForm() if request.method == "POST" else NewPlanForm(
        formdata=None, data={"year": year})
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                plan = plans.create_plan(db.session, current_user.unit_id, form.year.data,
                                         current_user)
            except PlanError as error:
                db.session.rollback()
                form.year.errors = [*form.year.errors, refusal_text(error)]
            else:
                db.session.commit()
                flash(_("Plan for %(year)d started as a draft.", year=plan.year), "success")
                return redirect(url_for(".plan", year=plan.year))
        status = 400
    return render_template("unit_plan/plans.html", form=form,
                           plans=plans.plans_of(db.session, current_user.unit_id)), status


@bp.app_template_global("plan_reminders")
def plan_reminders():
    """For unit_plan/_reminders.html: what the signed-in admin's plan filing needs today;
    nothing for anyone else."""
    if not current_user.is_authenticated or current_user.role != Role.admin:
        return []
    return plans.filing_reminders(db.session, current_user.unit_id, taipei_date(utcnow()))


def _plan_page(plan: ServicePlan, version=None, filing_form=None, doc_form=None,
               filing_action: str = "", status=200, empties_refused: bool = False):
    version = version or plan.current
    today = taipei_date(utcnow())
    if filing_form is None:
        filing_form = FilingForm(formdata=None, data={"day": today})
    return render_template(
        "unit_plan/plan.html", plan=plan, version=version,
        editable=version.id == plan.current.id, sections=plans.SECTIONS,
        empty=plans.empty_sections(version), filing_form=filing_form,
        filing_action=filing_action, doc_form=doc_form or DocumentForm(formdata=None),
        remove_form=RemoveForm(formdata=None), empties_refused=empties_refused,
        deletable=plans.may_delete(plan)), status


@bp.get("/plans/<int:year>")
@admin_only
def plan(year: int):
    return _plan_page(_plan_or_404(year))


@bp.route("/plans/<int:year>/delete", methods=["GET", "POST"])
@admin_only
def delete_plan(year: int):
    """A plan started by mistake (never submitted): a page to confirm, then deleted."""
    plan = _plan_or_404(year)
    form = RemoveForm()
    if request.method == "POST" and form.validate_on_submit():
        try:
            plans.delete_plan(db.session, plan, current_user, root=upload_root())
        except PlanError as error:
            db.session.rollback()
            flash(refusal_text(error), "error")
            return redirect(url_for(".plan", year=year))
        db.session.commit()
        flash(_("Plan %(year)d deleted.", year=year), "success")
        return redirect(url_for(".plan_list"))
    if not plans.may_delete(plan):
        flash(_(plans.NOT_DELETABLE), "error")
        return redirect(url_for(".plan", year=year))
    return render_template("unit_plan/confirm_delete.html", plan=plan, form=form,
                           filled=len(plans.SECTIONS) - len(plans.empty_sections(plan.current)),
                           sections_total=len(plans.SECTIONS)), \
        400 if request.method == "POST" else 200


@bp.get("/plans/<int:year>/versions/<int:number>")
@admin_only
def version(year: int, number: int):
    plan = _plan_or_404(year)
    return _plan_page(plan, version=_version_or_404(plan, number))


def _section_form(plan, section, form=None, error: str = "", picks=None, status=200):
    version = plan.current
    if form is None:
        form = ItemsForm(formdata=None) if section.key == "service_items" else SectionForm(
            formdata=None, data={"text": version.text_of(section.key)})
    if picks is None:
        picks = {i.service_item_id: i.description for i in version.items}
    context = dict(plan=plan, version=version, section=section, form=form, error=error,
                   picks=picks, items=_unit_items(version))
    template = ("unit_plan/_section_form.html" if request.headers.get("HX-Request")
                else "unit_plan/section_edit.html")
    return render_template(template, **context), status


@bp.get("/plans/<int:year>/sections/<key>")
@admin_only
def edit_section(year: int, key: str):
    return _section_form(_plan_or_404(year), _section_or_404(key))


@bp.post("/plans/<int:year>/sections/<key>")
@admin_only
def save_section(year: int, key: str):
    plan = _plan_or_404(year)
    section = _section_or_404(key)
    if section.key == "service_items":
        form = ItemsForm()
        picks = {}
        for raw in request.form.getlist("item"):
            if raw.isdigit():
                picks[int(raw)] = request.form.get(f"text-{raw}", "")
        if not form.validate_on_submit():
            return _section_form(plan, section, form, picks=picks, status=400)
        call = lambda: plans.update_items(db.session, plan, picks, current_user)  # noqa: E731
    else:
        form = SectionForm()
        picks = None
        if not form.validate_on_submit():
            return _section_form(plan, section, form, status=400)
        call = lambda: plans.update_section(db.session, plan, key,  # noqa: E731
                                            form.text.data or "", current_user)
    try:
        version, created = call()
    except PlanError as error:
        db.session.rollback()
        return _section_form(_plan_or_404(year), section, form, error=refusal_text(error),
                             picks=picks, status=400)
    db.session.commit()
    target = url_for(".plan", year=plan.year)
    htmx = bool(request.headers.get("HX-Request"))
    if created or not htmx:
        if created:
            flash(_("Version %(number)d started: the earlier version keeps its filing record.",
                    number=version.number), "success")
        else:
            flash(_("Section saved."), "success")
        if htmx:
            return "", 204, {"HX-Redirect": target}
        return redirect(target + f"#section-{key}")
    plan = _plan_or_404(year)
    return render_template("unit_plan/_section_saved.html", plan=plan, version=plan.current,
                           section=section, editable=True, empty=plans.empty_sections(plan.current))


@bp.post("/plans/<int:year>/filing/<action>")
@admin_only
def filing(year: int, action: str):
    plan = _plan_or_404(year)
    if action not in ("submit", "approve", "return"):
        abort(404)
    form = FilingForm()
    if form.validate_on_submit():
        today = taipei_date(utcnow())
        try:
            if action == "submit":
                plans.submit(db.session, plan, current_user, submitted_on=form.day.data,
                             reference_no=form.reference_no.data, today=today)
            elif action == "approve":
                plans.approve(db.session, plan, current_user, decided_on=form.day.data,
                              reference_no=form.reference_no.data, today=today)
            else:
                plans.return_plan(db.session, plan, current_user, decided_on=form.day.data,
                                  reason=form.reason.data, today=today)
        except PlanError as error:
            db.session.rollback()
            plan = _plan_or_404(year)
            field = {"submitted_on": "day", "decided_on": "day"}.get(error.field, error.field)
            if field in ("day", "reference_no", "reason"):
                getattr(form, field).errors = [refusal_text(error)]
            elif action == "submit" and plans.empty_sections(plan.current):
                # The page's "Still empty: …" note says it, as an error now: not a second time.
                return _plan_page(plan, filing_form=form, filing_action=action, status=400,
                                  empties_refused=True)
            else:
                flash(refusal_text(error), "error")
        else:
            db.session.commit()
            flash(_("Filing status: %(status)s.", status=status_label(plan.current.status)),
                  "success")
            return redirect(url_for(".plan", year=plan.year))
    return _plan_page(plan, filing_form=form, filing_action=action, status=400)


@bp.post("/plans/<int:year>/documents")
@admin_only
def add_document(year: int):
    plan = _plan_or_404(year)
    form = DocumentForm()
    if form.validate_on_submit():
        storage = form.document.data
        try:
            if not storage:
                raise UploadRefused("empty")
            data = storage.stream.read(DEFAULT_MAX_BYTES + 1)
            storage.close()
            plans.add_document(db.session, plan, data, storage.filename or "",
                               form.label.data or "", current_user, root=upload_root())
        except UploadRefused as error:
            db.session.rollback()
            form.document.errors = [refusal_message(error)]
        except PlanError as error:
            db.session.rollback()
            field = form.document if error.field == "document" else form.label
            field.errors = [refusal_text(error)]
        else:
            db.session.commit()
            flash(_("Document added to version %(number)d.", number=plan.current.number),
                  "success")
            return redirect(url_for(".plan", year=plan.year) + "#documents")
    return _plan_page(_plan_or_404(year), doc_form=form, status=400)


@bp.post("/plans/<int:year>/documents/<int:document_id>/delete")
@admin_only
def remove_document(year: int, document_id: int):
    plan = _plan_or_404(year)
    if not RemoveForm().validate_on_submit():
        abort(400)
    try:
        plans.remove_document(db.session, plan, document_id, current_user, root=upload_root())
    except LookupError:
        abort(404)
    db.session.commit()
    flash(_("Document removed."), "success")
    return redirect(url_for(".plan", year=plan.year) + "#documents")


def _document(plan: ServicePlan, version, kind: str) -> Response:
    """The plan version as a PDF (kind "pdf") or a Word file ("docx"), ready to file."""
    unit = _unit()
    profile = unit_profile.profile_of(db.session, unit.id)
    names = [u.name for u, _sites in unit_profile.supervisors(db.session, unit.id)]
    logo = unit_profile.logo_bytes(db.session, unit.id, upload_root())
    doc = plan_doc(unit, profile, names, plan, version, logo, printed_on=taipei_date(utcnow()))
    if kind == "docx":
        from ..printing.plan_docx import plan_docx

        data = plan_docx(doc)
    else:
        data = plan_pdf(doc)
    return download(data, f"service-plan-{plan.year}-v{version.number}.{kind}", MIMETYPES[kind])


@bp.get("/plans/<int:year>.pdf")
@admin_only
def plan_pdf_current(year: int):
    plan = _plan_or_404(year)
    return _document(plan, plan.current, "pdf")


@bp.get("/plans/<int:year>.docx")
@admin_only
def plan_docx_current(year: int):
    plan = _plan_or_404(year)
    return _document(plan, plan.current, "docx")


def _version_or_404(plan: ServicePlan, number: int):
    found = next((v for v in plan.versions if v.number == number), None)
    if found is None:
        abort(404)
    return found


@bp.get("/plans/<int:year>/versions/<int:number>.pdf")
@admin_only
def plan_pdf_version(year: int, number: int):
    plan = _plan_or_404(year)
    return _document(plan, _version_or_404(plan, number), "pdf")


@bp.get("/plans/<int:year>/versions/<int:number>.docx")
@admin_only
def plan_docx_version(year: int, number: int):
    plan = _plan_or_404(year)
    return _document(plan, _version_or_404(plan, number), "docx")
