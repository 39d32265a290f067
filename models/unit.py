"""The volunteer unit (志願服務運用單位)."""
from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import Enum, String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, UTCDateTime, utcnow
from .messages import N_


class LegalType(str, enum.Enum):
    """The only five kinds of body that may file as a unit (VSA §3, seed step 1)."""

    agency = "agency"  # 機關
    institution = "institution"  # 機構
    school = "school"  # 學校
    juridical_person = "juridical_person"  # 法人
    registered_group = "registered_group"  # 經政府立案團體


class Category(str, enum.Enum):
    social_welfare = "social_welfare"  # 社會福利類
    comprehensive = "comprehensive"  # 綜合類


# How the categories are named everywhere (English msgids; the pages translate them).
CATEGORY_LABELS = {
    Category.social_welfare.value: N_("Social welfare"),
    Category.comprehensive.value: N_("Comprehensive"),
}


class Rounding(str, enum.Enum):
    """How credited minutes are rounded at verification."""

    none = "none"
    down_15 = "down_15"
    down_30 = "down_30"


class Unit(Base):
    __tablename__ = "unit"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200), default="")
    legal_type: Mapped[LegalType] = mapped_column(Enum(LegalType, native_enum=False, length=30))
    category: Mapped[Category] = mapped_column(Enum(Category, native_enum=False, length=30))
    registration_no: Mapped[str] = mapped_column(String(60), default="")
    address: Mapped[str] = mapped_column(String(300), default="")
    phone: Mapped[str] = mapped_column(String(40), default="")
    rounding: Mapped[Rounding] = mapped_column(
        Enum(Rounding, native_enum=False, length=20), default=Rounding.none
    )
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
