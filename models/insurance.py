"""Accident-insurance covers (志工意外團體保險 / 商業意外保險)."""
from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Date, Enum, ForeignKey, String, bindparam, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from . import audit
from .base import Base, UTCDateTime, begin_write, read, utcnow
from .people import Volunteer, VolunteerStatus, of_volunteers


class CoverKind(str, enum.Enum):
    group = "group"  # MOHW group contract, record-book holders
    commercial = "commercial"  # arranged by the unit for volunteers without a book


class InsuranceCover(Base):
    __tablename__ = "insurance_cover"

    id: Mapped[int] = mapped_column(primary_key=True)
    volunteer_id: Mapped[int] = mapped_column(ForeignKey("volunteer.id"), index=True)
    kind: Mapped[CoverKind] = mapped_column(Enum(CoverKind, native_enum=False, length=20))
    insurer: Mapped[str] = mapped_column(String(120))
    policy_no: Mapped[str] = mapped_column(String(60))
    starts_on: Mapped[dt.date] = mapped_column(Date)
    ends_on: Mapped[dt.date] = mapped_column(Date)  # inclusive
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    volunteer: Mapped[Volunteer] = relationship()

    def covers(self, day: dt.date) -> bool:
        return self.starts_on <= day <= self.ends_on


_COVERED_ON = (
    select(InsuranceCover.id)
    .where(InsuranceCover.volunteer_id == bindparam("volunteer_id"),
           InsuranceCover.starts_on <= bindparam("day"), InsuranceCover.ends_on >= bindparam("day"))
    .limit(1)
)  # built once: every check-in asks


def is_covered_on(session: Session, volunteer_id: int, day: dt.date) -> bool:
    """Whether any cover is valid on a Taipei calendar day: the check-in's insurance gate
    (one indexed lookup of an id, no object loaded)."""
    return read(session, _COVERED_ON, {"volunteer_id": volunteer_id, "day": day}).first() is not None


# ---------------------------------------------------------------------------
# Recording covers (admin pages) and the lists built from them.
#
# Writers validate everything first and add nothing when anything is wrong, so a caller
# that catches InvalidCover has an untouched session. They flush but do not commit: the
# caller commits the change together with its audit entries.

INSURER_MAX = 120
POLICY_NO_MAX = 60
EXPIRING_DAYS = 30


class InvalidCover(ValueError):
    """What is wrong with a cover, field by field, as reason codes.

    Codes: required, too_long, unknown_kind, end_before_start, not_in_unit, duplicate,
    none_chosen. `volunteers` lists the volunteers a volunteer-level problem is about.
    """

    def __init__(self, errors: dict[str, str], volunteers: Sequence[Volunteer] = ()):
        super().__init__("; ".join(f"{field}: {code}" for field, code in errors.items()))
        self.errors = dict(errors)
        self.volunteers = list(volunteers)


def snapshot(cover: InsuranceCover) -> dict:
    """A cover as the audit log records it."""
    return {
        "volunteer_id": cover.volunteer_id,
        "kind": cover.kind.value if cover.kind else None,
        "insurer": cover.insurer,
        "policy_no": cover.policy_no,
        "starts_on": cover.starts_on.isoformat() if cover.starts_on else None,
        "ends_on": cover.ends_on.isoformat() if cover.ends_on else None,
    }


def _clean(kind, insurer, policy_no, starts_on, ends_on) -> tuple[dict, dict[str, str]]:
    errors: dict[str, str] = {}
    try:
        kind = CoverKind(kind)
    except ValueError:
        errors["kind"] = "unknown_kind" if kind else "required"
    insurer = (insurer or "").strip()
    policy_no = (policy_no or "").strip()
    for field, value, limit in (("insurer", insurer, INSURER_MAX),
                                ("policy_no", policy_no, POLICY_NO_MAX)):
        if not value:
            errors[field] = "required"
        elif len(value) > limit:
            errors[field] = "too_long"
    if not isinstance(starts_on, dt.date):
        errors["starts_on"] = "required"
    if not isinstance(ends_on, dt.date):
        errors["ends_on"] = "required"
    elif isinstance(starts_on, dt.date) and ends_on < starts_on:
        errors["ends_on"] = "end_before_start"
    values = {"kind": kind, "insurer": insurer, "policy_no": policy_no,
              "starts_on": starts_on, "ends_on": ends_on}
    return values, errors


def _duplicates(session: Session, volunteer_ids: Sequence[int], values: dict,
                ignore_id: int | None = None) -> set[int]:
    """Volunteers who already hold this very policy for days that overlap these."""
    if not volunteer_ids or not isinstance(values["starts_on"], dt.date):
        return set()
    query = select(InsuranceCover.volunteer_id).where(
        InsuranceCover.volunteer_id.in_(list(volunteer_ids)),
        InsuranceCover.policy_no == values["policy_no"],
        InsuranceCover.starts_on <= values["ends_on"],
        InsuranceCover.ends_on >= values["starts_on"],
    )
    if ignore_id is not None:
        query = query.where(InsuranceCover.id != ignore_id)
    return set(session.scalars(query))


