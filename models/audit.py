"""The append-only audit log: who did what, when, with the row before and after."""
from __future__ import annotations

import datetime as dt
import json
from typing import Any

from sqlalchemy import ForeignKey, String, Text, event, insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from .base import Base, UTCDateTime, insert_now, utcnow
from .messages import N_


class AuditEntry(Base):
    __tablename__ = "audit_entry"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"), index=True)
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), index=True)
    actor_label: Mapped[str] = mapped_column(String(120), default="")
    action: Mapped[str] = mapped_column(String(60), index=True)
    entity: Mapped[str] = mapped_column(String(60))
    entity_id: Mapped[int | None] = mapped_column(index=True)
    before: Mapped[str | None] = mapped_column(Text)
    after: Mapped[str | None] = mapped_column(Text)

    def before_data(self) -> dict | None:
        return json.loads(self.before) if self.before else None

    def after_data(self) -> dict | None:
        return json.loads(self.after) if self.after else None


# What an entry's action and its kind of record are called, in words (msgids; the UI translates
# them where it shows them): a session's history, the access log (access_log.ACCESS_ACTIONS) and a
# volunteer's own download. Every action that can be about a volunteer is here; an action without
# words is shown as its code.
ACTION_LABELS: dict[str, str] = {
    # a service session
    "check_in": N_("Checked in"), "check_out": N_("Checked out"),
    "approve": N_("Approved the session"), "adjust": N_("Adjusted the session"),
    "reject": N_("Rejected the session"), "reopen": N_("Reopened for verification"),
    "auto_close": N_("Closed automatically: forgotten check-out"),
    "manual_check_out": N_("Checked out by hand"), "manual_entry": N_("Entered from a paper sheet"),
    "day_gates_rechecked": N_("Checked the day again after a change to insurance, training "
                              "records or courses"),
    "checkin_refused": N_("Check-in or check-out refused"),
    # personal data seen or exported (the access log)
    "id_number_view": N_("Viewed a full ID number"),
    "id_number_export": N_("Exported full ID numbers"),
    "export_mohw": N_("MOHW export (full ID numbers)"),
    "personal_data_view": N_("Opened a volunteer's file"),
    # the volunteer and their account
    "apply": N_("Applied"), "schedule_interview": N_("Interview scheduled"),
    "note": N_("Note on the application"), "accepted": N_("Application accepted"),
    "declined": N_("Application declined"), "waitlisted": N_("Application waitlisted"),
    "create_volunteer": N_("Became a volunteer"), "volunteer_add": N_("Volunteer added"),
    "volunteer_import": N_("Volunteer imported from a roster"),
    "create_account": N_("Account created"), "account_setup": N_("Account set up"),
    "sign_in": N_("Signed in"), "password_change": N_("Password changed"),
    "sign_in_email_change": N_("Sign-in email changed"),
    "pin_change": N_("PIN changed"), "pin_reset": N_("PIN reset"),
    "pin_locked": N_("PIN locked after wrong tries"), "pin_unlock": N_("PIN unlocked"),
    "volunteer_contact_update": N_("Contact details changed"),
    "volunteer_identity_correct": N_("Identity data corrected"),
    "volunteer_photo_set": N_("Head-shot photo changed"),
    "record_book_update": N_("Record book updated"),
    "volunteer_exit": N_("Left the unit"), "volunteer_reactivated": N_("Came back to the unit"),
    "volunteer_anonymise": N_("Personal data deleted"),
    "data_request_create": N_("Data request sent"), "data_request_handle": N_("Data request handled"),
    "file_uploaded": N_("File uploaded"), "file_deleted": N_("File deleted"),
    # hours, training, insurance, earlier units, certificates, attendance
    "issue_slip": N_("Hour slip issued"), "void_slip": N_("Hour slip voided"),
    "training_record_added": N_("Training record added"),
    "training_record_import": N_("Training record imported from a roster"),
    "training_record_updated": N_("Training record changed"),
    "training_record_deleted": N_("Training record deleted"),
    "completion_certificate_issued": N_("Completion certificate issued"),
    "insurance_cover_add": N_("Insurance cover added"),
    "insurance_cover_update": N_("Insurance cover changed"),
    "insurance_cover_delete": N_("Insurance cover deleted"),
    "prior_hours_add": N_("Hours from an earlier unit added"),
    "prior_hours_update": N_("Hours from an earlier unit changed"),
    "prior_hours_delete": N_("Hours from an earlier unit deleted"),
    "prior_certificate_add": N_("Certificate from an earlier unit added"),
    "prior_certificate_delete": N_("Certificate from an earlier unit deleted"),
    "performance_certificate_requested": N_("Performance certificate requested"),
    "performance_certificate_issued": N_("Performance certificate issued"),
    "attendance_excuse": N_("Excused from a shift"),
    "attendance_withdraw": N_("Excuse withdrawn"),
}
ENTITY_LABELS: dict[str, str] = {
    "volunteer": N_("Volunteer"), "user": N_("Account"), "application": N_("Application"),
    "service_session": N_("Service session"), "hour_slip": N_("Hour slip"),
    "training_record": N_("Training record"), "insurance_cover": N_("Insurance cover"),
    "prior_hours": N_("Hours from an earlier unit"),
    "prior_certificate": N_("Certificate from an earlier unit"),
    "data_request": N_("Data request"), "performance_certificate": N_("Performance certificate"),
    "attendance_mark": N_("Shift attendance"), "stored_file": N_("Uploaded file"),
    "file": N_("Uploaded file"), "unit": N_("Unit"),
}


