"""Forms (Flask-WTF: validation and CSRF). Messages are translated lazily."""
from __future__ import annotations

import datetime as dt

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
import wtforms
from wtforms import BooleanField, EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, ValidationError

from models import account_links, contact, idnumbers
from models.base import TAIPEI
from .i18n import refusal_text


class SignInForm(FlaskForm):
    # an email, or the sign-in name of an account without one (account_links.sign_in_email)
    email = StringField(_l("Email or sign-in name"),
                        validators=[DataRequired(_l("Enter your email or sign-in name."))])
    password = PasswordField(_l("Password"), validators=[DataRequired(_l("Enter your password."))])
    remember = BooleanField(_l("Keep me signed in on this device"))


class PasswordChangeForm(FlaskForm):
    current = PasswordField(
        _l("Current password"), validators=[DataRequired(_l("Enter your current password."))]
    )
    new = PasswordField(
        _l("New password"),
        validators=[
            DataRequired(_l("Enter a new password.")),
            Length(min=8, max=200, message=_l("Use at least 8 characters.")),
        ],
        description=_l("At least 8 characters. Not a common password, a run (12345678 or abcdefgh) or your email."),
    )
    confirm = PasswordField(
        _l("New password again"),
        validators=[EqualTo("new", message=_l("The two new passwords differ."))],
    )


def kiosk_pin(form, field):
    """A kiosk PIN field: the domain's one PIN rule (account_links.validate_pin), whose
    message the form shows in the user's language. The form's `volunteer_no` (set by the view:
    whose PIN it is) is the number the PIN may not be."""
    try:
        account_links.validate_pin(field.data, getattr(form, "volunteer_no", None))
    except account_links.AccountSetupError as error:
        raise ValidationError(refusal_text(error)) from None


def _domain_rule(problem_of):
    """A WTForms validator from one of the domain's rules (a function answering a msgid or
    None): the form and the domain function refuse with the same words."""
    from flask_babel import gettext as _

    def check(form, field):
        problem = problem_of(field.data)
        if problem:
            raise ValidationError(_(problem))
    return check


# models.contact: the one rule for each, on every form that takes one (empty values are left to
# DataRequired / Optional)
phone_number = _domain_rule(contact.phone_problem)
email_address = _domain_rule(contact.email_problem)


# A person's gender and kind of identity document, as every form and page words them.
GENDER_LABELS = {"female": _l("Female"), "male": _l("Male"), "other": _l("Other")}
ID_KIND_LABELS = {idnumbers.NATIONAL_ID: _l("National ID"),
                  idnumbers.RESIDENT_CERT: _l("Resident certificate"),
                  idnumbers.PASSPORT: _l("Passport")}


def read_as_typed(form, field):
    """First validator of a number field whose other validators judge the number: when what was
    typed is not a number at all, the field's own message ("Enter the year, like 2027.") is the
    only one, instead of a range rule about a number nobody typed as well."""
    from wtforms.validators import StopValidation

    if field.process_errors:
        raise StopValidation()


def typed_digits(value):
    """A field's filter for digits typed on a phone: full-width ones (a Chinese keyboard) as
    ASCII and spaces around dropped (contact.half_width), before any validator or EqualTo reads
    them: " 1234 " and "１２３４" are the PIN 1234."""
    return contact.half_width(value) if isinstance(value, str) else value


class PinChangeForm(FlaskForm):
    password = PasswordField(
        _l("Your password"), validators=[DataRequired(_l("Enter your password."))]
    )
    pin = PasswordField(
        _l("New PIN (4 to 6 digits)"), filters=[typed_digits],
        validators=[DataRequired(_l("Enter a PIN.")), kiosk_pin],
        description=_l("Not one digit throughout (1111), not a run (1234 or 4321), not your volunteer number.")
    )
    confirm = PasswordField(
        _l("New PIN again"), filters=[typed_digits],
        validators=[DataRequired(_l("Enter the PIN again.")),
                    EqualTo("pin", message=_l("The two PINs are not the same."))],
    )


