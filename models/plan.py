"""The yearly volunteer service plan (志願服務計畫, seed step 2) and its filing (備案, step 3).

A plan per unit and year holds versions. Each version has the seven sections (VSA §7) — six
texts and the service items picked from the unit's service-item table, each with a text — and
its own filing record: status, dates, reference number, documents.

The state machine, per version:

    draft --submit--> submitted --approve--> approved
                               \\--return---> returned

Only a draft can be edited. Editing when the latest version has left draft (submitted,
approved or returned) starts a new draft version copied from it; the old version, with its
filing record, stays as it was and can be read.
"""
from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass

from sqlalchemy import Date, Enum, ForeignKey, String, Text, UniqueConstraint, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship, selectinload

from . import audit
from .base import Base, UTCDateTime, begin_write, one_writer_per, taipei_date, utcnow
from .service import ServiceItem
from .messages import N_


class PlanStatus(str, enum.Enum):
    draft = "draft"
    submitted = "submitted"
    approved = "approved"
    returned = "returned"


STATUS_LABELS = {
    PlanStatus.draft: (N_("draft"), "草稿"),
    PlanStatus.submitted: (N_("submitted"), "已送件"),
    PlanStatus.approved: (N_("approved"), "已核備"),
    PlanStatus.returned: (N_("returned"), "退回"),
}

# Allowed moves of one version's filing status.
TRANSITIONS = {
    PlanStatus.draft: {PlanStatus.submitted},
    PlanStatus.submitted: {PlanStatus.approved, PlanStatus.returned},
    PlanStatus.approved: set(),
    PlanStatus.returned: set(),
}


@dataclass(frozen=True)
class Section:
    key: str
    zh: str  # the heading on the filed document
    label: str  # English msgid for the UI
    numeral: str  # 一、二、… on the document


SECTIONS = (
    Section("recruitment", "召募", N_("Recruitment of volunteers"), "一"),
    Section("training", "訓練", N_("Training of volunteers"), "二"),
    Section("management", "管理", N_("Management of volunteers"), "三"),
    Section("deployment", "運用", N_("Deployment of volunteers"), "四"),
    Section("guidance", "輔導", N_("Guidance of volunteers"), "五"),
    Section("evaluation", "考核", N_("Evaluation of volunteers"), "六"),
    Section("service_items", "服務項目", N_("Service items"), "七"),
)
SECTION_BY_KEY = {s.key: s for s in SECTIONS}
TEXT_SECTIONS = tuple(s.key for s in SECTIONS if s.key != "service_items")
SECTION_MAX = 5000
ITEM_TEXT_MAX = 1000
REFERENCE_MAX = 60
REASON_MAX = 500
LABEL_MAX = 200
YEAR_MIN, YEAR_MAX = 2000, 2100  # a year the pages read from a URL or a form at all


def plan_years(today: dt.date) -> tuple[int, int]:
    """The years a new plan may be for on `today` (a Taipei date): last year, this year and
    next year. A plan is filed before volunteers serve under it (VSA §7; filing_reminders
    asks for next year's from 1 November), so next year's is drafted in the autumn; last
    year's is there to record a plan a unit filed on paper before it used Hourbook, until its
    results report (within 2 months of year end) is done. Two years ahead, or a year long
    past, is a typing slip (2099, 1999)."""
    return today.year - 1, today.year + 1


