"""Personal-data requests (PDPA §3, §11): volunteers ask for correction or deletion; admins
handle them. Deletion anonymises the person and keeps the unit's statutory totals."""
from __future__ import annotations

import csv
import datetime as dt
import enum
import io
import json
import secrets
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from sqlalchemy import Enum, ForeignKey, Text, and_, or_, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from . import audit
from .base import TAIPEI, Base, UTCDateTime, begin_write, taipei_date, utcnow
from .contact import email_problem, half_width, phone_problem
from .hours import hours_text
from .idnumbers import mask
from .people import Volunteer, VolunteerStatus, new_card_token
from .messages import N_, english


class RequestKind(str, enum.Enum):
    correction = "correction"
    deletion = "deletion"


class RequestStatus(str, enum.Enum):
    open = "open"
    done = "done"
    refused = "refused"


class DataRequest(Base):
    __tablename__ = "data_request"

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    volunteer_id: Mapped[int] = mapped_column(ForeignKey("volunteer.id"), index=True)
    kind: Mapped[RequestKind] = mapped_column(Enum(RequestKind, native_enum=False, length=20))
    details: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[RequestStatus] = mapped_column(
        Enum(RequestStatus, native_enum=False, length=20), default=RequestStatus.open)
    response: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    handled_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    handled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    volunteer: Mapped[Volunteer] = relationship()


# --- functions ------------------------------------------------------------------------------

CONTACT_FIELDS = ("phone", "email", "address", "emergency_contact", "emergency_phone")
CONTACT_MAX = {"phone": 40, "email": 254, "address": 300, "emergency_contact": 120,
               "emergency_phone": 40}
# what the application form requires (webapp/routes/openings.ApplicationForm): the unit must be
# able to reach the volunteer and, after an accident, someone close to them. On file, these may be
# changed but not removed (a roster may have brought a volunteer without some of them).
CONTACT_REQUIRED = {"phone": N_("Enter a phone number."), "address": N_("Enter the address."),
                    "emergency_contact": N_("Enter an emergency contact."),
                    "emergency_phone": N_("Enter a phone number.")}
DETAILS_MAX = 2000
ANONYMOUS_NAME = "已刪除志工 #%d"


class PrivacyError(ValueError):
    """A refused change; `message` is an English msgid (translated by the UI)."""

    def __init__(self, message: str, field: str | None = None, **params):
        super().__init__(message % params if params else message)
        self.message = message
        self.field = field
        self.params = params


def _contact(volunteer: Volunteer) -> dict:
    return {name: getattr(volunteer, name) for name in CONTACT_FIELDS}


def update_contact(session: Session, volunteer: Volunteer, actor, now: dt.datetime | None = None,
                   **values: str) -> None:
    """The volunteer's own contact details (phone, email, address, emergency contact). Those
    the application form requires (CONTACT_REQUIRED) cannot be emptied once on file."""
    begin_write(session)
    if volunteer.anonymised_at is not None:
        raise PrivacyError(N_("This volunteer's data was deleted."))
    clean = {}
    for name in CONTACT_FIELDS:
        value = (values.get(name) or "").strip()
        if name in ("phone", "emergency_phone"):
            value = half_width(value)  # full-width digits kept as the digits they are
        if len(value) > CONTACT_MAX[name]:
            raise PrivacyError(N_("Use at most %(max)d characters."), name, max=CONTACT_MAX[name])
        clean[name] = value
        if not value and name in CONTACT_REQUIRED and (getattr(volunteer, name) or "").strip():
            raise PrivacyError(CONTACT_REQUIRED[name], name)
    # the application form's rules (models.contact), on what is typed; empty is fine here
    for name, problem in (("phone", phone_problem), ("email", email_problem),
                          ("emergency_phone", phone_problem)):
        if clean[name] and problem(clean[name]):
            raise PrivacyError(problem(clean[name]), name)
    before = _contact(volunteer)
    for name, value in clean.items():
        setattr(volunteer, name, value)
    session.flush()
    audit.record(session, action="volunteer_contact_update", entity="volunteer",
                 entity_id=volunteer.id, actor=actor, unit_id=volunteer.unit_id,
                 before=before, after=_contact(volunteer), now=now)


IDENTITY_MAX = {"name_zh": 60, "name_en": 120}
GUARDIAN_MAX = 60  # as on the application form


