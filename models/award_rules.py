"""The award rules, as data: one `award_rule` row per award or certificate (levels and their
hour thresholds, the years of service required, the day hours are counted to, extra conditions,
the filing deadline), the defaults they are seeded with (rules.md: the numbers are binding), and
the rules in use. Judging a volunteer against them is models/awards.py.
"""
from __future__ import annotations

import copy
import enum

from sqlalchemy import JSON, Boolean, Enum, Integer, String, false, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from .base import Base, begin_write
from .messages import N_, Nn_


class CountingWindow(str, enum.Enum):
    as_of = "as_of"  # hours up to the day of the question
    previous_dec31 = "previous_dec31"  # MOHW: to 31 December of the previous year
    may31 = "may31"  # national award: to 31 May of the year (or as_of, if earlier)



class AwardRule(Base):
    """One award or certificate, as data. `levels` is a list of
    {"level": 1, "name_zh": ..., "name_en": ..., "minutes": 90000}, lowest first."""

    __tablename__ = "award_rule"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(40), unique=True)
    name_zh: Mapped[str] = mapped_column(String(120))
    name_en: Mapped[str] = mapped_column(String(160), default="")
    levels: Mapped[list] = mapped_column(JSON)
    months_required: Mapped[int] = mapped_column(Integer, default=0)
    window: Mapped[CountingWindow] = mapped_column(
        Enum(CountingWindow, native_enum=False, length=20), default=CountingWindow.as_of)
    # each level once (MOHW, national, ...); False: may be issued again (certificate, card)
    once_per_level: Mapped[bool] = mapped_column(Boolean, default=True)
    # the hours and months a grant used are not counted again (honour card)
    consumes: Mapped[bool] = mapped_column(Boolean, default=False)
    validity_years: Mapped[int | None] = mapped_column(Integer)
    needs_performance_certificate: Mapped[bool] = mapped_column(Boolean, default=False)
    needs_criminal_record_declaration: Mapped[bool] = mapped_column(Boolean, default=False)
    # the unit's own service only (the performance certificate: the unit certifies what was
    # done with it): no earlier units' hours, service months from joining the unit
    this_unit_only: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # False: the conditions are not about one volunteer's hours (team, family): not computed
    # per volunteer here, but on their own pages (models.golden_team, models.golden_family)
    computed: Mapped[bool] = mapped_column(Boolean, default=True)
    # the rule's other numbers, by name (DEFAULT_THRESHOLDS says which; missing ones take the
    # default): a team's age, members, insured and record-book shares; a family's members and
    # each member's hours and months; whether service years count only service in Taipei
    thresholds: Mapped[dict | None] = mapped_column(JSON)
    filing_month: Mapped[int | None] = mapped_column(Integer)
    filing_day: Mapped[int | None] = mapped_column(Integer)
    note: Mapped[str] = mapped_column(String(300), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    sort_order: Mapped[int] = mapped_column(Integer, default=0)




# --- default rules (rules.md; the numbers are binding) ----------------------------------------

H = 60  # minutes per hour

PERFORMANCE_CERTIFICATE = "performance_certificate"
HONOUR_CARD = "honour_card"
MOHW = "mohw"
NATIONAL = "national"
TAIPEI_CONTRIBUTION = "taipei_contribution"
GOLDEN_DIAMOND = "golden_diamond"
GOLDEN_DIAMOND_TEAM = "golden_diamond_team"
GOLDEN_DIAMOND_FAMILY = "golden_diamond_family"


# The numbers of a rule besides its levels and months (AwardRule.thresholds), with their
# defaults (rules.md, 2018 call). Minutes, months and percentages, like the rest of the rules.
DEFAULT_THRESHOLDS: dict[str, dict] = {
    GOLDEN_DIAMOND_TEAM: {"team_months": 36, "min_members": 15, "insured_percent": 100,
                          "record_book_percent": 80, "member_window_months": 12},
    GOLDEN_DIAMOND_FAMILY: {"min_members": 2, "member_minutes": 600 * H, "member_months": 36},
    # "≥ 3 years in Taipei": the months count only service in Taipei (taipei_months)
    GOLDEN_DIAMOND: {"years_in_taipei_only": True},
}


def thresholds_of(rule: "AwardRule | None", key: str | None = None) -> dict:
    """The rule's thresholds: its own, the defaults for what it does not say (all defaults
    when there is no such rule; `key` then says which award)."""
    key = getattr(rule, "key", None) or key
    return {**DEFAULT_THRESHOLDS.get(key, {}), **(getattr(rule, "thresholds", None) or {})}


def threshold_lines(rule: "AwardRule") -> list[tuple]:
    """The rule's thresholds in words, for the admin's rules page: (message, params) pairs,
    messages marked with N_ / Nn_ (the UI translates them with `translated`)."""
    t = thresholds_of(rule)
    lines = []
    if rule.key == GOLDEN_DIAMOND_TEAM:
        lines += [
            (Nn_("The team (a site's volunteers) is at least %(num)d month old, from the "
                 "site's first verified service",
                 "The team (a site's volunteers) is at least %(num)d months old, from the "
                 "site's first verified service"), {"num": t["team_months"]}),
            (Nn_("At least %(num)d member: active volunteers with verified service at the site "
                 "in the last %(window)d months",
                 "At least %(num)d members: active volunteers with verified service at the site "
                 "in the last %(window)d months"),
             {"num": t["min_members"], "window": t["member_window_months"]}),
            (N_("Every member insured on the day"), {}) if t["insured_percent"] >= 100 else
            (N_("At least %(percent)d%% of the members insured on the day"),
             {"percent": t["insured_percent"]}),
            (N_("Every member holds a record book"), {}) if t["record_book_percent"] >= 100 else
            (N_("At least %(percent)d%% of the members hold a record book"),
             {"percent": t["record_book_percent"]}),
        ]
    if t.get("years_in_taipei_only"):
        lines.append((N_("Service years count only service in Taipei: with this unit, and "
                         "earlier units' periods recorded as served in Taipei"), {}))
    if rule.key == GOLDEN_DIAMOND_FAMILY:
        lines += [
            (Nn_("At least %(num)d related volunteer who meets the member conditions",
                 "At least %(num)d related volunteers who meet the member conditions"),
             {"num": t["min_members"]}),
            (Nn_("Each: at least %(hours)d hours and %(num)d month of service",
                 "Each: at least %(hours)d hours and %(num)d months of service"),
             {"hours": t["member_minutes"] // H, "num": t["member_months"]}),
        ]
    return lines


def _level(n, zh, en, hours):
    return {"level": n, "name_zh": zh, "name_en": en, "minutes": hours * H}


TEAM_NOTE = N_("Judged per site on the Golden Diamond team page, with this rule's thresholds.")
FAMILY_NOTE = N_("Judged per family on the Golden Diamond family page: the admin groups related "
                 "volunteers; each member's hours and service years count as for the Golden "
                 "Diamond volunteer, against this rule's thresholds.")

DEFAULT_RULES: list[dict] = [
    dict(key=PERFORMANCE_CERTIFICATE, name_zh="志願服務績效證明書",
         name_en="Volunteer service performance certificate",
         levels=[_level(1, "績效證明書", "Certificate", 150)], months_required=12,
         window=CountingWindow.as_of, once_per_level=False, this_unit_only=True,
         note=N_("The unit issues it within 7 days of the request; suggest it when a volunteer "
                 "leaves. It certifies service with this unit: its verified hours and the time "
                 "since the volunteer joined it.")),
    dict(key=HONOUR_CARD, name_zh="志願服務榮譽卡", name_en="Volunteer honour card",
         levels=[_level(1, "榮譽卡", "Honour card", 300)], months_required=36,
         window=CountingWindow.as_of, once_per_level=False, consumes=True, validity_years=3,
         note=N_("Valid 3 years from the later of approval and the previous card's expiry; "
                 "hours and years used for one card are not reused.")),
    dict(key=MOHW, name_zh="衛生福利志願服務獎勵", name_en="MOHW volunteer service award",
         levels=[_level(1, "銅質徽章", "Bronze badge", 1500),
                 _level(2, "銀質徽章", "Silver badge", 2000),
                 _level(3, "金質徽章", "Gold badge", 2500)],
         months_required=0, window=CountingWindow.previous_dec31, filing_month=3, filing_day=31,
         note=N_("One level per application; hours counted to the previous 31 December.")),
    dict(key=NATIONAL, name_zh="志願服務獎勵", name_en="National volunteer service award",
         levels=[_level(1, "銅牌", "Bronze", 3000), _level(2, "銀牌", "Silver", 5000),
                 _level(3, "金牌", "Gold", 8000)],
         months_required=0, window=CountingWindow.may31, needs_performance_certificate=True,
         filing_month=7, filing_day=31,
         note=N_("Needs a performance certificate; hours counted to 31 May of the year.")),
    dict(key=TAIPEI_CONTRIBUTION, name_zh="臺北市志願服務貢獻獎",
         name_en="Taipei volunteer contribution award",
         levels=[_level(1, "貢獻獎", "Contribution award", 600)], months_required=0,
         window=CountingWindow.as_of, filing_month=5, filing_day=31,
         note=N_("Higher tiers unknown: add levels to the rule when known.")),
    dict(key=GOLDEN_DIAMOND, name_zh="金鑽獎 優良志工", name_en="Golden Diamond volunteer",
         levels=[_level(1, "優良志工", "Volunteer", 600)], months_required=36,
         window=CountingWindow.as_of, needs_criminal_record_declaration=True,
         filing_month=7, filing_day=15, thresholds=dict(DEFAULT_THRESHOLDS[GOLDEN_DIAMOND]),
         note=N_("The volunteer declares no criminal conviction when applying; only the "
                 "declaration is kept.")),
    dict(key=GOLDEN_DIAMOND_TEAM, name_zh="金鑽獎 團隊", name_en="Golden Diamond team",
         levels=[_level(1, "團隊", "Team", 0)], computed=False, filing_month=7, filing_day=15,
         thresholds=dict(DEFAULT_THRESHOLDS[GOLDEN_DIAMOND_TEAM]), note=TEAM_NOTE),
    dict(key=GOLDEN_DIAMOND_FAMILY, name_zh="金鑽獎 家庭", name_en="Golden Diamond family",
         levels=[_level(1, "家庭", "Family", 0)], computed=False, filing_month=7, filing_day=15,
         thresholds=dict(DEFAULT_THRESHOLDS[GOLDEN_DIAMOND_FAMILY]), note=FAMILY_NOTE),
]
for _i, _r in enumerate(DEFAULT_RULES):
    _r.setdefault("sort_order", _i)


def default_rule_rows() -> list[dict]:
    """Every column of every default rule (for the migration's bulk insert)."""
    defaults = dict(name_en="", months_required=0, window=CountingWindow.as_of,
                    once_per_level=True, consumes=False, validity_years=None,
                    needs_performance_certificate=False, needs_criminal_record_declaration=False,
                    this_unit_only=False, computed=True, filing_month=None, filing_day=None, note="", active=True,
                    thresholds=None)
    rows = []
    for r in DEFAULT_RULES:
        row = {**defaults, **r}
        row["window"] = row["window"].value
        rows.append(row)
    return rows


def _copied(rule: dict) -> dict:
    """A default rule's values, its JSON ones copied (an edited rule never edits the defaults)."""
    return {k: (copy.deepcopy(v) if isinstance(v, (dict, list)) else v) for k, v in rule.items()}


def seed_rules(session: Session) -> list[AwardRule]:
    """Add the default rules missing (by key); rules already there are left alone. Caller commits."""
    begin_write(session)
    have = set(session.scalars(select(AwardRule.key)))
    added = []
    for r in DEFAULT_RULES:
        if r["key"] not in have:
            rule = AwardRule(**_copied(r))
            session.add(rule)
            added.append(rule)
    session.flush()
    return added


def rules(session: Session) -> list[AwardRule]:
    """The active rules; the defaults (unsaved) when the table is empty."""
    rows = list(session.scalars(select(AwardRule).order_by(AwardRule.sort_order, AwardRule.id)))
    if not rows:
        rows = [AwardRule(**{**dict(once_per_level=True, consumes=False, computed=True,
                                     months_required=0, needs_performance_certificate=False,
                                     this_unit_only=False,
                                     needs_criminal_record_declaration=False, active=True,
                                     validity_years=None, filing_month=None, filing_day=None,
                                     thresholds=None),
                             **_copied(r)}) for r in DEFAULT_RULES]
    return [r for r in rows if r.active]


def rule_of(session: Session, key: str) -> AwardRule | None:
    return next((r for r in rules(session) if r.key == key), None)
