"""The service plan as a Word document (python-docx), for units whose authority wants an
editable file: the same PlanDoc and the same contents as the PDF (printing/plan.py), A4."""
from __future__ import annotations

import io

from docx import Document
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Mm, Pt, RGBColor

from .plan import PlanDoc, roc_date, roc_year, unit_rows

FONT = "Noto Sans CJK TC"  # Word falls back to a CJK font the reader has when it is missing
GREY = RGBColor(0x5F, 0x5F, 0x5F)


def _font(style_or_run, size: float | None = None, bold: bool | None = None) -> None:
    font = style_or_run.font
    font.name = FONT
    if size:
        font.size = Pt(size)
    if bold is not None:
        font.bold = bold
    element = style_or_run.element if hasattr(style_or_run, "element") else style_or_run._element
    rpr = element.get_or_add_rPr()
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = rpr.makeelement(qn("w:rFonts"), {})
        rpr.append(fonts)
    fonts.set(qn("w:eastAsia"), FONT)


def _cell_text(cell, text: str, bold: bool = False, grey: bool = False) -> None:
    paragraph = cell.paragraphs[0]
    run = paragraph.add_run(text)
    _font(run, 10.5, bold)
    if grey:
        run.font.color.rgb = GREY


def _logo_stream(data: bytes | None):
    """The logo as a stream python-docx can read (PNG or JPEG), or None."""
    if not data:
        return None
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
    except Exception:  # an unreadable logo never stops the document
        return None
    return io.BytesIO(data)


def plan_docx(doc: PlanDoc) -> bytes:
    document = Document()
    section = document.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.left_margin = section.right_margin = Mm(20)
    section.top_margin = section.bottom_margin = Mm(18)
    _font(document.styles["Normal"], 11)
    for name in ("Title", "Heading 1", "Heading 2"):
        _font(document.styles[name])

    logo = _logo_stream(doc.logo)
    if logo is not None:
        document.add_picture(logo, height=Mm(22))
        document.paragraphs[-1].alignment = WD_ALIGN_PARAGRAPH.LEFT
    unit = document.add_paragraph()
    unit.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _font(unit.add_run(doc.unit_name), 14, True)
    title = document.add_paragraph()
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _font(title.add_run(f"中華民國 {roc_year(doc.year)} 年度志願服務計畫"), 19, True)
    sub = document.add_paragraph()
    sub.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = sub.add_run(f"（{doc.year} 年）第 {doc.version} 版　狀態：{doc.status}")
    _font(run, 10)
    run.font.color.rgb = GREY

    rows = unit_rows(doc)
    table = document.add_table(rows=0, cols=2)
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    for label, value in rows:
        cells = table.add_row().cells
        cells[0].width, cells[1].width = Mm(36), Mm(134)
        _cell_text(cells[0], label, grey=True)
        _cell_text(cells[1], value)

    for heading, text in doc.sections:
        _font(document.add_heading(heading, level=2).runs[0], 13, True)
        for line in (text or "（未填寫）").split("\n"):
            _font(document.add_paragraph().add_run(line), 11)
    _font(document.add_heading(doc.items_heading, level=2).runs[0], 13, True)
    if doc.items:
        items = document.add_table(rows=1, cols=3)
        items.style = "Table Grid"
        for cell, text in zip(items.rows[0].cells, ("代碼", "服務項目", "內容說明")):
            _cell_text(cell, text, bold=True)
        for item in doc.items:
            cells = items.add_row().cells
            _cell_text(cells[0], item.code)
            _cell_text(cells[1], item.name)
            _cell_text(cells[2], item.description or "—")
    else:
        _font(document.add_paragraph().add_run("（未填寫）"), 11)

    document.add_paragraph()
    sign = document.add_paragraph()
    _font(sign.add_run(f"負責人：{doc.responsible_person or '　' * 6}（簽章）　　　　"
                       f"承辦人：{'　' * 6}（簽章）"), 11)
    footer = section.footer.paragraphs[0]
    text = f"{doc.unit_name}　{roc_year(doc.year)} 年度志願服務計畫　第 {doc.version} 版"
    if doc.printed_on:
        text += f"　列印日期 {roc_date(doc.printed_on)}"
    run = footer.add_run(text)
    _font(run, 8)
    run.font.color.rgb = GREY
    document.core_properties.title = f"{doc.unit_name} {roc_year(doc.year)} 年度志願服務計畫"
    document.core_properties.author = doc.unit_name
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()
