"""Personal-data requests (PDPA §3, §11): volunteers ask for correction or deletion; admins
handle them. Deletion anonymises the person and keeps the unit's statutory totals."""
from __future__ import annotations

import datetime as dt
import enum
import secrets

from sqlalchemy import Enum, ForeignKey, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from . import audit
from .base import Base, UTCDateTime, begin_write, taipei_date, utcnow
from .contact import email_problem, half_width, phone_problem
from .idnumbers import mask
from .people import Volunteer, VolunteerStatus, new_card_token
from .messages import N_


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
    for name, value in (("name_zh", name_zh), ("name_en", name_en)):
        if len(value) > IDENTITY_MAX[name]:
            raise PrivacyError(N_("Use at most %(max)d characters."), name, max=IDENTITY_MAX[name])
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
