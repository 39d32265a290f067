"""The one-time set-password link handed to a volunteer (models.account_links): as a printable
sheet with a QR code (the unit may have no mail server) and, when mail is set up, by email.
Used when an applicant is accepted (routes/recruitment.py), when an admin gives a volunteer
who forgot their password a new link (the volunteer's status page), and for a supervisor's
account: when it is made and for a new sheet (routes/team.py; `staff`)."""
from __future__ import annotations

import base64
import io
import smtplib

import qrcode
import qrcode.image.svg
from flask import current_app, url_for
from flask_babel import gettext as _

from models.account_links import LINK_DAYS, link_expires_at
from models.people import User
from models.unit import Unit
from models.unit_profile import public_contact

from . import mail
from .extensions import db


def qr_data_uri(payload: str) -> str:
    image = qrcode.make(payload, image_factory=qrcode.image.svg.SvgPathImage, box_size=10, border=2)
    buffer = io.BytesIO()
    image.save(buffer)
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode()


def send_link_email(user: User, link: str, *, again: bool = False,
                    staff: bool = False) -> bool:
    """Email the link when SMTP is configured; False when it is not (or it fails), and never
    to a placeholder address (User.has_real_email). `again`: a new link for someone who has an
    account (a forgotten password)."""
    if not user.has_real_email:
        return False
    to, name = user.email, user.name
    try:
        settings = mail.settings(current_app.config)
    except mail.MailNotConfigured:
        return False
    if staff and again:
        subject = _("Hourbook: a new link to set your password")
        body = _("Hello %(name)s,\n\nYour unit made a new sign-in link for your supervisor's account. "
                 "Open it within %(days)d days to set a new password (it works once):\n\n%(link)s\n",
                 name=name, days=LINK_DAYS, link=link)
    elif staff:
        subject = _("Hourbook: set your password")
        body = _("Hello %(name)s,\n\nYour unit gave you a supervisor's account in Hourbook. Open "
                 "this link within %(days)d days to set your password (it works once):\n\n%(link)s\n",
                 name=name, days=LINK_DAYS, link=link)
    elif again:
        subject = _("Hourbook: a new link to set your password")
        body = _("Hello %(name)s,\n\nYour unit made a new sign-in link for you. Open it within "
                 "%(days)d days to set a new password and kiosk PIN (it works once):\n\n%(link)s\n",
                 name=name, days=LINK_DAYS, link=link)
    else:
        subject = _("Welcome: set your Hourbook password")
        body = _("Hello %(name)s,\n\nYou have been accepted as a volunteer. Open this link within "
                 "%(days)d days to set your password and kiosk PIN (it works once):\n\n%(link)s\n",
                 name=name, days=LINK_DAYS, link=link)
    try:
        mail.send(settings, [mail.message(settings, [to], subject, body)])
    except (OSError, smtplib.SMTPException) as exc:
        current_app.logger.warning("set-password link email to %s failed: %s", to, exc)
        return False
    return True


def welcome_sheet(token: str, user: User, *, again: bool = False, staff: bool = False) -> dict:
    """What the sheet shows (templates/recruitment/_welcome.html): the link, its QR, what the
    person signs in with (their email, or the short sign-in name of an account without one),
    until when the link works, the unit's contact, whether it was emailed too."""
    link = url_for("account_setup.welcome", token=token, _external=True)
    unit = db.session.get(Unit, user.unit_id)
    return {"unit": unit, "contact": public_contact(db.session, unit),
            "expires_at": link_expires_at(db.session, token),
            "link": link, "qr": qr_data_uri(link), "email": user.email, "name": user.name,
            "sign_in_name": user.sign_in_name, "real_email": user.has_real_email,
            "volunteer_no": user.volunteer.volunteer_no if user.volunteer else None,
            "again": again, "staff": staff, "emailed": send_link_email(user, link, again=again, staff=staff),
            "days": LINK_DAYS}