def _identity(volunteer: Volunteer) -> dict:
    """The identity fields as the audit log keeps them: the ID number masked (PDPA §27)."""
    return {"name_zh": volunteer.name_zh, "name_en": volunteer.name_en,
            "gender": volunteer.gender.value, "birth_date": volunteer.birth_date.isoformat(),
            "id_kind": volunteer.id_kind, "id_number": mask(volunteer.id_number),
            "guardian_name": volunteer.guardian_name}


def correct_identity(session: Session, volunteer: Volunteer, actor, now: dt.datetime | None = None, *,
                     name_zh: str, name_en: str, gender: str, birth_date: dt.date | None,
                     id_kind: str, id_number: str, guardian_name: str | None = None,
                     guardian_consent: bool = False) -> None:
    """An admin corrects a volunteer's identity data (a PDPA §3 correction request). The new ID
    number is validated and must not belong to another volunteer of the unit. A birth date that
    makes the volunteer under 18 today needs a parent or guardian, as the application form does:
    their name, and their consent when none was on file (`guardian_name` None: keep the one on
    file). An adult's guardian is cleared, as on the form."""
    from .idnumbers import ID_KINDS, gender_problem, id_problem, normalise
    from .people import Gender
    from .recruitment import ADULT_AGE, birth_date_problem, guardian_problems, is_minor

    begin_write(session)
    if volunteer.anonymised_at is not None:
        raise PrivacyError(N_("This volunteer's data was deleted."))
    name_zh, name_en = (name_zh or "").strip(), (name_en or "").strip()
    if not name_zh:
        raise PrivacyError(N_("Enter the name."), "name_zh")
    for field, value in (("name_zh", name_zh), ("name_en", name_en)):
        if len(value) > IDENTITY_MAX[field]:
            raise PrivacyError(N_("Use at most %(max)d characters."), field, max=IDENTITY_MAX[field])
    if gender not in {g.value for g in Gender}:
        raise PrivacyError(N_("Choose one of the options."), "gender")
    problem = "required" if birth_date is None else \
        birth_date_problem(birth_date, taipei_date(now or utcnow()))
    if problem in ("required", "future"):
        raise PrivacyError(N_("Enter a birth date in the past."), "birth_date")
    if problem:
        raise PrivacyError(N_("Check the birth date."), "birth_date")
    guardian = volunteer.guardian_name if guardian_name is None else " ".join(guardian_name.split())
    today = taipei_date(now or utcnow())
    # consent given when the guardian was first recorded (the application) still stands
    missing = guardian_problems(birth_date, today, guardian,
                                guardian_consent or bool(volunteer.guardian_name))
    if "guardian_name" in missing:
        raise PrivacyError(N_("Volunteers under %(age)d need a parent or guardian: enter "
                              "their name."), "guardian_name", age=ADULT_AGE)
    if "guardian_consent" in missing:
        raise PrivacyError(N_("Volunteers under %(age)d need the consent of a parent or "
                              "guardian."), "guardian_consent", age=ADULT_AGE)
    if not is_minor(birth_date, today):
        guardian = ""
    elif len(guardian) > GUARDIAN_MAX:
        raise PrivacyError(N_("Use at most %(max)d characters."), "guardian_name", max=GUARDIAN_MAX)
    if id_kind not in ID_KINDS:
        raise PrivacyError(N_("Choose one of the options."), "id_kind")
    number = normalise(id_number)
    problem = id_problem(id_kind, number)
    if problem:
        raise PrivacyError(problem, "id_number")
    if problem := gender_problem(id_kind, number, gender):
        raise PrivacyError(problem, "gender")
    taken = session.scalar(select(Volunteer.id).where(
        Volunteer.unit_id == volunteer.unit_id, Volunteer.id_number == number, Volunteer.id != volunteer.id))
    if taken is not None:
        raise PrivacyError(N_("Another volunteer of the unit has this ID number."), "id_number")
    before = _identity(volunteer)
    volunteer.name_zh, volunteer.name_en = name_zh, name_en
    volunteer.gender, volunteer.birth_date = Gender(gender), birth_date
    volunteer.id_kind, volunteer.id_number = id_kind, number
    volunteer.guardian_name = guardian
    session.flush()
    audit.record(session, action="volunteer_identity_correct", entity="volunteer",
                 entity_id=volunteer.id, actor=actor, unit_id=volunteer.unit_id,
                 before=before, after=_identity(volunteer), now=now)


