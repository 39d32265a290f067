"""Recognition (issue #6): award eligibility for a whole unit at once, the filing-deadline
calendar, award lists for filing, a volunteer's milestones, and performance certificates
(志願服務績效證明書).

`unit_eligibility` gives the same answers as `models.awards.eligibility` (same code: it only
preloads the inputs) with a fixed number of queries per unit instead of several per volunteer,
so the admin's calendar and lists stay quick with thousands of volunteers.

Performance certificates: the volunteer requests one (or an admin starts it); the unit issues
it within 7 days (rules.md). Issuing takes a gap-free number per unit and year
(`models.slips.next_serial`, kind "performance_certificate"), freezes everything printed on the
certificate in its row (so the PDF downloaded later is the one issued) and records the grant
of the `performance_certificate` award (the national award needs one). Every change is audited.
"""
from __future__ import annotations

import datetime as dt
import enum
from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import (JSON, Date, Enum, ForeignKey, Index, Integer, String, UniqueConstraint,
                        case, func, select, text)
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from . import audit
from . import awards as aw
from .base import TAIPEI, Base, UTCDateTime, begin_write, taipei_date, utcnow
from .people import Role, User, Volunteer, VolunteerStatus
from .record_book import PriorHours
from .service import ServiceItem, ServiceSession, SessionStatus


def N_(message: str) -> str:
    """Mark a message for translation; the UI translates it when it shows it."""
    return message


# --- eligibility for a whole unit ---------------------------------------------------------------

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
    if len(ids) <= 500:  # a few candidates: only theirs
        query = query.where(TrainingRecord.volunteer_id.in_(ids))
    else:
        query = query.join(Volunteer, Volunteer.id == TrainingRecord.volunteer_id).where(
            Volunteer.unit_id == unit_id)
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
    rules = [r for r in aw.rules(session) if award_keys is None or r.key in award_keys]
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
    out = []
    for vol in chosen:
        inputs = aw.Inputs(rules=rules, grants=grants.get(vol.id, []),
                           seniority=seniority.get(vol.id, (None, None)),
                           counts={end: counts[end].get(vol.id, (0, 0)) for end in ends})
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


def _next_on_or_after(today: dt.date, month: int, day: int) -> dt.date:
    this = dt.date(today.year, month, day)
    return this if this >= today else dt.date(today.year + 1, month, day)


def deadlines(session: Session, unit_id: int, today: dt.date, horizon_days: int = 366
              ) -> list[Deadline]:
    """The filing deadlines from `today` on (within `horizon_days`), soonest first: each award
    with a filing date and how many of the unit's volunteers qualify for it, and the
    half-year report windows (1–10 January, 1–10 July; rules.md "Reports").

    Awards whose hours count to the deadline's own window (MOHW: previous 31 December;
    national: 31 May) are judged as of the deadline; the others as of today."""
    out: list[Deadline] = []
    award_rules = [r for r in aw.rules(session) if r.filing_month and r.filing_day]
    by_as_of: dict[dt.date, list[aw.AwardRule]] = defaultdict(list)
    dues = {}
    for rule in award_rules:
        due = _next_on_or_after(today, rule.filing_month, rule.filing_day)
        if (due - today).days > horizon_days:
            continue
        dues[rule.key] = due
        if rule.computed:
            as_of = today if rule.window == aw.CountingWindow.as_of else due
            by_as_of[as_of].append(rule)
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
    if aw.GOLDEN_DIAMOND_FAMILY in dues:
        qualifying[aw.GOLDEN_DIAMOND_FAMILY] = sum(
            f.qualifies for f in family_list(session, unit_id, today))
    if aw.GOLDEN_DIAMOND_TEAM in dues:
        from .golden_team import team_list
        qualifying[aw.GOLDEN_DIAMOND_TEAM] = sum(t.eligible for t in team_list(session, unit_id,
                                                                               today))
    for rule in award_rules:
        if rule.key not in dues:
            continue
        due = dues[rule.key]
        counted = rule.computed or rule.key in (aw.GOLDEN_DIAMOND_FAMILY,
                                                aw.GOLDEN_DIAMOND_TEAM)
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


AWARD_LIST_HEADERS = ["序號", "志工編號", "姓名", "身分證統一編號", "出生年月日", "紀錄冊編號",
                      "申請等級", "採計時數", "本單位服務時數", "他單位時數", "已使用時數",
                      "時數計至", "年資起算日", "年資（月）", "說明", "狀態"]


