"""A volunteer's own hours: sessions with their status, verified totals, and their hour slips
to download. Only ever the signed-in volunteer's own: another's slip is a 404."""
from __future__ import annotations

from flask import Blueprint, abort, render_template, request
from flask_login import current_user

from models import hours, prior_service, slip_lists, slips
from models.base import utcnow
from models.people import Role
from models.slips import HourSlip
from models.verification import rejection_reasons

from ..access import roles
from ..extensions import db
from .slips import pdf_response

bp = Blueprint("my_hours", __name__, url_prefix="/me")
PAGE_SIZE = 30


def _me():
    volunteer = current_user.volunteer
    if volunteer is None:
        abort(403)
    return volunteer


@bp.get("/hours")
@roles(Role.volunteer)
def index():
    volunteer = _me()
    try:
        page = min(max(1, int(request.args.get("page", "1"))), 100_000)
    except ValueError:
        page = 1
    rows = slip_lists.volunteer_sessions(db.session, volunteer.id, limit=PAGE_SIZE + 1,
                                    offset=(page - 1) * PAGE_SIZE)
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    mine = slip_lists.volunteer_slips(db.session, volunteer.id)
    return render_template(
        "my_hours/index.html", volunteer=volunteer, page=page, more=more, sessions=rows,
        totals=hours.verified_totals(db.session, volunteer.id, utcnow()),
        prior_minutes=prior_service.prior_minutes(db.session, volunteer.id),
        slips=mine, slip_sites=slip_lists.sites_of_slips(db.session, [s.id for s in mine]),
        on_slip=slip_lists.slip_serials(db.session, [s.id for s in rows]),
        rejected=rejection_reasons(db.session, rows))


@bp.get("/slips/<int:slip_id>.pdf")
@roles(Role.volunteer)
def slip_pdf(slip_id: int):
    volunteer = _me()
    slip: HourSlip | None = slips.slip_with_details(db.session, slip_id)
    if slip is None or slip.volunteer_id != volunteer.id:
        abort(404)  # never say whether someone else's slip exists
    # opened in the browser with its name, like the performance certificate
    return pdf_response([slip], f"hour-slip-{slip.serial}.pdf", inline=True)
