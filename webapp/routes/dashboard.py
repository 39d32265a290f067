"""The supervisor dashboard: who is on site now, the verification queue, paper sheets.

htmx: every action answers with the row (or fragment) it changed; the full page includes
the same partials. Errors come back as the row with the message (400/409), which htmx swaps
(see responseHandling in base.html).
"""
from __future__ import annotations

import datetime as dt

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from models import audit, refusal_log
from models import kiosk as kiosks
from models import verification as v
from models.base import TAIPEI, taipei_date, utcnow
from models.certificates import counted_on
from models.gates import day_gate_reasons
from models.people import Role, User, Volunteer, volunteer_by_number
from models.service import Flag, ServiceItem, ServiceSession, Site, service_items_for

from ..forms import date_range_refusal, db_id, local_moment, plain_date
from ..access import STAFF, roles
from ..extensions import db
from ..htmx import announce
from ..i18n import refusal_text

bp = Blueprint("dashboard", __name__, url_prefix="/dashboard")
staff = roles(*STAFF)

def _is_htmx() -> bool:
    return bool(request.headers.get("HX-Request"))


def _me() -> User:
    return db.session.get(User, current_user.id)


def _sites_for(user: User) -> list[Site]:
    allowed = v.supervised_site_ids(db.session, user)
    query = select(Site).where(Site.unit_id == user.unit_id).order_by(Site.name_zh)
    if allowed is not None:
        query = query.where(Site.id.in_(allowed or {-1}))
    return list(db.session.scalars(query))


def _date_arg(name: str) -> dt.date | None:
    return plain_date(request.values.get(name, ""))


def _filter_from_request() -> tuple[v.QueueFilter, list[str]]:
    errors = []
    f = v.QueueFilter()
    site = request.values.get("site", "")
    f.site_id = db_id(site)
    f.date_from, f.date_to = _date_arg("from"), _date_arg("to")
    for name, label in (("from", _("From")), ("to", _("To"))):
        raw = request.values.get(name, "")
        if raw and _date_arg(name) is None:
            errors.append(date_range_refusal(raw, label) or _("Enter dates like 2026-01-31."))
    if f.date_from and f.date_to and f.date_from > f.date_to:
        errors.append(_("The From date (%(first)s) is after the To date (%(last)s): swap them.",
                        first=f.date_from.isoformat(), last=f.date_to.isoformat()))
    number = request.values.get("volunteer", "").strip()
    if number:
        found = volunteer_by_number(db.session, current_user.unit_id, number)
        if found is None:
            errors.append(_("No volunteer has the number %(no)s.", no=number))
        f.volunteer_id = found.id if found else -1
    flag = request.values.get("flag", "")
    if flag in {fl.value for fl in Flag} | {v.FLAGGED, "unflagged"}:
        f.flag = flag
    status = request.values.get("status", "")
    if status in v.DONE_STATUSES:
        f.status = status
    return f, errors


def _times(fields: dict[str, str], example: str) -> tuple[dict, str | None, set[str]]:
    """The form's <input type=datetime-local> fields (name: label) as aware UTC moments; when
    any is refused, the message (a date out of range names its field, else `example` shows the
    format wanted) and the names refused, for the form to mark."""
    moments = {name: local_moment(request.form.get(name, "")) for name in fields}
    refused = {name for name, moment in moments.items() if moment is None}
    if not refused:
        return moments, None, refused
    message = next((m for m in (date_range_refusal(request.form.get(name, ""), label)
                                for name, label in fields.items() if name in refused) if m), example)
    return moments, message, refused


def _row(s: ServiceSession, mode: str = "view", error: str | None = None, status: int = 200,
         typed=None, invalid=()):
    """The queue's row of `s`; in a form mode with what the supervisor `typed` (the refused
    request's form) kept, and the `invalid` fields marked."""
    return render_template(
        "dashboard/_queue_row.html", s=s, mode=mode, error=error, now=utcnow(),
        typed=typed or {}, invalid=invalid,
        reasons=day_gate_reasons(db.session, [s]), far=refusal_log.far_refusals(db.session, [s]),
        # reopening: the issued certificate whose printed hours count it, said before the admin acts
        certificate=counted_on(db.session, s) if mode == "reopen" else None), status


def _session_or_404(session_id: int) -> ServiceSession:
    s = db.session.get(ServiceSession, session_id)
    if s is None or s.unit_id != current_user.unit_id:
        abort(404)
    if not v.may_act_on(db.session, _me(), s.site_id, s.unit_id):
        abort(403)
    return s


