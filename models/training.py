"""Training (教育訓練): the course catalogue and each volunteer's records (the unit's own events,
whose attendance adds records, are models/training_events.py).

Training is never service time: nothing here creates or touches service sessions.
"""
from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass

from sqlalchemy import Date, Enum, ForeignKey, String, UniqueConstraint, bindparam, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from . import audit
from .base import Base, UTCDateTime, begin_write, read, utcnow
from .files import StoredFile
from .people import Volunteer, of_volunteers
from .unit import Category


class TrainingKind(str, enum.Enum):
    basic = "basic"  # 基礎訓練
    special = "special"  # 特殊訓練 (per category)


class TrainingMode(str, enum.Enum):
    in_person = "in_person"  # 實體課程
    online = "online"  # 臺北E大, the volunteer's own certificate
    group_viewing = "group_viewing"  # unit-run group viewing, certified by the unit


class TrainingCourse(Base):
    __tablename__ = "training_course"
    __table_args__ = (UniqueConstraint("unit_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    code: Mapped[str] = mapped_column(String(30))
    name: Mapped[str] = mapped_column(String(120))
    name_en: Mapped[str] = mapped_column(String(160), default="")
    kind: Mapped[TrainingKind] = mapped_column(Enum(TrainingKind, native_enum=False, length=20))
    category: Mapped[Category | None] = mapped_column(Enum(Category, native_enum=False, length=30))
    minutes: Mapped[int] = mapped_column()  # stored as whole minutes like all durations
    run_by_unit: Mapped[bool] = mapped_column(default=False)  # 運用單位業務簡介: always the unit's
    legacy: Mapped[bool] = mapped_column(default=False)  # the former 12 h / 6-course basic set
    active: Mapped[bool] = mapped_column(default=True)


class TrainingEvent(Base):
    """A training session the unit runs; marking attendance creates training records."""

    __tablename__ = "training_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("training_course.id"))
    held_on: Mapped[dt.date] = mapped_column(Date)
    place: Mapped[str] = mapped_column(String(200), default="")
    mode: Mapped[TrainingMode] = mapped_column(Enum(TrainingMode, native_enum=False, length=20),
                                               default=TrainingMode.in_person)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    course: Mapped[TrainingCourse] = relationship()


class TrainingRecord(Base):
    __tablename__ = "training_record"
    __table_args__ = (UniqueConstraint("volunteer_id", "course_id", "completed_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    volunteer_id: Mapped[int] = mapped_column(ForeignKey("volunteer.id"), index=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("training_course.id"))
    completed_on: Mapped[dt.date] = mapped_column(Date)
    minutes: Mapped[int] = mapped_column()
    mode: Mapped[TrainingMode] = mapped_column(Enum(TrainingMode, native_enum=False, length=20))
    provider: Mapped[str] = mapped_column(String(120), default="")
    certificate_no: Mapped[str] = mapped_column(String(60), default="")
    certificate_file_id: Mapped[int | None] = mapped_column(ForeignKey("stored_file.id"))
    event_id: Mapped[int | None] = mapped_column(ForeignKey("training_event.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    volunteer: Mapped[Volunteer] = relationship()
    course: Mapped[TrainingCourse] = relationship()
    certificate_file: Mapped[StoredFile | None] = relationship()


# --- the catalogue -------------------------------------------------------------------------

@dataclass(frozen=True)
class CourseSpec:
    code: str
    name: str
    name_en: str
    kind: TrainingKind
    category: Category | None
    minutes: int
    run_by_unit: bool = False
    legacy: bool = False


# From shared/spec/rules.md (Training): the numbers are binding. The unit may edit names, hours
# and retire a course; seeding never overwrites what the unit changed.
CATALOGUE: tuple[CourseSpec, ...] = (
    CourseSpec("B01", "志願服務內涵及倫理", "Volunteer service: meaning and ethics",
               TrainingKind.basic, None, 120),
    CourseSpec("B02", "志願服務法規之認識", "Volunteer service law", TrainingKind.basic, None, 120),
    CourseSpec("B03", "志願服務經驗分享", "Volunteer service: sharing experience",
               TrainingKind.basic, None, 120),
    CourseSpec("B12", "基礎訓練（舊制 12 小時 6 門課程）", "Basic training (former 12 h set)",
               TrainingKind.basic, None, 720, legacy=True),
    CourseSpec("SW01", "社會福利概述", "Overview of social welfare", TrainingKind.special,
               Category.social_welfare, 120),
    CourseSpec("SW02", "社會資源與志願服務", "Social resources and volunteer service",
               TrainingKind.special, Category.social_welfare, 60),
    CourseSpec("SW03", "綜合討論", "General discussion", TrainingKind.special,
               Category.social_welfare, 60),
    CourseSpec("SW04", "運用單位業務簡介及工作內容說明(含實習)",
               "The unit's work and the volunteer's tasks (with practice)",
               TrainingKind.special, Category.social_welfare, 120, run_by_unit=True),
    CourseSpec("CO01", "綜合討論", "General discussion", TrainingKind.special,
               Category.comprehensive, 60),
    CourseSpec("CO02", "運用單位業務簡介及工作內容說明(含實習)",
               "The unit's work and the volunteer's tasks (with practice)",
               TrainingKind.special, Category.comprehensive, 120, run_by_unit=True),
)


def seed_catalogue(session: Session, unit, actor=None, audited: bool = True) -> list[TrainingCourse]:
    """Add the courses of rules.md the unit does not have yet (by code). Idempotent: courses
    already there, edited or not, are left alone. Returns the courses added. Caller commits.
    `audited=False` only for test fixtures that set up a unit's data."""
    have = set(session.scalars(select(TrainingCourse.code)
                               .where(TrainingCourse.unit_id == unit.id)))
    added = []
    for spec in CATALOGUE:
        if spec.code in have:
            continue
        course = TrainingCourse(unit_id=unit.id, code=spec.code, name=spec.name,
                                name_en=spec.name_en, kind=spec.kind, category=spec.category,
                                minutes=spec.minutes, run_by_unit=spec.run_by_unit,
                                legacy=spec.legacy, active=True)
        session.add(course)
        added.append(course)
    if added:
        session.flush()
    if added and audited:
        audit.record(session, action="training_catalogue_seeded", entity="unit",
                     entity_id=unit.id, actor=actor, unit_id=unit.id,
                     after={"codes": [c.code for c in added]})
    return added


def courses_of(session: Session, unit_id: int, include_inactive: bool = True) -> list[TrainingCourse]:
    query = select(TrainingCourse).where(TrainingCourse.unit_id == unit_id)
    if not include_inactive:
        query = query.where(TrainingCourse.active.is_(True))
    return list(session.scalars(query.order_by(TrainingCourse.kind, TrainingCourse.code)))


class InvalidTraining(ValueError):
    """Field name -> error code (required, too_long, not_positive, too_many, over_course,
    unknown, other_unit, future, before_birth, duplicate, repeated); `params` for the messages
    (over_course: hours; repeated: day, of the record there)."""

    def __init__(self, errors: dict[str, str], params: dict | None = None):
        super().__init__(", ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors
        self.params = params or {}


NAME_MAX, PROVIDER_MAX, CERT_NO_MAX, PLACE_MAX = 120, 120, 60, 200
MAX_MINUTES = 24 * 60
CERTIFICATE_MAX_BYTES = 5 * 1024 * 1024


def over_course_hours(course: TrainingCourse, minutes: int) -> bool:
    """More time than the course lasts. Each course's hours are set by rules.md (Training: the
    basic courses 2 h each, the special courses 1 or 2 h, the former basic set 12 h), and a
    certificate of the course certifies those hours: more on one record is a typing slip (5 h
    for the 1 h 社會資源與志願服務) that the unit's completion certificate and the evaluation's
    training hours would carry. Fewer is allowed: the record keeps what the certificate says.
    A unit whose certificates really say more (a rule changed) changes the course's hours in
    the catalogue (update_course) first."""
    return minutes > course.minutes


def _course_data(course: TrainingCourse) -> dict:
    return {"code": course.code, "name": course.name, "name_en": course.name_en,
            "minutes": course.minutes, "active": course.active}


def update_course(session: Session, course: TrainingCourse, actor, *, name: str, name_en: str,
                  minutes: int, active: bool) -> TrainingCourse:
    begin_write(session)
    errors = {}
    name, name_en = (name or "").strip(), (name_en or "").strip()
    if not name:
        errors["name"] = "required"
    elif len(name) > NAME_MAX:
        errors["name"] = "too_long"
    if len(name_en) > 160:
        errors["name_en"] = "too_long"
    if minutes is None or minutes <= 0:
        errors["minutes"] = "not_positive"
    elif minutes > MAX_MINUTES:  # the most one training record holds (add_record, the import)
        errors["minutes"] = "too_many"
    if errors:
        raise InvalidTraining(errors)
    before = _course_data(course)
    course.name, course.name_en, course.minutes, course.active = name, name_en, minutes, active
    session.flush()
    audit.record(session, action="training_course_updated", entity="training_course",
                 entity_id=course.id, actor=actor, unit_id=course.unit_id, before=before,
                 after=_course_data(course))
    return course


# --- records -------------------------------------------------------------------------------

def _record_data(record: TrainingRecord) -> dict:
    return {"volunteer_id": record.volunteer_id, "course_id": record.course_id,
            "completed_on": record.completed_on.isoformat(), "minutes": record.minutes,
            "mode": record.mode.value, "provider": record.provider,
            "certificate_no": record.certificate_no,
            "certificate_file_id": record.certificate_file_id, "event_id": record.event_id}


def _check_record(session: Session, volunteer: Volunteer, course: TrainingCourse | None,
                  completed_on, minutes, mode, provider: str, certificate_no: str,
                  today: dt.date | None, record_id: int | None = None,
                  kept: tuple | None = None, repeat_ok: bool = False,
                  params: dict | None = None) -> dict:
    """The record's problems (field -> code). `kept`: the (course id, minutes) the record had,
    whose hours are not checked against the course again (its hours may have been lowered
    since: the record can still get its certificate file).

    A day before the volunteer was born is refused (before_birth). A second record of a course
    the volunteer already has (another day) is refused (repeated; `params` gets the day of the
    one there): typed by hand, it is a double entry - the first record is the one whose date
    counts (training_status) and whose certificate goes with the record book, and two would
    count the course's hours twice - so the earlier record is corrected instead. Attendance at
    an event the unit ran (`repeat_ok`, mark_attendance) is recorded even so: the roster
    keeps who came."""
    errors = {}
    if course is None:
        errors["course_id"] = "required"
    elif course.unit_id != volunteer.unit_id:
        errors["course_id"] = "other_unit"
    if completed_on is None:
        errors["completed_on"] = "required"
    elif today is not None and completed_on > today:
        errors["completed_on"] = "future"
    elif volunteer.birth_date is not None and completed_on < volunteer.birth_date:
        errors["completed_on"] = "before_birth"
    if minutes is None or minutes <= 0:
        errors["minutes"] = "not_positive"
    elif minutes > MAX_MINUTES:
        errors["minutes"] = "too_many"
    elif course is not None and over_course_hours(course, minutes) \
            and kept != (course.id, minutes):
        errors["minutes"] = "over_course"
    try:
        TrainingMode(getattr(mode, "value", mode))
    except ValueError:
        errors["mode"] = "unknown"
    if len(provider or "") > PROVIDER_MAX:
        errors["provider"] = "too_long"
    if len(certificate_no or "") > CERT_NO_MAX:
        errors["certificate_no"] = "too_long"
    if not errors:
        same = session.scalar(select(TrainingRecord.id).where(
            TrainingRecord.volunteer_id == volunteer.id, TrainingRecord.course_id == course.id,
            TrainingRecord.completed_on == completed_on))
        if same is not None and same != record_id:
            errors["completed_on"] = "duplicate"
        elif not repeat_ok:
            earlier = session.scalar(select(TrainingRecord.completed_on).where(
                TrainingRecord.volunteer_id == volunteer.id,
                TrainingRecord.course_id == course.id,
                TrainingRecord.id != (record_id or 0)).order_by(TrainingRecord.completed_on))
            if earlier is not None:
                errors["course_id"] = "repeated"
                if params is not None:
                    params["day"] = earlier.isoformat()
    return errors


def _refuse(errors: dict, course: TrainingCourse | None, params: dict | None = None) -> None:
    if errors:
        params = dict(params or {})
        if errors.get("minutes") == "over_course":
            params["hours"] = f"{course.minutes / 60:g}"
        raise InvalidTraining(errors, params)


def _keep_certificate(session: Session, record: TrainingRecord, unit_id: int,
                      certificate: bytes | None, certificate_name: str, actor, root) -> None:
    """The uploaded certificate in place of the record's file before (files.replace_file)."""
    from .files import replace_file

    if certificate is None:
        return
    if root is None:
        raise TypeError("a certificate needs the upload root")
    replace_file(session, record, "certificate_file_id", certificate, certificate_name,
                 unit_id=unit_id, kind="certificate", root=root, actor=actor,
                 max_bytes=CERTIFICATE_MAX_BYTES)


def record_minutes(course: TrainingCourse | None, minutes: int | None) -> int | None:
    """A record's minutes: as given, or, left empty (None), the course's own hours - most
    certificates carry exactly those. The one default for every way a record is made: the
    record form, the roster import (empty 時數), attendance at an event."""
    if minutes is None and course is not None:
        return course.minutes
    return minutes


def add_record(session: Session, volunteer: Volunteer, *, course: TrainingCourse | None,
               completed_on: dt.date | None, minutes: int | None, mode, provider: str = "",
               certificate_no: str = "", certificate: bytes | None = None,
               certificate_name: str = "", root=None, event_id: int | None = None,
               actor=None, today: dt.date | None = None,
               repeat_ok: bool = False) -> TrainingRecord:
    """Record one course the volunteer completed, with its certificate's bytes if given (kept
    under `root`). `minutes` None: the course's hours (record_minutes). Raises InvalidTraining
    or files.UploadRefused (nothing added). A second record of a course is refused unless
    `repeat_ok` (_check_record)."""
    begin_write(session)
    minutes = record_minutes(course, minutes)
    provider, certificate_no = (provider or "").strip(), (certificate_no or "").strip()
    params: dict = {}
    _refuse(_check_record(session, volunteer, course, completed_on, minutes, mode, provider,
                          certificate_no, today, repeat_ok=repeat_ok, params=params),
            course, params)
    record = TrainingRecord(volunteer_id=volunteer.id, course_id=course.id,
                            completed_on=completed_on, minutes=minutes,
                            mode=TrainingMode(getattr(mode, "value", mode)), provider=provider,
                            certificate_no=certificate_no, event_id=event_id)
    session.add(record)
    _keep_certificate(session, record, volunteer.unit_id, certificate, certificate_name, actor,
                      root)
    session.flush()
    audit.record(session, action="training_record_added", entity="training_record",
                 entity_id=record.id, actor=actor, unit_id=volunteer.unit_id,
                 after=_record_data(record))
    return record


def update_record(session: Session, record: TrainingRecord, *, course: TrainingCourse | None,
                  completed_on, minutes, mode, provider: str = "", certificate_no: str = "",
                  certificate: bytes | None = None, certificate_name: str = "", root=None,
                  actor=None, today: dt.date | None = None) -> TrainingRecord:
    """Correct a record. An uploaded certificate (bytes, kept under `root`) replaces the file
    before, which is deleted; None keeps it. `minutes` None: the course's hours
    (record_minutes). Nothing changed: nothing audited. Raises InvalidTraining or
    files.UploadRefused."""
    begin_write(session)
    minutes = record_minutes(course, minutes)
    provider, certificate_no = (provider or "").strip(), (certificate_no or "").strip()
    params: dict = {}
    _refuse(_check_record(session, record.volunteer, course, completed_on, minutes, mode,
                          provider, certificate_no, today, record_id=record.id,
                          kept=(record.course_id, record.minutes),
                          # a pair recorded before the rule can still be corrected
                          repeat_ok=record.event_id is not None or (
                              course is not None and course.id == record.course_id),
                          params=params),
            course, params)
    before = _record_data(record)
    record.course_id, record.course = course.id, course
    record.completed_on, record.minutes = completed_on, minutes
    record.mode = TrainingMode(getattr(mode, "value", mode))
    record.provider, record.certificate_no = provider, certificate_no
    _keep_certificate(session, record, record.volunteer.unit_id, certificate, certificate_name,
                      actor, root)
    session.flush()
    after = _record_data(record)
    if after != before:
        audit.record(session, action="training_record_updated", entity="training_record",
                     entity_id=record.id, actor=actor, unit_id=record.volunteer.unit_id,
                     before=before, after=after)
    return record


def delete_record(session: Session, record: TrainingRecord, actor=None, *, root=None) -> None:
    """Delete a record and its certificate file (files.release: kept under `root`, which a
    record with a certificate needs)."""
    from .files import release

    begin_write(session)
    before = _record_data(record)
    unit_id, record_id = record.volunteer.unit_id, record.id
    if record.certificate_file_id is not None and root is None:
        raise TypeError("deleting a certificate needs the upload root")
    session.delete(record)
    session.flush()
    audit.record(session, action="training_record_deleted", entity="training_record",
                 entity_id=record_id, actor=actor, unit_id=unit_id, before=before)
    release(session, before["certificate_file_id"], root=root, actor=actor)


def records_of(session: Session, volunteer_id: int) -> list[TrainingRecord]:
    return list(session.scalars(
        select(TrainingRecord).where(TrainingRecord.volunteer_id == volunteer_id)
        .order_by(TrainingRecord.completed_on, TrainingRecord.id)))


# --- progress and seniority ------------------------------------------------------------------

@dataclass
class TrainingStatus:
    """Where a volunteer stands for one category, as of a day.

    `missing` names the courses still to do: the current basic set when basic training is not
    done (neither the 3-course set nor the former 12 h certificate), then the category's special
    courses not yet done. Service years (年資) start at `seniority_start`: the later of the two
    completion dates."""

    category: Category
    basic_done_on: dt.date | None
    special_done_on: dt.date | None
    missing_basic: list[TrainingCourse]
    missing_special: list[TrainingCourse]

    @property
    def basic_done(self) -> bool:
        return self.basic_done_on is not None

    @property
    def special_done(self) -> bool:
        return self.special_done_on is not None

    @property
    def complete(self) -> bool:
        return self.basic_done and self.special_done

    @property
    def seniority_start(self) -> dt.date | None:
        if self.basic_done_on is None or self.special_done_on is None:
            return None
        return max(self.basic_done_on, self.special_done_on)

    @property
    def missing(self) -> list[TrainingCourse]:
        return [*self.missing_basic, *self.missing_special]


def _done_by(records: list[TrainingRecord], courses: list[TrainingCourse]) -> tuple[dt.date | None, list]:
    """The day the last of `courses` was first completed, or None and the courses missing."""
    first: dict[int, dt.date] = {}
    for r in records:
        if r.course_id not in first or r.completed_on < first[r.course_id]:
            first[r.course_id] = r.completed_on
    missing = [c for c in courses if c.id not in first]
    if missing or not courses:
        return None, missing
    return max(first[c.id] for c in courses), []


# training_status() runs on every check-in (the training gate): its statements are built once,
# and read plain rows (the fields the rules need), not whole ORM objects.
_CATALOGUE = (select(TrainingCourse.id, TrainingCourse.code, TrainingCourse.name, TrainingCourse.name_en,
                     TrainingCourse.kind, TrainingCourse.category, TrainingCourse.active,
                     TrainingCourse.legacy)
              .where(TrainingCourse.unit_id == bindparam("unit_id"))
              .order_by(TrainingCourse.kind, TrainingCourse.code))
_RECORDS = select(TrainingRecord.course_id, TrainingRecord.completed_on).where(
    TrainingRecord.volunteer_id == bindparam("volunteer_id"))
_RECORDS_AS_OF = _RECORDS.where(TrainingRecord.completed_on <= bindparam("as_of"))


def training_status(session: Session, volunteer: Volunteer, category: Category,
                    as_of: dt.date | None = None) -> TrainingStatus:
    """Basic and special training of `volunteer` for `category`, counting only records
    completed on or before `as_of` (hours count from the certificate's date).
    The courses in `missing_*` are rows with the course's id, code, name, name_en, kind and
    category."""
    catalogue = read(session, _CATALOGUE, {"unit_id": volunteer.unit_id}).all()  # active and retired
    if as_of is None:
        records = read(session, _RECORDS, {"volunteer_id": volunteer.id}).all()
    else:
        records = read(session, _RECORDS_AS_OF, {"volunteer_id": volunteer.id, "as_of": as_of}).all()
    return status_from(catalogue, records, category)


def catalogues_of(session: Session, unit_ids) -> dict[int, list]:
    """The catalogue rows training_status() reads (active and retired courses), for several
    units in one query: unit id -> rows in the catalogue's order."""
    out: dict[int, list] = {unit_id: [] for unit_id in unit_ids}
    if out:
        query = (select(TrainingCourse.unit_id, *_CATALOGUE.selected_columns)
                 .where(TrainingCourse.unit_id.in_(list(out)))
                 .order_by(TrainingCourse.kind, TrainingCourse.code))
        for row in session.execute(query):
            out[row.unit_id].append(row)
    return out


def training_statuses(session: Session, volunteers, category: Category) -> dict[int, TrainingStatus]:
    """training_status() (as of now) for many volunteers in two queries however many:
    volunteer id -> status for `category`."""
    volunteers = list(volunteers)
    if not volunteers:
        return {}
    units = {v.unit_id for v in volunteers}
    catalogues = catalogues_of(session, units)
    records: dict[int, list] = {v.id: [] for v in volunteers}
    query = of_volunteers(select(TrainingRecord.volunteer_id, TrainingRecord.course_id,
                                 TrainingRecord.completed_on),
                          TrainingRecord.volunteer_id, records, units)
    for row in session.execute(query):
        if row.volunteer_id in records:
            records[row.volunteer_id].append(row)
    return {v.id: status_from(catalogues[v.unit_id], records[v.id], category) for v in volunteers}


def status_from(catalogue, records, category: Category) -> TrainingStatus:
    """training_status() from rows already read: the unit's catalogue (active and retired
    courses, as _CATALOGUE reads them) and the volunteer's records (rows with course_id and
    completed_on, only those that count: on or before the day asked about)."""
    category = Category(getattr(category, "value", category))
    courses = [c for c in catalogue if c.active]
    # Any record of a course counts, even of a course since retired.
    current_basic = [c for c in courses if c.kind == TrainingKind.basic and not c.legacy]
    basic_on, missing_basic = _done_by(records, current_basic)
    legacy_ids = {c.id for c in catalogue if c.kind == TrainingKind.basic and c.legacy}
    legacy_dates = [r.completed_on for r in records if r.course_id in legacy_ids]
    if legacy_dates and (basic_on is None or min(legacy_dates) < basic_on):
        basic_on, missing_basic = min(legacy_dates), []
    special = [c for c in courses if c.kind == TrainingKind.special and c.category == category]
    special_on, missing_special = _done_by(records, special)
    if not current_basic and basic_on is None:
        missing_basic = []  # nothing in the catalogue to name; basic_done_on stays None
    return TrainingStatus(category, basic_on, special_on, missing_basic, missing_special)
