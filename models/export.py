"""Verified hours in the MOHW batch hour-import layout (志願服務資訊整合系統 vols.mohw.gov.tw),
for the unit admin to upload: hours not entered there do not count toward awards.

The whole layout lives here, in COLUMNS: one spec per column, in file order. Change it here and
in tests/golden/mohw_export.csv together. Decisions, with the rules.md row they come from:

- One row per volunteer per calendar month (Asia/Taipei) per service item, over verified
  sessions only (credited minutes) that started in the chosen period; groups that add up to
  0 minutes are left out.
- 服務日期起 / 服務日期訖: the first and the last Taipei date the volunteer served that item in
  that month (inside the chosen period), as ROC dates YYYMMDD (year − 1911, 3 digits).
- 服務項目 and 服務內容: both ServiceItem.code (the unit keeps its items' codes equal to the
  codes the city system uses); 備註: the item's Chinese name and the number of sessions.
- 服務時數-小時 / -分鐘: the group's minutes split into whole hours and the remaining minutes.
- 受服務人次: the sum of persons_served (sessions without it count 0); 交通費 and 誤餐費 0;
  服務區域 and 國外/國內參與服務人次 empty; 匯入動作 "A" (add); 序號 1..n.
- Full ID numbers (the upload needs them): every export is audited ("export_mohw").
- CSV: UTF-8 with BOM (Excel), CRLF, every cell quoted only when needed; a text cell that
  starts with = + - @ (or a tab / carriage return) gets a leading apostrophe so a spreadsheet
  never runs it as a formula. XLSX: numbers as numbers, empty columns as empty cells,
  everything else as explicit text cells (never formulas), so the values are exactly the data.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import audit
from .base import begin_write, taipei_date, taipei_day_bounds
from .messages import N_, Refused
from .people import Role, User, Volunteer
from .service import ServiceItem, ServiceSession, SessionStatus
from .slip_periods import check_period

FORMATS = ("csv", "xlsx")
MIMETYPES = {  # the one place for the media types of what the app hands out as files
    "csv": "text/csv",  # Werkzeug adds "; charset=utf-8" to text/*
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "pdf": "application/pdf",
    "zip": "application/zip",
}
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def roc_date(day: dt.date) -> str:
    """ROC calendar date as the import wants it: 2026-03-05 -> "1150305"."""
    return f"{day.year - 1911:03d}{day.month:02d}{day.day:02d}"


@dataclass
class ExportRow:
    """One volunteer, one Taipei calendar month, one service item."""

    seq: int
    name: str
    id_number: str
    first_day: dt.date
    last_day: dt.date
    item_code: str
    item_name: str
    minutes: int
    persons_served: int
    sessions: int


@dataclass(frozen=True)
class Column:
    header: str
    value: Callable[[ExportRow], str | int]
    number: bool = False  # a number cell in XLSX (CSV writes it as digits)


COLUMNS: list[Column] = [
    Column("姓名", lambda r: r.name),
    Column("身分證字號", lambda r: r.id_number),
    Column("服務日期起", lambda r: roc_date(r.first_day)),
    Column("服務日期訖", lambda r: roc_date(r.last_day)),
    Column("服務項目", lambda r: r.item_code),
    Column("服務內容", lambda r: r.item_code),
    Column("服務時數-小時", lambda r: r.minutes // 60, number=True),
    Column("服務時數-分鐘", lambda r: r.minutes % 60, number=True),
    Column("受服務人次", lambda r: r.persons_served, number=True),
    Column("交通費", lambda r: 0, number=True),
    Column("誤餐費", lambda r: 0, number=True),
    Column("服務區域", lambda r: ""),
    Column("備註", lambda r: f"{r.item_name}，共 {r.sessions} 次"),
    Column("匯入動作", lambda r: "A"),
    Column("序號", lambda r: r.seq, number=True),
    Column("國外/國內參與服務人次", lambda r: ""),
]
HEADERS = [c.header for c in COLUMNS]


@dataclass
class _Group:
    volunteer_id: int
    month: tuple[int, int]
    item_id: int
    days: list[dt.date] = field(default_factory=list)
    minutes: int = 0
    persons: int = 0


def export_rows(session: Session, unit_id: int, date_from: dt.date, date_to: dt.date
                ) -> list[ExportRow]:
    """The rows for verified sessions of the unit that started in [date_from, date_to] (Taipei),
    ordered by month, volunteer number and item code, numbered 1..n."""
    start, end = taipei_day_bounds(date_from)[0], taipei_day_bounds(date_to)[1]
    query = select(ServiceSession.volunteer_id, ServiceSession.service_item_id,
                   ServiceSession.checked_in_at, ServiceSession.credited_minutes,
                   ServiceSession.persons_served).where(
        ServiceSession.unit_id == unit_id,
        ServiceSession.status == SessionStatus.verified,
        ServiceSession.checked_in_at >= start,
        ServiceSession.checked_in_at < end,
    )
    groups: dict[tuple, _Group] = {}
    for volunteer_id, item_id, checked_in_at, minutes, persons in session.execute(query):
        day = taipei_date(checked_in_at)
        key = (volunteer_id, (day.year, day.month), item_id)
        group = groups.setdefault(key, _Group(volunteer_id, (day.year, day.month), item_id))
        group.days.append(day)
        group.minutes += minutes or 0
        group.persons += persons or 0
    groups = {k: g for k, g in groups.items() if g.minutes > 0}
    if not groups:
        return []
    volunteers = {v.id: v for v in session.scalars(
        select(Volunteer).where(Volunteer.id.in_({g.volunteer_id for g in groups.values()})))}
    items = {i.id: i for i in session.scalars(
        select(ServiceItem).where(ServiceItem.id.in_({g.item_id for g in groups.values()})))}

    def order(g: _Group):
        v, i = volunteers[g.volunteer_id], items[g.item_id]
        return g.month, v.volunteer_no, v.id, i.code, i.id

    rows = []
    for n, g in enumerate(sorted(groups.values(), key=order), start=1):
        v, i = volunteers[g.volunteer_id], items[g.item_id]
        rows.append(ExportRow(seq=n, name=v.name_zh, id_number=v.id_number,
                              first_day=min(g.days), last_day=max(g.days), item_code=i.code,
                              item_name=i.name_zh, minutes=g.minutes, persons_served=g.persons,
                              sessions=len(g.days)))
    return rows


def table(rows: list[ExportRow]) -> list[list[str | int]]:
    """Header and values, as the columns give them (no neutralising)."""
    return [HEADERS] + [[c.value(r) for c in COLUMNS] for r in rows]


def neutralise(value: str | int) -> str:
    """A CSV cell as text; one a spreadsheet would run as a formula starts with an apostrophe."""
    return neutralise_cell(str(value))


def neutralise_cell(value):
    """A spreadsheet cell: text a spreadsheet would run as a formula gets an apostrophe in
    front; numbers, dates and None stay what they are (XLSX keeps their types)."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def to_csv(rows: list[ExportRow]) -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    for line in table(rows):
        writer.writerow([neutralise(v) for v in line])
    return buffer.getvalue().encode("utf-8-sig")


