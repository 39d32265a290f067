"""Results reports (成果報表): every figure of a hand-built unit, the layout against a golden file
(CSV byte for byte, XLSX cell by cell), periods and filing windows, the frozen snapshot and the
differences against it, reminders, the pages for every role, and the CLI.

To rewrite the golden file after a deliberate layout change:
HOURBOOK_UPDATE_GOLDEN=1 pytest tests/test_reports.py — then read the diff before committing.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import os
import re
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import event, select

from models import report_layout as layout
from models import reports
from models.audit import AuditEntry
from models.awards import AwardGrant, GrantStatus
from models.base import TAIPEI, taipei_date, utcnow
from models.insurance import CoverKind, InsuranceCover
from models.people import Gender, VolunteerStatus
from models.reports import ReportSnapshot
from models.service import ServiceSession, SessionSource, SessionStatus
from models.training import TrainingCourse, TrainingMode, TrainingRecord

GOLDEN = Path(__file__).parent / "golden" / "results_report.csv"
H1 = reports.parse_period("2026H1")
AFTER_H1 = dt.date(2026, 7, 5)  # in the filing window of 2026H1
FILED_AT = dt.datetime(2026, 7, 5, 2, 0, tzinfo=dt.timezone.utc)
D = dt.date


def served(db, vol, site, item, when, minutes, status=SessionStatus.verified, persons=None):
    """A session starting at `when` (naive = Asia/Taipei)."""
    start = when.replace(tzinfo=TAIPEI)
    s = ServiceSession(unit_id=vol.unit_id, volunteer_id=vol.id, site_id=site.id,
                       service_item_id=item.id, checked_in_at=start,
                       checked_out_at=start + dt.timedelta(minutes=minutes), status=status,
                       credited_minutes=minutes if status == SessionStatus.verified else 0,
                       source=SessionSource.kiosk_card, persons_served=persons)
    db.add(s)
    db.commit()
    return s


def cover(db, vol, kind, starts_on, ends_on):
    db.add(InsuranceCover(volunteer_id=vol.id, kind=kind, insurer="臺灣產物保險",
                          policy_no=f"P-{vol.id}-{kind.value}-{starts_on}", starts_on=starts_on,
                          ends_on=ends_on))
    db.commit()


def grant(db, vol, key, status, decided_on):
    db.add(AwardGrant(unit_id=vol.unit_id, volunteer_id=vol.id, award_key=key, level=1,
                      status=status, decided_on=decided_on, applied_on=decided_on))
    db.commit()


@pytest.fixture
def data(db, make):
    """A unit where every figure of 2026H1 (ending 2026-06-30) is known. See the comments."""
    unit = make.unit(name="臺北市成果測試協會")
    unit.created_at = dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc)
    db.commit()
    daan = make.site(unit, name_zh="大安據點", name_en="Da'an")
    wanhua = make.site(unit, name_zh="萬華據點", name_en="Wanhua")
    make.site(unit, name_zh="停用據點", active=False)  # inactive, nobody served: not listed
    companion = make.item(unit, code="A01", name_zh="長者陪伴關懷", name_en="Companionship")
    meals = make.item(unit, code="B02", name_zh="共餐服務", name_en="Meals")
    make.item(unit, code="C03", name_zh="電話問安", name_en="Phone calls")  # active, 0 hours
    make.item(unit, code="Z09", name_zh="停用項目", active=False)  # inactive, unused: not listed

    def vol(name, gender, born, **kw):
        return make.volunteer(unit, name_zh=name, gender=gender, birth_date=born, trained=False,
                              **kw)

    # On the roll on 2026-06-30: A, B, C, F, H.
    a = vol("陳一", Gender.female, D(2014, 6, 30), joined_on=D(2025, 3, 1),  # 12 on the day
            record_book_no="RB-1", record_book_issued_on=D(2025, 5, 1))
    b = vol("林二", Gender.male, D(2014, 7, 1), joined_on=D(2026, 2, 10))  # 11; new
    c = vol("黃三", Gender.female, D(1961, 6, 30), joined_on=D(2020, 1, 1),  # 65 on the day
            record_book_no="RB-3", record_book_issued_on=D(2026, 7, 2))  # book after the end
    d = vol("王四", Gender.other, D(1961, 7, 1), joined_on=D(2019, 1, 1),  # left in the period
            left_on=D(2026, 5, 15), status=VolunteerStatus.inactive, record_book_no="RB-4")
    vol("張五", Gender.male, D(1996, 7, 1), joined_on=D(2026, 7, 1))  # joins after the end
    f = vol("李六", Gender.female, D(1976, 6, 30), record_book_no="RB-6")  # 50; no joining day
    f.created_at = dt.datetime(2025, 12, 1, tzinfo=dt.timezone.utc)  # ... on file since 2025
    g = vol("吳七", Gender.male, D(1971, 6, 30), joined_on=D(2018, 1, 1),  # gone, day unknown
            status=VolunteerStatus.inactive)
    h = vol("蔡八", Gender.female, D(1977, 1, 1), joined_on=D(2025, 1, 1),  # 49; leaves after
            left_on=D(2026, 7, 20), status=VolunteerStatus.inactive)
    vol("許九", Gender.male, D(2000, 1, 1), joined_on=D(2026, 3, 1),  # new and left within
        left_on=D(2026, 4, 30), status=VolunteerStatus.inactive)
    db.commit()

    # Insurance on 2026-06-30: group A, F; commercial B (ends that day), F; C's ended the day
    # before; D is covered but not on the roll.
    cover(db, a, CoverKind.group, D(2026, 1, 1), D(2026, 12, 31))
    cover(db, b, CoverKind.commercial, D(2026, 2, 10), D(2026, 6, 30))
    cover(db, c, CoverKind.group, D(2025, 6, 30), D(2026, 6, 29))
    cover(db, d, CoverKind.group, D(2026, 1, 1), D(2026, 12, 31))
    cover(db, f, CoverKind.group, D(2026, 1, 1), D(2026, 12, 31))
    cover(db, f, CoverKind.commercial, D(2026, 6, 1), D(2026, 7, 31))
    cover(db, g, CoverKind.group, D(2026, 1, 1), D(2026, 12, 31))

    # Training (social-welfare unit): basic = B01-B03 or the former B12; special = SW01-SW04.
    basic, special = ["B01", "B02", "B03"], ["SW01", "SW02", "SW03", "SW04"]
    make.train(a, unit, on=D(2025, 2, 1), codes=basic + special)  # both, before the period
    make.train(b, unit, on=D(2026, 3, 1), codes=basic)  # basic in the period
    make.train(b, unit, on=D(2026, 3, 1), codes=special[:3])  # special incomplete
    legacy = db.scalar(select(TrainingCourse).where(TrainingCourse.unit_id == unit.id,
                                                    TrainingCourse.code == "B12"))
    db.add(TrainingRecord(volunteer=c, course=legacy, completed_on=D(2010, 1, 1), minutes=720,
                          mode=TrainingMode.in_person))  # basic: the former certificate
    make.train(c, unit, on=D(2026, 6, 30), codes=special)  # special on the last day
    make.train(h, unit, on=D(2025, 1, 1), codes=basic[:2] + special)  # special only...
    make.train(h, unit, on=D(2026, 7, 1), codes=basic[2:])  # ... B03 after the end
    make.train(d, unit, on=D(2026, 3, 1), codes=basic + special)  # not on the roll
    db.commit()

    at = dt.datetime
    served(db, a, daan, companion, at(2026, 1, 1, 0, 30), 120, persons=5)  # Dec 31 in UTC
    served(db, a, daan, companion, at(2026, 3, 2, 9, 0), 90)
    served(db, b, wanhua, meals, at(2026, 6, 30, 23, 30), 30, persons=7)  # last day, Taipei
    served(db, b, wanhua, meals, at(2026, 7, 1, 0, 10), 60, persons=1)  # after the end
    served(db, c, daan, meals, at(2026, 4, 1, 10, 0), 45, status=SessionStatus.closed,
           persons=3)  # not verified
    served(db, c, wanhua, companion, at(2026, 4, 2, 10, 0), 60, status=SessionStatus.rejected)
    served(db, d, wanhua, companion, at(2026, 2, 1, 9, 0), 100, persons=2)  # left later: counts
    served(db, h, daan, companion, at(2025, 12, 31, 23, 50), 60)  # before the period

    grant(db, a, "honour_card", GrantStatus.granted, D(2026, 5, 1))
    grant(db, b, "performance_certificate", GrantStatus.granted, D(2026, 1, 1))
    grant(db, a, "mohw", GrantStatus.granted, D(2026, 7, 2))  # after the end
    grant(db, c, "national", GrantStatus.applied, D(2026, 3, 1))  # applied, not granted

    elsewhere = make.unit()
    outsider = make.volunteer(elsewhere, joined_on=D(2026, 1, 5))
    served(db, outsider, make.site(elsewhere), make.item(elsewhere), at(2026, 3, 3, 9, 0), 60)
    grant(db, outsider, "honour_card", GrantStatus.granted, D(2026, 5, 1))
    return dict(unit=unit, a=a, b=b, c=c, d=d, f=f, daan=daan, wanhua=wanhua,
                companion=companion, meals=meals)


@pytest.fixture
def admin_of(app, make):
    """An admin of the given unit, signed in over HTTP."""
    from tests.conftest import _signed_in

    return lambda unit: _signed_in(app, make, unit, "admin")


def values(lines) -> dict[str, int]:
    return {line.key: line.value for line in lines}


EXPECTED_H1 = {
    "volunteers.total": 5, "volunteers.female": 4, "volunteers.male": 1, "volunteers.other": 0,
    "volunteers.age.under_12": 1, "volunteers.age.12_17": 1, "volunteers.age.18_29": 0,
    "volunteers.age.30_49": 1, "volunteers.age.50_54": 1, "volunteers.age.55_64": 0,
    "volunteers.age.65_plus": 1,
    "volunteers.new": 2, "volunteers.left": 2,
    "record_book.holders": 2,
    "insured.group": 2, "insured.commercial": 2, "insured.none": 2,
    "training.basic.period": 1, "training.basic.total": 3,
    "training.special.period": 1, "training.special.total": 3,
    "service.volunteers": 3, "service.sessions": 4, "service.hours": 340,
    "service.persons_served": 14,
    "hours.item:A01": 310, "hours.item:B02": 30, "hours.item:C03": 0,
    "hours.site:大安據點": 210, "hours.site:萬華據點": 130,
    "awards:performance_certificate": 1, "awards:honour_card": 1, "awards:mohw": 0,
    "awards:national": 0, "awards:taipei_contribution": 0, "awards:golden_diamond": 0,
    "awards:golden_diamond_team": 0, "awards:golden_diamond_family": 0, "awards.total": 2,
}


def test_every_figure_of_the_hand_built_unit(db, data):
    lines = reports.report_lines(db, data["unit"].id, H1)
    assert values(lines) == EXPECTED_H1
    assert [line.key for line in lines] == list(EXPECTED_H1)  # the layout's order


def test_the_year_and_the_second_half(db, data):
    unit = data["unit"]
    year = values(reports.report_lines(db, unit.id, reports.parse_period("2026")))
    # on 2026-12-31: A, F still there; B, C too; H left on 07-20; E joined 07-01
    assert year["volunteers.total"] == 5 and year["volunteers.left"] == 3
    assert year["volunteers.new"] == 3  # B, E, 許九
    assert year["service.sessions"] == 5 and year["service.hours"] == 400  # + B's July session
    assert year["awards:mohw"] == 1 and year["awards.total"] == 3
    assert year["record_book.holders"] == 3  # C's book was issued in July
    h2 = values(reports.report_lines(db, unit.id, reports.parse_period("2026H2")))
    assert h2["service.sessions"] == 1 and h2["service.persons_served"] == 1
    assert h2["training.basic.period"] == 0  # H's B03 in July: H has left by 12-31


def test_figures_take_a_fixed_number_of_queries(app, db, make, data):
    """Bulk aggregates: more volunteers and sessions, not more statements."""
    unit = data["unit"]
    engine = app.extensions["hourbook_db"]["engine"]
    seen = []

    def count(*_args):
        seen.append(1)

    def run():
        seen.clear()
        db.rollback()
        event.listen(engine, "before_cursor_execute", count)
        try:
            reports.report_lines(db, unit.id, H1)
        finally:
            event.remove(engine, "before_cursor_execute", count)
        return len(seen)

    before = run()
    for n in range(6):
        v = make.volunteer(unit, joined_on=D(2026, 1, 2))
        served(db, v, data["daan"], data["meals"], dt.datetime(2026, 2, 1 + n, 9, 0), 30)
    assert run() == before


# --- periods, windows, drafts ------------------------------------------------------------

def test_periods_and_their_filing_windows():
    h1, h2, year = (reports.parse_period(t) for t in ("2026H1", "2026h2", " 2026 "))
    assert (h1.first_day, h1.last_day, h1.window_opens, h1.window_closes) == (
        D(2026, 1, 1), D(2026, 6, 30), D(2026, 7, 1), D(2026, 7, 10))
    assert (h2.code, h2.first_day, h2.last_day, h2.window_opens, h2.window_closes) == (
        "2026H2", D(2026, 7, 1), D(2026, 12, 31), D(2027, 1, 1), D(2027, 1, 10))
    assert (year.code, year.first_day, year.last_day, year.window_closes) == (
        "2026", D(2026, 1, 1), D(2026, 12, 31), D(2027, 2, 28))
    assert reports.parse_period("2027").window_closes == D(2028, 2, 29)  # within two months
    # typed on a Chinese keyboard: the same periods
    assert reports.parse_period("２０２６Ｈ１") == h1 and reports.parse_period("２０２６") == year


@pytest.mark.parametrize("text", ["2026H3", "2026H0", "26H1", "2026-H1", "H1", "", None,
                                  "1999", "2026H1x", "２０２６Ｈ３", "089H1", "190", "115H3",
                                  "民國115年第三季"])
def test_bad_periods_say_what_is_accepted(text):
    with pytest.raises(reports.PeriodError) as caught:
        reports.parse_period(text)
    message = str(caught.value)
    assert "2026H1" in message and "2026H2" in message and "2026 for the yearly" in message


def test_a_period_not_ended_is_a_draft_and_cannot_be_filed(db, data, make):
    admin = make.user(data["unit"], role="admin")
    report = reports.build(db, data["unit"].id, H1, D(2026, 6, 30))
    assert report.draft and "草稿" in report.heading().status_zh
    assert "DRAFT" in report.heading().status_en
    assert not reports.build(db, data["unit"].id, H1, D(2026, 7, 1)).draft
    june_30 = dt.datetime(2026, 6, 30, 15, 59, tzinfo=dt.timezone.utc)  # 23:59 in Taipei
    with pytest.raises(reports.ReportError) as caught:
        reports.submit(db, admin, H1, june_30)
    assert caught.value.params == {"period": "2026H1", "day": "2026-07-01"}
    db.rollback()
    assert db.scalars(select(ReportSnapshot)).all() == []
    csv_text = reports.render(report, "csv")[0].decode("utf-8-sig")
    assert "草稿" in csv_text and "DRAFT" in csv_text
    assert reports.render(report, "csv")[1] == "results-report-2026H1-draft.csv"


# --- the files: golden ---------------------------------------------------------------------

def _report(db, data):
    db.rollback()
    return reports.build(db, data["unit"].id, H1, AFTER_H1)


def test_csv_matches_the_golden_file_byte_for_byte(db, data):
    payload, name = reports.render(_report(db, data), "csv")
    if os.environ.get("HOURBOOK_UPDATE_GOLDEN"):
        GOLDEN.write_bytes(payload)
    assert name == "results-report-2026H1.csv"
    assert payload.startswith(b"\xef\xbb\xbf") and b"\r\n" in payload
    assert payload == GOLDEN.read_bytes()


def _golden_rows() -> list[list]:
    return list(csv.reader(io.StringIO(GOLDEN.read_bytes().decode("utf-8-sig"), newline="")))


def test_xlsx_matches_the_golden_file_cell_by_cell(db, data):
    payload, name = reports.render(_report(db, data), "xlsx")
    assert name == "results-report-2026H1.xlsx"
    sheet = load_workbook(io.BytesIO(payload)).worksheets[0]
    expected = _golden_rows()
    assert sheet.max_row == len(expected)
    table_start = expected.index(layout.TABLE_HEADER)
    for r, row in enumerate(expected, start=1):
        for c in range(1, 6):
            value = row[c - 1] if c <= len(row) else ""
            cell = sheet.cell(row=r, column=c)
            if value == "":
                assert cell.value is None, (r, c, cell.value)
            elif r > table_start + 1 and c == 4:  # the values: numbers
                assert cell.data_type == "n" and cell.value == pytest.approx(float(value)), (r, c)
            else:
                assert cell.data_type == "s" and cell.value == value, (r, c, cell.value)


def test_golden_file_says_what_the_figures_say(db, data):
    rows = _golden_rows()
    assert rows[1] == ["運用單位 Unit", "臺北市成果測試協會"]
    assert rows[2][:2] == ["期間 Period", "2026H1"]
    assert rows[4][1] == "尚未填報"
    body = {row[0]: row for row in rows[rows.index(layout.TABLE_HEADER) + 1:]}
    assert body["service.hours"][3] == "5.67" and body["service.hours"][4] == "小時 hours"
    assert body["hours.item:A01"][1:4] == ["服務時數：長者陪伴關懷", "Hours: Companionship",
                                           "5.17"]
    assert body["volunteers.total"][1:4] == ["期末志工人數", "Volunteers at the period's end",
                                             "5"]
    assert set(body) == set(EXPECTED_H1)


def test_text_cells_are_neutralised_in_csv_and_stay_text_in_xlsx(db, make):
    unit = make.unit(name="=HYPERLINK(\"http://x\")")
    make.item(unit, code="-1", name_zh="+886 電話")
    report = reports.build(db, unit.id, H1, AFTER_H1)
    text = reports.render(report, "csv")[0].decode("utf-8-sig")
    assert "'=HYPERLINK" in text and "'-1" not in text  # keys are ours: "hours.item:-1"
    assert "服務時數：+886 電話" in text
    sheet = load_workbook(io.BytesIO(reports.render(report, "xlsx")[0])).worksheets[0]
    assert sheet["B2"].value == '=HYPERLINK("http://x")' and sheet["B2"].data_type == "s"


# --- filing: the frozen snapshot --------------------------------------------------------------

def test_filing_freezes_the_figures_and_corrections_show_as_differences(db, data, make):
    unit, admin = data["unit"], make.user(data["unit"], role="admin")
    snap = reports.submit(db, admin, H1, FILED_AT)
    db.commit()
    assert (snap.period, snap.revision, snap.filed_by_id) == ("2026H1", 1, admin.id)
    entry = db.scalars(select(AuditEntry).where(AuditEntry.action == "report_filed")).one()
    assert entry.after_data()["figures"]["service.hours"] == 340

    # corrections after filing: C's session approved, a volunteer entered late, a site renamed
    late = db.get(ServiceSession, db.scalar(select(ServiceSession.id).where(
        ServiceSession.status == SessionStatus.closed, ServiceSession.volunteer_id == data["c"].id)))
    late.status, late.credited_minutes = SessionStatus.verified, 45
    make.volunteer(unit, joined_on=D(2026, 3, 3), birth_date=D(1990, 1, 1), trained=False)
    data["wanhua"].name_zh = "萬華服務站"
    db.commit()

    db.expire_all()
    stored = db.scalars(select(ReportSnapshot)).one()
    assert values(stored.lines()) == EXPECTED_H1  # the filed numbers never change
    report = reports.build(db, unit.id, H1, D(2026, 7, 8))
    diffs = {d.key: (d.filed, d.now, d.change) for d in report.diffs}
    assert diffs == {
        "volunteers.total": (5, 6, 1), "volunteers.female": (4, 5, 1),
        "volunteers.age.30_49": (1, 2, 1), "volunteers.new": (2, 3, 1),
        "insured.none": (2, 3, 1),
        "service.volunteers": (3, 4, 1), "service.sessions": (4, 5, 1),
        "service.hours": (340, 385, 45),
        "service.persons_served": (14, 17, 3), "hours.item:B02": (30, 75, 45),
        "hours.site:大安據點": (210, 255, 45),
        "hours.site:萬華服務站": (None, 130, 130), "hours.site:萬華據點": (130, None, -130),
    }
    assert report.filed.id == snap.id
    filed_csv = reports.render(report, "csv", use_filed=True)
    assert filed_csv[1] == "results-report-2026H1-filed-r1.csv"
    assert "已填報" in filed_csv[0].decode("utf-8-sig")

    # the ORM refuses to change or delete a snapshot
    stored.figures = {"lines": []}
    with pytest.raises(RuntimeError):
        db.flush()
    db.rollback()
    with pytest.raises(RuntimeError):
        db.delete(db.scalars(select(ReportSnapshot)).one())
        db.flush()
    db.rollback()
    assert values(db.scalars(select(ReportSnapshot)).one().lines()) == EXPECTED_H1


def test_a_second_filing_is_refused_unless_amended_with_a_reason(db, data, make):
    admin = make.user(data["unit"], role="admin")
    with pytest.raises(reports.ReportError):  # nothing to amend yet
        reports.submit(db, admin, H1, FILED_AT, amend=True, reason="更正")
    db.rollback()
    reports.submit(db, admin, H1, FILED_AT)
    db.commit()
    with pytest.raises(reports.ReportError) as caught:
        reports.submit(db, admin, H1, FILED_AT + dt.timedelta(days=1))
    assert caught.value.params["day"] == "2026-07-05"
    db.rollback()
    with pytest.raises(reports.ReportError):
        reports.submit(db, admin, H1, FILED_AT, amend=True, reason="  ")
    db.rollback()
    served(db, data["a"], data["daan"], data["companion"], dt.datetime(2026, 6, 1, 9), 60)
    second = reports.submit(db, admin, H1, FILED_AT + dt.timedelta(days=2), amend=True,
                            reason="補登 6 月紙本簽到")
    db.commit()
    first, latest = db.scalars(select(ReportSnapshot).order_by(ReportSnapshot.revision)).all()
    assert (first.revision, latest.revision, latest.reason) == (1, 2, "補登 6 月紙本簽到")
    assert values(first.lines())["service.hours"] == 340
    assert values(latest.lines())["service.hours"] == 400
    assert reports.build(db, data["unit"].id, H1, AFTER_H1).filed.id == second.id
    assert reports.build(db, data["unit"].id, H1, AFTER_H1).diffs == []


def test_only_admins_file(db, data, make):
    supervisor = make.user(data["unit"], role="supervisor")
    with pytest.raises(PermissionError):
        reports.submit(db, supervisor, H1, FILED_AT)


# --- reminders -------------------------------------------------------------------------------

def test_reminders_from_the_window_opening_until_filed(db, make):
    unit = make.unit()
    unit.created_at = dt.datetime(2025, 12, 15, tzinfo=dt.timezone.utc)
    db.commit()
    admin = make.user(unit, role="admin")

    def due(day):
        return [(r.period.code, r.overdue, r.days_left) for r in reports.reminders(db, unit.id, day)]

    assert due(D(2025, 12, 31)) == []  # no window open yet (earlier periods: before the unit)
    assert due(D(2026, 1, 1)) == [("2025H2", False, 9), ("2025", False, 58)]
    reports.submit(db, admin, reports.parse_period("2025H2"),
                   dt.datetime(2026, 1, 5, tzinfo=dt.timezone.utc))
    db.commit()
    assert due(D(2026, 1, 5)) == [("2025", False, 54)]
    assert due(D(2026, 3, 2)) == [("2025", True, -2)]  # overdue: still reminded
    reports.submit(db, admin, reports.parse_period("2025"),
                   dt.datetime(2026, 3, 2, tzinfo=dt.timezone.utc))
    db.commit()
    assert due(D(2026, 6, 30)) == []
    assert due(D(2026, 7, 1)) == [("2026H1", False, 9)]
    assert due(D(2026, 7, 10)) == [("2026H1", False, 0)]
    assert due(D(2026, 7, 11)) == [("2026H1", True, -1)]
    other = make.unit()
    other.created_at = dt.datetime(2025, 12, 15, tzinfo=dt.timezone.utc)
    db.commit()
    assert [r.period.code for r in reports.reminders(db, other.id, D(2026, 7, 1))] == [
        "2025H2", "2025", "2026H1"]  # another unit's filings are its own


# --- over HTTP ---------------------------------------------------------------------------------

def test_admin_previews_a_period_with_every_figure(db, data, admin_of):
    admin = admin_of(data["unit"])
    page = admin.get("/reports/2026H1")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "期末志工人數" in text and "長者陪伴關懷" in text and "5.67" in text
    assert "草稿" not in text and "填報成果報表" in text
    english = admin.get("/reports/2026H1", headers={"Accept-Language": "en"})
    assert "Volunteers at the period&#39;s end" in english.get_data(as_text=True)
    index = admin.get("/reports/").get_data(as_text=True)
    assert "/reports/2026H1" in index


def test_bad_period_is_a_400_that_says_what_is_accepted(db, data, admin_of):
    admin = admin_of(data["unit"])
    for url in ("/reports/2026H3", "/reports/?period=2026H3", "/reports/2026H3/export"):
        response = admin.get(url)
        text = response.get_data(as_text=True)
        assert response.status_code == 400, url
        assert "2026H3" in text and "2026H1" in text and "2026H2" in text and "年度報表" in text
    assert admin.get("/reports/?period=2026h1").headers["Location"].endswith("/reports/2026H1")
    response = admin.post("/reports/2026H3/submit", {})
    assert response.status_code == 400
    db.rollback()
    assert db.scalars(select(ReportSnapshot)).all() == []


def test_a_period_not_ended_shows_as_draft_and_filing_is_refused(db, data, admin_of):
    admin = admin_of(data["unit"])
    future = reports.make_period(taipei_date(utcnow()).year + 1, 1).code
    text = admin.get(f"/reports/{future}").get_data(as_text=True)
    assert 'id="draft-banner"' in text and "草稿" in text and "填報成果報表" not in text
    response = admin.post(f"/reports/{future}/submit", {})
    assert response.status_code == 409 and "尚未結束" in response.get_data(as_text=True)
    export = admin.get(f"/reports/{future}/export?format=csv")
    assert "草稿" in export.get_data().decode("utf-8-sig")
    db.rollback()
    assert db.scalars(select(ReportSnapshot)).all() == []


def test_exports_in_both_formats(db, data, admin_of):
    admin = admin_of(data["unit"])
    response = admin.get("/reports/2026H1/export?format=csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert 'filename="results-report-2026H1.csv"' in response.headers["Content-Disposition"]
    assert response.get_data() == GOLDEN.read_bytes()
    response = admin.get("/reports/2026H1/export?format=xlsx")
    assert response.mimetype.endswith("spreadsheetml.sheet")
    assert load_workbook(io.BytesIO(response.get_data())).worksheets[0]["B2"].value == \
        "臺北市成果測試協會"
    bad = admin.get("/reports/2026H1/export?format=pdf")
    assert bad.status_code == 400 and "請從選項中選擇" in bad.get_data(as_text=True)


def test_filing_over_http_then_refusal_then_amendment(db, data, admin_of):
    admin = admin_of(data["unit"])
    response = admin.post("/reports/2026H1/submit", {})
    assert response.status_code == 303
    page = admin.get("/reports/2026H1").get_data(as_text=True)
    assert "已填報 2026H1 成果報表" in page and 'id="differences"' in page
    again = admin.post("/reports/2026H1/submit", {})
    assert again.status_code == 409 and "已於" in again.get_data(as_text=True)
    no_reason = admin.post("/reports/2026H1/submit", {"amend": "y", "reason": ""})
    assert no_reason.status_code == 409
    served(db, data["a"], data["daan"], data["companion"], dt.datetime(2026, 6, 1, 9), 60)
    page = admin.get("/reports/2026H1").get_data(as_text=True)
    assert 'data-key="service.hours"' in page.split('id="differences"')[1].split("</section>")[0]
    amended = admin.post("/reports/2026H1/submit", {"amend": "y", "reason": "補登"})
    assert amended.status_code == 303
    db.rollback()
    snaps = db.scalars(select(ReportSnapshot).order_by(ReportSnapshot.revision)).all()
    assert [s.revision for s in snaps] == [1, 2]
    assert [e.action for e in db.scalars(select(AuditEntry).where(
        AuditEntry.entity == "report_snapshot").order_by(AuditEntry.id))] == [
        "report_filed", "report_amended"]
    filed = admin.get("/reports/2026H1/export?format=csv&version=filed")
    assert 'filed-r2.csv' in filed.headers["Content-Disposition"]


def test_filing_needs_csrf(db, data, admin_of):
    admin = admin_of(data["unit"])
    response = admin.client.post("/reports/2026H1/submit", data={})
    assert response.status_code == 400
    db.rollback()
    assert db.scalars(select(ReportSnapshot)).all() == []


def test_only_admins_see_reports(db, data, supervisor, volunteer, anon):
    for person in (supervisor, volunteer):
        for url in ("/reports/", "/reports/2026H1", "/reports/2026H1/export?format=csv"):
            assert person.get(url).status_code == 403, url
        assert person.post("/reports/2026H1/submit", {}).status_code == 403
    assert anon.get("/reports/2026H1").status_code == 302
    db.rollback()
    assert db.scalars(select(ReportSnapshot)).all() == []


def test_admin_home_reminds_until_filed_and_others_never(db, make, unit, admin, supervisor):
    unit.created_at = utcnow() - dt.timedelta(days=800)
    db.commit()
    today = taipei_date(utcnow())
    due = reports.reminders(db, unit.id, today)
    assert due  # a window opens every 1 January and 1 July: one opened within the year
    home = admin.get("/").get_data(as_text=True)
    assert 'id="report-reminders"' in home
    for r in due:
        assert f"/reports/{r.period.code}" in home
    assert 'id="report-reminders"' not in supervisor.get("/").get_data(as_text=True)
    for r in due:
        reports.submit(db, admin.user, r.period, utcnow())
    db.commit()
    assert 'id="report-reminders"' not in admin.get("/").get_data(as_text=True)


# --- persons served at the supervisor's adjust form ------------------------------------------

def test_supervisor_records_persons_served_when_adjusting(db, make, unit, supervisor):
    site, item = make.site(unit), make.item(unit)
    vol = make.volunteer(unit)
    start = utcnow().replace(microsecond=0) - dt.timedelta(hours=5)
    s = ServiceSession(unit_id=unit.id, volunteer_id=vol.id, site_id=site.id,
                       service_item_id=item.id, checked_in_at=start,
                       checked_out_at=start + dt.timedelta(minutes=90),
                       status=SessionStatus.closed, source=SessionSource.kiosk_card)
    db.add(s)
    from models.verification import SupervisorSite
    db.add(SupervisorSite(user_id=supervisor.user.id, site_id=site.id))
    db.commit()
    form = supervisor.get(f"/dashboard/sessions/{s.id}/row?mode=adjust").get_data(as_text=True)
    assert 'name="persons_served"' in form
    local = start.astimezone(TAIPEI)
    times = {"checked_in_at": local.strftime("%Y-%m-%dT%H:%M"),
             "checked_out_at": (local + dt.timedelta(minutes=60)).strftime("%Y-%m-%dT%H:%M")}
    bad = supervisor.post(f"/dashboard/sessions/{s.id}/adjust",
                          {"version": s.version, **times, "reason": "更正", "persons_served": "-3"},
                          hx=True)
    assert bad.status_code == 400 and "受服務人次" in bad.get_data(as_text=True)
    db.rollback()
    db.expire_all()
    assert db.get(ServiceSession, s.id).persons_served is None
    ok = supervisor.post(f"/dashboard/sessions/{s.id}/adjust",
                         {"version": s.version, **times, "reason": "更正", "persons_served": "8"},
                         hx=True)
    assert ok.status_code == 200
    db.rollback()
    db.expire_all()
    assert db.get(ServiceSession, s.id).persons_served == 8
    entry = db.scalars(select(AuditEntry).where(AuditEntry.action == "adjust")).one()
    assert (entry.before_data()["persons_served"], entry.after_data()["persons_served"]) == (None, 8)


# --- the CLI ---------------------------------------------------------------------------------

def test_cli_writes_the_report(app, db, data, tmp_path):
    target = tmp_path / "h1.csv"
    runner = app.test_cli_runner()
    result = runner.invoke(args=["report", "--period", "2026H1", "--format", "csv",
                                 "--output", str(target), "--unit-id", str(data["unit"].id)])
    assert result.exit_code == 0, result.output
    assert target.read_bytes() == GOLDEN.read_bytes()
    target = tmp_path / "h1.xlsx"
    result = runner.invoke(args=["report", "--period", "2026H1", "--output", str(target),
                                 "--unit-id", str(data["unit"].id)])
    assert result.exit_code == 0, result.output
    assert load_workbook(target).worksheets[0]["B2"].value == "臺北市成果測試協會"
    bad = runner.invoke(args=["report", "--period", "2026H3", "--format", "csv"])
    assert bad.exit_code == 2 and "2026H1" in bad.output and "2026H2" in bad.output
    not_filed = runner.invoke(args=["report", "--period", "2026H1", "--filed", "--unit-id",
                                    str(data["unit"].id)])
    assert not_filed.exit_code == 1 and "has not been filed" in not_filed.output


def test_periods_before_the_unit_used_hourbook_are_not_shown_as_missed(db, make, unit, admin):
    last_year = taipei_date(utcnow()).year - 1  # the page lists this year's periods and two before
    unit.created_at = dt.datetime(last_year, 3, 1, tzinfo=dt.timezone.utc)
    db.commit()
    page = admin.get("/reports/").get_data(as_text=True)
    row = re.search(rf'<tr>\s*<td><a href="/reports/{last_year - 1}H2">(.*?)</tr>', page,
                    re.S).group(1)
    assert "本單位使用本系統之前" in row and "未填報" not in row  # ended 31 December, before it
    row = re.search(rf'<tr>\s*<td><a href="/reports/{last_year}H1">(.*?)</tr>', page,
                    re.S).group(1)
    assert "本單位使用本系統之前" not in row


def test_a_period_with_service_recorded_is_not_before_hourbook(db, make, unit, admin):
    """A unit set up this year that entered last year's paper sheets: last year's second half
    has service in Hourbook, so it is the unit's to report (shown as not filed, reminded), not
    "before the unit used Hourbook"; the half before that, with nothing recorded, still is."""
    last_year = taipei_date(utcnow()).year - 1
    unit.created_at = dt.datetime(last_year + 1, 1, 2, tzinfo=dt.timezone.utc)
    db.commit()
    vol, site, item = make.volunteer(unit), make.site(unit), make.item(unit)
    served(db, vol, site, item, dt.datetime(last_year, 11, 3, 9, 0), 120)
    assert reports.in_hourbook_since(db, unit.id) == D(last_year, 11, 3)
    page = admin.get("/reports/").get_data(as_text=True)
    row = re.search(rf'<tr>\s*<td><a href="/reports/{last_year}H2">(.*?)</tr>', page,
                    re.S).group(1)
    assert "本單位使用本系統之前" not in row
    row = re.search(rf'<tr>\s*<td><a href="/reports/{last_year}H1">(.*?)</tr>', page,
                    re.S).group(1)
    assert "本單位使用本系統之前" in row
    assert f"{last_year}H2" in [r.period.code for r in reports.reminders(db, unit.id, D(last_year + 1, 1, 5))]


def test_english_units_read_as_phrases(db, data, admin_of):
    """An English page says "1 person", "2 people", "1 grant": never "1 people"."""
    from models.report_layout import unit_text

    assert [unit_text("people", n, True) for n in (0, 1, 2)] == ["people", "person", "people"]
    assert unit_text("minutes", 60, True) == "hour" and unit_text("minutes", 90, True) == "hours"
    assert unit_text("grants", 1, True) == "grant" and unit_text("people", 1, False) == "人"
    english = admin_of(data["unit"]).get("/reports/2026H1", headers={"Accept-Language": "en"})
    text = english.get_data(as_text=True)
    assert not re.search(r"<strong>1</strong> <small class=\"muted\">(people|grants|sessions)<", text)
    assert re.search(r"<strong>1</strong> <small class=\"muted\">(person|grant|session)<", text)


# --- a draft counts as of today ----------------------------------------------------------------

def test_a_draft_counts_the_roll_and_insurance_as_of_today(app, db, make, admin_of, monkeypatch):
    """Review 5092: the 2026H2 draft, headed "以下為截至今日（2026-12-06）的資料", showed 期末未投保
    5, counting insurance on 2026-12-31, when 1 volunteer was uninsured that day (4 covers end
    2026-12-26), and the 2027H1 draft showed everyone uninsured. A period not ended is counted
    as of today, as its heading says; the preview says how many covers end before the period's
    last day, and the filed report (after the end) still counts the last day."""
    import webapp.routes.reports as routes

    unit = make.unit(name="臺北市草稿測試協會")
    lapsing = make.volunteer(unit, name_zh="保險到期", joined_on=D(2025, 1, 1), trained=False)
    renewed = make.volunteer(unit, name_zh="已續保", joined_on=D(2025, 1, 1), trained=False)
    make.volunteer(unit, name_zh="未投保", joined_on=D(2025, 1, 1), trained=False)
    later = make.volunteer(unit, name_zh="十二月加入", joined_on=D(2026, 12, 20), trained=False)
    cover(db, lapsing, CoverKind.commercial, D(2026, 1, 1), D(2026, 12, 26))
    cover(db, renewed, CoverKind.group, D(2026, 1, 1), D(2026, 12, 26))
    cover(db, renewed, CoverKind.group, D(2026, 12, 27), D(2027, 12, 26))
    cover(db, later, CoverKind.group, D(2026, 12, 20), D(2027, 12, 19))
    h2, h1 = reports.parse_period("2026H2"), reports.parse_period("2027H1")

    draft = reports.build(db, unit.id, h2, D(2026, 12, 6))
    now = values(draft.lines)
    assert now["volunteers.total"] == 3 and now["volunteers.new"] == 0  # not joined yet
    assert now["insured.none"] == 1 and now["insured.commercial"] == 1 and now["insured.group"] == 1
    assert draft.covers_ending == 1  # the commercial cover ends on 26 December
    assert "期末數字以當日計" in draft.heading().status_zh
    ahead = reports.build(db, unit.id, h1, D(2026, 12, 6))  # not even begun
    assert values(ahead.lines)["insured.none"] == 1 and ahead.covers_ending == 1
    # after the end the report counts the last day: what will be filed
    ended = reports.build(db, unit.id, h2, D(2027, 1, 2))
    final = values(ended.lines)
    assert final["volunteers.total"] == 4 and final["volunteers.new"] == 1
    assert final["insured.none"] == 2 and ended.covers_ending == 0
    assert values(reports.report_lines(db, unit.id, h2)) == final  # the CLI and filing

    monkeypatch.setattr(routes, "utcnow",
                        lambda: dt.datetime(2026, 12, 6, 2, 0, tzinfo=dt.timezone.utc))
    admin = admin_of(unit)
    text = admin.get("/reports/2026H2").get_data(as_text=True)
    row = text.split('data-key="insured.none"')[1].split("</tr>")[0]
    assert re.search(r">\s*1\s*<", row), row
    assert "「期末」各項（志工人數、紀錄冊、保險、訓練）以今日計算" in text
    note = text.split('id="covers-ending"')[1].split("</p>")[0]
    assert "有 1 位志工今日有保險，但在期末（2026-12-31）沒有保險" in note
    assert 'href="/admin/insurance/?on=2026-12-31"' in note
    english = admin.get("/reports/2026H2", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "1 volunteer insured today has no cover on 2026-12-31" in english


def test_periods_in_roc_years_are_read_too():
    """Review 5092: the city's forms write 民國 years; "115H1" was refused. parse_period is the
    one reader of a period (pages and CLI): 115H1 is 2026H1."""
    for text, code in (("115H1", "2026H1"), ("115h2", "2026H2"), ("115", "2026"),
                       ("民國115年上半年", "2026H1"), ("115年下半年", "2026H2"),
                       ("民國 115 年度", "2026"), ("１１５Ｈ１", "2026H1"), ("90H1", None)):
        if code is None:
            with pytest.raises(reports.PeriodError):
                reports.parse_period(text)
        else:
            assert reports.parse_period(text).code == code, text


def test_an_empty_period_asks_for_one(db, data, admin_of):
    """Review 5092: pressing the button with nothing typed said "「」不是報表期間"."""
    admin = admin_of(data["unit"])
    response = admin.get("/reports/?period=")
    text = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "請輸入報表期間，例如 2026H1" in text and "「」" not in text
    english = admin.get("/reports/?period=+", headers={"Accept-Language": "en"})
    assert "Enter a report period, for example 2026H1" in english.get_data(as_text=True)
    assert admin.get("/reports/?period=115H1").headers["Location"].endswith("/reports/2026H1")