def _version() -> int | None:
    raw = request.form.get("version", "")
    return db_id(raw)


# What the dashboard's live region says once a row's action is done (the focus stays on the
# row's new first control, which says nothing of it): "已核准 王小明 12/06 09:00–12:00".
_DONE = {v.approve: _l("Approved %(name)s %(times)s"), v.reject: _l("Rejected %(name)s %(times)s"),
         v.adjust: _l("Times changed: %(name)s %(times)s"), v.reopen: _l("Reopened %(name)s %(times)s")}


def _act(session_id: int, action, error_mode: str = "view", **kwargs):
    """Run a verification action; answer with the changed row, or the row and the refusal."""
    s = _session_or_404(session_id)
    try:
        action(db.session, session_id, _me(), utcnow(), expected_version=_version(), **kwargs)
    except v.StaleRow as exc:
        db.session.rollback()
        return _row(db.session.get(ServiceSession, session_id, populate_existing=True),
                    error=refusal_text(exc), status=409)
    except v.VerificationError as exc:
        db.session.rollback()
        return _row(db.session.get(ServiceSession, session_id, populate_existing=True),
                    mode=error_mode, error=refusal_text(exc), status=400, typed=request.form,
                    invalid={"reason"} if isinstance(exc, v.ReasonRequired) else ())
    except PermissionError:
        abort(403)
    db.session.commit()
    body, status = _row(s)
    said = _DONE[action] % {"name": s.volunteer.name_zh,
                            "times": current_app.jinja_env.filters["session_times"](s)}
    return body, status, {"HX-Trigger": "session-changed", **announce(said)}  # the unflagged count follows


# --- pages and fragments ---------------------------------------------------------------------

def _page(me: User, f: v.QueueFilter, errors: list[str], rows, **extra):
    """The whole dashboard: on site now, the refusal log, the queue."""
    return render_template(
        "dashboard/index.html", sites=_sites_for(me), f=f, errors=errors,
        on_site=v.on_site_now(db.session, me), rows=rows,
        reasons=day_gate_reasons(db.session, rows),  # why each day_gates-flagged row fails
        far=refusal_log.far_refusals(db.session, rows),  # how far the refusal before a check-in was
        unflagged=v.unflagged_count(db.session, me, f), now=utcnow(), flags=list(Flag),
        args=request.args, **_refusals_context(me, _date_arg("refusals_day")), **extra)


@bp.route("/")
@staff
def index():
    me = _me()
    f, errors = _filter_from_request()
    return _page(me, f, errors, v.verification_queue(db.session, me, f))


def _refusals_context(me: User, day: dt.date | None = None) -> dict:
    """Who was turned away on a day (today by default) at the user's sites."""
    today = taipei_date(utcnow())
    day = min(day or today, today)
    return {"refusals": refusal_log.refused_attempts(db.session, me.unit_id, day,
                                                 v.supervised_site_ids(db.session, me)),
            "day": day, "today": today, "one_day": dt.timedelta(days=1), "checked_at": utcnow()}


@bp.route("/refusals")
@staff
def refusals():
    """The refusal log, a day at a time: htmx gets the card; a plain link, the dashboard."""
    day = _date_arg("day")
    if not _is_htmx():
        return redirect(url_for(".index", refusals_day=day.isoformat() if day else None))
    return render_template("dashboard/_refusals.html", **_refusals_context(_me(), day))


@bp.route("/volunteers/<int:volunteer_id>/pin-unlock", methods=["POST"])
@staff
def pin_unlock(volunteer_id: int):
    """Lift a lock-out after wrong PINs from the refusal log ("Turned away today"), as
    models.kiosk.may_unlock allows. The PIN stays; audited (models.kiosk.unlock_pin)."""
    me = _me()
    vol = db.session.get(Volunteer, volunteer_id)
    if vol is None or vol.unit_id != me.unit_id:
        abort(404)
    if not kiosks.may_unlock(db.session, me, vol, utcnow()):
        abort(403)  # not locked at one of my sites today
    try:
        kiosks.unlock_pin(db.session, vol, me, utcnow())
    except kiosks.NothingToUnlock as exc:
        db.session.rollback()
        message, category, status = refusal_text(exc), "error", 409
    else:
        db.session.commit()
        message, category, status = _("%(name)s (%(number)s) can use the keypad again, with the same PIN.",
                                      name=vol.name_zh, number=vol.volunteer_no), "success", 200
    if not _is_htmx():
        flash(message, category)
        return redirect(url_for(".index"))
    return render_template("dashboard/_refusals.html", note=message, note_category=category,
                           **_refusals_context(me)), status


