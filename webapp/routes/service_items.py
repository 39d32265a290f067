"""Service items (服務項目, admins): add, rename, retire. What the service plan lists and what
check-ins are booked against. Thin: parse, authorise, call models.service_items, render."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField
from wtforms.fields.choices import SelectChoice

from models import service_items as items
from models import unit_profile
from models.base import utcnow
from models.people import Role
from models.service import ServiceItem
from models.unit import Unit

from ..access import roles
from ..extensions import db
from ..i18n import refusal_text

bp = Blueprint("service_items", __name__, url_prefix="/admin/items")
admin_only = roles(Role.admin)


class NewItemForm(FlaskForm):
    code = StringField(_l("Code"), description=_l("Like C01: letters and digits, fixed once saved."))
    name_zh = StringField(_l("Name (Chinese)"))
    name_en = StringField(_l("Name (English)"))
    category = SelectField(_l("Category"), choices=[
        SelectChoice(c.value, _l(label)) for c, (label, _zh) in unit_profile.CATEGORIES.items()],
        validate_choice=False)


class ItemForm(FlaskForm):
    name_zh = StringField(_l("Name (Chinese)"))
    name_en = StringField(_l("Name (English)"))
    active = BooleanField(_l("Offered: volunteers can check in for it"))


def _item_or_404(item_id: int) -> ServiceItem:
    item = db.session.get(ServiceItem, item_id)
    if item is None or item.unit_id != current_user.unit_id:
        abort(404)
    return item


def _refused(form, error: items.ItemRefused) -> None:
    field = getattr(form, error.field or "name_zh")
    field.errors = [*field.errors, refusal_text(error)]


def _list_page(form: NewItemForm, status: int = 200):
    return render_template("service_items/index.html", form=form,
                           items=items.items_of(db.session, current_user.unit_id)), status


@bp.get("/")
@admin_only
def index():
    unit = db.session.get(Unit, current_user.unit_id)
    return _list_page(NewItemForm(formdata=None, data={"category": unit.category.value}))


@bp.post("/")
@admin_only
def create():
    form = NewItemForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        item = items.create_item(db.session, db.session.get(Unit, current_user.unit_id),
                                 current_user, code=form.code.data, name_zh=form.name_zh.data,
                                 name_en=form.name_en.data, category=form.category.data,
                                 now=utcnow())
    except items.ItemRefused as error:
        db.session.rollback()
        _refused(form, error)
        return _list_page(form, 400)
    db.session.commit()
    flash(_("Service item %(code)s added: pick it in the service plan, and volunteers can check "
            "in for it.", code=item.code), "success")
    return redirect(url_for(".index"))


@bp.route("/<int:item_id>", methods=["GET", "POST"])
@admin_only
def edit(item_id: int):
    item = _item_or_404(item_id)
    form = ItemForm(obj=item) if request.method == "GET" else ItemForm()
    if request.method == "POST" and form.validate_on_submit():
        try:
            items.update_item(db.session, item, current_user, name_zh=form.name_zh.data,
                              name_en=form.name_en.data, active=form.active.data, now=utcnow())
        except items.ItemRefused as error:
            db.session.rollback()
            _refused(form, error)
        else:
            db.session.commit()
            flash(_("Service item %(code)s saved.", code=item.code), "success")
            return redirect(url_for(".index"))
    status = 400 if request.method == "POST" else 200
    return render_template("service_items/edit.html", form=form, item=item), status
