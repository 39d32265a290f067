"""Recruitment (召募) and selection (面談甄選): openings, applications, interviews, and the
one-time link a newly accepted volunteer uses to set a password."""
from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import Column, Date, Enum, ForeignKey, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, UTCDateTime, utcnow
from .people import Gender, User, Volunteer
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


class ApplicationStatus(str, enum.Enum):
    applied = "applied"
    interview_scheduled = "interview_scheduled"
    accepted = "accepted"
    declined = "declined"
    waitlisted = "waitlisted"


class Application(Base):
    """A person's application to volunteer (報名), through interview to a decision."""

    __tablename__ = "application"

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    opening_id: Mapped[int | None] = mapped_column(ForeignKey("opening.id"), index=True)
    reference_no: Mapped[str] = mapped_column(String(30), unique=True)
    name_zh: Mapped[str] = mapped_column(String(60))
    name_en: Mapped[str] = mapped_column(String(120), default="")
    gender: Mapped[Gender] = mapped_column(Enum(Gender, native_enum=False, length=10))
    birth_date: Mapped[dt.date] = mapped_column(Date)
    phone: Mapped[str] = mapped_column(String(40))
    email: Mapped[str] = mapped_column(String(254), default="")
    id_kind: Mapped[str] = mapped_column(String(20), default="national_id")
    id_number: Mapped[str] = mapped_column(String(20))
    address: Mapped[str] = mapped_column(String(300), default="")
    availability: Mapped[str] = mapped_column(String(500), default="")
    experience: Mapped[str] = mapped_column(Text, default="")
    emergency_contact: Mapped[str] = mapped_column(String(120), default="")
    emergency_phone: Mapped[str] = mapped_column(String(40), default="")
    guardian_name: Mapped[str] = mapped_column(String(60), default="")  # minors only
    guardian_consent: Mapped[bool] = mapped_column(default=False)
    privacy_consent_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)  # PDPA §8 notice accepted
    status: Mapped[ApplicationStatus] = mapped_column(
        Enum(ApplicationStatus, native_enum=False, length=30), default=ApplicationStatus.applied)
    interview_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    interview_place: Mapped[str] = mapped_column(String(200), default="")
    interviewer_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    notes: Mapped[str] = mapped_column(Text, default="")
    volunteer_id: Mapped[int | None] = mapped_column(ForeignKey("volunteer.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}

    opening: Mapped[Opening | None] = relationship()
    interviewer: Mapped[User | None] = relationship()
    volunteer: Mapped[Volunteer | None] = relationship()


class SetPasswordLink(Base):
    """A one-time link (often printed as a QR: the unit may have no mail server)."""

    __tablename__ = "set_password_link"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    user: Mapped[User] = relationship()
