"""What earlier units recorded in the volunteer's record book (志願服務紀錄冊): their hours
(counted by awards, never shown as this unit's service; served in Taipei or not) and the
performance certificates they issued (the national award needs one). Entered by the admin from
the volunteer's book, audited."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, Date, ForeignKey, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from . import audit
from .base import Base, UTCDateTime, begin_write, taipei_date, utcnow
from .messages import N_
from .people import Volunteer
from .record_book import RecordBookError


class PriorHours(Base):
    """Hours recorded in the volunteer's record book by earlier units: counted by awards,
    never shown as this unit's service."""

    __tablename__ = "prior_hours"

    id: Mapped[int] = mapped_column(primary_key=True)
    volunteer_id: Mapped[int] = mapped_column(ForeignKey("volunteer.id"), index=True)
    source_unit: Mapped[str] = mapped_column(String(200))
    period_start: Mapped[dt.date] = mapped_column(Date)
    period_end: Mapped[dt.date] = mapped_column(Date)
    minutes: Mapped[int] = mapped_column()
    # served in Taipei (臺北市)? The Golden Diamond volunteer's years count only service in
    # Taipei. None: not said (entries from before it was asked); not counted as Taipei.
    in_taipei: Mapped[bool | None] = mapped_column(Boolean)
    note: Mapped[str] = mapped_column(String(300), default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    volunteer: Mapped[Volunteer] = relationship()


class PriorCertificate(Base):
    """A performance certificate (志願服務績效證明書) issued by another unit, recorded from the
    volunteer's copy: the national award needs one, from this unit or any other."""

    __tablename__ = "prior_certificate"

    id: Mapped[int] = mapped_column(primary_key=True)
    volunteer_id: Mapped[int] = mapped_column(ForeignKey("volunteer.id"), index=True)
    issuing_unit: Mapped[str] = mapped_column(String(200))
    issued_on: Mapped[dt.date] = mapped_column(Date)
    certificate_no: Mapped[str] = mapped_column(String(60))
    note: Mapped[str] = mapped_column(String(300), default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    volunteer: Mapped[Volunteer] = relationship()


SOURCE_UNIT_MAX = 200
NOTE_MAX = 300
CERTIFICATE_NO_MAX = 60
CERTIFICATE_FIRST_DAY = dt.date(1990, 1, 1)


# --- prior hours -----------------------------------------------------------------------------

def prior_snapshot(row: PriorHours) -> dict:
    return {"volunteer_id": row.volunteer_id, "source_unit": row.source_unit,
            "period_start": row.period_start.isoformat(), "period_end": row.period_end.isoformat(),
            "minutes": row.minutes, "in_taipei": row.in_taipei, "note": row.note}


def _text(value: str | None, field: str, limit: int, required: str | None = None) -> str:
    """A typed-in text, trimmed; refused when longer than `limit`, or empty when `required`
    (the message that says what to enter)."""
    value = (value or "").strip()
    if required and not value:
        raise RecordBookError(required, field)
    if len(value) > limit:
        raise RecordBookError(N_("Use at most %(max)d characters."), field, max=limit)
    return value


# hours from an earlier unit are hours already served: a period cannot end after today
PRIOR_NOT_YET_SERVED = N_("The last day cannot be after today: record hours already served.")
PRIOR_OVERLAP = N_("Hours from %(unit)s for %(first)s – %(last)s are already recorded, and "
                   "this period overlaps them.")


def overlapping_prior_hours(session: Session, volunteer_id: int, source_unit: str,
                            first: dt.date, last: dt.date) -> PriorHours | None:
    """An entry already recorded from the same unit for days that overlap first … last.
    The same unit's book over the same days twice would count its hours twice (a form sent
    twice, typed again, or imported again), so such an entry is refused wherever it comes from."""
    return session.scalar(select(PriorHours).where(
        PriorHours.volunteer_id == volunteer_id, PriorHours.source_unit == source_unit,
        PriorHours.period_start <= last, PriorHours.period_end >= first)
        .order_by(PriorHours.period_start).limit(1))


def add_prior_hours(session: Session, volunteer: Volunteer, actor, *, source_unit: str,
                    period_start: dt.date, period_end: dt.date, minutes: int, note: str = "",
                    in_taipei: bool | None = None, now: dt.datetime | None = None) -> PriorHours:
    """Hours from an earlier unit's record book: for awards, never this unit's service.
    `in_taipei`: whether they were served in Taipei (the Golden Diamond volunteer's years count
    only service in Taipei); None when not said."""
    begin_write(session)
    source_unit = _text(source_unit, "source_unit", SOURCE_UNIT_MAX,
                        N_("Enter the unit the hours were served at."))
    note = _text(note, "note", NOTE_MAX)
    if not isinstance(period_start, dt.date) or not isinstance(period_end, dt.date):
        raise RecordBookError(N_("Enter the first and the last day of the period."), "period_start")
    if period_end < period_start:
        raise RecordBookError(N_("The last day cannot be before the first day."), "period_end")
    if period_end > taipei_date(now or utcnow()):
        raise RecordBookError(PRIOR_NOT_YET_SERVED, "period_end")
    if not isinstance(minutes, int) or minutes <= 0:
        raise RecordBookError(N_("Enter the hours as a number above 0."), "hours")
    if actor is not None and volunteer.unit_id != actor.unit_id:
        raise RecordBookError(N_("Choose volunteers of your own unit only."), "volunteer")
    same = overlapping_prior_hours(session, volunteer.id, source_unit, period_start, period_end)
    if same is not None:
        raise RecordBookError(PRIOR_OVERLAP, "period_start", unit=source_unit,
                              first=same.period_start.isoformat(),
                              last=same.period_end.isoformat())
    row = PriorHours(volunteer_id=volunteer.id, source_unit=source_unit,
                     period_start=period_start, period_end=period_end, minutes=minutes,
                     in_taipei=in_taipei, note=note, created_by_id=getattr(actor, "id", None))
    session.add(row)
    session.flush()
    audit.record(session, action="prior_hours_add", entity="prior_hours", entity_id=row.id,
                 actor=actor, unit_id=volunteer.unit_id, after=prior_snapshot(row), now=now)
    return row


def set_prior_in_taipei(session: Session, row: PriorHours, in_taipei: bool, actor,
                        now: dt.datetime | None = None) -> None:
    """Say whether an entry's hours were served in Taipei (entries from before it was asked
    do not say). Audited; caller commits."""
    begin_write(session)
    before = prior_snapshot(row)
    row.in_taipei = bool(in_taipei)
    session.flush()
    audit.record(session, action="prior_hours_update", entity="prior_hours", entity_id=row.id,
                 actor=actor, unit_id=row.volunteer.unit_id, before=before,
                 after=prior_snapshot(row), now=now)


def prior_hours_of(session: Session, volunteer_id: int) -> list[PriorHours]:
    return list(session.scalars(select(PriorHours).where(PriorHours.volunteer_id == volunteer_id)
                                .order_by(PriorHours.period_start, PriorHours.id)))


def prior_minutes(session: Session, volunteer_id: int) -> int:
    """Total minutes from earlier units (for award eligibility only)."""
    return sum(r.minutes for r in prior_hours_of(session, volunteer_id))


def delete_prior_hours(session: Session, row: PriorHours, actor,
                       now: dt.datetime | None = None) -> None:
    begin_write(session)
    before = prior_snapshot(row)
    unit_id = row.volunteer.unit_id
    session.delete(row)
    session.flush()
    audit.record(session, action="prior_hours_delete", entity="prior_hours", entity_id=row.id,
                 actor=actor, unit_id=unit_id, before=before, now=now)


# --- performance certificates from earlier units -----------------------------------------------

def prior_certificate_snapshot(row: PriorCertificate) -> dict:
    return {"volunteer_id": row.volunteer_id, "issuing_unit": row.issuing_unit,
            "issued_on": row.issued_on.isoformat(), "certificate_no": row.certificate_no,
            "note": row.note}


def add_prior_certificate(session: Session, volunteer: Volunteer, actor, *, issuing_unit: str,
                          issued_on: dt.date, certificate_no: str, note: str = "",
                          now: dt.datetime | None = None) -> PriorCertificate:
    """A performance certificate another unit issued to the volunteer (its unit, date and
    number, from the volunteer's copy): it counts for the awards that need one (national).
    Refused: a day in the future or before 1990, the same unit's number twice. Audited;
    caller commits."""
    begin_write(session)
    issuing_unit = _text(issuing_unit, "issuing_unit", SOURCE_UNIT_MAX,
                         N_("Enter the unit that issued the certificate."))
    certificate_no = _text(certificate_no, "certificate_no", CERTIFICATE_NO_MAX,
                           N_("Enter the certificate's number."))
    note = _text(note, "note", NOTE_MAX)
    today = taipei_date(now or utcnow())
    if not isinstance(issued_on, dt.date) or not CERTIFICATE_FIRST_DAY <= issued_on <= today:
        raise RecordBookError(N_("Enter the day it was issued: from %(first)s to today."),
                              "issued_on", first=CERTIFICATE_FIRST_DAY.isoformat())
    if actor is not None and volunteer.unit_id != actor.unit_id:
        raise RecordBookError(N_("Choose volunteers of your own unit only."), "volunteer")
    same = session.scalar(select(PriorCertificate).where(
        PriorCertificate.volunteer_id == volunteer.id,
        PriorCertificate.issuing_unit == issuing_unit,
        PriorCertificate.certificate_no == certificate_no))
    if same is not None:
        raise RecordBookError(N_("Certificate %(no)s from %(unit)s is already recorded."),
                              "certificate_no", no=certificate_no, unit=issuing_unit)
    row = PriorCertificate(volunteer_id=volunteer.id, issuing_unit=issuing_unit,
                           issued_on=issued_on, certificate_no=certificate_no, note=note,
                           created_by_id=getattr(actor, "id", None), created_at=now or utcnow())
    session.add(row)
    session.flush()
    audit.record(session, action="prior_certificate_add", entity="prior_certificate",
                 entity_id=row.id, actor=actor, unit_id=volunteer.unit_id,
                 after=prior_certificate_snapshot(row), now=now)
    return row


def prior_certificates_of(session: Session, volunteer_id: int) -> list[PriorCertificate]:
    return list(session.scalars(select(PriorCertificate).where(
        PriorCertificate.volunteer_id == volunteer_id)
        .order_by(PriorCertificate.issued_on, PriorCertificate.id)))


def delete_prior_certificate(session: Session, row: PriorCertificate, actor,
                             now: dt.datetime | None = None) -> None:
    begin_write(session)
    before = prior_certificate_snapshot(row)
    unit_id = row.volunteer.unit_id
    session.delete(row)
    session.flush()
    audit.record(session, action="prior_certificate_delete", entity="prior_certificate",
                 entity_id=row.id, actor=actor, unit_id=unit_id, before=before, now=now)
