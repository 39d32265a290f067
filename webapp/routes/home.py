"""The role-aware home page, "my QR card", and the health check."""
from __future__ import annotations

import io

import qrcode
import qrcode.image.svg
from flask import Blueprint, Response, abort, render_template
from flask_login import current_user
from sqlalchemy import text

from models import account_links, checkin, gates, getting_started, hours, insurance, prior_service, to_do
from models.base import taipei_date, utcnow
from models.people import Role
from models.verification import rejection_reasons, supervised_site_ids

from ..access import public, roles, signed_in
from ..extensions import db

bp = Blueprint("home", __name__)


@bp.route("/")
@signed_in
def index():
    now = utcnow()
    if current_user.role == Role.volunteer:
        volunteer = current_user.volunteer
        if volunteer is None:
            abort(403)
        today = taipei_date(now)
        recent = hours.recent_sessions(db.session, volunteer.id)
        # cover ending within the window the admin's list uses (the same query)
        ending = insurance.expiring(insurance.cover_statuses(db.session, [volunteer], today))
        return render_template(
            "home/volunteer.html",
            volunteer=volunteer,
            totals=hours.verified_totals(db.session, volunteer.id, now),
            prior_minutes=prior_service.prior_minutes(db.session, volunteer.id),
            recent=recent, rejected=rejection_reasons(db.session, recent),
            on_site=checkin.open_session(db.session, volunteer.id) is not None,
            cover_ends=ending[0].covered_until if ending else None,
            # said here, before the trip to the site, rather than only at the check-in
            cannot_serve=gates.serving_refusals(db.session, volunteer, today),
            now=now,
        )
    today = taipei_date(now)
    # a supervisor sees the sites they look after, as on the dashboard; an admin every site
    sessions = hours.sessions_on_day(db.session, current_user.unit_id, today,
                                     supervised_site_ids(db.session, current_user))
    return render_template(
        "home/staff.html",
        today=today,
        # a new unit's admin: what to do first, until the essential steps are done
        start=(getting_started.checklist(db.session, current_user.unit_id, today)
               if current_user.role == Role.admin else None),
        # what waits for them at their sites (an admin: the unit), each a link to where it is done
        todo=to_do.to_do(db.session, current_user, today), cover_days=insurance.EXPIRING_DAYS,
        sessions=sessions,
        reasons=gates.day_gate_reasons(db.session, sessions),
        now=now,
    )


@bp.route("/me/card")
@roles(Role.volunteer)
def my_card():
    volunteer = current_user.volunteer
    return render_template("home/card.html", volunteer=volunteer,
                           pin=account_links.pin_status(volunteer, utcnow()))


def qr_svg(payload: str) -> Response:
    image = qrcode.make(payload, image_factory=qrcode.image.svg.SvgPathImage, box_size=12, border=2)
    buffer = io.BytesIO()
    image.save(buffer)
    return Response(buffer.getvalue(), mimetype="image/svg+xml")


@bp.route("/me/card.svg")
@roles(Role.volunteer)
def my_card_qr():
    return qr_svg(current_user.volunteer.card_token)


@bp.route("/healthz")
@public
def healthz():
    db.session.execute(text("SELECT 1"))
    return {"status": "ok", "database": "reachable"}
