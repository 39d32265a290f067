"""The access log: who saw or exported a full ID number or other personal data, and when.

Kept in the append-only audit log (models/audit.py) under its own actions, so that the same
rules hold (never edited, never deleted) and one admin page reads it (/admin/access-log).
Every place that shows or exports a full ID number records here:

  id_number_view     a page showing a full ID number (the correction form; the application
                     detail did until it masked the number: its old entries keep their purpose)
  id_number_export   a file with full ID numbers (record-book packet, award lists for filing,
                     a volunteer's own data)
  export_mohw        the MOHW / city upload (full ID numbers of everyone in the period)
  personal_data_view a volunteer's uploaded file (certificate, head-shot) opened by staff

tests/test_access_log.py walks the templates and exporters for `id_number` and fails when a
new place shows a full one without being listed there.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import audit
from .audit import AuditEntry
from .base import begin_write, utcnow
from .people import Volunteer
from .recruitment import Application
from .messages import N_


# the access log's own actions, worded with the others (audit.ACTION_LABELS)
ACCESS_ACTIONS: dict[str, str] = {
    action: audit.ACTION_LABELS[action]
    for action in ("id_number_view", "id_number_export", "export_mohw", "personal_data_view")}

PURPOSES: dict[str, str] = {
    "application_detail": N_("Application details"),
    "award_list": N_("Award list for filing"),
    "correction_form": N_("Correction of a volunteer's data"),
    "my_data_download": N_("Volunteer's own data download"),
    "record_book_application": N_("Record-book application packet"),
    "uploaded_file": N_("Uploaded file"),
}


def record_view(session: Session, actor, *, action: str, entity: str, entity_id: int | None,
                purpose: str, now: dt.datetime | None = None, **details) -> AuditEntry:
    """Log that `actor` saw personal data (a GET, so this starts the write transaction itself).

    Call before anything is changed in the session; the caller commits."""
    if action not in ACCESS_ACTIONS:
        raise ValueError(f"not an access action: {action}")
    begin_write(session)
    entry = audit.record(session, action=action, entity=entity, entity_id=entity_id,
                         actor=actor, now=now or utcnow(), after={"purpose": purpose, **details})
    session.flush()
    return entry


def entries(session: Session, unit_id: int, *, before_id: int | None = None,
            action: str | None = None, limit: int = 100) -> list[AuditEntry]:
    """The unit's access-log entries, newest first (keyset pages by id)."""
    actions = [action] if action in ACCESS_ACTIONS else list(ACCESS_ACTIONS)
    query = select(AuditEntry).where(AuditEntry.unit_id == unit_id,
                                     AuditEntry.action.in_(actions))
    if before_id is not None:
        query = query.where(AuditEntry.id < before_id)
    return list(session.scalars(query.order_by(AuditEntry.id.desc()).limit(limit)))


def subject_names(session: Session, unit_id: int, rows: list[AuditEntry]
                  ) -> tuple[dict[int, str], dict[int, str]]:
    """The names behind a page of access-log rows, in two queries: volunteer id -> name and
    application id -> applicant's name (the unit's own only)."""
    vol_ids = {r.entity_id for r in rows if r.entity == "volunteer" and r.entity_id}
    app_ids = {r.entity_id for r in rows if r.entity == "application" and r.entity_id}
    vols = dict(session.execute(select(Volunteer.id, Volunteer.name_zh).where(
        Volunteer.id.in_(vol_ids), Volunteer.unit_id == unit_id)).all()) if vol_ids else {}
    apps = dict(session.execute(select(Application.id, Application.name_zh).where(
        Application.id.in_(app_ids), Application.unit_id == unit_id)).all()) if app_ids else {}
    return vols, apps
