"""The volunteer service plan (志願服務計畫) as an A4 PDF ready to file: the unit's details,
the year and version, the seven sections with their headings, the service items as a table,
and the unit's seal/logo when there is one. Always in Traditional Chinese (it is filed with the
Taipei authority, whatever language the admin reads the app in).

Plain data in (PlanDoc), PDF bytes out; `plan_doc()` builds a PlanDoc from the models.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from fpdf.fonts import FontFace

from . import FAMILY, cjk_pdf, place_logo

MARGIN = 20.0
BODY_SIZE = 11
INK = (25, 25, 25)
GREY = (95, 95, 95)
LIGHT = (238, 238, 238)
RULE = (70, 70, 70)


@dataclass
class PlanItemLine:
    code: str
    name: str
    description: str


@dataclass
class PlanDoc:
    unit_name: str
    legal_type: str  # in Chinese, e.g. 法人
    category: str  # 社會福利類 / 綜合類
    registration_no: str
    address: str
    phone: str
    responsible_person: str
    contact: str  # name, phone, email in one line
    supervisors: list[str]
    year: int
    version: int
    status: str  # in Chinese
    submitted_on: dt.date | None
    decided_on: dt.date | None
    reference_no: str
    sections: list[tuple[str, str]]  # (heading "一、召募", text) for the six text sections
    items_heading: str  # "七、服務項目"
    items: list[PlanItemLine] = field(default_factory=list)
    logo: bytes | None = None
    printed_on: dt.date | None = None


def roc_year(year: int) -> int:
    return year - 1911


def roc_date(day: dt.date | None) -> str:
    if day is None:
        return "—"
    return f"{day.year - 1911} 年 {day.month} 月 {day.day} 日"


def unit_rows(doc: PlanDoc) -> list[tuple[str, str]]:
    """The unit's details and the filing record, as both the PDF and the Word file print them."""
    return [
        ("運用單位名稱", doc.unit_name),
        ("單位類型", f"{doc.legal_type}（{doc.category}）"),
        ("立案／登記字號", doc.registration_no or "—"),
        ("地址", doc.address or "—"),
        ("電話", doc.phone or "—"),
        ("負責人", doc.responsible_person or "—"),
        ("聯絡人", doc.contact or "—"),
        ("督導", "、".join(doc.supervisors) or "—"),
        ("送件日期", roc_date(doc.submitted_on)),
        ("核備／退回日期", roc_date(doc.decided_on)),
        ("文號", doc.reference_no or "—"),
    ]


def plan_doc(unit, profile, supervisors: list[str], plan, version, logo: bytes | None,
             printed_on: dt.date) -> PlanDoc:
    """A PlanDoc from a Unit, its UnitProfile, a ServicePlan and one of its versions."""
    from models.plan import SECTIONS, STATUS_LABELS, TEXT_SECTIONS
    from models.unit_profile import CATEGORIES, LEGAL_TYPES

    contact = "　".join(x for x in (profile.contact_name, profile.contact_phone,
                                    profile.contact_email) if x)
    sections = [(f"{s.numeral}、{s.zh}", version.text_of(s.key)) for s in SECTIONS
                if s.key in TEXT_SECTIONS]
    last = SECTIONS[-1]
    items = sorted((PlanItemLine(i.service_item.code, i.service_item.name_zh, i.description)
                    for i in version.items), key=lambda line: line.code)
    return PlanDoc(
        unit_name=unit.name, legal_type=LEGAL_TYPES[unit.legal_type][1],
        category=CATEGORIES[unit.category][1], registration_no=unit.registration_no,
        address=unit.address, phone=unit.phone, responsible_person=profile.responsible_person,
        contact=contact, supervisors=supervisors, year=plan.year, version=version.number,
        status=STATUS_LABELS[version.status][1], submitted_on=version.submitted_on,
        decided_on=version.decided_on, reference_no=version.reference_no, sections=sections,
        items_heading=f"{last.numeral}、{last.zh}", items=items, logo=logo,
        printed_on=printed_on)


def _heading(pdf, text: str) -> None:
    if pdf.get_y() > pdf.h - 45:  # never leave a heading alone at the foot of a page
        pdf.add_page()
    pdf.ln(3)
    pdf.set_font(FAMILY, "B", 13)
    pdf.set_text_color(*INK)
    pdf.set_x(MARGIN)
    pdf.cell(pdf.w - 2 * MARGIN, 8, text, new_x="LMARGIN", new_y="NEXT")
    pdf.set_draw_color(*RULE)
    pdf.set_line_width(0.3)
    pdf.line(MARGIN, pdf.get_y(), pdf.w - MARGIN, pdf.get_y())
    pdf.ln(2)


