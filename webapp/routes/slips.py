"""Hour slips (時數條) for staff — issue for one volunteer or everyone over a month or a date
range, print them (A4, three to a page), find the issued ones (paged, by volunteer, by number
or name), void and reissue with a reason — and the admin's export of verified hours for upload
to the MOHW / city system.

A slip's period never ends after today (Taipei): this month is slipped up to today, and a date
range ending later is refused (models/slip_periods.py says why)."""
from __future__ import annotations

import datetime as dt

from babel.dates import format_skeleton
from flask import (Blueprint, Response, abort, flash, redirect, render_template, request,
                   session, url_for)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import RadioField, SelectField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import ValidationError

from models import export as mohw
from models import slip_lists, slip_periods, slips
from models.base import taipei_date, utcnow
from models.people import Role
from models.export import MIMETYPES
from models.slips import HourSlip, SlipConflict, SlipError
from models.unit_profile import logo_bytes as unit_logo

from ..access import roles
from ..downloads import download
from ..extensions import db
from ..forms import DateField
from ..htmx import announce
from ..printing.slips import slip_doc, slips_pdf
from .files import upload_root
from ..i18n import refusal_text

bp = Blueprint("slips", __name__, url_prefix="/slips")
export_bp = Blueprint("export", __name__, url_prefix="/admin/export")
staff = roles(Role.admin, Role.supervisor)

BAD_DATE = _l("Enter a date like 2026-01-31.")
MAX_BATCH = 500


# --- forms -------------------------------------------------------------------------------

class ChoiceField(RadioField):
    """A radio choice refused in our own words (WTForms' own zh text is Simplified)."""

    def pre_validate(self, form):
        if self.data not in {c.value for c in self.choices}:
            raise ValidationError(_l("Choose one of the options."))


MONTHS_BACK = 36


def _previous_month(day: dt.date) -> dt.date:
    return (day.replace(day=1) - dt.timedelta(days=1)).replace(day=1)


EARLIEST_MONTH = dt.date(2001, 1, 1)  # the Volunteer Service Act's year


