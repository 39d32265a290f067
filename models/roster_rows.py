"""A roster spreadsheet's rows (名冊): the file's layout, reading it, and checking each row.

One file, CSV or XLSX, with four kinds of rows (docs/roster-template.md):

- XLSX: one sheet per kind, named 志工 / 先前時數 / 訓練紀錄 / 保險 (or volunteers /
  prior_hours / training / insurance); or a single sheet with a 類型 (`type`) column.
- CSV: a 類型 (`type`) column on every row, the other kinds' columns left empty.

read_file() turns the file into rows, each with its kind; check_rows() checks every row
(RowChecker: one method per kind) and lists its problems (sheet, row number, column, message),
with the clean values of the rows that have none. Nothing here saves anything: the import
(models/roster_import.py) saves the clean values, or refuses. Duplicate ID numbers (within
the file and against the unit's volunteers) are problems. Messages are English msgids (UI
translates).
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import re
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from .base import taipei_date, utcnow
from .idnumbers import (
    ID_KINDS,
    NATIONAL_ID,
    PASSPORT,
    RESIDENT_CERT,
    gender_problem,
    id_problem,
    normalise,
)
from .contact import email_problem, half_width, phone_problem, typed_date
from .insurance import CoverKind, InsuranceCover, needs_record_book
from .people import Gender, Volunteer
from .recruitment import birth_date_problem
from .record_book import book_no_holders, book_no_key, book_no_refusal, clean_book_no
from .prior_service import PRIOR_NOT_YET_SERVED, PRIOR_OVERLAP, overlapping_prior_hours
from .training import (MAX_MINUTES, TrainingCourse, TrainingMode, TrainingRecord, over_course_hours,
                       record_minutes)
from .messages import N_

VOLUNTEERS, PRIOR, TRAINING, INSURANCE = "volunteers", "prior_hours", "training", "insurance"
KINDS = (VOLUNTEERS, PRIOR, TRAINING, INSURANCE)
KIND_NAMES = {  # sheet names / 類型 values, Chinese first
    VOLUNTEERS: ("志工", "volunteers", "volunteer"),
    PRIOR: ("先前時數", "prior_hours", "prior hours"),
    TRAINING: ("訓練紀錄", "training", "training_records"),
    INSURANCE: ("保險", "insurance", "insurance_covers"),
}
TYPE_HEADERS = ("類型", "type")

# The documented headers of each kind, in template order; (header, required).
COLUMNS = {
    VOLUNTEERS: [("志工編號", True), ("姓名", True), ("英文姓名", False), ("性別", True),
                 ("出生日期", True), ("證件類別", False), ("證件號碼", True), ("電話", False),
                 ("電子郵件", False), ("地址", False), ("緊急聯絡人", False), ("緊急聯絡電話", False),
                 ("加入日期", False), ("紀錄冊號碼", False), ("紀錄冊核發日期", False)],
    PRIOR: [("證件號碼", True), ("原運用單位", True), ("期間起", True), ("期間迄", True),
            ("時數", True), ("在臺北市服務", False), ("備註", False)],
    TRAINING: [("證件號碼", True), ("課程代碼", True), ("完成日期", True), ("時數", False),
               ("方式", False), ("辦理單位", False), ("證書字號", False)],
    INSURANCE: [("證件號碼", True), ("保險種類", True), ("保險公司", True), ("保單號碼", True),
                ("起日", True), ("迄日", True)],
}
GENDERS = {"女": Gender.female, "男": Gender.male, "其他": Gender.other,
           "female": Gender.female, "male": Gender.male, "other": Gender.other, "f": Gender.female,
           "m": Gender.male}
ID_KIND_VALUES = {"": NATIONAL_ID, "身分證": NATIONAL_ID, "國民身分證": NATIONAL_ID,
                  "居留證": RESIDENT_CERT, "統一證號": RESIDENT_CERT, "護照": PASSPORT,
                  **{k: k for k in ID_KINDS}}
MODES = {"": TrainingMode.in_person, "實體": TrainingMode.in_person, "線上": TrainingMode.online,
         "臺北E大": TrainingMode.online, "團體觀看": TrainingMode.group_viewing,
         **{m.value: m for m in TrainingMode}}
COVER_KINDS = {"團體": CoverKind.group, "團體意外險": CoverKind.group, "商業": CoverKind.commercial,
               "商業意外險": CoverKind.commercial, **{k.value: k for k in CoverKind}}
# 在臺北市服務 (served in Taipei): the Golden Diamond award counts only years served in Taipei;
# empty: not known yet (the record-book page asks later, as for hours added by hand)
IN_TAIPEI = {"": None, "是": True, "否": False, "yes": True, "no": False, "y": True, "n": False}
BIRTH_DATE_PROBLEMS = {"future": N_("The date cannot be in the future."),
                       "too_old": N_("Check the birth date.")}
MAX_ROWS = 5000
# The volunteer sheet's columns as the Volunteer's fields. One volunteer added by hand
# (roster_import.add_volunteer: a walk-in) is checked as one row of this sheet, so the form
# and an import can never disagree.
VOLUNTEER_FIELDS = {"志工編號": "volunteer_no", "姓名": "name_zh", "英文姓名": "name_en",
                    "性別": "gender", "出生日期": "birth_date", "證件類別": "id_kind",
                    "證件號碼": "id_number", "電話": "phone", "電子郵件": "email", "地址": "address",
                    "緊急聯絡人": "emergency_contact", "緊急聯絡電話": "emergency_phone",
                    "加入日期": "joined_on", "紀錄冊號碼": "record_book_no",
                    "紀錄冊核發日期": "record_book_issued_on"}


@dataclass
class Problem:
    sheet: str
    row: int  # the spreadsheet's row number (header is row 1)
    column: str
    message: str
    params: dict = field(default_factory=dict)

    def text(self) -> str:
        return self.message % self.params if self.params else self.message


@dataclass
class Row:
    kind: str
    sheet: str
    number: int
    values: dict[str, str]


# --- reading the file ------------------------------------------------------------------------

def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _kind_of(name: str) -> str | None:
    name = (name or "").strip().lower()
    for kind, names in KIND_NAMES.items():
        if name in (n.lower() for n in names):
            return kind
    return None


def _rows_of_table(table: list[list[str]], sheet: str, fixed_kind: str | None,
                   problems: list[Problem]) -> list[Row]:
    if not table:
        return []
    headers = [h.strip() for h in table[0]]
    type_col = next((i for i, h in enumerate(headers) if h in TYPE_HEADERS), None)
    if fixed_kind is None and type_col is None:
        problems.append(Problem(sheet, 1, "類型", N_("No 類型 (type) column and the sheet's "
                                                   "name is not one of the kinds.")))
        return []
    rows = []
    for number, line in enumerate(table[1:], start=2):
        if not any(cell.strip() for cell in line):
            continue
        values = {h: (line[i].strip() if i < len(line) else "") for i, h in enumerate(headers) if h}
        kind = fixed_kind
        if type_col is not None and values.get(headers[type_col]):
            kind = _kind_of(values[headers[type_col]])
            if kind is None:
                problems.append(Problem(sheet, number, headers[type_col],
                                        N_("Unknown type: use 志工, 先前時數, 訓練紀錄 or 保險.")))
                continue
        if kind is None:
            problems.append(Problem(sheet, number, "類型", N_("This is required.")))
            continue
        rows.append(Row(kind, sheet, number, values))
    return rows


NOT_A_ROSTER_FILE = N_("Upload a CSV or XLSX file (the template is an XLSX).")
XLSX_MAGIC = b"PK\x03\x04"  # an XLSX is a ZIP
_NOT_TEXT = re.compile(r"[\x00-\x08\x0b\x0e-\x19\x1b-\x1f\x7f]")  # tab, newlines, form feed
# and DOS's end-of-file mark (\x1a) can be in a text file; other control characters cannot


def _csv_text(data: bytes) -> str | None:
    """The file's text if it can be a CSV: UTF-8 (with or without BOM), else Big5/CP950 (Excel's
    "CSV" on a Traditional Chinese Windows), with no control characters that text never has.
    None for a PDF or an image (files.sniff_type), an old .xls or any other binary file."""
    from .files import sniff_type

    if sniff_type(data) is not None:
        return None
    for encoding in ("utf-8-sig", "cp950"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        return None if _NOT_TEXT.search(text) else text
    return None


def read_file(data: bytes, filename: str) -> tuple[list[Row], list[Problem]]:
    """The file's rows, each with its kind; problems of the file's shape. Its type comes from
    its content, never its name: an XLSX (a ZIP), or text read as CSV; anything else is
    refused with NOT_A_ROSTER_FILE."""
    problems: list[Problem] = []
    if data.startswith(XLSX_MAGIC):
        from openpyxl import load_workbook

        try:
            book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except Exception:  # noqa: BLE001 - any unreadable workbook
            return [], [Problem("", 0, "", N_("This file is not a readable XLSX or CSV file."))]
        rows: list[Row] = []
        for sheet in book.worksheets:
            table = [[_cell(v) for v in line] for line in sheet.iter_rows(values_only=True)]
            if sheet.title.startswith("說明") or sheet.title.lower() == "readme":
                continue
            rows += _rows_of_table(table, sheet.title, _kind_of(sheet.title), problems)
        book.close()
        return rows, problems
    text = _csv_text(data)
    if text is None:
        return [], [Problem("", 0, "", NOT_A_ROSTER_FILE)]
    table = list(csv.reader(io.StringIO(text)))
    return _rows_of_table(table, "CSV", None, problems), problems


# --- checking --------------------------------------------------------------------------------

def _hours_to_minutes(text: str) -> int | None:
    try:
        hours = float(text)
    except ValueError:
        return None
    minutes = round(hours * 60)
    return minutes if minutes > 0 and hours < 100000 else None


def _earlier_overlap(seen: list[tuple], key: tuple, first: dt.date, last: dt.date) -> int | None:
    """The row number of an earlier row of the file with the same key for overlapping days."""
    return next((line for other, start, end, line in seen
                 if other == key and start <= last and end >= first), None)


class RowChecker:
    def __init__(self, session: Session, unit_id: int, today: dt.date):
        self.session = session
        self.unit_id = unit_id
        self.today = today  # Asia/Taipei: no training completed after it
        self.problems: list[Problem] = []
        self.existing = {v.id_number: v for v in session.scalars(
            select(Volunteer).where(Volunteer.unit_id == unit_id)) if v.id_number}
        self.existing_nos = {v.volunteer_no for v in self.existing.values()}
        self.courses = {c.code: c for c in session.scalars(
            select(TrainingCourse).where(TrainingCourse.unit_id == unit_id))}
        self.new_ids: dict[str, int] = {}  # ID number -> row number of the file's volunteer row
        self.new_books: dict[str, str] = {}  # ID number -> the file's record-book number
        self.book_rows: dict[str, int] = {}  # book_no_key -> row number of the file
        self.book_holders = book_no_holders(session)  # of every unit (record_book's rule)
        self.trainings: dict[tuple, int] = {}  # (ID number, course id, date) -> row number
        self.covers: list[tuple] = []  # ((ID number, policy no), start, end, row number)
        self.priors: list[tuple] = []  # ((ID number, earlier unit), start, end, row number)
        self.new_nos: dict[str, int] = {}

    def bad(self, row: Row, column: str, message: str, **params) -> None:
        self.problems.append(Problem(row.sheet, row.number, column, message, params))

    def text(self, row: Row, column: str, required: bool, limit: int) -> str:
        value = row.values.get(column, "").strip()
        if required and not value:
            self.bad(row, column, N_("This is required."))
        elif len(value) > limit:
            self.bad(row, column, N_("Use at most %(max)d characters."), max=limit)
        return value

    def date(self, row: Row, column: str, required: bool) -> dt.date | None:
        value = row.values.get(column, "").strip()
        if not value:
            if required:
                self.bad(row, column, N_("This is required."))
            return None
        day = typed_date(value)  # 2026-03-05, 2026/3/5, ROC 115/3/5, full-width too
        if day is None:
            self.bad(row, column, N_("Enter a date like 2026-01-31 (or 115/01/31)."))
        return day

    def choice(self, row: Row, column: str, options: dict, required: bool = True):
        value = row.values.get(column, "").strip()
        if value.lower() in options:
            return options[value.lower()]
        if value in options:
            return options[value]
        if not value and not required:
            return options.get("")
        self.bad(row, column, N_("Use one of: %(options)s."),
                 options="、".join(k for k in options if k and not k.isascii()))
        return None

    def id_number(self, row: Row) -> str:
        value = normalise(row.values.get("證件號碼", ""))
        if not value:
            self.bad(row, "證件號碼", N_("This is required."))
        return value

    def person(self, row: Row) -> str | None:
        """The ID number of an existing volunteer or of one of the file's volunteer rows."""
        number = self.id_number(row)
        if number and number not in self.existing and number not in self.new_ids:
            self.bad(row, "證件號碼", N_("No volunteer with this ID number in the unit or in the "
                                     "file's volunteer rows."))
            return None
        return number or None

    def volunteer(self, row: Row) -> dict | None:
        start = len(self.problems)
        values = {
            "volunteer_no": self.text(row, "志工編號", True, 12),
            "name_zh": self.text(row, "姓名", True, 60),
            "name_en": self.text(row, "英文姓名", False, 120),
            "gender": self.choice(row, "性別", GENDERS),
            "birth_date": self.date(row, "出生日期", True),
            "id_kind": self.choice(row, "證件類別", ID_KIND_VALUES, required=False),
            "phone": self.text(row, "電話", False, 40),
            "email": self.text(row, "電子郵件", False, 254),
            "address": self.text(row, "地址", False, 300),
            "emergency_contact": self.text(row, "緊急聯絡人", False, 120),
            "emergency_phone": self.text(row, "緊急聯絡電話", False, 40),
            "joined_on": self.date(row, "加入日期", False),
            "record_book_no": self.text(row, "紀錄冊號碼", False, 40),
            "record_book_issued_on": self.date(row, "紀錄冊核發日期", False),
        }
        number = self.id_number(row)
        if number and values["id_kind"]:
            problem = id_problem(values["id_kind"], number)
            if problem:
                self.bad(row, "證件號碼", problem)
            elif number in self.new_ids:
                self.bad(row, "證件號碼", N_("Same ID number as row %(line)d of this file."),
                         line=self.new_ids[number])
            elif number in self.existing:
                self.bad(row, "證件號碼", N_("Already a volunteer of the unit: %(name)s (%(no)s)."),
                         name=self.existing[number].name_zh,
                         no=self.existing[number].volunteer_no)
            else:
                self.new_ids[number] = row.number
            if sex := gender_problem(values["id_kind"], number, values["gender"]):
                self.bad(row, "性別", sex)
        no = values["volunteer_no"]
        if no:
            if no in self.existing_nos:
                self.bad(row, "志工編號", N_("This volunteer number is already in use."))
            elif no in self.new_nos:
                self.bad(row, "志工編號", N_("Same volunteer number as row %(line)d of this file."),
                         line=self.new_nos[no])
            else:
                self.new_nos[no] = row.number
        birth = values["birth_date"]
        problem = birth and birth_date_problem(birth, self.today)
        if problem:
            self.bad(row, "出生日期", BIRTH_DATE_PROBLEMS[problem])
        # the application form's rules (models.contact); empty is fine in a roster
        for name in ("phone", "emergency_phone"):
            values[name] = half_width(values[name])  # as phone_problem reads it
        for column, name, problem in (("電話", "phone", phone_problem),
                                      ("電子郵件", "email", email_problem),
                                      ("緊急聯絡電話", "emergency_phone", phone_problem)):
            if values[name] and problem(values[name]):
                self.bad(row, column, problem(values[name]))
        if values["record_book_no"] and not values["record_book_issued_on"]:
            self.bad(row, "紀錄冊核發日期", N_("Enter the issue date with the book number."))
        elif values["record_book_issued_on"] and values["record_book_issued_on"] > self.today:
            # as the record-book page refuses it (record_book.update_book)
            self.bad(row, "紀錄冊核發日期", N_("The issue date cannot be in the future."))
        if values["record_book_no"]:
            values["record_book_no"] = self.book_no(row, values["record_book_no"], number)
        values["id_number"] = number
        if number:
            self.new_books[number] = values["record_book_no"]
        return values if len(self.problems) == start else None

    def book_no(self, row: Row, book_no: str, number: str) -> str:
        """The row's record-book number as kept (record_book.clean_book_no), checked by the
        book's own rule (record_book.book_no_refusal) and against the file's earlier rows."""
        book_no = clean_book_no(book_no)
        key = book_no_key(book_no)
        if key in self.book_rows:
            self.bad(row, "紀錄冊號碼", N_("Same record book number as row %(line)d of this file."),
                     line=self.book_rows[key])
            return book_no
        self.book_rows[key] = row.number
        refusal = book_no_refusal(self.book_holders, unit_id=self.unit_id, book_no=book_no,
                                  id_number=number)
        if refusal is not None:
            self.bad(row, "紀錄冊號碼", refusal.message, **refusal.params)
        return book_no

    def prior(self, row: Row) -> dict | None:
        start = len(self.problems)
        number = self.person(row)
        values = {"id_number": number,
                  "source_unit": self.text(row, "原運用單位", True, 200),
                  "period_start": self.date(row, "期間起", True),
                  "period_end": self.date(row, "期間迄", True),
                  "in_taipei": self.choice(row, "在臺北市服務", IN_TAIPEI, required=False),
                  "note": self.text(row, "備註", False, 300)}
        hours = row.values.get("時數", "").strip()
        values["minutes"] = _hours_to_minutes(hours) if hours else None
        if values["minutes"] is None:
            self.bad(row, "時數", N_("Enter the hours as a number above 0."))
        if values["period_start"] and values["period_end"] \
                and values["period_end"] < values["period_start"]:
            self.bad(row, "期間迄", N_("The last day cannot be before the first day."))
        elif values["period_end"] and values["period_end"] > self.today:
            self.bad(row, "期間迄", PRIOR_NOT_YET_SERVED)
        elif number and values["source_unit"] and values["period_start"] \
                and values["period_end"]:
            self._prior_duplicates(row, values)
        return values if len(self.problems) == start else None

    def _prior_duplicates(self, row: Row, values: dict) -> None:
        """The same earlier unit for overlapping days: earlier in the file, or already recorded
        (its hours would count twice toward awards)."""
        number, unit = values["id_number"], values["source_unit"]
        first, last = values["period_start"], values["period_end"]
        line = _earlier_overlap(self.priors, (number, unit), first, last)
        if line:
            self.bad(row, "期間起", N_("Same earlier unit for overlapping days as row "
                                    "%(line)d of this file."), line=line)
            return
        existing = self.existing.get(number)
        same = existing is not None and overlapping_prior_hours(self.session, existing.id, unit,
                                                                first, last)
        if same:
            self.bad(row, "期間起", PRIOR_OVERLAP, unit=unit, first=same.period_start.isoformat(),
                     last=same.period_end.isoformat())
            return
        self.priors.append(((number, unit), first, last, row.number))

    def training(self, row: Row) -> dict | None:
        start = len(self.problems)
        number = self.person(row)
        code = self.text(row, "課程代碼", True, 30)
        course = self.courses.get(code)
        if code and course is None:
            self.bad(row, "課程代碼", N_("No course with this code: add it to the catalogue first."))
        values = {"id_number": number, "course": course,
                  "completed_on": self.date(row, "完成日期", True),
                  "mode": self.choice(row, "方式", MODES, required=False),
                  "provider": self.text(row, "辦理單位", False, 120),
                  "certificate_no": self.text(row, "證書字號", False, 60)}
        if values["completed_on"] and values["completed_on"] > self.today:
            self.bad(row, "完成日期", N_("The date cannot be in the future."))
        hours = row.values.get("時數", "").strip()
        if hours:
            values["minutes"] = _hours_to_minutes(hours)
            if values["minutes"] is None:
                self.bad(row, "時數", N_("Enter the hours as a number above 0."))
            elif values["minutes"] > MAX_MINUTES:
                self.bad(row, "時數", N_("At most %(hours)d hours for one course."),
                         hours=MAX_MINUTES // 60)
            elif course is not None and over_course_hours(course, values["minutes"]):
                self.bad(row, "時數", N_("At most the course's %(hours)s h; empty is the "
                                       "course's hours. If the certificate says more, change the "
                                       "course's hours in the catalogue first."),
                         hours=f"{course.minutes / 60:g}")
        else:
            values["minutes"] = record_minutes(course, None)
        if number and course and values["completed_on"]:
            key = (number, course.id, values["completed_on"])
            existing = self.existing.get(number)
            if key in self.trainings:
                self.bad(row, "課程代碼", N_("Same training record as row %(line)d of this file."),
                         line=self.trainings[key])
            elif existing is not None and self.session.scalar(select(TrainingRecord.id).where(
                    TrainingRecord.volunteer_id == existing.id,
                    TrainingRecord.course_id == course.id,
                    TrainingRecord.completed_on == values["completed_on"])) is not None:
                self.bad(row, "課程代碼", N_("This training record is already there."))
            else:
                self.trainings[key] = row.number
        return values if len(self.problems) == start else None

    def insurance(self, row: Row) -> dict | None:
        start = len(self.problems)
        values = {"id_number": self.person(row),
                  "kind": self.choice(row, "保險種類", COVER_KINDS),
                  "insurer": self.text(row, "保險公司", True, 120),
                  "policy_no": self.text(row, "保單號碼", True, 60),
                  "starts_on": self.date(row, "起日", True),
                  "ends_on": self.date(row, "迄日", True)}
        number = values["id_number"]
        if number and values["kind"] is not None:
            existing = self.existing.get(number)
            book = existing.record_book_no if existing is not None else self.new_books.get(number)
            if needs_record_book(values["kind"], book):
                self.bad(row, "保險種類", N_("Group accident insurance covers record-book holders "
                                         "only, and this volunteer has no record book yet: "
                                         "record commercial cover."))
        if values["starts_on"] and values["ends_on"] and values["ends_on"] < values["starts_on"]:
            self.bad(row, "迄日", N_("The last day cannot be before the first day."))
        elif values["id_number"] and values["policy_no"] and values["starts_on"] \
                and values["ends_on"]:
            self._cover_duplicates(row, values)
        return values if len(self.problems) == start else None

    def _cover_duplicates(self, row: Row, values: dict) -> None:
        """The same policy for overlapping days: earlier in the file, or already recorded."""
        number, policy = values["id_number"], values["policy_no"]
        first, last = values["starts_on"], values["ends_on"]
        line = _earlier_overlap(self.covers, (number, policy), first, last)
        if line:
            self.bad(row, "保單號碼", N_("Same policy for overlapping days as row %(line)d "
                                     "of this file."), line=line)
            return
        existing = self.existing.get(number)
        if existing is not None and self.session.scalar(select(InsuranceCover.id).where(
                InsuranceCover.volunteer_id == existing.id, InsuranceCover.policy_no == policy,
                InsuranceCover.starts_on <= last, InsuranceCover.ends_on >= first)) is not None:
            self.bad(row, "保單號碼", N_("This volunteer already has this policy number for "
                                     "overlapping days."))
            return
        self.covers.append(((number, policy), first, last, row.number))


def check_rows(session: Session, unit_id: int, rows: list[Row], problems: list[Problem],
               now: dt.datetime | None = None) -> tuple[RowChecker, dict[str, list[dict]]]:
    """Every row checked (volunteers first), with the file's own `problems`: the checker (its
    `problems`; its `existing`: the unit's volunteers by ID number) and the clean values of
    each kind's rows without a problem."""
    checker = RowChecker(session, unit_id, taipei_date(now or utcnow()))
    checker.problems = list(problems)
    if not rows and not problems:
        checker.problems.append(Problem("", 0, "", N_("The file has no rows to import.")))
    if len(rows) > MAX_ROWS:
        checker.problems.append(Problem("", 0, "", N_("At most %(max)d rows in one file."),
                                        {"max": MAX_ROWS}))
        return checker, {}
    clean: dict[str, list[dict]] = {kind: [] for kind in KINDS}
    # Volunteers first, so the other kinds can refer to the file's new volunteers.
    for kind in KINDS:
        for row in rows:
            if row.kind != kind:
                continue
            values = getattr(checker, {VOLUNTEERS: "volunteer", PRIOR: "prior",
                                       TRAINING: "training", INSURANCE: "insurance"}[kind])(row)
            if values is not None:
                clean[kind].append(values)
    checker.problems.sort(key=lambda p: (p.sheet, p.row))
    return checker, clean

