"""Recognition (issue #6): award eligibility for a whole unit at once, the filing-deadline
calendar, award lists for filing and a volunteer's milestones. Performance certificates are
`models.certificates`; Golden Diamond families `models.golden_family`, teams `models.golden_team`.

`unit_eligibility` gives the same answers as `models.awards.eligibility` (same code: it only
preloads the inputs) with a fixed number of queries per unit instead of several per volunteer,
so the admin's calendar and lists stay quick with thousands of volunteers.
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from . import audit
from . import awards as aw
from . import award_rules
from .base import TAIPEI
from .hours import hours_value
from .people import User, Volunteer, VolunteerStatus, of_volunteers
from .prior_service import PriorCertificate, PriorHours
from .service import ServiceSession, SessionStatus


# --- eligibility for a whole unit ---------------------------------------------------------------

def _theirs(query, volunteer_column, unit_id: int, ids: list[int]):
    """`query` narrowed to these volunteers' rows (people.of_volunteers: their ids when they
    are a few, else the unit)."""
    return of_volunteers(query, volunteer_column, ids, [unit_id])


def _seniority_bulk(session: Session, unit_id: int, volunteers: list[Volunteer],
                    as_of: dt.date) -> dict[int, tuple[dt.date | None, str | None]]:
    """models.awards.seniority for every volunteer of a unit, in three queries."""
    from .training import TrainingCourse, TrainingKind, TrainingRecord, _done_by, courses_of
    from .unit import Category, Unit

    unit = session.get(Unit, unit_id)
    category = Category(getattr(unit.category, "value", unit.category))
    courses = courses_of(session, unit_id, include_inactive=False)
    current_basic = [c for c in courses if c.kind == TrainingKind.basic and not c.legacy]
    special = [c for c in courses if c.kind == TrainingKind.special and c.category == category]
    legacy_ids = set(session.scalars(select(TrainingCourse.id).where(
        TrainingCourse.unit_id == unit_id, TrainingCourse.kind == TrainingKind.basic,
        TrainingCourse.legacy.is_(True))))
    records: dict[int, list] = defaultdict(list)
    query = select(TrainingRecord.volunteer_id, TrainingRecord.course_id,
                   TrainingRecord.completed_on).where(TrainingRecord.completed_on <= as_of)
    ids = [v.id for v in volunteers]
    query = _theirs(query, TrainingRecord.volunteer_id, unit_id, ids)
    wanted = set(ids)
    for row in session.execute(query):  # rows have .course_id and .completed_on, as _done_by needs
        if row.volunteer_id in wanted:
            records[row.volunteer_id].append(row)
    out = {}
    for vol in volunteers:
        mine = records.get(vol.id, [])
        basic_on, _ = _done_by(mine, current_basic)
        legacy = [r.completed_on for r in mine if r.course_id in legacy_ids]
        if legacy and (basic_on is None or min(legacy) < basic_on):
            basic_on = min(legacy)
        special_on, _ = _done_by(mine, special)
        if basic_on is not None and special_on is not None:
            out[vol.id] = (max(basic_on, special_on), "training")
        elif vol.joined_on is not None and vol.joined_on <= as_of:
            out[vol.id] = (vol.joined_on, "joined_on")
        else:
            out[vol.id] = (None, None)
    return out


def _counts_bulk(session: Session, unit_id: int, ends: list[dt.date]
                 ) -> dict[dt.date, dict[int, tuple[int, int]]]:
    """(verified service minutes, prior minutes) per volunteer of the unit up to each of
    `ends` (as models.awards.counted_minutes), in one pass over the sessions."""
    ends = sorted(set(ends))
    if not ends:
        return {}
    bounds = [dt.datetime.combine(e + dt.timedelta(days=1), dt.time(0), tzinfo=TAIPEI)
              .astimezone(dt.timezone.utc) for e in ends]
    minutes = ServiceSession.credited_minutes
    service_rows = session.execute(
        select(ServiceSession.volunteer_id,
               *[func.coalesce(func.sum(case((ServiceSession.checked_in_at < b, minutes),
                                             else_=0)), 0) for b in bounds])
        .join(Volunteer, Volunteer.id == ServiceSession.volunteer_id)
        .where(Volunteer.unit_id == unit_id, ServiceSession.status == SessionStatus.verified,
               ServiceSession.checked_in_at < bounds[-1])
        .group_by(ServiceSession.volunteer_id)).all()
    prior_rows = session.execute(
        select(PriorHours.volunteer_id,
               *[func.coalesce(func.sum(case((PriorHours.period_end <= e, PriorHours.minutes),
                                             else_=0)), 0) for e in ends])
        .join(Volunteer, Volunteer.id == PriorHours.volunteer_id)
        .where(Volunteer.unit_id == unit_id, PriorHours.period_end <= ends[-1])
        .group_by(PriorHours.volunteer_id)).all()
    service = {row[0]: row[1:] for row in service_rows}
    prior = {row[0]: row[1:] for row in prior_rows}
    out = {}
    for i, end in enumerate(ends):
        out[end] = {vid: (int(service[vid][i]) if vid in service else 0,
                          int(prior[vid][i]) if vid in prior else 0)
                    for vid in set(service) | set(prior)}
    return out


def unit_eligibility(session: Session, unit_id: int, as_of: dt.date,
                     award_keys: list[str] | None = None,
                     volunteers: list[Volunteer] | None = None, candidates_only: bool = False
                     ) -> list[tuple[Volunteer, list[aw.AwardEligibility]]]:
    """`models.awards.eligibility` for every active volunteer of the unit (or `volunteers`),
    only for `award_keys` when given, with a fixed number of queries.

    `candidates_only`: leave out volunteers who cannot be eligible for any of the awards (their
    hours in the window are below every level; grants only ever take hours away) unless they
    have an application pending; much less work for lists and counts of who qualifies."""
    rules = [r for r in award_rules.rules(session) if award_keys is None or r.key in award_keys]
    if volunteers is None:
        volunteers = _active_volunteers(session, unit_id)
    if not volunteers:
        return []
    grants = _grants_bulk(session, unit_id)
    counts = _counts_bulk(session, unit_id, [aw.window_end(r, as_of) for r in rules if r.computed])
    return _evaluate_all(session, unit_id, volunteers, rules, as_of, grants, counts,
                         candidates_only)


def _active_volunteers(session: Session, unit_id: int) -> list[Volunteer]:
    return list(session.scalars(select(Volunteer).where(
        Volunteer.unit_id == unit_id, Volunteer.status == VolunteerStatus.active)
        .order_by(Volunteer.volunteer_no, Volunteer.id)))


def _prior_certificates_bulk(session: Session, unit_id: int, volunteers: list[Volunteer]
                             ) -> dict[int, list[PriorCertificate]]:
    """Performance certificates recorded from earlier units, per volunteer, in one query."""
    query = _theirs(select(PriorCertificate).order_by(PriorCertificate.id),
                    PriorCertificate.volunteer_id, unit_id, [v.id for v in volunteers])
    out: dict[int, list[PriorCertificate]] = defaultdict(list)
    for row in session.scalars(query):
        out[row.volunteer_id].append(row)
    return out


def _prior_periods_bulk(session: Session, unit_id: int, volunteers: list[Volunteer]
                        ) -> dict[int, list[tuple]]:
    """Earlier units' periods (first day, last day, in Taipei) per volunteer, in one query."""
    query = _theirs(select(PriorHours.volunteer_id, PriorHours.period_start, PriorHours.period_end,
                           PriorHours.in_taipei).order_by(PriorHours.period_start),
                    PriorHours.volunteer_id, unit_id, [v.id for v in volunteers])
    out: dict[int, list[tuple]] = defaultdict(list)
    for volunteer_id, first, last, where in session.execute(query):
        out[volunteer_id].append((first, last, where))
    return out


