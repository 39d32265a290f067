"""Awards and certificates (rules.md "Certificates and awards"): a table of volunteer histories
with the expected outcome of every award, the honour card's renewal, grants, the CLI export, and
property tests of the pure decision."""
import csv
import dataclasses
import datetime as dt
import io

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select, update

from models import award_grants
from models import awards as aw
from models import award_rules
from models.audit import AuditEntry
from models.base import TAIPEI
from models.prior_service import PriorHours
from models.service import ServiceSession, SessionSource, SessionStatus
from models.training import TrainingCourse, TrainingKind, TrainingRecord

V, C, R, NR = (SessionStatus.verified, SessionStatus.closed, SessionStatus.rejected,
               SessionStatus.needs_review)
AS_OF = dt.date(2026, 6, 15)
COMPUTED = ("performance_certificate", "honour_card", "mohw", "national", "taipei_contribution",
            "golden_diamond")
SHORT = {"pc": "performance_certificate", "hc": "honour_card", "mohw": "mohw", "nat": "national",
         "tpe": "taipei_contribution", "gd": "golden_diamond"}
G = aw.GrantStatus.granted
LATER = dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc)  # `now` for grants recorded after today


def at(y, m, d, hh=10, mm=0):
    return dt.datetime(y, m, d, hh, mm, tzinfo=TAIPEI)


def h(hours):
    return round(hours * 60)


def case(name, *, expect="", sessions=(), prior=(), grants=(), start=dt.date(2015, 1, 1),
         special=None, joined=None, trained=True, as_of=AS_OF, missing=None, conditions=None,
         source="training"):
    """expect: "pc=Y1 mohw=N2 ..." (Y/N eligible, then the level proposed, '-' none left);
    awards not named are expected N1. missing: {"pc": (minutes, months)}."""
    want = {k: "N1" for k in COMPUTED}
    for part in expect.split():
        key, code = part.split("=")
        want[SHORT[key]] = code
    return pytest.param(dict(sessions=sessions, prior=prior, grants=grants, start=start,
                             special=special, joined=joined, trained=trained, as_of=as_of,
                             want=want, missing=missing or {}, conditions=conditions or {},
                             source=source), id=name)


Y_ALL = "pc=Y1 hc=Y1 tpe=Y1 gd=Y1"