# --- requests ------------------------------------------------------------------------------

def request_snapshot(req: DataRequest) -> dict:
    return {"volunteer_id": req.volunteer_id, "kind": req.kind.value, "details": req.details,
            "status": req.status.value, "response": req.response}


def make_request(session: Session, volunteer: Volunteer, actor, kind: str, details: str,
                 now: dt.datetime | None = None) -> DataRequest:
    """A volunteer asks for a correction or for deletion of their data."""
    begin_write(session)
    try:
        kind = RequestKind(kind)
    except ValueError as exc:
        raise PrivacyError(N_("Choose one of the options."), "kind") from exc
    details = (details or "").strip()
    if kind == RequestKind.correction and not details:
        raise PrivacyError(N_("Say what should be corrected."), "details")
    if len(details) > DETAILS_MAX:
        raise PrivacyError(N_("Use at most %(max)d characters."), "details", max=DETAILS_MAX)
    if session.scalar(select(DataRequest.id).where(  # sent twice (a double tap, the back button)
            DataRequest.volunteer_id == volunteer.id, DataRequest.kind == kind,
            DataRequest.details == details, DataRequest.status == RequestStatus.open)):
        raise PrivacyError(N_("You sent this request already; the unit admin has it."), "kind")
    req = DataRequest(unit_id=volunteer.unit_id, volunteer_id=volunteer.id, kind=kind,
                      details=details, status=RequestStatus.open)
    if now is not None:
        req.created_at = now
    session.add(req)
    session.flush()
    audit.record(session, action="data_request_create", entity="data_request", entity_id=req.id,
                 actor=actor, unit_id=volunteer.unit_id, after=request_snapshot(req), now=now)
    return req


def requests_of(session: Session, volunteer_id: int) -> list[DataRequest]:
    return list(session.scalars(select(DataRequest).where(DataRequest.volunteer_id == volunteer_id)
                                .order_by(DataRequest.id.desc())))


def unit_requests(session: Session, unit_id: int, open_only: bool = False) -> list[DataRequest]:
    query = select(DataRequest).where(DataRequest.unit_id == unit_id)
    if open_only:
        query = query.where(DataRequest.status == RequestStatus.open)
    return list(session.scalars(query.order_by(DataRequest.status != RequestStatus.open,
                                               DataRequest.id.desc())))


def handle_request(session: Session, req: DataRequest, actor, *, outcome: str, response: str,
                   now: dt.datetime | None = None, root=None) -> None:
    """An admin closes a request: done or refused, with a response. A deletion request that is
    done anonymises the volunteer."""
    begin_write(session)
    now = now or utcnow()
    if req.unit_id != actor.unit_id:
        raise PrivacyError(N_("This request is not of your unit."))
    if req.status != RequestStatus.open:
        raise PrivacyError(N_("This request was already handled."))
    try:
        outcome = RequestStatus(outcome)
    except ValueError as exc:
        raise PrivacyError(N_("Choose one of the options."), "outcome") from exc
    if outcome == RequestStatus.open:
        raise PrivacyError(N_("Choose one of the options."), "outcome")
    response = (response or "").strip()
    if not response:
        raise PrivacyError(N_("Write a response to the volunteer."), "response")
    if len(response) > DETAILS_MAX:
        raise PrivacyError(N_("Use at most %(max)d characters."), "response", max=DETAILS_MAX)
    before = request_snapshot(req)
    req.status = outcome
    req.response = response
    req.handled_by_id = actor.id
    req.handled_at = now
    session.flush()
    audit.record(session, action="data_request_handle", entity="data_request", entity_id=req.id,
                 actor=actor, unit_id=req.unit_id, before=before, after=request_snapshot(req),
                 now=now)
    if outcome == RequestStatus.done and req.kind == RequestKind.deletion:
        anonymise(session, req.volunteer, actor, now, root=root)


# the exit reason kept in the status history when a deletion request is carried out (stored
# text, as an admin would type it; it names no one)
DELETION_EXIT_REASON = "依當事人請求刪除個人資料"