def _grants_bulk(session: Session, unit_id: int) -> dict[int, list[aw.AwardGrant]]:
    grants: dict[int, list[aw.AwardGrant]] = defaultdict(list)
    for g in session.scalars(select(aw.AwardGrant).where(aw.AwardGrant.unit_id == unit_id)
                             .order_by(aw.AwardGrant.id)):
        grants[g.volunteer_id].append(g)
    return grants


def _evaluate_all(session, unit_id, volunteers, rules, as_of, grants, counts, candidates_only,
                  with_seniority: bool = True):
    """Eligibility from preloaded grants and counts. `with_seniority` False: service years
    are not looked up unless a rule requires them (the calendar only counts who qualifies)."""
    ends = {aw.window_end(r, as_of) for r in rules if r.computed}
    lowest = {r.key: min((lv["minutes"] for lv in r.levels), default=0) for r in rules}
    chosen = []
    for vol in volunteers:
        if candidates_only and not any(g.status == aw.GrantStatus.applied
                                       for g in grants.get(vol.id, [])):
            if not any(sum(counts[aw.window_end(r, as_of)].get(vol.id, (0, 0))) >= lowest[r.key]
                       for r in rules if r.computed):
                continue
        chosen.append(vol)
    needs_years = with_seniority or any(r.months_required for r in rules if r.computed)
    seniority = (_seniority_bulk(session, unit_id, chosen, as_of) if chosen and needs_years
                 else {})
    certificates = (_prior_certificates_bulk(session, unit_id, chosen)
                    if chosen and any(r.needs_performance_certificate for r in rules) else {})
    periods = (_prior_periods_bulk(session, unit_id, chosen)
               if chosen and any(award_rules.thresholds_of(r).get("years_in_taipei_only")
                                 for r in rules if r.computed) else {})
    out = []
    for vol in chosen:
        inputs = aw.Inputs(rules=rules, grants=grants.get(vol.id, []),
                           seniority=seniority.get(vol.id, (None, None)),
                           counts={end: counts[end].get(vol.id, (0, 0)) for end in ends},
                           prior_certificates=certificates.get(vol.id, []),
                           prior_periods=periods.get(vol.id, []))
        out.append((vol, aw.eligibility(session, vol, as_of, inputs)))
    return out


