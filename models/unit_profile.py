"""The unit's profile (seed step 1): legal type, category, registration, address, the
responsible person, contacts, the supervisors, and an optional seal/logo image for printed
documents. The basic columns live on `Unit`; the rest in `UnitProfile` (one row per unit)."""
from __future__ import annotations

import datetime as dt
import io

from sqlalchemy import ForeignKey, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from . import audit
from .contact import half_width, phone_problem
from .base import Base, UTCDateTime, begin_write, utcnow
from .unit import Category, LegalType, Unit
from .messages import N_


# The five kinds of body that may be a unit (VSA §3): English msgid, and the Chinese used on
# documents filed with the authority (always Chinese, whatever the reader's language).
LEGAL_TYPES = {
    LegalType.agency: (N_("Government agency"), "機關"),
    LegalType.institution: (N_("Institution"), "機構"),
    LegalType.school: (N_("School"), "學校"),
    LegalType.juridical_person: (N_("Juridical person"), "法人"),
    LegalType.registered_group: (N_("Government-registered group"), "經政府立案團體"),
}
CATEGORIES = {
    Category.social_welfare: (N_("Social welfare"), "社會福利類"),
    Category.comprehensive: (N_("Comprehensive"), "綜合類"),
}

NAME_MAX, REG_MAX, ADDRESS_MAX, PHONE_MAX, PERSON_MAX, EMAIL_MAX = 200, 60, 300, 40, 60, 254
LOGO_TYPES = ("image/png", "image/jpeg")
LOGO_MAX_BYTES = 1024 * 1024
LOGO_MAX_PIXELS = 25_000_000


class UnitProfile(Base):
    """What the unit profile adds to `Unit`."""

    __tablename__ = "unit_profile"

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), unique=True)
    responsible_person: Mapped[str] = mapped_column(String(60), default="")  # 負責人
    contact_name: Mapped[str] = mapped_column(String(60), default="")  # 聯絡人
    contact_phone: Mapped[str] = mapped_column(String(40), default="")
    contact_email: Mapped[str] = mapped_column(String(254), default="")
    logo_file_id: Mapped[int | None] = mapped_column(ForeignKey("stored_file.id"))
    # the completion certificate's text (models.completion); NULL: the default text
    completion_template: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class ProfileError(ValueError):
    """A refused change; `message` is an English msgid (translated by the UI)."""

    def __init__(self, message: str, field: str | None = None, **params):
        super().__init__(message % params if params else message)
        self.message = message
        self.field = field
        self.params = params


PROFILE_FIELDS = ("responsible_person", "contact_name", "contact_phone", "contact_email")
UNIT_FIELDS = ("name", "name_en", "legal_type", "category", "registration_no", "address", "phone")


def profile_of(session: Session, unit_id: int) -> UnitProfile:
    """The unit's profile row; a new, unsaved one (all blank) if there is none yet."""
    row = session.scalar(select(UnitProfile).where(UnitProfile.unit_id == unit_id))
    return row if row is not None else UnitProfile(unit_id=unit_id, responsible_person="",
                                                   contact_name="", contact_phone="",
                                                   contact_email="")


def public_contact(session: Session, unit: Unit) -> dict[str, str]:
    """How a member of the public (an applicant, a new volunteer) reaches the unit: the contact
    person, their phone (the unit's phone when none), their email, the unit's address. Blank
    values are left out, so a page shows only what there is."""
    profile = profile_of(session, unit.id)
    contact = {"name": profile.contact_name, "phone": profile.contact_phone or unit.phone,
               "email": profile.contact_email, "address": unit.address}
    return {key: value.strip() for key, value in contact.items() if (value or "").strip()}


def snapshot(unit: Unit, profile: UnitProfile) -> dict:
    data = {f: getattr(unit, f) for f in UNIT_FIELDS}
    data["legal_type"] = unit.legal_type.value if unit.legal_type else None
    data["category"] = unit.category.value if unit.category else None
    data.update({f: getattr(profile, f) or "" for f in PROFILE_FIELDS})
    data["logo_file_id"] = profile.logo_file_id
    return data


