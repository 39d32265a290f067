"""The append-only audit log: who did what, when, with the row before and after."""
from __future__ import annotations

import datetime as dt
import json
from typing import Any

from sqlalchemy import ForeignKey, String, Text, event, insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from .base import Base, UTCDateTime, insert_now, utcnow


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
