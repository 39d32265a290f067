"""Kiosk tablets and the signed, short-lived tokens of the check-in surface.

A kiosk is enrolled by an admin with a one-time code; the tablet then holds a revocable
device secret (only its hash is stored). Tokens are signed with the app's secret key and
checked against a `now` the caller passes, so tests control the clock.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from dataclasses import dataclass
import secrets

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import ForeignKey, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from . import audit
from .base import Base, UTCDateTime, begin_write, one_writer_per, taipei_date
from .refusal_log import refused_attempts
from .messages import N_, Refused
from .people import Role, User, Volunteer, volunteer_by_number
from .service import Site
from .verification import supervised_site_ids

ENROL_CODE_LIFETIME = dt.timedelta(minutes=30)
PRESENCE_ROTATE_SECONDS = 30  # the kiosk shows a new QR every 30 s ...
PRESENCE_VALID_SECONDS = 90  # ... and each stays valid for 90 s
# A valid scan of it gives the phone a "presence pass" for that kiosk, valid this long from the
# scan: time to sign in (typing an email and password) and to tap the button.
PRESENCE_PASS_SECONDS = 5 * 60
TICKET_VALID_SECONDS = 120  # after identifying at the kiosk, this long to press the button
PIN_MAX_FAILURES = 5
PIN_LOCK = dt.timedelta(minutes=15)


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class KioskDevice(Base):
    __tablename__ = "kiosk_device"

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id"))
    name: Mapped[str] = mapped_column(String(120))
    secret_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    enrol_code_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    enrol_expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    enrolled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    site: Mapped[Site] = relationship()

    @property
    def state(self) -> str:
        if self.revoked_at:
            return "revoked"
        if self.enrolled_at:
            return "enrolled"
        return "waiting"


class KioskNameTaken(Refused):
    """The site already has a kiosk (not revoked) of this name."""


def create_device(session: Session, *, site: Site, name: str, actor, now: dt.datetime
                  ) -> tuple[KioskDevice, str]:
    """A new kiosk for a site, and its one-time enrolment code (shown once, as a link/QR).
    A name the site's kiosks already use is refused (KioskNameTaken): two of one name cannot
    be told apart in the list, and a form sent twice would make them; a replaced tablet is
    re-enrolled instead."""
    one_writer_per(session, Site, site.id)
    if session.scalar(select(KioskDevice.id).where(
            KioskDevice.site_id == site.id, KioskDevice.name == name.strip(),
            KioskDevice.revoked_at.is_(None)).limit(1)) is not None:
        raise KioskNameTaken(N_("This site already has a kiosk named “%(name)s”. To set up its "
                                "tablet again, use Re-enrol on its row in the list."), name=name.strip())
    code = secrets.token_urlsafe(24)
    device = KioskDevice(unit_id=site.unit_id, site_id=site.id, name=name.strip(),
                         enrol_code_hash=_hash(code), enrol_expires_at=now + ENROL_CODE_LIFETIME,
                         created_at=now)
    session.add(device)
    session.flush()
    audit.record(session, action="kiosk_create", entity="kiosk_device", entity_id=device.id,
                 actor=actor, after={"site_id": site.id, "name": device.name}, now=now)
    return device, code


def new_enrol_code(session: Session, device: KioskDevice, actor, now: dt.datetime) -> str:
    """Re-enrol (a replaced tablet): a fresh one-time code; the old device secret stops working."""
    begin_write(session)
    code = secrets.token_urlsafe(24)
    device.enrol_code_hash = _hash(code)
    device.enrol_expires_at = now + ENROL_CODE_LIFETIME
    device.secret_hash = None
    device.enrolled_at = None
    device.revoked_at = None
    audit.record(session, action="kiosk_reenrol", entity="kiosk_device", entity_id=device.id,
                 actor=actor, now=now)
    return code


def enrol(session: Session, code: str, now: dt.datetime) -> tuple[KioskDevice, str] | None:
    """Spend a one-time enrolment code; returns the device and its new secret, or None."""
    begin_write(session)
    device = session.scalar(select(KioskDevice).where(KioskDevice.enrol_code_hash == _hash(code)))
    if device is None or device.revoked_at or device.enrol_expires_at is None \
            or now > device.enrol_expires_at:
        return None
    secret = secrets.token_urlsafe(32)
    device.secret_hash = _hash(secret)
    device.enrol_code_hash = None
    device.enrol_expires_at = None
    device.enrolled_at = now
    device.last_seen_at = now
    audit.record(session, action="kiosk_enrol", entity="kiosk_device", entity_id=device.id,
                 actor_label=f"kiosk:{device.id}", unit_id=device.unit_id, now=now)
    return device, secret


def device_by_secret(session: Session, secret: str | None) -> KioskDevice | None:
    if not secret:
        return None
    device = session.scalar(select(KioskDevice).where(KioskDevice.secret_hash == _hash(secret)))
    if device is None or device.revoked_at is not None:
        return None
    return device


def revoke(session: Session, device: KioskDevice, actor, now: dt.datetime) -> None:
    begin_write(session)
    device.revoked_at = now
    device.secret_hash = None
    device.enrol_code_hash = None
    audit.record(session, action="kiosk_revoke", entity="kiosk_device", entity_id=device.id,
                 actor=actor, now=now)


# --- signed tokens ----------------------------------------------------------------------

def _serializer(key: str, purpose: str) -> URLSafeSerializer:
    return URLSafeSerializer(key, salt=f"hourbook.{purpose}")


def presence_token(device: KioskDevice, key: str, now: dt.datetime) -> str:
    """The kiosk's rotating QR: proves the scanning phone is in front of this kiosk now."""
    slot = int(now.timestamp()) // PRESENCE_ROTATE_SECONDS * PRESENCE_ROTATE_SECONDS
    return _serializer(key, "presence").dumps({"d": device.id, "t": slot})