@dataclass
class TextSheet:
    """One worksheet of a filing list: an optional caption (A1), headers, then lines."""

    title: str
    headers: list[str]
    lines: list[list]
    caption: str = ""


def text_sheets_xlsx(sheets: list[TextSheet]) -> bytes:
    """A workbook of filing lists: numbers (int, float) as numbers, so a spreadsheet can sum
    them, floats (hours: models.hours.hours_value) with two decimals, as the results report
    writes them (models.report_layout.to_xlsx); everything else as text (as typed on the
    city's forms; formulas neutralised); an empty value stays an empty cell; columns as wide as
    their headers. The award, family and team lists are written with it."""
    from openpyxl import Workbook
    from openpyxl.utils import get_column_letter

    book = Workbook()
    book.remove(book.active)
    for spec in sheets:
        sheet = book.create_sheet(spec.title)
        top = 1
        if spec.caption:
            sheet.cell(row=1, column=1, value=neutralise(spec.caption))
            top = 2
        for r, line in enumerate([spec.headers, *spec.lines], start=top):
            for c, value in enumerate(line, start=1):
                if value == "" or value is None:
                    continue
                cell = sheet.cell(row=r, column=c)
                if isinstance(value, (int, float)) and not isinstance(value, bool):
                    cell.value = value
                    if isinstance(value, float):
                        cell.number_format = "0.00"
                else:
                    cell.value = neutralise(value)
                    cell.data_type = "s"
        for c, header in enumerate(spec.headers, start=1):
            sheet.column_dimensions[get_column_letter(c)].width = max(10, len(header) * 2 + 4)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def to_xlsx(rows: list[ExportRow]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.utils import get_column_letter

    book = Workbook()
    sheet = book.active
    sheet.title = "Sheet1"
    for r, line in enumerate(table(rows), start=1):
        for c, (column, value) in enumerate(zip(COLUMNS, line), start=1):
            if value == "":
                continue  # an empty column stays an empty cell
            cell = sheet.cell(row=r, column=c)
            if column.number and r > 1:
                cell.value = int(value)
            else:
                cell.value = str(value)
                cell.data_type = "s"  # text, even when it looks like a formula
    for c, column in enumerate(COLUMNS, start=1):
        sheet.column_dimensions[get_column_letter(c)].width = max(8, len(column.header) * 2 + 2)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


@dataclass
class Export:
    data: bytes
    filename: str
    mimetype: str
    rows: int


class NothingToExport(Refused):
    """No verified hours in the period: a file of headers only would upload nothing."""


def export_mohw(session: Session, actor: User, now: dt.datetime, *, date_from: dt.date,
                date_to: dt.date, fmt: str) -> Export:
    """The export file for the admin's unit, with its audit entry (who, period, format).
    NothingToExport (nothing written) when the period has no verified hours: the page says so
    rather than download a file of headers only."""
    begin_write(session)
    if actor.role != Role.admin:
        raise PermissionError("admins only")
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}")
    check_period(date_from, date_to)
    rows = export_rows(session, actor.unit_id, date_from, date_to)
    if not rows:
        raise NothingToExport(N_("No verified hours from %(first)s to %(last)s: there is no file "
                                 "to upload. Sessions still waiting for verification are not "
                                 "exported."), first=date_from.isoformat(),
                              last=date_to.isoformat())
    data = to_csv(rows) if fmt == "csv" else to_xlsx(rows)
    audit.record(session, action="export_mohw", entity="unit", entity_id=actor.unit_id,
                 actor=actor, now=now, after={
                     "format": fmt, "date_from": date_from.isoformat(),
                     "date_to": date_to.isoformat(), "rows": len(rows),
                     "volunteers": len({r.id_number for r in rows}),
                     "minutes": sum(r.minutes for r in rows)})
    name = f"mohw-hours-{date_from:%Y%m%d}-{date_to:%Y%m%d}.{fmt}"
    return Export(data=data, filename=name, mimetype=MIMETYPES[fmt], rows=len(rows))
