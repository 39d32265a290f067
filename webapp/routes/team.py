"""The unit's team settings (admins): which sites each supervisor looks after, and how
credited minutes are rounded at verification."""
from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from models import account_links as links
from models import audit
from models import verification as v
from models.base import utcnow
from models.people import Role, User
from models.sites import sites_of
from models.unit import Rounding, Unit

from ..forms import ButtonForm, db_id
from ..welcome import welcome_sheet
from ..access import roles
from ..extensions import db
from ..i18n import refusal_text

bp = Blueprint("team", __name__, url_prefix="/admin/team")
admins = roles(Role.admin)


def _supervisors() -> list[User]:
    return list(db.session.scalars(select(User).where(
        User.unit_id == current_user.unit_id, User.role == Role.supervisor).order_by(User.display_name, User.id)))


def _index(*, welcome=None, error=None, name="", email="", status=200, row_error=None):
    supervisors = _supervisors()
    assigned = {s.id: v.supervised_site_ids(db.session, s) or set() for s in supervisors}
    states = links.account_states(db.session, supervisors)
    return render_template("team/index.html", supervisors=supervisors, assigned=assigned,
                           states=states, row_error=row_error,
                           sites=sites_of(db.session, current_user.unit_id),
                           unit=db.session.get(Unit, current_user.unit_id), roundings=list(Rounding),
                           welcome=welcome, error=error, name=name, email=email), status


@bp.route("/")
@admins
def index():
    return _index()


@bp.route("/supervisors", methods=["POST"])
@admins
def add_supervisor():
    """A supervisor's account and its one-time set-password link (printed, scanned or emailed)."""
    if not ButtonForm().validate_on_submit():
        abort(400)
    name, email = request.form.get("name", "")[:200], request.form.get("email", "")[:300]
    try:
        user, token = links.create_staff_account(db.session, current_user.unit_id,
                                                 db.session.get(User, current_user.id),
                                                 name=name, email=email, now=utcnow())
    except links.AccountSetupError as error:
        db.session.rollback()
        return _index(error=refusal_text(error), name=name, email=email, status=400)
    db.session.commit()
    g.no_store = True  # the page holds a one-time link
    return _index(welcome=welcome_sheet(token, user, staff=True))


def _supervisor_or_404(user_id: int) -> User:
    supervisor = db.session.get(User, user_id)
    if supervisor is None or supervisor.unit_id != current_user.unit_id or supervisor.role != Role.supervisor:
        abort(404)
    return supervisor


@bp.route("/supervisors/<int:user_id>/sign-in-link", methods=["POST"])
@admins
def supervisor_link(user_id: int):
    """A new sign-in sheet for a supervisor (a lost or expired one, a forgotten password):
    older unused links stop working."""
    supervisor = _supervisor_or_404(user_id)
    if not ButtonForm().validate_on_submit():
        abort(400)
    try:
        token = links.staff_sign_in_link(db.session, supervisor, db.session.get(User, current_user.id),
                                         utcnow())
    except links.AccountSetupError as error:
        db.session.rollback()
        return _index(row_error=(supervisor.id, refusal_text(error)), status=409)
    db.session.commit()
    g.no_store = True  # the page holds a one-time link
    return _index(welcome=welcome_sheet(token, supervisor, again=True, staff=True))


@bp.route("/supervisors/<int:user_id>/active", methods=["POST"])
@admins
def supervisor_active(user_id: int):
    """Deactivate a supervisor who left (active=0), or reactivate one (active=1)."""
    supervisor = _supervisor_or_404(user_id)
    if not ButtonForm().validate_on_submit():
        abort(400)
    active = request.form.get("active") == "1"
    try:
        links.set_staff_active(db.session, supervisor, db.session.get(User, current_user.id),
                               active, utcnow())
    except links.AccountSetupError as error:
        db.session.rollback()
        return _index(row_error=(supervisor.id, refusal_text(error)), status=409)
    db.session.commit()
    flash(_("%(name)s can sign in again.", name=supervisor.name) if active else
          _("%(name)s is deactivated: they can no longer sign in.", name=supervisor.name), "success")
    return redirect(url_for("team.index"))


@bp.route("/supervisors/<int:user_id>/sites", methods=["POST"])
@admins
def supervisor_sites(user_id: int):
    supervisor = _supervisor_or_404(user_id)
    ids = {db_id(x) for x in request.form.getlist("site") if db_id(x) is not None}
    v.assign_sites(db.session, supervisor, ids, db.session.get(User, current_user.id), utcnow())
    db.session.commit()
    flash(_("Sites of %(name)s saved.", name=supervisor.name), "success")
    return redirect(url_for("team.index"))


@bp.route("/rounding", methods=["POST"])
@admins
def rounding():
    value = request.form.get("rounding", "")
    if value not in {r.value for r in Rounding}:
        flash(_("Choose one of the rounding rules."), "error")
        return redirect(url_for("team.index")), 400
    unit = db.session.get(Unit, current_user.unit_id)
    before = unit.rounding.value
    unit.rounding = Rounding(value)
    audit.record(db.session, action="unit_rounding", entity="unit", entity_id=unit.id,
                 actor=db.session.get(User, current_user.id), before={"rounding": before},
                 after={"rounding": value})
    db.session.commit()
    flash(_("Rounding rule saved. It applies to sessions verified from now on."), "success")
    return redirect(url_for("team.index"))
