"""What an applicant may see of their own application (查詢報名進度): the public page where they
type the reference number from the thank-you page and their birth date. Both must match; the
answer holds only the opening, the unit, when it was received, where it stands and the interview
(when one is scheduled) — never the ID number, phone, address or the unit's notes.

Reading only: nothing is written and nothing is audited (a lookup changes nothing; the route's
rate limit, not a log, keeps reference numbers from being guessed)."""
from __future__ import annotations

import datetime as dt
import hmac
import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from .contact import half_width
from .recruitment import Application, ApplicationStatus
from .unit import Unit

REFERENCE_MAX = 30  # Application.reference_no's length
# a birth date no application holds: compared against when the reference matches nothing, so a
# miss takes as long as a wrong birth date
_STAND_IN = "0000-00-00"


@dataclass(frozen=True)
class ApplicationProgress:
    """One application as its applicant sees it."""
    reference_no: str
    status: ApplicationStatus
    unit: Unit
    opening_title: str | None  # None: the unit's general form
    received_at: dt.datetime  # UTC
    interview_at: dt.datetime | None = None  # UTC; only while an interview is scheduled
    interview_place: str = ""


def normalise_reference(text: str | None) -> str:
    """A reference number as typed: full-width or lower-case letters and digits (a phone's
    Chinese keyboard), spaces anywhere, read as the thank-you page printed it (A2026-00017)."""
    return re.sub(r"\s+", "", half_width(text)).upper()[:REFERENCE_MAX + 1]


def application_status(session: Session, reference_no: str | None,
                       birth_date: dt.date | None) -> ApplicationProgress | None:
    """The application with this reference number whose applicant was born on `birth_date`,
    else None — the same None whichever of the two is wrong. The birth date is compared in
    constant time, also when no application has the reference (against a stand-in)."""
    reference = normalise_reference(reference_no)
    application = None
    if reference and len(reference) <= REFERENCE_MAX:
        application = session.scalar(select(Application).where(Application.reference_no == reference))
    expected = application.birth_date.isoformat() if application is not None else _STAND_IN
    given = birth_date.isoformat() if birth_date is not None else ""
    same = hmac.compare_digest(expected.encode(), given.encode())
    if application is None or not same:
        return None
    scheduled = application.status == ApplicationStatus.interview_scheduled
    return ApplicationProgress(
        reference_no=application.reference_no, status=application.status,
        unit=session.get(Unit, application.unit_id),
        opening_title=application.opening.title if application.opening is not None else None,
        received_at=application.created_at,
        interview_at=application.interview_at if scheduled else None,
        interview_place=application.interview_place if scheduled else "")