def award_list_xlsx(session: Session, actor: User, now: dt.datetime, rule: aw.AwardRule,
                    rows: list[AwardRow], as_of: dt.date) -> bytes:
    """The filing list as XLSX (every cell text, formulas neutralised), audited (it holds ID
    numbers)."""
    from openpyxl import Workbook
    from openpyxl.utils import get_column_letter

    from .export import neutralise

    book = Workbook()
    sheet = book.active
    sheet.title = "awards"
    sheet.cell(row=1, column=1, value=neutralise(f"{rule.name_zh}（{as_of.isoformat()}）"))
    lines = [AWARD_LIST_HEADERS]
    for n, row in enumerate(rows, start=1):
        e, v = row.eligibility, row.volunteer
        status = "申請中" if row.pending else "符合"
        lines.append([n, v.volunteer_no, v.name_zh, v.id_number, v.birth_date.isoformat(),
                      v.record_book_no, e.level_name_zh, aw.hours_text(e.counted_minutes),
                      aw.hours_text(e.service_minutes), aw.hours_text(e.prior_minutes),
                      aw.hours_text(e.used_minutes), e.counted_to.isoformat() if e.counted_to else "",
                      e.seniority_start.isoformat() if e.seniority_start else "",
                      "" if e.service_months is None else e.service_months,
                      (e.message % e.params) if e.params else e.message, status])
    for r, line in enumerate(lines, start=2):
        for c, value in enumerate(line, start=1):
            if value == "":
                continue
            cell = sheet.cell(row=r, column=c)
            cell.value = neutralise(value)
            cell.data_type = "s"
    for c, header in enumerate(AWARD_LIST_HEADERS, start=1):
        sheet.column_dimensions[get_column_letter(c)].width = max(10, len(header) * 2 + 4)
    import io

    buffer = io.BytesIO()
    book.save(buffer)
    audit.record(session, action="export_award_list", entity="unit", entity_id=actor.unit_id,
                 actor=actor, unit_id=actor.unit_id, now=now,
                 after={"award": rule.key, "as_of": as_of.isoformat(), "rows": len(rows)})
    return buffer.getvalue()


# --- milestones ---------------------------------------------------------------------------------

@dataclass
class Milestone:
    eligibility: aw.AwardEligibility
    percent: int  # toward the hours of the level to reach (100 when reached)
    months_percent: int | None  # toward the years required, None when none required


def milestones(session: Session, volunteer: Volunteer, as_of: dt.date) -> list[Milestone]:
    """The volunteer's progress toward every computed award: what counts and what is missing."""
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


# --- performance certificates -------------------------------------------------------------------

CERTIFICATE_KIND = "performance_certificate"
DUE_DAYS = 7


class CertificateStatus(str, enum.Enum):
    requested = "requested"
    issued = "issued"


