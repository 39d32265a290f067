"""Printed things (posters now; hour slips and certificates later) as PDFs, with fpdf2.

Traditional Chinese needs a CJK font embedded in the PDF. We use Debian's fonts-noto-cjk
(SIL Open Font License 1.1): its .ttc files are OpenType collections with CFF outlines, which
fpdf2 embeds (subset) without trouble; "Noto Sans CJK TC" is face 3 of each collection (0 JP,
1 KR, 2 SC, 3 TC, 4 HK, then the Mono faces). The set-up (./dev) installs the package.
"""
from __future__ import annotations

import os
from pathlib import Path

from fpdf import FPDF

FONT_DIR = Path(os.environ.get("HOURBOOK_CJK_FONT_DIR", "/usr/share/fonts/opentype/noto"))
FONT_FILES = {"": "NotoSansCJK-Regular.ttc", "B": "NotoSansCJK-Bold.ttc"}
TC_FACE = 3  # index of "Noto Sans CJK TC" inside each collection
FAMILY = "NotoSansTC"


class FontMissing(RuntimeError):
    """The CJK font is not installed (Debian package fonts-noto-cjk)."""


def cjk_pdf(orientation: str = "portrait", page_format: str = "A4", title: str = "",
            author: str = "") -> FPDF:
    """An empty FPDF (millimetres) with Noto Sans CJK TC regular and bold as family FAMILY,
    set as the current font. Add pages and write; `bytes(pdf.output())` gives the file."""
    paths = {style: FONT_DIR / name for style, name in FONT_FILES.items()}
    missing = [str(p) for p in paths.values() if not p.is_file()]
    if missing:
        raise FontMissing("CJK font not found: " + ", ".join(missing)
                          + " (install the Debian package fonts-noto-cjk)")
    pdf = FPDF(orientation=orientation, unit="mm", format=page_format)
    for style, path in paths.items():
        pdf.add_font(FAMILY, style, str(path), collection_font_number=TC_FACE)
    pdf.set_font(FAMILY, "", 12)
    pdf.set_auto_page_break(False)
    pdf.set_creator("Hourbook")
    if title:
        pdf.set_title(title)
    if author:
        pdf.set_author(author)
    pdf.set_lang("zh-Hant-TW")
    return pdf


def fit_font_size(pdf: FPDF, text: str, max_width: float, size: float, min_size: float,
                  style: str = "") -> float:
    """The largest font size from `size` down to `min_size` at which `text` fits on one line
    of `max_width` mm; sets that font and returns the size (text may still overflow at min)."""
    while True:
        pdf.set_font(FAMILY, style, size)
        if pdf.get_string_width(text) <= max_width or size <= min_size:
            return size
        size = max(min_size, size - 1)


def centred_text(pdf: FPDF, text: str, y: float, size: float, style: str = "",
                 min_size: float | None = None, color: tuple[int, int, int] = (0, 0, 0),
                 margin: float = 15) -> float:
    """Write `text` centred across the page at `y`, shrinking (and then wrapping) a long line.
    Returns the y below it."""
    width = pdf.w - 2 * margin
    size = fit_font_size(pdf, text, width, size, min_size or size, style)
    pdf.set_text_color(*color)
    line_height = size * 0.3528 * 1.3  # points to mm, with leading
    pdf.set_xy(margin, y)
    pdf.multi_cell(width, line_height, text, align="C")
    pdf.set_text_color(0, 0, 0)
    return pdf.get_y()


def place_logo(pdf: FPDF, data: bytes | None, x: float, y: float, max_w: float, max_h: float,
               align: str = "L") -> float:
    """Draw the unit's seal/logo (PNG or JPEG bytes) inside the box at (x, y) of max_w x max_h
    mm, keeping its proportions; `align` "L", "C" or "R" within the box. Returns the width
    drawn (0 when there is no logo or it cannot be read: documents print without it)."""
    import io

    from PIL import Image

    if not data:
        return 0.0
    try:
        with Image.open(io.BytesIO(data)) as image:
            px_w, px_h = image.size
    except Exception:  # a logo that cannot be read never stops a document from printing
        return 0.0
    if not px_w or not px_h:
        return 0.0
    scale = min(max_w / px_w, max_h / px_h)
    w, h = px_w * scale, px_h * scale
    left = x + {"L": 0.0, "C": (max_w - w) / 2, "R": max_w - w}.get(align, 0.0)
    top = y + (max_h - h) / 2
    try:
        pdf.image(io.BytesIO(data), x=left, y=top, w=w, h=h)
    except Exception:
        return 0.0
    return w


# --- shared by the printed documents ------------------------------------------------------------

INK = (25, 25, 25)
GREY = (95, 95, 95)
CERTIFICATE_MARGIN = 25.0


def roc_short(day) -> str:
    """115/03/02: a date in the Republic of China calendar, as on slips."""
    return f"{day.year - 1911}/{day.month:02d}/{day.day:02d}"


def roc_long(day) -> str:
    """中華民國 115 年 3 月 2 日: a date as certificates and slips print it."""
    return f"中華民國 {day.year - 1911} 年 {day.month} 月 {day.day} 日"


def certificate_page(pdf: FPDF, *, frame: tuple[int, int, int], number_text: str) -> None:
    """A certificate's page: a new A4 page with a double frame in `frame`'s colour and the
    certificate's number at the top right."""
    pdf.add_page()
    w = pdf.w
    pdf.set_draw_color(*frame)
    pdf.set_line_width(1.2)
    pdf.rect(12, 12, w - 24, pdf.h - 24)
    pdf.set_line_width(0.3)
    pdf.rect(15, 15, w - 30, pdf.h - 30)
    pdf.set_text_color(*GREY)
    pdf.set_font(FAMILY, "", 10)
    pdf.set_xy(CERTIFICATE_MARGIN, 22)
    pdf.cell(w - 2 * CERTIFICATE_MARGIN, 6, number_text, align="R")
    pdf.set_text_color(*INK)
