"""Import of an existing roster (名冊匯入): a unit starts from its spreadsheets.

The file's layout, reading it and checking its rows are models/roster_rows.py; this module
saves them. check() is the dry run: every row's problems (sheet, row number, column, message),
and nothing saved; run() saves everything in the caller's transaction, or raises ImportRefused
with the problems and saves nothing (all-or-nothing). add_volunteer() adds one volunteer by
hand (a walk-in), checked as one row of the volunteer sheet. template_xlsx() is the template
the admin downloads.
"""
from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass

from sqlalchemy.orm import Session

from . import audit
from .base import begin_write, one_writer_per, taipei_date, utcnow
from .insurance import InsuranceCover
from .people import Volunteer
from .record_book import lock_book_nos
from .prior_service import PriorHours
from .roster_rows import (COLUMNS, INSURANCE, KIND_NAMES, KINDS, PRIOR, TRAINING, VOLUNTEER_FIELDS,
                          VOLUNTEERS, Problem, Row, RowChecker, check_rows, read_file)
from .training import CATALOGUE, TrainingKind, TrainingRecord

FORM_SHEET = "form"  # the Problem.sheet of add_volunteer's problems


@dataclass
class Result:
    problems: list[Problem]
    counts: dict[str, int]


class ImportRefused(ValueError):
    def __init__(self, problems: list[Problem]):
        super().__init__(f"{len(problems)} problem(s)")
        self.problems = problems


def check(session: Session, unit_id: int, data: bytes, filename: str,
          now: dt.datetime | None = None) -> Result:
    """The dry run: every row's problems, and how many rows of each kind would be saved."""
    rows, problems = read_file(data, filename)
    checker, clean = check_rows(session, unit_id, rows, problems, now)
    return Result(checker.problems, {kind: len(v) for kind, v in clean.items()})


def run(session: Session, actor, data: bytes, filename: str, now: dt.datetime | None = None
        ) -> Result:
    """Save every row in the caller's transaction, or none (ImportRefused with the problems)."""
    begin_write(session)
    rows, problems = read_file(data, filename)
    # two imports (or an import and the book's form) giving one number at once: one at a time
    lock_book_nos(session, [r.values.get("紀錄冊號碼", "") for r in rows if r.kind == VOLUNTEERS])
    checker, clean = check_rows(session, actor.unit_id, rows, problems, now)
    if checker.problems:
        raise ImportRefused(checker.problems)
    people = dict(checker.existing)
    for values in clean[VOLUNTEERS]:
        v = _new_volunteer(session, actor, values, now)
        people[v.id_number] = v
    for values in clean[PRIOR]:
        v = people[values.pop("id_number")]
        row = PriorHours(volunteer_id=v.id, created_by_id=actor.id, **values)
        session.add(row)
        session.flush()
        audit.record(session, action="prior_hours_add", entity="prior_hours", entity_id=row.id,
                     actor=actor, now=now, after={"volunteer_id": v.id, "minutes": row.minutes,
                                                  "source_unit": row.source_unit,
                                                  "in_taipei": row.in_taipei, "via": "import"})
    for values in clean[TRAINING]:
        v = people[values.pop("id_number")]
        course = values.pop("course")
        record = TrainingRecord(volunteer_id=v.id, course_id=course.id, **values)
        session.add(record)
        session.flush()
        audit.record(session, action="training_record_import", entity="training_record",
                     entity_id=record.id, actor=actor, now=now,
                     after={"volunteer_id": v.id, "course": course.code,
                            "completed_on": record.completed_on.isoformat()})
    for values in clean[INSURANCE]:
        v = people[values.pop("id_number")]
        cover = InsuranceCover(volunteer_id=v.id, **values)
        session.add(cover)
        session.flush()
        audit.record(session, action="insurance_cover_add", entity="insurance_cover",
                     entity_id=cover.id, actor=actor, now=now,
                     after={"volunteer_id": v.id, "policy_no": cover.policy_no, "via": "import"})
    counts = {kind: len(v) for kind, v in clean.items()}
    audit.record(session, action="roster_import", entity="unit", entity_id=actor.unit_id,
                 actor=actor, now=now, after={"file": filename, **counts})
    session.flush()
    return Result([], counts)