def check_presence_token(token: str, key: str, now: dt.datetime) -> int | None:
    """The kiosk device id if the token is genuine and fresh, else None."""
    try:
        data = _serializer(key, "presence").loads(token)
    except BadSignature:
        return None
    age = now.timestamp() - data.get("t", 0)
    if not isinstance(data.get("d"), int) or age < -5 or age > PRESENCE_VALID_SECONDS:
        return None
    return data["d"]


def scanner_secret() -> str:
    """What a phone that scanned the kiosk's QR while signed out keeps (a cookie of its own) so
    the pass it was given works on that phone only: the pass carries its digest, never the secret,
    so a forwarded link does not carry it."""
    return secrets.token_urlsafe(18)


def _scanner_digest(secret: str) -> str:
    return hashlib.sha256(f"hourbook.scanner.{secret}".encode()).hexdigest()[:22]


def presence_pass(device_id: int, key: str, scanned_at: dt.datetime,
                  user_id: int | None = None, scanner: str | None = None) -> str:
    """What a valid scan of the rotating QR is traded for: proof that this phone was in front of
    this kiosk at `scanned_at`. The phone's check-in page works off it for PRESENCE_PASS_SECONDS.
    Bound to whoever scanned it, so a forwarded pass does not work for anyone else:
    `user_id`, the signed-in person who scanned (or who first opened it, signed in, on the phone
    that scanned it); `scanner`, a scan made while signed out, the phone's scanner_secret."""
    data = {"d": device_id, "t": int(scanned_at.timestamp())}
    if user_id is not None:
        data["u"] = user_id
    elif scanner is not None:
        data["s"] = _scanner_digest(scanner)
    return _serializer(key, "presence-pass").dumps(data)


@dataclass(frozen=True)
class PresencePass:
    device_id: int | None  # None: forged
    expired: bool = False
    scanned_at: dt.datetime | None = None
    user_id: int | None = None  # None: not bound to a person yet
    scanner: str | None = None  # not bound to a person yet: the digest of the phone's scanner_secret

    def belongs_to(self, user_id: int, scanner: str | None) -> bool:
        """Whether this signed-in person, on a phone holding `scanner` (its scanner_secret or
        None), may use the pass: it is theirs, or it is not bound to anyone yet and this is
        the phone that scanned it (the first to sign in there makes it theirs). A link sent on
        to someone else's phone is neither, however quickly they open it."""
        if self.user_id is not None:
            return self.user_id == user_id
        return self.scanner is not None and scanner is not None \
            and hmac.compare_digest(self.scanner, _scanner_digest(scanner))


