"""Admin pages for kiosk tablets: list them per site, create one (a one-time enrolment link
and its QR), re-enrol a replaced tablet, revoke a lost one."""
from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import SelectField, StringField
from wtforms.validators import DataRequired, Length

from models import kiosk as kiosks
from models.base import utcnow
from models.kiosk import KioskDevice
from models.people import Role
from models.service import Site
from webapp.access import roles
from webapp.extensions import db
from webapp.i18n import local, refusal_text

from . import bp
from .tablet import _svg_data_uri


class KioskForm(FlaskForm):
    site = SelectField(_l("Site"), coerce=int, validators=[DataRequired()])
    name = StringField(_l("Kiosk name"), validators=[DataRequired(), Length(max=120)],
                       description=_l("For example: Reception tablet"))


def _sites() -> list[Site]:
    return list(db.session.scalars(
        select(Site).where(Site.unit_id == current_user.unit_id, Site.active.is_(True))
        .order_by(Site.name_zh)))


def _form() -> KioskForm:
    form = KioskForm()
    form.site.choices = [(s.id, local(s)) for s in _sites()]
    return form


def _own(device_id: int) -> KioskDevice:
    found = db.session.get(KioskDevice, device_id)
    if found is None or found.unit_id != current_user.unit_id:
        abort(404)
    return found


def _enrolment_page(found: KioskDevice, code: str, status: int = 200):
    g.no_store = True
    link = url_for("kiosk.tablet_enrol", code=code, _external=True)
    return render_template("kiosk/devices_enrol.html", device=found, link=link,
                           qr=_svg_data_uri(link)), status


@bp.route("/admin/kiosks", methods=["GET", "POST"])
@roles(Role.admin)
def devices():
    form = _form()
    if form.validate_on_submit():
        site = db.session.get(Site, form.site.data)
        if site is None or site.unit_id != current_user.unit_id:
            abort(404)
        try:
            created, code = kiosks.create_device(db.session, site=site, name=form.name.data,
                                                 actor=current_user, now=utcnow())
        except kiosks.KioskNameTaken as error:
            db.session.rollback()
            form.name.errors = [*form.name.errors, refusal_text(error)]
        else:
            db.session.commit()
            return _enrolment_page(created, code, 201)
    status = 400 if request.method == "POST" else 200
    listed = kiosks.devices_for_unit(db.session, current_user.unit_id)
    by_site: dict[int, list[KioskDevice]] = {}
    for found in listed:
        by_site.setdefault(found.site_id, []).append(found)
    sites = {found.site_id: found.site for found in listed}
    return render_template("kiosk/devices.html", form=form, by_site=by_site, sites=sites,
                           has_sites=bool(form.site.choices)), status


@bp.route("/admin/kiosks/<int:device_id>/reenrol", methods=["POST"])
@roles(Role.admin)
def device_reenrol(device_id: int):
    found = _own(device_id)
    code = kiosks.new_enrol_code(db.session, found, current_user, utcnow())
    db.session.commit()
    return _enrolment_page(found, code)


@bp.route("/admin/kiosks/<int:device_id>/revoke", methods=["POST"])
@roles(Role.admin)
def device_revoke(device_id: int):
    found = _own(device_id)
    if found.revoked_at is None:
        kiosks.revoke(db.session, found, current_user, utcnow())
        db.session.commit()
    flash(_("Kiosk “%(name)s” has been revoked. It stops working at its next request.",
            name=found.name), "success")
    return redirect(url_for("kiosk.devices"))