class ServicePlan(Base):
    __tablename__ = "service_plan"
    __table_args__ = (UniqueConstraint("unit_id", "year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    year: Mapped[int] = mapped_column()
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    versions: Mapped[list["PlanVersion"]] = relationship(
        back_populates="plan", order_by="PlanVersion.number")

    @property
    def current(self) -> "PlanVersion":
        return self.versions[-1]

    @property
    def status(self) -> PlanStatus:
        return self.current.status


class PlanVersion(Base):
    """One version of a plan: the seven sections and the filing record of this version."""

    __tablename__ = "service_plan_version"
    __table_args__ = (UniqueConstraint("plan_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("service_plan.id"), index=True)
    number: Mapped[int] = mapped_column()
    status: Mapped[PlanStatus] = mapped_column(
        Enum(PlanStatus, native_enum=False, length=20), default=PlanStatus.draft)
    recruitment: Mapped[str] = mapped_column(Text, default="")
    training: Mapped[str] = mapped_column(Text, default="")
    management: Mapped[str] = mapped_column(Text, default="")
    deployment: Mapped[str] = mapped_column(Text, default="")
    guidance: Mapped[str] = mapped_column(Text, default="")
    evaluation: Mapped[str] = mapped_column(Text, default="")
    submitted_on: Mapped[dt.date | None] = mapped_column(Date)
    decided_on: Mapped[dt.date | None] = mapped_column(Date)  # approved or returned
    reference_no: Mapped[str] = mapped_column(String(60), default="")
    return_reason: Mapped[str] = mapped_column(String(500), default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    plan: Mapped[ServicePlan] = relationship(back_populates="versions")
    items: Mapped[list["PlanItem"]] = relationship(
        back_populates="version", order_by="PlanItem.id", cascade="all, delete-orphan")
    documents: Mapped[list["PlanDocument"]] = relationship(
        back_populates="version", order_by="PlanDocument.id")

    def text_of(self, key: str) -> str:
        return getattr(self, key) if key in TEXT_SECTIONS else ""


class PlanItem(Base):
    """A service item (服務項目) picked for the plan, with what the plan says about it."""

    __tablename__ = "service_plan_item"
    __table_args__ = (UniqueConstraint("version_id", "service_item_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("service_plan_version.id"), index=True)
    service_item_id: Mapped[int] = mapped_column(ForeignKey("service_item.id"))
    description: Mapped[str] = mapped_column(Text, default="")

    version: Mapped[PlanVersion] = relationship(back_populates="items")
    service_item: Mapped[ServiceItem] = relationship()


class PlanDocument(Base):
    """A document that goes with a version's filing (the submitted file, the approval letter)."""

    __tablename__ = "service_plan_document"

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("service_plan_version.id"), index=True)
    file_id: Mapped[int] = mapped_column(ForeignKey("stored_file.id"))
    label: Mapped[str] = mapped_column(String(200), default="")
    added_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    added_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    version: Mapped[PlanVersion] = relationship(back_populates="documents")


class PlanError(ValueError):
    """A refused change. `message` is an English msgid with %(params)s; `labels` are params
    whose values are msgids (or lists of msgids) the UI translates before formatting."""

    def __init__(self, message: str, field: str | None = None, labels: dict | None = None,
                 **params):
        shown = {**params, **{k: ", ".join(v) if isinstance(v, (list, tuple)) else v
                              for k, v in (labels or {}).items()}}
        super().__init__(message % shown if shown else message)
        self.message = message
        self.field = field
        self.params = params
        self.labels = labels or {}


# --- reading ------------------------------------------------------------------------------

def plans_of(session: Session, unit_id: int) -> list[ServicePlan]:
    return list(session.scalars(
        select(ServicePlan).where(ServicePlan.unit_id == unit_id)
        .options(selectinload(ServicePlan.versions)).order_by(ServicePlan.year.desc())))


def plan_for_year(session: Session, unit_id: int, year: int) -> ServicePlan | None:
    return session.scalar(
        select(ServicePlan).where(ServicePlan.unit_id == unit_id, ServicePlan.year == year)
        .options(selectinload(ServicePlan.versions).selectinload(PlanVersion.items)
                 .selectinload(PlanItem.service_item),
                 selectinload(ServicePlan.versions).selectinload(PlanVersion.documents)))


def empty_sections(version: PlanVersion) -> list[str]:
    """Keys of the sections with nothing in them (blank text; no service item picked)."""
    empty = [k for k in TEXT_SECTIONS if not (version.text_of(k) or "").strip()]
    if not version.items:
        empty.append("service_items")
    return empty


def version_snapshot(version: PlanVersion) -> dict:
    return {"number": version.number, "status": version.status.value,
            "submitted_on": version.submitted_on.isoformat() if version.submitted_on else None,
            "decided_on": version.decided_on.isoformat() if version.decided_on else None,
            "reference_no": version.reference_no, "return_reason": version.return_reason}


# --- writing ------------------------------------------------------------------------------

def create_plan(session: Session, unit_id: int, year: int, actor, *,
                now: dt.datetime | None = None, today: dt.date | None = None) -> ServicePlan:
    """A new plan for `year` with an empty draft version 1. `year` must be one of
    plan_years(today) (`today`: the Taipei date of `now` when not given)."""
    begin_write(session)
    now = now or utcnow()
    low, high = plan_years(today or taipei_date(now))
    if not low <= int(year) <= high:
        raise PlanError(N_("A plan is for last year, this year or next year: enter a year from "
                           "%(low)d to %(high)d."), "year", low=low, high=high)
    if plan_for_year(session, unit_id, year) is not None:
        raise PlanError(N_("There is already a plan for %(year)d."), "year", year=year)
    plan = ServicePlan(unit_id=unit_id, year=int(year), created_at=now)
    plan.versions.append(PlanVersion(number=1, status=PlanStatus.draft, created_at=now,
                                     updated_at=now, created_by_id=getattr(actor, "id", None),
                                     **{k: "" for k in TEXT_SECTIONS}, reference_no="",
                                     return_reason=""))
    session.add(plan)
    session.flush()
    audit.record(session, action="plan_created", entity="service_plan", entity_id=plan.id,
                 actor=actor, unit_id=unit_id, after={"year": plan.year, "version": 1}, now=now)
    return plan


NOT_DELETABLE = N_("Only a plan that was never submitted can be deleted: this one has a filing "
                   "record. Start a new version to change it.")


def may_delete(plan: ServicePlan) -> bool:
    """A plan started by mistake: never submitted (its one version a draft). A plan that was
    ever submitted keeps its filing record: it is corrected by a new version, not deleted."""
    return all(v.status == PlanStatus.draft for v in plan.versions)


def delete_plan(session: Session, plan: ServicePlan, actor, *, root,
                now: dt.datetime | None = None) -> None:
    """Delete a plan started by mistake (may_delete), with its items and the files attached to
    its draft (files.release, kept under `root`). The audit log keeps what it held. PlanError
    when the plan was ever submitted."""
    from .files import release

    begin_write(session)
    one_writer_per(session, ServicePlan, plan.id)
    statuses = set(session.scalars(select(PlanVersion.status).where(  # as they are now
        PlanVersion.plan_id == plan.id)))
    if not may_delete(plan) or statuses - {PlanStatus.draft}:
        raise PlanError(NOT_DELETABLE, "plan")
    now = now or utcnow()
    before = {"year": plan.year,
              "versions": [{**version_snapshot(v), **{k: v.text_of(k) for k in TEXT_SECTIONS},
                            "items": {i.service_item_id: i.description for i in v.items},
                            "documents": [{"file_id": d.file_id, "label": d.label}
                                          for d in v.documents]}
                           for v in plan.versions]}
    audit.record(session, action="plan_deleted", entity="service_plan", entity_id=plan.id,
                 actor=actor, unit_id=plan.unit_id, before=before, now=now)
    file_ids = [d.file_id for v in plan.versions for d in v.documents]
    for version in list(plan.versions):
        for doc in list(version.documents):
            session.delete(doc)
        session.delete(version)  # its items go with it (delete-orphan)
    session.flush()
    session.delete(plan)
    session.flush()
    for file_id in file_ids:
        release(session, file_id, root=root, actor=actor, now=now)


def draft_version(session: Session, plan: ServicePlan, actor, *,
                  now: dt.datetime | None = None) -> tuple[PlanVersion, bool]:
    """The version edits go into, and whether it was just created: the latest version when
    it is a draft; otherwise a new draft copied from the latest (which keeps its record)."""
    begin_write(session)
    latest = plan.current
    if latest.status == PlanStatus.draft:
        return latest, False
    now = now or utcnow()
    new = PlanVersion(number=latest.number + 1, status=PlanStatus.draft, created_at=now,
                      updated_at=now, created_by_id=getattr(actor, "id", None),
                      **{k: latest.text_of(k) for k in TEXT_SECTIONS}, reference_no="",
                      return_reason="")
    new.items = [PlanItem(service_item_id=i.service_item_id, description=i.description)
                 for i in latest.items]
    plan.versions.append(new)
    session.flush()
    audit.record(session, action="plan_version_created", entity="service_plan",
                 entity_id=plan.id, actor=actor, unit_id=plan.unit_id,
                 before={"version": latest.number, "status": latest.status.value},
                 after={"version": new.number, "status": new.status.value}, now=now)
    return new, True


def update_section(session: Session, plan: ServicePlan, key: str, text: str, actor, *,
                   now: dt.datetime | None = None) -> tuple[PlanVersion, bool]:
    """Set one of the six text sections; returns the version written and whether it is new."""
    if key not in TEXT_SECTIONS:
        raise PlanError(N_("There is no such section."), "text")
    text = (text or "").replace("\r\n", "\n").strip()
    if len(text) > SECTION_MAX:
        raise PlanError(N_("Use at most %(max)d characters."), "text", max=SECTION_MAX)
    now = now or utcnow()
    version, created = draft_version(session, plan, actor, now=now)
    before = version.text_of(key)
    if before == text:
        return version, created
    setattr(version, key, text)
    version.updated_at = now
    session.flush()
    audit.record(session, action="plan_section_updated", entity="service_plan_version",
                 entity_id=version.id, actor=actor, unit_id=plan.unit_id,
                 before={"section": key, "text": before},
                 after={"section": key, "text": text, "version": version.number}, now=now)
    return version, created


def update_items(session: Session, plan: ServicePlan, picks: dict[int, str], actor, *,
                 now: dt.datetime | None = None) -> tuple[PlanVersion, bool]:
    """Set the service-items section: {service item id: what the plan says about it}.
    The items must be the unit's own."""
    picks = {int(k): (v or "").replace("\r\n", "\n").strip() for k, v in picks.items()}
    if any(len(v) > ITEM_TEXT_MAX for v in picks.values()):
        raise PlanError(N_("Use at most %(max)d characters."), "items", max=ITEM_TEXT_MAX)
    if picks:
        found = set(session.scalars(select(ServiceItem.id).where(
            ServiceItem.id.in_(list(picks)), ServiceItem.unit_id == plan.unit_id)))
        if found != set(picks):
            raise PlanError(N_("Pick service items from the unit's list."), "items")
    now = now or utcnow()
    version, created = draft_version(session, plan, actor, now=now)
    before = {i.service_item_id: i.description for i in version.items}
    if before == picks:
        return version, created
    kept = {i.service_item_id: i for i in version.items}
    for item_id, item in kept.items():
        if item_id not in picks:
            version.items.remove(item)
    for item_id, text in picks.items():
        if item_id in kept:
            kept[item_id].description = text
        else:
            version.items.append(PlanItem(service_item_id=item_id, description=text))
    version.updated_at = now
    session.flush()
    audit.record(session, action="plan_items_updated", entity="service_plan_version",
                 entity_id=version.id, actor=actor, unit_id=plan.unit_id,
                 before={"items": {str(k): v for k, v in sorted(before.items())}},
                 after={"items": {str(k): v for k, v in sorted(picks.items())},
                        "version": version.number}, now=now)
    return version, created


def _check_move(version: PlanVersion, target: PlanStatus) -> None:
    if target not in TRANSITIONS[version.status]:
        raise PlanError(N_("A plan version that is %(current)s cannot be marked %(target)s."),
                        "status", labels={"current": STATUS_LABELS[version.status][0],
                                          "target": STATUS_LABELS[target][0]})


def _check_date(day: dt.date | None, today: dt.date, field: str, after: dt.date | None = None):
    if day is None:
        raise PlanError(N_("Enter the date."), field)
    if day > today:
        raise PlanError(N_("The date cannot be in the future."), field)
    if after is not None and day < after:
        raise PlanError(N_("The date cannot be before the submission date (%(day)s)."), field,
                        day=after.isoformat())


def _moved(session, plan, version, before, action, actor, now):
    version.updated_at = now
    session.flush()
    audit.record(session, action=action, entity="service_plan_version", entity_id=version.id,
                 actor=actor, unit_id=plan.unit_id, before=before,
                 after=version_snapshot(version), now=now)


def submit(session: Session, plan: ServicePlan, actor, *, submitted_on: dt.date | None,
           reference_no: str = "", today: dt.date, now: dt.datetime | None = None) -> PlanVersion:
    """Mark the latest version submitted to the authority. Refused while any section is empty
    (the refusal names them) and unless the version is a draft."""
    begin_write(session)
    version = plan.current
    _check_move(version, PlanStatus.submitted)
    empty = empty_sections(version)
    if empty:
        raise PlanError(N_("Fill in every section before submitting. Empty: %(sections)s."),
                        "status", labels={"sections": [SECTION_BY_KEY[k].label for k in empty]})
    _check_date(submitted_on, today, "submitted_on")
    reference_no = (reference_no or "").strip()
    if len(reference_no) > REFERENCE_MAX:
        raise PlanError(N_("Use at most %(max)d characters."), "reference_no", max=REFERENCE_MAX)
    before = version_snapshot(version)
    version.status = PlanStatus.submitted
    version.submitted_on = submitted_on
    version.reference_no = reference_no
    _moved(session, plan, version, before, "plan_submitted", actor, now or utcnow())
    return version


def approve(session: Session, plan: ServicePlan, actor, *, decided_on: dt.date | None,
            reference_no: str = "", today: dt.date, now: dt.datetime | None = None) -> PlanVersion:
    """Record the authority's approval (核備) of the submitted version, with its reference."""
    begin_write(session)
    version = plan.current
    _check_move(version, PlanStatus.approved)
    _check_date(decided_on, today, "decided_on", after=version.submitted_on)
    reference_no = (reference_no or "").strip() or version.reference_no
    if not reference_no:
        raise PlanError(N_("Enter the reference number of the approval."), "reference_no")
    if len(reference_no) > REFERENCE_MAX:
        raise PlanError(N_("Use at most %(max)d characters."), "reference_no", max=REFERENCE_MAX)
    before = version_snapshot(version)
    version.status = PlanStatus.approved
    version.decided_on = decided_on
    version.reference_no = reference_no
    _moved(session, plan, version, before, "plan_approved", actor, now or utcnow())
    return version


def return_plan(session: Session, plan: ServicePlan, actor, *, decided_on: dt.date | None,
                reason: str, today: dt.date, now: dt.datetime | None = None) -> PlanVersion:
    """Record that the authority returned the submitted version, and why."""
    begin_write(session)
    version = plan.current
    _check_move(version, PlanStatus.returned)
    _check_date(decided_on, today, "decided_on", after=version.submitted_on)
    reason = (reason or "").strip()
    if not reason:
        raise PlanError(N_("Enter why the plan was returned."), "reason")
    if len(reason) > REASON_MAX:
        raise PlanError(N_("Use at most %(max)d characters."), "reason", max=REASON_MAX)
    before = version_snapshot(version)
    version.status = PlanStatus.returned
    version.decided_on = decided_on
    version.return_reason = reason
    _moved(session, plan, version, before, "plan_returned", actor, now or utcnow())
    return version


def add_document(session: Session, plan: ServicePlan, data: bytes, filename: str, label: str,
                 actor, *, root, now: dt.datetime | None = None) -> PlanDocument:
    """Attach a document (PDF, JPEG or PNG) to the latest version's filing record. The same
    file attached to that version already is refused (a form sent twice, or uploaded again
    by mistake)."""
    import hashlib

    from .files import StoredFile, store_upload

    begin_write(session)
    label = (label or "").strip()
    if len(label) > LABEL_MAX:
        raise PlanError(N_("Use at most %(max)d characters."), "label", max=LABEL_MAX)
    version = plan.current
    one_writer_per(session, PlanVersion, version.id)
    if session.scalar(select(PlanDocument.id).join(StoredFile, StoredFile.id == PlanDocument.file_id)
                      .where(PlanDocument.version_id == version.id,
                             StoredFile.sha256 == hashlib.sha256(data).hexdigest()).limit(1)):
        raise PlanError(N_("This file is already attached to version %(number)d."), "document",
                        number=version.number)
    stored = store_upload(session, plan.unit_id, "plan_document", data, filename,
                          getattr(actor, "id", None), root=root, actor=actor)
    now = now or utcnow()
    doc = PlanDocument(version=version, file_id=stored.id, label=label or stored.original_name,
                       added_by_id=getattr(actor, "id", None), added_at=now)
    session.add(doc)
    session.flush()
    audit.record(session, action="plan_document_added", entity="service_plan_version",
                 entity_id=version.id, actor=actor, unit_id=plan.unit_id,
                 after={"file_id": stored.id, "label": doc.label, "version": version.number},
                 now=now)
    return doc


def remove_document(session: Session, plan: ServicePlan, document_id: int, actor, *, root,
                    now: dt.datetime | None = None) -> PlanDocument:
    """Take a document attached by mistake off the latest version's filing record and delete
    the file (it may hold personal data). The audit log keeps what it was. LookupError when
    the latest version has no such document."""
    from .files import release

    begin_write(session)
    version = plan.current
    doc = next((d for d in version.documents if d.id == document_id), None)
    if doc is None:
        raise LookupError(document_id)
    now = now or utcnow()
    audit.record(session, action="plan_document_removed", entity="service_plan_version",
                 entity_id=version.id, actor=actor, unit_id=plan.unit_id, now=now,
                 before={"file_id": doc.file_id, "label": doc.label, "version": version.number})
    version.documents.remove(doc)
    session.delete(doc)
    release(session, doc.file_id, root=root, actor=actor, now=now)
    session.flush()
    return doc


# --- filing reminders (workflow step 3) ------------------------------------------------------

NEXT_YEAR_FROM = (11, 1)  # from 1 November, next year's plan is reminded as well
FOLLOW_UP_DAYS = 30  # submitted this long ago with no decision recorded: ask the authority


class PlanReminderKind(str, enum.Enum):
    not_filed = "not_filed"  # nothing submitted or approved for the year: no plan, or a draft
    returned = "returned"  # the authority returned the latest version: revise, submit again
    no_decision = "no_decision"  # submitted FOLLOW_UP_DAYS ago or more, no decision recorded


@dataclass(frozen=True)
class PlanReminder:
    year: int
    kind: PlanReminderKind
    today: dt.date
    version: PlanVersion | None  # the version it is about; None: no plan for the year yet

    @property
    def days_to_year(self) -> int:
        """Days until the plan's year begins (0 or less: it has begun)."""
        return (dt.date(self.year, 1, 1) - self.today).days

    @property
    def days_waiting(self) -> int:
        submitted = self.version.submitted_on if self.version else None
        return (self.today - submitted).days if submitted else 0


def filing_reminders(session: Session, unit_id: int, today: dt.date) -> list[PlanReminder]:
    """What the unit's plan filing needs on `today` (a Taipei date), for this year's plan and,
    from NEXT_YEAR_FROM, next year's: a plan must be filed before volunteers serve under it
    (VSA §7), so a year without a submitted or approved version is reminded; so is a version
    the authority returned, and one submitted FOLLOW_UP_DAYS ago with no decision recorded."""
    years = [today.year]
    if (today.month, today.day) >= NEXT_YEAR_FROM:
        years.append(today.year + 1)
    found = {p.year: p for p in session.scalars(
        select(ServicePlan).where(ServicePlan.unit_id == unit_id, ServicePlan.year.in_(years))
        .options(selectinload(ServicePlan.versions)))}
    due: list[PlanReminder] = []
    for year in years:
        plan = found.get(year)
        if plan is None:
            due.append(PlanReminder(year, PlanReminderKind.not_filed, today, None))
            continue
        latest = plan.current
        waiting = next((v for v in reversed(plan.versions) if v.status == PlanStatus.submitted),
                       None)
        if latest.status == PlanStatus.returned:
            due.append(PlanReminder(year, PlanReminderKind.returned, today, latest))
        elif waiting is not None:
            if waiting.submitted_on and (today - waiting.submitted_on).days >= FOLLOW_UP_DAYS:
                due.append(PlanReminder(year, PlanReminderKind.no_decision, today, waiting))
        elif not any(v.status == PlanStatus.approved for v in plan.versions):
            due.append(PlanReminder(year, PlanReminderKind.not_filed, today, latest))
    return due
