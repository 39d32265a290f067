"""The completion certificate (結業證明書) for the unit's own courses: one A4 page, portrait,
Traditional Chinese. Plain data in (models.completion.CompletionCertificate), PDF bytes out."""
from __future__ import annotations

from fpdf.enums import WrapMode

from models.hours import hours_text

from . import CERTIFICATE_MARGIN as MARGIN
from . import FAMILY, GREY, INK, centred_text, certificate_page, cjk_pdf, roc_long

FRAME = (120, 90, 40)


def completion_pdf(cert) -> bytes:
    pdf = cjk_pdf(title=f"結業證明書 {cert.serial}", author=cert.unit_name)
    certificate_page(pdf, frame=FRAME, number_text=f"證書編號：{cert.serial}")
    w = pdf.w

    y = centred_text(pdf, "結業證明書", 42, 30, "B")
    y = centred_text(pdf, cert.unit_name, y + 4, 14, min_size=10, color=GREY)

    # the template text, wrapped
    pdf.set_font(FAMILY, "", 14)
    pdf.set_xy(MARGIN + 5, y + 14)
    pdf.multi_cell(w - 2 * MARGIN - 10, 9, cert.text, align="L", wrapmode=WrapMode.CHAR)
    y = pdf.get_y() + 10

    # the courses
    col = [w - 2 * MARGIN - 70, 40, 30]
    x0 = MARGIN
    pdf.set_fill_color(240, 236, 228)
    pdf.set_font(FAMILY, "B", 11)
    pdf.set_xy(x0, y)
    for text, width in zip(("課程名稱", "日期", "時數"), col):
        pdf.cell(width, 8, text, border=1, align="C", fill=True)
    pdf.ln(8)
    pdf.set_font(FAMILY, "", 11)
    for name, day, minutes in cert.lines:
        pdf.set_x(x0)
        pdf.cell(col[0], 8, name, border=1)
        pdf.cell(col[1], 8, day.isoformat(), border=1, align="C")
        pdf.cell(col[2], 8, f"{hours_text(minutes)} 小時", border=1, align="C")
        pdf.ln(8)
    pdf.set_font(FAMILY, "B", 11)
    pdf.set_x(x0)
    pdf.cell(col[0] + col[1], 8, "合計", border=1, align="R")
    pdf.cell(col[2], 8, f"{hours_text(cert.total_minutes)} 小時", border=1, align="C")
    pdf.ln(8)

    # issuer and date at the foot
    pdf.set_font(FAMILY, "", 13)
    pdf.set_xy(MARGIN, pdf.h - 85)
    pdf.cell(w - 2 * MARGIN, 8, f"志工：{cert.volunteer_name}（編號 {cert.volunteer_no}）")
    pdf.set_xy(MARGIN, pdf.h - 72)
    pdf.cell(w - 2 * MARGIN, 8, f"發證單位：{cert.unit_name}")
    pdf.set_draw_color(*GREY)
    pdf.set_line_width(0.3)
    pdf.rect(w - MARGIN - 45, pdf.h - 80, 45, 35)
    pdf.set_font(FAMILY, "", 9)
    pdf.set_text_color(*GREY)
    pdf.set_xy(w - MARGIN - 45, pdf.h - 45)
    pdf.cell(45, 6, "單位印信", align="C")
    pdf.set_text_color(*INK)
    centred_text(pdf, roc_long(cert.issued_on), pdf.h - 35, 14)
    return bytes(pdf.output())
