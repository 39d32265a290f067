"""`hourbook reminders send`: each unit's admins get by email what needs them, and each supervisor
what waits for verification at their sites and who was turned away there since the last
reminder (cron, see deploy/)."""
from __future__ import annotations

import re
import smtplib

import click
from flask import current_app, render_template
from flask.cli import with_appcontext
from flask_babel import ngettext
from sqlalchemy import select

from models import reminder_mail
from models.base import taipei_date, utcnow
from models.unit import Unit

from . import i18n, mail
from .cli import base_url_link as _link, counted
from .extensions import db


def _locale(user) -> str:
    return user.locale if user.locale in i18n.LANGUAGES else i18n.DEFAULT


def reminder_messages(settings, unit: Unit, r: reminder_mail.UnitReminder, admins) -> list:
    """One message per language, to the admins who read that language."""
    by_locale: dict[str, list[str]] = {}
    for user in admins:
        by_locale.setdefault(_locale(user), []).append(user.email)
    messages = []
    with current_app.test_request_context("/"):
        for locale, to in by_locale.items():
            with i18n.forced_locale(locale):
                body = render_template("mail/reminder.txt", r=r, unit=unit, link=_link,
                                       days=reminder_mail.DEADLINE_DAYS, current_locale=locale)
                body = re.sub(r"\n{3,}", "\n\n", body).strip() + "\n"  # the template's gaps
                subject = ngettext("Hourbook: %(num)d item for %(unit)s",
                                   "Hourbook: %(num)d items for %(unit)s", r.items,
                                   unit=i18n.local(unit))
            messages.append(mail.message(settings, to, subject, body))
    return messages


def supervisor_messages(settings, unit: Unit, today, found: list[reminder_mail.SupervisorReminder]) -> list:
    """One message to each supervisor, in their language, with their own sites' counts."""
    messages = []
    with current_app.test_request_context("/"):
        for s in found:
            locale = _locale(s.user)
            with i18n.forced_locale(locale):
                body = render_template("mail/supervisor_reminder.txt", w=s.waiting,
                                       turned_away=s.turned_away, unit=unit,
                                       today=today, link=_link, current_locale=locale)
                body = re.sub(r"\n{3,}", "\n\n", body).strip() + "\n"
                if s.waiting.sessions:
                    subject = ngettext("Hourbook: %(num)d session to verify at %(unit)s",
                                       "Hourbook: %(num)d sessions to verify at %(unit)s",
                                       s.waiting.sessions, unit=i18n.local(unit))
                else:  # nothing to verify: mailed for who was turned away
                    subject = ngettext("Hourbook: %(num)d turned away at %(unit)s",
                                       "Hourbook: %(num)d turned away at %(unit)s",
                                       s.turned_away_total, unit=i18n.local(unit))
            messages.append(mail.message(settings, [s.user.email], subject, body))
    return messages


@click.group("reminders", help="Reminders by email for each unit's admins and supervisors.")
def reminders_group():
    pass


@reminders_group.command("send", help="Email each unit's admins what needs them today (results "
                         "reports to file, award deadlines, certificate requests, insurance, "
                         "sessions to verify), and each supervisor the sessions waiting at their "
                         "sites. Nothing is sent to a unit with nothing to do, and at most one "
                         "mail per unit and day. Run it from cron (deploy/hourbook.cron).")
@click.option("--dry-run", is_flag=True, help="Print the mails instead of sending them.")
@with_appcontext
def send_command(dry_run):
    session = db.session
    now = utcnow()
    today = taipei_date(now)
    try:
        settings = mail.settings(current_app.config)
    except mail.MailNotConfigured as problem:
        if not dry_run:
            raise click.ClickException(str(problem)) from None
        settings = mail.SmtpSettings("", 0, False, None, "", "hourbook@localhost")
    failed = 0
    for unit in session.scalars(select(Unit).order_by(Unit.id)).all():
        r = reminder_mail.unit_reminder(session, unit.id, today)
        admins = reminder_mail.recipients(session, unit.id) if r.items else []
        supervisors = reminder_mail.supervisor_reminders(session, unit.id, today)
        if not admins and not supervisors:
            click.echo(f"unit {unit.id}: nothing to send")
            continue
        messages = (reminder_messages(settings, unit, r, admins) if admins else []) + \
            supervisor_messages(settings, unit, today, supervisors)
        if dry_run:
            for msg in messages:
                click.echo(msg.as_string())
            continue
        n_recipients = len(admins) + len(supervisors)
        if not reminder_mail.claim_day(session, unit.id, today, n_recipients, now):
            session.rollback()
            click.echo(f"unit {unit.id}: already sent today, or another run is sending it")
            continue
        session.commit()
        try:
            mail.send(settings, messages)
        except (smtplib.SMTPException, OSError) as problem:
            session.rollback()
            reminder_mail.release_day(session, unit.id, today, repr(problem), now)
            session.commit()
            failed += 1
            click.echo(f"unit {unit.id}: NOT sent ({problem!r}); the next run tries again", err=True)
        else:
            reminder_mail.mark_sent(session, unit.id, today, n_recipients, r.items if admins else 0,
                                    now, supervisors=len(supervisors))
            session.commit()
            sent = [f"{counted(r.items, 'item')} sent to {counted(len(admins), 'admin')}"] if admins else []
            if supervisors:
                sent.append(f"their sites' sessions to verify and people turned away sent to "
                            f"{counted(len(supervisors), 'supervisor')}")
            click.echo(f"unit {unit.id}: " + "; ".join(sent))
    session.rollback()
    if failed:
        raise SystemExit(1)