def anonymise(session: Session, volunteer: Volunteer, actor, now: dt.datetime | None = None,
              root=None) -> None:
    """PDPA deletion: personal data cleared, account deactivated; sessions, minutes and slips
    stay, linked to this anonymised row, so the unit's statutory totals do not change.

    Training records stay (gates and statutory totals read their course and date), without
    their certificate scans, which show the person's name and ID number. With the upload
    `root`, the head-shot photo's and the certificates' rows and bytes are deleted too
    (files.release: the bytes once the transaction commits)."""
    begin_write(session)
    now = now or utcnow()
    if volunteer.anonymised_at is not None:
        return
    if volunteer.is_active:  # leaving goes into the status history like any exit (reports of
        # who was active when, and who left, read it), without saying more than why
        from .volunteer_status import exit_volunteer
        exit_volunteer(session, volunteer, actor, now, reason=DELETION_EXIT_REASON)
    before = {"name_zh": volunteer.name_zh, "id_number": mask(volunteer.id_number),
              **_contact(volunteer), "photo_file_id": volunteer.photo_file_id}
    volunteer.name_zh = ANONYMOUS_NAME % volunteer.id
    volunteer.name_en = ""
    volunteer.id_number = ""
    for name in CONTACT_FIELDS:
        setattr(volunteer, name, "")
    volunteer.guardian_name = ""
    volunteer.photo_file_id = None
    volunteer.card_token = new_card_token()
    volunteer.pin_hash = None
    volunteer.pin_failures = 0
    volunteer.pin_locked_until = None
    volunteer.status = VolunteerStatus.inactive
    volunteer.left_on = volunteer.left_on or taipei_date(now)
    volunteer.anonymised_at = now
    certificates = _drop_certificates(session, volunteer, actor, now)
    _unname_completions(session, volunteer, before["name_zh"])
    if root is not None:
        from .files import release
        for file_id in (before["photo_file_id"], *certificates):
            release(session, file_id, root=root, actor=actor, now=now)
    if volunteer.user is not None:
        user = volunteer.user
        user.active = False
        user.email = f"deleted-{user.id}@invalid"
        user.display_name = ""
        user.session_token = secrets.token_hex(16)
        user.password_hash = "!"
    session.flush()
    audit.record(session, action="volunteer_anonymise", entity="volunteer",
                 entity_id=volunteer.id, actor=actor, unit_id=volunteer.unit_id,
                 before=before, after={"name_zh": volunteer.name_zh,
                                       "anonymised_at": now.isoformat()}, now=now)


def _drop_certificates(session: Session, volunteer: Volunteer, actor, now: dt.datetime) -> list[int]:
    """Unlink the certificate files of the volunteer's training records, each change audited as
    a record update; the ids of the files unlinked."""
    from .training import TrainingRecord, _record_data

    dropped = []
    for record in session.scalars(select(TrainingRecord).where(
            TrainingRecord.volunteer_id == volunteer.id,
            TrainingRecord.certificate_file_id.is_not(None)).order_by(TrainingRecord.id)):
        before = _record_data(record)
        dropped.append(record.certificate_file_id)
        record.certificate_file_id = None
        audit.record(session, action="training_record_updated", entity="training_record",
                     entity_id=record.id, actor=actor, unit_id=volunteer.unit_id,
                     before=before, after=_record_data(record), now=now)
    return dropped


def _unname_completions(session: Session, volunteer: Volunteer, name: str) -> None:
    """The completion certificates issued to the volunteer keep their number, date, courses and
    hours (the unit's record of what it issued), with the anonymised name in place of theirs:
    printed again, they name no one."""
    from .completion import IssuedCompletion

    if not name:
        return
    for row in session.scalars(select(IssuedCompletion).where(
            IssuedCompletion.volunteer_id == volunteer.id)):
        row.text = row.text.replace(name, volunteer.name_zh)
        row.printed = {**row.printed, "volunteer_name": volunteer.name_zh}


# --- "download my data" ----------------------------------------------------------------------

def _row(obj, skip: tuple[str, ...] = ()) -> dict:
    out = {}
    for column in obj.__table__.columns:
        if column.key in skip:
            continue
        value = getattr(obj, column.key)
        if isinstance(value, enum.Enum):
            value = value.value
        elif isinstance(value, dt.datetime):  # stored in UTC; read in Taipei (with its offset)
            value = value.astimezone(TAIPEI).isoformat() if value.tzinfo else value.isoformat()
        elif isinstance(value, dt.date):
            value = value.isoformat()
        out[column.key] = value
    return out


