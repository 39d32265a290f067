"""People: sign-in accounts with roles, and volunteer profiles."""
from __future__ import annotations

import datetime as dt
import enum
import secrets

from sqlalchemy import Date, Enum, ForeignKey, String, UniqueConstraint, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from .base import Base, UTCDateTime, utcnow
from .contact import half_width
from .idnumbers import mask
from .unit import Unit


class Role(str, enum.Enum):
    admin = "admin"  # 承辦人
    supervisor = "supervisor"  # 督導
    volunteer = "volunteer"  # 志工


class Gender(str, enum.Enum):
    female = "female"
    male = "male"
    other = "other"


class VolunteerStatus(str, enum.Enum):
    active = "active"
    inactive = "inactive"  # exited (退場): history kept, cannot check in


LOCALES = ("zh_Hant_TW", "en")

# The sign-in email of an account whose volunteer gave no email (or one already taken): an address
# mail never goes to (.invalid is reserved, RFC 2606). Its part before the @ is the account's
# sign-in name (v<unit id>-<volunteer no.>), which the sign-in form takes on its own.
PLACEHOLDER_DOMAIN = "no-email.invalid"

# werkzeug's default (scrypt). The test suite swaps in a cheap method: hashing is not what it tests.
PASSWORD_HASH_METHOD = "scrypt"


class User(Base):
    """A sign-in account. Volunteers also have a Volunteer profile."""

    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    display_name: Mapped[str] = mapped_column(String(120), default="")
    password_hash: Mapped[str] = mapped_column(String(300))
    role: Mapped[Role] = mapped_column(Enum(Role, native_enum=False, length=20))
    locale: Mapped[str | None] = mapped_column(String(20))
    active: Mapped[bool] = mapped_column(default=True)
    # Changing this logs out every session of the user (password change, deactivation).
    session_token: Mapped[str] = mapped_column(String(64), default=lambda: secrets.token_hex(16))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_sign_in_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    unit: Mapped[Unit] = relationship(lazy="joined")
    volunteer: Mapped["Volunteer | None"] = relationship(back_populates="user", uselist=False)

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password, method=PASSWORD_HASH_METHOD)
        self.session_token = secrets.token_hex(16)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    @property
    def has_real_email(self) -> bool:
        """False for a placeholder address (no mail goes to it)."""
        return bool(self.email) and not self.email.lower().endswith("@" + PLACEHOLDER_DOMAIN)

    @property
    def sign_in_name(self) -> str:
        """What the person types on the sign-in form: their email, or for a placeholder
        address its short name (v1-1032), which the form takes without the domain."""
        return self.email if self.has_real_email else self.email.rpartition("@")[0]

    # flask-login protocol, kept here so models/ needs no Flask import
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return f"{self.id}:{self.session_token}"

    @property
    def name(self) -> str:
        if self.volunteer is not None:
            return self.volunteer.name_zh
        return self.display_name or self.email


def new_card_token() -> str:
    return secrets.token_urlsafe(18)


class Volunteer(Base):
    """A volunteer's profile (志工). ID numbers are stored whole, shown masked except to admins."""

    __tablename__ = "volunteer"
    __table_args__ = (UniqueConstraint("unit_id", "volunteer_no"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), unique=True)
    volunteer_no: Mapped[str] = mapped_column(String(12))  # typed on the kiosk keypad
    name_zh: Mapped[str] = mapped_column(String(60))
    name_en: Mapped[str] = mapped_column(String(120), default="")
    gender: Mapped[Gender] = mapped_column(Enum(Gender, native_enum=False, length=10))
    birth_date: Mapped[dt.date] = mapped_column(Date)
    phone: Mapped[str] = mapped_column(String(40), default="")
    email: Mapped[str] = mapped_column(String(254), default="")
    id_kind: Mapped[str] = mapped_column(String(20), default="national_id")
    id_number: Mapped[str] = mapped_column(String(20))
    # Opaque token printed on "my QR card": never the row id nor the ID number.
    card_token: Mapped[str] = mapped_column(String(40), unique=True, default=new_card_token)
    pin_hash: Mapped[str | None] = mapped_column(String(300))
    pin_failures: Mapped[int] = mapped_column(default=0)
    pin_locked_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[VolunteerStatus] = mapped_column(
        Enum(VolunteerStatus, native_enum=False, length=20), default=VolunteerStatus.active
    )
    joined_on: Mapped[dt.date | None] = mapped_column(Date)
    left_on: Mapped[dt.date | None] = mapped_column(Date)
    exit_reason: Mapped[str] = mapped_column(String(300), default="")
    record_book_no: Mapped[str] = mapped_column(String(40), default="")
    record_book_issued_on: Mapped[dt.date | None] = mapped_column(Date)
    record_book_applied_on: Mapped[dt.date | None] = mapped_column(Date)
    address: Mapped[str] = mapped_column(String(300), default="")
    emergency_contact: Mapped[str] = mapped_column(String(120), default="")
    emergency_phone: Mapped[str] = mapped_column(String(40), default="")
    guardian_name: Mapped[str] = mapped_column(String(60), default="")  # minors: consent recorded
    photo_file_id: Mapped[int | None] = mapped_column(ForeignKey("stored_file.id"))
    anonymised_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)  # PDPA deletion
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    user: Mapped[User | None] = relationship(back_populates="volunteer")

    @property
    def masked_id_number(self) -> str:
        return mask(self.id_number)

    @property
    def is_active(self) -> bool:
        return self.status == VolunteerStatus.active

    def set_pin(self, pin: str) -> None:
        self.pin_hash = generate_password_hash(pin, method=PASSWORD_HASH_METHOD)
        self.pin_failures = 0
        self.pin_locked_until = None

    def check_pin(self, pin: str) -> bool:
        return bool(self.pin_hash) and check_password_hash(self.pin_hash, pin)


def volunteer_by_number(session: Session, unit_id: int, number: str | None) -> Volunteer | None:
    """The unit's volunteer with this volunteer number (志工編號), if any; typed full-width on
    a Chinese keyboard (１０１２) it is the same number."""
    number = half_width(number)
    if not number:
        return None
    return session.scalar(select(Volunteer).where(Volunteer.unit_id == unit_id,
                                                  Volunteer.volunteer_no == number))


FEW_VOLUNTEERS = 500


def of_volunteers(query, volunteer_column, ids, unit_ids):
    """`query` narrowed to these volunteers' rows: by their ids when they are a few, else by
    their units (a join), which a database answers better than an IN list of thousands; the
    caller keeps the rows of the volunteers it asked about."""
    ids = list(ids)
    if len(ids) <= FEW_VOLUNTEERS:
        return query.where(volunteer_column.in_(ids))
    return query.join(Volunteer, Volunteer.id == volunteer_column).where(
        Volunteer.unit_id.in_(list(unit_ids)))