# --- the deadline calendar ----------------------------------------------------------------------

@dataclass
class Deadline:
    kind: str  # "award" | "report"
    key: str  # award key, or "report_h1" / "report_h2"
    name_zh: str
    name_en: str
    due: dt.date
    opens: dt.date | None = None  # report windows
    qualifying: int | None = None  # awards: volunteers who can apply now
    pending: int = 0  # awards: applications waiting for a decision
    days_left: int = 0

    @property
    def is_open(self) -> bool:
        return self.opens is not None and self.opens <= self.today <= self.due

    today: dt.date = field(default=dt.date.min, repr=False)


REPORT_WINDOWS = (
    # (key, month, first day, last day, zh, en)
    ("report_h2", 1, 1, 10, "半年成果報表（前一年 7–12 月）", "Half-year report (July–December)"),
    ("report_h1", 7, 1, 10, "半年成果報表（1–6 月）", "Half-year report (January–June)"),
)


_next_on_or_after = aw.next_on_or_after


def deadlines(session: Session, unit_id: int, today: dt.date, horizon_days: int = 366
              ) -> list[Deadline]:
    """The filing deadlines from `today` on (within `horizon_days`), soonest first: each award
    with a filing date and how many of the unit's volunteers qualify for it, and the
    half-year report windows (1–10 January, 1–10 July; rules.md "Reports").

    Each award is judged for its round open today (awards.award_round: MOHW's hours to the
    31 December before the deadline, the national award's to 31 May), as the lists are."""
    out: list[Deadline] = []
    filed = [r for r in award_rules.rules(session) if r.filing_month and r.filing_day]
    by_as_of: dict[dt.date, list[award_rules.AwardRule]] = defaultdict(list)
    dues = {}
    for rule in filed:
        due = aw.award_round(rule, today).due
        if (due - today).days > horizon_days:
            continue
        dues[rule.key] = due
        if rule.computed:
            by_as_of[today].append(rule)
    qualifying: dict[str, int] = {}
    pending: dict[str, int] = defaultdict(int)
    if by_as_of:
        volunteers = _active_volunteers(session, unit_id)
        grants = _grants_bulk(session, unit_id)
        counts = _counts_bulk(session, unit_id, [aw.window_end(r, a) for a, group
                                                 in by_as_of.items() for r in group])
        for as_of, group in by_as_of.items():
            for _vol, items in _evaluate_all(session, unit_id, volunteers, group, as_of, grants,
                                             counts, candidates_only=True,
                                             with_seniority=False):
                for e in items:
                    qualifying[e.award_key] = qualifying.get(e.award_key, 0) + int(e.eligible)
    for key, n in session.execute(
            select(aw.AwardGrant.award_key, func.count()).where(
                aw.AwardGrant.unit_id == unit_id,
                aw.AwardGrant.status == aw.GrantStatus.applied)
            .group_by(aw.AwardGrant.award_key)):
        pending[key] = n
    from . import group_awards as ga  # families' and teams' applications

    for key, n in ga.pending_counts(session, unit_id).items():
        pending[key] += n
    # like a volunteer with an application, a family or team that applied in the deadline's
    # year is no longer counted as qualifying
    if award_rules.GOLDEN_DIAMOND_FAMILY in dues:
        from .golden_family import family_list
        applied = ga.applied_in(session, unit_id, ga.FAMILY, dues[award_rules.GOLDEN_DIAMOND_FAMILY].year)
        qualifying[award_rules.GOLDEN_DIAMOND_FAMILY] = sum(
            f.qualifies and f.family.id not in applied
            for f in family_list(session, unit_id, today))
    if award_rules.GOLDEN_DIAMOND_TEAM in dues:
        from .golden_team import team_list
        applied = ga.applied_in(session, unit_id, ga.TEAM, dues[award_rules.GOLDEN_DIAMOND_TEAM].year)
        qualifying[award_rules.GOLDEN_DIAMOND_TEAM] = sum(
            t.eligible and t.site.id not in applied for t in team_list(session, unit_id, today))
    for rule in filed:
        if rule.key not in dues:
            continue
        due = dues[rule.key]
        counted = rule.computed or rule.key in (award_rules.GOLDEN_DIAMOND_FAMILY,
                                                award_rules.GOLDEN_DIAMOND_TEAM)
        out.append(Deadline(kind="award", key=rule.key, name_zh=rule.name_zh,
                            name_en=rule.name_en or rule.name_zh, due=due,
                            qualifying=qualifying.get(rule.key, 0) if counted else None,
                            pending=pending.get(rule.key, 0), days_left=(due - today).days,
                            today=today))
    for key, month, first, last, zh, en in REPORT_WINDOWS:
        due = _next_on_or_after(today, month, last)
        if (due - today).days > horizon_days:
            continue
        out.append(Deadline(kind="report", key=key, name_zh=zh, name_en=en, due=due,
                            opens=dt.date(due.year, month, first), days_left=(due - today).days,
                            today=today))
    out.sort(key=lambda d: (d.due, d.kind, d.key))
    return out


