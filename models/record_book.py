"""The volunteer service record book (志願服務紀錄冊): the photo, the book's number and dates (one
number, one volunteer), readiness to apply, and the application packet. What earlier units
recorded in the book (hours, performance certificates) is models/prior_service.py."""
from __future__ import annotations

import datetime as dt
import io
import zipfile
from dataclasses import dataclass
from dataclasses import field as dataclass_field

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import audit
from .base import begin_write, one_writer_per_value, taipei_date, utcnow
from .contact import half_width
from .insurance import covers_refused_by_book
from .people import Gender, Volunteer
from .messages import N_, Named


# --- functions ------------------------------------------------------------------------------

# 1-inch half-body photo (一吋半身): 2.8 x 3.5 cm = 4:5; at 300 dpi 331 x 413 px.
# (413 x 531 px would be 3.5 x 4.5 cm, the 2-inch size, and not 4:5.)
PHOTO_SIZE = (331, 413)
PHOTO_TYPES = ("image/jpeg", "image/png")
PHOTO_MAX_PIXELS = 40_000_000
BOOK_NO_MAX = 40


class RecordBookError(ValueError):
    """A refused change; `message` is an English msgid (translated by the UI)."""

    def __init__(self, message: str, field: str | None = None, **params):
        super().__init__(message % params if params else message)
        self.message = message
        self.field = field
        self.params = params


