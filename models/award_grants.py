"""Recording an award: an application or a decision for a volunteer (award_grant rows), checked
against the rules first (`check_application`: the level's hours to the round's cut-off, the
service years, the certificate where needed, each level once; a decision answers a pending
application of the same level). Eligibility itself is models/awards.py."""
from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

from sqlalchemy.orm import Session

from . import audit
from .award_rules import AwardRule, rule_of
from .awards import (AwardGrant, GrantStatus, Inputs, _grants, counted_minutes, eligibility,
                     period_last_day, seniority, window_end)
from .base import begin_write, one_writer_per, taipei_date, utcnow
from .messages import N_, Named, Refused
from .people import Volunteer


class AwardError(Refused, ValueError):
    """A refused award grant or decision."""


def _snapshot(g: AwardGrant) -> dict:
    return {"volunteer_id": g.volunteer_id, "award_key": g.award_key, "level": g.level,
            "status": g.status.value, "applied_on": g.applied_on, "decided_on": g.decided_on,
            "valid_from": g.valid_from, "valid_to": g.valid_to,
            "minutes_counted": g.minutes_counted, "minutes_used": g.minutes_used,
            "months_used": g.months_used, "declared_on": g.declared_on}


GRANT_DATES = (dt.date(1990, 1, 1), dt.date(2100, 12, 31))  # an application or decision day


def check_not_after_today(on: dt.date, now: dt.datetime | None, error=None) -> None:
    """An application or a decision is recorded once it is made: refuse a day after today in
    Taipei (`now`, the current moment when not given) with `error` (a Refused kind)."""
    today = taipei_date(now or utcnow())
    if on > today:
        raise (error or AwardError)(N_("The date cannot be after today (%(today)s): record an "
                                       "application or decision once it is made."),
                                    today=today.isoformat())


def _hours_text(minutes: int) -> str:
    """Hours as a number for a refusal (1,560 or 31.5): the same in every language."""
    return f"{minutes / 60:,.1f}".removesuffix(".0")


def _level_named(rule: AwardRule, level: int) -> Named:
    """The level by name in a refusal (the award's name for an award of one level)."""
    lv = next(x for x in rule.levels if x["level"] == level)
    if len(rule.levels) == 1:
        return Named(rule)
    return Named(SimpleNamespace(name_zh=lv["name_zh"], name_en=lv.get("name_en", "")))


def check_application(session: Session, volunteer: Volunteer, rule: AwardRule, level: int,
                      on: dt.date) -> None:
    """Refuse (AwardError) an application for `level` of `rule` that the volunteer cannot file
    on `on` by the rules: judged for the round open on `on` (award_round: MOHW's hours to the
    31 December before its deadline), with what `eligibility` counts (hours, less what earlier
    cards used; service years; the performance certificate the national award needs). The
    level is any one not taken whose hours are reached (each level once, one per application:
    record_grant refuses a level granted or a second application)."""
    if not rule.computed:
        raise AwardError(N_("%(level)s is judged per family or team, on its own page."),
                         level=rule.name_zh)
    inputs = Inputs(rules=[rule], grants=_grants(session, volunteer.id),
                    seniority=seniority(session, volunteer, on), counts={})
    e = eligibility(session, volunteer, on, inputs)[0]
    wanted = next(lv for lv in rule.levels if lv["level"] == level)
    name = _level_named(rule, level)
    if "performance_certificate" in e.missing_conditions:
        raise AwardError(N_("%(level)s cannot be applied for: it needs a performance "
                            "certificate first."), level=name)
    if "seniority_unknown" in e.missing_conditions:
        raise AwardError(N_("%(level)s cannot be applied for: the volunteer's service years are "
                            "unknown (no training completion dates and no joining date)."),
                         level=name)
    if e.counted_minutes < wanted["minutes"]:
        raise AwardError(N_("%(level)s cannot be applied for: it needs %(required)s hours, and "
                            "%(hours)s hours count to %(counted_to)s."),
                         level=name, required=_hours_text(wanted["minutes"]),
                         hours=_hours_text(e.counted_minutes),
                         counted_to=e.counted_to.isoformat())
    if e.missing_months:
        raise AwardError(N_("%(level)s cannot be applied for: it needs %(required)s months of "
                            "service, and %(months)s count to %(counted_to)s."),
                         level=name, required=rule.months_required, months=e.service_months or 0,
                         counted_to=e.counted_to.isoformat())


