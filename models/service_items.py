"""Service items (服務項目, seed step 2): what the service plan covers and what every check-in is
booked against. A unit adds its own, names them in both languages and retires one it no longer
offers (sessions keep pointing at it; it is no longer offered at check-in). The code is fixed
once given: plans, exports and the audit log refer to it.

Writers check everything first and change nothing when anything is wrong; they flush but do not
commit, so the caller commits the change together with its audit entry."""
from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from . import audit
from .base import begin_write, one_writer_per
from .messages import N_, Refused
from .service import ServiceItem
from .unit import Category, Unit

CODE_MAX, NAME_MAX = 20, 120
CODE_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")


class ItemRefused(Refused):
    """A refused change to a service item; `field` names the form field it is about."""

    def __init__(self, message: str, field: str | None = None, **params):
        super().__init__(message, **params)
        self.field = field


def items_of(session: Session, unit_id: int) -> list[ServiceItem]:
    """The unit's service items, active first, then by code."""
    return list(session.scalars(select(ServiceItem).where(ServiceItem.unit_id == unit_id)
                                .order_by(ServiceItem.active.desc(), ServiceItem.code)))


def _data(item: ServiceItem) -> dict:
    return {"code": item.code, "name_zh": item.name_zh, "name_en": item.name_en,
            "category": item.category.value, "active": item.active}


def _names(name_zh: str | None, name_en: str | None) -> tuple[str, str]:
    name_zh, name_en = (name_zh or "").strip(), (name_en or "").strip()
    if not name_zh:
        raise ItemRefused(N_("Enter the service item's name."), "name_zh")
    for field, value in (("name_zh", name_zh), ("name_en", name_en)):
        if len(value) > NAME_MAX:
            raise ItemRefused(N_("Use at most %(max)d characters."), field, max=NAME_MAX)
    return name_zh, name_en


def _same_name(session: Session, unit_id: int, name_zh: str, name_en: str,
               but: int | None = None) -> None:
    """Refuse a name another item of the unit has, in either language (trimmed; letters compared
    without case): check-in would offer two items that read the same, and reports would list
    their hours twice under one name. Retired items count too: their hours stay in the reports
    of the years they were offered, so a new item of the same name would still be confused with
    them; the admin brings the retired item back instead. Callers hold one_writer_per(unit)."""
    for other in session.scalars(select(ServiceItem).where(ServiceItem.unit_id == unit_id,
                                                           ServiceItem.id != (but or -1))):
        for field, mine, theirs in (("name_zh", name_zh, other.name_zh),
                                    ("name_en", name_en, other.name_en)):
            if mine and mine.casefold() == (theirs or "").strip().casefold():
                if other.active:
                    raise ItemRefused(N_("The unit already has a service item of this name: "
                                         "%(code)s."), field, code=other.code)
                raise ItemRefused(N_("The retired service item %(code)s has this name: bring it "
                                     "back instead (open it and tick Offered), or choose another "
                                     "name."), field, code=other.code)


def create_item(session: Session, unit, actor, *, code: str, name_zh: str, name_en: str = "",
                category: str | None = None, now: dt.datetime | None = None) -> ServiceItem:
    """A new active service item of `unit`; its category defaults to the unit's. Audited."""
    begin_write(session)
    code = (code or "").strip().upper()
    if not code:
        raise ItemRefused(N_("Enter a code, like C01."), "code")
    if len(code) > CODE_MAX or not CODE_RE.fullmatch(code):
        raise ItemRefused(N_("Use letters, digits, - and _ only (at most %(max)d)."), "code",
                          max=CODE_MAX)
    name_zh, name_en = _names(name_zh, name_en)
    try:
        cat = Category(category) if category else unit.category
    except ValueError:
        raise ItemRefused(N_("Choose social welfare or comprehensive."), "category") from None
    one_writer_per(session, Unit, unit.id)  # the same form sent twice at once: one item
    if session.scalar(select(func.count()).select_from(ServiceItem).where(
            ServiceItem.unit_id == unit.id, func.upper(ServiceItem.code) == code)):
        raise ItemRefused(N_("The unit already has a service item %(code)s."), "code", code=code)
    _same_name(session, unit.id, name_zh, name_en)
    item = ServiceItem(unit_id=unit.id, code=code, name_zh=name_zh, name_en=name_en,
                       category=cat, active=True)
    session.add(item)
    session.flush()
    audit.record(session, action="service_item_created", entity="service_item",
                 entity_id=item.id, actor=actor, unit_id=unit.id, after=_data(item), now=now)
    return item


def update_item(session: Session, item: ServiceItem, actor, *, name_zh: str, name_en: str,
                active: bool, now: dt.datetime | None = None) -> bool:
    """Rename an item or retire / bring it back (the code and category stay). Audited when
    anything changed; returns whether it did."""
    begin_write(session)
    name_zh, name_en = _names(name_zh, name_en)
    changed_zh = name_zh if name_zh != item.name_zh else ""  # a name kept is not compared:
    changed_en = name_en if name_en != item.name_en else ""  # retiring an old twin stays possible
    if changed_zh or changed_en:
        one_writer_per(session, Unit, item.unit_id)
        _same_name(session, item.unit_id, changed_zh, changed_en, but=item.id)
    before = _data(item)
    item.name_zh, item.name_en, item.active = name_zh, name_en, bool(active)
    after = _data(item)
    if after == before:
        return False
    session.flush()
    changed = sorted(k for k in after if after[k] != before[k])
    audit.record(session, action="service_item_updated", entity="service_item",
                 entity_id=item.id, actor=actor, unit_id=item.unit_id,
                 before={k: before[k] for k in changed}, after={k: after[k] for k in changed},
                 now=now)
    return True
