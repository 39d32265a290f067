"""Hourbook's domain: tables and the rules that act on them. No Flask imports here."""
from .audit import AuditEntry
from .award_rules import AwardRule
from .awards import AwardGrant
from .base import Base
from .checkin import CheckinEvent
from .evaluation import Evaluation, EvaluationCriterion, EvaluationScore
from .volunteer_status import VolunteerStatusChange
from .insurance import CoverKind, InsuranceCover
from .attendance import AttendanceMark, Shift
from .files import StoredFile
from .privacy import DataRequest
from .certificates import PerformanceCertificate
from .completion import IssuedCompletion
from .golden_family import AwardFamily, AwardFamilyMember
from .group_awards import GroupAwardApplication
from .reminder_mail import ReminderMail
from .prior_service import PriorHours
from .reports import ReportSnapshot
from .account_links import SetPasswordLink
from .openings import Opening
from .recruitment import Application
from .training import TrainingCourse, TrainingEvent, TrainingRecord
from .kiosk import KioskDevice
from .slips import HourSlip, HourSlipEntry, SerialCounter
from .verification import SupervisorSite
from .people import Gender, Role, User, Volunteer, VolunteerStatus
from .service import Flag, ServiceItem, ServiceSession, SessionSource, SessionStatus, Site
from .unit import Category, LegalType, Rounding, Unit
from .unit_profile import UnitProfile
from .plan import PlanDocument, PlanItem, PlanStatus, PlanVersion, ServicePlan

__all__ = [
    "Application", "AwardFamily", "AwardFamilyMember", "GroupAwardApplication", "ReminderMail", "DataRequest", "ReportSnapshot", "Opening",
    "IssuedCompletion", "PerformanceCertificate", "PriorHours", "SetPasswordLink", "StoredFile",
    "TrainingCourse", "TrainingEvent", "TrainingRecord",
    "AttendanceMark", "AuditEntry", "Base", "HourSlip", "HourSlipEntry", "SerialCounter", "Shift",
    "SupervisorSite", "Category", "CheckinEvent", "KioskDevice", "CoverKind", "Flag", "Gender", "InsuranceCover",
    "LegalType", "Role", "Rounding", "ServiceItem", "ServiceSession", "SessionSource",
    "SessionStatus", "Site", "Unit", "User", "Volunteer", "VolunteerStatus",
    "UnitProfile", "PlanDocument", "PlanItem", "PlanStatus", "PlanVersion", "ServicePlan",
    "Evaluation", "EvaluationCriterion", "EvaluationScore", "VolunteerStatusChange",
]
