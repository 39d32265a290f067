"""Golden Diamond team award (金鑽獎 團隊, issue #6).

rules.md: "team ≥ 3 years old, ≥ 15 members, 100 % insured, ≥ 80 % hold a record book; filed
by 15 July". These numbers are the rule's data (award_rule.thresholds, read by
`team_thresholds`; the defaults in models.awards.DEFAULT_THRESHOLDS), and so are the 12 months
below. A team is a site's volunteer team (the team view per site, models.team_view
`team_overview`). For a site, as of a Taipei calendar day `as_of`:

- members: the unit's volunteers whose status is active now who have at least one verified
  session at the site in the 12 months before `as_of` (sessions starting from the same day a
  year earlier through `as_of`, Taipei days);
- team age: from the site's first verified session (the records hold no founding date of a
  team, so its first verified service stands for it), in whole months up to `as_of`;
- insured: members with an insurance cover valid on `as_of` (models.insurance);
- record book: members with a record-book number (Volunteer.record_book_no).

Eligible when all four hold. A fixed number of queries per unit, never per site or volunteer.
"""
from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from . import audit
from .award_rules import GOLDEN_DIAMOND_TEAM, rule_of, thresholds_of
from .awards import add_months, full_months
from .base import TAIPEI, taipei_date
from .insurance import InsuranceCover
from .people import Volunteer, VolunteerStatus
from .service import ServiceSession, SessionStatus, Site
from .messages import N_, Nn_



def team_thresholds(session: Session) -> dict:
    """The Golden Diamond team rule's numbers (award_rule.thresholds, defaults in
    models.awards.DEFAULT_THRESHOLDS): team_months, min_members, insured_percent,
    record_book_percent, member_window_months."""
    return thresholds_of(rule_of(session, GOLDEN_DIAMOND_TEAM), GOLDEN_DIAMOND_TEAM)


@dataclass
class Condition:
    key: str  # "age" | "members" | "insured" | "record_book"
    met: bool
    message: str | tuple = ""  # what is missing (empty when met): N_ or Nn_, translated by the UI
    params: dict = field(default_factory=dict)


@dataclass
class TeamFacts:
    site: Site
    founded_on: dt.date | None  # the site's first verified session (Taipei day)
    months: int  # whole months from founded_on to as_of
    members: list[Volunteer]
    insured: set[int]  # member ids with a valid cover on as_of
    conditions: list[Condition]

    @property
    def eligible(self) -> bool:
        return all(c.met for c in self.conditions)

    @property
    def with_book(self) -> int:
        return sum(1 for v in self.members if has_record_book(v))

    @property
    def uninsured(self) -> list[Volunteer]:
        return [v for v in self.members if v.id not in self.insured]

    @property
    def book_percent(self) -> int:
        """Share of members holding a record book, rounded down (0 without members)."""
        return self.with_book * 100 // len(self.members) if self.members else 0

    @property
    def missing(self) -> list[Condition]:
        return [c for c in self.conditions if not c.met]


def has_record_book(volunteer: Volunteer) -> bool:
    return bool((volunteer.record_book_no or "").strip())


def _utc_start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(0), tzinfo=TAIPEI).astimezone(dt.timezone.utc)


def _conditions(t: dict, founded_on, months, n_members, n_insured, n_book) -> list[Condition]:
    """The four conditions against the rule's thresholds `t` (team_thresholds)."""
    out = []
    if founded_on is None:
        out.append(Condition("age", False, N_("No verified service at this site yet")))
    elif months < t["team_months"]:
        out.append(Condition("age", False,
                             Nn_("%(num)d more month before the team is %(required)d months old",
                                 "%(num)d more months before the team is %(required)d months old"),
                             {"num": t["team_months"] - months, "required": t["team_months"]}))
    else:
        out.append(Condition("age", True))
    if n_members < t["min_members"]:
        out.append(Condition("members", False, Nn_("%(num)d more member needed", "%(num)d more members needed"),
                             {"num": t["min_members"] - n_members}))
    else:
        out.append(Condition("members", True))
    insured_need = math.ceil(n_members * t["insured_percent"] / 100)
    if n_insured < insured_need:
        if insured_need == n_members:  # everyone must be insured: say how many are not
            out.append(Condition("insured", False, Nn_("%(num)d member without valid insurance",
                                                       "%(num)d members without valid insurance"),
                                 {"num": n_members - n_insured}))
        else:
            out.append(Condition("insured", False, Nn_("%(num)d more insured member needed",
                                                       "%(num)d more insured members needed"),
                                 {"num": insured_need - n_insured}))
    else:
        out.append(Condition("insured", True))
    need = math.ceil(n_members * t["record_book_percent"] / 100)
    if n_book < need:
        out.append(Condition("record_book", False,
                             Nn_("%(num)d more member with a record book needed",
                                 "%(num)d more members with a record book needed"),
                             {"num": need - n_book}))
    else:
        out.append(Condition("record_book", True))
    return out