def _body(pdf, text: str) -> None:
    pdf.set_font(FAMILY, "", BODY_SIZE)
    pdf.set_text_color(*INK)
    pdf.set_x(MARGIN)
    pdf.multi_cell(pdf.w - 2 * MARGIN, 6.4, text or "（未填寫）", new_x="LMARGIN", new_y="NEXT")


def plan_pdf(doc: PlanDoc) -> bytes:
    title = f"{doc.unit_name} {roc_year(doc.year)} 年度志願服務計畫"
    pdf = cjk_pdf(title=title, author=doc.unit_name)
    pdf.set_margins(MARGIN, 18, MARGIN)
    pdf.set_auto_page_break(True, margin=20)
    pdf.c_margin = 1.5
    width = pdf.w - 2 * MARGIN
    _add_footer(pdf, doc, width)
    pdf.add_page()

    # Header: seal/logo at the left, the unit and the title centred
    logo_w = place_logo(pdf, doc.logo, MARGIN, 14, 26, 26)
    pad = logo_w + 3 if logo_w else 0
    pdf.set_xy(MARGIN + pad, 16)
    pdf.set_font(FAMILY, "B", 14)
    pdf.multi_cell(width - 2 * pad, 7, doc.unit_name, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_x(MARGIN + pad)
    pdf.set_font(FAMILY, "B", 19)
    pdf.cell(width - 2 * pad, 11, f"中華民國 {roc_year(doc.year)} 年度志願服務計畫", align="C",
             new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FAMILY, "", 10)
    pdf.set_text_color(*GREY)
    pdf.set_x(MARGIN + pad)
    pdf.cell(width - 2 * pad, 6, f"（{doc.year} 年）第 {doc.version} 版　狀態：{doc.status}",
             align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(*INK)
    pdf.set_y(max(pdf.get_y(), 14 + (26 if logo_w else 0)) + 4)

    # The unit's details and the filing record
    rows = unit_rows(doc)
    pdf.set_draw_color(*RULE)
    pdf.set_line_width(0.25)
    pdf.set_font(FAMILY, "", 10)
    with pdf.table(col_widths=(34, width - 34), width=width, line_height=6.2,
                   first_row_as_headings=False, text_align=("CENTER", "LEFT"),
                   borders_layout="ALL") as table:
        for label, value in rows:
            row = table.row()
            row.cell(label, style=FontFace(fill_color=LIGHT, color=GREY))
            row.cell(value)

    # The seven sections
    for heading, text in doc.sections:
        _heading(pdf, heading)
        _body(pdf, text)
    _heading(pdf, doc.items_heading)
    if doc.items:
        pdf.set_font(FAMILY, "", 10)
        with pdf.table(col_widths=(22, 48, width - 70), width=width, line_height=6.2,
                       text_align=("CENTER", "LEFT", "LEFT"),
                       headings_style=FontFace(emphasis="BOLD", fill_color=LIGHT)) as table:
            head = table.row()
            for text in ("代碼", "服務項目", "內容說明"):
                head.cell(text)
            for item in doc.items:
                row = table.row()
                row.cell(item.code)
                row.cell(item.name)
                row.cell(item.description or "—")
    else:
        _body(pdf, "")

    # Signature line, then page numbers on every page
    if pdf.get_y() + 20 > pdf.h - pdf.b_margin:  # only when the line does not fit below the plan
        pdf.add_page()
    pdf.ln(10)
    pdf.set_font(FAMILY, "", 11)
    pdf.set_x(MARGIN)
    pdf.cell(width / 2, 8, f"負責人：{doc.responsible_person or '　' * 6}（簽章）")
    pdf.cell(width / 2, 8, f"承辦人：{'　' * 6}（簽章）", new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(*INK)
    return bytes(pdf.output())


def _add_footer(pdf, doc: PlanDoc, width: float) -> None:
    """Unit, year, version and 第 n 頁，共 m 頁 at the foot of every page (fpdf2 calls footer()
    as each page closes; {nb} becomes the page count)."""
    text = f"{doc.unit_name}　{roc_year(doc.year)} 年度志願服務計畫　第 {doc.version} 版"
    if doc.printed_on:
        text += f"　列印日期 {roc_date(doc.printed_on)}"

    def footer():
        pdf.set_font(FAMILY, "", 8)
        pdf.set_text_color(*GREY)
        pdf.set_xy(MARGIN, pdf.h - 13)
        pdf.cell(width * 0.78, 5, text)
        pdf.set_xy(MARGIN + width * 0.78, pdf.h - 13)
        pdf.cell(width * 0.22, 5, f"第 {pdf.page_no()} 頁，共 {{nb}} 頁", align="R")
        pdf.set_text_color(*INK)

    pdf.footer = footer