def crop_photo(data: bytes) -> bytes:
    """A head-shot as a 331x413 JPEG (4:5, 2.8 x 3.5 cm at 300 dpi): centre crop, then resize.

    Raises RecordBookError for anything that is not a JPEG or PNG image (judged by its
    content) or is larger than files.DEFAULT_MAX_BYTES."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    from .files import DEFAULT_MAX_BYTES, sniff_type

    if not data:
        raise RecordBookError(N_("Choose a photo to upload."), "photo")
    if len(data) > DEFAULT_MAX_BYTES:
        raise RecordBookError(N_("The photo is larger than %(mb)d MB."), "photo",
                              mb=DEFAULT_MAX_BYTES // (1024 * 1024))
    if sniff_type(data) not in PHOTO_TYPES:
        raise RecordBookError(N_("Upload a JPEG or PNG photo."), "photo")
    try:
        image = Image.open(io.BytesIO(data))
        if image.width * image.height > PHOTO_MAX_PIXELS:
            raise RecordBookError(N_("The photo is larger than %(mb)d MB."), "photo",
                                  mb=DEFAULT_MAX_BYTES // (1024 * 1024))
        image.load()
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as exc:
        raise RecordBookError(N_("Upload a JPEG or PNG photo."), "photo") from exc
    image = ImageOps.exif_transpose(image).convert("RGB")
    fitted = ImageOps.fit(image, PHOTO_SIZE, method=Image.Resampling.LANCZOS, centering=(0.5, 0.5))
    out = io.BytesIO()
    fitted.save(out, "JPEG", quality=90, dpi=(300, 300))
    return out.getvalue()


def set_photo(session: Session, volunteer: Volunteer, data: bytes, filename: str, actor, *,
              root, now: dt.datetime | None = None):
    """Crop the volunteer's head-shot, keep it (JPEG) in place of the one before, which is
    deleted (files.replace_file). The same photo again changes nothing. Returns the photo."""
    from .files import StoredFile, replace_file

    begin_write(session)
    if volunteer.anonymised_at is not None:
        raise RecordBookError(N_("This volunteer's data was deleted."), "photo")
    jpeg = crop_photo(data)
    before = {"photo_file_id": volunteer.photo_file_id}
    stored = replace_file(session, volunteer, "photo_file_id", jpeg, filename or "photo.jpg",
                          unit_id=volunteer.unit_id, kind="photo", root=root, actor=actor,
                          allowed=("image/jpeg",), now=now)
    if stored is None:  # the same photo again
        return session.get(StoredFile, volunteer.photo_file_id)
    session.flush()
    audit.record(session, action="volunteer_photo_set", entity="volunteer",
                 entity_id=volunteer.id, actor=actor, unit_id=volunteer.unit_id,
                 before=before, after={"photo_file_id": stored.id}, now=now)
    return stored


# --- the book itself ------------------------------------------------------------------------

def book_snapshot(volunteer: Volunteer) -> dict:
    return {
        "record_book_no": volunteer.record_book_no,
        "record_book_applied_on": volunteer.record_book_applied_on.isoformat()
        if volunteer.record_book_applied_on else None,
        "record_book_issued_on": volunteer.record_book_issued_on.isoformat()
        if volunteer.record_book_issued_on else None,
    }


# --- one number, one volunteer ---------------------------------------------------------------
#
# The city issues each record-book number once, to one person, and the number goes into
# filings (insurance lists, award files). The rule, wherever a number is entered (the book's
# form, the roster import):
# - numbers are compared by book_no_key: NFKC (full-width １１０００１ is 110001), 号 as 號,
#   台 as 臺, without spaces, case-folded;
# - the same person may hold it twice: a volunteer who serves a second unit brings the same
#   book (same ID number, in another unit);
# - another volunteer of the unit holding it: refused, naming them (name and volunteer number);
# - a volunteer of another unit holding it: refused too (the number is most likely mistyped),
#   without a name: a unit does not learn other units' volunteers;
# - deleted (anonymised) volunteers hold nothing: their data is gone, and the person may come
#   back with the same book;
# - a number is checked when it is given (changed), so two volunteers who already shared a
#   number before this rule can still have their book's dates edited.
# The check and the save run under one_writer_per_value on the number (two saves at once: the
# second waits, then finds the first).

BOOK_NO_LOCK = "record_book_no"
BOOK_NO_TAKEN = N_("Record book number %(no)s is already recorded for %(name)s (volunteer "
                   "no. %(volunteer_no)s). Each book has one number: check the number, or "
                   "correct it on that volunteer's page first.")
BOOK_NO_TAKEN_ELSEWHERE = N_("Record book number %(no)s is already recorded for a volunteer of "
                             "another unit. The city issues each number once: check the number "
                             "on the book.")


# Characters that are one character to the city, kept and compared as the city prints them:
# - 号 (typed with a simplified-Chinese input method) as 號 (北市志字第110001號);
# - 台 as 臺: the same character, 臺 the standard form (教育部 國字標準字體) that Taipei City
#   Government writes in its own name and on what it issues (臺北市政府), while people type
#   台 at least as often: 台北市志字第… is 臺北市志字第….
BOOK_NO_CHARACTERS = str.maketrans({"号": "號", "台": "臺"})


def clean_book_no(book_no: str | None) -> str:
    """A typed-in record-book number as it is kept: NFKC (full-width digits as half-width,
    contact.half_width), 号 as 號, 台 as 臺, trimmed. The one place a number is normalised: it is
    kept this way and compared (book_no_key) this way."""
    return half_width(book_no).translate(BOOK_NO_CHARACTERS)


def book_no_key(book_no: str | None) -> str:
    """The number as numbers are compared: 北市志字第１１０００１號, 北市志字第 110001 號,
    北市志字第110001号 and 北市志字第110001號 are one number, and so are 台北市志字第… and
    臺北市志字第…."""
    return "".join(clean_book_no(book_no).split()).casefold()


def book_no_holders(session: Session) -> dict[str, list]:
    """Volunteers (of every unit) holding a record-book number, by book_no_key: rows with id,
    unit_id, id_number, name_zh, name_en, volunteer_no. Deleted (anonymised) volunteers are left
    out. Numbers are compared after NFKC, which the database cannot do: every number is read
    (a unit's few hundred, a city's few ten thousand), and only when a number is given."""
    holders: dict[str, list] = {}
    for row in session.execute(select(
            Volunteer.id, Volunteer.unit_id, Volunteer.id_number, Volunteer.name_zh,
            Volunteer.name_en, Volunteer.volunteer_no, Volunteer.record_book_no).where(
            Volunteer.record_book_no != "", Volunteer.anonymised_at.is_(None))
            .order_by(Volunteer.id)):
        holders.setdefault(book_no_key(row.record_book_no), []).append(row)
    return holders


def book_holders(session: Session, unit_id: int) -> list[Volunteer]:
    """The unit's volunteers with a record-book number, by volunteer number."""
    return list(session.scalars(select(Volunteer).where(
        Volunteer.unit_id == unit_id, Volunteer.record_book_no != "")
        .order_by(Volunteer.volunteer_no)))


