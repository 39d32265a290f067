"""Service sites and their check-in posters (admins only)."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, FloatField, IntegerField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional
from wtforms.widgets import NumberInput

from models import sites
from models.base import taipei_date, utcnow
from models.people import Role
from models.service import DEFAULT_MAX_SESSION_MINUTES, Site
from models.export import MIMETYPES
from models.sites import InvalidSite

from ..access import roles
from ..downloads import download
from ..extensions import db
from ..forms import read_as_typed
from ..printing.poster import site_poster_pdf
from .home import qr_svg

bp = Blueprint("sites", __name__, url_prefix="/admin/sites")
admin_only = roles(Role.admin)

TOO_LONG = _l("Use at most %(max)d characters.")
BETWEEN = _l("Enter a number from %(min)s to %(max)s.")
NOT_A_NUMBER = _l("Enter a number.")


class SiteForm(FlaskForm):
    name_zh = StringField(_l("Name (Chinese)"), validators=[
        DataRequired(_l("Enter the site's name.")), Length(max=sites.NAME_MAX, message=TOO_LONG)])
    name_en = StringField(_l("Name (English)"), validators=[
        Optional(), Length(max=sites.NAME_MAX, message=TOO_LONG)])
    address = StringField(_l("Address"), validators=[
        Optional(), Length(max=sites.ADDRESS_MAX, message=TOO_LONG)])
    latitude = FloatField(_l("Latitude"), widget=NumberInput(step="any"),
                          invalid_value_message=NOT_A_NUMBER,
                          validators=[Optional(), read_as_typed, NumberRange(-90, 90, message=BETWEEN)])
    longitude = FloatField(_l("Longitude"), widget=NumberInput(step="any"),
                           invalid_value_message=NOT_A_NUMBER,
                           validators=[Optional(), read_as_typed, NumberRange(-180, 180, message=BETWEEN)])
    radius_m = IntegerField(_l("Radius (metres)"), invalid_value_message=_l("Enter whole metres."),
                            validators=[Optional(), read_as_typed, NumberRange(*sites.RADIUS_RANGE,
                                                                message=BETWEEN)])
    max_session_minutes = IntegerField(
        _l("Longest session (minutes)"), default=DEFAULT_MAX_SESSION_MINUTES,
        invalid_value_message=_l("Enter whole minutes."),
        validators=[InputRequired(_l("Enter the longest session in minutes.")), read_as_typed,
                    NumberRange(*sites.MAX_SESSION_RANGE, message=BETWEEN)])
    active = BooleanField(_l("In use: volunteers can check in here"), default=True)


DOMAIN_MESSAGES = {
    "required": _l("This is required."),
    "too_long": _l("This is too long."),
    "out_of_range": _l("This number is out of range."),
    "incomplete_location": _l("Give latitude, longitude and radius together, or none of them."),
    "name_taken": _l("The unit already has a site of this name."),
}


def _values(form: SiteForm) -> dict:
    return {name: getattr(form, name).data for name in sites.FIELDS}


def _show_domain_errors(form: SiteForm, error: InvalidSite) -> None:
    for name, code in error.errors.items():
        field = getattr(form, name)
        field.errors = [*field.errors, str(DOMAIN_MESSAGES.get(code, code))]


def _site_or_404(site_id: int) -> Site:
    site = db.session.get(Site, site_id)
    if site is None or site.unit_id != current_user.unit_id:
        abort(404)
    return site


def checkin_url(token: str) -> str:
    """The absolute address of the phone check-in page a poster's QR code opens: at
    HOURBOOK_BASE_URL when it is set (an admin printing through an internal address must not
    print that address), else at the address the admin is using."""
    base = current_app.config.get("HOURBOOK_BASE_URL") or request.url_root.rstrip("/")
    return base + "/s/" + token


@bp.get("/")
@admin_only
def index():
    return render_template("sites/list.html",
                           sites=sites.sites_of(db.session, current_user.unit_id))


@bp.route("/new", methods=["GET", "POST"])
@admin_only
def create():
    form = SiteForm()
    if form.validate_on_submit():
        try:
            site = sites.create_site(db.session, current_user, **_values(form))
        except InvalidSite as error:
            db.session.rollback()
            _show_domain_errors(form, error)
        else:
            db.session.commit()
            flash(_("Site %(name)s added. Print its poster and put it up at the site.",
                    name=site.name_zh), "success")
            return redirect(url_for(".edit", site_id=site.id))
    status = 400 if request.method == "POST" else 200
    return render_template("sites/form.html", form=form, site=None), status


@bp.route("/<int:site_id>/edit", methods=["GET", "POST"])
@admin_only
def edit(site_id: int):
    site = _site_or_404(site_id)
    form = SiteForm(obj=site)
    if form.validate_on_submit():
        try:
            sites.update_site(db.session, site, current_user, **_values(form))
        except InvalidSite as error:
            db.session.rollback()
            _show_domain_errors(form, error)
        else:
            db.session.commit()
            flash(_("Site saved."), "success")
            return redirect(url_for(".index"))
    status = 400 if request.method == "POST" else 200
    return render_template("sites/form.html", form=form, site=site,
                           poster_code=sites.token_hint(site.token)), status


@bp.get("/<int:site_id>/qr.svg")
@admin_only
def qr(site_id: int):
    site = _site_or_404(site_id)
    return qr_svg(checkin_url(site.token))


@bp.route("/<int:site_id>/token", methods=["GET", "POST"])
@admin_only
def regenerate(site_id: int):
    """GET asks to confirm; POST replaces the token, and every printed poster stops working."""
    site = _site_or_404(site_id)
    if request.method == "POST":
        token = sites.regenerate_site_token(db.session, site, current_user)
        db.session.commit()
        flash(_("New poster code %(code)s. Posters printed before no longer work: print the new "
                "poster and replace them.", code=sites.token_hint(token)), "success")
        return redirect(url_for(".edit", site_id=site.id))
    return render_template("sites/confirm_regenerate.html", site=site,
                           poster_code=sites.token_hint(site.token))


@bp.get("/<int:site_id>/poster.pdf")
@admin_only
def poster(site_id: int):
    site = _site_or_404(site_id)
    if not site.active:
        flash(_("This site is not in use, so its poster would not work. Put it back in use "
                "first."), "error")
        return redirect(url_for(".edit", site_id=site.id))
    unit = current_user.unit
    pdf = site_poster_pdf(
        site_name_zh=site.name_zh, site_name_en=site.name_en, unit_name=unit.name,
        unit_name_en=unit.name_en, checkin_url=checkin_url(site.token),
        poster_code=sites.token_hint(site.token), printed_on=taipei_date(utcnow()),
    )
    return download(pdf, f"poster-site-{site.id}.pdf", MIMETYPES["pdf"])
