"""Attendance sheets (出缺席記錄): one site, one day or one month, as A4 PDF, CSV and XLSX.

Why PDF rather than a print-CSS page: the sheet is filed and kept. A PDF is a fixed A4
document with the Traditional Chinese font embedded, prints the same from a tablet, a phone
or the office PC (browsers differ a lot in print layout and page breaks), repeats its table
header on every page, numbers its pages and carries a sign-off line; it can also be uploaded
or mailed as it is. The on-screen roster stays the place to act.

Plain data in, bytes out: no Flask here. The route builds a `Sheet` with `build_sheet`,
passing its translation functions, so the file is in the reader's language.

CSV is written for Excel (UTF-8 with BOM) and every text cell that a spreadsheet would read
as a formula (= + - @, also tab and carriage return) is neutralised with a leading
apostrophe. In XLSX every text cell is stored as text (openpyxl would otherwise write a
string starting with "=" as a formula), so the words stay exactly as typed.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import types
from collections.abc import Callable
from dataclasses import dataclass, field

from fpdf.enums import WrapMode
from fpdf.fonts import FontFace

from models.attendance import EARLY_BEFORE, LATE_AFTER, RosterRow, Status, tally_by_volunteer
from models.base import TAIPEI
from models.export import neutralise_cell as neutralise  # one rule for every export

from . import FAMILY, cjk_pdf



@dataclass
class Sheet:
    title: str  # e.g. "大安長照服務中心 出缺席記錄"
    period: str  # e.g. "2026-03-02" or "2026-03"
    unit_name: str
    headers: list[str]
    rows: list[list]  # str, int, dt.date or None
    summary_headers: list[str] = field(default_factory=list)
    summary_rows: list[list] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)  # printed words: printed_at, page, ...


def _clock(moment: dt.datetime | None, day: dt.date) -> str:
    """HH:MM in Taipei; with the date when it is not the row's day (across midnight)."""
    if moment is None:
        return ""
    local = moment.astimezone(TAIPEI)
    if local.date() != day:
        return local.strftime("%m-%d %H:%M")
    return local.strftime("%H:%M")