def update_profile(session: Session, unit: Unit, actor, *, now: dt.datetime | None = None,
                   **values) -> UnitProfile:
    """Change the profile (any of UNIT_FIELDS and PROFILE_FIELDS); audited. Legal type must be
    one of the five allowed kinds; the name cannot be blank."""
    begin_write(session)
    unknown = set(values) - set(UNIT_FIELDS) - set(PROFILE_FIELDS)
    if unknown:
        raise TypeError(f"unknown profile fields: {sorted(unknown)}")
    if "legal_type" in values:
        try:
            values["legal_type"] = LegalType(values["legal_type"])
        except ValueError:
            raise ProfileError(N_("Choose one of the five kinds of body that may be a unit."),
                               "legal_type") from None
    if "category" in values:
        try:
            values["category"] = Category(values["category"])
        except ValueError:
            raise ProfileError(N_("Choose social welfare or comprehensive."), "category") from None
    limits = {"name": NAME_MAX, "name_en": NAME_MAX, "registration_no": REG_MAX, "address": ADDRESS_MAX,
              "phone": PHONE_MAX, "responsible_person": PERSON_MAX, "contact_name": PERSON_MAX,
              "contact_phone": PHONE_MAX, "contact_email": EMAIL_MAX}
    for field, limit in limits.items():
        if field in values:
            values[field] = (values[field] or "").strip()
            if len(values[field]) > limit:
                raise ProfileError(N_("Use at most %(max)d characters."), field, max=limit)
    if "name" in values and not values["name"]:
        raise ProfileError(N_("Enter the unit's name."), "name")
    for field in ("phone", "contact_phone"):  # printed on welcome sheets and public pages
        if values.get(field):
            if phone_problem(values[field]):
                raise ProfileError(phone_problem(values[field]), field)
            values[field] = half_width(values[field])
    profile = profile_of(session, unit.id)
    before = snapshot(unit, profile)
    for field, value in values.items():
        setattr(unit if field in UNIT_FIELDS else profile, field, value)
    profile.updated_at = now or utcnow()
    session.add(profile)
    session.flush()
    after = snapshot(unit, profile)
    changed = {k for k in after if after[k] != before[k]}
    if changed:
        audit.record(session, action="unit_profile_updated", entity="unit", entity_id=unit.id,
                     actor=actor, unit_id=unit.id,
                     before={k: before[k] for k in sorted(changed)},
                     after={k: after[k] for k in sorted(changed)}, now=now)
    return profile


def create_unit(session: Session, *, name: str, legal_type: str, category: str,
                registration_no: str = "", actor_label: str = "cli",
                now: dt.datetime | None = None) -> Unit:
    """A new, empty unit (seed step 1): its name, one of the five legal types, its category and
    registration number. The training course catalogue of rules.md comes with it. Audited.
    Refused (ProfileError) like the profile form refuses the same values. Caller commits."""
    from .training import seed_catalogue

    begin_write(session)
    try:
        legal = LegalType(legal_type)
    except ValueError:
        raise ProfileError(N_("Choose one of the five kinds of body that may be a unit."),
                           "legal_type") from None
    try:
        cat = Category(category)
    except ValueError:
        raise ProfileError(N_("Choose social welfare or comprehensive."), "category") from None
    name, registration_no = (name or "").strip(), (registration_no or "").strip()
    if not name:
        raise ProfileError(N_("Enter the unit's name."), "name")
    for field, value, limit in (("name", name, NAME_MAX), ("registration_no", registration_no, REG_MAX)):
        if len(value) > limit:
            raise ProfileError(N_("Use at most %(max)d characters."), field, max=limit)
    unit = Unit(name=name, legal_type=legal, category=cat, registration_no=registration_no,
                created_at=now or utcnow())
    session.add(unit)
    session.flush()
    audit.record(session, action="unit_created", entity="unit", entity_id=unit.id,
                 actor_label=actor_label, unit_id=unit.id,
                 after={"name": name, "legal_type": legal.value, "category": cat.value,
                        "registration_no": registration_no}, now=now)
    seed_catalogue(session, unit, actor=None)
    return unit