@bp.route("/on-site")
@staff
def on_site():
    return render_template("dashboard/_on_site.html", on_site=v.on_site_now(db.session, _me()),
                           now=utcnow())


@bp.route("/queue")
@staff
def queue():
    me = _me()
    f, errors = _filter_from_request()
    offset = request.args.get("offset", "0")
    offset = db_id(offset) or 0
    rows = v.verification_queue(db.session, me, f, offset=offset)
    if not _is_htmx():
        return _page(me, f, errors, rows, offset=offset)
    return render_template("dashboard/_queue.html", f=f, errors=errors, rows=rows,
                           reasons=day_gate_reasons(db.session, rows),
                           far=refusal_log.far_refusals(db.session, rows), unflagged=v.unflagged_count(db.session, me, f), now=utcnow(),
                           flags=list(Flag), offset=offset, args=request.args)


@bp.route("/queue-tools")
@staff
def queue_tools():
    f, _errors = _filter_from_request()
    return render_template("dashboard/_queue_tools.html",
                           unflagged=v.unflagged_count(db.session, _me(), f))


@bp.route("/sessions/<int:session_id>/row")
@staff
def row(session_id: int):
    mode = request.args.get("mode", "view")
    if mode not in ("view", "adjust", "reject", "reopen"):
        mode = "view"
    return _row(_session_or_404(session_id), mode=mode)


@bp.route("/sessions/<int:session_id>/approve", methods=["POST"])
@staff
def approve(session_id: int):
    return _act(session_id, v.approve)


@bp.route("/sessions/<int:session_id>/reject", methods=["POST"])
@staff
def reject(session_id: int):
    return _act(session_id, v.reject, error_mode="reject", reason=request.form.get("reason", ""))


@bp.route("/sessions/<int:session_id>/adjust", methods=["POST"])
@staff
def adjust(session_id: int):
    times, error, invalid = _times(
        {"checked_in_at": _("Check-in time"), "checked_out_at": _("Check-out time")},
        _("Enter both times, like 2026-01-31 09:30."))
    if error:
        return _row(_session_or_404(session_id), mode="adjust", error=error, status=400,
                    typed=request.form, invalid=invalid)
    start, end = times["checked_in_at"], times["checked_out_at"]
    persons = request.form.get("persons_served", "").strip()
    if persons and not (persons.isdigit() and int(persons) <= v.PERSONS_SERVED_MAX):
        return _row(_session_or_404(session_id), mode="adjust", status=400, error=_(
            "Persons served is a whole number from 0 to %(max)s, or empty.",
            max=v.PERSONS_SERVED_MAX), typed=request.form, invalid={"persons_served"})
    extra = {} if "persons_served" not in request.form else {
        "persons_served": int(persons) if persons else None}
    return _act(session_id, v.adjust, error_mode="adjust", checked_in_at=start,
                checked_out_at=end, reason=request.form.get("reason", ""), **extra)


@bp.route("/sessions/<int:session_id>/check-out", methods=["GET", "POST"])
@staff
def check_out(session_id: int):
    """Check someone out by hand (from "on site now"), with a reason."""
    s = _session_or_404(session_id)
    if request.method == "GET":
        return render_template("dashboard/_checkout_panel.html", s=s, now=utcnow())
    times, error, invalid = _times({"at": _("Check-out time")},
                                   _("Enter the time, like 2026-01-31 17:00."))
    at = times["at"]
    if not error:
        try:
            v.check_out_by_hand(db.session, session_id, _me(), utcnow(), at=at,
                                reason=request.form.get("reason", ""), expected_version=_version())
        except v.VerificationError as exc:
            db.session.rollback()
            error = refusal_text(exc)
            invalid = {"reason"} if isinstance(exc, v.ReasonRequired) else invalid
        except PermissionError:
            abort(403)
    if error:
        s = db.session.get(ServiceSession, session_id, populate_existing=True)
        return render_template("dashboard/_checkout_panel.html", s=s, now=utcnow(), error=error,
                               typed=request.form, invalid=invalid), 400
    db.session.commit()
    # The form was in the person's row, which the list's refresh removes: the confirmation stands under the list.
    return (render_template("dashboard/_checkout_panel.html", s=s, now=utcnow(), done=True), 200,
            {"HX-Trigger": "on-site-changed", "HX-Retarget": "#checkout-panel", "HX-Reswap": "innerHTML"})