def build_sheet(days: dict[dt.date, list[RosterRow]], *, title: str, period: str, unit_name: str,
                gettext: Callable[..., str], local: Callable[[object], str],
                status_label: Callable[[Status], str]) -> Sheet:
    """The rows of an attendance sheet, in the words `gettext` gives."""
    _ = gettext
    headers = [_("Date"), _("Volunteer no."), _("Name"), _("Service item"), _("Shift"),
               _("Check-in"), _("Check-out"), _("Status"), _("Late (min)"),
               _("Left early (min)"), _("Note")]
    rows = []
    for day in sorted(days):
        for row in days[day]:
            item = row.service_item
            notes = []
            if row.mark is not None:
                notes.append(_("Excused: %(reason)s", reason=row.mark.reason))
            if row.still_open:
                notes.append(_("Not checked out yet"))
            if any(s.status.value == "needs_review" for s in row.sessions):
                notes.append(_("Check-out forgotten: closed automatically"))
            for s in row.not_counted:
                notes.append(_("Rejected check-in at %(time)s not counted",
                               time=_clock(s.checked_in_at, day)))
            rows.append([
                day,
                row.volunteer.volunteer_no,
                row.volunteer.name_zh,
                local(item) if item is not None else "",
                (f"{row.shift.start_time:%H:%M}–{row.shift.end_time:%H:%M}"
                 if row.shift is not None else ""),
                _clock(row.first_in, day),
                _clock(row.last_out, day),
                status_label(row.status),
                row.late_minutes or None,
                row.early_minutes or None,
                "；".join(notes),
            ])
    summary_headers = [_("Volunteer no."), _("Name"), _("Scheduled"),
                       *[status_label(s) for s in Status]]
    summary_rows = [[t.volunteer.volunteer_no, t.volunteer.name_zh, t.scheduled,
                     *[t.counts[s] for s in Status]] for t in tally_by_volunteer(days)]
    labels = {
        "printed_at": _("Printed %(when)s", when=dt.datetime.now(TAIPEI).strftime("%Y-%m-%d %H:%M")),
        "page": _("Page %(page)s of %(pages)s", page="{page}", pages="{nb}"),
        "summary": _("Summary per volunteer"),
        "detail_name": _("Attendance"),
        "summary_name": _("Summary"),
        "no_rows": _("No shifts and no check-ins."),
        "sign_off": _("Supervisor: ____________    Unit admin: ____________"),
        "rules": _("Late: checked in more than %(late)d minutes after the start. Left early: "
                   "checked out more than %(early)d minutes before the end. Absent: no check-in.",
                   late=LATE_AFTER.seconds // 60, early=EARLY_BEFORE.seconds // 60),
    }
    return Sheet(title=title, period=period, unit_name=unit_name, headers=headers, rows=rows,
                 summary_headers=summary_headers, summary_rows=summary_rows, labels=labels)


# --- CSV ---------------------------------------------------------------------------------

def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def sheet_csv(sheet: Sheet) -> bytes:
    """The detail rows as CSV for Excel: UTF-8 with BOM, CRLF, formulas neutralised."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([neutralise(h) for h in sheet.headers])
    for row in sheet.rows:
        writer.writerow([neutralise(_text(v)) for v in row])
    return out.getvalue().encode("utf-8-sig")


# --- XLSX --------------------------------------------------------------------------------

def sheet_xlsx(sheet: Sheet) -> bytes:
    """Two worksheets: the detail rows, and the per-volunteer summary."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    book = Workbook()
    book.properties.title = f"{sheet.title} {sheet.period}"
    book.properties.creator = "Hourbook"
    detail = book.active
    detail.title = _sheet_name(sheet.labels.get("detail_name") or "Attendance")
    summary = book.create_sheet(_sheet_name(sheet.labels.get("summary_name") or "Summary"))
    for ws, headers, rows in ((detail, sheet.headers, sheet.rows),
                              (summary, sheet.summary_headers, sheet.summary_rows)):
        ws.append(headers)
        for cell in ws[1]:
            cell.font = Font(bold=True)
        for values in rows:
            ws.append([None if v is None else v for v in values])
        for cells in ws.iter_rows(min_row=1):
            for cell in cells:
                if isinstance(cell.value, str):
                    cell.data_type = "s"  # text, never a formula
                elif isinstance(cell.value, (dt.date, dt.datetime)):
                    cell.number_format = "yyyy-mm-dd"
        ws.freeze_panes = "A2"
        if rows:
            ws.auto_filter.ref = ws.dimensions
        for index, header in enumerate(headers, start=1):
            longest = max([len(_text(header))] + [len(_text(r[index - 1])) for r in rows])
            ws.column_dimensions[get_column_letter(index)].width = min(48, max(8, longest * 1.6 + 2))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _sheet_name(name: str) -> str:
    for bad in "[]:*?/\\":
        name = name.replace(bad, " ")
    return name[:31] or "Sheet"


# --- PDF ---------------------------------------------------------------------------------

# Widths in mm across A4 landscape (297 mm, 10 mm margins): 277 mm.
COL_WIDTHS = (21, 17, 24, 34, 22, 17, 17, 20, 18, 18, 69)
SUMMARY_WIDTHS = (20, 30, 22, 18, 18, 18, 22, 18, 18, 20, 24)
HEAD_FILL = (204, 251, 241)
TEAL = (15, 118, 110)


def sheet_pdf(sheet: Sheet) -> bytes:
    pdf = cjk_pdf(orientation="landscape", title=f"{sheet.title} {sheet.period}",
                  author=sheet.unit_name)
    pdf.set_margins(10, 12, 10)
    pdf.set_auto_page_break(True, margin=14)
    footer_text = f"{sheet.unit_name} · {sheet.title} · {sheet.period}"

    def footer(self):
        self.set_y(-11)
        self.set_font(FAMILY, "", 8)
        self.set_text_color(91, 100, 114)
        self.cell(0, 5, footer_text, align="L")
        self.set_x(self.l_margin)
        self.cell(0, 5, sheet.labels["page"].replace("{page}", str(self.page_no())), align="R")
        self.set_text_color(0, 0, 0)

    pdf.footer = types.MethodType(footer, pdf)
    pdf.alias_nb_pages()
    pdf.add_page()

    pdf.set_font(FAMILY, "B", 16)
    pdf.set_text_color(*TEAL)
    pdf.cell(0, 9, f"{sheet.title}　{sheet.period}", new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(0, 0, 0)
    pdf.set_font(FAMILY, "", 9)
    pdf.cell(0, 5, f"{sheet.unit_name} · {sheet.labels['printed_at']}", new_x="LMARGIN",
             new_y="NEXT")
    pdf.multi_cell(0, 5, sheet.labels["rules"], new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)

    _table(pdf, sheet.headers, sheet.rows, COL_WIDTHS, 8)
    if not sheet.rows:
        pdf.set_font(FAMILY, "", 10)
        pdf.cell(0, 8, sheet.labels["no_rows"], new_x="LMARGIN", new_y="NEXT")

    if sheet.summary_rows and len({r[0] for r in sheet.rows}) > 1:  # a month: the summary too
        pdf.ln(4)
        if pdf.get_y() > pdf.h - 50:
            pdf.add_page()
        pdf.set_font(FAMILY, "B", 12)
        pdf.cell(0, 8, sheet.labels["summary"], new_x="LMARGIN", new_y="NEXT")
        _table(pdf, sheet.summary_headers, sheet.summary_rows, SUMMARY_WIDTHS, 9)

    pdf.ln(8)
    if pdf.get_y() > pdf.h - 24:
        pdf.add_page()
    pdf.set_font(FAMILY, "", 11)
    pdf.cell(0, 8, sheet.labels["sign_off"], new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def _table(pdf, headers, rows, widths, size) -> None:
    # Lines break between words (English: "Companionship for elders", not "elde|rs"); a run
    # without spaces, as Chinese text is, still breaks between characters where it must.
    pdf.set_font(FAMILY, "", size)
    with pdf.table(col_widths=widths, width=sum(widths), align="LEFT", text_align="LEFT",
                   line_height=size * 0.3528 * 1.45, wrapmode=WrapMode.WORD, padding=1,
                   headings_style=FontFace(emphasis="BOLD", fill_color=HEAD_FILL),
                   repeat_headings=1) as table:
        table.row([str(h) for h in headers])
        for values in rows:
            table.row([_text(v) for v in values])


__all__ = ["Sheet", "build_sheet", "neutralise", "sheet_csv", "sheet_xlsx", "sheet_pdf"]
