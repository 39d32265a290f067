"""Outgoing mail over SMTP (Python's smtplib and email): the welcome link of an accepted
volunteer (routes/recruitment.py) and the admins' reminders (`hourbook reminders send`).

    HOURBOOK_SMTP_HOST       mail server host (unset: no email is sent)
    HOURBOOK_SMTP_PORT       default 587
    HOURBOOK_SMTP_USER / HOURBOOK_SMTP_PASSWORD   login, if the server needs one
    HOURBOOK_SMTP_STARTTLS   "1" (default) to use STARTTLS, "0" not to
    HOURBOOK_SMTP_FROM       the From address (default: HOURBOOK_SMTP_USER, else hourbook@<host>)

Each is read from the app config first, then from the environment.
"""
from __future__ import annotations

import os
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

TIMEOUT_SECONDS = 15


class MailNotConfigured(RuntimeError):
    pass


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    starttls: bool
    user: str | None
    password: str
    sender: str


def _setting(config, name: str, default: str | None = None) -> str | None:
    return config.get(name) or os.environ.get(name) or default


def settings(config) -> SmtpSettings:
    """The SMTP settings; MailNotConfigured when HOURBOOK_SMTP_HOST is not set."""
    host = _setting(config, "HOURBOOK_SMTP_HOST")
    if not host:
        raise MailNotConfigured("set HOURBOOK_SMTP_HOST (and the other HOURBOOK_SMTP_* settings) "
                                "to send mail")
    user = _setting(config, "HOURBOOK_SMTP_USER")
    return SmtpSettings(host=host, port=int(_setting(config, "HOURBOOK_SMTP_PORT", "587")),
                        starttls=_setting(config, "HOURBOOK_SMTP_STARTTLS", "1") == "1",
                        user=user, password=_setting(config, "HOURBOOK_SMTP_PASSWORD", "") or "",
                        sender=_setting(config, "HOURBOOK_SMTP_FROM") or user or f"hourbook@{host}")


def message(s: SmtpSettings, to: list[str], subject: str, body: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = s.sender
    msg["To"] = ", ".join(to)
    msg["Subject"] = subject
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = make_msgid(domain=s.sender.rpartition("@")[2] or None)
    msg.set_content(body)  # UTF-8, Chinese included
    return msg


def send(s: SmtpSettings, messages: list[EmailMessage]) -> None:
    """Send the messages over one connection; raises smtplib.SMTPException or OSError."""
    if not messages:
        return
    with smtplib.SMTP(s.host, s.port, timeout=TIMEOUT_SECONDS) as client:
        if s.starttls:
            client.starttls(context=ssl.create_default_context())
        if s.user:
            client.login(s.user, s.password)
        for msg in messages:
            client.send_message(msg)
