"""Where and what volunteers serve: sites, service items and service sessions."""
from __future__ import annotations

import datetime as dt
import enum
import secrets

from sqlalchemy import Enum, ForeignKey, Index, String, UniqueConstraint, bindparam, select, text
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from .base import TAIPEI, Base, UTCDateTime, utcnow
from .messages import N_
from .people import User, Volunteer
from .unit import Category

DEFAULT_MAX_SESSION_MINUTES = 12 * 60


def new_site_token() -> str:
    return secrets.token_urlsafe(18)


class Site(Base):
    """A service site (服務地點). Its QR poster carries the opaque `token`."""

    __tablename__ = "site"

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    name_zh: Mapped[str] = mapped_column(String(120))
    name_en: Mapped[str] = mapped_column(String(120), default="")
    address: Mapped[str] = mapped_column(String(300), default="")
    token: Mapped[str] = mapped_column(String(40), unique=True, default=new_site_token)
    latitude: Mapped[float | None] = mapped_column()
    longitude: Mapped[float | None] = mapped_column()
    radius_m: Mapped[int | None] = mapped_column()  # presence check when set
    max_session_minutes: Mapped[int] = mapped_column(default=DEFAULT_MAX_SESSION_MINUTES)
    active: Mapped[bool] = mapped_column(default=True)