HISTORIES = [
    case("01-nothing", missing={"pc": (9000, 0), "mohw": (90000, 0)}),
    case("02-149.9h", sessions=[(at(2025, 3, 1), 8994, V)], missing={"pc": (6, 0)}),
    case("03-150h", sessions=[(at(2025, 3, 1), 9000, V)], expect="pc=Y1", missing={"pc": (0, 0)}),
    case("04-150h-one-day-short-of-a-year", start=dt.date(2025, 6, 16),
         sessions=[(at(2026, 1, 1), 9000, V)], missing={"pc": (0, 1), "hc": (9000, 25)}),
    case("05-150h-exactly-a-year", start=dt.date(2025, 6, 15),
         sessions=[(at(2026, 1, 1), 9000, V)], expect="pc=Y1"),
    case("06-leap-29feb-to-28feb-is-a-year", start=dt.date(2024, 2, 29), as_of=dt.date(2025, 2, 28),
         sessions=[(at(2024, 6, 1), 9000, V)], expect="pc=Y1"),
    case("07-leap-29feb-to-27feb-short", start=dt.date(2024, 2, 29), as_of=dt.date(2025, 2, 27),
         sessions=[(at(2024, 6, 1), 9000, V)], missing={"pc": (0, 1)}),
    case("08-as-of-29feb-not-yet-a-year", start=dt.date(2023, 3, 1), as_of=dt.date(2024, 2, 29),
         sessions=[(at(2023, 6, 1), 9000, V)], missing={"pc": (0, 1)}),
    case("09-unverified-rejected-review-do-not-count",
         sessions=[(at(2025, 1, 5), h(149), V), (at(2025, 2, 5), h(200), C),
                   (at(2025, 3, 5), h(100), R), (at(2025, 4, 5), h(50), NR)],
         missing={"pc": (60, 0)}),
    # earlier units' record-book hours count for awards, not for this unit's certificate
    case("10-prior-hours-do-not-count-for-the-units-certificate",
         sessions=[(at(2025, 1, 5), h(50), V)], prior=[(dt.date(2024, 12, 31), h(100))],
         missing={"pc": (h(100), 0), "hc": (h(150), 0)}),
    case("10b-prior-hours-count-for-awards", sessions=[(at(2025, 1, 5), h(150), V)],
         prior=[(dt.date(2024, 12, 31), h(450))], expect=Y_ALL, missing={"mohw": (h(900), 0)}),
    case("11-prior-hours-ending-after-as-of", prior=[(dt.date(2026, 7, 1), h(150))],
         missing={"pc": (9000, 0)}),
    case("12-last-minutes-on-as-of-day-count",
         sessions=[(at(2025, 1, 5), 8970, V), (at(2026, 6, 15, 23, 30), 30, V)], expect="pc=Y1"),
    case("13-minutes-after-as-of-do-not",
         sessions=[(at(2025, 1, 5), 8970, V), (at(2026, 6, 16, 0, 10), 30, V)],
         missing={"pc": (30, 0)}),
    case("14-honour-card-300h-3y", sessions=[(at(2020, 1, 5), h(300), V)], expect="pc=Y1 hc=Y1",
         missing={"tpe": (h(300), 0)}),
    case("15-honour-card-299.98h", sessions=[(at(2020, 1, 5), h(300) - 1, V)], expect="pc=Y1",
         missing={"hc": (1, 0)}),
    case("16-honour-card-35-months", start=dt.date(2023, 7, 15),
         sessions=[(at(2024, 1, 5), h(300), V)], expect="pc=Y1", missing={"hc": (0, 1)}),
    case("17-honour-renewal-hours-not-reused", start=dt.date(2017, 1, 1),
         sessions=[(at(2018, 1, 5), h(500), V)], grants=[("honour_card", 1, G, dt.date(2023, 6, 1))],
         expect="pc=Y1", missing={"hc": (h(100), 0), "gd": (h(100), 0)}),
    case("18-honour-renewal-600h", start=dt.date(2017, 1, 1),
         sessions=[(at(2018, 1, 5), h(600), V)], grants=[("honour_card", 1, G, dt.date(2023, 6, 1))],
         expect=Y_ALL),
    case("19-honour-renewal-years-not-reused", start=dt.date(2021, 1, 1),
         sessions=[(at(2022, 1, 5), h(600), V)], grants=[("honour_card", 1, G, dt.date(2024, 2, 1))],
         expect="pc=Y1 tpe=Y1 gd=Y1", missing={"hc": (0, 7)}),
    case("20-honour-card-pending", sessions=[(at(2022, 1, 5), h(400), V)],
         grants=[("honour_card", 1, aw.GrantStatus.applied, dt.date(2026, 6, 1))], expect="pc=Y1",
         conditions={"hc": ["pending_application"]}),
    case("21-mohw-1500h", sessions=[(at(2025, 6, 1), h(1500), V)], expect=Y_ALL + " mohw=Y1",
         conditions={"nat": ["performance_certificate"]}),
    # in March, the round due 31 March counts hours to the previous 31 December
    case("22-mohw-hours-after-31-dec-do-not-count", as_of=dt.date(2026, 3, 15),
         sessions=[(at(2025, 6, 1), h(1499), V), (at(2026, 2, 1), h(100), V)],
         expect=Y_ALL, missing={"mohw": (60, 0)}),
    case("23-mohw-31-dec-23h30-counts",
         sessions=[(at(2025, 6, 1), h(1500) - 30, V), (at(2025, 12, 31, 23, 30), 30, V)],
         expect=Y_ALL + " mohw=Y1"),
    case("24-mohw-1-jan-00h30-does-not", as_of=dt.date(2026, 3, 15),
         sessions=[(at(2025, 6, 1), h(1500) - 30, V), (at(2026, 1, 1, 0, 30), 30, V)],
         expect=Y_ALL, missing={"mohw": (30, 0)}),
    case("25-mohw-bronze-granted-proposes-silver", sessions=[(at(2025, 6, 1), h(2100), V)],
         grants=[("mohw", 1, G, dt.date(2025, 3, 1))], expect=Y_ALL + " mohw=Y2"),
    case("26-mohw-bronze-granted-silver-short", sessions=[(at(2025, 6, 1), h(1900), V)],
         grants=[("mohw", 1, G, dt.date(2025, 3, 1))], expect=Y_ALL + " mohw=N2",
         missing={"mohw": (h(100), 0)}),
    case("27-mohw-every-level-granted", sessions=[(at(2025, 6, 1), h(3000), V)],
         grants=[("mohw", 1, G, dt.date(2019, 3, 1)), ("mohw", 2, G, dt.date(2021, 3, 1)),
                 ("mohw", 3, G, dt.date(2023, 3, 1))],
         expect=Y_ALL + " mohw=N-", conditions={"mohw": ["all_levels_granted"]}),
    # one level per application, the level the hours reach: gold for 2,600 h, not bronze first
    case("28-mohw-2600h-proposes-gold-not-bronze", sessions=[(at(2025, 6, 1), h(2600), V)],
         expect=Y_ALL + " mohw=Y3"),
    case("28b-mohw-2100h-proposes-silver", sessions=[(at(2025, 6, 1), h(2100), V)],
         expect=Y_ALL + " mohw=Y2"),
    case("28c-mohw-bronze-granted-2600h-proposes-gold", sessions=[(at(2025, 6, 1), h(2600), V)],
         grants=[("mohw", 1, G, dt.date(2025, 3, 1))], expect=Y_ALL + " mohw=Y3"),
    # levels are received upward: after gold, bronze and silver are passed over, not proposed
    case("28d-mohw-gold-granted-lower-levels-not-proposed", sessions=[(at(2025, 6, 1), h(2600), V)],
         grants=[("mohw", 3, G, dt.date(2025, 3, 1))],
         expect=Y_ALL + " mohw=N-", conditions={"mohw": ["all_levels_granted"]}),
    case("28e-mohw-silver-granted-gold-short", sessions=[(at(2025, 6, 1), h(2400), V)],
         grants=[("mohw", 2, G, dt.date(2025, 3, 1))], expect=Y_ALL + " mohw=N3",
         missing={"mohw": (h(100), 0)}),
    case("28f-mohw-gold-not-granted-proposed-again", sessions=[(at(2025, 6, 1), h(2600), V)],
         grants=[("mohw", 3, aw.GrantStatus.not_granted, dt.date(2025, 3, 1))],
         expect=Y_ALL + " mohw=Y3"),
    case("29-national-needs-performance-certificate", sessions=[(at(2025, 6, 1), h(3000), V)],
         expect=Y_ALL + " mohw=Y3", missing={"nat": (0, 0)},
         conditions={"nat": ["performance_certificate"]}),
    case("30-national-3000h-with-certificate", sessions=[(at(2025, 6, 1), h(3000), V)],
         grants=[("performance_certificate", 1, G, dt.date(2025, 1, 10))],
         expect=Y_ALL + " mohw=Y3 nat=Y1"),
    case("31-national-june-hours-do-not-count",
         sessions=[(at(2025, 6, 1), h(3000) - 60, V), (at(2026, 6, 1), 600, V)],
         grants=[("performance_certificate", 1, G, dt.date(2025, 1, 10))],
         expect=Y_ALL + " mohw=Y3", missing={"nat": (60, 0)}),
    case("32-national-bronze-granted-proposes-silver", sessions=[(at(2025, 6, 1), h(5000), V)],
         grants=[("performance_certificate", 1, G, dt.date(2025, 1, 10)),
                 ("national", 1, G, dt.date(2025, 7, 1))],
         expect=Y_ALL + " mohw=Y3 nat=Y2"),
    case("33-taipei-599h", sessions=[(at(2025, 6, 1), h(599), V)], expect="pc=Y1 hc=Y1",
         missing={"tpe": (60, 0), "gd": (60, 0)}),
    case("34-taipei-already-granted", sessions=[(at(2025, 6, 1), h(700), V)],
         grants=[("taipei_contribution", 1, G, dt.date(2025, 5, 1))],
         expect="pc=Y1 hc=Y1 gd=Y1 tpe=N-"),
    case("35-golden-diamond-two-years", start=dt.date(2024, 6, 15),
         sessions=[(at(2025, 6, 1), h(600), V)], expect="pc=Y1 tpe=Y1",
         missing={"gd": (0, 12), "hc": (0, 12)}),
    case("36-seniority-from-joined-on", trained=False, joined=dt.date(2020, 1, 1),
         sessions=[(at(2025, 6, 1), h(150), V)], expect="pc=Y1", source="joined_on"),
    case("37-seniority-unknown", trained=False, sessions=[(at(2025, 6, 1), h(600), V)],
         expect="tpe=Y1", source=None, missing={"pc": (0, 12)},
         conditions={"pc": ["seniority_unknown"], "gd": ["seniority_unknown"]}),
    case("38-seniority-later-of-basic-and-special", start=dt.date(2020, 1, 1),
         special=dt.date(2025, 6, 20), sessions=[(at(2025, 8, 1), h(150), V)],
         missing={"pc": (0, 1)}),
    case("39-training-after-as-of-falls-back-to-joined", start=dt.date(2026, 7, 1),
         joined=dt.date(2020, 1, 1), sessions=[(at(2025, 8, 1), h(150), V)], expect="pc=Y1",
         source="joined_on"),
    case("40-leap-start-honour-card-three-years-on-28-feb", start=dt.date(2024, 2, 29),
         as_of=dt.date(2027, 2, 28), sessions=[(at(2024, 6, 1), h(300), V)],
         expect="pc=Y1 hc=Y1", missing={"tpe": (h(300), 0)}),
    case("41-leap-start-honour-card-one-day-short", start=dt.date(2024, 2, 29),
         as_of=dt.date(2027, 2, 27), sessions=[(at(2024, 6, 1), h(300), V)],
         expect="pc=Y1", missing={"hc": (0, 1)}),
    # trained long ago elsewhere, with this unit since January: its certificate needs a year here
    case("43-certificate-counts-the-months-since-joining-the-unit", start=dt.date(2015, 1, 1),
         joined=dt.date(2026, 1, 10), sessions=[(at(2026, 3, 1), h(300), V)],
         expect="hc=Y1", missing={"pc": (0, 7)}),
    case("42-149.9h-verified-plus-rejected-and-unverified", sessions=[
        (at(2025, 3, 1), 8994, V), (at(2025, 3, 2), 60, R), (at(2025, 3, 3), 60, C)],
         missing={"pc": (6, 0)}),
]


