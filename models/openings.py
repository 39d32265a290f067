"""Recruitment openings (召募): the unit's published calls for volunteers, their shareable
public page and the announcement text for the city platform. Whether an opening still accepts
applications (accepts_applications) is decided here; the applications themselves, the interview
and the decision are models/recruitment.py."""
from __future__ import annotations

import datetime as dt
import enum
import secrets
from typing import TYPE_CHECKING

from sqlalchemy import Column, Date, Enum, ForeignKey, String, Table, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from . import audit
from .base import Base, UTCDateTime, begin_write, taipei_date, utcnow
from .messages import N_, Refused
from .people import Role, User
from .service import ServiceItem, Site

opening_item = Table(
    "opening_item", Base.metadata,
    Column("opening_id", ForeignKey("opening.id"), primary_key=True),
    Column("service_item_id", ForeignKey("service_item.id"), primary_key=True),
)
opening_site = Table(
    "opening_site", Base.metadata,
    Column("opening_id", ForeignKey("opening.id"), primary_key=True),
    Column("site_id", ForeignKey("site.id"), primary_key=True),
)


if TYPE_CHECKING:
    from .unit import Unit


class OpeningStatus(str, enum.Enum):
    draft = "draft"
    published = "published"
    closed = "closed"


class Opening(Base):
    __tablename__ = "opening"

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    public_id: Mapped[str] = mapped_column(String(24), unique=True)  # in the shareable link
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    schedule: Mapped[str] = mapped_column(String(500), default="")
    requirements: Mapped[str] = mapped_column(Text, default="")
    wanted: Mapped[int | None] = mapped_column()
    closes_on: Mapped[dt.date | None] = mapped_column(Date)
    status: Mapped[OpeningStatus] = mapped_column(
        Enum(OpeningStatus, native_enum=False, length=20), default=OpeningStatus.draft)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    service_items: Mapped[list[ServiceItem]] = relationship(secondary=opening_item)
    sites: Mapped[list[Site]] = relationship(secondary=opening_site)
    unit: Mapped["Unit"] = relationship()  # who recruits, and collects the applicants' data


# =============================================================================================
# Domain rules. No Flask: callers pass the Session and `now`; callers commit. Every change is
# audited. Refusals raise OpeningError (an English msgid with %(params)s, translated by the UI).
# =============================================================================================


class OpeningError(Refused):
    """A refused change to an opening; `message` is an English msgid with %(params)s."""


class ClosingDatePassed(OpeningError):
    """A published opening whose closing date is already past (shown at the date field)."""

    def __init__(self, day: dt.date):
        super().__init__(N_("The closing date %(day)s has passed: choose a later date, or save "
                            "the opening as a draft or closed."), day=day.isoformat())


# --- openings --------------------------------------------------------------------------------

def opening_snapshot(o: Opening) -> dict:
    return {"title": o.title, "description": o.description, "schedule": o.schedule,
            "requirements": o.requirements, "wanted": o.wanted,
            "closes_on": o.closes_on.isoformat() if o.closes_on else None,
            "status": o.status.value,
            "service_item_ids": sorted(i.id for i in o.service_items),
            "site_ids": sorted(s.id for s in o.sites)}


def _own(session: Session, model, ids, unit_id: int) -> list:
    ids = list(ids or [])
    if not ids:
        return []
    rows = list(session.scalars(select(model).where(model.id.in_(ids), model.unit_id == unit_id)))
    if len(rows) != len(set(ids)):
        raise OpeningError(N_("Choose items and sites of your own unit only."))
    return rows


def opening_choices(session: Session, unit_id: int, opening: Opening | None = None
                    ) -> tuple[list[ServiceItem], list[Site]]:
    """The service items and sites an opening may name: the unit's active ones, by code and
    name, and those the opening already names though retired since (kept, not offered anew)."""
    kept_items = {i.id for i in opening.service_items} if opening is not None else set()
    kept_sites = {s.id for s in opening.sites} if opening is not None else set()
    items = [i for i in session.scalars(select(ServiceItem).where(ServiceItem.unit_id == unit_id)
                                        .order_by(ServiceItem.code))
             if i.active or i.id in kept_items]
    sites = [s for s in session.scalars(select(Site).where(Site.unit_id == unit_id)
                                        .order_by(Site.name_zh, Site.id))
             if s.active or s.id in kept_sites]
    return items, sites


def _no_retired(chosen: list, before: list, message: str) -> None:
    """A retired item or site not already on the opening cannot be added to it."""
    kept = {x.id for x in before}
    added = [x for x in chosen if not x.active and x.id not in kept]
    if added:
        raise OpeningError(message, code=getattr(added[0], "code", ""))


def _require_admin(actor: User) -> None:
    if actor.role != Role.admin:
        raise PermissionError("admins only")


