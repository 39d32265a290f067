"""Accident-insurance covers (志工意外團體保險 / 商業意外保險)."""
from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import Date, Enum, ForeignKey, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from .base import Base, UTCDateTime, utcnow
from .people import Volunteer


class CoverKind(str, enum.Enum):
    group = "group"  # MOHW group contract, record-book holders
    commercial = "commercial"  # arranged by the unit for volunteers without a book


class InsuranceCover(Base):
    __tablename__ = "insurance_cover"

    id: Mapped[int] = mapped_column(primary_key=True)
    volunteer_id: Mapped[int] = mapped_column(ForeignKey("volunteer.id"), index=True)
    kind: Mapped[CoverKind] = mapped_column(Enum(CoverKind, native_enum=False, length=20))
    insurer: Mapped[str] = mapped_column(String(120))
    policy_no: Mapped[str] = mapped_column(String(60))
    starts_on: Mapped[dt.date] = mapped_column(Date)
    ends_on: Mapped[dt.date] = mapped_column(Date)  # inclusive
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    volunteer: Mapped[Volunteer] = relationship()

    def covers(self, day: dt.date) -> bool:
        return self.starts_on <= day <= self.ends_on


def cover_on(session: Session, volunteer_id: int, day: dt.date) -> InsuranceCover | None:
    """The cover valid on a Taipei calendar day, if any."""
    return session.scalars(
        select(InsuranceCover)
        .where(
            InsuranceCover.volunteer_id == volunteer_id,
            InsuranceCover.starts_on <= day,
            InsuranceCover.ends_on >= day,
        )
        .order_by(InsuranceCover.ends_on.desc())
        .limit(1)
    ).first()