def _without_book(volunteers: Sequence[Volunteer], kind) -> list[Volunteer]:
    """Group accident insurance (the MOHW contract) covers record-book holders only (rules.md
    "Record book and insurance"): those without a book get commercial cover from the unit."""
    return [v for v in volunteers if needs_record_book(kind, v.record_book_no)]


def needs_record_book(kind, record_book_no: str | None) -> bool:
    """Whether this kind of cover is refused to a volunteer with this record-book number."""
    return kind == CoverKind.group and not (record_book_no or "").strip()


def covers_refused_by_book(session: Session, volunteer_id: int, record_book_no: str | None,
                           day: dt.date) -> list[InsuranceCover]:
    """The volunteer's covers not yet ended on `day` that this record-book number would not
    allow (needs_record_book): a book taken off while a group cover runs leaves that cover
    without its condition, as adding it without a book would."""
    return [c for c in session.scalars(
        select(InsuranceCover).where(InsuranceCover.volunteer_id == volunteer_id,
                                     InsuranceCover.ends_on >= day)
        .order_by(InsuranceCover.ends_on.desc()))
        if needs_record_book(c.kind, record_book_no)]


def _audit_cover(session, action, cover, actor, before, after, now):
    audit.record(session, action=action, entity="insurance_cover", entity_id=cover.id,
                 actor=actor, before=before, after=after, now=now)


def _resolve(session: Session, volunteers: Sequence[Volunteer | int]
             ) -> tuple[list[Volunteer], list[int]]:
    """Volunteers (given as rows or ids), each once in the order given; and unknown ids."""
    ids = [item.id if isinstance(item, Volunteer) else int(item) for item in volunteers]
    ids = list(dict.fromkeys(ids))
    rows = {v.id: v for v in session.scalars(select(Volunteer).where(Volunteer.id.in_(ids)))} \
        if ids else {}
    found = {i: rows[i] for i in ids if i in rows}
    unknown = [i for i in ids if i not in rows]
    return list(found.values()), unknown


def add_cover(session: Session, volunteer: Volunteer, kind, insurer: str, policy_no: str,
              starts_on: dt.date, ends_on: dt.date, actor, now: dt.datetime | None = None
              ) -> InsuranceCover:
    """Record one volunteer's cover. Raises InvalidCover and adds nothing when it is wrong."""
    return add_covers_for_many(session, [volunteer], kind, insurer, policy_no, starts_on,
                               ends_on, actor, now=now)[0]


def add_covers_for_many(session: Session, volunteers: Sequence[Volunteer | int], kind, insurer: str,
                        policy_no: str, starts_on: dt.date, ends_on: dt.date, actor,
                        now: dt.datetime | None = None) -> list[InsuranceCover]:
    """Record the same cover for many volunteers (rows or ids): all of them, or none at all
    when any one is wrong (not of the actor's unit, unknown, or already holding this policy
    for overlapping days)."""
    begin_write(session)
    values, errors = _clean(kind, insurer, policy_no, starts_on, ends_on)
    volunteers, unknown = _resolve(session, volunteers)
    bad: list[Volunteer] = []
    if not volunteers and not unknown:
        errors["volunteers"] = "none_chosen"
    else:
        outsiders = [v for v in volunteers if v.unit_id != actor.unit_id]
        if outsiders or unknown:
            errors["volunteers"] = "not_in_unit"
            bad = outsiders
        elif not errors:
            taken = _duplicates(session, [v.id for v in volunteers], values)
            no_book = _without_book(volunteers, values["kind"])
            if taken:
                errors["volunteers"] = "duplicate"
                bad = [v for v in volunteers if v.id in taken]
            elif no_book:
                errors["volunteers"] = "group_needs_record_book"
                bad = no_book
    if errors:
        raise InvalidCover(errors, bad)
    covers = [InsuranceCover(volunteer_id=v.id, **values) for v in volunteers]
    session.add_all(covers)
    session.flush()
    for cover in covers:
        _audit_cover(session, "insurance_cover_add", cover, actor, None, snapshot(cover), now)
    return covers


def update_cover(session: Session, cover: InsuranceCover, actor, *, kind, insurer: str,
                 policy_no: str, starts_on: dt.date, ends_on: dt.date,
                 now: dt.datetime | None = None) -> InsuranceCover:
    """Correct a cover (a typo in the policy number, a cover that ended early)."""
    begin_write(session)
    if cover.volunteer.unit_id != actor.unit_id:
        raise InvalidCover({"volunteers": "not_in_unit"}, [cover.volunteer])
    values, errors = _clean(kind, insurer, policy_no, starts_on, ends_on)
    if not errors and _duplicates(session, [cover.volunteer_id], values, ignore_id=cover.id):
        errors["policy_no"] = "duplicate"
    elif not errors and _without_book([cover.volunteer], values["kind"]):
        errors["kind"] = "group_needs_record_book"
    if errors:
        raise InvalidCover(errors)
    before = snapshot(cover)
    for name, value in values.items():
        setattr(cover, name, value)
    session.flush()
    _audit_cover(session, "insurance_cover_update", cover, actor, before, snapshot(cover), now)
    return cover


