"""The unit's team settings (admins): which sites each supervisor looks after, and how
credited minutes are rounded at verification."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from models import audit
from models import verification as v
from models.base import utcnow
from models.people import Role, User
from models.sites import sites_of
from models.unit import Rounding, Unit

from ..forms import db_id
from ..access import roles
from ..extensions import db

bp = Blueprint("team", __name__, url_prefix="/admin/team")
admins = roles(Role.admin)


def _supervisors() -> list[User]:
    return list(db.session.scalars(select(User).where(
        User.unit_id == current_user.unit_id, User.role == Role.supervisor).order_by(User.display_name, User.id)))


@bp.route("/")
@admins
def index():
    supervisors = _supervisors()
    assigned = {s.id: v.supervised_site_ids(db.session, s) or set() for s in supervisors}
    return render_template("team/index.html", supervisors=supervisors, assigned=assigned,
                           sites=sites_of(db.session, current_user.unit_id),
                           unit=db.session.get(Unit, current_user.unit_id), roundings=list(Rounding))


@bp.route("/supervisors/<int:user_id>/sites", methods=["POST"])
@admins
def supervisor_sites(user_id: int):
    supervisor = db.session.get(User, user_id)
    if supervisor is None or supervisor.unit_id != current_user.unit_id or supervisor.role != Role.supervisor:
        abort(404)
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