def shared_book_nos(session: Session, unit_id: int) -> dict[int, list]:
    """Volunteers of the unit whose record-book number another person of the unit holds too
    (given before the one-number rule, which refuses new ones): volunteer id -> the others'
    rows (id, name_zh, name_en, volunteer_no), for the admin to check the books."""
    from .idnumbers import normalise

    by_key: dict[str, list] = {}
    for row in session.execute(select(
            Volunteer.id, Volunteer.id_number, Volunteer.name_zh, Volunteer.name_en,
            Volunteer.volunteer_no, Volunteer.record_book_no).where(
            Volunteer.unit_id == unit_id, Volunteer.record_book_no != "",
            Volunteer.anonymised_at.is_(None)).order_by(Volunteer.volunteer_no)):
        by_key.setdefault(book_no_key(row.record_book_no), []).append(row)
    shared: dict[int, list] = {}
    for rows in by_key.values():
        for row in rows:
            person = normalise(row.id_number)
            others = [o for o in rows if o.id != row.id
                      and not (person and normalise(o.id_number) == person)]
            if others:
                shared[row.id] = others
    return shared


def book_no_refusal(holders: dict[str, list], *, unit_id: int, book_no: str, id_number: str,
                    volunteer_id: int | None = None) -> RecordBookError | None:
    """Why `book_no` cannot be given to this volunteer (of `unit_id`, with `id_number`; their
    row `volunteer_id`, None for a new one), by the rule above; None when it can."""
    from .idnumbers import normalise

    person = normalise(id_number)
    others = [h for h in holders.get(book_no_key(book_no), [])
              if h.id != volunteer_id and not (person and normalise(h.id_number) == person)]
    mine = next((h for h in others if h.unit_id == unit_id), None)
    if mine is not None:
        return RecordBookError(BOOK_NO_TAKEN, "book_no", no=book_no, name=Named(mine),
                               volunteer_no=mine.volunteer_no)
    if others:
        return RecordBookError(BOOK_NO_TAKEN_ELSEWHERE, "book_no", no=book_no)
    return None


def lock_book_nos(session: Session, book_nos) -> None:
    """Let one writer at a time give each of these numbers (any unit): before checking them."""
    one_writer_per_value(session, BOOK_NO_LOCK, [book_no_key(n) for n in book_nos if n])


def update_book(session: Session, volunteer: Volunteer, actor, *, applied_on: dt.date | None,
                issued_on: dt.date | None, book_no: str, now: dt.datetime | None = None) -> None:
    """Record the application date, the issue date and the book number (audited). A number
    another volunteer holds is refused (book_no_refusal)."""
    begin_write(session)
    book_no = clean_book_no(book_no)
    if len(book_no) > BOOK_NO_MAX:
        raise RecordBookError(N_("Use at most %(max)d characters."), "book_no", max=BOOK_NO_MAX)
    if issued_on and not book_no:
        raise RecordBookError(N_("Enter the book number with the issue date."), "book_no")
    if book_no and not issued_on:
        raise RecordBookError(N_("Enter the issue date with the book number."), "issued_on")
    today = taipei_date(now or utcnow())
    if applied_on and applied_on > today:
        raise RecordBookError(N_("The application date cannot be in the future."), "applied_on")
    if issued_on and issued_on > today:
        raise RecordBookError(N_("The issue date cannot be in the future."), "issued_on")
    if applied_on and issued_on and issued_on < applied_on:
        raise RecordBookError(N_("The issue date cannot be before the application date."),
                              "issued_on")
    if not book_no and volunteer.record_book_no:
        running = covers_refused_by_book(session, volunteer.id, book_no, today)
        if running:
            raise RecordBookError(N_("Group accident insurance (policy %(policy)s, until %(day)s) "
                                     "covers record-book holders only: end or correct that "
                                     "cover on the insurance page before taking the book "
                                     "number off."), "book_no", policy=running[0].policy_no,
                                  day=running[0].ends_on.isoformat())
    if book_no and book_no_key(book_no) != book_no_key(volunteer.record_book_no):
        lock_book_nos(session, [book_no])
        refusal = book_no_refusal(book_no_holders(session), unit_id=volunteer.unit_id,
                                  book_no=book_no, id_number=volunteer.id_number,
                                  volunteer_id=volunteer.id)
        if refusal is not None:
            raise refusal
    before = book_snapshot(volunteer)
    volunteer.record_book_applied_on = applied_on
    volunteer.record_book_issued_on = issued_on
    volunteer.record_book_no = book_no
    session.flush()
    audit.record(session, action="record_book_update", entity="volunteer",
                 entity_id=volunteer.id, actor=actor, unit_id=volunteer.unit_id,
                 before=before, after=book_snapshot(volunteer), now=now)