@pytest.fixture
def place(make, unit):
    return make.site(unit), make.item(unit)


def build(db, make, unit, place, spec):
    site, item = place
    vol = make.volunteer(unit, trained=spec["trained"], joined_on=spec["joined"])
    if spec["trained"]:
        special_ids = select(TrainingCourse.id).where(TrainingCourse.kind == TrainingKind.special)
        db.execute(update(TrainingRecord).where(TrainingRecord.volunteer_id == vol.id)
                   .values(completed_on=spec["start"]))
        if spec["special"]:
            db.execute(update(TrainingRecord).where(TrainingRecord.volunteer_id == vol.id,
                                                    TrainingRecord.course_id.in_(special_ids))
                       .values(completed_on=spec["special"]))
    for start, minutes, status in spec["sessions"]:
        db.add(ServiceSession(unit_id=unit.id, volunteer_id=vol.id, site_id=site.id,
                              service_item_id=item.id, checked_in_at=start,
                              checked_out_at=start + dt.timedelta(minutes=1), status=status,
                              credited_minutes=minutes if status == V else 0,
                              source=SessionSource.manual))
    for end, minutes in spec["prior"]:
        db.add(PriorHours(volunteer_id=vol.id, source_unit="前單位", period_start=dt.date(2000, 1, 1),
                          period_end=end, minutes=minutes))
    db.commit()
    for key, level, status, on in spec["grants"]:  # decisions on record (judged elsewhere)
        award_grants.record_grant(db, vol, key, level, status, on, judged=True)
    db.commit()
    return vol


