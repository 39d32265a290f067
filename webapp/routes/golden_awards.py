"""Golden Diamond families and teams (金鑽獎 家庭／團隊, issue #6), on the awards blueprint
(/admin/awards/families, /admin/awards/teams): who qualifies, the lists for filing and each
year's application and decision (models.golden_family, golden_team, group_awards). Admins only."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length

from models import award_rules
from models import golden_family as gf
from models import golden_team as gt
from models import group_awards as ga
from models.base import utcnow
from models.messages import translated

from .. import i18n
from ..extensions import db
from ..forms import DateField
from .recognition import (STATUS_LABELS, IssueForm, _as_of_arg, _common, _today, _xlsx,
                          admin_only, awards_bp, forget_deadlines)


class GroupApplicationForm(FlaskForm):
    """A family's or team's Golden Diamond application or decision (models.group_awards)."""
    status = SelectField(choices=[SelectChoice(k, v) for k, v in STATUS_LABELS.items()],
                         validators=[InputRequired()], validate_choice=True)
    on = DateField(_l("Date"), validators=[InputRequired(_l("Give a date."))],
                   format="%Y-%m-%d")
    as_of = HiddenField()


class FamilyForm(FlaskForm):
    name = StringField(_l("Family name"), validators=[
        InputRequired(_l("Give the family a name.")),
        Length(max=gf.FAMILY_NAME_MAX, message=_l("Use at most %(max)d characters."))])
    numbers = StringField(_l("Volunteer numbers (at least 2, separated by spaces or commas)"),
                          validators=[InputRequired(_l("A family needs at least 2 volunteers."))])


def _families_page(form=None, status=200, as_of_value=None, refused=None):
    """`refused`: {family id: message} of a refused application form."""
    as_of, error = _as_of_arg(as_of_value or request.args.get("as_of"))
    return render_template("awards/families.html", as_of=as_of, error=error,
                           families=gf.family_list(db.session, current_user.unit_id, as_of),
                           th=gf.family_thresholds(db.session),
                           rule=award_rules.rule_of(db.session, award_rules.GOLDEN_DIAMOND_FAMILY),
                           form=form or FamilyForm(formdata=None), delete_form=IssueForm(formdata=None),
                           applications=ga.applications_of(db.session, current_user.unit_id, ga.FAMILY),
                           refused=refused or {}, today=_today(),
                           **_common()), 400 if error else status


@awards_bp.get("/families")
@admin_only
def families():
    return _families_page()


@awards_bp.post("/families")
@admin_only
def family_create():
    form = FamilyForm()
    if form.validate_on_submit():
        numbers = form.numbers.data.replace("，", ",").replace("、", ",").replace(",", " ").split()
        try:
            gf.create_family(db.session, current_user.unit_id, form.name.data, numbers,
                              current_user, utcnow())
        except gf.FamilyError as problem:
            db.session.rollback()
            form.numbers.errors = [*form.numbers.errors, i18n.refusal_text(problem)]
        else:
            db.session.commit()
            forget_deadlines(current_user.unit_id)
            flash(_("Family %(name)s saved.", name=form.name.data.strip()), "success")
            return redirect(url_for(".families"))
    return _families_page(form, status=400)


@awards_bp.post("/families/<int:family_id>/delete")
@admin_only
def family_delete(family_id):
    form = IssueForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        gf.delete_family(db.session, current_user.unit_id, family_id, current_user, utcnow())
    except LookupError:
        abort(404)
    except gf.FamilyError as problem:
        db.session.rollback()
        return _families_page(status=409, refused={family_id: i18n.refusal_text(problem)})
    db.session.commit()
    forget_deadlines(current_user.unit_id)
    flash(_("Family removed."), "success")
    return redirect(url_for(".families"))


def explain_condition(c: gt.Condition) -> str:
    return translated(c.message, c.params, _, ngettext)


def _teams_page(status=200, as_of_value=None, refused=None):
    as_of, error = _as_of_arg(as_of_value or request.args.get("as_of"))
    return render_template("awards/teams.html", as_of=as_of, error=error,
                           teams=gt.team_list(db.session, current_user.unit_id, as_of),
                           th=gt.team_thresholds(db.session),
                           rule=award_rules.rule_of(db.session, award_rules.GOLDEN_DIAMOND_TEAM),
                           applications=ga.applications_of(db.session, current_user.unit_id, ga.TEAM),
                           refused=refused or {}, today=_today(),
                           explain_condition=explain_condition,
                           **_common()), 400 if error else status


@awards_bp.get("/teams")
@admin_only
def teams():
    return _teams_page()


def _record_group_application(kind: str, subject_id: int, page, back: str, anchor: str):
    """Record a family's or team's application or decision; the page again with the refusal
    next to that family's or team's form (400), or back to it (303)."""
    form = GroupApplicationForm()
    if form.validate_on_submit():
        try:
            ga.record_application(db.session, current_user.unit_id, kind, subject_id,
                                  form.status.data, form.on.data, current_user, utcnow())
        except LookupError:
            db.session.rollback()
            abort(404)
        except ga.ApplicationError as problem:
            db.session.rollback()
            message = i18n.refusal_text(problem)
        else:
            db.session.commit()
            forget_deadlines(current_user.unit_id)  # the calendar counts pending applications
            flash(_("%(status)s recorded.", status=STATUS_LABELS[form.status.data]), "success")
            return redirect(url_for(back, as_of=form.as_of.data or None) + anchor, code=303)
    else:
        message = next((m for errs in form.errors.values() for m in errs), _("Check the form."))
    return page(status=400, as_of_value=form.as_of.data, refused={subject_id: message})


@awards_bp.post("/families/<int:family_id>/applications")
@admin_only
def families_record(family_id):
    return _record_group_application(ga.FAMILY, family_id, _families_page, ".families",
                                     f"#family-{family_id}")


@awards_bp.post("/teams/<int:site_id>/applications")
@admin_only
def teams_record(site_id):
    return _record_group_application(ga.TEAM, site_id, _teams_page, ".teams",
                                     f"#team-{site_id}")


@awards_bp.get("/families/export.xlsx")
@admin_only
def families_export():
    as_of, error = _as_of_arg(request.args.get("as_of"))
    if error:
        return _families_page()
    with i18n.forced_locale(i18n.DEFAULT):  # a filing list: in Chinese, whoever downloads it
        data = gf.family_list_xlsx(db.session, current_user, utcnow(),
                                   gf.family_list(db.session, current_user.unit_id, as_of), as_of,
                                   explain=i18n.explain_award)
    db.session.commit()
    return _xlsx(data, f"{award_rules.GOLDEN_DIAMOND_FAMILY}-{as_of:%Y%m%d}.xlsx")


@awards_bp.get("/teams/export.xlsx")
@admin_only
def teams_export():
    as_of, error = _as_of_arg(request.args.get("as_of"))
    if error:
        return teams()
    with i18n.forced_locale(i18n.DEFAULT):  # a filing list: in Chinese, whoever downloads it
        data = gt.team_list_xlsx(db.session, current_user, utcnow(),
                                 gt.team_list(db.session, current_user.unit_id, as_of), as_of,
                                 explain=explain_condition)
    db.session.commit()
    return _xlsx(data, f"{award_rules.GOLDEN_DIAMOND_TEAM}-{as_of:%Y%m%d}.xlsx")
