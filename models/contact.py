"""The rules for a phone number and an email address, wherever one is entered: the public
application form, the volunteer's own contact details, an admin's correction of them, the roster
import and staff accounts. Each returns the refusal's English msgid (the UI translates it), or
None when the value is fine; an empty value is the caller's business (required or not).

And what is typed on a phone's Chinese keyboard, read the same as on any other: half_width
(full-width digits and signs) and typed_date (a date typed as text, the one reader of one)."""
from __future__ import annotations

import datetime as dt
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


# dashes a keyboard or a word processor puts between a date's numbers (NFKC leaves them be)
_DASHES = str.maketrans({c: "-" for c in "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u30fc\ufe63"})
_DATE_RE = re.compile(r"(\d{2,4})[-/.](\d{1,2})[-/.](\d{1,2})", re.ASCII)


def typed_date(text: str | None) -> dt.date | None:
    """A date as a person types it, wherever a date is read from text (every form's date field,
    webapp.forms.DateField, plain_date and local_moment; the roster import and the add-volunteer
    form; the CLI's dates): 2026-03-05, 2026/3/5, 2026.3.5, 20260305, or an ROC date 115/3/5 or
    1150305 (a year of two or three digits). Full-width digits and separators, as a phone's
    Chinese keyboard types them (２０２６／１２／０１, ２０２６－１２－０１), read the same
    (half_width), as are other dashes (2026–12–01). None when it is not a date."""
    text = half_width(text if isinstance(text, str) else "").translate(_DASHES)
    match = _DATE_RE.fullmatch(text)
    if match:
        year_text, month, day = match.group(1), int(match.group(2)), int(match.group(3))
    elif re.fullmatch(r"[0-9]{7}", text):
        year_text, month, day = text[:3], int(text[3:5]), int(text[5:])
    elif re.fullmatch(r"[0-9]{8}", text):
        year_text, month, day = text[:4], int(text[4:6]), int(text[6:])
    else:
        return None
    # an ROC year has two or three digits; four digits are the Western year, even 0001
    year = int(year_text) + (1911 if len(year_text) < 4 else 0)
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


def phone_problem(value: str | None) -> str | None:
    """A phone number: 6 to 40 of digits, spaces and + ( ) - #, full-width ones too (it is
    kept as half_width(value): callers save that)."""
    return None if PHONE_RE.fullmatch(half_width(value)) else PHONE_PROBLEM


def tel_uri(value: str | None) -> str:
    """A phone number as written (0912-345-678, (02) 2700-1234 #12, +886 2 2700 1234) as a
    tel: link a phone dials: its digits (and a leading +), the extension after a pause (a comma),
    e.g. tel:0227001234,12. Empty when there are no digits."""
    text = half_width(value)
    number, *rest = re.split(r"#|分機|ext\.?|轉", text, maxsplit=1, flags=re.I)
    extension = rest[0] if rest else ""
    digits = re.sub(r"[^0-9]", "", number)
    if not digits:
        return ""
    plus = "+" if number.lstrip().startswith("+") else ""
    extension = re.sub(r"[^0-9]", "", extension)
    return f"tel:{plus}{digits}" + (f",{extension}" if extension else "")


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