def record_grant(session: Session, volunteer: Volunteer, award_key: str, level: int,
                 status, on: dt.date, actor=None, now: dt.datetime | None = None, *,
                 minutes_used: int | None = None, months_used: int | None = None,
                 declared: bool = False, judged: bool = False) -> AwardGrant:
    """Record an application (status applied, `on` = applied on) or a decision (granted /
    not_granted, `on` = decided on). A decision completes the pending application of the
    same award and level. Nothing the rules do not allow is recorded: an application only for
    a level the volunteer can apply for (check_application), a decision only on a pending
    application of that level — unless the caller `judged` the volunteer itself (a performance
    certificate issued by models.certificates, which records its grant). A granted honour card gets its validity (from the
    later of `on` and the day after the previous card's expiry, for `validity_years`) and uses
    the hours and months the rule requires (unless given), so the next card cannot reuse them.
    A rule that needs the volunteer's declaration of no criminal conviction (Golden Diamond)
    refuses an application or grant without it: `declared` (made on `on`), or the pending
    application's. `on` is never after today in Taipei (`now`), and a decision is never dated
    before the application it completes. Audited. Caller commits."""
    begin_write(session)
    status = GrantStatus(getattr(status, "value", status))
    rule = rule_of(session, award_key)
    if rule is None:
        raise AwardError(N_("Unknown award %(key)s"), key=award_key)
    levels = {lv["level"]: lv for lv in rule.levels}
    if level not in levels:
        raise AwardError(N_("Unknown level %(level)s"), level=level)
    if not GRANT_DATES[0] <= on <= GRANT_DATES[1]:
        raise AwardError(N_("Enter a date from %(first)s to %(last)s."),
                         first=GRANT_DATES[0].isoformat(), last=GRANT_DATES[1].isoformat())
    check_not_after_today(on, now, AwardError)
    one_writer_per(session, Volunteer, volunteer.id)  # the same decision twice at once: one
    mine = [g for g in _grants(session, volunteer.id) if g.award_key == award_key]
    if rule.once_per_level and status in (GrantStatus.applied, GrantStatus.granted) and any(
            g.level == level and g.status == GrantStatus.granted for g in mine):
        raise AwardError(N_("Level already granted"))
    pending = next((g for g in mine if g.level == level and g.status == GrantStatus.applied), None)
    if status != GrantStatus.applied and pending is not None and pending.applied_on \
            and on < pending.applied_on:
        raise AwardError(N_("The decision cannot be dated before the application (%(date)s)."),
                         date=pending.applied_on.isoformat())
    if status != GrantStatus.applied and pending is None and any(
            g.level == level and g.status == status and g.decided_on == on for g in mine):
        # The same decision on the same day again: a form sent twice, or two admins at once.
        # (A renewable card granted twice would start a second validity period.)
        raise AwardError(N_("This decision is already recorded."))
    if status != GrantStatus.applied and pending is None and not judged:
        other = next((g for g in mine if g.status == GrantStatus.applied), None)
        if other is not None:
            raise AwardError(N_("The application on record is for %(level)s: record the decision "
                                "for that level."), level=_level_named(rule, other.level))
        raise AwardError(N_("Record the application first: a decision completes an application "
                            "of the same level."))
    if status == GrantStatus.applied and any(g.status == GrantStatus.applied for g in mine):
        # one level per application: not a second level while one is waiting for its decision
        raise AwardError(N_("An application is pending"))
    if status == GrantStatus.applied and not judged:
        check_application(session, volunteer, rule, level, on)
    declared_on = on if declared else getattr(pending, "declared_on", None)
    if rule.needs_criminal_record_declaration and declared_on is None \
            and status in (GrantStatus.applied, GrantStatus.granted):
        raise AwardError(N_("Needs the volunteer's declaration of no criminal conviction."))
    before = None
    if status != GrantStatus.applied and pending is not None:
        grant = pending
        before = _snapshot(grant)
    else:
        grant = AwardGrant(unit_id=volunteer.unit_id, volunteer_id=volunteer.id,
                           award_key=award_key, level=level, status=status,
                           created_by_id=getattr(actor, "id", None),
                           created_at=now or utcnow())
        session.add(grant)
    grant.status = status
    if rule.needs_criminal_record_declaration and declared_on is not None:
        grant.declared_on = declared_on
    if status == GrantStatus.applied:
        grant.applied_on = on
    else:
        grant.decided_on = on
    # the hours of the round applied in (a decision comes after that round's deadline)
    end = window_end(rule, grant.applied_on or on)
    service, prior = counted_minutes(session, volunteer.id, end)
    grant.minutes_counted = service + prior
    if status == GrantStatus.granted and rule.consumes:
        grant.minutes_used = levels[level]["minutes"] if minutes_used is None else minutes_used
        grant.months_used = (rule.months_required or 0) if months_used is None else months_used
    if status == GrantStatus.granted and rule.validity_years:
        previous = [g.valid_to for g in mine
                    if g is not grant and g.status == GrantStatus.granted and g.valid_to]
        start = on
        if previous and max(previous) + dt.timedelta(days=1) > start:
            start = max(previous) + dt.timedelta(days=1)
        grant.valid_from = start
        grant.valid_to = period_last_day(start, rule.validity_years)
    session.flush()
    audit.record(session, action="award_" + status.value, entity="award_grant",
                 entity_id=grant.id, actor=actor, unit_id=volunteer.unit_id, before=before,
                 after=_snapshot(grant), now=now)
    return grant