@pytest.mark.parametrize("spec", HISTORIES)
def test_history(db, make, unit, place, spec):
    vol = build(db, make, unit, place, spec)
    result = {e.award_key: e for e in aw.eligibility(db, vol, spec["as_of"])}
    got = {k: ("Y" if result[k].eligible else "N") + (str(result[k].level) if result[k].level else "-")
           for k in COMPUTED}
    assert got == spec["want"]
    for short, (minutes, months) in spec["missing"].items():
        e = result[SHORT[short]]
        assert (e.missing_minutes, e.missing_months) == (minutes, months), short
    for short, conds in spec["conditions"].items():
        assert set(conds) <= set(result[SHORT[short]].missing_conditions), short
    for k in COMPUTED:
        e = result[k]
        assert e.message and e.counted_to is not None
        if e.eligible:
            assert e.missing_minutes == 0 and e.missing_months == 0 and not e.missing_conditions
    assert result["honour_card"].seniority_source == spec["source"]
    for k in ("golden_diamond_team", "golden_diamond_family"):
        assert not result[k].computed and not result[k].eligible and result[k].notes


def test_explanation_of_what_is_missing(db, make, unit, place):
    spec = HISTORIES[0].values[0] | {"start": dt.date(2025, 10, 15),
                                    "sessions": [(at(2025, 11, 1), h(126.5), V)]}
    vol = build(db, make, unit, place, spec)
    pc = next(e for e in aw.eligibility(db, vol, AS_OF) if e.award_key == "performance_certificate")
    assert (pc.missing_minutes, pc.missing_months, pc.missing_hours) == (h(23.5), 4, 23.5)
    assert pc.params["missing_hours"] == h(23.5) and pc.params["missing_months"] == 4
    assert aw.explain(pc) == "23 h 30 min more service and 4 more months of service needed"
    one_month = dataclasses.replace(pc, params={**pc.params, "missing_months": 1})
    assert aw.explain(one_month) == "23 h 30 min more service and 1 more month of service needed"
    assert pc.service_minutes == h(126.5) and pc.counted_to == AS_OF
    gd = next(e for e in aw.eligibility(db, vol, AS_OF) if e.award_key == "golden_diamond")
    assert any("criminal" in n for n in gd.notes)


def test_joined_on_is_said(db, make, unit, place):
    [spec] = [c.values[0] for c in HISTORIES if c.id == "39-training-after-as-of-falls-back-to-joined"]
    vol = build(db, make, unit, place, spec)
    result = {e.award_key: e for e in aw.eligibility(db, vol, AS_OF)}
    hc, pc = result["honour_card"], result["performance_certificate"]
    assert hc.seniority_start == pc.seniority_start == dt.date(2020, 1, 1)
    assert any("training completion dates are not recorded" in n for n in hc.notes)
    # the certificate counts from joining the unit anyway: nothing to warn about there
    assert not any("training completion dates are not recorded" in n for n in pc.notes)


# --- Golden Diamond: years in Taipei ----------------------------------------------------------

def test_taipei_months_merge_overlaps_and_count_last_days():
    d = dt.date
    assert aw.taipei_months(None, [], d(2026, 6, 15)) is None
    assert aw.taipei_months(d(2025, 6, 15), [], d(2026, 6, 15)) == 12
    # an earlier period's last day counts: a calendar year is 12 months
    assert aw.taipei_months(None, [(d(2020, 1, 1), d(2020, 12, 31))], d(2026, 6, 15)) == 12
    # straight on into this unit: one stretch; overlaps count once; after the day: not yet
    assert aw.taipei_months(d(2021, 1, 1), [(d(2020, 1, 1), d(2020, 12, 31)),
                                            (d(2020, 6, 1), d(2021, 3, 31)),
                                            (d(2026, 7, 1), d(2026, 12, 31))],
                            d(2026, 6, 15)) == 77
    # a gap: each stretch in whole months
    assert aw.taipei_months(d(2026, 1, 20), [(d(2025, 1, 10), d(2025, 3, 24))],
                            d(2026, 6, 15)) == 2 + 4


def _golden(db, vol, as_of=AS_OF):
    return next(e for e in aw.eligibility(db, vol, as_of) if e.award_key == "golden_diamond")


