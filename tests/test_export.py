"""The MOHW batch-import export: the layout against a golden file (CSV byte for byte, XLSX cell
by cell), formula neutralisation, the audit entry, and who may export.

To rewrite the golden file after a deliberate layout change:
HOURBOOK_UPDATE_GOLDEN=1 pytest tests/test_export.py — then read the diff before committing.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import os
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from models import export
from models.audit import AuditEntry
from models.base import TAIPEI, begin_write
from models.idnumbers import with_check_digit
from models.service import ServiceSession, SessionSource, SessionStatus

GOLDEN = Path(__file__).parent / "golden" / "mohw_export.csv"
PERIOD = {"period": "range", "date_from": "2026-02-01", "date_to": "2026-03-31"}
NOW = dt.datetime(2026, 4, 2, 1, 0, tzinfo=dt.timezone.utc)


def served(db, volunteer, item, site, when, minutes, status=SessionStatus.verified, persons=None,
           credited=None):
    """A session starting at `when` (naive = Asia/Taipei)."""
    start = when.replace(tzinfo=TAIPEI)
    db.add(ServiceSession(
        unit_id=volunteer.unit_id, volunteer_id=volunteer.id, site_id=site.id,
        service_item_id=item.id, checked_in_at=start,
        checked_out_at=start + dt.timedelta(minutes=minutes), status=status,
        credited_minutes=(minutes if credited is None else credited)
        if status == SessionStatus.verified else 0,
        source=SessionSource.kiosk_card, persons_served=persons))
    db.commit()


@pytest.fixture
def february_and_march(db, make, unit):
    """Two months of a small unit's service, with everything that must be left out."""
    site = make.site(unit)
    companion = make.item(unit, code="A01", name_zh="長者陪伴關懷")
    meals = make.item(unit, code="B02", name_zh="共餐與送餐服務")
    chen = make.volunteer(unit, name_zh="陳淑芬", volunteer_no="0001",
                          id_number=with_check_digit("A22345678"))
    lin = make.volunteer(unit, name_zh="林志明", volunteer_no="0002",
                         id_number=with_check_digit("F12876543"))
    huang = make.volunteer(unit, name_zh="黃雅婷", volunteer_no="0003",
                           id_number=with_check_digit("B20000001"))
    at = dt.datetime
    served(db, chen, companion, site, at(2026, 2, 3, 9, 0), 150, persons=5)
    served(db, chen, companion, site, at(2026, 2, 17, 9, 0), 120)
    served(db, chen, companion, site, at(2026, 2, 28, 23, 30), 30)  # still February in Taipei
    served(db, chen, companion, site, at(2026, 3, 1, 0, 30), 45)  # March in Taipei, Feb in UTC
    served(db, chen, meals, site, at(2026, 3, 10, 10, 0), 200, persons=12)
    served(db, lin, companion, site, at(2026, 3, 5, 14, 0), 60)
    served(db, lin, companion, site, at(2026, 3, 6, 14, 0), 60, status=SessionStatus.closed)
    served(db, lin, companion, site, at(2026, 3, 7, 14, 0), 60, status=SessionStatus.rejected)
    served(db, lin, meals, site, at(2026, 2, 20, 9, 0), 10, credited=0)  # rounded to nothing
    served(db, huang, companion, site, at(2026, 4, 1, 9, 0), 60)  # after the period
    served(db, huang, companion, site, at(2026, 1, 31, 23, 59), 60)  # before it
    elsewhere = make.unit()
    outsider = make.volunteer(elsewhere)
    served(db, outsider, make.item(elsewhere), make.site(elsewhere), at(2026, 3, 2, 9, 0), 60)
    return unit


def _rows(db, unit):
    db.rollback()
    return export.export_rows(db, unit.id, dt.date(2026, 2, 1), dt.date(2026, 3, 31))


def test_roc_dates():
    assert export.roc_date(dt.date(2026, 3, 5)) == "1150305"
    assert export.roc_date(dt.date(2010, 1, 5)) == "0990105"  # three digits for the year
    assert export.roc_date(dt.date(2012, 12, 31)) == "1011231"


