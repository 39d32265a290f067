"""Golden Diamond family and team applications (金鑽獎 家庭／團隊, issue #6).

The award is filed once a year, by 15 July, on the city platform (rules.md). The unit records
here what it filed for each family (models.golden_family) and each team (a site's volunteer
team, models.golden_team) and the decision it received, the way it records the volunteer awards'
applications (models.award_grants.record_grant):

- at most one application per family or team and calendar year, held by the database too
  (a unique index per subject and year);
- "applied" opens the year's application, only for a family or team that meets the rule's
  conditions that day (check_qualifies); "granted" / "not granted" completes the pending one,
  and is never dated before it; nothing is dated after today (Taipei); a decision with no
  application on record (one filed before the unit used Hourbook) is recorded as that year's
  application with its decision;
- a family with applications on record is kept (golden_family.delete_family refuses), so its
  history keeps its members.

Every change is audited. Callers commit.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import (CheckConstraint, Date, Enum, ForeignKey, Integer, UniqueConstraint, func,
                        select)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from . import audit
from .award_rules import GOLDEN_DIAMOND_FAMILY, GOLDEN_DIAMOND_TEAM
from .award_grants import check_not_after_today
from .awards import GrantStatus
from .base import Base, UTCDateTime, begin_write, utcnow
from .messages import N_, Named, Refused
from .service import Site

FAMILY = "family"
TEAM = "team"
AWARD_KEYS = {FAMILY: GOLDEN_DIAMOND_FAMILY, TEAM: GOLDEN_DIAMOND_TEAM}


class GroupAwardApplication(Base):
    """One year's Golden Diamond application of a family (family_id) or a team (site_id)."""

    __tablename__ = "group_award_application"
    __table_args__ = (
        CheckConstraint("(family_id IS NULL) <> (site_id IS NULL)", name="one_subject"),
        UniqueConstraint("family_id", "year"),  # NULLs are distinct: one per family and year
        UniqueConstraint("site_id", "year"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    family_id: Mapped[int | None] = mapped_column(ForeignKey("award_family.id"))
    site_id: Mapped[int | None] = mapped_column(ForeignKey("site.id"))
    year: Mapped[int] = mapped_column(Integer)
    status: Mapped[GrantStatus] = mapped_column(Enum(GrantStatus, native_enum=False, length=20))
    applied_on: Mapped[dt.date | None] = mapped_column(Date)
    decided_on: Mapped[dt.date | None] = mapped_column(Date)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def kind(self) -> str:
        return FAMILY if self.family_id is not None else TEAM

    @property
    def award_key(self) -> str:
        return AWARD_KEYS[self.kind]


class ApplicationError(Refused, ValueError):
    """A refused family or team application or decision."""


def _subject_column(kind: str):
    if kind == FAMILY:
        return GroupAwardApplication.family_id
    if kind == TEAM:
        return GroupAwardApplication.site_id
    raise ValueError(f"unknown kind {kind!r}")


def _check_subject(session: Session, unit_id: int, kind: str, subject_id: int) -> None:
    from .golden_family import AwardFamily

    model = AwardFamily if kind == FAMILY else Site
    subject = session.get(model, subject_id)
    if subject is None or subject.unit_id != unit_id:
        raise LookupError(f"no {kind} {subject_id} in unit {unit_id}")


def _snapshot(a: GroupAwardApplication) -> dict:
    return {"award_key": a.award_key, "family_id": a.family_id, "site_id": a.site_id,
            "year": a.year, "status": a.status.value, "applied_on": a.applied_on,
            "decided_on": a.decided_on}


def check_qualifies(session: Session, unit_id: int, kind: str, subject_id: int,
                    on: dt.date) -> None:
    """Refuse (ApplicationError) an application for a family or team that does not meet the
    rule's conditions on `on` (golden_family.family_list, golden_team.team_list: what their
    pages show), as the volunteer awards refuse one the volunteer cannot file
    (models.award_grants.check_application)."""
    if kind == FAMILY:
        from .golden_family import family_list

        facts = next(f for f in family_list(session, unit_id, on) if f.family.id == subject_id)
        if not facts.qualifies:
            raise ApplicationError(N_("%(name)s cannot apply on %(date)s: fewer than %(num)d "
                                      "members meet the conditions."), name=facts.family.name,
                                   date=on.isoformat(), num=facts.min_members)
        return
    from .golden_team import team_list

    facts = next(t for t in team_list(session, unit_id, on) if t.site.id == subject_id)
    if not facts.eligible:
        raise ApplicationError(N_("The team of %(name)s cannot apply on %(date)s: it does not "
                                  "meet every condition (see the team's page)."),
                               name=Named(facts.site), date=on.isoformat())


def record_application(session: Session, unit_id: int, kind: str, subject_id: int, status,
                       on: dt.date, actor, now: dt.datetime | None = None) -> GroupAwardApplication:
    """Record that the family or team (`kind`, `subject_id`: a family id or a site id of the
    unit; LookupError otherwise) applied on `on`, or the decision received on `on`. See the
    module docstring for the rules. Audited; caller commits."""
    begin_write(session)
    status = GrantStatus(getattr(status, "value", status))
    check_not_after_today(on, now, ApplicationError)
    _check_subject(session, unit_id, kind, subject_id)
    column = _subject_column(kind)
    mine = list(session.scalars(select(GroupAwardApplication).where(column == subject_id)
                                .order_by(GroupAwardApplication.year.desc())))
    same_year = next((a for a in mine if a.year == on.year), None)
    pending = next((a for a in mine if a.status == GrantStatus.applied), None)
    before = None
    if status == GrantStatus.applied:
        if same_year is not None:
            raise ApplicationError(N_("An application for %(year)d is already on record."),
                                   year=on.year)
        application = None
    elif pending is not None:
        if pending.applied_on and on < pending.applied_on:
            raise ApplicationError(N_("The decision cannot be dated before the application "
                                      "(%(date)s)."), date=pending.applied_on.isoformat())
        application = pending
        before = _snapshot(application)
    elif same_year is not None:
        raise ApplicationError(N_("The %(year)d application already has a decision."),
                               year=on.year)
    else:
        application = None
    if application is None:  # a new application (with its decision when it had none on record)
        check_qualifies(session, unit_id, kind, subject_id, on)
        application = GroupAwardApplication(
            unit_id=unit_id, year=on.year, status=status,
            family_id=subject_id if kind == FAMILY else None,
            site_id=subject_id if kind == TEAM else None,
            created_by_id=getattr(actor, "id", None), created_at=now or utcnow())
        session.add(application)
    application.status = status
    if status == GrantStatus.applied:
        application.applied_on = on
    else:
        application.decided_on = on
    try:
        with session.begin_nested():  # another request recorded the same year first
            session.flush()
    except IntegrityError:
        raise ApplicationError(N_("An application for %(year)d is already on record."),
                               year=on.year) from None
    audit.record(session, action="group_award_" + status.value, entity="group_award_application",
                 entity_id=application.id, actor=actor, unit_id=unit_id, before=before,
                 after=_snapshot(application), now=now)
    return application


def applications_of(session: Session, unit_id: int, kind: str) -> dict[int, list[GroupAwardApplication]]:
    """The unit's family (or team) applications by family id (or site id), newest year first."""
    column = _subject_column(kind)
    out: dict[int, list[GroupAwardApplication]] = {}
    for a in session.scalars(select(GroupAwardApplication).where(
            GroupAwardApplication.unit_id == unit_id, column.is_not(None))
            .order_by(GroupAwardApplication.year.desc())):
        out.setdefault(a.family_id if kind == FAMILY else a.site_id, []).append(a)
    return out


def has_applications(session: Session, family_id: int) -> bool:
    return session.scalar(select(GroupAwardApplication.id).where(
        GroupAwardApplication.family_id == family_id).limit(1)) is not None


def pending_counts(session: Session, unit_id: int) -> dict[str, int]:
    """Applications waiting for a decision, by award key (for the deadline calendar)."""
    out = {}
    for kind, column in ((FAMILY, GroupAwardApplication.family_id),
                         (TEAM, GroupAwardApplication.site_id)):
        n = session.scalar(select(func.count()).select_from(GroupAwardApplication).where(
            GroupAwardApplication.unit_id == unit_id, column.is_not(None),
            GroupAwardApplication.status == GrantStatus.applied))
        if n:
            out[AWARD_KEYS[kind]] = int(n)
    return out


def applied_in(session: Session, unit_id: int, kind: str, year: int) -> set[int]:
    """Families (or sites, for teams) of the unit with an application on record for `year`."""
    column = _subject_column(kind)
    return set(session.scalars(select(column).where(
        GroupAwardApplication.unit_id == unit_id, column.is_not(None),
        GroupAwardApplication.year == year)))
