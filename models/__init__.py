"""Hourbook's domain: tables and the rules that act on them. No Flask imports here."""
from .audit import AuditEntry
from .base import Base
from .checkin import CheckinEvent
from .insurance import CoverKind, InsuranceCover
from .kiosk import KioskDevice
from .people import Gender, Role, User, Volunteer, VolunteerStatus
from .service import Flag, ServiceItem, ServiceSession, SessionSource, SessionStatus, Site
from .unit import Category, LegalType, Rounding, Unit

__all__ = [
    "AuditEntry", "Base", "Category", "CheckinEvent", "KioskDevice", "CoverKind", "Flag", "Gender", "InsuranceCover",
    "LegalType", "Role", "Rounding", "ServiceItem", "ServiceSession", "SessionSource",
    "SessionStatus", "Site", "Unit", "User", "Volunteer", "VolunteerStatus",
]
