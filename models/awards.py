"""Certificates and awards for service hours (rules.md "Certificates and awards").

The awards are DATA: `award_rule` rows (models/award_rules.py: seeded with its defaults by
migration 0005 and by `seed_rules`) say the levels and their hour thresholds, the years of
service required, the day hours are counted to, extra conditions and the filing deadline.
This module judges volunteers against them (models/award_grants.py records an application or a
decision, checked against the same rules). `award_grant` records what a
volunteer applied for and was granted (for the honour card also its validity and the hours and
months of service it used, which the next card cannot reuse).

`eligibility(session, volunteer, as_of)` explains, award by award, whether the volunteer can
apply now, for which level, with which hours and service years, and what is still missing.
Messages are English msgids with params (the UI translates them).
"""
from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass, field

from sqlalchemy import Date, Enum, ForeignKey, Integer, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from .award_rules import PERFORMANCE_CERTIFICATE, AwardRule, CountingWindow, rules, thresholds_of
from .base import TAIPEI, Base, UTCDateTime, utcnow
from .hours import verified_minutes
from .people import Volunteer
from .prior_service import PriorCertificate, PriorHours
from .messages import N_, Nn_, english, english_n, translated


class GrantStatus(str, enum.Enum):
    applied = "applied"
    granted = "granted"
    not_granted = "not_granted"


class AwardGrant(Base):
    __tablename__ = "award_grant"

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    volunteer_id: Mapped[int] = mapped_column(ForeignKey("volunteer.id"), index=True)
    award_key: Mapped[str] = mapped_column(String(40), index=True)
    level: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[GrantStatus] = mapped_column(Enum(GrantStatus, native_enum=False, length=20))
    applied_on: Mapped[dt.date | None] = mapped_column(Date)
    decided_on: Mapped[dt.date | None] = mapped_column(Date)
    valid_from: Mapped[dt.date | None] = mapped_column(Date)  # honour card
    valid_to: Mapped[dt.date | None] = mapped_column(Date)  # honour card, inclusive
    minutes_counted: Mapped[int] = mapped_column(Integer, default=0)  # snapshot at the decision
    minutes_used: Mapped[int] = mapped_column(Integer, default=0)  # not reusable (honour card)
    months_used: Mapped[int] = mapped_column(Integer, default=0)  # not reusable (honour card)
    # the day the volunteer declared no criminal conviction (Golden Diamond): only the
    # declaration is kept, never a record (PDPA §6)
    declared_on: Mapped[dt.date | None] = mapped_column(Date)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    volunteer: Mapped[Volunteer] = relationship()


# --- dates ------------------------------------------------------------------------------------

def add_months(day: dt.date, months: int) -> dt.date:
    """`day` moved by whole months; a day the target month lacks becomes its last day
    (29 Feb + 12 months = 28 Feb)."""
    y, m = divmod(day.month - 1 + months, 12)
    year, month = day.year + y, m + 1
    for d in (day.day, 30, 29, 28):
        try:
            return dt.date(year, month, min(day.day, d))
        except ValueError:
            continue
    raise AssertionError("unreachable")


def full_months(start: dt.date, end: dt.date) -> int:
    """Whole months of service from `start` to `end` (0 if end is before start)."""
    if end < start:
        return 0
    n = (end.year - start.year) * 12 + end.month - start.month
    while n > 0 and add_months(start, n) > end:
        n -= 1
    return n


def period_last_day(start: dt.date, years: int) -> dt.date:
    """The last day of a period of `years` years beginning on `start` (the start day counts),
    by the Civil Code §121: the day before the day of the last year that corresponds to
    `start`; when the last month has no such day, the last day of that month.
    2024-03-01 + 3 years ends 2027-02-28; so does 2024-02-29 + 3 years (no 29 February 2027)."""
    year = start.year + years
    try:
        return dt.date(year, start.month, start.day) - dt.timedelta(days=1)
    except ValueError:  # 29 February in a year without one: the last day of February
        return dt.date(year, 3, 1) - dt.timedelta(days=1)


@dataclass(frozen=True)
class AwardRound:
    """The round of an award open on a day: the filing deadline it is filed by (None for an
    award filed any time) and the day its hours are counted to."""
    due: dt.date | None
    counted_to: dt.date


