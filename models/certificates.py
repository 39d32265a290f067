"""Performance certificates (志願服務績效證明書, issue #6).

The volunteer requests one (or an admin starts it); the unit issues it within 7 days (rules.md).
Issuing takes a gap-free number per unit and year (`models.slips.next_serial`, kind
"performance_certificate"), freezes everything printed on the certificate in its row (so the PDF
downloaded later is the one issued) and records the grant of the `performance_certificate` award
(the national award needs one). Every change is audited.
"""
from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import JSON, Date, Enum, ForeignKey, Index, Integer, String, UniqueConstraint, func, select, text
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from . import audit
from . import award_grants
from . import awards as aw
from . import award_rules
from .base import TAIPEI, Base, UTCDateTime, begin_write, taipei_date, utcnow
from .messages import N_, Refused
from .people import Role, User, Volunteer
from .unit_profile import profile_of
from .service import ServiceItem, ServiceSession, SessionStatus

CERTIFICATE_KIND = "performance_certificate"
DUE_DAYS = 7


class CertificateStatus(str, enum.Enum):
    requested = "requested"
    issued = "issued"


class PerformanceCertificate(Base):
    """One request for a performance certificate and, once issued, what was printed on it."""

    __tablename__ = "performance_certificate"
    __table_args__ = (
        UniqueConstraint("unit_id", "year", "seq"),
        # at most one open request per volunteer
        Index("uq_performance_certificate_open", "volunteer_id", unique=True,
              sqlite_where=text("status = 'requested'"),
              postgresql_where=text("status = 'requested'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    volunteer_id: Mapped[int] = mapped_column(ForeignKey("volunteer.id"), index=True)
    status: Mapped[CertificateStatus] = mapped_column(
        Enum(CertificateStatus, native_enum=False, length=20), default=CertificateStatus.requested)
    requested_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    due_on: Mapped[dt.date] = mapped_column(Date)
    note: Mapped[str] = mapped_column(String(300), default="")
    # set when issued: the number and everything printed
    year: Mapped[int | None] = mapped_column(Integer)
    seq: Mapped[int | None] = mapped_column(Integer)
    serial: Mapped[str | None] = mapped_column(String(40), unique=True)
    issued_on: Mapped[dt.date | None] = mapped_column(Date)
    issued_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    printed: Mapped[dict | None] = mapped_column(JSON)

    volunteer: Mapped[Volunteer] = relationship()


class CertificateError(Refused, ValueError):
    """A refused certificate request or issue."""


class NotEligible(CertificateError):
    """The volunteer does not qualify (yet): `eligibility` says why, for the UI to word in the
    reader's language; the message's `why` param is its English explanation (logs, tests)."""

    def __init__(self, eligibility: aw.AwardEligibility):
        super().__init__(N_("Not eligible yet: %(why)s"), why=aw.explain(eligibility))
        self.eligibility = eligibility


def format_certificate_serial(unit_id: int, year: int, seq: int) -> str:
    return f"P{unit_id:03d}-{year}-{seq:05d}"


def _snapshot(c: PerformanceCertificate) -> dict:
    return {"volunteer_id": c.volunteer_id, "status": c.status.value,
            "due_on": c.due_on.isoformat() if c.due_on else None, "note": c.note,
            "serial": c.serial, "issued_on": c.issued_on.isoformat() if c.issued_on else None,
            "printed": c.printed}


def certificate_eligibility(session: Session, volunteer: Volunteer, as_of: dt.date
                            ) -> aw.AwardEligibility:
    return next(e for e in aw.eligibility(session, volunteer, as_of)
                if e.award_key == award_rules.PERFORMANCE_CERTIFICATE)


def open_request(session: Session, volunteer_id: int) -> PerformanceCertificate | None:
    return session.scalar(select(PerformanceCertificate).where(
        PerformanceCertificate.volunteer_id == volunteer_id,
        PerformanceCertificate.status == CertificateStatus.requested))


def latest_issued(session: Session, volunteer_id: int) -> PerformanceCertificate | None:
    return session.scalar(select(PerformanceCertificate).where(
        PerformanceCertificate.volunteer_id == volunteer_id,
        PerformanceCertificate.status == CertificateStatus.issued)
        .order_by(PerformanceCertificate.issued_at.desc(), PerformanceCertificate.id.desc()).limit(1))


def minutes_since_issued(session: Session, volunteer_id: int, cert: PerformanceCertificate | None,
                         today: dt.date) -> int | None:
    """How many verified minutes at this unit, up to `today`, the issued certificate `cert`
    does not print (service verified since, or changed by a reopen): what makes a new request
    worth making. None without an issued certificate (a first request)."""
    if cert is None:
        return None
    return _service_facts(session, volunteer_id, today)["minutes"] - int(
        (cert.printed or {}).get("service_minutes") or 0)


def request_certificate(session: Session, volunteer: Volunteer, actor: User, now: dt.datetime,
                        note: str = "") -> PerformanceCertificate:
    """A request (by the volunteer, or started by an admin), due 7 days later. Refused when the
    volunteer does not qualify yet (the explanation says why) or a request is already open, and
    a volunteer's own request when their latest issued certificate already prints every
    verified minute (nothing to update: it would be a duplicate). Caller commits."""
    begin_write(session)
    if actor.role == Role.volunteer and getattr(actor.volunteer, "id", None) != volunteer.id:
        raise PermissionError("not yours")
    if actor.role != Role.volunteer and (actor.role != Role.admin
                                         or actor.unit_id != volunteer.unit_id):
        raise PermissionError("admins of the unit only")
    note = (note or "").strip()
    if len(note) > 300:
        raise CertificateError(N_("Use at most %(max)d characters."), max=300)
    if open_request(session, volunteer.id) is not None:
        raise CertificateError(N_("A request is already open."))
    today = taipei_date(now)
    if actor.role == Role.volunteer and minutes_since_issued(
            session, volunteer.id, latest_issued(session, volunteer.id), today) == 0:
        raise CertificateError(N_("Your certificate already shows all your verified hours."))
    e = certificate_eligibility(session, volunteer, today)
    if not e.eligible:
        raise NotEligible(e)
    cert = PerformanceCertificate(unit_id=volunteer.unit_id, volunteer_id=volunteer.id,
                                  status=CertificateStatus.requested, requested_at=now,
                                  requested_by_id=actor.id, note=note,
                                  due_on=today + dt.timedelta(days=DUE_DAYS))
    session.add(cert)
    session.flush()
    audit.record(session, action="performance_certificate_requested",
                 entity="performance_certificate", entity_id=cert.id, actor=actor,
                 unit_id=volunteer.unit_id, now=now, after=_snapshot(cert))
    return cert


def service_period(volunteer: Volunteer, e: aw.AwardEligibility, facts: dict, today: dt.date
                   ) -> tuple[dt.date | None, dt.date | None]:
    """The 服務期間 printed on the certificate, the one the eligibility counted its months over
    (rules.md "Seniority" and the certificate's row): from the start of service years with this
    unit (the later of completing training and joining, e.seniority_start) to the day the
    volunteer left, or the issue day while they serve. Without a start (not eligible anyway) or
    with service recorded before it, the first verified session."""
    start = e.seniority_start
    if start is None or (facts["first"] is not None and facts["first"] < start):
        start = facts["first"]
    end = today
    if not volunteer.is_active and volunteer.left_on is not None and volunteer.left_on < today:
        end = volunteer.left_on
    return start, end


def _service_facts(session: Session, volunteer_id: int, until: dt.date) -> dict:
    """Service period (first and last day of verified service), service items by minutes and
    the verified minutes at this unit, up to `until` (Taipei)."""
    end = dt.datetime.combine(until + dt.timedelta(days=1), dt.time(0), tzinfo=TAIPEI)
    base = (ServiceSession.volunteer_id == volunteer_id,
            ServiceSession.status == SessionStatus.verified,
            ServiceSession.checked_in_at < end.astimezone(dt.timezone.utc))
    first, last, total = session.execute(select(
        func.min(ServiceSession.checked_in_at), func.max(ServiceSession.checked_in_at),
        func.coalesce(func.sum(ServiceSession.credited_minutes), 0)).where(*base)).one()
    items = session.execute(
        select(ServiceItem.name_zh, func.sum(ServiceSession.credited_minutes).label("m"))
        .join(ServiceItem, ServiceItem.id == ServiceSession.service_item_id).where(*base)
        .group_by(ServiceItem.name_zh).order_by(text("m DESC"), ServiceItem.name_zh)).all()
    return {"first": taipei_date(first) if first else None,
            "last": taipei_date(last) if last else None,
            "items": [name for name, _m in items], "minutes": int(total or 0)}


def issue_certificate(session: Session, cert_id: int, actor: User, now: dt.datetime
                      ) -> PerformanceCertificate:
    """Number the certificate (gap-free per unit and year), freeze what is printed, record the
    performance-certificate grant. Admins of the unit only. Caller commits."""
    from .slips import next_serial
    from .unit import Unit

    begin_write(session)
    cert = session.get(PerformanceCertificate, cert_id, with_for_update=True)
    if cert is None or actor.role != Role.admin or cert.unit_id != actor.unit_id:
        raise PermissionError("admins of the unit only")
    if cert.status != CertificateStatus.requested:
        raise CertificateError(N_("This certificate is already issued."))
    volunteer = session.get(Volunteer, cert.volunteer_id)
    today = taipei_date(now)
    e = certificate_eligibility(session, volunteer, today)
    if not e.eligible:
        raise NotEligible(e)
    before = _snapshot(cert)
    facts = _service_facts(session, volunteer.id, today)
    period_start, period_end = service_period(volunteer, e, facts, today)
    unit = session.get(Unit, volunteer.unit_id)
    seq = next_serial(session, volunteer.unit_id, CERTIFICATE_KIND, today.year)
    cert.year, cert.seq = today.year, seq
    cert.serial = format_certificate_serial(volunteer.unit_id, today.year, seq)
    cert.status = CertificateStatus.issued
    cert.issued_on, cert.issued_at, cert.issued_by_id = today, now, actor.id
    cert.printed = {
        "volunteer_name": volunteer.name_zh, "volunteer_no": volunteer.volunteer_no,
        "birth_date": volunteer.birth_date.isoformat(),
        "record_book_no": volunteer.record_book_no or "",
        "period_start": period_start.isoformat() if period_start else None,
        "period_end": period_end.isoformat() if period_end else None,
        "service_items": facts["items"], "service_minutes": facts["minutes"],
        "prior_minutes": e.prior_minutes, "unit_name": unit.name,
        "responsible_person": profile_of(session, unit.id).responsible_person or "",
        "issued_on": today.isoformat(), "serial": cert.serial,
    }
    session.flush()
    award_grants.record_grant(session, volunteer, award_rules.PERFORMANCE_CERTIFICATE, 1, aw.GrantStatus.granted,
                    today, actor, now, judged=True)  # issue_certificate judged the volunteer
    audit.record(session, action="performance_certificate_issued",
                 entity="performance_certificate", entity_id=cert.id, actor=actor,
                 unit_id=cert.unit_id, now=now, before=before, after=_snapshot(cert))
    return cert


def certificates_for_admin(session: Session, unit_id: int) -> tuple[list, list]:
    """(open requests, soonest due first; issued certificates, newest first)."""
    from sqlalchemy.orm import joinedload

    q = select(PerformanceCertificate).options(joinedload(PerformanceCertificate.volunteer)) \
        .where(PerformanceCertificate.unit_id == unit_id)
    open_ = list(session.scalars(q.where(
        PerformanceCertificate.status == CertificateStatus.requested)
        .order_by(PerformanceCertificate.due_on, PerformanceCertificate.id)))
    issued = list(session.scalars(q.where(
        PerformanceCertificate.status == CertificateStatus.issued)
        .order_by(PerformanceCertificate.id.desc()).limit(200)))
    return open_, issued


def certificate_counts(session: Session, unit_id: int, today: dt.date) -> tuple[int, int]:
    """(open requests, overdue ones) of the unit."""
    base = select(func.count()).select_from(PerformanceCertificate).where(
        PerformanceCertificate.unit_id == unit_id,
        PerformanceCertificate.status == CertificateStatus.requested)
    return (int(session.scalar(base) or 0),
            int(session.scalar(base.where(PerformanceCertificate.due_on < today)) or 0))


def counted_on(session: Session, s: ServiceSession) -> PerformanceCertificate | None:
    """The issued certificate whose printed hours count this session, if any (the latest): it
    was verified when the certificate was issued and falls on or before the issue day. Issuing
    counts every verified minute up to that day (_service_facts)."""
    if s.status != SessionStatus.verified or s.verified_at is None:
        return None
    return session.scalar(select(PerformanceCertificate).where(
        PerformanceCertificate.volunteer_id == s.volunteer_id,
        PerformanceCertificate.status == CertificateStatus.issued,
        PerformanceCertificate.issued_at >= s.verified_at,
        PerformanceCertificate.issued_on >= taipei_date(s.checked_in_at))
        .order_by(PerformanceCertificate.issued_at.desc()).limit(1))


def hours_changed(session: Session, issued: list[PerformanceCertificate]) -> dict[int, int]:
    """Issued certificates whose printed hours no longer match the verified service up to their
    issue day, because a session they counted was reopened (verification.reopen names the
    certificate in its audit entry): certificate id -> the minutes verified now. Reopening is
    rare, so this reads those few audit entries and recounts only the certificates they name;
    one reopened and approved again with the same minutes is not listed, nor one a later
    certificate of the same volunteer has replaced."""
    from .audit import AuditEntry

    issued = [c for c in issued if c.status == CertificateStatus.issued and c.issued_at]
    if not issued:
        return {}
    latest = {}
    for c in issued:
        if c.volunteer_id not in latest or c.issued_at > latest[c.volunteer_id].issued_at:
            latest[c.volunteer_id] = c
    by_serial = {c.serial: c for c in issued if latest[c.volunteer_id] is c}
    named = set()
    for entry in session.scalars(select(AuditEntry).where(
            AuditEntry.unit_id == issued[0].unit_id, AuditEntry.action == "reopen",
            AuditEntry.entity == "service_session",
            AuditEntry.at >= min(c.issued_at for c in issued))):
        serial = (entry.after_data() or {}).get("certificate")
        if serial in by_serial:
            named.add(by_serial[serial])
    changed = {}
    for c in named:
        now = _service_facts(session, c.volunteer_id, c.issued_on)["minutes"]
        if now != (c.printed or {}).get("service_minutes"):
            changed[c.id] = now
    return changed


def changed_count(session: Session, unit_id: int) -> int:
    """How many of the unit's issued certificates (those its certificates page lists) have
    printed hours a reopen made wrong (hours_changed): for the admin's reminders."""
    _open, issued = certificates_for_admin(session, unit_id)
    return len(hours_changed(session, issued))


def certificates_of(session: Session, volunteer_id: int) -> list[PerformanceCertificate]:
    return list(session.scalars(select(PerformanceCertificate).where(
        PerformanceCertificate.volunteer_id == volunteer_id)
        .order_by(PerformanceCertificate.id.desc())))