def my_data(session: Session, volunteer: Volunteer) -> dict[str, list[dict]]:
    """Everything the unit keeps about one volunteer, section by section, nothing of anyone else."""
    from .audit import AuditEntry
    from .insurance import InsuranceCover
    from .prior_service import PriorCertificate, PriorHours
    from .service import ServiceSession
    from .slips import HourSlip
    from .training import TrainingRecord

    secret = ("pin_hash", "pin_failures", "pin_locked_until", "card_token")
    profile = _row(volunteer, skip=secret)
    if volunteer.user is not None:
        profile["account_email"] = volunteer.user.email
        profile["account_locale"] = volunteer.user.locale
    sessions = session.scalars(select(ServiceSession).where(
        ServiceSession.volunteer_id == volunteer.id).order_by(ServiceSession.checked_in_at)).all()
    slips = session.scalars(select(HourSlip).where(HourSlip.volunteer_id == volunteer.id)
                            .order_by(HourSlip.id)).all()
    records = session.scalars(select(TrainingRecord).where(
        TrainingRecord.volunteer_id == volunteer.id).order_by(TrainingRecord.completed_on)).all()
    covers = session.scalars(select(InsuranceCover).where(
        InsuranceCover.volunteer_id == volunteer.id).order_by(InsuranceCover.starts_on)).all()
    prior = session.scalars(select(PriorHours).where(PriorHours.volunteer_id == volunteer.id)
                            .order_by(PriorHours.id)).all()
    prior_certificates = session.scalars(select(PriorCertificate).where(
        PriorCertificate.volunteer_id == volunteer.id).order_by(PriorCertificate.id)).all()
    from .recruitment import Application

    applications = session.scalars(select(Application).where(
        Application.volunteer_id == volunteer.id).order_by(Application.id)).all()
    requests = requests_of(session, volunteer.id)
    owned = [("volunteer", volunteer.id)]
    owned += [("application", a.id) for a in applications]
    owned += [("service_session", s.id) for s in sessions]
    owned += [("hour_slip", s.id) for s in slips]
    owned += [("training_record", r.id) for r in records]
    owned += [("insurance_cover", c.id) for c in covers]
    owned += [("prior_hours", p.id) for p in prior]
    owned += [("prior_certificate", c.id) for c in prior_certificates]
    owned += [("data_request", r.id) for r in requests]
    conditions = [and_(AuditEntry.entity == e, AuditEntry.entity_id == i) for e, i in owned]
    if volunteer.user_id is not None:
        conditions.append(and_(AuditEntry.actor_user_id == volunteer.user_id,
                               AuditEntry.entity_id.is_not(None)))
    entries = session.scalars(select(AuditEntry).where(or_(*conditions))
                              .order_by(AuditEntry.id)).all()
    training_rows = []
    for r in records:
        row = _row(r)
        row["course_code"] = r.course.code
        row["course_name"] = r.course.name
        training_rows.append(row)
    audit_rows = []
    for e in entries:
        row = _row(e, skip=("actor_user_id",))
        if (e.actor_user_id is not None and e.actor_user_id == volunteer.user_id) \
                or audit.acting_volunteer_id(e) == volunteer.id:
            row["actor_label"] = "self"  # their own phone, or the kiosk taking their card or PIN
        elif e.actor_user_id is not None:
            row["actor_label"] = "staff"  # other people's names are theirs, not the volunteer's
        # else as recorded: "kiosk:<device>", "system" (a forgotten check-out closed overnight)
        audit_rows.append(row)
    session_rows = []
    for s in sessions:  # the site and the item by name, next to their ids
        row = _row(s)
        row["site_name"] = s.site.name_zh if s.site else ""
        row["service_item_name"] = s.service_item.name_zh if s.service_item else ""
        row["credited_hours"] = hours_text(s.credited_minutes or 0)
        session_rows.append(row)
    return {
        "profile": [profile],
        "sessions": session_rows,
        "hour_slips": [_row(s) for s in slips],
        "training": training_rows,
        "insurance_covers": [_row(c) for c in covers],
        "prior_hours": [_row(p, skip=("created_by_id",)) for p in prior],
        "prior_certificates": [_row(c, skip=("created_by_id",)) for c in prior_certificates],
        # what they sent and when they were interviewed; not the interviewer's own notes
        "applications": [_row(a, skip=("interviewer_id", "notes")) for a in applications],
        "data_requests": [_row(r, skip=("handled_by_id",)) for r in requests],
        "audit_entries": audit_rows,
    }