def check_presence_pass(token: str, key: str, now: dt.datetime) -> PresencePass:
    """The kiosk a genuine pass names, whether its time is up, and whom it is bound to."""
    try:
        data = _serializer(key, "presence-pass").loads(token)
    except BadSignature:
        return PresencePass(None)
    if not isinstance(data, dict) or not isinstance(data.get("d"), int) \
            or not isinstance(data.get("t"), int) or not isinstance(data.get("u", 0), int) \
            or not isinstance(data.get("s", ""), str):
        return PresencePass(None)
    age = now.timestamp() - data["t"]
    scanned = dt.datetime.fromtimestamp(data["t"], dt.timezone.utc)
    return PresencePass(data["d"], age < -5 or age > PRESENCE_PASS_SECONDS, scanned, data.get("u"),
                        data.get("s"))


def identity_ticket(device: KioskDevice, volunteer: Volunteer, key: str, now: dt.datetime) -> str:
    """After the kiosk identifies a volunteer (card or keypad): a short-lived ticket for the button."""
    return _serializer(key, "ticket").dumps({"d": device.id, "v": volunteer.id,
                                             "t": int(now.timestamp())})


def check_identity_ticket(token: str, device: KioskDevice, key: str, now: dt.datetime) -> int | None:
    try:
        data = _serializer(key, "ticket").loads(token)
    except BadSignature:
        return None
    age = now.timestamp() - data.get("t", 0)
    if data.get("d") != device.id or age < -5 or age > TICKET_VALID_SECONDS:
        return None
    return data.get("v")


# --- identifying volunteers at the kiosk -------------------------------------------------

def volunteer_by_card(session: Session, unit_id: int, card_token: str) -> Volunteer | None:
    if not card_token:
        return None
    return session.scalar(select(Volunteer).where(
        Volunteer.unit_id == unit_id, Volunteer.card_token == card_token.strip()))


class PinLocked(Exception):
    """The number is locked after wrong PINs (until `until`): the PIN was not even checked."""

    def __init__(self, until: dt.datetime, volunteer: Volunteer):
        super().__init__("locked")
        self.until = until
        self.volunteer = volunteer


class WrongPin(Exception):
    """A volunteer's number with a PIN that is not theirs (counted towards the lock-out);
    `tries_left`: wrong PINs the number may still take, the last of which locks it."""

    def __init__(self, volunteer: Volunteer, tries_left: int):
        super().__init__("wrong PIN")
        self.volunteer = volunteer
        self.tries_left = tries_left


class NoPin(Exception):
    """A volunteer's number whose volunteer has set no PIN yet (an imported volunteer, say):
    no PIN can be right, and nothing is counted towards a lock-out."""

    def __init__(self, volunteer: Volunteer):
        super().__init__("no PIN set")
        self.volunteer = volunteer


def pin_tries_left(volunteer: Volunteer) -> int:
    """Wrong PINs in a row the number may still take: the one that uses the last locks it
    (PIN_MAX_FAILURES in a row lock it for PIN_LOCK)."""
    return max(PIN_MAX_FAILURES - volunteer.pin_failures, 0)


def volunteer_by_pin(session: Session, unit_id: int, number: str, pin: str,
                     now: dt.datetime) -> Volunteer | None:
    """Volunteer number + PIN: the volunteer, or None when no volunteer has the number. A wrong
    PIN raises WrongPin; PIN_MAX_FAILURES of them in a row lock the number for PIN_LOCK, and
    that attempt and every one while it lasts raise PinLocked (the caller commits the count);
    a number whose volunteer has no PIN raises NoPin.
    The lock stops the keypad only: the volunteer's QR card and phone still work, and staff can
    lift it (`unlock_pin`)."""
    begin_write(session)
    volunteer = volunteer_by_number(session, unit_id, number)
    if volunteer is None:
        return None
    if volunteer.pin_locked_until and now < volunteer.pin_locked_until:
        raise PinLocked(volunteer.pin_locked_until, volunteer)
    if volunteer.pin_hash is None:
        raise NoPin(volunteer)
    if volunteer.check_pin(pin or ""):
        volunteer.pin_failures = 0
        volunteer.pin_locked_until = None
        return volunteer
    volunteer.pin_failures += 1
    if pin_tries_left(volunteer) == 0:
        volunteer.pin_failures = 0
        volunteer.pin_locked_until = now + PIN_LOCK
        audit.record(session, action="pin_locked", entity="volunteer", entity_id=volunteer.id,
                     actor_label="kiosk", unit_id=unit_id, now=now)
        raise PinLocked(volunteer.pin_locked_until, volunteer)
    raise WrongPin(volunteer, pin_tries_left(volunteer))


