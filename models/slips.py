"""Hour slips (時數條) and gap-free serial numbers."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, ForeignKey, String, UniqueConstraint, insert, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from .base import Base, UTCDateTime, utcnow
from .people import User, Volunteer
from .service import ServiceSession


class SerialCounter(Base):
    """The last number issued per unit, kind of document and year: numbers never repeat or skip."""

    __tablename__ = "serial_counter"

    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(30), primary_key=True)
    year: Mapped[int] = mapped_column(primary_key=True)
    last: Mapped[int] = mapped_column(default=0)


def next_serial(session: Session, unit_id: int, kind: str, year: int) -> int:
    """Take the next number inside the caller's write transaction.

    The UPDATE takes a row lock (PostgreSQL) or runs under the write lock (SQLite), so two
    supervisors issuing at once get consecutive numbers; if the caller rolls back, the number
    is given back with it — no gaps.
    """
    key = (SerialCounter.unit_id == unit_id, SerialCounter.kind == kind, SerialCounter.year == year)
    for _attempt in range(2):
        value = session.execute(
            update(SerialCounter).where(*key).values(last=SerialCounter.last + 1)
            .returning(SerialCounter.last)
        ).scalar()
        if value is not None:
            return value
        try:
            with session.begin_nested():
                session.execute(insert(SerialCounter).values(unit_id=unit_id, kind=kind, year=year, last=0))
        except IntegrityError:
            pass  # someone else created the row first: update it
    raise RuntimeError("could not take a serial number")


class HourSlip(Base):
    __tablename__ = "hour_slip"
    __table_args__ = (UniqueConstraint("unit_id", "year", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    volunteer_id: Mapped[int] = mapped_column(ForeignKey("volunteer.id"), index=True)
    year: Mapped[int] = mapped_column()
    seq: Mapped[int] = mapped_column()
    serial: Mapped[str] = mapped_column(String(40), unique=True)
    period_start: Mapped[dt.date] = mapped_column(Date)
    period_end: Mapped[dt.date] = mapped_column(Date)
    total_minutes: Mapped[int] = mapped_column()
    issued_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    issued_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    voided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    voided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    void_reason: Mapped[str] = mapped_column(String(300), default="")
    replaces_id: Mapped[int | None] = mapped_column(ForeignKey("hour_slip.id"))

    volunteer: Mapped[Volunteer] = relationship()
    issued_by: Mapped[User] = relationship(foreign_keys=[issued_by_id])
    entries: Mapped[list["HourSlipEntry"]] = relationship(back_populates="slip", order_by="HourSlipEntry.id")


class HourSlipEntry(Base):
    """One session on a slip, with the minutes printed (history survives voiding)."""

    __tablename__ = "hour_slip_entry"

    id: Mapped[int] = mapped_column(primary_key=True)
    slip_id: Mapped[int] = mapped_column(ForeignKey("hour_slip.id"), index=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("service_session.id"), index=True)
    minutes: Mapped[int] = mapped_column()

    slip: Mapped[HourSlip] = relationship(back_populates="entries")
    service_session: Mapped[ServiceSession] = relationship()