def next_on_or_after(day: dt.date, month: int, dom: int) -> dt.date:
    """The next `month`/`dom` on or after `day`."""
    this = dt.date(day.year, month, dom)
    return this if this >= day else dt.date(day.year + 1, month, dom)


def award_round(rule: AwardRule, day: dt.date) -> AwardRound:
    """The one answer to "which round of this award is open on `day`": the next filing
    deadline on or after `day`, and the cut-off of that round (rules.md "Certificates and
    awards"): MOHW's hours count to 31 December before its March deadline, the national
    award's to 31 May of its July deadline's year, the others' to `day`. After a deadline the
    next year's round is open: on 2026-12-06 MOHW's round is due 2027-03-31 and counts hours to
    2026-12-31. The admin's award lists, the recorded applications and the volunteer's
    milestones all judge by it."""
    due = (next_on_or_after(day, rule.filing_month, rule.filing_day)
           if rule.filing_month and rule.filing_day else None)
    if rule.window == CountingWindow.previous_dec31:
        return AwardRound(due, dt.date((due or day).year - 1, 12, 31))
    if rule.window == CountingWindow.may31:
        if due is None:
            return AwardRound(None, min(dt.date(day.year, 5, 31), day))
        return AwardRound(due, dt.date(due.year, 5, 31))
    return AwardRound(due, day)


def window_end(rule: AwardRule, as_of: dt.date) -> dt.date:
    """The day hours are counted to for the round open on `as_of` (award_round)."""
    return award_round(rule, as_of).counted_to


def filing_deadline(rule: AwardRule, as_of: dt.date) -> dt.date | None:
    """The deadline of the round open on `as_of` (award_round)."""
    return award_round(rule, as_of).due


# --- hours and seniority ----------------------------------------------------------------------

def counted_minutes(session: Session, volunteer_id: int, until: dt.date) -> tuple[int, int]:
    """(verified service minutes, prior-hours minutes) counted up to and including `until`
    (a Taipei calendar day). Prior hours count when their period ended by `until`."""
    end = dt.datetime.combine(until + dt.timedelta(days=1), dt.time(0), tzinfo=TAIPEI)
    service = verified_minutes(session, volunteer_id, until=end.astimezone(dt.timezone.utc))
    prior = sum(session.scalars(select(PriorHours.minutes).where(
        PriorHours.volunteer_id == volunteer_id, PriorHours.period_end <= until)))
    return service, int(prior)


def seniority(session: Session, volunteer: Volunteer, as_of: dt.date) -> tuple[dt.date | None, str | None]:
    """(start of service years, source): 'training' (later of basic and special completion,
    rules.md "Seniority"), else 'joined_on' (Volunteer.joined_on), else (None, None)."""
    from .training import training_status
    from .unit import Unit

    unit = session.get(Unit, volunteer.unit_id)
    start = training_status(session, volunteer, unit.category, as_of=as_of).seniority_start
    if start is not None:
        return start, "training"
    if volunteer.joined_on is not None and volunteer.joined_on <= as_of:
        return volunteer.joined_on, "joined_on"
    return None, None


def taipei_months(unit_start: dt.date | None, periods, end: dt.date) -> int | None:
    """Whole months of service in Taipei up to `end`: with this unit (a Taipei unit) from
    `unit_start`, and the earlier units' periods (start, last day) served in Taipei, overlaps
    counted once; each unbroken stretch in whole months. None when nothing is known (no start
    with this unit and no period in Taipei)."""
    spans = []  # half-open [first day, day after the last)
    if unit_start is not None and unit_start <= end:
        spans.append((unit_start, end))
    for first, last in periods:
        stop = min(last + dt.timedelta(days=1), end)
        if first < stop:
            spans.append((first, stop))
    if not spans and unit_start is None:
        return None
    months, current = 0, None
    for first, stop in sorted(spans):
        if current is not None and first <= current[1]:
            current = (current[0], max(current[1], stop))
            continue
        if current is not None:
            months += full_months(*current)
        current = (first, stop)
    if current is not None:
        months += full_months(*current)
    return months


# --- the explanation --------------------------------------------------------------------------