def _new_volunteer(session: Session, actor, values: dict, now: dt.datetime | None,
                   action: str = "volunteer_import") -> Volunteer:
    """A checked volunteer row saved (audited): by run() and add_volunteer()."""
    v = Volunteer(unit_id=actor.unit_id, **values)
    session.add(v)
    session.flush()
    audit.record(session, action=action, entity="volunteer", entity_id=v.id, actor=actor,
                 now=now, after={"volunteer_no": v.volunteer_no, "name_zh": v.name_zh})
    return v


def add_volunteer(session: Session, actor, values: dict[str, str],
                  now: dt.datetime | None = None) -> Volunteer:
    """One volunteer added by hand (a walk-in): `values` are the volunteer sheet's fields by
    their Volunteer names (VOLUNTEER_FIELDS), as typed, without the volunteer number; the
    volunteer gets the unit's next number (as an accepted applicant does). Checked exactly as a
    roster's volunteer row is; refused with ImportRefused (problems whose `column` is the
    sheet's header) and nothing saved. No sign-in account, as for an imported volunteer: the
    volunteer's status page makes one."""
    from .recruitment import next_volunteer_no
    from .unit import Unit

    begin_write(session)
    one_writer_per(session, Unit, actor.unit_id)  # two adds at once: not the same number
    row = {column: str(values.get(name) or "") for column, name in VOLUNTEER_FIELDS.items()}
    row["志工編號"] = next_volunteer_no(session, actor.unit_id)
    lock_book_nos(session, [row["紀錄冊號碼"]])
    checker = RowChecker(session, actor.unit_id, taipei_date(now or utcnow()))
    clean = checker.volunteer(Row(VOLUNTEERS, FORM_SHEET, 1, row))
    if checker.problems or clean is None:
        raise ImportRefused(checker.problems)
    return _new_volunteer(session, actor, clean, now, action="volunteer_add")


# --- the template ----------------------------------------------------------------------------

# The example rows: the template passes the dry run as it is downloaded, on a unit with the
# standard catalogue and no volunteer of this ID number yet (its training rows are the current
# basic set of training.CATALOGUE, which seed_catalogue gives every unit).
EXAMPLES = {
    VOLUNTEERS: [["V001", "王小明", "Wang Hsiao-ming", "男", "1980-05-17", "身分證", "A123456789",
                  "0912345678", "ming@example.tw", "臺北市中正區", "王大明", "0922333444",
                  "2024-01-15", "", ""]],
    PRIOR: [["A123456789", "臺北市某某協會", "2020-01-01", "2023-12-31", "120.5", "是", "紀錄冊影本"]],
    TRAINING: [["A123456789", spec.code, "2024-02-01", "", "線上", "臺北E大", ""]
               for spec in CATALOGUE if spec.kind == TrainingKind.basic and not spec.legacy],
    INSURANCE: [["A123456789", "商業", "富邦產險", "AC-2026-001", "2026-01-01", "2026-12-31"]],
}


def template_xlsx() -> bytes:
    """The import template: one sheet per kind with the headers and example rows."""
    from openpyxl import Workbook

    book = Workbook()
    book.remove(book.active)
    for kind in KINDS:
        sheet = book.create_sheet(KIND_NAMES[kind][0])
        sheet.append([h for h, _ in COLUMNS[kind]])
        for example in EXAMPLES[kind]:
            sheet.append(example)
        for line in sheet.iter_rows(min_row=2):
            for cell in line:
                cell.data_type = "s"
        for i, (header, _) in enumerate(COLUMNS[kind]):
            sheet.column_dimensions[chr(ord("A") + i)].width = max(10, len(header) * 2 + 4)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