def test_golden_diamond_counts_years_in_taipei_only(db, make, unit, place):
    """Trained in 2015 elsewhere, with this Taipei unit since August 2023: 34 months in Taipei
    on 15 June 2026, so 2 more months; the honour card (years anywhere) is not affected."""
    from models import prior_service
    from models import recognition as rec

    vol = build(db, make, unit, place, HISTORIES[0].values[0] | {
        "start": dt.date(2015, 1, 1), "joined": dt.date(2023, 8, 15),
        "sessions": [(at(2024, 1, 5), h(700), V)]})
    gd = _golden(db, vol)
    assert (gd.eligible, gd.service_months, gd.missing_months, gd.missing_minutes) == (False, 34, 2, 0)
    assert gd.seniority_start == dt.date(2023, 8, 15)
    assert aw.explain(gd) == "2 more months of service in Taipei needed"
    hc = next(e for e in aw.eligibility(db, vol, AS_OF) if e.award_key == "honour_card")
    assert hc.eligible and hc.service_months == 137
    # an earlier unit outside Taipei adds hours, not years in Taipei
    prior_service.add_prior_hours(db, vol, None, source_unit="新北市某協會", in_taipei=False,
                                period_start=dt.date(2016, 1, 1), period_end=dt.date(2019, 12, 31),
                                minutes=h(100))
    db.commit()
    gd = _golden(db, vol)
    assert gd.counted_minutes == h(800) and gd.missing_months == 2
    # one that does not say: not counted, and the explanation's notes say so
    prior_service.add_prior_hours(db, vol, None, source_unit="某基金會",
                                period_start=dt.date(2020, 1, 1), period_end=dt.date(2020, 12, 31),
                                minutes=h(10))
    db.commit()
    gd = _golden(db, vol)
    assert gd.missing_months == 2 and any("do not say whether" in n for n in gd.notes)
    # two months at a Taipei unit before: 36 months in Taipei, eligible
    prior_service.add_prior_hours(db, vol, None, source_unit="臺北市立圖書館", in_taipei=True,
                                period_start=dt.date(2023, 6, 1), period_end=dt.date(2023, 8, 14),
                                minutes=h(20))
    db.commit()
    gd = _golden(db, vol)
    assert gd.eligible and gd.service_months == 36
    # where they come from: 34 with this unit since 15 August 2023, 2 from the earlier period
    assert (gd.seniority_start, gd.unit_months, gd.earlier_months) == (dt.date(2023, 8, 15), 34, 2)
    [(_v, [bulk])] = rec.unit_eligibility(db, unit.id, AS_OF, ["golden_diamond"], volunteers=[vol])
    assert (bulk.eligible, bulk.service_months, bulk.message) == (True, 36, gd.message)
    assert (bulk.unit_months, bulk.earlier_months) == (34, 2)
    # more hours short as well
    short = build(db, make, unit, place, HISTORIES[0].values[0] | {
        "start": dt.date(2015, 1, 1), "joined": dt.date(2025, 6, 15),
        "sessions": [(at(2025, 7, 5), h(500), V)]})
    assert aw.explain(_golden(db, short)) == ("100 h 00 min more service and 24 more months of "
                                              "service in Taipei needed")


def test_the_years_in_taipei_are_the_rules_data(db, make, unit, place):
    """A rule without years_in_taipei_only counts years anywhere, as before."""
    vol = build(db, make, unit, place, HISTORIES[0].values[0] | {
        "start": dt.date(2015, 1, 1), "joined": dt.date(2023, 8, 15),
        "sessions": [(at(2024, 1, 5), h(700), V)]})
    award_rules.seed_rules(db)
    rule = db.scalar(select(award_rules.AwardRule).where(award_rules.AwardRule.key == "golden_diamond"))
    assert rule.thresholds == {"years_in_taipei_only": True}
    rule.thresholds = {"years_in_taipei_only": False}
    db.commit()
    gd = _golden(db, vol)
    assert gd.eligible and gd.service_months == 137


# --- grants ---------------------------------------------------------------------------------

def test_honour_card_validity_and_renewal(db, make, unit, place):
    vol = build(db, make, unit, place, HISTORIES[0].values[0] | {
        "start": dt.date(2010, 1, 1), "sessions": [(at(2012, 1, 1), h(1000), V)]})
    admin = make.user(unit, role="admin")
    now = dt.datetime(2026, 9, 1, tzinfo=dt.timezone.utc)
    first = award_grants.record_grant(db, vol, "honour_card", 1, "granted", dt.date(2020, 6, 1), admin, now,
                           judged=True)  # decisions from before: on record
    assert (first.valid_from, first.valid_to) == (dt.date(2020, 6, 1), dt.date(2023, 5, 31))
    assert (first.minutes_used, first.months_used) == (h(300), 36)
    # approved before the previous card expires: starts the day after
    second = award_grants.record_grant(db, vol, "honour_card", 1, "granted", dt.date(2023, 3, 1), admin, now,
                            judged=True)
    assert (second.valid_from, second.valid_to) == (dt.date(2023, 6, 1), dt.date(2026, 5, 31))
    # approved after it expired: starts on approval
    applied = award_grants.record_grant(db, vol, "honour_card", 1, "applied", dt.date(2026, 7, 1), admin, now)
    third = award_grants.record_grant(db, vol, "honour_card", 1, "granted", dt.date(2026, 8, 1), admin, now)
    assert third is applied and third.applied_on == dt.date(2026, 7, 1)
    assert (third.valid_from, third.valid_to) == (dt.date(2026, 8, 1), dt.date(2029, 7, 31))
    db.commit()
    hc = next(e for e in aw.eligibility(db, vol, dt.date(2026, 9, 1)) if e.award_key == "honour_card")
    assert hc.used_minutes == h(900) and hc.counted_minutes == h(100) and not hc.eligible
    entries = list(db.scalars(select(AuditEntry).where(AuditEntry.entity == "award_grant")))
    assert [e.action for e in entries] == ["award_granted", "award_granted", "award_applied",
                                           "award_granted"]
    assert entries[-1].before_data()["status"] == "applied"
    assert entries[-1].actor_user_id == admin.id