def mark_applied(session: Session, volunteers: list[Volunteer], actor, day: dt.date,
                 now: dt.datetime | None = None) -> None:
    """Set the application date of every volunteer of a packet that was filed."""
    begin_write(session)
    for v in volunteers:
        before = book_snapshot(v)
        v.record_book_applied_on = day
        audit.record(session, action="record_book_update", entity="volunteer", entity_id=v.id,
                     actor=actor, unit_id=v.unit_id, before=before, after=book_snapshot(v),
                     now=now)
    session.flush()


# --- readiness -------------------------------------------------------------------------------

# What a volunteer not ready still lacks, as the record-book pages name it (Readiness.lacking).
LACKS_PHOTO = N_("no photo")
LACKS_BASIC = N_("basic training not done")
LACKS_SPECIAL = N_("special training not done")
LACKS_BASIC_CERTIFICATE = N_("basic training certificates missing")
LACKS_SPECIAL_CERTIFICATE = N_("special training certificates missing")


@dataclass
class Readiness:
    volunteer: Volunteer
    photo: bool
    basic: bool
    special: bool
    # the StoredFile rows that go with the application as the basic-training certificates: one
    # per current basic course (or the former 12 h set's), as _basic_proof chose them
    basic_files: list
    special_files: list  # the special-training certificate files uploaded (unit's category)
    # completion certificates the unit issued (IssuedCompletion rows, newest first) that go with
    # the application as special-training certificates, and whether the certificates prove every
    # special course (_special_proof)
    special_completions: list = dataclass_field(default_factory=list)
    special_proven: bool = False
    basic_proven: bool = False
    # the courses (TrainingCourse) whose certificate is still missing, by code: what the
    # volunteer's record-book page names under "Not uploaded"
    basic_missing: list = dataclass_field(default_factory=list)
    special_missing: list = dataclass_field(default_factory=list)

    @property
    def basic_certificate(self) -> bool:
        """The certificate files on the volunteer's records prove the whole basic training:
        every current basic course has its certificate, or the former 12 h set has
        (_basic_proof). A file for one course of three does not count."""
        return self.basic_proven

    @property
    def special_certificate(self) -> bool:
        """The special-training certificates prove every special course of the unit's
        category: uploaded certificate files and the unit's completion certificates together
        (_special_proof). A file for one course of four does not count."""
        return self.special_proven

    @property
    def ready(self) -> bool:
        """What the application needs (seed step 7): a head-shot photo, basic and special
        training done, and both certificates to send with it."""
        return not self.lacking

    @property
    def lacking(self) -> list[str]:
        """What stops the application, as msgids (LACKS_*): empty when ready."""
        return [message for ok, message in (
            (self.photo, LACKS_PHOTO), (self.basic, LACKS_BASIC),
            (self.special, LACKS_SPECIAL), (self.basic_certificate, LACKS_BASIC_CERTIFICATE),
            (self.special_certificate, LACKS_SPECIAL_CERTIFICATE)) if not ok]


