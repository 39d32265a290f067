"""Attendance (出缺席記錄): scheduled shifts and the supervisor's marks.

A day's roster is computed from shifts, service sessions and marks; none of them is ever
deleted (a shift is cancelled, a mark superseded), so attendance sheets stay reproducible.
"""
from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import Date, Enum, ForeignKey, Index, String, Time, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, UTCDateTime, utcnow
from .people import Volunteer
from .service import ServiceItem, Site


class Repeat(str, enum.Enum):
    once = "once"
    weekly = "weekly"


class Shift(Base):
    """A volunteer scheduled at a site for a service item; times are Taipei wall-clock."""

    __tablename__ = "shift"
    __table_args__ = (Index("ix_shift_site_dates", "site_id", "starts_on", "ends_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id"))
    service_item_id: Mapped[int] = mapped_column(ForeignKey("service_item.id"))
    volunteer_id: Mapped[int] = mapped_column(ForeignKey("volunteer.id"), index=True)
    repeat: Mapped[Repeat] = mapped_column(Enum(Repeat, native_enum=False, length=10))
    starts_on: Mapped[dt.date] = mapped_column(Date)  # the day (once) or first day (weekly)
    ends_on: Mapped[dt.date | None] = mapped_column(Date)  # weekly: last day, None = open-ended
    start_time: Mapped[dt.time] = mapped_column(Time)
    end_time: Mapped[dt.time] = mapped_column(Time)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    cancelled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    site: Mapped[Site] = relationship()
    service_item: Mapped[ServiceItem] = relationship()
    volunteer: Mapped[Volunteer] = relationship()

    def occurs_on(self, day: dt.date) -> bool:
        if self.cancelled_at is not None or day < self.starts_on:
            return False
        if self.repeat == Repeat.once:
            return day == self.starts_on
        if self.ends_on is not None and day > self.ends_on:
            return False
        return day.weekday() == self.starts_on.weekday()


class MarkStatus(str, enum.Enum):
    excused = "excused"  # 請假: set by the supervisor


class AttendanceMark(Base):
    """A supervisor's mark on one occurrence of a shift (e.g. excused, with a reason)."""

    __tablename__ = "attendance_mark"
    __table_args__ = (UniqueConstraint("shift_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    shift_id: Mapped[int] = mapped_column(ForeignKey("shift.id"))
    day: Mapped[dt.date] = mapped_column(Date)
    status: Mapped[MarkStatus] = mapped_column(Enum(MarkStatus, native_enum=False, length=20))
    reason: Mapped[str] = mapped_column(String(300), default="")
    marked_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    marked_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    shift: Mapped[Shift] = relationship()
