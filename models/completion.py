"""Training completion certificates (結業證明書): the unit's template text, and issuing one
with a gap-free number from the volunteer's records of the unit's own courses.

The template text is a column of the unit's profile (`unit_profile.completion_template`; NULL:
DEFAULT_COMPLETION_TEXT), so every app server sees it and a backup keeps it. Every issued
certificate is a `CompletionCertificate` row holding everything printed, so issuing again
the same Taipei day with the same records and the same printed content is a reprint of that
certificate (same number, no new audit entry), not a second number."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import JSON, Date, ForeignKey, Integer, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from . import audit
from .base import Base, UTCDateTime, begin_write, one_writer_per, utcnow
from .hours import hours_text
from .people import Volunteer
from .training import InvalidTraining, TrainingRecord, records_of
from .unit_profile import profile_of

COMPLETION_KIND = "completion"
TEMPLATE_MAX = 1000
DEFAULT_COMPLETION_TEXT = (
    "茲證明 $name 君（志工編號 $volunteer_no）參加本單位辦理之志願服務特殊訓練課程，"
    "計 $hours 小時，業已結業，特發此證。"
)
TEMPLATE_FIELDS = ("name", "volunteer_no", "hours", "unit", "first_day", "last_day")


class IssuedCompletion(Base):
    """One issued completion certificate and everything printed on it (the PDF of a reprint
    is made from this row)."""

    __tablename__ = "completion_certificate"

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    volunteer_id: Mapped[int] = mapped_column(ForeignKey("volunteer.id"), index=True)
    serial: Mapped[str] = mapped_column(String(40), unique=True)
    issued_on: Mapped[dt.date] = mapped_column(Date)  # Taipei day
    issued_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    record_ids: Mapped[list] = mapped_column(JSON)  # sorted training_record ids
    total_minutes: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)  # the template text as printed (filled in)
    # the rest of the page: unit_name, volunteer_name, volunteer_no, lines [[course, day, minutes]]
    printed: Mapped[dict] = mapped_column(JSON)


def completion_template(session: Session, unit_id: int) -> str:
    """The unit's certificate text, or DEFAULT_COMPLETION_TEXT when it has none."""
    return profile_of(session, unit_id).completion_template or DEFAULT_COMPLETION_TEXT


def save_completion_template(session: Session, unit_id: int, text: str, actor=None) -> str:
    """Validate and keep the unit's template text (placeholders: $name, $volunteer_no, $hours,
    $unit, $first_day, $last_day); audited with the text before and after. Raises
    InvalidTraining({"text": code})."""
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
    profile = profile_of(session, unit_id)
    before = profile.completion_template or DEFAULT_COMPLETION_TEXT
    profile.completion_template = text
    session.add(profile)
    session.flush()
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
    reprint: bool = False  # issued before (same day, same content): the same number again


def format_completion_serial(unit_id: int, year: int, seq: int) -> str:
    return f"C{unit_id:03d}-{year}-{seq:05d}"


def _certificate(row: IssuedCompletion, reprint: bool) -> CompletionCertificate:
    printed = row.printed
    return CompletionCertificate(
        serial=row.serial, unit_name=printed["unit_name"], volunteer_name=printed["volunteer_name"],
        volunteer_no=printed["volunteer_no"],
        lines=[(name, dt.date.fromisoformat(day), minutes) for name, day, minutes in printed["lines"]],
        total_minutes=row.total_minutes, text=row.text, issued_on=row.issued_on, reprint=reprint)


def issue_completion(session: Session, volunteer: Volunteer, *, actor,
                     now: dt.datetime) -> CompletionCertificate:
    """A completion certificate for the unit's own courses the volunteer attended, with the
    unit's template text.

    A certificate issued the same Taipei day to the volunteer with the same records and the same
    printed content (text, lines, names) is returned as it is (`reprint`): no new number, no
    audit entry (a double-submitted form or a browser retry). Anything else takes a new number
    from next_serial(kind="completion") in this write transaction (gap-free per unit and year),
    is stored, and audited with everything printed. Raises
    InvalidTraining({"volunteer": "nothing_to_certify"})."""
    from string import Template

    from .base import taipei_date
    from .slips import next_serial
    from .unit import Unit

    # Two issues for one volunteer at once queue here, so the second sees the first's
    # certificate and reprints it.
    one_writer_per(session, Volunteer, volunteer.id)
    records = unit_course_records(session, volunteer)
    if not records:
        raise InvalidTraining({"volunteer": "nothing_to_certify"})
    today = taipei_date(now)
    unit = session.get(Unit, volunteer.unit_id)
    total = sum(r.minutes for r in records)
    text = Template(completion_template(session, volunteer.unit_id)).safe_substitute(
        name=volunteer.name_zh, volunteer_no=volunteer.volunteer_no, hours=hours_text(total),
        unit=unit.name, first_day=min(r.completed_on for r in records).isoformat(),
        last_day=max(r.completed_on for r in records).isoformat())
    record_ids = sorted(r.id for r in records)
    printed = {"unit_name": unit.name, "volunteer_name": volunteer.name_zh,
               "volunteer_no": volunteer.volunteer_no,
               "lines": [[r.course.name, r.completed_on.isoformat(), r.minutes] for r in records]}
    same_day = session.scalars(
        select(IssuedCompletion).where(IssuedCompletion.volunteer_id == volunteer.id,
                                       IssuedCompletion.issued_on == today)
        .order_by(IssuedCompletion.id)).all()
    for row in same_day:
        if (list(row.record_ids) == record_ids and row.total_minutes == total
                and row.text == text and row.printed == printed):
            return _certificate(row, reprint=True)
    seq = next_serial(session, volunteer.unit_id, COMPLETION_KIND, today.year)
    serial = format_completion_serial(volunteer.unit_id, today.year, seq)
    row = IssuedCompletion(unit_id=volunteer.unit_id, volunteer_id=volunteer.id, serial=serial,
                           issued_on=today, issued_at=now, issued_by_id=getattr(actor, "id", None),
                           record_ids=record_ids, total_minutes=total, text=text,
                           printed=printed)
    session.add(row)
    session.flush()
    audit.record(session, action="completion_certificate_issued", entity="volunteer",
                 entity_id=volunteer.id, actor=actor, unit_id=volunteer.unit_id, now=now,
                 after={"serial": serial, "record_ids": record_ids,
                        "total_minutes": total, "text": text})
    return _certificate(row, reprint=False)


def issued_completions(session: Session, volunteer_id: int) -> list[IssuedCompletion]:
    """The completion certificates issued to a volunteer, newest first (certificates issued
    before migration 0020 are in the audit log only, and not listed)."""
    return list(session.scalars(
        select(IssuedCompletion).where(IssuedCompletion.volunteer_id == volunteer_id)
        .order_by(IssuedCompletion.issued_at.desc(), IssuedCompletion.id.desc())))


def issued_completion(session: Session, volunteer: Volunteer,
                      certificate_id: int) -> CompletionCertificate | None:
    """A certificate issued earlier to `volunteer`, as it was printed (its number, its date,
    its text), for printing again; None when there is no such certificate of theirs."""
    row = session.get(IssuedCompletion, certificate_id)
    if row is None or row.volunteer_id != volunteer.id or row.unit_id != volunteer.unit_id:
        return None
    return _certificate(row, reprint=True)

