"""The performance certificate (志願服務績效證明書): one A4 page, portrait, with the content of
MOHW's form — volunteer, birth date, record-book number, service unit, service period, service
items, total verified hours, the unit's attestation, date and certificate number.

Plain data in (the `printed` snapshot frozen when the certificate was issued, see
models.certificates.issue_certificate), PDF bytes out: a re-download prints the same page."""
from __future__ import annotations

import datetime as dt

from fpdf.enums import WrapMode

from webapp.i18n import chinese, duration

from . import CERTIFICATE_MARGIN as MARGIN
from . import FAMILY, GREY, INK, centred_text, certificate_page, cjk_pdf, fit_font_size, roc_long

FRAME = (40, 80, 120)


def _day(value) -> dt.date | None:
    return dt.date.fromisoformat(value) if value else None


def roc(day: dt.date | None) -> str:
    return "—" if day is None else roc_long(day)


UNIT_LABEL = "志願服務運用單位："


def _unit_line(pdf, name: str, x: float, y: float, width: float) -> None:
    """"志願服務運用單位：<unit>" without breaking the unit's name mid-word (a review read
    "…基 / 金會"): on one line, shrunk down to 10 pt; else the label on its line and the name on
    the next, shrunk down to 8 pt (still legible in print) (only a name too long even then wraps). Leaves y below it."""
    pdf.set_xy(x, y)
    if fit_font_size(pdf, UNIT_LABEL + name, width, 13, 10) and \
            pdf.get_string_width(UNIT_LABEL + name) <= width:
        pdf.cell(width, 8, UNIT_LABEL + name, new_x="LEFT", new_y="NEXT")
        return
    pdf.set_font(FAMILY, "", 13)
    pdf.cell(width, 8, UNIT_LABEL, new_x="LEFT", new_y="NEXT")
    pdf.set_x(x)
    size = fit_font_size(pdf, name, width, 13, 8)
    pdf.multi_cell(width, size * 0.3528 * 1.5, name, align="L", wrapmode=WrapMode.CHAR)


def hours(minutes: int) -> str:
    """Hours as the app writes them (webapp.i18n.duration), in Chinese: 196 小時 30 分."""
    return duration(minutes, chinese().ugettext)


def performance_pdf(printed: dict) -> bytes:
    p = printed
    issued_on = _day(p["issued_on"])
    pdf = cjk_pdf(title=f"志願服務績效證明書 {p['serial']}", author=p["unit_name"])
    certificate_page(pdf, frame=FRAME, number_text=f"證書字號：{p['serial']}")
    w = pdf.w

    y = centred_text(pdf, "志願服務績效證明書", 38, 28, "B")
    y = centred_text(pdf, p["unit_name"], y + 3, 14, min_size=10, color=GREY)

    # the facts, as the form's table
    label_w, value_w = 45.0, w - 2 * MARGIN - 45.0
    rows = [
        ("姓名", p["volunteer_name"]),
        ("出生年月日", roc(_day(p.get("birth_date")))),
        ("志工編號", p.get("volunteer_no") or "—"),
        ("志願服務紀錄冊編號", p.get("record_book_no") or "（尚未核發）"),
        ("服務單位", p["unit_name"]),
        ("服務期間", f"自 {roc(_day(p.get('period_start')))}\n至 {roc(_day(p.get('period_end')))}"),
        ("服務項目", "、".join(p.get("service_items") or []) or "—"),
        ("服務總時數", f"累計 {hours(p['service_minutes'])}（經督導核實之服務時數）"),
    ]
    if p.get("prior_minutes"):
        rows.append(("他單位紀錄時數", f"{hours(p['prior_minutes'])}（依紀錄冊登載，未含於上列）"))
    pdf.set_xy(MARGIN, y + 10)
    pdf.set_fill_color(232, 238, 244)
    for label, value in rows:
        top = pdf.get_y()
        pdf.set_font(FAMILY, "", 12)
        pdf.set_xy(MARGIN + label_w, top)
        pdf.multi_cell(value_w, 9, value, border=1, align="L", wrapmode=WrapMode.CHAR,
                       padding=(0, 2, 0, 2))
        bottom = pdf.get_y()
        pdf.set_font(FAMILY, "B", 12)
        pdf.set_xy(MARGIN, top)
        pdf.cell(label_w, bottom - top, label, border=1, align="C", fill=True)
        pdf.set_xy(MARGIN, bottom)

    pdf.set_font(FAMILY, "", 14)
    pdf.set_xy(MARGIN + 5, pdf.get_y() + 12)
    pdf.multi_cell(w - 2 * MARGIN - 10, 9,
                   f"茲證明 {p['volunteer_name']} 君於本單位參與志願服務，服務期間及時數如上，"
                   "服務績效良好，特此證明。", align="L", wrapmode=WrapMode.CHAR)

    # the unit and its head on the left; the seal's box on the right (kept clear of the text)
    text_w = w - 2 * MARGIN - 50
    _unit_line(pdf, p["unit_name"], MARGIN, pdf.h - 88, text_w)
    pdf.set_font(FAMILY, "", 13)
    pdf.set_xy(MARGIN, max(pdf.get_y() + 2, pdf.h - 70))
    head = (p.get("responsible_person") or "").strip()
    if head:
        pdf.cell(text_w, 8, f"負責人：{head}")
    else:  # no responsible person on the unit's profile: a line to sign by hand
        label = "負責人："
        pdf.cell(pdf.get_string_width(label) + 1, 8, label)
        pdf.set_draw_color(*INK)
        pdf.set_line_width(0.3)
        x0, y0 = pdf.get_x(), pdf.get_y() + 7
        pdf.line(x0, y0, x0 + min(70, text_w - (x0 - MARGIN)), y0)
    pdf.set_draw_color(*GREY)
    pdf.set_line_width(0.3)
    pdf.rect(w - MARGIN - 45, pdf.h - 88, 45, 38)
    pdf.set_font(FAMILY, "", 9)
    pdf.set_text_color(*GREY)
    pdf.set_xy(w - MARGIN - 45, pdf.h - 50)
    pdf.cell(45, 6, "單位印信", align="C")
    pdf.set_text_color(*INK)
    centred_text(pdf, roc(issued_on), pdf.h - 38, 14)
    return bytes(pdf.output())
