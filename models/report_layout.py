"""The layout of the results report (成果報表): which rows, in which order, with which labels,
and how each value is taken from the computed figures — data, in one place, so the report can
follow the city's template when it changes (rules.md "Reports": "make the report layout data").

Change a row here and in tests/golden/results_report.csv together (the golden-file test tells
you when they differ; HOURBOOK_UPDATE_GOLDEN=1 rewrites it — read the diff before committing).

Every row gives: `key` (stable: snapshots of filed reports are matched on it), the Chinese and
English labels, the unit of its value, and `value(f)` taking the `models.report_figures.Figures` of
the period. A row with `each(f)` instead expands into one line per thing (service item, site,
award): `each` returns (sub-key, zh, en, value) tuples and the line's key is "key:sub-key".
Hours are computed and stored as whole minutes; files show them as hours with two decimals.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable
from dataclasses import dataclass

from .export import neutralise
from .hours import hours_value

# Age bands on the period's last day (rules.md "Reports"): (key, lowest age, highest age or
# None, zh, en). Ages are whole years reached by that day (a birthday on that day counts).
AGE_BANDS: tuple[tuple[str, int, int | None, str, str], ...] = (
    ("under_12", 0, 11, "未滿 12 歲", "under 12"),
    ("12_17", 12, 17, "12–17 歲", "12–17"),
    ("18_29", 18, 29, "18–29 歲", "18–29"),
    ("30_49", 30, 49, "30–49 歲", "30–49"),
    ("50_54", 50, 54, "50–54 歲", "50–54"),
    ("55_64", 55, 64, "55–64 歲", "55–64"),
    ("65_plus", 65, None, "65 歲以上", "65 and over"),
)

# The unit a value is counted in: (zh, en) as the files print it.
UNITS = {
    "people": ("人", "people"),
    "sessions": ("次", "sessions"),
    "minutes": ("小時", "hours"),
    "persons": ("人次", "persons"),
    "grants": ("件", "grants"),
}


# English for one: "1 person", "1 hour" (a page reads the value and its unit as a phrase).
UNIT_ONE_EN = {"people": "person", "sessions": "session", "minutes": "hour",
               "persons": "person", "grants": "grant"}


def unit_text(unit: str, value: int, english: bool) -> str:
    """The unit after a value on a page: 人 / 小時 in Chinese; "person" or "people" in English."""
    zh, en = UNITS[unit]
    if not english:
        return zh
    one = value == 60 if unit == "minutes" else abs(value) == 1
    return UNIT_ONE_EN[unit] if one else en


@dataclass(frozen=True)
class Row:
    key: str
    zh: str
    en: str
    unit: str
    value: Callable | None = None  # f -> int
    each: Callable | None = None  # f -> [(sub_key, zh, en, int)]


@dataclass(frozen=True)
class Section:
    zh: str
    en: str
    rows: tuple[Row, ...]


def _age_rows() -> tuple[Row, ...]:
    return tuple(Row(f"volunteers.age.{key}", f"年齡 {zh}", f"Aged {en}", "people",
                     value=lambda f, key=key: f.by_age.get(key, 0))
                 for key, _lo, _hi, zh, en in AGE_BANDS)


SECTIONS: tuple[Section, ...] = (
    Section("志工人數", "Volunteers", (
        Row("volunteers.total", "期末志工人數", "Volunteers at the period's end", "people",
            value=lambda f: f.volunteers),
        Row("volunteers.female", "女性", "Women", "people",
            value=lambda f: f.by_gender.get("female", 0)),
        Row("volunteers.male", "男性", "Men", "people",
            value=lambda f: f.by_gender.get("male", 0)),
        Row("volunteers.other", "其他性別", "Other gender", "people",
            value=lambda f: f.by_gender.get("other", 0)),
        *_age_rows(),
        Row("volunteers.new", "本期新進志工", "New volunteers in the period", "people",
            value=lambda f: f.new),
        Row("volunteers.left", "本期退出志工", "Volunteers who left in the period", "people",
            value=lambda f: f.left),
    )),
    Section("紀錄冊、保險與訓練", "Record books, insurance and training", (
        Row("record_book.holders", "持有志願服務紀錄冊", "Record-book holders", "people",
            value=lambda f: f.record_book),
        Row("insured.group", "投保志工意外團體保險", "Insured: group accident insurance", "people",
            value=lambda f: f.insured_group),
        Row("insured.commercial", "投保商業意外保險", "Insured: commercial accident insurance",
            "people", value=lambda f: f.insured_commercial),
        Row("insured.none", "期末未投保", "Not insured on the period's last day", "people",
            value=lambda f: f.volunteers - f.insured_any),
        Row("training.basic.period", "本期完成基礎訓練", "Completed basic training in the period",
            "people", value=lambda f: f.basic_in_period),
        Row("training.basic.total", "期末已完成基礎訓練", "Basic training completed (at the end)",
            "people", value=lambda f: f.basic_total),
        Row("training.special.period", "本期完成特殊訓練",
            "Completed special training in the period", "people",
            value=lambda f: f.special_in_period),
        Row("training.special.total", "期末已完成特殊訓練",
            "Special training completed (at the end)", "people",
            value=lambda f: f.special_total),
    )),
    Section("服務成果", "Service", (
        Row("service.volunteers", "本期有服務紀錄之志工", "Volunteers who served", "people",
            value=lambda f: f.volunteers_served),
        Row("service.sessions", "服務次數（已審核）", "Service sessions (verified)", "sessions",
            value=lambda f: f.sessions),
        Row("service.hours", "服務總時數（已審核）", "Service hours (verified)", "minutes",
            value=lambda f: f.minutes),
        Row("service.persons_served", "受服務人次", "Persons served", "persons",
            value=lambda f: f.persons_served),
        Row("hours.item", "服務時數：", "Hours: ", "minutes",
            each=lambda f: [(code, zh, en, minutes) for code, zh, en, minutes in f.by_item]),
        Row("hours.site", "服務地點時數：", "Hours at: ", "minutes",
            each=lambda f: [(sub, zh, en, minutes) for sub, zh, en, minutes in f.by_site]),
    )),
    Section("獎勵", "Awards", (
        Row("awards", "獲頒：", "Received: ", "grants",
            each=lambda f: [(key, zh, en, n) for key, zh, en, n in f.awards]),
        Row("awards.total", "本期獲獎總件數", "Awards received in the period", "grants",
            value=lambda f: sum(n for *_rest, n in f.awards)),
    )),
)


@dataclass(frozen=True)
class Line:
    """One line of a report as filed: what a snapshot stores (JSON) and the files show."""

    key: str
    zh: str
    en: str
    unit: str
    value: int
    section: str = ""

    def as_dict(self) -> dict:
        return {"key": self.key, "zh": self.zh, "en": self.en, "unit": self.unit,
                "value": self.value, "section": self.section}

    @classmethod
    def from_dict(cls, data: dict) -> "Line":
        return cls(key=data["key"], zh=data["zh"], en=data["en"], unit=data["unit"],
                   value=int(data["value"]), section=data.get("section", ""))


def lines(figures) -> list[Line]:
    """The report's lines for these figures, in layout order."""
    out: list[Line] = []
    for section in SECTIONS:
        for row in section.rows:
            if row.each is not None:
                for sub, zh, en, value in row.each(figures):
                    out.append(Line(f"{row.key}:{sub}", row.zh + zh, row.en + (en or zh),
                                    row.unit, int(value), section.zh))
            else:
                out.append(Line(row.key, row.zh, row.en, row.unit, int(row.value(figures)),
                                section.zh))
    return out


