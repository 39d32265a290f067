"""Personal-data requests (PDPA §3, §11): volunteers ask for correction or deletion; admins
handle them. Deletion anonymises the person and keeps the unit's statutory totals."""
from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import Enum, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, UTCDateTime, utcnow
from .people import Volunteer


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