@dataclass
class AwardEligibility:
    award_key: str
    name_zh: str
    name_en: str
    computed: bool
    eligible: bool
    level: int | None  # the level proposed (eligible) or the next one to reach
    level_name_zh: str = ""
    level_name_en: str = ""
    levelled: bool = False  # the rule has several levels: a message names the level too
    counted_to: dt.date | None = None
    service_minutes: int = 0  # verified service in the window
    prior_minutes: int = 0  # earlier units' record-book hours in the window
    used_minutes: int = 0  # already used by earlier grants (honour card)
    counted_minutes: int = 0  # service + prior - used
    seniority_start: dt.date | None = None
    seniority_source: str | None = None  # training | joined_on | None (unknown)
    service_months: int | None = None  # after months used by earlier grants
    # service_months = unit_months + earlier_months - used_months (not below 0):
    unit_months: int | None = None  # from seniority_start to counted_to (None: no start)
    earlier_months: int = 0  # added by earlier units' periods in Taipei (taipei_only)
    used_months: int = 0  # already used by earlier grants (honour card)
    months_required: int = 0
    required_minutes: int | None = None
    missing_minutes: int | None = None  # None when there is no level left to reach
    missing_months: int = 0
    missing_conditions: list[str] = field(default_factory=list)
    # the performance certificate that counted (rules needing one): {"source": "this_unit" |
    # "earlier_unit", "issued_on": date, "number": str, "unit": str}, None without one
    certificate: dict | None = None
    taipei_only: bool = False  # service_months count only service in Taipei
    granted_levels: list[int] = field(default_factory=list)
    message: str | tuple = ""  # N_ or Nn_ (models.messages)
    params: dict = field(default_factory=dict)  # DURATION_PARAMS hold minutes: see explain
    notes: list[str] = field(default_factory=list)
    filing_deadline: dt.date | None = None

    @property
    def missing_hours(self) -> float | None:
        return None if self.missing_minutes is None else self.missing_minutes / 60


# Params of an eligibility message that are minutes, shown as a duration by whoever reads them,
# and the days (ISO text, "—" for none), which a page keeps on one line.
DURATION_PARAMS = frozenset({"hours", "missing_hours"})
DATE_PARAMS = frozenset({"counted_to", "certificate_on"})


def duration_text(minutes: int) -> str:
    """141 h 25 min: the untranslated duration (the web pages use their translated filter)."""
    return f"{minutes // 60:,} h {minutes % 60:02d} min"


# How a message names the award: the award's name, and for an award of several levels the
# level's name too ("MOHW volunteer service award (Bronze badge)").
AWARD_AND_LEVEL = N_("%(award)s (%(level)s)")


def explain(e: AwardEligibility, gettext=english, ngettext=english_n,
            duration=duration_text, english_names: bool = False, day=str) -> str:
    """The eligibility's message as text: `gettext` and `ngettext` translate it (default: the
    English msgids), `duration` formats the DURATION_PARAMS' minutes and `day` the DATE_PARAMS;
    `english_names`: the award and level by their English names (when the rule has them), for a
    reader of English. `%(award)s` names the award, with the level when the award has several
    (AWARD_AND_LEVEL)."""
    params = {k: duration(v) if k in DURATION_PARAMS else day(v) if k in DATE_PARAMS else v
              for k, v in e.params.items()}
    if english_names and e.level_name_en and "level" in params:
        params["level"] = e.level_name_en
    if english_names and e.name_en and "award" in params:
        params["award"] = e.name_en
    if e.levelled and params.get("award") and params.get("level"):
        params["award"] = translated(AWARD_AND_LEVEL, {"award": params["award"],
                                                       "level": params["level"]},
                                     gettext, ngettext)
    return translated(e.message, params, gettext, ngettext)


def shortfall_message(missing_minutes: int, missing_months: int, taipei_only: bool) -> str | None:
    """What is still missing, as a msgid ("%(missing_hours)s more service and %(missing_months)s
    more months of service in Taipei needed"), or None when nothing is: the award lists' words,
    and the family list's for each member."""
    if missing_minutes and missing_months:
        if taipei_only:
            return Nn_("%(missing_hours)s more service and %(missing_months)s more month of "
                       "service in Taipei needed",
                       "%(missing_hours)s more service and %(missing_months)s more months of "
                       "service in Taipei needed", "missing_months")
        return Nn_("%(missing_hours)s more service and %(missing_months)s more month of service "
                   "needed",
                   "%(missing_hours)s more service and %(missing_months)s more months of service "
                   "needed", "missing_months")
    if missing_minutes:
        return N_("%(missing_hours)s more service needed")
    if missing_months:
        if taipei_only:
            return Nn_("%(missing_months)s more month of service in Taipei needed",
                       "%(missing_months)s more months of service in Taipei needed",
                       "missing_months")
        return Nn_("%(missing_months)s more month of service needed",
                   "%(missing_months)s more months of service needed", "missing_months")
    return None