class MonthChoiceField(SelectField):
    """A calendar month as "YYYY-MM": the list offers this month and the 36 before it; an
    older month typed into the address is taken too."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        this_month = taipei_date(utcnow()).replace(day=1)
        months = [this_month]
        for _n in range(MONTHS_BACK):
            months.append(_previous_month(months[-1]))
        locale = get_locale() or "zh_Hant_TW"
        self.choices = [SelectChoice(m.strftime("%Y-%m"), format_skeleton("yMMMM", m, locale=locale))
                        for m in months]

    def process_data(self, value):
        self.data = value.strftime("%Y-%m") if isinstance(value, dt.date) else value

    def pre_validate(self, form):
        first = self.first_day()
        if first is None or self.data != first.strftime("%Y-%m") or not (
                EARLIEST_MONTH <= first <= taipei_date(utcnow()) + dt.timedelta(days=366)):
            raise ValidationError(_l("Choose a month from the list."))
        if self.data not in {c.value for c in self.choices}:  # older than the list: show it
            self.choices.append(SelectChoice(self.data, format_skeleton(
                "yMMMM", first, locale=get_locale() or "zh_Hant_TW")))

    def first_day(self) -> dt.date | None:
        try:
            return dt.date.fromisoformat(f"{self.data}-01")
        except (TypeError, ValueError):
            return None


class PeriodForm(FlaskForm):
    """A calendar month, or a first and a last day (Taipei dates, inclusive)."""

    class Meta:
        csrf = False  # the GET preview changes nothing; subclasses that POST turn it on

    period = ChoiceField(_l("Period"), choices=[SelectChoice("month", _l("A month")),
                                                SelectChoice("range", _l("From a day to a day"))],
                         default="month")
    month = MonthChoiceField(_l("Month"))
    date_from = DateField(_l("First day"), invalid_value_message=BAD_DATE)
    date_to = DateField(_l("Last day"), invalid_value_message=BAD_DATE)

    def validate(self, extra_validators=None) -> bool:
        super().validate(extra_validators)
        # only the chosen kind of period counts: the other one's fields are ignored
        unused = (self.date_from, self.date_to) if self.period.data == "month" else (self.month,)
        for field in unused:
            field.errors = []
        if self.period.data == "range":
            for field in (self.date_from, self.date_to):
                if not field.errors and field.data is None:
                    field.errors = [_l("Enter the day.")]
        ok = not any(field.errors for field in self)
        if ok and self.period.data == "range":
            try:
                slip_periods.check_period(self.date_from.data, self.date_to.data)
            except SlipError as error:
                self.date_to.errors = [*self.date_to.errors, refusal_text(error)]
                ok = False
        return ok

    def dates(self) -> tuple[dt.date, dt.date]:
        if self.period.data == "month":
            first = self.month.first_day()
            return slip_periods.month_period(first.year, first.month)
        return self.date_from.data, self.date_to.data

    def query_args(self) -> dict:
        return {"period": self.period.data,
                "month": self.month.data or "",
                "date_from": self.date_from.data.isoformat() if self.date_from.data else "",
                "date_to": self.date_to.data.isoformat() if self.date_to.data else ""}


class VolunteerField(SelectField):
    """Everyone ("") or one volunteer of the list (the list is the domain's call)."""

    def pre_validate(self, form):
        if self.data and self.data not in {c.value for c in self.choices}:
            raise ValidationError(_l("Choose a volunteer from the list."))


class PreviewForm(PeriodForm):
    """The period of slips issued today: a month up to today at most (this month: so far), a
    date range ending today at most; and for whom."""

    volunteer = VolunteerField(_l("Volunteer"), default="")

    def volunteer_id(self) -> int | None:
        return int(self.volunteer.data) if self.volunteer.data else None

    def validate(self, extra_validators=None) -> bool:
        if not super().validate(extra_validators):
            return False
        today = taipei_date(utcnow())
        month = self.period.data == "month"
        try:
            if month:
                slip_periods.period_so_far(*super().dates(), today)
            else:
                slip_periods.check_period(self.date_from.data, self.date_to.data, today)
        except SlipError as error:
            field = self.month if month else self.date_to
            field.errors = [*field.errors, refusal_text(error)]
            return False
        return True

    def dates(self) -> tuple[dt.date, dt.date]:
        first, last = super().dates()
        if self.period.data == "month":
            return slip_periods.period_so_far(first, last, taipei_date(utcnow()))
        return first, last

    def month_so_far(self) -> bool:
        """This month, not over yet: the slips cover it up to today."""
        return self.period.data == "month" and self.dates()[1] < super().dates()[1]


class IssueForm(PreviewForm):
    class Meta:
        csrf = True


class ReasonForm(FlaskForm):
    reason = TextAreaField(_l("Reason"), render_kw={"maxlength": slips.REASON_MAX})

    def validate_reason(self, field):
        text = (field.data or "").strip()
        if not text:
            raise ValidationError(_l("A reason is required."))
        if len(text) > slips.REASON_MAX:
            raise ValidationError(_l("Use at most %(max)d characters.", max=slips.REASON_MAX))


class ExportForm(PeriodForm):
    class Meta:
        csrf = True

    format = ChoiceField(_l("File"), choices=[SelectChoice("xlsx", "Excel (XLSX)"),
                                              SelectChoice("csv", "CSV")], default="xlsx")


# --- helpers -----------------------------------------------------------------------------

def _fill_defaults(form: PeriodForm) -> None:
    """No period asked for yet: last month (slips usually follow the month's end)."""
    last_month = _previous_month(taipei_date(utcnow()))
    form.period.data = "month"
    form.month.data = last_month.strftime("%Y-%m")
    form.date_from.data, form.date_to.data = slip_periods.month_period(last_month.year, last_month.month)


def _volunteer_choices(form: PreviewForm) -> None:
    form.volunteer.choices = [SelectChoice("", _("Everyone"))] + [
        SelectChoice(str(v.id), f"{v.volunteer_no} {v.name_zh}")
        for v in slip_lists.slip_volunteers(db.session, current_user)]


def _issued_list(raw_volunteer: str | None, search: str = "", raw_page: str = "") -> tuple[dict, bool]:
    """The list of issued slips this request asks for — ?volunteer= (the directory's link, and
    the issue form's choice), ?q= (a slip number or a volunteer's name or number), ?page= — and
    whether those arguments were good (a bad one is left out)."""
    ok = True
    volunteer = None
    if raw_volunteer:
        try:
            volunteer = slip_lists.slip_list_volunteer(db.session, current_user, int(raw_volunteer))
        except ValueError:
            pass
        ok = volunteer is not None
    try:
        page = int(raw_page or "1")
    except ValueError:
        page, ok = 1, False
    if len(search) > slip_lists.SEARCH_MAX:
        ok = False
    search = search.strip()[:slip_lists.SEARCH_MAX]
    issued = slip_lists.staff_slip_page(db.session, current_user, search=search, page=page,
                                   volunteer_id=volunteer.id if volunteer else None)
    return {"issued": issued, "list_volunteer": volunteer, "search": search}, ok


def _slip_or_404(slip_id: int) -> HourSlip:
    slip = slips.slip_with_details(db.session, slip_id)
    if slip is None or slip.unit_id != current_user.unit_id:
        abort(404)
    if not slips.may_handle_slip(db.session, current_user, slip):
        abort(403)
    return slip


class BadSlipList(Exception):
    pass


def _ids_arg() -> list[int]:
    """?ids=3,4,5 — the slips of one batch, in issuing order."""
    raw = request.args.get("ids", "")
    try:
        ids = [int(part) for part in raw.split(",") if part.strip()]
    except ValueError as exc:
        raise BadSlipList from exc
    if not ids or len(ids) > MAX_BATCH:
        raise BadSlipList
    return list(dict.fromkeys(ids))


@bp.errorhandler(BadSlipList)
def bad_slip_list(_error):
    return render_template("errors/error.html", status=400, title=_("Hour slips"),
                           message=_("This list of slips is not valid. Open the slips from the "
                                     "list of issued slips.")), 400


def _range_arg() -> tuple[int, int, int] | None:
    """?year=2026&first=12&last=4614 — one issuing batch by its serial numbers (consecutive:
    they are taken together), so a batch of thousands still has a short address."""
    if "first" not in request.args:
        return None
    try:
        year, first, last = (int(request.args[k]) for k in ("year", "first", "last"))
    except (KeyError, ValueError) as exc:
        raise BadSlipList from exc
    if not (1 <= first <= last and 2000 <= year <= 2200):
        raise BadSlipList
    return year, first, last


def _batch_slips() -> tuple[list[HourSlip], dict]:
    """The slips a batch page or PDF is about (at most MAX_BATCH), and the arguments naming them."""
    found_range = _range_arg()
    if found_range is None:
        ids = _ids_arg()
        return _slips_by_ids(ids), {"ids": ",".join(map(str, ids))}
    year, first, last = found_range
    if last - first + 1 > MAX_BATCH:
        raise BadSlipList
    found = slips.slips_in_range(db.session, current_user.unit_id, year, first, last, details=True)
    if len(found) != last - first + 1:
        abort(404)
    if not all(slips.may_handle_slip(db.session, current_user, s) for s in found):
        abort(403)
    return found, {"year": year, "first": first, "last": last}


def _slips_by_ids(ids: list[int]) -> list[HourSlip]:
    found = slips.slips_with_details(db.session, ids)
    if len(found) != len(ids) or any(s.unit_id != current_user.unit_id for s in found):
        abort(404)
    if not all(slips.may_handle_slip(db.session, current_user, s) for s in found):
        abort(403)
    return found


def pdf_response(found: list[HourSlip], filename: str, *, inline: bool = False) -> Response:
    replaced = {s.replaces_id for s in found if s.replaces_id}
    serials = {}
    if replaced:
        serials = {s.id: s.serial for s in slips.slips_with_details(db.session, list(replaced))}
    unit_name = current_user.unit.name
    docs = [slip_doc(s, unit_name, serials.get(s.replaces_id, "")) for s in found]
    logo = unit_logo(db.session, current_user.unit_id, upload_root())
    for doc in docs:
        doc.logo = logo
    overlaps = slip_periods.overlapping_slips(db.session, found)
    for doc, slip in zip(docs, found):
        doc.overlaps = [(o.serial, o.period_start, o.period_end) for o in overlaps[slip.id]]
    return download(slips_pdf(docs, author=unit_name), filename, MIMETYPES["pdf"], inline=inline)


def _message(error: SlipError) -> str:
    return refusal_text(error)


# --- pages: issuing ----------------------------------------------------------------------

@bp.get("/")
@staff
def index():
    form = PreviewForm(request.args)
    _volunteer_choices(form)
    pending, status = None, 200
    if "period" in request.args:
        if form.validate():
            date_from, date_to = form.dates()
            pending = slips.pending_slips(db.session, current_user, date_from=date_from,
                                          date_to=date_to, volunteer_id=form.volunteer_id())
        else:
            status = 400
    else:
        _fill_defaults(form)
    listed, list_ok = _issued_list(request.args.get("volunteer"), request.args.get("q", ""),
                                   request.args.get("page", ""))
    if not list_ok:
        status = 400
    context = {"form": form, "pending": pending, **listed}
    if request.headers.get("HX-Request") and not request.headers.get("HX-History-Restore-Request"):
        # htmx swaps only 2xx answers: the partials show the form's errors themselves
        target = request.headers.get("HX-Target")
        if target == "issued-slips":  # a page link or the search of the issued list
            # the rows are not a live region (read again at each key typed): the count alone is said
            found = listed["issued"].total
            return (render_template("slips/_issued_rows.html", **listed), 200,
                    announce(ngettext("%(num)d slip found", "%(num)d slips found", found)))
        if target == "issued":  # the whole list, its filter changed
            return render_template("slips/_issued.html", **listed)
        # the issue form: its card, and the issued list narrowed to its volunteer with it
        return (render_template("slips/_issue.html", **context)
                + render_template("slips/_issued.html", oob=True, **listed))
    return render_template("slips/index.html", **context), status


@bp.post("/issue")
@staff
def issue():
    form = IssueForm()
    _volunteer_choices(form)
    listed, _ok = _issued_list(form.volunteer.data)
    if not form.validate():
        db.session.rollback()
        return render_template("slips/index.html", form=form, pending=None, **listed), 400
    date_from, date_to = form.dates()
    try:
        issued = slips.issue_slips(db.session, current_user, utcnow(), date_from=date_from,
                                   date_to=date_to, volunteer_id=form.volunteer_id())
    except SlipError as error:
        db.session.rollback()
        flash(_message(error), "error")
        status = 409 if isinstance(error, SlipConflict) else 400
        return render_template("slips/index.html", form=form, pending=None, **listed), status
    if not issued:
        db.session.rollback()
        flash(_("Nothing to issue: no verified sessions in this period are waiting for a slip."),
              "info")
        return redirect(url_for(".index", **form.query_args(),
                                volunteer=form.volunteer.data or ""), 303)
    db.session.commit()
    flash(_("%(count)d slips issued.", count=len(issued)) if len(issued) != 1
          else _("1 slip issued."), "success")
    return redirect(url_for(".batch", year=issued[0].year, first=issued[0].seq,
                            last=issued[-1].seq), 303)


@bp.get("/batch")
@staff
def batch():
    found_range = _range_arg()
    if found_range is not None and found_range[2] - found_range[1] + 1 > MAX_BATCH:
        # thousands of slips (issued for a whole unit): printed in parts of MAX_BATCH
        year, first, last = found_range
        if slips.count_in_range(db.session, current_user.unit_id, year, first, last) != last - first + 1:
            abort(404)
        parts = slips.batch_parts(current_user.unit_id, year, first, last, MAX_BATCH)
        return render_template("slips/batch.html", slips=None, parts=parts, total=last - first + 1,
                               max_batch=MAX_BATCH)
    found, batch_args = _batch_slips()
    return render_template("slips/batch.html", slips=found, batch_args=batch_args, parts=None)


@bp.get("/print.pdf")
@staff
def print_batch():
    found, _args = _batch_slips()
    stamp = taipei_date(utcnow()).strftime("%Y%m%d")
    return pdf_response(found, f"hour-slips-{stamp}-{len(found)}.pdf")


# --- pages: one slip ---------------------------------------------------------------------

REFUSED_CHANGE = "refused_slip_change"  # session key: a refused void or reissue, for the slip's page
KEPT_REASON_MAX = 2 * slips.REASON_MAX  # the reason kept across the redirect (a cookie is small)


def _detail(slip: HourSlip, reason_form: ReasonForm):
    replaced = db.session.get(HourSlip, slip.replaces_id) if slip.replaces_id else None
    return render_template("slips/detail.html", slip=slip, form=reason_form,
                           replacement=slips.replacement_of(db.session, slip), replaced=replaced,
                           overlaps=slip_periods.overlapping_slips(db.session, [slip])[slip.id])


@bp.get("/<int:slip_id>")
@staff
def detail(slip_id: int):
    slip = _slip_or_404(slip_id)
    form = ReasonForm(formdata=None)
    refused = session.pop(REFUSED_CHANGE, None)
    if refused and refused.get("slip") == slip.id:  # back from a refused void or reissue
        form.reason.data = refused.get("reason", "")
        form.reason.errors = list(refused.get("errors", []))
    return _detail(slip, form)


def _back_to_slip(slip_id: int, form: ReasonForm):
    """A refused void or reissue goes back to the slip's own address (a reload there must not
    post again), with the reason as typed and the refusal kept for its page to show."""
    session[REFUSED_CHANGE] = {"slip": slip_id, "reason": (form.reason.data or "")[:KEPT_REASON_MAX],
                               "errors": [str(error) for error in form.reason.errors]}
    return redirect(url_for(".detail", slip_id=slip_id, _anchor="change"), 303)


@bp.get("/<int:slip_id>.pdf")
@staff
def pdf(slip_id: int):
    slip = _slip_or_404(slip_id)
    return pdf_response([slip], f"hour-slip-{slip.serial}.pdf")


def _change(slip_id: int, action):
    slip = _slip_or_404(slip_id)
    form = ReasonForm()
    if not form.validate():
        db.session.rollback()
        return _back_to_slip(slip.id, form)
    try:
        result = action(db.session, slip.id, current_user, utcnow(), reason=form.reason.data)
    except SlipError as error:
        db.session.rollback()
        form.reason.errors = [*form.reason.errors, _message(error)]
        return _back_to_slip(slip.id, form)
    except PermissionError:
        db.session.rollback()
        abort(403)
    except LookupError:
        db.session.rollback()
        abort(404)
    db.session.commit()
    return result


@bp.post("/<int:slip_id>/void")
@staff
def void(slip_id: int):
    result = _change(slip_id, slips.void_slip)
    if not isinstance(result, HourSlip):
        return result
    flash(_("Slip %(serial)s is void. Its sessions can go on a new slip.", serial=result.serial),
          "success")
    return redirect(url_for(".detail", slip_id=result.id), 303)


@bp.post("/<int:slip_id>/reissue")
@staff
def reissue(slip_id: int):
    result = _change(slip_id, slips.reissue_slip)
    if not isinstance(result, HourSlip):
        return result
    flash(_("Slip %(serial)s issued to replace the void one.", serial=result.serial), "success")
    return redirect(url_for(".detail", slip_id=result.id), 303)


# --- the export for the MOHW / city system (admins) ----------------------------------------

@export_bp.get("/mohw")
@roles(Role.admin)
def mohw_page():
    form = ExportForm(formdata=None)
    _fill_defaults(form)
    return render_template("slips/export.html", form=form)


@export_bp.post("/mohw")
@roles(Role.admin)
def mohw_download():
    form = ExportForm()
    if not form.validate():
        db.session.rollback()
        return render_template("slips/export.html", form=form), 400
    date_from, date_to = form.dates()
    try:
        result = mohw.export_mohw(db.session, current_user, utcnow(), date_from=date_from,
                                  date_to=date_to, fmt=form.format.data)
    except mohw.NothingToExport as empty:
        db.session.rollback()
        return render_template("slips/export.html", form=form, empty=refusal_text(empty)), 400
    db.session.commit()
    return download(result.data, result.filename, result.mimetype)