# --- the list for one award ---------------------------------------------------------------------

@dataclass
class AwardRow:
    volunteer: Volunteer
    eligibility: aw.AwardEligibility
    pending: aw.AwardGrant | None  # an application waiting for a decision
    last: aw.AwardGrant | None = None  # the latest record (after an action)


def award_list(session: Session, unit_id: int, award_key: str, as_of: dt.date) -> list[AwardRow]:
    """The volunteers who can apply for `award_key` on `as_of` (with the evidence), and those
    whose application is waiting for a decision, by volunteer number."""
    rows = []
    for vol, items in unit_eligibility(session, unit_id, as_of, [award_key],
                                        candidates_only=True):
        e = items[0]
        pending = next((g for g in session.scalars(select(aw.AwardGrant).where(
            aw.AwardGrant.volunteer_id == vol.id, aw.AwardGrant.award_key == award_key,
            aw.AwardGrant.status == aw.GrantStatus.applied))), None) \
            if "pending_application" in e.missing_conditions else None
        if e.eligible or pending is not None:
            rows.append(AwardRow(vol, e, pending))
    return rows


def award_row(session: Session, volunteer: Volunteer, award_key: str, as_of: dt.date) -> AwardRow:
    e = next(x for x in aw.eligibility(session, volunteer, as_of) if x.award_key == award_key)
    mine = list(session.scalars(select(aw.AwardGrant).where(
        aw.AwardGrant.volunteer_id == volunteer.id, aw.AwardGrant.award_key == award_key)
        .order_by(aw.AwardGrant.id)))
    pending = next((g for g in mine if g.status == aw.GrantStatus.applied), None)
    last = max(mine, key=lambda g: (g.decided_on or g.applied_on or dt.date.min, g.id),
               default=None)
    return AwardRow(volunteer, e, pending, last)