@pytest.mark.parametrize("approved, valid_to", [
    (dt.date(2024, 2, 29), dt.date(2027, 2, 28)),  # no 29 Feb 2027: the last day of February
    (dt.date(2024, 3, 1), dt.date(2027, 2, 28)),  # the day before 1 March 2027
    (dt.date(2023, 2, 28), dt.date(2026, 2, 27)),
    (dt.date(2025, 2, 28), dt.date(2028, 2, 27)),  # 2028 has a 29 February: still the 27th
    (dt.date(2021, 1, 1), dt.date(2023, 12, 31)),
])
def test_honour_card_validity_by_civil_code_121(db, make, unit, place, approved, valid_to):
    """A period in years ends the day before the corresponding day of its last year; without
    one (29 February), on the last day of that month (民法 §121)."""
    assert aw.period_last_day(approved, 3) == valid_to
    vol = build(db, make, unit, place, HISTORIES[0].values[0] | {
        "start": dt.date(2010, 1, 1), "sessions": [(at(2012, 1, 1), h(1000), V)]})
    card = award_grants.record_grant(db, vol, "honour_card", 1, "granted", approved, now=LATER, judged=True)
    assert (card.valid_from, card.valid_to) == (approved, valid_to)
    # renewed before it expires: the next card starts the day after and runs its own 3 years
    renewal = award_grants.record_grant(db, vol, "honour_card", 1, "granted",
                              valid_to - dt.timedelta(days=30), now=LATER, judged=True)
    assert renewal.valid_from == valid_to + dt.timedelta(days=1)
    assert renewal.valid_to == aw.period_last_day(renewal.valid_from, 3)
    db.commit()


def test_a_level_is_granted_once(db, make, unit, place):
    vol = build(db, make, unit, place, HISTORIES[0].values[0])
    award_grants.record_grant(db, vol, "mohw", 1, "granted", dt.date(2025, 3, 1), judged=True)
    with pytest.raises(award_grants.AwardError, match="already granted"):
        award_grants.record_grant(db, vol, "mohw", 1, "applied", dt.date(2026, 3, 1))
    db.rollback()
    with pytest.raises(award_grants.AwardError, match="Unknown level"):
        award_grants.record_grant(db, vol, "mohw", 4, "applied", dt.date(2026, 3, 1))
    db.rollback()
    with pytest.raises(award_grants.AwardError, match="Unknown award"):
        award_grants.record_grant(db, vol, "nobel", 1, "applied", dt.date(2026, 3, 1))
    db.rollback()


def test_one_level_per_application(db, make, unit, place):
    """MOHW: one level per application, so no second level is applied for while one waits for
    its decision; once decided, the next level can be applied for."""
    vol = build(db, make, unit, place, HISTORIES[0].values[0] | {
        "sessions": [(at(2025, 6, 1), h(2600), V)]})
    award_grants.record_grant(db, vol, "mohw", 1, "applied", dt.date(2026, 3, 1))
    db.commit()
    for level in (2, 3):
        with pytest.raises(award_grants.AwardError, match="pending"):
            award_grants.record_grant(db, vol, "mohw", level, "applied", dt.date(2026, 3, 2))
        db.rollback()
    award_grants.record_grant(db, vol, "mohw", 1, "granted", dt.date(2026, 6, 1))
    assert award_grants.record_grant(db, vol, "mohw", 2, "applied", dt.date(2027, 3, 1),
                           now=LATER).level == 2
    db.commit()


def test_no_application_or_decision_after_today_nor_a_decision_before_its_application(
        db, make, unit, place):
    """An application dated 2030 was accepted, then a grant dated before it: the honour card's
    validity and its hours rest on these dates. Today is Taipei's (00:30 on 1 March in Taipei
    is still 28 February in UTC); nothing is recorded or audited when refused."""
    vol = build(db, make, unit, place, HISTORIES[0].values[0] | {
        "start": dt.date(2010, 1, 1), "sessions": [(at(2012, 1, 1), h(1000), V)]})
    now = dt.datetime(2026, 2, 28, 16, 30, tzinfo=dt.timezone.utc)  # 2026-03-01 00:30 in Taipei
    for status in ("applied", "granted", "not_granted"):
        with pytest.raises(award_grants.AwardError) as refused:
            award_grants.record_grant(db, vol, "honour_card", 1, status, dt.date(2026, 3, 2), None, now)
        assert refused.value.params == {"today": "2026-03-01"}
        assert "after today" in refused.value.message
        db.rollback()
    award_grants.record_grant(db, vol, "honour_card", 1, "applied", dt.date(2026, 3, 1), None, now)
    db.commit()
    later = now + dt.timedelta(days=30)
    for status in ("granted", "not_granted"):
        with pytest.raises(award_grants.AwardError) as refused:
            award_grants.record_grant(db, vol, "honour_card", 1, status, dt.date(2026, 2, 28), None, later)
        assert refused.value.params == {"date": "2026-03-01"}
        assert "before the application" in refused.value.message
        db.rollback()
    [grant] = db.scalars(select(aw.AwardGrant).where(aw.AwardGrant.volunteer_id == vol.id)).all()
    assert (grant.status, grant.applied_on, grant.decided_on, grant.valid_from) == (
        aw.GrantStatus.applied, dt.date(2026, 3, 1), None, None)
    assert [e.action for e in db.scalars(select(AuditEntry).where(
        AuditEntry.entity == "award_grant"))] == ["award_applied"]
    # decided on the day of the application: fine
    card = award_grants.record_grant(db, vol, "honour_card", 1, "granted", dt.date(2026, 3, 1), None, later)
    assert (card.applied_on, card.decided_on, card.valid_from) == (
        dt.date(2026, 3, 1), dt.date(2026, 3, 1), dt.date(2026, 3, 1))
    db.commit()


