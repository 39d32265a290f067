"""Golden Diamond families (金鑽獎 家庭, issue #6): volunteers of one family grouped by the
admin, each judged with the Golden Diamond volunteer rule as of a day."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

from sqlalchemy import ForeignKey, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from . import audit
from . import awards as aw
from . import award_rules
from .base import Base, UTCDateTime, begin_write, utcnow
from .hours import hours_value
from .messages import N_, Refused
from .people import Volunteer, volunteer_by_number
from .recognition import SERVICE_YEARS_HEADERS, service_years_cells, unit_eligibility

# rules.md: at least 2 related volunteers, each at least 3 years and 600 hours (the family
# rule's data: award_rule.thresholds min_members, member_minutes, member_months). Who is related
# is not in the records, so the admin groups the volunteers of a family by hand; each member's
# hours and service years are counted as for the Golden Diamond volunteer (its window, its
# years), as of a day, and held against the family rule's numbers. The list is exported for filing (family_list_xlsx); the family's applications and
# decisions are recorded in models.group_awards.

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


class FamilyError(Refused, ValueError):
    """A refused family (name, members)."""


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
    from .group_awards import has_applications

    if has_applications(session, family_id):
        raise FamilyError(N_("This family has award applications on record: it is kept with "
                             "them."))
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
    # what the member lacks against the FAMILY rule's numbers (family_thresholds): its evidence
    # with the family's shortfall as the message (awards.explain words it); None when met
    shortfall: aw.AwardEligibility | None = None


def _shortfall(e: aw.AwardEligibility, t: dict) -> aw.AwardEligibility | None:
    """The member's shortfall against the family rule's hours and months ("還差 x 小時，臺北市年資
    還差 y 個月"), in the award lists' words (awards.shortfall_message), or None when the member meets both."""
    minutes = max(0, t["member_minutes"] - e.counted_minutes)
    months = max(0, t["member_months"] - (e.service_months or 0))
    if not minutes and not months:
        return None
    message = aw.shortfall_message(minutes, months, e.taipei_only)
    return replace(e, eligible=False, missing_minutes=minutes, missing_months=months,
                   message=message, params={"missing_hours": minutes, "missing_months": months})


@dataclass
class FamilyFacts:
    family: AwardFamily
    members: list[FamilyMemberFacts]

    @property
    def qualifies(self) -> bool:
        return sum(m.meets for m in self.members) >= self.min_members

    min_members: int = 2  # the family rule's min_members


def family_list(session: Session, unit_id: int, as_of: dt.date) -> list[FamilyFacts]:
    """The unit's families, each member with the hours and years that count as of `as_of`
    (as for the Golden Diamond volunteer) and whether they meet the family rule's hours and
    months (`family_thresholds`)."""
    from sqlalchemy.orm import selectinload

    families = list(session.scalars(
        select(AwardFamily).options(selectinload(AwardFamily.members)
                                    .joinedload(AwardFamilyMember.volunteer))
        .where(AwardFamily.unit_id == unit_id).order_by(AwardFamily.name, AwardFamily.id)))
    rule = award_rules.rule_of(session, award_rules.GOLDEN_DIAMOND)
    t = family_thresholds(session)
    vols = [m.volunteer for f in families for m in f.members]
    if not families or rule is None:
        return [FamilyFacts(f, [], t["min_members"]) for f in families]
    facts = dict(unit_eligibility(session, unit_id, as_of, [award_rules.GOLDEN_DIAMOND], volunteers=vols))
    out = []
    for f in families:
        members = []
        for m in f.members:
            e = facts[m.volunteer][0]
            shortfall = _shortfall(e, t)
            members.append(FamilyMemberFacts(m.volunteer, e, shortfall is None, shortfall))
        out.append(FamilyFacts(f, members, t["min_members"]))
    return out


def family_thresholds(session: Session) -> dict:
    """The Golden Diamond family rule's numbers (award_rule.thresholds, defaults in
    models.awards.DEFAULT_THRESHOLDS): min_members, member_minutes, member_months."""
    return award_rules.thresholds_of(award_rules.rule_of(session, award_rules.GOLDEN_DIAMOND_FAMILY), award_rules.GOLDEN_DIAMOND_FAMILY)


# the months as on the award lists (models.recognition.service_years_cells), none used
FAMILY_LIST_HEADERS = ["序號", "家庭", "志工編號", "姓名", "身分證統一編號", "出生年月日",
                       "採計時數", "時數計至", *SERVICE_YEARS_HEADERS[:4], "成員符合個人條件",
                       "尚缺", "家庭是否符合"]


def family_list_xlsx(session: Session, actor, now: dt.datetime, families: list[FamilyFacts],
                     as_of: dt.date, explain=aw.explain) -> bytes:
    """The families as XLSX for filing: one line per member with the hours and years that
    count, whether the member meets them, what the member still lacks (the page's words:
    `explain` words the shortfall, awards.shortfall_message; the web app passes its Chinese
    one) and whether the family qualifies (at least two who do). Audited: it holds ID
    numbers."""
    from .export import TextSheet, text_sheets_xlsx

    lines = []
    for n, facts in enumerate(families, start=1):
        verdict = "符合" if facts.qualifies else "未符合"
        for m in facts.members:
            e, v = m.eligibility, m.volunteer
            lines.append([n, facts.family.name, v.volunteer_no, v.name_zh, v.id_number,
                          v.birth_date.isoformat(), hours_value(e.counted_minutes),
                          e.counted_to.isoformat() if e.counted_to else "",
                          *service_years_cells(e)[:4], "是" if m.meets else "否",
                          explain(m.shortfall) if m.shortfall else "", verdict])
    data = text_sheets_xlsx([TextSheet("家庭名冊", FAMILY_LIST_HEADERS, lines,
                                       caption=f"金鑽獎 家庭（{as_of.isoformat()}）")])
    # Full ID numbers leave the database: in the access log (models/access_log.py).
    audit.record(session, action="id_number_export", entity="unit", entity_id=actor.unit_id,
                 actor=actor, unit_id=actor.unit_id, now=now,
                 after={"purpose": "award_list", "award": award_rules.GOLDEN_DIAMOND_FAMILY, "as_of": as_of.isoformat(),
                        "rows": len(lines)})
    return data