def check_logo(data: bytes) -> str:
    """The logo's content type if `data` is a whole PNG or JPEG image of sensible size.

    Raises files.UploadRefused (codes empty / too_large / wrong_type)."""
    from PIL import Image, UnidentifiedImageError

    from .files import UploadRefused, sniff_type

    if not data:
        raise UploadRefused("empty")
    if len(data) > LOGO_MAX_BYTES:
        raise UploadRefused("too_large", f"{len(data)} > {LOGO_MAX_BYTES} bytes")
    content_type = sniff_type(data)
    if content_type not in LOGO_TYPES:
        raise UploadRefused("wrong_type", content_type or "unknown")
    try:  # right magic bytes are not enough: the PDF writer needs an image it can decode
        with Image.open(io.BytesIO(data)) as image:
            if image.width * image.height > LOGO_MAX_PIXELS:
                raise UploadRefused("too_large", "too many pixels")
            image.load()
    except UploadRefused:
        raise
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        raise UploadRefused("wrong_type", "not a readable image") from None
    return content_type


def set_logo(session: Session, unit: Unit, data: bytes, filename: str, actor, *, root,
             now: dt.datetime | None = None):
    """Keep an uploaded seal/logo (PNG or JPEG, at most LOGO_MAX_BYTES) in place of the one
    before, which is deleted (files.replace_file), and use it on printed documents. Nothing is
    kept when it is refused (files.UploadRefused); the same logo again changes nothing.
    Returns the logo's file."""
    from .files import StoredFile, replace_file

    begin_write(session)
    check_logo(data)
    profile = profile_of(session, unit.id)
    before = {"logo_file_id": profile.logo_file_id}
    stored = replace_file(session, profile, "logo_file_id", data, filename or "logo",
                          unit_id=unit.id, kind="unit_logo", root=root, actor=actor,
                          allowed=LOGO_TYPES, max_bytes=LOGO_MAX_BYTES, now=now)
    if stored is None:  # the same logo again
        return session.get(StoredFile, profile.logo_file_id)
    profile.updated_at = now or utcnow()
    session.flush()
    audit.record(session, action="unit_logo_set", entity="unit", entity_id=unit.id, actor=actor,
                 unit_id=unit.id, before=before, after={"logo_file_id": stored.id}, now=now)
    return stored


def remove_logo(session: Session, unit: Unit, actor, *, root,
                now: dt.datetime | None = None) -> bool:
    """Stop using the logo on printed documents; its file is deleted (files.release)."""
    from .files import release

    begin_write(session)
    profile = profile_of(session, unit.id)
    if profile.logo_file_id is None:
        return False
    before = {"logo_file_id": profile.logo_file_id}
    profile.logo_file_id = None
    profile.updated_at = now or utcnow()
    session.flush()
    audit.record(session, action="unit_logo_removed", entity="unit", entity_id=unit.id,
                 actor=actor, unit_id=unit.id, before=before, after={"logo_file_id": None},
                 now=now)
    release(session, before["logo_file_id"], root=root, actor=actor, now=now)
    return True


def logo_bytes(session: Session, unit_id: int, root) -> bytes | None:
    """The unit's logo image for printing, or None (no logo, or its bytes are gone)."""
    from .files import StoredFile, read_stored

    file_id = session.scalar(select(UnitProfile.logo_file_id)
                             .where(UnitProfile.unit_id == unit_id))
    if file_id is None:
        return None
    stored = session.get(StoredFile, file_id)
    if stored is None or stored.unit_id != unit_id:
        return None
    try:
        return read_stored(root, stored)
    except (FileNotFoundError, ValueError):
        return None


def supervisors(session: Session, unit_id: int) -> list[tuple]:
    """The unit's active supervisors (督導; one deactivated on the team page has left) with the
    names of the sites each one supervises (each a messages.Named: the Chinese name, carrying
    the English one)."""
    from .messages import Named
    from .people import Role, User
    from .service import Site
    from .verification import SupervisorSite

    users = list(session.scalars(select(User).where(
        User.unit_id == unit_id, User.role == Role.supervisor, User.active.is_(True))
        .order_by(User.display_name, User.id)))
    sites: dict[int, list[Named]] = {u.id: [] for u in users}
    if users:
        rows = session.execute(select(SupervisorSite.user_id, Site)
                               .join(Site, Site.id == SupervisorSite.site_id)
                               .where(SupervisorSite.user_id.in_(list(sites)))
                               .order_by(Site.name_zh))
        for user_id, site in rows:
            sites[user_id].append(Named(site))
    return [(u, sites[u.id]) for u in users]