def evaluate(rule: AwardRule, *, minutes: int, months: int | None, taken_levels: set[int],
             has_performance_certificate: bool = True, pending: bool = False,
             pending_level: int | None = None) -> dict:
    """The pure decision for one rule: which level to propose and what is missing.

    `minutes`, `months`: what counts (after anything used by earlier grants); months None when
    the start of service is unknown. `taken_levels`: levels granted or applied for (each once
    when the rule says so). Proposes the highest level the hours reach above every level taken:
    one level per application, and that one the level the volunteer's hours qualify for
    (rules.md: 1,500 h bronze, 2,000 h silver, 2,500 h gold; 2,600 h and nothing yet: gold,
    not bronze this year and silver the next). Levels are received upward: a level below one
    already taken is passed over, never proposed after it. Not reached: the next level above
    the ones taken, with what it still needs. With an application waiting for its decision
    (`pending_level`: its level), the level is the one applied for, until it is decided."""
    levels = sorted(rule.levels, key=lambda lv: lv["minutes"])
    if rule.once_per_level:
        top = max((lv["minutes"] for lv in levels if lv["level"] in taken_levels), default=None)
        open_levels = [lv for lv in levels if top is None or lv["minutes"] > top]
    else:
        open_levels = levels
    out = dict(eligible=False, level=None, missing_minutes=None, missing_months=0,
               missing_conditions=[], required_minutes=None)
    months_req = rule.months_required or 0
    if months_req:
        if months is None:
            out["missing_conditions"].append("seniority_unknown")
            out["missing_months"] = months_req
        else:
            out["missing_months"] = max(0, months_req - months)
    if rule.needs_performance_certificate and not has_performance_certificate:
        out["missing_conditions"].append("performance_certificate")
    if pending or pending_level is not None:
        out["missing_conditions"].append("pending_application")
    applied = next((lv for lv in levels if lv["level"] == pending_level), None)
    if applied is not None:  # the level applied for, not the next one, until it is decided
        out["level"] = applied["level"]
        out["required_minutes"] = applied["minutes"]
        out["missing_minutes"] = max(0, applied["minutes"] - minutes)
        return out
    if not open_levels:
        out["missing_conditions"].append("all_levels_granted")
        return out
    reached = [lv for lv in open_levels if lv["minutes"] <= minutes]
    target = reached[-1] if reached else open_levels[0]
    out["level"] = target["level"]
    out["required_minutes"] = target["minutes"]
    out["missing_minutes"] = max(0, target["minutes"] - minutes)
    out["eligible"] = (out["missing_minutes"] == 0 and out["missing_months"] == 0
                       and not out["missing_conditions"])
    return out


def _grants(session: Session, volunteer_id: int) -> list[AwardGrant]:
    return list(session.scalars(select(AwardGrant).where(
        AwardGrant.volunteer_id == volunteer_id).order_by(AwardGrant.id)))


@dataclass
class Inputs:
    """What `eligibility` reads from the database, preloaded (models.recognition computes
    these in bulk for a whole unit): the rules, the volunteer's grants, the start of service
    years and its source, (service, prior) minutes per window end, and the performance
    certificates recorded from earlier units (None: read when a rule needs one)."""
    rules: list[AwardRule]
    grants: list[AwardGrant]
    seniority: tuple[dt.date | None, str | None]
    counts: dict[dt.date, tuple[int, int]]
    prior_certificates: list[PriorCertificate] | None = None
    # earlier units' periods as (first day, last day, in_taipei); None: read when a rule needs it
    prior_periods: list[tuple[dt.date, dt.date, bool | None]] | None = None


def prior_periods(session: Session, volunteer_id: int) -> list[tuple[dt.date, dt.date, bool | None]]:
    return [tuple(r) for r in session.execute(
        select(PriorHours.period_start, PriorHours.period_end, PriorHours.in_taipei)
        .where(PriorHours.volunteer_id == volunteer_id).order_by(PriorHours.period_start))]