class SignInEmailForm(FlaskForm):
    """An admin gives a volunteer's account a sign-in email (account_links.set_sign_in_email)."""
    email = EmailField(_l("New sign-in email"), description=_l(
        "They sign in with it from then on, and a new sign-in link is emailed to it when mail is set up."))
    # the rule: account_links.check_sign_in_email


class ButtonForm(FlaskForm):
    """A button with nothing to fill in (the admin's "Reset PIN", "Make a new sign-in link"):
    the CSRF token only."""


MAX_DB_ID = 2**31 - 1  # PostgreSQL INTEGER: a larger number in a query is an error, not "no row"


def db_id(raw) -> int | None:
    """A row id typed into a form or query string: ASCII digits within the database's integer
    range, else None ("²".isdigit() is true, and 10**20 overflows PostgreSQL)."""
    if not isinstance(raw, str) or not raw.isascii() or not raw.isdigit() or len(raw) > 10:
        return None
    value = int(raw)
    return value if value <= MAX_DB_ID else None


DATE_MIN, DATE_MAX = dt.date(1900, 1, 1), dt.date(2100, 12, 31)


def plain_date(raw) -> dt.date | None:
    """A date typed into a form or query string (contact.typed_date: 2026-01-31, 2026/1/31,
    full-width too), within the years a person means (1900–2100: the year 9999 overflows the
    first day added to it), else None."""
    day = contact.typed_date(raw)
    return day if day is not None and DATE_MIN <= day <= DATE_MAX else None


def _typed_moment(raw) -> dt.datetime | None:
    """A day and a wall time typed as text (2026-01-31T09:30, or a space for the T; the day as
    contact.typed_date reads it, full-width too; no time: midnight), naive, or None."""
    text = contact.half_width(raw if isinstance(raw, str) else "")
    day_text, _, time_text = text.replace(" ", "T", 1).partition("T")
    day = contact.typed_date(day_text)
    try:
        time = dt.time.fromisoformat(time_text) if time_text else dt.time()
    except ValueError:
        return None
    if day is None or time.tzinfo is not None:
        return None
    return dt.datetime.combine(day, time)


def local_moment(raw) -> dt.datetime | None:
    """An <input type=datetime-local> value (Taipei wall time, like 2026-01-31T09:30; typed as
    text, full-width too) as an aware UTC moment, on a day within DATE_MIN–DATE_MAX, else None.
    A date picker lets the year 0001 through (it has no UTC moment eight hours earlier) and
    9999 (no day after it)."""
    local = _typed_moment(raw)
    if local is None or not DATE_MIN <= local.date() <= DATE_MAX:
        return None
    return local.replace(tzinfo=TAIPEI).astimezone(dt.timezone.utc)


def date_range_refusal(raw, label) -> str | None:
    """When plain_date or local_moment refused `raw` because it is a real date out of
    DATE_MIN–DATE_MAX (not a badly typed one): the message for the field `label`, in the
    reader's language; else None (the caller says what format it wants)."""
    from flask_babel import gettext as _

    local = _typed_moment(raw)
    if local is None or DATE_MIN <= local.date() <= DATE_MAX:
        return None
    return _("%(field)s: enter a date from %(first)s to %(last)s.", field=label,
             first=DATE_MIN.isoformat(), last=DATE_MAX.isoformat())


class DateField(wtforms.DateField):
    """Every form's date field (route modules take it from here, not from wtforms): what a date
    picker sends (2026-01-31) and what is typed where the browser shows a text box instead, as
    contact.typed_date reads it (2026/1/31, an ROC 115/1/31, full-width ２０２６／０１／３１).
    Anything else keeps the field's own invalid_value_message."""

    def process_formdata(self, valuelist):
        if valuelist:
            day = contact.typed_date(" ".join(v for v in valuelist if isinstance(v, str)))
            if day is not None:
                self.data = day
                return
        super().process_formdata(valuelist)


def db_ids(values) -> list[int]:
    """Row ids from a list of form values; ValueError when any is not one."""
    ids = [db_id(v) for v in values]
    if any(i is None for i in ids):
        raise ValueError("not a row id")
    return ids
