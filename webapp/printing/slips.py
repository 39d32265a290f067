"""Hour slips (志願服務時數條) as an A4 PDF in Traditional Chinese: three slips to a page with
cut lines between them; a slip with many sessions takes two or three thirds of a page, and one
with more than a page holds continues on the next page.

Plain data in (SlipDoc), PDF bytes out; `slip_doc()` builds a SlipDoc from the models.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from fpdf import FPDF

from models.base import taipei_date

from . import FAMILY, GREY, INK, cjk_pdf, place_logo, roc_long, roc_short

PAGE_W, PAGE_H = 210.0, 297.0
SLOTS = 3  # slips per A4 page
SLOT_H = PAGE_H / SLOTS
MARGIN_X = 12.0
PAD_TOP, PAD_BOTTOM = 6.0, 6.0
HEADER_H, INFO_H, GAP, THEAD_H, ROW_H, TOTAL_H, NOTE_H = 10.0, 7.0, 2.5, 5.5, 4.6, 6.0, 5.0
SIDE_W = 46.0  # the issuer and the signature-and-seal box, right of the table
SIDE_GAP = 4.0
FIXED_H = PAD_TOP + HEADER_H + INFO_H + GAP + THEAD_H + TOTAL_H + NOTE_H + PAD_BOTTOM
OVERLAP_H = 3.5  # a line in the bottom padding, when the slip's period overlaps another's

LIGHT = (238, 238, 238)
RULE = (70, 70, 70)
VOID_RED = (190, 30, 30)
WEEKDAYS = "一二三四五六日"
NOTE = ("本時數條僅記載經督導審核之實際服務時數，不含訓練、會議及交通時間；"
        "請核對後登錄於志願服務紀錄冊並妥為保存。")


@dataclass
class SlipLine:
    day: dt.date
    start: str  # "09:00" (Taipei); "09:00:40" when minutes would overstate (ServiceSession.clock)
    end: str
    site: str
    item: str
    minutes: int


@dataclass
class SlipDoc:
    serial: str
    unit_name: str
    volunteer_name: str
    volunteer_no: str
    record_book_no: str
    period_start: dt.date
    period_end: dt.date
    lines: list[SlipLine]
    total_minutes: int
    issued_by: str
    issued_on: dt.date
    voided: bool = False
    void_reason: str = ""
    replaces_serial: str = ""
    logo: bytes | None = None  # the unit's seal/logo (PNG or JPEG), printed in the header
    # the volunteer's other valid slips over some of the same days: (serial, first, last day)
    overlaps: list[tuple[str, dt.date, dt.date]] = field(default_factory=list)


def slip_doc(slip, unit_name: str, replaces_serial: str = "") -> SlipDoc:
    """A SlipDoc from an HourSlip with its entries, sessions, sites and items loaded."""
    from models.base import TAIPEI

    lines = []
    for entry in slip.entries:
        s = entry.service_session
        start = s.checked_in_at.astimezone(TAIPEI)
        lines.append(SlipLine(day=start.date(), start=s.clock(s.checked_in_at),
                              end=s.clock(s.checked_out_at), site=s.site.name_zh,
                              item=s.service_item.name_zh, minutes=entry.minutes))
    lines.sort(key=lambda line: (line.day, line.start))
    return SlipDoc(serial=slip.serial, unit_name=unit_name, volunteer_name=slip.volunteer.name_zh,
                   volunteer_no=slip.volunteer.volunteer_no,
                   record_book_no=slip.volunteer.record_book_no,
                   period_start=slip.period_start, period_end=slip.period_end, lines=lines,
                   total_minutes=slip.total_minutes, issued_by=slip.issued_by.name,
                   issued_on=taipei_date(slip.issued_at), voided=slip.voided_at is not None,
                   void_reason=slip.void_reason or "", replaces_serial=replaces_serial)


# --- words and numbers ----------------------------------------------------------------------

def overlap_note(overlaps: list[tuple[str, dt.date, dt.date]]) -> str:
    """The line printed on a slip whose period overlaps the volunteer's other valid slips."""
    others = "、".join(f"{serial}（{roc_short(first)}～{roc_short(last)}）"
                      for serial, first, last in overlaps)
    return f"本時數條之服務期間與編號 {others} 之時數條重疊；兩者所列服務紀錄不重複，時數不重複計算。"