def prior_certificates(session: Session, volunteer_id: int) -> list[PriorCertificate]:
    return list(session.scalars(select(PriorCertificate).where(
        PriorCertificate.volunteer_id == volunteer_id).order_by(PriorCertificate.id)))


def certificate_on(grants: list[AwardGrant], earlier: list[PriorCertificate],
                   as_of: dt.date) -> dict | None:
    """The performance certificate that counts on `as_of`: this unit's (a granted
    performance-certificate award) or one recorded from an earlier unit, issued by `as_of`;
    the latest when there are several."""
    found = []
    for g in grants:
        if g.award_key == PERFORMANCE_CERTIFICATE and g.status == GrantStatus.granted \
                and (g.decided_on is None or g.decided_on <= as_of):
            found.append((g.decided_on or dt.date.min, 1, {
                "source": "this_unit", "issued_on": g.decided_on, "number": "", "unit": ""}))
    for c in earlier:
        if c.issued_on <= as_of:
            found.append((c.issued_on, 0, {"source": "earlier_unit", "issued_on": c.issued_on,
                                           "number": c.certificate_no, "unit": c.issuing_unit}))
    return max(found, key=lambda f: (f[0], f[1]))[2] if found else None


def eligibility(session: Session, volunteer: Volunteer, as_of: dt.date,
                inputs: Inputs | None = None) -> list[AwardEligibility]:
    """For every active award: eligible or not on `as_of`, the level proposed and why.
    `inputs`: the same data preloaded (then nothing is read from the database)."""
    if inputs is None:
        inputs = Inputs(rules=rules(session), grants=_grants(session, volunteer.id),
                        seniority=seniority(session, volunteer, as_of), counts={})
    grants = inputs.grants
    certificate = None
    if any(r.needs_performance_certificate for r in inputs.rules):
        if inputs.prior_certificates is None:
            inputs.prior_certificates = prior_certificates(session, volunteer.id)
        certificate = certificate_on(grants, inputs.prior_certificates, as_of)
    has_certificate = certificate is not None
    start, source = inputs.seniority
    cache = inputs.counts
    result = []
    for rule in inputs.rules:
        level_names = {lv["level"]: lv for lv in rule.levels}
        item = AwardEligibility(award_key=rule.key, name_zh=rule.name_zh, name_en=rule.name_en,
                                computed=rule.computed, eligible=False, level=None,
                                months_required=rule.months_required or 0,
                                filing_deadline=filing_deadline(rule, as_of))
        if rule.note:
            item.notes.append(rule.note)
        if not rule.computed:
            item.message = N_("Not judged per volunteer: the family or team has its own page")
            result.append(item)
            continue
        end = window_end(rule, as_of)
        item.counted_to = end
        if end not in cache:
            cache[end] = counted_minutes(session, volunteer.id, end)
        item.service_minutes, item.prior_minutes = cache[end]
        rule_start, rule_source = start, source
        if rule.this_unit_only:
            item.prior_minutes = 0  # earlier units' hours are theirs to certify
            joined = volunteer.joined_on
            if joined is not None and joined <= end and (rule_start is None or joined > rule_start):
                rule_start, rule_source = joined, "joined_on"
        in_taipei = bool(thresholds_of(rule).get("years_in_taipei_only"))
        if in_taipei:  # with this unit (in Taipei) from joining it, or from training if later
            joined = volunteer.joined_on
            if joined is not None and joined <= end and (rule_start is None or joined > rule_start):
                rule_start, rule_source = joined, "joined_on"
        mine = [g for g in grants if g.award_key == rule.key]
        taken = {g.level for g in mine if g.status in (GrantStatus.granted, GrantStatus.applied)}
        item.granted_levels = sorted(g.level for g in mine if g.status == GrantStatus.granted)
        applied = next((g for g in mine if g.status == GrantStatus.applied), None)
        pending = applied is not None
        used_min = used_months = 0
        if rule.consumes:
            used = [g for g in mine if g.status == GrantStatus.granted]
            used_min = sum(g.minutes_used for g in used)
            used_months = sum(g.months_used for g in used)
        item.used_minutes = used_min
        item.counted_minutes = max(0, item.service_minutes + item.prior_minutes - used_min)
        item.seniority_start, item.seniority_source = rule_start, rule_source
        months = None
        # where the months come from, as the hours: from the start with this unit, earlier
        # units' periods in Taipei (years_in_taipei_only), less what earlier grants used
        # a volunteer who left served until the day they left, however long ago that was
        served_to = end if volunteer.is_active or volunteer.left_on is None \
            else min(end, volunteer.left_on)
        item.unit_months = None if rule_start is None else full_months(rule_start, served_to)
        item.used_months = used_months
        if in_taipei:
            if inputs.prior_periods is None:
                inputs.prior_periods = prior_periods(session, volunteer.id)
            taipei = [(a, b) for a, b, where in inputs.prior_periods if where]
            months = taipei_months(rule_start, taipei, served_to)
            if months is not None:
                # what the earlier periods add (overlaps counted once: never below 0)
                item.earlier_months = months - (item.unit_months or 0)
                months = max(0, months - used_months)
                item.taipei_only = True
            if any(where is None and a <= end for a, _b, where in inputs.prior_periods):
                item.notes.append(N_("Some hours from earlier units do not say whether they "
                                     "were served in Taipei: their periods do not count as "
                                     "years in Taipei."))
        elif rule_start is not None:
            months = max(0, item.unit_months - used_months)
        item.service_months = months
        if rule.months_required and rule_source == "joined_on" and not rule.this_unit_only \
                and not in_taipei:
            item.notes.append(N_("Service years counted from the day the volunteer joined: "
                                 "training completion dates are not recorded."))
        if rule.months_required and rule_source is None:
            item.notes.append(N_("Service years unknown: no training completion dates and no "
                                 "joining date."))
        if rule.needs_criminal_record_declaration:
            item.notes.append(N_("Needs the volunteer's declaration of no criminal conviction "
                                 "at application."))
        decision = evaluate(rule, minutes=item.counted_minutes, months=months,
                            taken_levels=taken, has_performance_certificate=has_certificate,
                            pending=pending, pending_level=getattr(applied, "level", None))
        item.eligible = decision["eligible"]
        item.level = decision["level"]
        item.required_minutes = decision["required_minutes"]
        item.missing_minutes = decision["missing_minutes"]
        item.missing_months = decision["missing_months"]
        item.missing_conditions = decision["missing_conditions"]
        if item.level is not None:
            item.level_name_zh = level_names[item.level]["name_zh"]
            item.level_name_en = level_names[item.level]["name_en"]
        item.levelled = len(rule.levels) > 1
        item.params = {"award": rule.name_zh, "level": item.level_name_zh,
                       "hours": item.counted_minutes,
                       "missing_hours": item.missing_minutes or 0,
                       "missing_months": item.missing_months,
                       "counted_to": end.isoformat()}
        if rule.needs_performance_certificate and certificate is not None:
            item.certificate = certificate
            item.params |= {"certificate_on": (certificate["issued_on"].isoformat()
                                               if certificate["issued_on"] else "—"),
                            "certificate_no": certificate["number"],
                            "certificate_unit": certificate["unit"]}
        if item.eligible and item.certificate and item.certificate["source"] == "earlier_unit":
            item.message = N_("%(award)s: eligible with %(hours)s counted to %(counted_to)s; "
                              "performance certificate %(certificate_no)s from "
                              "%(certificate_unit)s, issued %(certificate_on)s")
        elif item.eligible and item.certificate:
            item.message = N_("%(award)s: eligible with %(hours)s counted to %(counted_to)s; "
                              "this unit's performance certificate of %(certificate_on)s")
        elif item.eligible:
            item.message = N_("%(award)s: eligible with %(hours)s counted to %(counted_to)s")
        elif "all_levels_granted" in item.missing_conditions:
            item.message = N_("Every level already granted")
        elif "pending_application" in item.missing_conditions:
            item.message = N_("An application is pending")
        elif item.missing_minutes or item.missing_months:
            item.message = shortfall_message(item.missing_minutes, item.missing_months,
                                             item.taipei_only)
        elif "performance_certificate" in item.missing_conditions:
            item.message = N_("Needs a performance certificate first: this unit's, or one from an "
                              "earlier unit recorded on the volunteer's record-book page")
        else:
            item.message = N_("Not eligible")
        result.append(item)
    return result