def test_layout_is_one_list_of_columns():
    assert export.HEADERS == [
        "姓名", "身分證字號", "服務日期起", "服務日期訖", "服務項目", "服務內容", "服務時數-小時",
        "服務時數-分鐘", "受服務人次", "交通費", "誤餐費", "服務區域", "備註", "匯入動作", "序號",
        "國外/國內參與服務人次"]


def test_csv_matches_the_golden_file_byte_for_byte(db, february_and_march):
    data = export.to_csv(_rows(db, february_and_march))
    if os.environ.get("HOURBOOK_UPDATE_GOLDEN"):
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_bytes(data)
    assert data.startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM, for Excel
    assert data == GOLDEN.read_bytes()


def _golden_table() -> list[list]:
    """The golden CSV as the XLSX must hold it: numbers as numbers."""
    lines = list(csv.reader(io.StringIO(GOLDEN.read_bytes().decode("utf-8-sig"), newline="")))
    numeric = [c.number for c in export.COLUMNS]
    return [lines[0]] + [[int(v) if num else v for v, num in zip(line, numeric)]
                         for line in lines[1:]]


def test_xlsx_matches_the_golden_file_cell_by_cell(db, february_and_march):
    book = load_workbook(io.BytesIO(export.to_xlsx(_rows(db, february_and_march))))
    sheet = book.worksheets[0]
    expected = _golden_table()
    assert sheet.max_row == len(expected) and sheet.max_column == len(export.COLUMNS)
    for r, line in enumerate(expected, start=1):
        for c, value in enumerate(line, start=1):
            cell = sheet.cell(row=r, column=c)
            if value == "":
                assert cell.value is None, (r, c, cell.value)
                continue
            assert cell.value == value, (r, c, cell.value, value)
            assert cell.data_type == ("n" if isinstance(value, int) else "s"), (r, c)


def test_golden_rows_say_what_the_rules_say(db, february_and_march):
    rows = _rows(db, february_and_march)
    assert [(r.seq, r.name, r.first_day, r.last_day, r.item_code, r.minutes, r.persons_served)
            for r in rows] == [
        (1, "陳淑芬", dt.date(2026, 2, 3), dt.date(2026, 2, 28), "A01", 300, 5),
        (2, "陳淑芬", dt.date(2026, 3, 1), dt.date(2026, 3, 1), "A01", 45, 0),
        (3, "陳淑芬", dt.date(2026, 3, 10), dt.date(2026, 3, 10), "B02", 200, 12),
        (4, "林志明", dt.date(2026, 3, 5), dt.date(2026, 3, 5), "A01", 60, 0),
    ]
    table = export.table(rows)
    assert table[3][6:8] == [3, 20]  # 200 minutes: 3 hours 20 minutes


def test_formulas_are_neutralised_in_csv_and_stay_text_in_xlsx(db, make, unit):
    site, item = make.site(unit), make.item(unit, code="=1+1")
    names = ['=HYPERLINK("http://evil.example","點我")', "+886912345678", "-2+3", "@SUM(A1)"]
    for n, name in enumerate(names):
        served(db, make.volunteer(unit, name_zh=name, volunteer_no=f"{n:04d}"), item, site,
               dt.datetime(2026, 3, 2 + n, 9, 0), 60)
    rows = _rows(db, unit)
    lines = list(csv.reader(io.StringIO(export.to_csv(rows).decode("utf-8-sig"), newline="")))
    assert [line[0] for line in lines[1:]] == ["'" + name for name in names]
    assert {line[4] for line in lines[1:]} == {"'=1+1"}
    sheet = load_workbook(io.BytesIO(export.to_xlsx(rows))).worksheets[0]
    assert [sheet.cell(row=r, column=1).value for r in range(2, 6)] == names
    assert all(sheet.cell(row=r, column=1).data_type == "s" for r in range(2, 6))


# --- over HTTP -----------------------------------------------------------------------------

def _audit(db):
    db.rollback()
    return db.scalars(select(AuditEntry).where(AuditEntry.action == "export_mohw")
                      .order_by(AuditEntry.id)).all()