class ServiceItem(Base):
    """A service item (服務項目) of the service plan: what check-ins are booked against.

    Training and meetings are never service items: they live in the training tables.
    """

    __tablename__ = "service_item"
    __table_args__ = (UniqueConstraint("unit_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    code: Mapped[str] = mapped_column(String(20))
    name_zh: Mapped[str] = mapped_column(String(120))
    name_en: Mapped[str] = mapped_column(String(120), default="")
    category: Mapped[Category] = mapped_column(Enum(Category, native_enum=False, length=30))
    active: Mapped[bool] = mapped_column(default=True)


class SessionStatus(str, enum.Enum):
    open = "open"  # checked in, not yet out
    closed = "closed"  # checked out, awaiting verification
    needs_review = "needs_review"  # auto-closed (forgotten check-out): 0 min until fixed
    verified = "verified"  # counts toward hours
    rejected = "rejected"


class SessionSource(str, enum.Enum):
    poster = "poster"  # volunteer's phone scanned the site poster
    kiosk_qr = "kiosk_qr"  # volunteer's phone scanned the kiosk's rotating QR
    kiosk_card = "kiosk_card"  # kiosk camera read the volunteer's card
    kiosk_keypad = "kiosk_keypad"  # volunteer number + PIN on the kiosk
    offline = "offline"  # queued on a kiosk while offline, synced later
    manual = "manual"  # entered by a supervisor from a paper sheet


class Flag(str, enum.Enum):
    offline = "offline"
    auto_closed = "auto_closed"
    long = "long"
    short = "short"
    position_unavailable = "position_unavailable"
    edited = "edited"
    manual_checkout = "manual_checkout"
    day_gates = "day_gates"  # that day's insurance or training no longer passes (records changed)
    # Checked out at another site than the one checked into (a poster or kiosk there): the time
    # up to the check-out includes the travel between them, which is never service.
    checked_out_elsewhere = "checked_out_elsewhere"
    # Checked in without the phone's position soon after being refused as too far from the same
    # site the same day: the position may have been withheld to get round the distance check.
    refused_far_before = "refused_far_before"


# How a check-in or check-out was made when a staff member made it for the volunteer (a check-out
# by hand), as a session's history words it beside the session sources.
STAFF_ON_BEHALF = "staff"

# How a session's status, the way it was recorded and its flags are worded everywhere (English
# msgids; the pages and the volunteer's data download translate them).
STATUS_LABELS = {
    SessionStatus.open.value: N_("On site"), SessionStatus.closed.value: N_("Awaiting verification"),
    SessionStatus.needs_review.value: N_("Needs review"), SessionStatus.verified.value: N_("Verified"),
    SessionStatus.rejected.value: N_("Rejected"),
}
SOURCE_LABELS = {
    SessionSource.poster.value: N_("Phone, site poster"), SessionSource.kiosk_qr.value: N_("Phone, kiosk QR"),
    SessionSource.kiosk_card.value: N_("Kiosk, card"), SessionSource.kiosk_keypad.value: N_("Kiosk, keypad"),
    SessionSource.offline.value: N_("Kiosk, offline"), SessionSource.manual.value: N_("Paper sheet"),
    STAFF_ON_BEHALF: N_("Staff, on behalf"),
}
FLAG_LABELS = {
    Flag.offline.value: N_("Offline"), Flag.auto_closed.value: N_("Auto-closed"), Flag.long.value: N_("Long"),
    Flag.short.value: N_("Short"), Flag.position_unavailable.value: N_("Position unavailable"),
    Flag.edited.value: N_("Edited"), Flag.manual_checkout.value: N_("Checked out by hand"),
    Flag.day_gates.value: N_("Not eligible to serve that day"),
    Flag.checked_out_elsewhere.value: N_("Checked out at another site"),
    Flag.refused_far_before.value: N_("Refused as too far just before"),
}

class ServiceSession(Base):
    """One stretch of actual service: check-in to check-out at a site, for a service item."""

    __tablename__ = "service_session"
    __table_args__ = (
        # At most one open session per volunteer, enforced by the database itself.
        Index(
            "uq_service_session_one_open",
            "volunteer_id",
            unique=True,
            sqlite_where=text("checked_out_at IS NULL"),
            postgresql_where=text("checked_out_at IS NULL"),
        ),
        Index("ix_service_session_unit_status", "unit_id", "status", "checked_in_at"),
        # Who is on site now: a handful of open rows out of millions.
        Index("ix_service_session_open", "unit_id", "site_id", "checked_in_at",
              sqlite_where=text("checked_out_at IS NULL"),
              postgresql_where=text("checked_out_at IS NULL")),
        # The verification queue, newest first, read straight from the index.
        Index("ix_service_session_queue", "unit_id", "checked_in_at", "id",  # scanned backwards
              sqlite_where=text("status IN ('closed', 'needs_review')"),
              postgresql_where=text("status IN ('closed', 'needs_review')")),
        # "Approve all unflagged": counted from the index alone, per site for supervisors.
        Index("ix_service_session_unflagged", "unit_id", "site_id", "checked_in_at",
              sqlite_where=text("status = 'closed' AND flags = ''"),
              postgresql_where=text("status = 'closed' AND flags = ''")),
        Index("ix_service_session_volunteer_in", "volunteer_id", "checked_in_at"),
        Index("ix_service_session_site_in", "site_id", "checked_in_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"))
    volunteer_id: Mapped[int] = mapped_column(ForeignKey("volunteer.id"))
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id"))
    service_item_id: Mapped[int] = mapped_column(ForeignKey("service_item.id"), index=True)
    checked_in_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    checked_out_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[SessionStatus] = mapped_column(
        Enum(SessionStatus, native_enum=False, length=20), default=SessionStatus.open
    )
    credited_minutes: Mapped[int] = mapped_column(default=0)  # only meaningful when verified
    source: Mapped[SessionSource] = mapped_column(Enum(SessionSource, native_enum=False, length=20))
    checkout_source: Mapped[SessionSource | None] = mapped_column(
        Enum(SessionSource, native_enum=False, length=20)
    )
    flags: Mapped[str] = mapped_column(String(200), default="")  # comma-separated Flag values
    persons_served: Mapped[int | None] = mapped_column()  # 受服務人次, optional
    note: Mapped[str] = mapped_column(String(500), default="")
    client_key: Mapped[str | None] = mapped_column(String(80), unique=True)  # idempotency key
    verified_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    verified_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # The hour slip this session is printed on now (None when not slipped, or its slip voided).
    hour_slip_id: Mapped[int | None] = mapped_column(ForeignKey("hour_slip.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}

    volunteer: Mapped[Volunteer] = relationship()
    site: Mapped[Site] = relationship()
    service_item: Mapped[ServiceItem] = relationship()
    verified_by: Mapped[User | None] = relationship()

    @property
    def flag_set(self) -> set[str]:
        return {f for f in (self.flags or "").split(",") if f}

    def flags_with(self, *flags: Flag) -> str:
        """The flags column with these flags added."""
        return ",".join(sorted(self.flag_set | {f.value for f in flags}))

    def flags_without(self, *flags: Flag) -> str:
        """The flags column with these flags taken off."""
        return ",".join(sorted(self.flag_set - {f.value for f in flags}))

    def add_flag(self, flag: Flag) -> None:
        self.flags = self.flags_with(flag)

    def elapsed_minutes(self, now: dt.datetime) -> int:
        end = self.checked_out_at or now
        return max(0, int((end - self.checked_in_at).total_seconds() // 60))

    @property
    def minute_times_overstate(self) -> bool:
        """Whether its times read to the minute say a minute more than elapsed_minutes counts:
        09:16:50 to 09:23:10 reads "09:16 – 09:23", 7 minutes, but 6 whole minutes were served.
        (Only whole minutes served count; the times shown should then carry their seconds.)"""
        if self.checked_out_at is None:
            return False
        start, end = self.checked_in_at, self.checked_out_at
        return (end.second, end.microsecond) < (start.second, start.microsecond) and end > start

    def clock(self, moment: dt.datetime | None) -> str:
        """One of its times (its check-in or check-out) as a Taipei clock time, as the dashboard
        and the hour slip print it: "07:57", or "07:57:40" with its seconds when its times read
        to the minute would overstate what counts (minute_times_overstate): 07:57:40–08:30:10
        is 32 whole minutes, and "07:57–08:30" would read 33."""
        if moment is None:
            return ""
        return moment.astimezone(TAIPEI).strftime("%H:%M:%S" if self.minute_times_overstate else "%H:%M")

    def snapshot(self) -> dict:
        """The row as the audit log records it."""
        return {
            "volunteer_id": self.volunteer_id,
            "site_id": self.site_id,
            "service_item_id": self.service_item_id,
            "checked_in_at": self.checked_in_at.isoformat() if self.checked_in_at else None,
            "checked_out_at": self.checked_out_at.isoformat() if self.checked_out_at else None,
            "status": self.status.value if self.status else None,
            "credited_minutes": self.credited_minutes,
            "source": self.source.value if self.source else None,
            "flags": self.flags,
        }


# The unit's service items offered at check-in (and in staff's forms): built once, as check-in is
# the request the product serves most.
_ACTIVE_ITEMS = (select(ServiceItem).where(ServiceItem.unit_id == bindparam("unit_id"),
                                           ServiceItem.active.is_(True)).order_by(ServiceItem.code))


def service_items_for(session: Session, unit_id: int) -> list[ServiceItem]:
    """The unit's active service items, by code: what can be checked into."""
    return list(session.scalars(_ACTIVE_ITEMS, {"unit_id": unit_id}))
