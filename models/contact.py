"""The rules for a phone number and an email address, wherever one is entered: the public
application form, the volunteer's own contact details, an admin's correction of them, the roster
import and staff accounts. Each returns the refusal's English msgid (the UI translates it), or
None when the value is fine; an empty value is the caller's business (required or not)."""
from __future__ import annotations

import re
import unicodedata

from .messages import N_

# digits and what people write between them: 0912-345-678, (02) 2700-1234, +886 912 345 678,
# 02-2700-1234 #12 (an extension)
PHONE_RE = re.compile(r"[0-9+()\- #]{6,40}")
PHONE_PROBLEM = N_("Enter a phone number like 0912-345-678.")
EMAIL_PROBLEM = N_("Enter an email address like name@example.tw.")


def half_width(value: str | None) -> str:
    """Digits and signs as typed, as they are kept: NFKC (a Chinese keyboard's full-width
    ０９１２－３４５ is 0912-345), without spaces around."""
    return unicodedata.normalize("NFKC", value or "").strip()


def phone_problem(value: str | None) -> str | None:
    """A phone number: 6 to 40 of digits, spaces and + ( ) - #, full-width ones too (it is
    kept as half_width(value): callers save that)."""
    return None if PHONE_RE.fullmatch(half_width(value)) else PHONE_PROBLEM


def email_problem(value: str | None) -> str | None:
    """An email address by email-validator's syntax rules (what WTForms' Email() checked on the
    application form): one @, a domain with a dot, no two dots in a row, no reserved domain
    (localhost, .test …). Deliverability is not checked (no DNS)."""
    from email_validator import EmailNotValidError, validate_email

    try:
        validate_email((value or "").strip(), check_deliverability=False)
    except EmailNotValidError:
        return EMAIL_PROBLEM
    return None