def test_admin_downloads_both_formats_and_each_export_is_audited(db, february_and_march, admin):
    page = admin.get("/admin/export/mohw")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "下載 CSV" in text and "下載 Excel" in text
    response = admin.post("/admin/export/mohw", {**PERIOD, "format": "csv"})
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"  # said once
    assert 'filename="mohw-hours-20260201-20260331.csv"' in response.headers["Content-Disposition"]
    assert response.get_data() == GOLDEN.read_bytes()
    response = admin.post("/admin/export/mohw", {"period": "month", "month": "2026-03",
                                                 "format": "xlsx"})
    assert response.status_code == 200 and response.mimetype.endswith("spreadsheetml.sheet")
    sheet = load_workbook(io.BytesIO(response.get_data())).worksheets[0]
    assert sheet.max_row == 4  # the header and March's three rows
    assert [sheet.cell(row=r, column=15).value for r in range(2, 5)] == [1, 2, 3]
    first, second = _audit(db)
    assert first.actor_user_id == admin.user.id and first.unit_id == february_and_march.id
    assert first.after_data() == {"format": "csv", "date_from": "2026-02-01",
                                  "date_to": "2026-03-31", "rows": 4, "volunteers": 2,
                                  "minutes": 605}
    assert second.after_data()["date_from"] == "2026-03-01"
    assert second.after_data()["date_to"] == "2026-03-31"


def test_only_admins_export(db, february_and_march, supervisor, volunteer, anon):
    for person in (supervisor, volunteer):
        assert person.get("/admin/export/mohw").status_code == 403
        assert person.post("/admin/export/mohw", {**PERIOD, "format": "csv"}).status_code == 403
    assert anon.get("/admin/export/mohw").status_code == 302
    assert _audit(db) == []


def test_bad_input_is_refused_and_not_audited(db, february_and_march, admin):
    for data, words in [
        ({**PERIOD, "date_to": "2026-01-01", "format": "csv"}, "最後一天不能早於第一天"),
        ({**PERIOD, "format": "pdf"}, "請從選項中選擇"),
        ({"period": "range", "date_from": "2026-02-30", "date_to": "2026-03-01", "format": "csv"},
         "2026-01-31"),
        ({**PERIOD, "date_from": "2024-01-01", "format": "xlsx"}, "366"),
    ]:
        response = admin.post("/admin/export/mohw", data)
        assert response.status_code == 400, data
        assert words in response.get_data(as_text=True), data
    assert admin.client.post("/admin/export/mohw", data={**PERIOD, "format": "csv"}).status_code == 400
    assert _audit(db) == []


def test_export_domain_refuses_non_admins(db, make, unit):
    supervisor = make.user(unit, role="supervisor")
    begin_write(db)
    with pytest.raises(PermissionError):
        export.export_mohw(db, supervisor, NOW, date_from=dt.date(2026, 3, 1),
                           date_to=dt.date(2026, 3, 31), fmt="csv")
    db.rollback()
    assert db.scalar(select(func.count(AuditEntry.id)).where(AuditEntry.action == "export_mohw")) == 0


def test_a_period_without_verified_hours_warns_instead_of_downloading(db, february_and_march,
                                                                      admin):
    """Review 5092: the export of a month without verified hours downloaded a file of headers
    only, without a word. The page says there is nothing to upload, and nothing is audited."""
    for fmt in ("xlsx", "csv"):
        response = admin.post("/admin/export/mohw", {"period": "month", "month": "2025-12",
                                                     "format": fmt})
        text = response.get_data(as_text=True)
        assert response.status_code == 400 and response.mimetype == "text/html"
        warning = text.split('id="nothing-to-export"')[1].split("</p>")[0]
        assert "2025-12-01 至 2025-12-31 沒有已審核的服務時數" in warning
    english = admin.post("/admin/export/mohw", {"period": "month", "month": "2025-12",
                                                "format": "csv"}, headers={"Accept-Language": "en"})
    assert "No verified hours from 2025-12-01 to 2025-12-31" in english.get_data(as_text=True)
    assert _audit(db) == []
