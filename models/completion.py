"""Training completion certificates (結業證明書): the unit's template text, and issuing one
with a gap-free number from the volunteer's records of the unit's own courses."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.orm import Session

from . import audit
from .base import begin_write
from .hours import hours_text
from .people import Volunteer
from .training import InvalidTraining, TrainingRecord, records_of

# The template text is one short text per unit, kept as a JSON file in a folder the caller
# passes (the app uses <instance>/completion_templates/<unit id>.json). Why a file and not a
# table: it is a single, rarely edited text with no queries over it, and a file needs no schema
# migration while other work adds migrations to the same chain; every change is still audited
# (before/after) in the database. A unit without a file gets DEFAULT_COMPLETION_TEXT.

COMPLETION_KIND = "completion"
TEMPLATE_MAX = 1000
DEFAULT_COMPLETION_TEXT = (
    "茲證明 $name 君（志工編號 $volunteer_no）參加本單位辦理之志願服務特殊訓練課程，"
    "計 $hours 小時，業已結業，特發此證。"
)
TEMPLATE_FIELDS = ("name", "volunteer_no", "hours", "unit", "first_day", "last_day")


def _template_path(folder, unit_id: int):
    from pathlib import Path

    return Path(folder) / f"{int(unit_id)}.json"


def completion_template(folder, unit_id: int) -> str:
    import json

    path = _template_path(folder, unit_id)
    try:
        return json.loads(path.read_text(encoding="utf-8"))["text"]
    except (FileNotFoundError, ValueError, KeyError, TypeError):
        return DEFAULT_COMPLETION_TEXT


def save_completion_template(session: Session, folder, unit_id: int, text: str, actor=None) -> str:
    """Validate and keep the unit's template text (placeholders: $name, $volunteer_no, $hours,
    $unit, $first_day, $last_day). Raises InvalidTraining({"text": code})."""
    import json
    import os
    from string import Template

    begin_write(session)
    text = (text or "").strip().replace("\r\n", "\n")
    if not text:
        raise InvalidTraining({"text": "required"})
    if len(text) > TEMPLATE_MAX:
        raise InvalidTraining({"text": "too_long"})
    try:
        names = {m.group("named") or m.group("braced")
                 for m in Template.pattern.finditer(text) if not m.group("escaped")}
        if any(m.group("invalid") is not None for m in Template.pattern.finditer(text)):
            raise ValueError
    except ValueError:
        raise InvalidTraining({"text": "bad_placeholder"}) from None
    if names - set(TEMPLATE_FIELDS) - {None}:
        raise InvalidTraining({"text": "bad_placeholder"})
    before = completion_template(folder, unit_id)
    path = _template_path(folder, unit_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"text": text}, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, path)
    audit.record(session, action="completion_template_updated", entity="unit", entity_id=unit_id,
                 actor=actor, unit_id=unit_id, before={"text": before}, after={"text": text})
    return text


def unit_course_records(session: Session, volunteer: Volunteer) -> list[TrainingRecord]:
    """The volunteer's records of courses the unit itself ran: its own course (the unit
    briefing) or any course given at one of its training events."""
    return [r for r in records_of(session, volunteer.id)
            if r.course.run_by_unit or r.event_id is not None]


@dataclass
class CompletionCertificate:
    serial: str
    unit_name: str
    volunteer_name: str
    volunteer_no: str
    lines: list[tuple[str, dt.date, int]]  # course name, day, minutes
    total_minutes: int
    text: str
    issued_on: dt.date


def format_completion_serial(unit_id: int, year: int, seq: int) -> str:
    return f"C{unit_id:03d}-{year}-{seq:05d}"


def issue_completion(session: Session, volunteer: Volunteer, *, template_text: str, actor,
                     now: dt.datetime) -> CompletionCertificate:
    """Number and describe a completion certificate for the unit's own courses the volunteer
    attended. The number comes from next_serial(kind="completion") in this write transaction
    (gap-free per unit and year); the issue is audited with everything printed. Raises
    InvalidTraining({"volunteer": "nothing_to_certify"})."""
    from string import Template

    from .base import taipei_date
    from .slips import next_serial
    from .unit import Unit

    begin_write(session)
    records = unit_course_records(session, volunteer)
    if not records:
        raise InvalidTraining({"volunteer": "nothing_to_certify"})
    today = taipei_date(now)
    seq = next_serial(session, volunteer.unit_id, COMPLETION_KIND, today.year)
    serial = format_completion_serial(volunteer.unit_id, today.year, seq)
    unit = session.get(Unit, volunteer.unit_id)
    total = sum(r.minutes for r in records)
    text = Template(template_text).safe_substitute(
        name=volunteer.name_zh, volunteer_no=volunteer.volunteer_no, hours=hours_text(total),
        unit=unit.name, first_day=min(r.completed_on for r in records).isoformat(),
        last_day=max(r.completed_on for r in records).isoformat())
    cert = CompletionCertificate(
        serial=serial, unit_name=unit.name, volunteer_name=volunteer.name_zh,
        volunteer_no=volunteer.volunteer_no,
        lines=[(r.course.name, r.completed_on, r.minutes) for r in records],
        total_minutes=total, text=text, issued_on=today)
    audit.record(session, action="completion_certificate_issued", entity="volunteer",
                 entity_id=volunteer.id, actor=actor, unit_id=volunteer.unit_id, now=now,
                 after={"serial": serial, "record_ids": [r.id for r in records],
                        "total_minutes": total, "text": text})
    return cert
