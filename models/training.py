"""Training (教育訓練): the course catalogue, each volunteer's records, and the unit's own events.

Training is never service time: nothing here creates or touches service sessions.
"""
from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import Date, Enum, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, UTCDateTime, utcnow
from .files import StoredFile
from .people import Volunteer
from .unit import Category


class TrainingKind(str, enum.Enum):
    basic = "basic"  # 基礎訓練
    special = "special"  # 特殊訓練 (per category)


class TrainingMode(str, enum.Enum):
    in_person = "in_person"  # 實體課程
    online = "online"  # 臺北E大, the volunteer's own certificate
    group_viewing = "group_viewing"  # unit-run group viewing, certified by the unit


class TrainingCourse(Base):
    __tablename__ = "training_course"
    __table_args__ = (UniqueConstraint("unit_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    code: Mapped[str] = mapped_column(String(30))
    name: Mapped[str] = mapped_column(String(120))
    name_en: Mapped[str] = mapped_column(String(160), default="")
    kind: Mapped[TrainingKind] = mapped_column(Enum(TrainingKind, native_enum=False, length=20))
    category: Mapped[Category | None] = mapped_column(Enum(Category, native_enum=False, length=30))
    minutes: Mapped[int] = mapped_column()  # stored as whole minutes like all durations
    run_by_unit: Mapped[bool] = mapped_column(default=False)  # 運用單位業務簡介: always the unit's
    legacy: Mapped[bool] = mapped_column(default=False)  # the former 12 h / 6-course basic set
    active: Mapped[bool] = mapped_column(default=True)


class TrainingEvent(Base):
    """A training session the unit runs; marking attendance creates training records."""

    __tablename__ = "training_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("training_course.id"))
    held_on: Mapped[dt.date] = mapped_column(Date)
    place: Mapped[str] = mapped_column(String(200), default="")
    mode: Mapped[TrainingMode] = mapped_column(Enum(TrainingMode, native_enum=False, length=20),
                                               default=TrainingMode.in_person)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    course: Mapped[TrainingCourse] = relationship()


class TrainingRecord(Base):
    __tablename__ = "training_record"
    __table_args__ = (UniqueConstraint("volunteer_id", "course_id", "completed_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    volunteer_id: Mapped[int] = mapped_column(ForeignKey("volunteer.id"), index=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("training_course.id"))
    completed_on: Mapped[dt.date] = mapped_column(Date)
    minutes: Mapped[int] = mapped_column()
    mode: Mapped[TrainingMode] = mapped_column(Enum(TrainingMode, native_enum=False, length=20))
    provider: Mapped[str] = mapped_column(String(120), default="")
    certificate_no: Mapped[str] = mapped_column(String(60), default="")
    certificate_file_id: Mapped[int | None] = mapped_column(ForeignKey("stored_file.id"))
    event_id: Mapped[int | None] = mapped_column(ForeignKey("training_event.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    volunteer: Mapped[Volunteer] = relationship()
    course: Mapped[TrainingCourse] = relationship()
    certificate_file: Mapped[StoredFile | None] = relationship()