@bp.route("/sessions/<int:session_id>/reopen", methods=["POST"])
@roles(Role.admin)
def reopen(session_id: int):
    return _act(session_id, v.reopen, error_mode="reopen", reason=request.form.get("reason", ""),
                certificate_noted=request.form.get("certificate_noted") == "y")


@bp.route("/sessions/<int:session_id>/history")
@staff
def session_history(session_id: int):
    s = _session_or_404(session_id)
    users = {u.id: u for u in db.session.scalars(select(User).where(User.unit_id == s.unit_id))}
    template = "dashboard/_history.html" if _is_htmx() else "dashboard/history.html"
    return render_template(template, s=s, lines=v.history_lines(db.session, s), users=users,
                           missing=v.MISSING,
                           actions={k: _(label) for k, label in audit.ACTION_LABELS.items()})


@bp.route("/bulk-approve", methods=["GET", "POST"])
@staff
def bulk_approve():
    me = _me()
    f, errors = _filter_from_request()
    if request.method == "GET":
        return render_template("dashboard/_bulk_confirm.html", f=f,
                               count=v.unflagged_count(db.session, me, f), args=request.args)
    expected = request.form.get("expected", "")
    try:
        done = v.bulk_approve(db.session, me, f, utcnow(),
                              expected_count=-1 if db_id(expected) is None else db_id(expected))
    except v.VerificationError as exc:
        # someone acted meanwhile: say so, ask again with today's count, and refresh the queue
        # (its rows and the count above them) to match
        db.session.rollback()
        return (render_template("dashboard/_bulk_confirm.html", error=refusal_text(exc),
                                count=v.unflagged_count(db.session, me, f), f=f, args=request.form),
                409, {"HX-Trigger": "queue-changed"})
    db.session.commit()
    response = render_template("dashboard/_bulk_result.html", done=done, f=f, args=request.form)
    return response, 200, {"HX-Trigger": "queue-changed"}


@bp.route("/manual", methods=["GET", "POST"])
@staff
def manual():
    me = _me()
    sites = _sites_for(me)
    items = service_items_for(db.session, me.unit_id)
    error = None
    invalid: set[str] = set()
    status = 200
    form = request.form
    if request.method == "POST":
        number = form.get("volunteer", "").strip()
        volunteer = volunteer_by_number(db.session, me.unit_id, number)
        site_id, item_id = form.get("site", ""), form.get("item", "")
        site = db.session.get(Site, db_id(site_id)) if db_id(site_id) else None
        item = db.session.get(ServiceItem, db_id(item_id)) if db_id(item_id) else None
        times, times_error, invalid = _times(
            {"checked_in_at": _("Check-in time"), "checked_out_at": _("Check-out time")},
            _("Enter both times, like 2026-01-31 09:30."))
        start, end = times["checked_in_at"], times["checked_out_at"]
        if not number:
            error, invalid = _("Enter the volunteer number."), {"volunteer"}
        elif volunteer is None:
            error, invalid = _("No volunteer has the number %(no)s.", no=number), {"volunteer"}
        elif site is None or site not in sites:
            error, invalid = _("Choose one of your sites."), {"site"}
        elif times_error:
            error = times_error
        else:
            try:
                s = v.manual_entry(db.session, me, utcnow(), volunteer=volunteer, site=site,
                                   item=item, checked_in_at=start, checked_out_at=end,
                                   reason=form.get("reason", ""))
            except v.VerificationError as exc:
                db.session.rollback()
                error = refusal_text(exc)
            except PermissionError:
                abort(403)
            else:
                db.session.commit()
                return render_template("dashboard/manual.html", sites=sites, items=items,
                                       saved=s, form={}), 201
        status = 400
    return render_template("dashboard/manual.html", sites=sites, items=items, error=error,
                           form=form, invalid=invalid), status


@bp.app_template_filter("local_input")
def local_input_value(moment: dt.datetime | None) -> str:
    return moment.astimezone(TAIPEI).strftime("%Y-%m-%dT%H:%M") if moment else ""


@bp.app_template_global("taipei_today")
def taipei_today() -> dt.date:
    return taipei_date(utcnow())