_VOLUNTEER = "volunteer:"


def volunteer_actor(volunteer_id: int) -> str:
    """The actor label of what a volunteer did themselves, without a staff account (a check-in or
    check-out on their phone or at a kiosk): "volunteer:<id>". Read back by acting_volunteer_id."""
    return f"{_VOLUNTEER}{volunteer_id}"


def acting_volunteer_id(entry: AuditEntry) -> int | None:
    """The volunteer who did what `entry` records themselves (volunteer_actor), or None."""
    label = entry.actor_label or ""
    if entry.actor_user_id is None and label.startswith(_VOLUNTEER) and label[len(_VOLUNTEER):].isdigit():
        return int(label[len(_VOLUNTEER):])
    return None


def _dump(data: dict[str, Any] | None) -> str | None:
    if data is None:
        return None
    return json.dumps(data, ensure_ascii=False, sort_keys=True, default=str)


def record(
    session: Session,
    *,
    action: str,
    entity: str,
    entity_id: int | None = None,
    actor=None,
    actor_label: str | None = None,
    unit_id: int | None = None,
    before: dict | None = None,
    after: dict | None = None,
    now: dt.datetime | None = None,
) -> AuditEntry:
    """Write one audit entry in the session's transaction (committed with the change it
    describes, rolled back with it)."""
    entry = AuditEntry(
        at=now or utcnow(),
        unit_id=unit_id if unit_id is not None else getattr(actor, "unit_id", None),
        actor_user_id=getattr(actor, "id", None),
        actor_label=actor_label or getattr(actor, "email", "") or "system",
        action=action,
        entity=entity,
        entity_id=entity_id,
        before=_dump(before),
        after=_dump(after),
    )
    return insert_now(session, entry)  # written at once: one INSERT, no flush of its own


def record_many(session: Session, entries: list[dict[str, Any]], *, actor=None,
                now: dt.datetime | None = None) -> None:
    """Add many audit entries in one bulk INSERT (for batch operations such as issuing slips
    for a whole unit): each dict holds record()'s action, entity, entity_id, before, after."""
    if not entries:
        return
    at = now or utcnow()
    session.execute(insert(AuditEntry), [{
        "at": at, "unit_id": getattr(actor, "unit_id", None),
        "actor_user_id": getattr(actor, "id", None),
        "actor_label": getattr(actor, "email", "") or "system",
        "action": e["action"], "entity": e["entity"], "entity_id": e.get("entity_id"),
        "before": _dump(e.get("before")), "after": _dump(e.get("after")),
    } for e in entries])


@event.listens_for(AuditEntry, "before_update")
def _no_updates(_mapper, _conn, _target):  # append-only
    raise RuntimeError("audit entries are append-only")


@event.listens_for(AuditEntry, "before_delete")
def _no_deletes(_mapper, _conn, _target):
    raise RuntimeError("audit entries are append-only")