def save_opening(session: Session, actor: User, now: dt.datetime, opening: Opening | None = None, *,
                 title: str, description: str = "", schedule: str = "", requirements: str = "",
                 wanted: int | None = None, closes_on: dt.date | None = None,
                 status: OpeningStatus | str = OpeningStatus.draft,
                 service_item_ids=(), site_ids=()) -> Opening:
    """Create (opening=None) or update an opening of the actor's unit. A published opening
    must accept applications (accepts_applications): its closing date, if any, is today
    (Asia/Taipei) or later."""
    _require_admin(actor)
    begin_write(session)
    title = (title or "").strip()
    if not title:
        raise OpeningError(N_("Enter a title."))
    if wanted is not None and wanted < 1:
        raise OpeningError(N_("How many are wanted must be at least 1."))
    status = OpeningStatus(status)
    if status == OpeningStatus.published and closes_on is not None and \
            closes_on < taipei_date(now):
        raise ClosingDatePassed(closes_on)
    before = opening_snapshot(opening) if opening is not None else None
    if opening is None and session.scalar(select(Opening.id).where(  # the form sent twice
            Opening.unit_id == actor.unit_id, Opening.title == title,
            Opening.status.in_([OpeningStatus.draft, OpeningStatus.published]))):
        raise OpeningError(N_("An opening with this title is already a draft or published: "
                                  "edit that one."))
    if opening is None:
        opening = Opening(unit_id=actor.unit_id, public_id=secrets.token_urlsafe(9), created_at=now)
        session.add(opening)
    elif opening.unit_id != actor.unit_id:
        raise PermissionError("another unit's opening")
    opening.title = title
    opening.description = (description or "").strip()
    opening.schedule = (schedule or "").strip()
    opening.requirements = (requirements or "").strip()
    opening.wanted = wanted
    opening.closes_on = closes_on
    opening.status = status
    items = _own(session, ServiceItem, service_item_ids, actor.unit_id)
    sites = _own(session, Site, site_ids, actor.unit_id)
    _no_retired(items, opening.service_items,
                N_("Service item %(code)s is retired: choose items still offered."))
    _no_retired(sites, opening.sites, N_("A site no longer in use cannot be added."))
    opening.service_items, opening.sites = items, sites
    session.flush()
    audit.record(session, action="create_opening" if before is None else "update_opening",
                 entity="opening", entity_id=opening.id, actor=actor, before=before,
                 after=opening_snapshot(opening), now=now)
    return opening


def accepts_applications(opening: Opening | None, today: dt.date) -> bool:
    """Published and not past its closing date (the closing day itself still counts)."""
    if opening is None:
        return False
    if opening.status != OpeningStatus.published:
        return False
    return opening.closes_on is None or today <= opening.closes_on


def shown_status(opening: Opening, today: dt.date) -> OpeningStatus:
    """The status people read, on the admin's pages as on the public one: a published opening
    past its closing date is closed (accepts_applications is the one rule)."""
    if opening.status == OpeningStatus.published and not accepts_applications(opening, today):
        return OpeningStatus.closed
    return opening.status


def published_openings(session: Session, today: dt.date, unit_id: int | None = None) -> list[Opening]:
    query = select(Opening).where(Opening.status == OpeningStatus.published)
    if unit_id is not None:
        query = query.where(Opening.unit_id == unit_id)
    rows = session.scalars(query.order_by(Opening.closes_on.is_(None), Opening.closes_on,
                                          Opening.id.desc()))
    return [o for o in rows if accepts_applications(o, today)]


def unit_openings(session: Session, unit_id: int) -> list[Opening]:
    return list(session.scalars(select(Opening).where(Opening.unit_id == unit_id)
                                .order_by(Opening.id.desc())))


def announcement_text(opening: Opening, link: str, labels: dict[str, str],
                      local=lambda thing: thing.name_zh, colon: str = "：",
                      people=lambda n: f"{n} 人", contact: dict[str, str] | None = None) -> str:
    """Plain text to paste into the city platform. `labels` are the headings (unit, items,
    sites, work, schedule, wanted, requirements, closes, apply, contact; and name, phone,
    email, address inside the contact) in the text's language, each followed by `colon`;
    names come through `local`, how many are wanted through `people`; `contact` is how the
    public reaches the unit (unit_profile.public_contact). The city platform takes Chinese: the
    defaults, and what the admin pages pass (headings in zh-TW whatever the UI language)."""
    lines = [opening.title, ""]

    def add(key: str, value: str) -> None:
        if value:
            lines.extend([f"{labels[key]}{colon}", value.strip(), ""])

    add("unit", opening.unit.name if "unit" in labels else "")
    add("items", "、".join(local(i) for i in opening.service_items))
    add("sites", "、".join(local(s) for s in opening.sites))
    add("work", opening.description)
    add("schedule", opening.schedule)
    add("wanted", people(opening.wanted) if opening.wanted else "")
    add("requirements", opening.requirements)
    add("closes", opening.closes_on.isoformat() if opening.closes_on else "")
    add("apply", link)
    add("contact", "\n".join(f"{labels[key]}{colon}{value}" for key, value in (contact or {}).items()
                             if key in labels))
    return "\n".join(lines).rstrip() + "\n"