def team_list(session: Session, unit_id: int, as_of: dt.date) -> list[TeamFacts]:
    """One entry per site of the unit (by name), with the facts and conditions of its team
    as of `as_of` (see the module docstring), against the rule's thresholds. A fixed number of
    queries whatever the size of the unit."""
    sites = list(session.scalars(select(Site).where(Site.unit_id == unit_id)
                                 .order_by(Site.name_zh, Site.id)))
    if not sites:
        return []
    t = team_thresholds(session)
    end = _utc_start(as_of + dt.timedelta(days=1))
    start = _utc_start(add_months(as_of, -t["member_window_months"]))
    verified = (ServiceSession.unit_id == unit_id,
                ServiceSession.status == SessionStatus.verified,
                ServiceSession.checked_in_at < end)
    first = dict(session.execute(
        select(ServiceSession.site_id, func.min(ServiceSession.checked_in_at))
        .where(*verified).group_by(ServiceSession.site_id)).all())
    active = select(Volunteer.id).where(Volunteer.unit_id == unit_id,
                                        Volunteer.status == VolunteerStatus.active)
    pairs = session.execute(
        select(ServiceSession.site_id, ServiceSession.volunteer_id).distinct()
        .where(*verified, ServiceSession.checked_in_at >= start,
               ServiceSession.volunteer_id.in_(active))).all()
    members_of: dict[int, set[int]] = defaultdict(set)
    for site_id, volunteer_id in pairs:
        members_of[site_id].add(volunteer_id)
    member_ids = select(ServiceSession.volunteer_id).where(
        *verified, ServiceSession.checked_in_at >= start,
        ServiceSession.volunteer_id.in_(active))
    volunteers = {v.id: v for v in session.scalars(
        select(Volunteer).where(Volunteer.id.in_(member_ids)))}
    insured = set(session.scalars(
        select(InsuranceCover.volunteer_id).distinct().where(
            InsuranceCover.volunteer_id.in_(member_ids),
            InsuranceCover.starts_on <= as_of, InsuranceCover.ends_on >= as_of)))
    out = []
    for site in sites:
        started = first.get(site.id)
        founded_on = taipei_date(started) if started is not None else None
        months = full_months(founded_on, as_of) if founded_on else 0
        members = sorted((volunteers[i] for i in members_of.get(site.id, ()) if i in volunteers),
                         key=lambda v: (v.volunteer_no or "", v.id))
        mine = {v.id for v in members} & insured
        n_book = sum(1 for v in members if has_record_book(v))
        out.append(TeamFacts(site, founded_on, months, members, mine,
                             _conditions(t, founded_on, months, len(members), len(mine), n_book)))
    return out


TEAM_LIST_HEADERS = ["序號", "團隊（服務地點）", "首次服務日", "團隊年資（月）", "成員數",
                     "有效保險人數", "持紀錄冊人數", "紀錄冊比例（%）", "結果", "未符合的條件"]
TEAM_MEMBER_HEADERS = ["序號", "團隊（服務地點）", "志工編號", "姓名", "有效保險", "紀錄冊編號"]


def team_list_xlsx(session: Session, actor, now: dt.datetime, teams: list[TeamFacts],
                   as_of: dt.date, explain: Callable[[Condition], str]) -> bytes:
    """The teams as XLSX for filing: one sheet of teams with their facts and what is missing
    (`explain` words a condition in the reader's language), one sheet of their members.
    Names and volunteer numbers only (no ID numbers); audited like every filing list."""
    from .export import TextSheet, text_sheets_xlsx

    teams_lines, member_lines = [], []
    for n, t in enumerate(teams, start=1):
        teams_lines.append([n, t.site.name_zh, t.founded_on.isoformat() if t.founded_on else "",
                            t.months, len(t.members), len(t.insured), t.with_book,
                            t.book_percent, "符合" if t.eligible else "未符合",
                            "；".join(explain(c) for c in t.missing)])
        for v in t.members:
            member_lines.append([n, t.site.name_zh, v.volunteer_no, v.name_zh,
                                 "是" if v.id in t.insured else "否", v.record_book_no or ""])
    data = text_sheets_xlsx([
        TextSheet("團隊", TEAM_LIST_HEADERS, teams_lines, caption=f"金鑽獎 團隊（{as_of.isoformat()}）"),
        TextSheet("成員", TEAM_MEMBER_HEADERS, member_lines)])
    audit.record(session, action="export_award_list", entity="unit", entity_id=actor.unit_id,
                 actor=actor, unit_id=actor.unit_id, now=now,
                 after={"award": GOLDEN_DIAMOND_TEAM, "as_of": as_of.isoformat(),
                        "rows": len(teams_lines)})
    return data