def may_unlock(session: Session, user: User, volunteer: Volunteer, now: dt.datetime) -> bool:
    """Who may lift a volunteer's PIN lock-out (`unlock_pin`): an admin of the volunteer's unit
    any of its volunteers; a supervisor of the unit a volunteer turned away for a locked number
    today (Taipei, at `now`) at one of their sites; nobody else."""
    if user.unit_id != volunteer.unit_id:
        return False
    if user.role == Role.admin:
        return True
    if user.role != Role.supervisor:
        return False
    return any(r.volunteer is not None and r.volunteer.id == volunteer.id and r.refusal_code == "pin_locked"
               for r in refused_attempts(session, user.unit_id, taipei_date(now),
                                         supervised_site_ids(session, user)))


class NothingToUnlock(Refused):
    """The volunteer's number is not locked (any more): nothing to unlock."""


def unlock_pin(session: Session, volunteer: Volunteer, actor, now: dt.datetime) -> None:
    """Staff lift a lock-out after wrong PINs before it ends (someone else typed them, or the
    volunteer remembered): the PIN stays as it is. Audited."""
    begin_write(session)
    until = volunteer.pin_locked_until
    if until is None or now >= until:
        raise NothingToUnlock(N_("The number %(number)s is not locked."), number=volunteer.volunteer_no)
    volunteer.pin_locked_until = None
    volunteer.pin_failures = 0
    session.flush()
    audit.record(session, action="pin_unlock", entity="volunteer", entity_id=volunteer.id,
                 actor=actor, unit_id=volunteer.unit_id, before={"locked_until": until.isoformat()},
                 after={"locked_until": None}, now=now)


# --- the kiosk's own cookie and its admin list -------------------------------------------

SEEN_EVERY = dt.timedelta(minutes=1)  # last_seen_at is refreshed at most this often


def device_cookie_value(device: KioskDevice, secret: str) -> str:
    """What the tablet keeps in its cookie: the device id (to tell "revoked" from "unknown")
    and its secret (the credential; only its hash is stored)."""
    return f"{device.id}.{secret}"


def device_from_cookie(session: Session, value: str | None) -> tuple[KioskDevice | None, str]:
    """The kiosk a cookie belongs to, and why not: ("ok" | "revoked" | "unknown").

    A revoked device's secret hash is gone, so the id part says which kiosk it was; a cookie
    whose device was re-enrolled, or that was never genuine, is "unknown".
    """
    ident, _, secret = (value or "").partition(".")
    device = device_by_secret(session, secret)
    if device is not None and str(device.id) == ident:
        return device, "ok"
    if ident.isdigit():
        old = session.get(KioskDevice, int(ident))
        if old is not None and old.revoked_at is not None:
            return None, "revoked"
    return None, "unknown"


def pending_enrolment(session: Session, code: str, now: dt.datetime) -> KioskDevice | None:
    """The device a one-time enrolment code would enrol (the code is not spent)."""
    if not code:
        return None
    device = session.scalar(select(KioskDevice).where(KioskDevice.enrol_code_hash == _hash(code)))
    if device is None or device.revoked_at or device.enrol_expires_at is None \
            or now > device.enrol_expires_at:
        return None
    return device


def devices_for_unit(session: Session, unit_id: int) -> list[KioskDevice]:
    """The unit's kiosks, by site then name (the admin list)."""
    return list(session.scalars(
        select(KioskDevice).join(KioskDevice.site).where(KioskDevice.unit_id == unit_id)
        .order_by(Site.name_zh, KioskDevice.name, KioskDevice.id)))


def mark_seen(device: KioskDevice, now: dt.datetime) -> bool:
    """Note that the kiosk is alive (shown to admins). Telemetry, not audited; at most once
    a minute so a busy kiosk does not write on every request. True when it changed."""
    if device.last_seen_at is None or now - device.last_seen_at >= SEEN_EVERY:
        device.last_seen_at = now
        return True
    return False