def _basic_proof(records: list, current: set[int], legacy: set[int]) -> tuple[list, bool]:
    """The certificate files that prove the basic training, and whether they do: a
    certificate on a record of the former 12 h set (legacy: any such course, retired or not,
    as training.status_from counts it), else one on a record of each current basic course
    (`current`: the unit's active basic courses not legacy). Returns (the files, proven);
    when not proven, the files there are (to name what is missing, never to send)."""
    certified = [r for r in records if r.certificate_file is not None]
    old_set = [r.certificate_file for r in certified if r.course_id in legacy]
    if old_set:
        return old_set[:1], True
    by_course: dict[int, object] = {}
    for r in certified:
        if r.course_id in current:
            by_course.setdefault(r.course_id, r.certificate_file)
    files = list(by_course.values())
    return files, bool(current) and current <= set(by_course)


def _special_proof(records: list, required: set[int], issued: list) -> tuple[list, set[int]]:
    """What the completion certificates the unit issued (models.completion.IssuedCompletion,
    newest first) prove for the record book.

    A completion certificate proves exactly the training records printed on it (its
    record_ids, as far as they are still the volunteer's records): courses the unit itself
    ran (the unit briefing 運用單位業務簡介及工作內容說明(含實習), and any course of its own
    training events), certified by the unit that files the application. An uploaded
    certificate file proves its own record. The special training is proven when every special
    course of the unit's category (`required`: the active ones, as training_status asks) has a
    record proven either way; a certificate listing only the briefing does not prove the
    courses taken elsewhere, whose certificates must be uploaded.

    Returns (the certificates to send: each proves a special course that no uploaded file and
    no newer certificate chosen before it proves; the required courses nothing proves: proven
    when empty and something is required)."""
    by_id = {r.id: r for r in records}
    proven = {r.course_id for r in records if r.course_id in required
              and r.certificate_file is not None}
    chosen = []
    for row in issued:
        courses = {by_id[i].course_id for i in row.record_ids
                   if i in by_id and by_id[i].course_id in required}
        if courses - proven:
            chosen.append(row)
            proven |= courses
    return chosen, required - proven


def _special_courses(session: Session, unit_id: int, category) -> set[int]:
    """The ids of the unit's active special courses of `category` (training_status's list)."""
    from .training import TrainingCourse, TrainingKind

    return set(session.scalars(select(TrainingCourse.id).where(
        TrainingCourse.unit_id == unit_id, TrainingCourse.kind == TrainingKind.special,
        TrainingCourse.category == category, TrainingCourse.active.is_(True))))


def _basic_courses(session: Session, unit_id: int) -> tuple[set[int], set[int]]:
    """The ids of the unit's current basic courses (active, not legacy) and of its former
    12 h set (legacy, active or retired): what training.status_from counts."""
    from .training import TrainingCourse, TrainingKind

    current, legacy = set(), set()
    for row in session.execute(select(TrainingCourse.id, TrainingCourse.active,
                                      TrainingCourse.legacy).where(
            TrainingCourse.unit_id == unit_id, TrainingCourse.kind == TrainingKind.basic)):
        if row.legacy:
            legacy.add(row.id)
        elif row.active:
            current.add(row.id)
    return current, legacy


def _issued_completions(session: Session, volunteer_ids: list[int], unit_id: int
                        ) -> dict[int, list]:
    """The completion certificates the unit issued to these volunteers, newest first."""
    from .completion import IssuedCompletion

    out: dict[int, list] = {i: [] for i in volunteer_ids}
    if out:
        for row in session.scalars(select(IssuedCompletion).where(
                IssuedCompletion.unit_id == unit_id,
                IssuedCompletion.volunteer_id.in_(list(out)))
                .order_by(IssuedCompletion.issued_at.desc(), IssuedCompletion.id.desc())):
            out[row.volunteer_id].append(row)
    return out