def award_history(session: Session, unit_id: int, award_key: str, limit: int = 200
                  ) -> list[aw.AwardGrant]:
    """Decisions and applications recorded for this award in the unit, newest first."""
    from sqlalchemy.orm import joinedload

    return list(session.scalars(
        select(aw.AwardGrant).options(joinedload(aw.AwardGrant.volunteer))
        .where(aw.AwardGrant.unit_id == unit_id, aw.AwardGrant.award_key == award_key)
        .order_by(aw.AwardGrant.id.desc()).limit(limit)))


# The months of service that count and where they come from, as the hours: the start and the
# months from it, earlier units' periods in Taipei (awards counting years in Taipei only),
# less the months earlier grants used (honour card). The pages show the same (_service_years).
SERVICE_YEARS_HEADERS = ["採計年資（月）", "年資起算日", "本單位年資（月）", "他單位臺北市年資（月）",
                         "已使用年資（月）"]


def service_years_cells(e: aw.AwardEligibility) -> list:
    """An eligibility's SERVICE_YEARS_HEADERS columns ("" where nothing is known or counted)."""
    if e.service_months is None:
        return ["", "", "", "", ""]
    return [e.service_months, e.seniority_start.isoformat() if e.seniority_start else "",
            "" if e.unit_months is None else e.unit_months,
            e.earlier_months if e.taipei_only else "", e.used_months]


AWARD_LIST_HEADERS = ["序號", "志工編號", "姓名", "身分證統一編號", "出生年月日", "紀錄冊編號",
                      "申請等級", "採計時數", "本單位服務時數", "他單位時數", "已使用時數",
                      "時數計至", *SERVICE_YEARS_HEADERS, "說明", "狀態"]


def award_list_xlsx(session: Session, actor: User, now: dt.datetime, rule: award_rules.AwardRule,
                    rows: list[AwardRow], as_of: dt.date, explain=aw.explain) -> bytes:
    """The filing list as XLSX (hours, months and counts as numbers, the rest text, formulas
    neutralised), audited (it holds ID numbers). `explain` words each line's eligibility (the
    web app passes its Chinese one)."""
    from .export import TextSheet, text_sheets_xlsx

    lines = []
    for n, row in enumerate(rows, start=1):
        e, v = row.eligibility, row.volunteer
        status = "申請中" if row.pending else "符合"
        lines.append([n, v.volunteer_no, v.name_zh, v.id_number, v.birth_date.isoformat(),
                      v.record_book_no, e.level_name_zh, hours_value(e.counted_minutes),
                      hours_value(e.service_minutes), hours_value(e.prior_minutes),
                      hours_value(e.used_minutes), e.counted_to.isoformat() if e.counted_to else "",
                      *service_years_cells(e), explain(e), status])
    data = text_sheets_xlsx([TextSheet("申請名冊", AWARD_LIST_HEADERS, lines,
                                       caption=f"{rule.name_zh}（{as_of.isoformat()}）")])
    # Full ID numbers leave the database: in the access log (models/access_log.py).
    audit.record(session, action="id_number_export", entity="unit", entity_id=actor.unit_id,
                 actor=actor, unit_id=actor.unit_id, now=now,
                 after={"purpose": "award_list", "award": rule.key, "as_of": as_of.isoformat(),
                        "rows": len(rows)})
    return data


# --- milestones ---------------------------------------------------------------------------------

@dataclass
class Milestone:
    eligibility: aw.AwardEligibility
    percent: int  # toward the hours of the level to reach (100 when reached)
    months_percent: int | None  # toward the years required, None when none required


def milestones(session: Session, volunteer: Volunteer, as_of: dt.date) -> list[Milestone]:
    """The volunteer's progress toward every computed award: what counts and what is missing,
    each award judged for its round open on `as_of` (awards.award_round, as the admin's award
    lists), so what was served since the last round shows as progress toward the next one."""
    out = []
    for e in aw.eligibility(session, volunteer, as_of):
        if not e.computed:
            continue
        if e.required_minutes:
            percent = min(100, int(100 * e.counted_minutes / e.required_minutes))
        else:
            percent = 100
        months_percent = None
        if e.months_required:
            months_percent = min(100, int(100 * (e.service_months or 0) / e.months_required))
        out.append(Milestone(e, percent, months_percent))
    return out
