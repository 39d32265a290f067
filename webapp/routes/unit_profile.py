"""The unit profile (seed step 1: the body that may use volunteers, its registration, its
people, and the seal printed on documents): admins only. Thin: parse, authorise, call
models.unit_profile, render."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, Optional

from models import unit_profile
from models.files import UploadRefused
from models.people import Role
from models.unit import Category, LegalType, Unit
from models.unit_profile import ProfileError

from ..access import roles
from ..extensions import db
from ..forms import ButtonForm, email_address
from ..i18n import refusal_text
from .files import read_upload, upload_root

bp = Blueprint("unit_profile", __name__, url_prefix="/admin")
admin_only = roles(Role.admin)
TOO_LONG = _l("Use at most %(max)d characters.")


class ProfileForm(FlaskForm):
    name = StringField(_l("Unit name"), validators=[
        InputRequired(_l("Enter the unit's name.")),
        Length(max=unit_profile.NAME_MAX, message=TOO_LONG)])
    name_en = StringField(_l("Name in English"), description=_l(
        "Shown to volunteers and staff who use Hourbook in English; empty: the Chinese name."),
        validators=[Length(max=unit_profile.NAME_MAX, message=TOO_LONG)])
    legal_type = SelectField(_l("Legal type"), choices=[
        SelectChoice(t.value, _l(label)) for t, (label, _zh) in unit_profile.LEGAL_TYPES.items()],
        validate_choice=False)
    category = SelectField(_l("Category"), choices=[
        SelectChoice(c.value, _l(label)) for c, (label, _zh) in unit_profile.CATEGORIES.items()],
        validate_choice=False)
    registration_no = StringField(_l("Registration number"), validators=[
        Length(max=unit_profile.REG_MAX, message=TOO_LONG)])
    address = StringField(_l("Address"), validators=[
        Length(max=unit_profile.ADDRESS_MAX, message=TOO_LONG)])
    phone = StringField(_l("Phone"), validators=[
        Length(max=unit_profile.PHONE_MAX, message=TOO_LONG)])
    responsible_person = StringField(_l("Responsible person"), validators=[
        Length(max=unit_profile.PERSON_MAX, message=TOO_LONG)])
    contact_name = StringField(_l("Contact person"), validators=[
        Length(max=unit_profile.PERSON_MAX, message=TOO_LONG)])
    contact_phone = StringField(_l("Contact phone"), validators=[
        Length(max=unit_profile.PHONE_MAX, message=TOO_LONG)])
    contact_email = StringField(_l("Contact email"), validators=[
        Optional(), email_address,
        Length(max=unit_profile.EMAIL_MAX, message=TOO_LONG)])


FIELDS = ("name", "name_en", "legal_type", "category", "registration_no", "address", "phone",
          "responsible_person", "contact_name", "contact_phone", "contact_email")


class LogoForm(FlaskForm):
    logo = FileField(_l("Seal or logo (PNG or JPEG, at most 1 MB)"))


LOGO_MESSAGES = {
    "empty": _l("Choose an image to upload."),
    "too_large": _l("The image is too large (at most 1 MB and 25 million pixels)."),
    "wrong_type": _l("Upload a PNG or JPEG image."),
}


def _unit() -> Unit:
    return db.session.get(Unit, current_user.unit_id)


def _profile_page(form=None, logo_form=None, status=200):
    unit = _unit()
    profile = unit_profile.profile_of(db.session, unit.id)
    if form is None:
        form = ProfileForm(formdata=None, data={
            "name": unit.name, "name_en": unit.name_en, "legal_type": unit.legal_type.value,
            "category": unit.category.value, "registration_no": unit.registration_no,
            "address": unit.address, "phone": unit.phone,
            **{f: getattr(profile, f) or "" for f in unit_profile.PROFILE_FIELDS}})
    return render_template(
        "unit_profile/profile.html", form=form, logo_form=logo_form or LogoForm(formdata=None),
        profile=profile, supervisors=unit_profile.supervisors(db.session, unit.id)), status


@bp.get("/unit")
@admin_only
def profile():
    return _profile_page()


@bp.post("/unit")
@admin_only
def save_profile():
    form = ProfileForm()
    valid = form.validate_on_submit()  # (validation resets the errors: check the choices after)
    if form.legal_type.data not in {t.value for t in LegalType}:
        form.legal_type.errors = [_("Choose one of the five kinds of body that may be a unit.")]
    if form.category.data not in {c.value for c in Category}:
        form.category.errors = [_("Choose social welfare or comprehensive.")]
    if valid and not form.legal_type.errors and not form.category.errors:
        try:
            unit_profile.update_profile(db.session, _unit(), current_user,
                                        **{f: getattr(form, f).data for f in FIELDS})
        except ProfileError as error:
            db.session.rollback()
            field = getattr(form, error.field or "name")
            field.errors = [*field.errors, refusal_text(error)]
        else:
            db.session.commit()
            flash(_("Unit profile saved."), "success")
            return redirect(url_for(".profile"))
    return _profile_page(form=form, status=400)


@bp.post("/unit/logo")
@admin_only
def upload_logo():
    form = LogoForm()
    if form.validate_on_submit():
        storage = form.logo.data
        data = read_upload(storage, unit_profile.LOGO_MAX_BYTES)
        try:
            unit_profile.set_logo(db.session, _unit(), data,
                                  getattr(storage, "filename", "") or "", current_user,
                                  root=upload_root())
        except UploadRefused as error:
            db.session.rollback()
            form.logo.errors = [*form.logo.errors,
                                str(LOGO_MESSAGES.get(error.code, LOGO_MESSAGES["wrong_type"]))]
        else:
            db.session.commit()
            flash(_("Seal/logo saved: it is printed on the plan and on hour slips."), "success")
            return redirect(url_for(".profile"))
    return _profile_page(logo_form=form, status=400)


@bp.post("/unit/logo/remove")
@admin_only
def remove_logo():
    if not ButtonForm().validate_on_submit():
        abort(400)
    if unit_profile.remove_logo(db.session, _unit(), current_user, root=upload_root()):
        db.session.commit()
        flash(_("Seal/logo removed from printed documents."), "success")
    return redirect(url_for(".profile"))