def section_name(zh: str, english: bool) -> str:
    """A section's heading in the reader's language (lines keep the Chinese one, as filed)."""
    if english:
        return next((s.en for s in SECTIONS if s.zh == zh), zh)
    return zh


# --- files ---------------------------------------------------------------------------------

def format_value(unit: str, value: int) -> str:
    """A value as text: minutes as hours with up to two decimals, anything else as it is."""
    if unit == "minutes":
        return _csv_cell(hours_value(value))
    return str(value)


def display(line: Line) -> str:
    return format_value(line.unit, line.value)


TABLE_HEADER = ["代碼 Key", "項目", "Item", "數值 Value", "單位 Unit"]


@dataclass(frozen=True)
class Heading:
    """The block above the table: who, which period, as of when, and whether it is filed."""

    unit_name: str
    period: str  # 2026H1
    period_zh: str
    period_en: str
    first_day: dt.date
    last_day: dt.date
    status_zh: str
    status_en: str


def table(heading: Heading, report_lines: list[Line]) -> list[list[str | int | float]]:
    """Everything the files hold, row by row: heading block, an empty row, the table."""
    rows: list[list] = [
        ["志願服務成果報表", "Volunteer service results report"],
        ["運用單位 Unit", heading.unit_name],
        ["期間 Period", heading.period, heading.period_zh, heading.period_en],
        ["起訖 Dates", heading.first_day.isoformat(), heading.last_day.isoformat()],
        ["狀態 Status", heading.status_zh, heading.status_en],
        [],
        TABLE_HEADER,
    ]
    for line in report_lines:
        value = hours_value(line.value) if line.unit == "minutes" else line.value
        zh_unit, en_unit = UNITS[line.unit]
        rows.append([line.key, line.zh, line.en, value, f"{zh_unit} {en_unit}"])
    return rows


def to_csv(heading: Heading, report_lines: list[Line]) -> bytes:
    """UTF-8 with BOM (Excel), CRLF; text cells a spreadsheet would run are neutralised."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    for row in table(heading, report_lines):
        writer.writerow([_csv_cell(v) for v in row])
    return buffer.getvalue().encode("utf-8-sig")


def _csv_cell(value) -> str:
    if isinstance(value, float):
        return f"{value:.2f}".rstrip("0").rstrip(".") or "0"
    if isinstance(value, int):
        return str(value)
    return neutralise(value)


def to_xlsx(heading: Heading, report_lines: list[Line]) -> bytes:
    """Numbers as numbers (hours with two decimals), every text as an explicit text cell."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    sheet.title = f"成果報表 {heading.period}"
    for r, row in enumerate(table(heading, report_lines), start=1):
        for c, value in enumerate(row, start=1):
            if value == "":
                continue
            cell = sheet.cell(row=r, column=c)
            if isinstance(value, (int, float)):
                cell.value = value
                if isinstance(value, float):
                    cell.number_format = "0.00"
            else:
                cell.value = str(value)
                cell.data_type = "s"  # text, even when it looks like a formula
    sheet["A1"].font = Font(bold=True, size=14)
    for c, width in zip("ABCDE", (28, 34, 40, 12, 14)):
        sheet.column_dimensions[c].width = width
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