class PerformanceCertificate(Base):
    """One request for a performance certificate and, once issued, what was printed on it."""

    __tablename__ = "performance_certificate"
    __table_args__ = (
        UniqueConstraint("unit_id", "year", "seq"),
        # at most one open request per volunteer
        Index("uq_performance_certificate_open", "volunteer_id", unique=True,
              sqlite_where=text("status = 'requested'"),
              postgresql_where=text("status = 'requested'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    volunteer_id: Mapped[int] = mapped_column(ForeignKey("volunteer.id"), index=True)
    status: Mapped[CertificateStatus] = mapped_column(
        Enum(CertificateStatus, native_enum=False, length=20), default=CertificateStatus.requested)
    requested_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    due_on: Mapped[dt.date] = mapped_column(Date)
    note: Mapped[str] = mapped_column(String(300), default="")
    # set when issued: the number and everything printed
    year: Mapped[int | None] = mapped_column(Integer)
    seq: Mapped[int | None] = mapped_column(Integer)
    serial: Mapped[str | None] = mapped_column(String(40), unique=True)
    issued_on: Mapped[dt.date | None] = mapped_column(Date)
    issued_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    printed: Mapped[dict | None] = mapped_column(JSON)

    volunteer: Mapped[Volunteer] = relationship()


class CertificateError(ValueError):
    def __init__(self, message: str, **params):
        super().__init__(message % params if params else message)
        self.message = message
        self.params = params


def format_certificate_serial(unit_id: int, year: int, seq: int) -> str:
    return f"P{unit_id:03d}-{year}-{seq:05d}"


def _snapshot(c: PerformanceCertificate) -> dict:
    return {"volunteer_id": c.volunteer_id, "status": c.status.value,
            "due_on": c.due_on.isoformat() if c.due_on else None, "note": c.note,
            "serial": c.serial, "issued_on": c.issued_on.isoformat() if c.issued_on else None,
            "printed": c.printed}


def certificate_eligibility(session: Session, volunteer: Volunteer, as_of: dt.date
                            ) -> aw.AwardEligibility:
    return next(e for e in aw.eligibility(session, volunteer, as_of)
                if e.award_key == aw.PERFORMANCE_CERTIFICATE)


def volunteer_by_number(session: Session, unit_id: int, number: str) -> Volunteer | None:
    return session.scalar(select(Volunteer).where(Volunteer.unit_id == unit_id,
                                                  Volunteer.volunteer_no == number))


def open_request(session: Session, volunteer_id: int) -> PerformanceCertificate | None:
    return session.scalar(select(PerformanceCertificate).where(
        PerformanceCertificate.volunteer_id == volunteer_id,
        PerformanceCertificate.status == CertificateStatus.requested))


def request_certificate(session: Session, volunteer: Volunteer, actor: User, now: dt.datetime,
                        note: str = "") -> PerformanceCertificate:
    """A request (by the volunteer, or started by an admin), due 7 days later. Refused when the
    volunteer does not qualify yet (the explanation says why) or a request is already open.
    Caller commits."""
    begin_write(session)
    if actor.role == Role.volunteer and getattr(actor.volunteer, "id", None) != volunteer.id:
        raise PermissionError("not yours")
    if actor.role != Role.volunteer and (actor.role != Role.admin
                                         or actor.unit_id != volunteer.unit_id):
        raise PermissionError("admins of the unit only")
    note = (note or "").strip()
    if len(note) > 300:
        raise CertificateError(N_("Use at most %(max)d characters."), max=300)
    if open_request(session, volunteer.id) is not None:
        raise CertificateError(N_("A request is already open."))
    today = taipei_date(now)
    e = certificate_eligibility(session, volunteer, today)
    if not e.eligible:
        raise CertificateError(N_("Not eligible yet: %(why)s"), why=e.message % e.params)
    cert = PerformanceCertificate(unit_id=volunteer.unit_id, volunteer_id=volunteer.id,
                                  status=CertificateStatus.requested, requested_at=now,
                                  requested_by_id=actor.id, note=note,
                                  due_on=today + dt.timedelta(days=DUE_DAYS))
    session.add(cert)
    session.flush()
    audit.record(session, action="performance_certificate_requested",
                 entity="performance_certificate", entity_id=cert.id, actor=actor,
                 unit_id=volunteer.unit_id, now=now, after=_snapshot(cert))
    return cert


def _service_facts(session: Session, volunteer_id: int, until: dt.date) -> dict:
    """Service period (first and last day of verified service), service items by minutes and
    the verified minutes at this unit, up to `until` (Taipei)."""
    end = dt.datetime.combine(until + dt.timedelta(days=1), dt.time(0), tzinfo=TAIPEI)
    base = (ServiceSession.volunteer_id == volunteer_id,
            ServiceSession.status == SessionStatus.verified,
            ServiceSession.checked_in_at < end.astimezone(dt.timezone.utc))
    first, last, total = session.execute(select(
        func.min(ServiceSession.checked_in_at), func.max(ServiceSession.checked_in_at),
        func.coalesce(func.sum(ServiceSession.credited_minutes), 0)).where(*base)).one()
    items = session.execute(
        select(ServiceItem.name_zh, func.sum(ServiceSession.credited_minutes).label("m"))
        .join(ServiceItem, ServiceItem.id == ServiceSession.service_item_id).where(*base)
        .group_by(ServiceItem.name_zh).order_by(text("m DESC"), ServiceItem.name_zh)).all()
    return {"first": taipei_date(first) if first else None,
            "last": taipei_date(last) if last else None,
            "items": [name for name, _m in items], "minutes": int(total or 0)}


def issue_certificate(session: Session, cert_id: int, actor: User, now: dt.datetime
                      ) -> PerformanceCertificate:
    """Number the certificate (gap-free per unit and year), freeze what is printed, record the
    performance-certificate grant. Admins of the unit only. Caller commits."""
    from .slips import next_serial
    from .unit import Unit

    begin_write(session)
    cert = session.get(PerformanceCertificate, cert_id, with_for_update=True)
    if cert is None or actor.role != Role.admin or cert.unit_id != actor.unit_id:
        raise PermissionError("admins of the unit only")
    if cert.status != CertificateStatus.requested:
        raise CertificateError(N_("This certificate is already issued."))
    volunteer = session.get(Volunteer, cert.volunteer_id)
    today = taipei_date(now)
    e = certificate_eligibility(session, volunteer, today)
    if not e.eligible:
        raise CertificateError(N_("Not eligible yet: %(why)s"), why=e.message % e.params)
    before = _snapshot(cert)
    facts = _service_facts(session, volunteer.id, today)
    unit = session.get(Unit, volunteer.unit_id)
    seq = next_serial(session, volunteer.unit_id, CERTIFICATE_KIND, today.year)
    cert.year, cert.seq = today.year, seq
    cert.serial = format_certificate_serial(volunteer.unit_id, today.year, seq)
    cert.status = CertificateStatus.issued
    cert.issued_on, cert.issued_at, cert.issued_by_id = today, now, actor.id
    cert.printed = {
        "volunteer_name": volunteer.name_zh, "volunteer_no": volunteer.volunteer_no,
        "birth_date": volunteer.birth_date.isoformat(),
        "record_book_no": volunteer.record_book_no or "",
        "period_start": facts["first"].isoformat() if facts["first"] else None,
        "period_end": facts["last"].isoformat() if facts["last"] else None,
        "service_items": facts["items"], "service_minutes": facts["minutes"],
        "prior_minutes": e.prior_minutes, "unit_name": unit.name,
        "issued_on": today.isoformat(), "serial": cert.serial,
    }
    session.flush()
    aw.record_grant(session, volunteer, aw.PERFORMANCE_CERTIFICATE, 1, aw.GrantStatus.granted,
                    today, actor, now)
    audit.record(session, action="performance_certificate_issued",
                 entity="performance_certificate", entity_id=cert.id, actor=actor,
                 unit_id=cert.unit_id, now=now, before=before, after=_snapshot(cert))
    return cert


def certificates_for_admin(session: Session, unit_id: int) -> tuple[list, list]:
    """(open requests, soonest due first; issued certificates, newest first)."""
    from sqlalchemy.orm import joinedload

    q = select(PerformanceCertificate).options(joinedload(PerformanceCertificate.volunteer)) \
        .where(PerformanceCertificate.unit_id == unit_id)
    open_ = list(session.scalars(q.where(
        PerformanceCertificate.status == CertificateStatus.requested)
        .order_by(PerformanceCertificate.due_on, PerformanceCertificate.id)))
    issued = list(session.scalars(q.where(
        PerformanceCertificate.status == CertificateStatus.issued)
        .order_by(PerformanceCertificate.id.desc()).limit(200)))
    return open_, issued


def certificate_counts(session: Session, unit_id: int, today: dt.date) -> tuple[int, int]:
    """(open requests, overdue ones) of the unit."""
    base = select(func.count()).select_from(PerformanceCertificate).where(
        PerformanceCertificate.unit_id == unit_id,
        PerformanceCertificate.status == CertificateStatus.requested)
    return (int(session.scalar(base) or 0),
            int(session.scalar(base.where(PerformanceCertificate.due_on < today)) or 0))


def certificates_of(session: Session, volunteer_id: int) -> list[PerformanceCertificate]:
    return list(session.scalars(select(PerformanceCertificate).where(
        PerformanceCertificate.volunteer_id == volunteer_id)
        .order_by(PerformanceCertificate.id.desc())))


# --- Golden Diamond family (金鑽獎 家庭) ----------------------------------------------------------
#
# rules.md: at least 2 related volunteers, each at least 3 years and 600 hours. Who is related
# is not in the records, so the admin groups the volunteers of a family by hand; each member is
# then judged with the Golden Diamond volunteer rule's hours and years (the rule's data), as of
# a day. Recording the family's application and decision is by hand (not tracked here).

FAMILY_NAME_MAX = 60


class AwardFamily(Base):
    __tablename__ = "award_family"

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    name: Mapped[str] = mapped_column(String(FAMILY_NAME_MAX))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    members: Mapped[list["AwardFamilyMember"]] = relationship(
        back_populates="family", cascade="all, delete-orphan", order_by="AwardFamilyMember.volunteer_id")


class AwardFamilyMember(Base):
    """A volunteer belongs to at most one family."""

    __tablename__ = "award_family_member"

    family_id: Mapped[int] = mapped_column(ForeignKey("award_family.id"), primary_key=True)
    volunteer_id: Mapped[int] = mapped_column(ForeignKey("volunteer.id"), primary_key=True,
                                              unique=True)

    family: Mapped[AwardFamily] = relationship(back_populates="members")
    volunteer: Mapped[Volunteer] = relationship()


class FamilyError(ValueError):
    def __init__(self, message: str, **params):
        super().__init__(message % params if params else message)
        self.message = message
        self.params = params


def create_family(session: Session, unit_id: int, name: str, numbers: list[str], actor,
                  now: dt.datetime | None = None) -> AwardFamily:
    """A family of at least 2 of the unit's volunteers (by volunteer number), each in no other
    family. Audited; caller commits."""
    begin_write(session)
    name = (name or "").strip()
    if not name:
        raise FamilyError(N_("Give the family a name."))
    if len(name) > FAMILY_NAME_MAX:
        raise FamilyError(N_("Use at most %(max)d characters."), max=FAMILY_NAME_MAX)
    wanted = list(dict.fromkeys(n.strip() for n in numbers if n and n.strip()))
    if len(wanted) < 2:
        raise FamilyError(N_("A family needs at least 2 volunteers."))
    vols = []
    for number in wanted:
        vol = volunteer_by_number(session, unit_id, number)
        if vol is None:
            raise FamilyError(N_("No volunteer with number %(no)s."), no=number)
        vols.append(vol)
    taken = session.scalar(select(AwardFamilyMember.volunteer_id).where(
        AwardFamilyMember.volunteer_id.in_([v.id for v in vols])).limit(1))
    if taken is not None:
        who = next(v for v in vols if v.id == taken)
        raise FamilyError(N_("%(name)s is already in a family."), name=who.name_zh)
    family = AwardFamily(unit_id=unit_id, name=name, created_by_id=getattr(actor, "id", None),
                         created_at=now or utcnow(),
                         members=[AwardFamilyMember(volunteer_id=v.id) for v in vols])
    session.add(family)
    session.flush()
    audit.record(session, action="award_family_created", entity="award_family",
                 entity_id=family.id, actor=actor, unit_id=unit_id, now=now,
                 after={"name": name, "volunteer_ids": [v.id for v in vols]})
    return family


def delete_family(session: Session, unit_id: int, family_id: int, actor,
                  now: dt.datetime | None = None) -> None:
    begin_write(session)
    family = session.get(AwardFamily, family_id)
    if family is None or family.unit_id != unit_id:
        raise LookupError("no such family")
    before = {"name": family.name, "volunteer_ids": [m.volunteer_id for m in family.members]}
    session.delete(family)
    session.flush()
    audit.record(session, action="award_family_deleted", entity="award_family",
                 entity_id=family_id, actor=actor, unit_id=unit_id, now=now, before=before)


@dataclass
class FamilyMemberFacts:
    volunteer: Volunteer
    eligibility: aw.AwardEligibility  # the Golden Diamond volunteer rule's evidence
    meets: bool


@dataclass
class FamilyFacts:
    family: AwardFamily
    members: list[FamilyMemberFacts]

    @property
    def qualifies(self) -> bool:
        return sum(m.meets for m in self.members) >= 2


def family_list(session: Session, unit_id: int, as_of: dt.date) -> list[FamilyFacts]:
    """The unit's families, each member with the hours and years that count as of `as_of`
    (the Golden Diamond volunteer rule's window) and whether they meet its hours and years."""
    from sqlalchemy.orm import selectinload

    families = list(session.scalars(
        select(AwardFamily).options(selectinload(AwardFamily.members)
                                    .joinedload(AwardFamilyMember.volunteer))
        .where(AwardFamily.unit_id == unit_id).order_by(AwardFamily.name, AwardFamily.id)))
    rule = aw.rule_of(session, aw.GOLDEN_DIAMOND)
    vols = [m.volunteer for f in families for m in f.members]
    if not families or rule is None:
        return [FamilyFacts(f, []) for f in families]
    facts = dict(unit_eligibility(session, unit_id, as_of, [aw.GOLDEN_DIAMOND], volunteers=vols))
    need = min(lv["minutes"] for lv in rule.levels)
    out = []
    for f in families:
        members = []
        for m in f.members:
            e = facts[m.volunteer][0]
            meets = (e.counted_minutes >= need
                     and (e.service_months or 0) >= (rule.months_required or 0))
            members.append(FamilyMemberFacts(m.volunteer, e, meets))
        out.append(FamilyFacts(f, members))
    return out
