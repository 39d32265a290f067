"""A volunteer's "download my data" (PDPA §3): everything the unit keeps about them
(my_data), as my-data.zip with data.json (column names and codes) and one CSV per section in
the reader's words (HEADERS; Words: the UI's label maps)."""
from __future__ import annotations

import csv
import datetime as dt
import enum
import io
import json
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from . import audit
from .base import TAIPEI
from .hours import hours_text
from .messages import N_, Named, english
from .people import Volunteer, VolunteerStatus
from .privacy import requests_of


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
        row["course_name"] = Named(r.course)  # data.json: Chinese; the CSV: the reader's language
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
        row["site_name"] = Named(s.site) if s.site else ""
        row["service_item_name"] = Named(s.service_item) if s.service_item else ""
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
            "sessions.flags": FLAG_LABELS, "audit_entries.action": audit.ACTION_LABELS,
            "audit_entries.entity": audit.ENTITY_LABELS}


@dataclass(frozen=True)
class Words:
    """How the download's CSV files word headers and codes: `gettext` translates this module's
    msgids (identity: English); `values` are the UI's own label maps (already in the reader's
    language), by "section.column" or by column in every section: {code: label}; `name` gives
    a course's, site's or item's name (Named) in the reader's language (the UI's `local`)."""

    gettext: Callable[..., str] = english
    values: Mapping[str, Mapping[str, object]] = field(default_factory=dict)
    name: Callable[[Named], str] = lambda named: named.name_en or named.name_zh


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
    if isinstance(value, Named):
        return words.name(value)
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