def hours_zh(minutes: int) -> str:
    h, m = divmod(int(minutes), 60)
    if m == 0:
        return f"{h} 小時"
    if h == 0:
        return f"{m} 分"
    return f"{h} 小時 {m:02d} 分"


# --- layout ------------------------------------------------------------------------------

def rows_that_fit(slots: int) -> int:
    return int((slots * SLOT_H - FIXED_H) // ROW_H)


def slots_for(rows: int) -> int:
    for slots in range(1, SLOTS + 1):
        if rows <= rows_that_fit(slots):
            return slots
    return SLOTS


def _parts(doc: SlipDoc) -> list[list[SlipLine]]:
    """The slip's lines cut into pieces of at most a page each (one piece almost always)."""
    per_page = rows_that_fit(SLOTS)
    lines = doc.lines or []
    return [lines[i:i + per_page] for i in range(0, len(lines), per_page)] or [[]]


def _fit(pdf: FPDF, text: str, width: float, size: float, min_size: float, style: str = "") -> str:
    """Set the largest font size that fits `text` in `width` mm; cut it with … if none does."""
    while size > min_size and pdf.get_string_width(text) > width - 1.2:
        size -= 0.5
        pdf.set_font(FAMILY, style, size)
    pdf.set_font(FAMILY, style, size)
    if pdf.get_string_width(text) <= width - 1.2:
        return text
    while text and pdf.get_string_width(text + "…") > width - 1.2:
        text = text[:-1]
    return text + "…"


def _cell(pdf: FPDF, x: float, y: float, w: float, h: float, text: str, *, size: float = 9,
          min_size: float = 6.5, style: str = "", align: str = "L", fill: bool = False,
          border: bool = True, color: tuple[int, int, int] = INK) -> None:
    if fill:
        pdf.set_fill_color(*LIGHT)
        pdf.rect(x, y, w, h, style="F")
    if border:
        pdf.rect(x, y, w, h)
    pdf.set_font(FAMILY, style, size)
    shown = _fit(pdf, text, w, size, min_size, style)
    pdf.set_text_color(*color)
    pdf.set_xy(x, y)
    pdf.cell(w, h, shown, align=align)
    pdf.set_text_color(*INK)


def _draw_slip(pdf: FPDF, doc: SlipDoc, lines: list[SlipLine], top: float, height: float,
               part: int, parts: int) -> None:
    x0, width = MARGIN_X, PAGE_W - 2 * MARGIN_X
    y = top + PAD_TOP
    pdf.set_draw_color(*RULE)
    pdf.set_line_width(0.25)

    # Header: unit, title, serial number
    logo_w = place_logo(pdf, doc.logo, x0, y + 0.5, 16, HEADER_H - 2)
    shift = logo_w + 1.5 if logo_w else 0.0
    _cell(pdf, x0 + shift, y, width * 0.34 - shift, HEADER_H, doc.unit_name, size=10.5,
          min_size=7, style="B", border=False)
    pdf.set_font(FAMILY, "B", 16)
    pdf.set_char_spacing(2.5)
    pdf.set_xy(x0 + width * 0.3, y)
    pdf.cell(width * 0.4, HEADER_H, "志願服務時數條", align="C")
    pdf.set_char_spacing(0)
    serial = f"編號 {doc.serial}" + (f"（第 {part}／{parts} 頁）" if parts > 1 else "")
    if doc.replaces_serial:
        _cell(pdf, x0 + width * 0.66, y, width * 0.34, HEADER_H - 3.5, serial, size=9.5,
              min_size=7, align="R", border=False)
        _cell(pdf, x0 + width * 0.66, y + HEADER_H - 4.5, width * 0.34, 3.5,
              f"補發，取代編號 {doc.replaces_serial}", size=7, min_size=6, align="R",
              border=False, color=GREY)
    else:
        _cell(pdf, x0 + width * 0.66, y, width * 0.34, HEADER_H, serial, size=9.5, min_size=7,
              align="R", border=False)
    y += HEADER_H
    pdf.set_line_width(0.5)
    pdf.line(x0, y - 1, x0 + width, y - 1)
    pdf.set_line_width(0.25)

    # Who and when
    period = f"{roc_short(doc.period_start)} ～ {roc_short(doc.period_end)}"
    fields = [("姓名", doc.volunteer_name, 13, 29, "B"), ("志工編號", doc.volunteer_no, 16, 17, ""),
              ("紀錄冊編號", doc.record_book_no or "（尚未領冊）", 20, 33, ""),
              ("服務期間", period, 16, 0, "")]
    used = sum(lw + vw for _l, _v, lw, vw, _s in fields)
    x = x0
    for label, value, lw, vw, style in fields:
        vw = vw or width - used  # the last value takes what is left
        _cell(pdf, x, y, lw, INFO_H, label, size=8.5, fill=True, align="C", color=GREY)
        _cell(pdf, x + lw, y, vw, INFO_H, value, size=10 if style else 9, style=style, align="C")
        x += lw + vw
    y += INFO_H + GAP

    # The sessions
    table_w = width - SIDE_W - SIDE_GAP
    # times with their seconds (ServiceSession.clock) take a wider column, at the same size
    time_w = 30 if any(len(line.start) > 5 or len(line.end) > 5 for line in doc.lines) else 22
    cols = [("日期", 25, "C"), ("時間", time_w, "C"), ("服務地點", 0, "L"), ("服務項目", 0, "L"),
            ("時數", 22, "R")]
    flexible = (table_w - sum(w for _h, w, _a in cols)) / 2
    widths = [w or flexible for _h, w, _a in cols]
    x = x0
    for (head, _w, _a), w in zip(cols, widths):
        _cell(pdf, x, y, w, THEAD_H, head, size=8.5, fill=True, align="C", color=GREY)
        x += w
    table_top = y
    y += THEAD_H
    body_h = height - FIXED_H
    for line in lines:
        values = [f"{roc_short(line.day)}（{WEEKDAYS[line.day.weekday()]}）",
                  f"{line.start}–{line.end}" if line.end else line.start, line.site, line.item,
                  hours_zh(line.minutes)]
        x = x0
        for (_h, _w, align), w, value in zip(cols, widths, values):
            _cell(pdf, x, y, w, ROW_H, value, size=8.5, align=align)
            x += w
        y += ROW_H
    # empty ruled rows down to the total, as on a printed form
    rows_left = int(round((table_top + THEAD_H + body_h - y) / ROW_H))
    for _ in range(max(0, rows_left)):
        x = x0
        for w in widths:
            pdf.rect(x, y, w, ROW_H)
            x += w
        y += ROW_H
    last = part == parts
    label = f"合計（共 {len(doc.lines)} 次服務）" if last else "（續下頁）"
    _cell(pdf, x0, y, table_w - widths[-1], TOTAL_H, label, size=9, style="B", align="R",
          fill=True)
    _cell(pdf, x0 + table_w - widths[-1], y, widths[-1], TOTAL_H,
          hours_zh(doc.total_minutes) if last else "", size=10, style="B", align="R")
    pdf.set_line_width(0.5)
    pdf.rect(x0, table_top, table_w, y + TOTAL_H - table_top)
    pdf.set_line_width(0.25)
    bottom = y + TOTAL_H

    # Issuer, date, and the box for signature and seal
    sx = x0 + width - SIDE_W
    sy = table_top
    _cell(pdf, sx, sy, 16, THEAD_H, "核發人", size=8.5, fill=True, align="C", color=GREY)
    _cell(pdf, sx + 16, sy, SIDE_W - 16, THEAD_H, doc.issued_by, size=9, align="C")
    sy += THEAD_H
    _cell(pdf, sx, sy, 16, THEAD_H, "核發日期", size=8.5, fill=True, align="C", color=GREY)
    _cell(pdf, sx + 16, sy, SIDE_W - 16, THEAD_H, roc_short(doc.issued_on), size=9, align="C")
    sy += THEAD_H + 2
    pdf.set_line_width(0.4)
    pdf.rect(sx, sy, SIDE_W, bottom - sy)
    pdf.set_line_width(0.25)
    _cell(pdf, sx, sy + 1, SIDE_W, 5, "督導簽章及單位印信", size=8, align="C", border=False,
          color=GREY)

    # The small print
    _cell(pdf, x0, bottom + 1, width * 0.78, NOTE_H - 1, NOTE, size=7, min_size=5.5,
          border=False, color=GREY)
    _cell(pdf, x0 + width * 0.78, bottom + 1, width * 0.22, NOTE_H - 1, roc_long(doc.issued_on),
          size=7, min_size=5.5, border=False, color=GREY, align="R")
    if doc.overlaps:  # in the bottom padding, above the cut line: never silent
        _cell(pdf, x0, bottom + NOTE_H, width, OVERLAP_H, overlap_note(doc.overlaps), size=7,
              min_size=5, style="B", border=False, color=INK)

    if doc.voided:
        _void_mark(pdf, doc, top, height)


def _void_mark(pdf: FPDF, doc: SlipDoc, top: float, height: float) -> None:
    cx, cy = PAGE_W / 2, top + height / 2
    with pdf.local_context(fill_opacity=0.25, text_color=VOID_RED):
        with pdf.rotation(18, cx, cy):
            pdf.set_font(FAMILY, "B", 54)
            pdf.set_xy(cx - 60, cy - 14)
            pdf.cell(120, 28, "作廢 VOID", align="C")
    reason = f"已作廢：{doc.void_reason}" if doc.void_reason else "已作廢"
    _cell(pdf, MARGIN_X, top + 2, PAGE_W - 2 * MARGIN_X, 5, reason, size=8, style="B",
          border=False, color=VOID_RED, align="C")


def _cut_line(pdf: FPDF, y: float) -> None:
    pdf.set_draw_color(*GREY)
    pdf.set_line_width(0.2)
    with pdf.local_context():
        pdf.set_dash_pattern(dash=2, gap=1.5)
        pdf.line(0, y, PAGE_W, y)
    pdf.set_font(FAMILY, "", 7)
    pdf.set_text_color(*GREY)
    label = "✂ 沿虛線剪下"
    w = pdf.get_string_width(label) + 2
    pdf.set_fill_color(255, 255, 255)
    pdf.rect(MARGIN_X, y - 2, w, 4, style="F")
    pdf.set_xy(MARGIN_X, y - 2)
    pdf.cell(w, 4, label, align="C")
    pdf.set_text_color(*INK)
    pdf.set_draw_color(*RULE)


def slips_pdf(docs: list[SlipDoc], title: str = "志願服務時數條", author: str = "") -> bytes:
    """One PDF with every slip: three to an A4 page, cut lines between them."""
    pdf = cjk_pdf(title=title, author=author)
    pdf.c_margin = 1.0
    used = SLOTS  # slots used on the current page: start with a fresh page
    cuts: list[float] = []

    def finish_page():
        for y in cuts:
            _cut_line(pdf, y)
        cuts.clear()

    for doc in docs:
        parts = _parts(doc)
        for n, lines in enumerate(parts, start=1):
            slots = slots_for(len(lines))
            if used + slots > SLOTS:
                finish_page()
                pdf.add_page()
                used = 0
            top = used * SLOT_H
            _draw_slip(pdf, doc, lines, top, slots * SLOT_H, n, len(parts))
            used += slots
            if used < SLOTS:
                cuts.append(used * SLOT_H)
    if pdf.page == 0:
        pdf.add_page()
    finish_page()
    return bytes(pdf.output())
