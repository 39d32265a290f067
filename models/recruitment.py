"""Selection (面談甄選): a person's application to volunteer (報名), to an opening or to the
unit's general form, the interview and the decision; accepting makes the volunteer and its first
one-time set-password link (models/account_links). The openings are models/openings.py."""
from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import Date, Enum, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, UTCDateTime, utcnow
from .idnumbers import mask
from .openings import Opening, _require_admin, accepts_applications
from .people import Gender, User, Volunteer
from .messages import N_, Refused


class ApplicationStatus(str, enum.Enum):
    applied = "applied"
    interview_scheduled = "interview_scheduled"
    accepted = "accepted"
    declined = "declined"
    waitlisted = "waitlisted"


class Application(Base):
    """A person's application to volunteer (報名), through interview to a decision."""

    __tablename__ = "application"

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    opening_id: Mapped[int | None] = mapped_column(ForeignKey("opening.id"), index=True)
    reference_no: Mapped[str] = mapped_column(String(30), unique=True)
    name_zh: Mapped[str] = mapped_column(String(60))
    name_en: Mapped[str] = mapped_column(String(120), default="")
    gender: Mapped[Gender] = mapped_column(Enum(Gender, native_enum=False, length=10))
    birth_date: Mapped[dt.date] = mapped_column(Date)
    phone: Mapped[str] = mapped_column(String(40))
    email: Mapped[str] = mapped_column(String(254), default="")
    id_kind: Mapped[str] = mapped_column(String(20), default="national_id")
    id_number: Mapped[str] = mapped_column(String(20))
    address: Mapped[str] = mapped_column(String(300), default="")
    availability: Mapped[str] = mapped_column(String(500), default="")
    experience: Mapped[str] = mapped_column(Text, default="")
    emergency_contact: Mapped[str] = mapped_column(String(120), default="")
    emergency_phone: Mapped[str] = mapped_column(String(40), default="")
    guardian_name: Mapped[str] = mapped_column(String(60), default="")  # minors only
    guardian_consent: Mapped[bool] = mapped_column(default=False)
    privacy_consent_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)  # PDPA §8 notice accepted
    status: Mapped[ApplicationStatus] = mapped_column(
        Enum(ApplicationStatus, native_enum=False, length=30), default=ApplicationStatus.applied)
    interview_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    interview_place: Mapped[str] = mapped_column(String(200), default="")
    interviewer_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    notes: Mapped[str] = mapped_column(Text, default="")
    volunteer_id: Mapped[int | None] = mapped_column(ForeignKey("volunteer.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}

    opening: Mapped[Opening | None] = relationship()
    interviewer: Mapped[User | None] = relationship()
    volunteer: Mapped[Volunteer | None] = relationship()

    @property
    def masked_id_number(self) -> str:
        """What a screen shows (rules.md, privacy: ID numbers masked on screen)."""
        return mask(self.id_number)


# =============================================================================================
# Domain rules. No Flask: callers pass the Session and `now`; callers commit. Every change is
# audited. Refusals raise RecruitmentError (an English msgid with %(params)s, translated by the
# UI) or InvalidApplication (field -> code, for the public form).
# =============================================================================================

import secrets  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402

from sqlalchemy import func, select  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from . import audit  # noqa: E402
from .account_links import account_set_up_at, create_set_password_link  # noqa: E402
from .base import begin_write, one_writer_per, taipei_date  # noqa: E402
from .idnumbers import ID_KINDS, gender_problem, id_problem, normalise  # noqa: E402
from .contact import half_width  # noqa: E402
from .people import Role, VolunteerStatus  # noqa: E402
from .slips import next_serial  # noqa: E402


APPLICATION_KIND = "application"  # next_serial kind: gap-free reference numbers per unit and year
ADULT_AGE = 18  # under 18 on the day of applying: guardian name and consent required
FIRST_VOLUNTEER_NO = 1001
from .account_links import account_email  # noqa: E402

OPEN_STATES = {ApplicationStatus.applied, ApplicationStatus.interview_scheduled,
               ApplicationStatus.waitlisted}
TRANSITIONS: dict[ApplicationStatus, set[ApplicationStatus]] = {
    ApplicationStatus.applied: {ApplicationStatus.interview_scheduled, ApplicationStatus.accepted,
                                ApplicationStatus.declined, ApplicationStatus.waitlisted},
    ApplicationStatus.interview_scheduled: {ApplicationStatus.interview_scheduled,
                                            ApplicationStatus.accepted, ApplicationStatus.declined,
                                            ApplicationStatus.waitlisted},
    ApplicationStatus.waitlisted: {ApplicationStatus.interview_scheduled,
                                   ApplicationStatus.accepted, ApplicationStatus.declined},
    ApplicationStatus.accepted: set(),
    ApplicationStatus.declined: set(),
}
DECISIONS = (ApplicationStatus.accepted, ApplicationStatus.declined, ApplicationStatus.waitlisted)


class RecruitmentError(Refused):
    """A refused pipeline action; `message` is an English msgid with %(params)s."""


class StaleApplication(RecruitmentError):
    def __init__(self, changed_by: str):
        super().__init__(N_("This application was already changed by %(who)s. Here is the current row."),
                         who=changed_by)


class AccountAlreadySetUp(RecruitmentError):
    """A new welcome link asked for an account already set up, without confirming it."""

    def __init__(self):
        super().__init__(N_("This volunteer has already set up their account: confirm that they "
                            "need a new link."))


class InvalidApplication(Exception):
    """The public form's refusals: {field name: code}."""

    def __init__(self, errors: dict[str, str]):
        super().__init__(", ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


# --- applications ------------------------------------------------------------------------------

def age_on(birth_date: dt.date, day: dt.date) -> int:
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))


def is_minor(birth_date: dt.date, day: dt.date) -> bool:
    return age_on(birth_date, day) < ADULT_AGE


MAX_AGE = 120


def birth_date_problem(birth_date: dt.date, today: dt.date) -> str | None:
    """The one rule for a birth date, wherever it is entered (the application form, an admin's
    correction; the roster import says the same): "future" after today (Asia/Taipei), "too_old"
    more than MAX_AGE years before it, else None."""
    if birth_date > today:
        return "future"
    if age_on(birth_date, today) > MAX_AGE:
        return "too_old"
    return None


def format_reference(unit_id: int, year: int, seq: int) -> str:
    """A2026-00017 for the first unit; other units carry their number (A2026-00017-2): the column
    is unique across units."""
    base = f"A{year}-{seq:05d}"
    return base if unit_id == 1 else f"{base}-{unit_id}"


APPLICATION_FIELDS = ("name_zh", "name_en", "gender", "birth_date", "phone", "email", "id_kind",
                      "id_number", "address", "availability", "experience", "emergency_contact",
                      "emergency_phone", "guardian_name", "guardian_consent")


def guardian_problems(birth: dt.date, today: dt.date, name: str | None,
                      consent: bool) -> dict[str, str]:
    """Someone under ADULT_AGE on `today` serves only with a parent or guardian: their name and
    their consent. {field: code} with codes guardian_name, guardian_consent; empty for an adult.
    The application form and a correction of the birth date (models.privacy) both ask this."""
    if not is_minor(birth, today):
        return {}
    errors = {}
    if not (name or "").strip():
        errors["guardian_name"] = "guardian_name"
    if not consent:
        errors["guardian_consent"] = "guardian_consent"
    return errors


def application_problems(data: dict, today: dt.date) -> dict[str, str]:
    """The rules beyond field formats: {field: code}. Codes: id:<English message>, future,
    too_old, guardian_name, guardian_consent, privacy_consent, id_kind; id:<English message> on
    gender too, when the ID number's sex digit disagrees with it."""
    errors: dict[str, str] = {}
    kind = data.get("id_kind") or "national_id"
    if kind not in ID_KINDS:
        errors["id_kind"] = "id_kind"
    else:
        problem = id_problem(kind, data.get("id_number", ""))
        if problem:
            errors["id_number"] = "id:" + problem
        elif problem := gender_problem(kind, data.get("id_number", ""), data.get("gender")):
            errors["gender"] = "id:" + problem
    birth = data.get("birth_date")
    if birth is not None:
        if problem := birth_date_problem(birth, today):
            errors["birth_date"] = problem
        else:
            errors.update(guardian_problems(birth, today, data.get("guardian_name"),
                                            bool(data.get("guardian_consent"))))
    if not data.get("privacy_consent"):
        errors["privacy_consent"] = "privacy_consent"
    return errors


def application_snapshot(a: Application) -> dict:
    """For the audit log: the ID number masked (the log is read by more eyes than the row)."""
    from .idnumbers import mask

    return {"reference_no": a.reference_no, "status": a.status.value, "name_zh": a.name_zh,
            "id_number": mask(a.id_number), "opening_id": a.opening_id,
            "interview_at": a.interview_at.isoformat() if a.interview_at else None,
            "interview_place": a.interview_place, "interviewer_id": a.interviewer_id,
            "notes": a.notes, "volunteer_id": a.volunteer_id}


UNDECIDED = (ApplicationStatus.applied, ApplicationStatus.interview_scheduled,
             ApplicationStatus.waitlisted)


def undecided_application(session: Session, unit_id: int, opening: Opening | None,
                          id_number: str, name_zh: str, birth_date: dt.date) -> Application | None:
    """The same person's application to the same opening (or the unit's general form) still
    waiting for a decision: same ID number, name and birth date. A form sent twice (a double
    tap, a browser re-sending the POST) finds the first one. All three must match, so the form
    tells no stranger typing someone's ID number that they applied."""
    return session.scalar(select(Application).where(
        Application.unit_id == unit_id,
        Application.opening_id.is_(None) if opening is None else Application.opening_id == opening.id,
        Application.id_number == id_number, Application.name_zh == name_zh,
        Application.birth_date == birth_date, Application.status.in_(UNDECIDED),
    ).order_by(Application.id).limit(1))


def submit_application(session: Session, unit_id: int, opening: Opening | None, data: dict,
                       now: dt.datetime) -> tuple[Application, bool]:
    """A public application, and whether it is new. `data` holds APPLICATION_FIELDS plus
    privacy_consent (bool). Closed or draft openings refuse (InvalidApplication
    {"opening": "closed"}). The same person's undecided application to the same opening is
    returned instead of a second one (False), unchanged."""
    begin_write(session)
    today = taipei_date(now)
    if opening is not None and (opening.unit_id != unit_id or not accepts_applications(opening, today)):
        raise InvalidApplication({"opening": "closed"})
    errors = application_problems(data, today)
    if errors:
        raise InvalidApplication(errors)
    values = {k: data.get(k) for k in APPLICATION_FIELDS}
    for key, value in values.items():
        if isinstance(value, str):
            values[key] = value.strip()
    values["id_number"] = normalise(values["id_number"])
    values["id_kind"] = values["id_kind"] or "national_id"
    values["email"] = (values["email"] or "").lower()
    for name in ("phone", "emergency_phone"):
        values[name] = half_width(values[name])  # as phone_problem read it
    values["guardian_consent"] = bool(values["guardian_consent"]) and is_minor(values["birth_date"], today)
    if not is_minor(values["birth_date"], today):
        values["guardian_name"] = ""
    from .unit import Unit

    one_writer_per(session, Unit, unit_id)  # the same form twice at once: the second waits, finds the first
    earlier = undecided_application(session, unit_id, opening, values["id_number"],
                                    values["name_zh"], values["birth_date"])
    if earlier is not None:
        return earlier, False
    year = today.year
    seq = next_serial(session, unit_id, APPLICATION_KIND, year)
    application = Application(unit_id=unit_id, opening_id=opening.id if opening else None,
                              reference_no=format_reference(unit_id, year, seq),
                              privacy_consent_at=now, created_at=now,
                              status=ApplicationStatus.applied,
                              **{k: (v if v is not None else "") for k, v in values.items()})
    session.add(application)
    session.flush()
    audit.record(session, action="apply", entity="application", entity_id=application.id,
                 actor_label="public form", unit_id=unit_id,
                 after=application_snapshot(application), now=now)
    return application, True


def pipeline(session: Session, unit_id: int, status: str | None = None,
             opening_id: int | None = None) -> list[Application]:
    """The unit's applications, newest first; with `status`, in that state; with `opening_id`,
    those sent to that opening (its page lists them)."""
    query = select(Application).where(Application.unit_id == unit_id)
    if status:
        query = query.where(Application.status == ApplicationStatus(status))
    if opening_id is not None:
        query = query.where(Application.opening_id == opening_id)
    return list(session.scalars(query.order_by(Application.created_at.desc(), Application.id.desc())))


def new_applications(session: Session, unit_id: int) -> int:
    """Applications waiting for the admin: neither an interview scheduled nor a decision yet
    (the pipeline's "applied" filter lists them; the home page's "to do" counts them)."""
    return session.scalar(select(func.count()).select_from(Application).where(
        Application.unit_id == unit_id, Application.status == ApplicationStatus.applied)) or 0


def duplicates_of(session: Session, application: Application) -> list[Volunteer]:
    """Volunteers of the unit with the same ID or passport number (shown before accepting)."""
    return list(session.scalars(select(Volunteer).where(
        Volunteer.unit_id == application.unit_id,
        Volunteer.id_number == normalise(application.id_number),
        Volunteer.id != (application.volunteer_id or -1))))


def last_changed_by(session: Session, application_id: int) -> str:
    label = session.scalar(select(audit.AuditEntry.actor_label).where(
        audit.AuditEntry.entity == "application", audit.AuditEntry.entity_id == application_id)
        .order_by(audit.AuditEntry.id.desc()).limit(1))
    return label or "someone"


def _load_for_change(session: Session, application_id: int, actor: User,
                     expected_version: int | None) -> Application:
    _require_admin(actor)
    begin_write(session)
    application = session.get(Application, application_id, populate_existing=True)
    if application is None or application.unit_id != actor.unit_id:
        raise LookupError("no such application")
    if expected_version is not None and application.version != expected_version:
        raise StaleApplication(last_changed_by(session, application.id))
    return application


def _move(application: Application, to: ApplicationStatus) -> None:
    if to not in TRANSITIONS[application.status]:
        if application.status == ApplicationStatus.accepted and to == ApplicationStatus.accepted:
            raise RecruitmentError(N_("This application was already accepted."))
        raise RecruitmentError(N_("An application that is %(state)s cannot become %(to)s."),
                               state=application.status.value, to=to.value)
    application.status = to


def _add_note(application: Application, note: str | None, actor: User, now: dt.datetime) -> None:
    note = (note or "").strip()
    if note:
        stamp = taipei_date(now).isoformat()
        entry = f"[{stamp} {actor.name}] {note}"
        application.notes = f"{application.notes}\n{entry}".strip()


def schedule_interview(session: Session, application_id: int, actor: User, now: dt.datetime, *,
                       when: dt.datetime | None, place: str, interviewer_id: int | None,
                       note: str = "", expected_version: int | None = None) -> Application:
    application = _load_for_change(session, application_id, actor, expected_version)
    before = application_snapshot(application)
    if when is None:
        raise RecruitmentError(N_("Enter when the interview is."))
    if when < now.replace(second=0, microsecond=0):  # the form gives minutes: this minute is fine
        raise RecruitmentError(N_("The interview cannot be in the past: choose a time from now on."))
    if not (place or "").strip():
        raise RecruitmentError(N_("Enter where the interview is."))
    if interviewer_id is not None:
        interviewer = session.get(User, interviewer_id)
        if interviewer is None or interviewer.unit_id != actor.unit_id or \
                interviewer.role == Role.volunteer or not interviewer.active:
            raise RecruitmentError(N_("Choose an interviewer from the list."))
    _move(application, ApplicationStatus.interview_scheduled)
    application.interview_at = when
    application.interview_place = place.strip()
    application.interviewer_id = interviewer_id
    _add_note(application, note, actor, now)
    session.flush()
    audit.record(session, action="schedule_interview", entity="application",
                 entity_id=application.id, actor=actor, before=before,
                 after=application_snapshot(application), now=now)
    return application


@dataclass
class Decision:
    application: Application
    volunteer: Volunteer | None = None
    user: User | None = None
    token: str | None = None  # the set-password link's token: shown once, stored only hashed
    extra: dict = field(default_factory=dict)


def next_volunteer_no(session: Session, unit_id: int) -> str:
    numbers = session.scalars(select(Volunteer.volunteer_no).where(Volunteer.unit_id == unit_id))
    highest = max((int(n) for n in numbers if n and n.isdigit()), default=FIRST_VOLUNTEER_NO - 1)
    return str(highest + 1)


def decide(session: Session, application_id: int, actor: User, now: dt.datetime, *,
           outcome: ApplicationStatus | str, note: str = "",
           expected_version: int | None = None) -> Decision:
    """accepted / declined / waitlisted. Accepting creates the Volunteer (next free number,
    active, joined today), its User (role volunteer, random password) and a set-password link.
    An existing volunteer with the same ID number blocks accepting."""
    outcome = ApplicationStatus(outcome)
    if outcome not in DECISIONS:
        raise RecruitmentError(N_("Choose accept, decline or waitlist."))
    application = _load_for_change(session, application_id, actor, expected_version)
    before = application_snapshot(application)
    _move(application, outcome)
    _add_note(application, note, actor, now)
    application.decided_at = now
    result = Decision(application)
    if outcome == ApplicationStatus.accepted:
        dupes = duplicates_of(session, application)
        if dupes:
            raise RecruitmentError(
                N_("A volunteer with this ID number already exists: %(names)s."),
                names="、".join(f"{v.name_zh} ({v.volunteer_no})" for v in dupes))
        # One acceptance at a time per unit: two admins accepting at once must not take the
        # same volunteer number.
        from .unit import Unit

        one_writer_per(session, Unit, application.unit_id)
        number = next_volunteer_no(session, application.unit_id)
        user = User(unit_id=application.unit_id, email=account_email(session, application.unit_id,
                                                                application.email, number),
                    display_name=application.name_zh, role=Role.volunteer, created_at=now)
        user.set_password(secrets.token_urlsafe(32))  # nobody knows it: the link sets a real one
        session.add(user)
        session.flush()
        volunteer = Volunteer(
            unit_id=application.unit_id, user_id=user.id, volunteer_no=number,
            name_zh=application.name_zh, name_en=application.name_en, gender=application.gender,
            birth_date=application.birth_date, phone=application.phone, email=application.email,
            id_kind=application.id_kind, id_number=normalise(application.id_number),
            status=VolunteerStatus.active, joined_on=taipei_date(now), address=application.address,
            emergency_contact=application.emergency_contact,
            emergency_phone=application.emergency_phone, guardian_name=application.guardian_name,
            created_at=now)
        session.add(volunteer)
        session.flush()
        application.volunteer_id = volunteer.id
        token = create_set_password_link(session, user, actor, now)
        audit.record(session, action="create_volunteer", entity="volunteer", entity_id=volunteer.id,
                     actor=actor, after={"volunteer_no": number, "name_zh": volunteer.name_zh,
                                         "user_id": user.id, "email": user.email,
                                         "from_application": application.reference_no}, now=now)
        result.volunteer, result.user, result.token = volunteer, user, token
    session.flush()
    audit.record(session, action=outcome.value, entity="application", entity_id=application.id,
                 actor=actor, before=before, after=application_snapshot(application), now=now)
    return result


def add_note(session: Session, application_id: int, actor: User, now: dt.datetime, note: str,
             expected_version: int | None = None) -> Application:
    application = _load_for_change(session, application_id, actor, expected_version)
    if not (note or "").strip():
        raise RecruitmentError(N_("Write a note first."))
    before = application_snapshot(application)
    _add_note(application, note, actor, now)
    session.flush()
    audit.record(session, action="note", entity="application", entity_id=application.id,
                 actor=actor, before=before, after=application_snapshot(application), now=now)
    return application

# --- welcome links ----------------------------------------------------------------------------

def new_link_for_application(session: Session, application_id: int, actor: User,
                             now: dt.datetime, *, confirmed: bool = False) -> str:
    """Replace a lost or expired welcome link of an accepted applicant. For an account already
    set up (a forgotten password) only when `confirmed`: whoever holds the new sheet can set a
    new password and PIN (AccountAlreadySetUp otherwise)."""
    application = _load_for_change(session, application_id, actor, None)
    volunteer = application.volunteer
    if application.status != ApplicationStatus.accepted or volunteer is None or volunteer.user is None:
        raise RecruitmentError(N_("Only accepted applications have a welcome link."))
    if not confirmed and account_set_up_at(session, volunteer.user) is not None:
        raise AccountAlreadySetUp()
    return create_set_password_link(session, volunteer.user, actor, now)


APPLICATION_RETENTION = dt.timedelta(days=365)  # promised in the PDPA notice on the form


def purge_unaccepted_applications(session: Session, now: dt.datetime,
                                  keep_for: dt.timedelta = APPLICATION_RETENTION) -> int:
    """Delete applications that did not lead to a volunteer, one year after the last decision
    (or after applying, when never decided) — the PDPA notice on the form promises it.
    Accepted applications stay with the volunteer they created. The audit entry holds only ids."""
    from sqlalchemy import delete

    begin_write(session)
    cutoff = now - keep_for
    stale = list(session.scalars(select(Application.id).where(
        Application.status != ApplicationStatus.accepted,
        func.coalesce(Application.decided_at, Application.created_at) < cutoff)))
    if not stale:
        return 0
    session.execute(delete(Application).where(Application.id.in_(stale)))
    audit.record(session, action="applications_purged", entity="application", actor_label="system",
                 after={"ids": stale, "older_than": cutoff.isoformat()}, now=now)
    return len(stale)
