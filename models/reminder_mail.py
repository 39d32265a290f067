"""Reminders by email for a unit's admins: what the admin home page shows (results reports to
file, award deadlines, certificate requests), plus insurance and verification that need them,
sent by `hourbook reminders send` from cron so that an admin who does not open Hourbook still
hears of a filing window (workflow.md steps 3, 11 and 12; rules.md "Reports"). Each supervisor
gets a mail of their own in the same run: the sessions waiting for verification at their
sites, the flagged ones and the forgotten check-outs among them (`supervisor_reminders`, the
counts of their home page's "to do", verification.waiting_at), and who was turned away at their
sites on each day since the unit's last reminder (`turned_away_since`: refusal_log.turned_away, the
lines of the dashboard's refusal log for that day, which the mail links to).

Why since the last reminder and not just yesterday: the mail goes out weekly (Mondays, and the
first day of each half-year; deploy/hourbook.cron), so "yesterday" would be a Sunday and would
miss the week's weekdays. The days run from the day of the last mail sent (its morning's
refusals came after it: the day counts whole) to yesterday, at most TURNED_AWAY_DAYS of them
(the unit's first mail, or a long gap, looks one week back); today's are on the dashboard and
the home page as they happen.

What goes in a unit's reminder (`unit_reminder`, as of a Taipei day):
- results reports whose filing window is open or past and not filed (models.reports.reminders);
- the service plan's filing: this year's (and from November next year's) plan not filed, a
  version returned, or no decision long after submitting (models.plan.filing_reminders);
- award filing deadlines within DEADLINE_DAYS for which someone qualifies or an application
  waits for its decision (models.recognition.deadlines);
- performance-certificate requests waiting, and how many are past their 7-day due date;
- issued performance certificates whose printed hours a reopen made wrong (to issue again);
- active volunteers without insurance cover today, and covers ending within 30 days;
- sessions waiting for verification (closed or needing review).

An empty reminder is not sent (nor a supervisor's with nothing waiting and nobody turned
away at their sites). At
most one reminder per unit and Taipei day, held by the database (`ReminderMail`, unique per unit
and day; the admins' and the supervisors' mails are sent together under it, as one): a cron job
run twice sends once. A run
claims the day before sending and marks it sent after; a claim left unsent for CLAIM_TIMEOUT
(the run died or was killed in between) is taken over by the next run, so the day's reminder
is not lost. The cost: if a run died after the SMTP server accepted the mail but before marking
it sent, the admins get it twice.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import Date, ForeignKey, Integer, UniqueConstraint, delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from . import audit
from .base import Base, UTCDateTime, begin_write, utcnow
from .refusal_log import turned_away
from .certificates import certificate_counts, changed_count
from .insurance import CoverStatus, expiring_within, uninsured_on
from .people import Role, User, Volunteer
from .plan import PlanReminder, filing_reminders
from .recognition import Deadline, deadlines
from .reports import Reminder, reminders
from .verification import Waiting, supervised_site_ids, waiting_at

DEADLINE_DAYS = 30  # award deadlines this close are in the reminder
CLAIM_TIMEOUT = dt.timedelta(minutes=30)  # a claim this old and not sent: its run died
TURNED_AWAY_DAYS = 7  # a supervisor's mail looks this many days back at most for who was turned away


class ReminderMail(Base):
    """A unit's reminder sent on a Taipei day (one per unit and day)."""

    __tablename__ = "reminder_mail"
    __table_args__ = (UniqueConstraint("unit_id", "sent_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"))
    sent_on: Mapped[dt.date] = mapped_column(Date)
    recipients: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)  # claimed
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)


@dataclass
class UnitReminder:
    unit_id: int
    today: dt.date
    reports: list[Reminder] = field(default_factory=list)
    plans: list[PlanReminder] = field(default_factory=list)
    deadlines: list[Deadline] = field(default_factory=list)
    open_certificates: int = 0
    overdue_certificates: int = 0
    changed_certificates: int = 0  # issued, with printed hours a reopen made wrong
    uninsured: list[Volunteer] = field(default_factory=list)
    expiring: list[CoverStatus] = field(default_factory=list)
    to_verify: int = 0

    @property
    def items(self) -> int:
        """How many things need the admin (each report, deadline, volunteer counts once)."""
        return (len(self.reports) + len(self.plans) + len(self.deadlines) + self.open_certificates
                + self.changed_certificates + len(self.uninsured) + len(self.expiring) + (1 if self.to_verify else 0))


def unit_reminder(session: Session, unit_id: int, today: dt.date) -> UnitReminder:
    """What the unit's admins should hear about on `today` (see the module docstring)."""
    open_certs, overdue_certs = certificate_counts(session, unit_id, today)
    soon = [d for d in deadlines(session, unit_id, today, horizon_days=DEADLINE_DAYS)
            if d.kind == "award" and (d.qualifying or d.pending)]
    return UnitReminder(unit_id, today, reports=reminders(session, unit_id, today),
                        plans=filing_reminders(session, unit_id, today),
                        deadlines=soon, open_certificates=open_certs,
                        overdue_certificates=overdue_certs,
                        changed_certificates=changed_count(session, unit_id),
                        uninsured=uninsured_on(session, unit_id, today),
                        expiring=expiring_within(session, unit_id, today),
                        to_verify=waiting_at(session, unit_id, None).sessions)