# The CSV files say each column and each coded value in words, in the reader's language (a person
# opens them in a spreadsheet); data.json keeps the column names and codes, for a program.
INTERNAL = N_("%(what)s (internal number)")  # a row's number in another table
HEADERS = {
    "id": N_("Internal number"), "unit_id": (INTERNAL, N_("Unit")),
    "user_id": (INTERNAL, N_("Account")), "volunteer_id": (INTERNAL, N_("Volunteer")),
    "volunteer_no": N_("Volunteer number"), "name_zh": N_("Name"), "name_en": N_("English name"),
    "gender": N_("Gender"), "birth_date": N_("Birth date"), "phone": N_("Mobile phone"),
    "email": N_("Email"), "id_kind": N_("ID document"), "id_number": N_("ID number"),
    "status": N_("Status"), "joined_on": N_("Joined on"), "left_on": N_("Left on"),
    "exit_reason": N_("Reason for leaving"), "record_book_no": N_("Record book number"),
    "record_book_issued_on": N_("Record book issued on"),
    "record_book_applied_on": N_("Record book applied for on"), "address": N_("Address"),
    "emergency_contact": N_("Emergency contact"), "emergency_phone": N_("Emergency contact's phone"),
    "guardian_name": N_("Parent or guardian"), "photo_file_id": (INTERNAL, N_("Head-shot photo")),
    "anonymised_at": N_("Data deleted at"), "created_at": N_("Recorded at"),
    "account_email": N_("Sign-in email"), "account_locale": N_("Language"),
    # sessions
    "site_id": (INTERNAL, N_("Site")), "service_item_id": (INTERNAL, N_("Service item")),
    "checked_in_at": N_("Check-in"), "checked_out_at": N_("Check-out"),
    "credited_minutes": N_("Credited minutes"), "source": N_("Checked in by"),
    "checkout_source": N_("Checked out by"), "flags": N_("Flags"),
    "persons_served": N_("Persons served"), "note": N_("Note"),
    "client_key": N_("Check-in request key"), "verified_by_id": (INTERNAL, N_("Verified by")),
    "verified_at": N_("Verified at"), "hour_slip_id": (INTERNAL, N_("Hour slip")),
    "version": N_("Version"), "site_name": N_("Site"), "service_item_name": N_("Service item"),
    "credited_hours": N_("Credited hours"),
    # hour slips
    "year": N_("Year"), "seq": N_("Sequence number"), "serial": N_("Serial number"),
    "period_start": N_("Period from"), "period_end": N_("Period to"),
    "total_minutes": N_("Total minutes"), "issued_by_id": (INTERNAL, N_("Issued by")),
    "issued_at": N_("Issued at"), "voided_at": N_("Voided at"),
    "voided_by_id": (INTERNAL, N_("Voided by")), "void_reason": N_("Reason for voiding"),
    "replaces_id": (INTERNAL, N_("Replaces slip")),
    # training, insurance, earlier units
    "course_id": (INTERNAL, N_("Course")), "completed_on": N_("Completed on"),
    "minutes": N_("Minutes"), "mode": N_("Mode"), "provider": N_("Provider"),
    "certificate_no": N_("Certificate number"),
    "certificate_file_id": (INTERNAL, N_("Certificate scan")),
    "event_id": (INTERNAL, N_("Training event")), "course_code": N_("Course code"),
    "course_name": N_("Course"), "kind": N_("Kind"), "insurer": N_("Insurer"),
    "policy_no": N_("Policy number"), "starts_on": N_("Starts on"), "ends_on": N_("Ends on"),
    "source_unit": N_("Earlier unit"), "in_taipei": N_("Served in Taipei"),
    "issuing_unit": N_("Issuing unit"), "issued_on": N_("Issued on"),
    # applications, requests, the audit log
    "opening_id": (INTERNAL, N_("Opening")), "reference_no": N_("Reference number"),
    "availability": N_("Availability"), "experience": N_("Experience"),
    "guardian_consent": N_("Consent of parent or guardian"),
    "privacy_consent_at": N_("Privacy consent given at"), "interview_at": N_("Interview at"),
    "interview_place": N_("Interview place"), "decided_at": N_("Decided at"),
    "details": N_("Details"), "response": N_("Response"), "handled_at": N_("Handled at"),
    "at": N_("At"), "actor_label": N_("Who"), "action": N_("What"), "entity": N_("Record kind"),
    "entity_id": (INTERNAL, N_("Record")), "before": N_("Before"), "after": N_("After"),
}
# coded values the domain words itself; the UI adds the ones it words (Words.values)
VOLUNTEER_STATUS_LABELS = {VolunteerStatus.active.value: N_("Active"),
                           VolunteerStatus.inactive.value: N_("Left")}