def _readiness(session: Session, volunteer: Volunteer, category, required: set[int],
               issued: list, basic_courses: tuple[set[int], set[int]]) -> Readiness:
    """One volunteer's Readiness, by training.training_status for the unit's category, the
    certificate files on their training records and the unit's completion certificates."""
    from .training import TrainingCourse, TrainingKind, TrainingRecord, training_status

    status = training_status(session, volunteer, category)
    records = session.scalars(select(TrainingRecord).where(
        TrainingRecord.volunteer_id == volunteer.id).order_by(TrainingRecord.completed_on,
                                                              TrainingRecord.id)).all()
    basic_files, basic_proven = _basic_proof(records, *basic_courses)
    special_files = [r.certificate_file for r in records
                     if r.course.kind == TrainingKind.special and r.course.category == category
                     and r.certificate_file is not None]
    completions, special_unproven = _special_proof(records, required, issued)
    proven = bool(required) and not special_unproven
    basic_unproven = set() if basic_proven else basic_courses[0] - {
        r.course_id for r in records if r.certificate_file is not None}

    def courses(ids: set[int]) -> list:
        found = [session.get(TrainingCourse, i) for i in ids]  # the unit's few, mostly loaded
        return sorted((c for c in found if c is not None), key=lambda c: (c.code or "", c.id))

    return Readiness(volunteer, volunteer.photo_file_id is not None, status.basic_done,
                     status.special_done, basic_files, special_files, completions,
                     proven and status.special_done, basic_proven and status.basic_done,
                     courses(basic_unproven), courses(special_unproven))


def readiness(session: Session, unit_id: int, *, include_with_book: bool = False
              ) -> list[Readiness]:
    """Active volunteers without a record book (yet), with what they still lack."""
    from .unit import Unit

    category = session.get(Unit, unit_id).category
    query = select(Volunteer).where(Volunteer.unit_id == unit_id,
                                    Volunteer.anonymised_at.is_(None))
    volunteers = [v for v in session.scalars(query.order_by(Volunteer.volunteer_no))
                  if v.is_active and (include_with_book or not v.record_book_no)]
    required = _special_courses(session, unit_id, category)
    issued = _issued_completions(session, [v.id for v in volunteers], unit_id)
    basic_courses = _basic_courses(session, unit_id)
    return [_readiness(session, v, category, required, issued[v.id], basic_courses)
            for v in volunteers]


def readiness_of(session: Session, volunteer: Volunteer) -> Readiness:
    """One volunteer's readiness (whether or not they hold a book already)."""
    from .unit import Unit

    category = session.get(Unit, volunteer.unit_id).category
    return _readiness(session, volunteer, category,
                      _special_courses(session, volunteer.unit_id, category),
                      _issued_completions(session, [volunteer.id], volunteer.unit_id)[volunteer.id],
                      _basic_courses(session, volunteer.unit_id))


def ready_volunteers(session: Session, unit_id: int) -> list[Readiness]:
    return [r for r in readiness(session, unit_id) if r.ready]


# --- the application packet ------------------------------------------------------------------

GENDER_ZH = {Gender.female: "女", Gender.male: "男", Gender.other: "其他"}
PACKET_HEADERS = ["序號", "姓名", "性別", "出生年月日", "國民身分證統一編號或護照號碼", "照片", "基礎訓練證明",
                  "特殊訓練證明"]


def _safe_name(name: str) -> str:
    return "".join(ch for ch in name if ch not in '\\/:*?"<>|\0').strip() or "volunteer"


def _extension(stored) -> str:
    types = {"image/jpeg": "jpg", "image/png": "png", "application/pdf": "pdf",
             "image/webp": "webp"}
    # a completion certificate (IssuedCompletion) is printed as a PDF
    return types.get(getattr(stored, "content_type", "application/pdf"), "bin")


def packet_choice(session: Session, unit_id: int, volunteer_ids: list[int]
                  ) -> tuple[list[Readiness], list[Readiness]]:
    """The volunteers chosen for the application packet (the unit's active ones, with a book
    or not; each once, in the order given), split: (ready, left out). Only the ready go in
    the packet and get the application date; Readiness.lacking says why the others do not."""
    by_id = {r.volunteer.id: r for r in readiness(session, unit_id, include_with_book=True)}
    chosen = [by_id[i] for i in dict.fromkeys(volunteer_ids) if i in by_id]
    return [r for r in chosen if r.ready], [r for r in chosen if not r.ready]