def recipients(session: Session, unit_id: int, role: Role = Role.admin) -> list[User]:
    """The unit's active admin (or supervisor) accounts with a real address (not a placeholder)."""

    return [u for u in session.scalars(select(User).where(
        User.unit_id == unit_id, User.role == role, User.active.is_(True))
        .order_by(User.id)) if u.has_real_email]


@dataclass
class SupervisorReminder:
    """What waits for verification at one supervisor's sites, and who was turned away there."""

    user: User
    waiting: Waiting
    turned_away: list[tuple[dt.date, int]] = field(default_factory=list)  # (day, count), newest first

    @property
    def turned_away_total(self) -> int:
        return sum(n for _day, n in self.turned_away)


def turned_away_since(session: Session, unit_id: int, today: dt.date,
                      site_ids: set[int] | None) -> list[tuple[dt.date, int]]:
    """The days since the unit's last reminder mail (that day included; at most
    TURNED_AWAY_DAYS, up to yesterday) on which someone was turned away at `site_ids`, newest
    first, each with its count (refusal_log.turned_away, as the dashboard's refusal log of that day)."""
    last = session.scalar(select(func.max(ReminderMail.sent_on)).where(
        ReminderMail.unit_id == unit_id, ReminderMail.sent_at.is_not(None), ReminderMail.sent_on < today))
    first = max(last or dt.date.min, today - dt.timedelta(days=TURNED_AWAY_DAYS))
    days = [today - dt.timedelta(days=n) for n in range(1, (today - first).days + 1)]
    counted = [(day, turned_away(session, unit_id, day, site_ids)) for day in days]
    return [(day, n) for day, n in counted if n]


def supervisor_reminders(session: Session, unit_id: int, today: dt.date) -> list[SupervisorReminder]:
    """The unit's supervisors (as `recipients`) with sessions waiting at their sites or someone
    turned away there since the last reminder, each with their own counts; a supervisor with no
    site, or with nothing of either, is left out."""
    found = []
    for user in recipients(session, unit_id, Role.supervisor):
        site_ids = supervised_site_ids(session, user)
        if not site_ids:
            continue
        reminder = SupervisorReminder(user, waiting_at(session, unit_id, site_ids),
                                      turned_away_since(session, unit_id, today, site_ids))
        if reminder.waiting.sessions or reminder.turned_away:
            found.append(reminder)
    return found


def claim_day(session: Session, unit_id: int, today: dt.date, n_recipients: int,
              now: dt.datetime | None = None) -> bool:
    """Record that the unit's reminder of `today` is being sent; False when it was sent already
    or another run is sending it. A claim older than CLAIM_TIMEOUT and still not sent is taken
    over (one run wins). The caller commits before sending, then calls `mark_sent` or
    `release_day`."""
    now = now or utcnow()
    begin_write(session)
    mail = ReminderMail(unit_id=unit_id, sent_on=today, recipients=n_recipients, created_at=now)
    try:
        with session.begin_nested():
            session.add(mail)
            session.flush()
    except IntegrityError:
        taken = session.execute(
            update(ReminderMail)
            .where(ReminderMail.unit_id == unit_id, ReminderMail.sent_on == today,
                   ReminderMail.sent_at.is_(None), ReminderMail.created_at < now - CLAIM_TIMEOUT)
            .values(created_at=now, recipients=n_recipients)
            .execution_options(synchronize_session=False))
        return taken.rowcount == 1
    return True


def mark_sent(session: Session, unit_id: int, today: dt.date, n_recipients: int, items: int,
              now: dt.datetime | None = None, supervisors: int = 0) -> None:
    """Mark the day's reminder sent and audit it, once the SMTP server accepted it; caller
    commits. `n_recipients` counts everyone mailed; `supervisors`, the supervisors among them."""
    now = now or utcnow()
    begin_write(session)
    mail_id = session.scalar(select(ReminderMail.id).where(ReminderMail.unit_id == unit_id,
                                                           ReminderMail.sent_on == today))
    session.execute(update(ReminderMail).where(ReminderMail.id == mail_id).values(sent_at=now)
                    .execution_options(synchronize_session=False))
    audit.record(session, action="reminder_mail_sent", entity="reminder_mail", entity_id=mail_id,
                 unit_id=unit_id, now=now, after={"sent_on": today.isoformat(),
                                                  "recipients": n_recipients, "items": items,
                                                  "supervisors": supervisors})


def release_day(session: Session, unit_id: int, today: dt.date, error: str,
                now: dt.datetime | None = None) -> None:
    """Undo `claim_day` when the mail could not be sent, so that the next run tries again.
    Audited with the error; caller commits."""
    begin_write(session)
    session.execute(delete(ReminderMail).where(ReminderMail.unit_id == unit_id,
                                               ReminderMail.sent_on == today))
    audit.record(session, action="reminder_mail_failed", entity="reminder_mail",
                 unit_id=unit_id, now=now, after={"sent_on": today.isoformat(),
                                                  "error": error[:300]})
