"""The A4 check-in poster for a service site: names, a large QR code, bilingual instructions.

Plain data in, PDF bytes out: no Flask here, the route passes the absolute check-in URL.
"""
from __future__ import annotations

import datetime as dt

import qrcode
from qrcode.constants import ERROR_CORRECT_M

from . import FAMILY, centred_text, cjk_pdf

TEAL = (15, 118, 110)
GREY = (91, 100, 114)
INSTRUCTIONS = (
    # (Chinese, English): the poster is always bilingual, whatever the admin's language.
    ("請用手機掃描 QR 碼簽到／簽退", "Scan with your phone to check in / out"),
    ("抵達時掃描簽到，離開時再掃描一次簽退", "Scan when you arrive, and again when you leave"),
)


def qr_image(payload: str):
    """A black-on-white QR code as a Pillow image, with the standard quiet zone."""
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, box_size=10, border=4)
    code.add_data(payload)
    code.make(fit=True)
    return code.make_image(fill_color="black", back_color="white").get_image()


def site_poster_pdf(*, site_name_zh: str, site_name_en: str, unit_name: str, unit_name_en: str,
                    checkin_url: str, poster_code: str, printed_on: dt.date) -> bytes:
    pdf = cjk_pdf(title=f"{site_name_zh} 簽到海報 check-in poster", author=unit_name)
    pdf.add_page()
    width = pdf.w

    # Unit band
    pdf.set_fill_color(*TEAL)
    pdf.rect(0, 0, width, 30 if unit_name_en else 24, style="F")
    y = centred_text(pdf, unit_name, 6, 18, "B", min_size=11, color=(255, 255, 255))
    if unit_name_en:
        centred_text(pdf, unit_name_en, y, 11, min_size=8, color=(255, 255, 255))

    # What this is, and where
    y = centred_text(pdf, "志工簽到／簽退 Volunteer check-in / check-out", 40, 14, "B",
                     min_size=10, color=TEAL)
    y = centred_text(pdf, site_name_zh, y + 3, 38, "B", min_size=20)
    if site_name_en:
        y = centred_text(pdf, site_name_en, y + 1, 20, min_size=12, color=GREY)

    # The QR code: as large as the space allows, never under 90 mm
    qr_top = max(y + 6, 80)
    footer_top = 262
    text_block = 58  # the instructions below the code
    side = max(90.0, min(125.0, footer_top - text_block - qr_top))
    pdf.image(qr_image(checkin_url), x=(width - side) / 2, y=qr_top, w=side, h=side)

    y = qr_top + side + 6
    for zh, en in INSTRUCTIONS:
        y = centred_text(pdf, zh, y, 20 if zh == INSTRUCTIONS[0][0] else 16, "B", min_size=12)
        y = centred_text(pdf, en, y, 15 if zh == INSTRUCTIONS[0][0] else 13, min_size=10,
                         color=GREY) + 3

    # Footer: the address for phones without a scanner, and which poster this is
    pdf.set_draw_color(*GREY)
    pdf.line(15, footer_top, width - 15, footer_top)
    y = centred_text(pdf, checkin_url, footer_top + 3, 9, min_size=6, color=GREY)
    centred_text(
        pdf,
        f"海報代碼 Poster code {poster_code} · 列印日期 Printed {printed_on.isoformat()}",
        y + 1, 9, min_size=7, color=GREY,
    )
    pdf.set_font(FAMILY, "", 12)
    return bytes(pdf.output())