ACTOR_LABELS = {"self": N_("You"), "staff": N_("Unit staff"), "system": N_("Hourbook (automatic)"),
                "public form": N_("Public application form"), "kiosk": N_("Kiosk")}
KIOSK_ACTOR = N_("Kiosk %(id)s")


def _domain_values() -> dict[str, dict[str, str]]:
    from .service import FLAG_LABELS, SOURCE_LABELS, STATUS_LABELS

    return {"profile.status": VOLUNTEER_STATUS_LABELS, "sessions.status": STATUS_LABELS,
            "sessions.source": SOURCE_LABELS, "sessions.checkout_source": SOURCE_LABELS,
            "sessions.flags": FLAG_LABELS}


@dataclass(frozen=True)
class Words:
    """How the download's CSV files word headers and codes: `gettext` translates this module's
    msgids (identity: English); `values` are the UI's own label maps (already in the reader's
    language), by "section.column" or by column in every section: {code: label}."""

    gettext: Callable[..., str] = english
    values: Mapping[str, Mapping[str, object]] = field(default_factory=dict)


def _header(key: str, words: Words) -> str:
    label = HEADERS.get(key)
    if label is None:
        return key
    if isinstance(label, tuple):
        return words.gettext(label[0], what=words.gettext(label[1]))
    return words.gettext(label)


def _worded(section: str, key: str, value, words: Words, domain: dict) -> object:
    """One cell: a coded value in words; anything else as it is."""
    if value is None or value == "":
        return value
    if isinstance(value, bool):
        return words.gettext("Yes") if value else words.gettext("No")
    if key == "actor_label" and section == "audit_entries":
        if value in ACTOR_LABELS:
            return words.gettext(ACTOR_LABELS[value])
        if str(value).startswith("kiosk:"):
            return words.gettext(KIOSK_ACTOR, id=str(value).split(":", 1)[1])
        return value
    labels = words.values.get(f"{section}.{key}") or words.values.get(key)
    if labels is not None:
        return str(labels.get(value, value))
    labels = domain.get(f"{section}.{key}")
    if labels is None:
        return value
    if key == "flags":  # comma-separated
        return words.gettext(", ").join(words.gettext(labels[f]) if f in labels else f
                                        for f in str(value).split(",") if f)
    return words.gettext(labels[value]) if value in labels else value


def _csv(section: str, rows: list[dict], words: Words) -> bytes:
    from .export import neutralise

    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    headers: list[str] = []
    for row in rows:
        headers += [k for k in row if k not in headers]
    domain = _domain_values()
    writer.writerow([_header(h, words) for h in headers])
    for row in rows:
        writer.writerow([neutralise("" if row.get(h) is None else
                                    _worded(section, h, row.get(h), words, domain))
                         for h in headers])
    return buffer.getvalue().encode("utf-8-sig")


def my_data_zip(session: Session, volunteer: Volunteer, actor,
                now: dt.datetime | None = None, root=None, words: Words | None = None) -> bytes:
    """my-data.zip: data.json (every section, column names and codes), one CSV per section
    (headers and codes in `words`: the reader's language) and, with the upload `root`, the
    head-shot photo (photo.jpg); audited."""
    from .files import StoredFile, read_stored

    data = my_data(session, volunteer)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("data.json", json.dumps(data, ensure_ascii=False, indent=2, default=str))
        for name, rows in data.items():
            archive.writestr(f"{name}.csv", _csv(name, rows, words or Words()))
        photo = session.get(StoredFile, volunteer.photo_file_id) \
            if volunteer.photo_file_id and root is not None else None
        if photo is not None:
            try:
                archive.writestr("photo.jpg", read_stored(root, photo))
            except (FileNotFoundError, ValueError):
                pass
    audit.record(session, action="id_number_export", entity="volunteer", entity_id=volunteer.id,
                 actor=actor, unit_id=volunteer.unit_id, now=now,
                 after={"purpose": "my_data_download"})
    return buffer.getvalue()