def _once(files_: list) -> list:
    """Certificate files without the same file twice (one PDF for the three basic courses,
    uploaded on each record, is sent once)."""
    seen, out = set(), []
    for stored in files_:
        key = getattr(stored, "sha256", None) or ("completion", stored.id)
        if key not in seen:
            seen.add(key)
            out.append(stored)
    return out


def application_packet(session: Session, actor, volunteer_ids: list[int], *, root,
                       completion_pdf, now: dt.datetime | None = None,
                       applied_on: dt.date | None = None) -> tuple[bytes, list[str]]:
    """The ZIP for the city platform: 名冊.xlsx (full ID numbers) plus each volunteer's photo and
    certificates named NNN_姓名_photo.jpg, NNN_姓名_basic[_k].pdf, NNN_姓名_special[_k].pdf.
    The special-training certificates are the uploaded files, then the unit's completion
    certificates that prove more (Readiness.special_completions), printed again as issued by
    `completion_pdf` (webapp.printing.completion.completion_pdf: a CompletionCertificate in,
    PDF bytes out).

    Only the actor's unit's volunteers who are ready (packet_choice: the others are left
    out, never sent with empty cells or part of a certificate); none ready is refused.
    `applied_on`: recorded as the application date of those in the packet (mark_applied).
    Audited as an id_number_export. Returns (zip, names)."""
    from openpyxl import Workbook

    from .completion import issued_completion
    from .export import neutralise
    from .files import StoredFile, read_stored

    def read(stored, volunteer: Volunteer) -> bytes:
        """An uploaded file's bytes, or an issued completion certificate printed again."""
        if isinstance(stored, StoredFile):
            return read_stored(root, stored)
        return completion_pdf(issued_completion(session, volunteer, stored.id))

    chosen, left_out = packet_choice(session, actor.unit_id, volunteer_ids)
    if not chosen:
        if left_out:
            raise RecordBookError(N_("None of the volunteers chosen is ready to apply."),
                                  "volunteers")
        raise RecordBookError(N_("Choose at least one volunteer."), "volunteers")
    book = Workbook()
    sheet = book.active
    sheet.title = "名冊"
    sheet.append(PACKET_HEADERS)
    buffer = io.BytesIO()
    names: list[str] = []
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for seq, row in enumerate(chosen, start=1):
            v = row.volunteer
            stem = f"{seq:03d}_{_safe_name(v.name_zh)}"
            photo_name = ""
            if v.photo_file_id:
                photo = session.get(StoredFile, v.photo_file_id)
                photo_name = f"{stem}_photo.{_extension(photo)}"
                archive.writestr(photo_name, read(photo, v))
                names.append(photo_name)
            cert_names = {}
            for label, files_ in (("basic", _once(row.basic_files)),
                                  ("special", _once([*row.special_files,
                                                     *row.special_completions]))):
                cert_names[label] = []
                for k, stored in enumerate(files_, start=1):
                    suffix = "" if len(files_) == 1 else f"_{k}"
                    name = f"{stem}_{label}{suffix}.{_extension(stored)}"
                    archive.writestr(name, read(stored, v))
                    names.append(name)
                    cert_names[label].append(name)
            values = [seq, v.name_zh, GENDER_ZH.get(v.gender, ""), v.birth_date.isoformat(),
                      v.id_number, photo_name, "、".join(cert_names["basic"]),
                      "、".join(cert_names["special"])]
            sheet.append([values[0]] + [neutralise(x) for x in values[1:]])
        for r in sheet.iter_rows(min_row=2):
            for cell in r[1:]:
                cell.data_type = "s"
        xlsx = io.BytesIO()
        book.save(xlsx)
        archive.writestr("名冊.xlsx", xlsx.getvalue())
        names.insert(0, "名冊.xlsx")
    audit.record(session, action="id_number_export", entity="volunteer", actor=actor,
                 unit_id=actor.unit_id, now=now,
                 after={"purpose": "record_book_application",
                        "volunteer_ids": [r.volunteer.id for r in chosen]})
    if applied_on is not None:
        mark_applied(session, [r.volunteer for r in chosen], actor, applied_on, now=now)
    session.flush()
    return buffer.getvalue(), names