def test_rules_are_data(db, make, unit, place):
    vol = build(db, make, unit, place, HISTORIES[0].values[0] | {
        "sessions": [(at(2025, 1, 1), h(1000), V)]})
    # the migrated database holds the rules until a first test empties it: start without them
    db.execute(delete(award_rules.AwardRule))
    assert len(award_rules.seed_rules(db)) == len(award_rules.DEFAULT_RULES) and award_rules.seed_rules(db) == []
    db.commit()
    award_grants.record_grant(db, vol, "taipei_contribution", 1, "granted", dt.date(2025, 5, 1), judged=True)
    rule = db.scalar(select(award_rules.AwardRule).where(award_rules.AwardRule.key == "taipei_contribution"))
    rule.levels = [*rule.levels, {"level": 2, "name_zh": "二級", "name_en": "Tier 2", "minutes": h(1000)}]
    db.commit()
    tpe = next(e for e in aw.eligibility(db, vol, AS_OF) if e.award_key == "taipei_contribution")
    assert (tpe.eligible, tpe.level, tpe.level_name_zh) == (True, 2, "二級")


# --- properties of the pure decision -----------------------------------------------------------

HOUR_RULES = [award_rules.AwardRule(**{**dict(once_per_level=True, consumes=False, months_required=0,
                                     needs_performance_certificate=False), **r})
              for r in award_rules.DEFAULT_RULES if r.get("computed", True)]


@settings(max_examples=300, deadline=None)
@given(rule=st.sampled_from(HOUR_RULES), minutes=st.integers(0, 600_000),
       extra=st.integers(0, 200_000), months=st.one_of(st.none(), st.integers(0, 600)),
       taken=st.sets(st.integers(1, 3)), certificate=st.booleans())
def test_more_verified_hours_never_lose_eligibility(rule, minutes, extra, months, taken, certificate):
    before = aw.evaluate(rule, minutes=minutes, months=months, taken_levels=taken,
                         has_performance_certificate=certificate)
    after = aw.evaluate(rule, minutes=minutes + extra, months=months, taken_levels=taken,
                        has_performance_certificate=certificate)
    if before["eligible"]:
        assert after["eligible"]


@settings(max_examples=300, deadline=None)
@given(rule=st.sampled_from([r for r in HOUR_RULES if not r.months_required
                             and not r.needs_performance_certificate]),
       minutes=st.integers(0, 600_000), taken=st.sets(st.integers(1, 2)))
def test_missing_is_zero_exactly_when_eligible(rule, minutes, taken):
    out = aw.evaluate(rule, minutes=minutes, months=None, taken_levels=taken)
    assert (out["missing_minutes"] == 0) == out["eligible"]


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(base=st.integers(8900, 9100), extra=st.integers(0, 300))
def test_adding_verified_sessions_in_the_database(db, make, unit, place, base, extra):
    spec = HISTORIES[0].values[0] | {"sessions": [(at(2025, 1, 1), base, V)]}
    vol = build(db, make, unit, place, spec)
    first = next(e for e in aw.eligibility(db, vol, AS_OF)
                 if e.award_key == "performance_certificate")
    site, item = place
    db.add(ServiceSession(unit_id=unit.id, volunteer_id=vol.id, site_id=site.id,
                          service_item_id=item.id, checked_in_at=at(2025, 2, 1),
                          checked_out_at=at(2025, 2, 1, 11), status=V, credited_minutes=extra,
                          source=SessionSource.manual))
    db.commit()
    second = next(e for e in aw.eligibility(db, vol, AS_OF) if e.award_key == first.award_key)
    assert first.eligible <= second.eligible
    assert (first.missing_minutes == 0) == first.eligible
    assert second.counted_minutes == first.counted_minutes + extra


# --- the CLI ----------------------------------------------------------------------------------