def delete_cover(session: Session, cover: InsuranceCover, actor,
                 now: dt.datetime | None = None) -> None:
    """Remove a cover entered by mistake (the audit log keeps what it said)."""
    begin_write(session)
    if cover.volunteer.unit_id != actor.unit_id:
        raise InvalidCover({"volunteers": "not_in_unit"}, [cover.volunteer])
    _audit_cover(session, "insurance_cover_delete", cover, actor, snapshot(cover), None, now)
    session.delete(cover)
    session.flush()


def covers_of(session: Session, volunteer_id: int) -> list[InsuranceCover]:
    """A volunteer's covers, latest first."""
    return list(session.scalars(
        select(InsuranceCover)
        .where(InsuranceCover.volunteer_id == volunteer_id)
        .order_by(InsuranceCover.ends_on.desc(), InsuranceCover.id.desc())
    ))


def covered_until(covers: Sequence[InsuranceCover], day: dt.date) -> dt.date | None:
    """The last day of unbroken cover starting on `day`, or None when `day` is not covered.

    Back-to-back covers chain: a renewal starting the day after the old cover ends (or
    earlier) extends the cover, so a renewed volunteer is not "expiring".
    """
    if not any(cover.covers(day) for cover in covers):
        return None
    one_day = dt.timedelta(days=1)
    until = day - one_day  # covered through this day so far
    for cover in sorted(covers, key=lambda c: c.starts_on):
        if cover.starts_on <= until + one_day and cover.ends_on > until:
            until = cover.ends_on
    return until


@dataclass
class CoverStatus:
    """One volunteer's cover on a day."""

    volunteer: Volunteer
    current: InsuranceCover | None  # the cover valid that day (latest-ending one)
    covered_until: dt.date | None  # end of unbroken cover from that day
    day: dt.date

    @property
    def insured(self) -> bool:
        return self.covered_until is not None

    @property
    def days_left(self) -> int | None:
        return None if self.covered_until is None else (self.covered_until - self.day).days

    def expiring(self, days: int = EXPIRING_DAYS) -> bool:
        return self.days_left is not None and self.days_left <= days


def cover_overview(session: Session, unit_id: int, day: dt.date,
                   include_inactive: bool = False) -> list[CoverStatus]:
    """Every volunteer of the unit with their cover on `day` (a Taipei calendar day)."""
    query = select(Volunteer).where(Volunteer.unit_id == unit_id)
    if not include_inactive:
        query = query.where(Volunteer.status == VolunteerStatus.active)
    volunteers = list(session.scalars(query.order_by(Volunteer.volunteer_no, Volunteer.id)))
    return cover_statuses(session, volunteers, day)


def cover_statuses(session: Session, volunteers: Sequence[Volunteer], day: dt.date
                   ) -> list[CoverStatus]:
    """These volunteers' covers on `day`, in their order, in one query however many
    (people.of_volunteers)."""
    by_volunteer: dict[int, list[InsuranceCover]] = {v.id: [] for v in volunteers}
    if volunteers:
        covers = session.scalars(of_volunteers(
            select(InsuranceCover).where(InsuranceCover.ends_on >= day),
            InsuranceCover.volunteer_id, by_volunteer, {v.unit_id for v in volunteers}))
        for cover in covers:
            if cover.volunteer_id in by_volunteer:
                by_volunteer[cover.volunteer_id].append(cover)
    result = []
    for volunteer in volunteers:
        covers = by_volunteer[volunteer.id]
        valid = [c for c in covers if c.covers(day)]
        current = max(valid, key=lambda c: (c.ends_on, c.id)) if valid else None
        result.append(CoverStatus(volunteer, current, covered_until(covers, day), day))
    return result


def uninsured_on(session: Session, unit_id: int, day: dt.date) -> list[Volunteer]:
    """Active volunteers with no cover on `day`: they must not serve until covered."""
    return uninsured(cover_overview(session, unit_id, day))


def expiring_within(session: Session, unit_id: int, day: dt.date,
                    days: int = EXPIRING_DAYS) -> list[CoverStatus]:
    """Active volunteers covered on `day` whose unbroken cover ends within `days` days
    (ending on `day + days` counts), soonest first."""
    return expiring(cover_overview(session, unit_id, day), days)


def uninsured(statuses: Sequence[CoverStatus]) -> list[Volunteer]:
    """Of these covers on a day (cover_statuses), the volunteers without one."""
    return [s.volunteer for s in statuses if not s.insured]


def expiring(statuses: Sequence[CoverStatus], days: int = EXPIRING_DAYS) -> list[CoverStatus]:
    """Of these covers on a day (cover_statuses), those whose unbroken cover ends within
    `days` days, soonest first."""
    rows = [s for s in statuses if s.insured and s.expiring(days)]
    return sorted(rows, key=lambda s: (s.covered_until, s.volunteer.volunteer_no))