def test_cli_awards_csv_and_xlsx(app, db, make, unit, place, tmp_path, monkeypatch):
    vol = build(db, make, unit, place, HISTORIES[0].values[0] | {
        "sessions": [(at(2025, 1, 1), h(200), V)]})
    vol.name_zh = "=HYPERLINK(1)"
    db.commit()
    runner = app.test_cli_runner()
    out = runner.invoke(args=["awards", "--as-of", "2026-06-15", "--award",
                              "performance_certificate", "--format", "csv"])
    assert out.exit_code == 0, out.output
    assert out.stdout_bytes.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(out.stdout_bytes.decode("utf-8-sig"))))
    assert len(rows) == 2 and rows[1][1] == "'=HYPERLINK(1)"
    line = dict(zip(rows[0], rows[1]))
    assert line["award"] == "performance_certificate" and line["eligible"] == "yes"
    target = tmp_path / "awards.xlsx"
    out = runner.invoke(args=["awards", "--as-of", "2026-06-15", "--format", "xlsx",
                              "--output", str(target)])
    assert out.exit_code == 0, out.output
    from openpyxl import load_workbook
    sheet = load_workbook(target).active
    assert sheet.max_row == 1 + len(COMPUTED) + 2
    header = [c.value for c in sheet[1]]
    for line in sheet.iter_rows(min_row=2):  # hours and months are numbers, the rest text
        cells = dict(zip(header, line))
        assert cells["counted_hours"].data_type == "n" and cells["used_hours"].data_type == "n"
        assert cells["service_months"].value is None or cells["service_months"].data_type == "n"
        assert cells["volunteer_no"].data_type == "s" and cells["name_zh"].data_type == "s"
    pc = next(dict(zip(header, (c.value for c in line))) for line in sheet.iter_rows(min_row=2)
              if line[2].value == "performance_certificate")
    assert pc["counted_hours"] == 200 and pc["name_zh"] == "=HYPERLINK(1)"  # a text cell
    out = runner.invoke(args=["awards", "--as-of", "2026-06-15", "--award", "nobel"])
    assert out.exit_code != 0
    monkeypatch.chdir(tmp_path)  # '-' is standard output, never a file named "-"
    out = runner.invoke(args=["awards", "--as-of", "2026-06-15", "--output", "-"])
    assert out.exit_code == 0 and out.stdout_bytes.startswith(b"\xef\xbb\xbf")
    assert not (tmp_path / "-").exists()


def test_migration_seeds_the_default_rules(tmp_path):
    """Migration 0005 froze the defaults; they still match models.awards.DEFAULT_RULES."""
    from sqlalchemy import create_engine

    from models import migrate

    url = f"sqlite:///{tmp_path / 'rules.db'}"
    migrate.upgrade(url)
    engine = create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(select(award_rules.AwardRule.__table__)).mappings().all()
    engine.dispose()
    stored = {r["key"]: {k: v for k, v in r.items() if k != "id"} for r in rows}
    assert stored == {r["key"]: r for r in award_rules.default_rule_rows()}


def test_migration_0017_gives_team_and_family_their_numbers_and_true_notes(tmp_path):
    """Before 0017 the team's and family's numbers were code and their notes said "Not computed
    here"; after it the rules carry the numbers and say where they are judged. An admin's own
    note is kept; downgrading gives the old notes back."""
    from sqlalchemy import create_engine, text

    from models import migrate

    url = f"sqlite:///{tmp_path / 'rules.db'}"
    migrate.upgrade(url, "0016")
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE award_rule SET note = 'ours' WHERE key = 'golden_diamond'"))
    migrate.upgrade(url, "0017")
    with engine.connect() as conn:
        rows = {r.key: r for r in conn.execute(select(award_rules.AwardRule.__table__))}
    assert award_rules.thresholds_of(None, "golden_diamond_team") == rows["golden_diamond_team"].thresholds
    assert rows["golden_diamond_team"].thresholds == {
        "team_months": 36, "min_members": 15, "insured_percent": 100, "record_book_percent": 80,
        "member_window_months": 12}
    assert rows["golden_diamond_family"].thresholds == {
        "min_members": 2, "member_minutes": h(600), "member_months": 36}
    assert not any("Not computed" in r.note for r in rows.values())
    assert rows["golden_diamond"].note == "ours"
    migrate.downgrade(url, "0016")
    with engine.connect() as conn:
        notes = dict(conn.execute(text("SELECT key, note FROM award_rule")).all())
    engine.dispose()
    assert notes["golden_diamond_team"].startswith("Not computed here")


@settings(max_examples=400, deadline=None)
@given(rule=st.sampled_from([award_rules.AwardRule(**{**dict(once_per_level=True, consumes=False,
                                                    months_required=0,
                                                    needs_performance_certificate=False), **r})
                             for r in award_rules.DEFAULT_RULES if r.get("computed", True)]),
       minutes=st.integers(0, 600_000), months=st.one_of(st.none(), st.integers(0, 600)),
       taken=st.sets(st.integers(1, 3)), certificate=st.booleans(), pending=st.booleans())
def test_nothing_missing_exactly_when_eligible(rule, minutes, months, taken, certificate, pending):
    """Every default rule, years and extra conditions included: the explanation lists nothing
    missing (no hours, no months, no condition) exactly when the volunteer is eligible."""
    out = aw.evaluate(rule, minutes=minutes, months=months, taken_levels=taken,
                      has_performance_certificate=certificate, pending=pending)
    nothing_missing = (out["missing_minutes"] == 0 and out["missing_months"] == 0
                       and not out["missing_conditions"])
    assert out["eligible"] == nothing_missing
    if out["missing_minutes"] is not None:
        assert out["missing_minutes"] == max(0, out["required_minutes"] - minutes)


@settings(max_examples=300, deadline=None)
@given(rule=st.sampled_from(HOUR_RULES), minutes=st.integers(0, 600_000),
       months=st.integers(0, 600), more=st.integers(0, 120), taken=st.sets(st.integers(1, 3)))
def test_more_service_months_never_lose_eligibility(rule, minutes, months, more, taken):
    before = aw.evaluate(rule, minutes=minutes, months=months, taken_levels=taken)
    after = aw.evaluate(rule, minutes=minutes, months=months + more, taken_levels=taken)
    assert before["eligible"] <= after["eligible"]
