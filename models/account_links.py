"""One-time set-password links (often printed as a QR: the unit may have no mail server) and
the account setup they open: the new volunteer sets a password and the kiosk PIN, once.
Only the token's sha256 is stored; a new link stops older unused ones. Every change is audited.
Recruitment (models/recruitment) makes the first link when an applicant is accepted.

`check_password` is the one rule for a new password (the welcome link, the password page, the
command line); an admin may give a volunteer's account a real sign-in email later
(`set_sign_in_email`): one who had none signs in with the short sign-in name meanwhile
(`sign_in_email`).

The kiosk PIN afterwards: the volunteer sets or changes it themselves (confirming with their
password: a PIN opens the kiosk as them), and an admin resets a forgotten one (no PIN, no
lock-out; the volunteer then sets a new one). `validate_pin` is the one rule for a PIN."""
from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
import unicodedata
from dataclasses import dataclass

from sqlalchemy import ForeignKey, String, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from . import audit
from .base import Base, UTCDateTime, begin_write, utcnow
from .contact import email_problem, half_width
from .messages import N_, Refused
from . import people
from .people import PLACEHOLDER_DOMAIN, Role, User, Volunteer

LINK_DAYS = 14  # a set-password link works for 14 days, once
PASSWORD_MIN = 8
PIN_RE = re.compile(r"[0-9]{4,6}")  # ASCII digits only: the kiosk keypad sends nothing else


class SetPasswordLink(Base):
    """A one-time link (often printed as a QR: the unit may have no mail server)."""

    __tablename__ = "set_password_link"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    user: Mapped[User] = relationship()


class LinkError(Exception):
    """A set-password link that cannot be used: code is unknown, used or expired."""

    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


class AccountSetupError(Refused):
    """A refused password or PIN; `message` is an English msgid with %(params)s."""


class WrongPassword(AccountSetupError):
    """The account password given to confirm a change (a PIN, a new password) is not the
    right one."""


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_set_password_link(session: Session, user: User, actor: User | None,
                             now: dt.datetime, *, actor_label: str = "system") -> str:
    """A new link for `user` (older unused links stop working). Returns the token; only its
    sha256 is stored."""
    begin_write(session)
    for old in session.scalars(select(SetPasswordLink).where(
            SetPasswordLink.user_id == user.id, SetPasswordLink.used_at.is_(None))):
        old.expires_at = min(old.expires_at, now)
    token = secrets.token_urlsafe(32)
    link = SetPasswordLink(user_id=user.id, token_hash=token_hash(token),
                           expires_at=now + dt.timedelta(days=LINK_DAYS), created_at=now)
    session.add(link)
    session.flush()
    audit.record(session, action="create_set_password_link", entity="set_password_link",
                 entity_id=link.id, actor=actor, unit_id=user.unit_id,
                 actor_label=None if actor else actor_label,
                 after={"user_id": user.id, "expires_at": link.expires_at.isoformat()}, now=now)
    return token


def link_expires_at(session: Session, token: str) -> dt.datetime | None:
    """Until when the link with this token works (UTC), for the printed sheet; None: no such link."""
    return session.scalar(select(SetPasswordLink.expires_at).where(
        SetPasswordLink.token_hash == token_hash(token or "")))


def account_set_up_at(session: Session, user: User) -> dt.datetime | None:
    """When `user` last used a set-password link (set up their account), or None: never."""
    return session.scalar(select(func.max(SetPasswordLink.used_at)).where(
        SetPasswordLink.user_id == user.id))


def account_states(session: Session, users: list[User]) -> dict[int, str]:
    """Each account's state for the team page: "deactivated", "waiting" (it has had set-password
    links and used none: the person has not set a password yet) or "active". An account made on
    the command line (its password set there) or the demo's has no link and is active."""
    ids = [u.id for u in users]
    rows = dict(session.execute(select(SetPasswordLink.user_id, func.count(SetPasswordLink.used_at))
                                .where(SetPasswordLink.user_id.in_(ids))
                                .group_by(SetPasswordLink.user_id)).all()) if ids else {}
    return {u.id: "deactivated" if not u.active else "waiting" if rows.get(u.id) == 0 else "active"
            for u in users}


def _email_taken(session: Session, email: str) -> bool:
    return bool(session.scalar(select(func.count()).select_from(User)
                               .where(func.lower(User.email) == email.lower())))


def account_email(session: Session, unit_id: int, email: str | None, volunteer_no: str) -> str:
    """The sign-in email of a new volunteer account: theirs when given and not taken by
    another account, else a placeholder that mail never goes to, whose short form (the sign-in
    name, v<unit id>-<volunteer no.>: unique across units, as a volunteer number is only within
    its unit) the sign-in form takes. A name already taken (a number given again) gets a suffix."""
    email = (email or "").strip().lower()
    if email and not _email_taken(session, email):
        return email
    short = f"v{unit_id}-{volunteer_no}@{PLACEHOLDER_DOMAIN}".lower()
    if not _email_taken(session, short):
        return short
    return f"v{unit_id}-{volunteer_no}-{secrets.token_hex(3)}@{PLACEHOLDER_DOMAIN}".lower()


def sign_in_email(typed: str | None) -> str:
    """The account email that what was typed on the sign-in form names: an email as typed
    (lower-cased; full-width letters and digits from a Chinese keyboard as half-width), or a
    sign-in name without an @ (v1-1032, printed on the welcome sheet of a volunteer without
    an email) as its placeholder address."""
    typed = unicodedata.normalize("NFKC", typed or "").strip().lower()
    if typed and "@" not in typed:
        return f"{typed}@{PLACEHOLDER_DOMAIN}"
    return typed


def sign_in_account(session: Session, typed: str | None) -> User | None:
    """The account what was typed on the sign-in form names: by its email or sign-in name
    (sign_in_email), or by a bare volunteer number (1032, as printed large on the QR card;
    full-width too) when exactly one active account across the units has a volunteer with that
    number. A number two units both use names nobody: their volunteers type the sign-in name."""
    email = sign_in_email(typed)
    user = session.scalar(select(User).where(func.lower(User.email) == email)) if email else None
    if user is not None or not email or "@" in unicodedata.normalize("NFKC", typed or ""):
        return user
    number = half_width(typed)
    found = session.scalars(select(User).join(Volunteer, Volunteer.user_id == User.id).where(
        Volunteer.volunteer_no == number, User.active.is_(True)).limit(2)).all()
    return found[0] if len(found) == 1 else None


_STAND_IN_HASH: dict[str, str] = {}  # by hash method, made once: a hash no password matches


def signs_in(session: Session, typed: str | None, password: str | None) -> User | None:
    """The active account named by what was typed (sign_in_account) whose password this is,
    else None. With no such account a stand-in hash is checked all the same, so the answer takes
    as long whether or not the email has an account (the message is the same either way)."""
    user = sign_in_account(session, typed)
    if user is not None and user.active:
        return user if user.check_password(password or "") else None
    method = people.PASSWORD_HASH_METHOD  # as real passwords are hashed
    if method not in _STAND_IN_HASH:
        _STAND_IN_HASH[method] = generate_password_hash(secrets.token_urlsafe(16), method=method)
    check_password_hash(_STAND_IN_HASH[method], password or "")
    return None


def create_account(session: Session, volunteer: Volunteer, actor: User,
                   now: dt.datetime) -> tuple[User, str]:
    """A sign-in account for a volunteer who has none (imported from a roster, entered before
    Hourbook) and its first set-password link: (the user, the link's token). Audited."""
    begin_write(session)
    if volunteer.user_id is not None:
        raise AccountSetupError(N_("This volunteer already has a sign-in account."))
    user = User(unit_id=volunteer.unit_id, role=Role.volunteer, display_name=volunteer.name_zh,
                email=account_email(session, volunteer.unit_id, volunteer.email,
                                    volunteer.volunteer_no), created_at=now)
    user.set_password(secrets.token_urlsafe(32))  # nobody knows it: the link sets a real one
    session.add(user)
    session.flush()
    volunteer.user = user
    session.flush()
    audit.record(session, action="create_account", entity="volunteer", entity_id=volunteer.id,
                 actor=actor, unit_id=volunteer.unit_id,
                 after={"user_id": user.id, "email": user.email}, now=now)
    return user, create_set_password_link(session, user, actor, now)


STAFF_NAME_MAX, EMAIL_MAX = 120, 254


# The passwords tried first (lists of leaked passwords, Taiwan's included): compared without case.
COMMON_PASSWORDS = frozenset("""
password password1 password12 password123 passw0rd p@ssw0rd p@ssword admin123 administrator
iloveyou iloveyou1 welcome1 welcome123 letmein1 sunshine princess football baseball
monkey123 dragon123 superman trustno1 whatever starwars computer internet asdf1234 qwer1234
abcd1234 abc12345 abc123456 a1234567 a12345678 a123456789 aa123456 aa12345678 zz123456
qwerty12 qwerty123 qwertyuiop 1q2w3e4r 1q2w3e4r5t 1qaz2wsx 1qaz2wsx3edc zaq12wsx
woaini1314 woaini520 iloveyou520 52013140 5201314520 hourbook hourbook1 volunteer volunteer1
changeme changeme1 test1234 test12345 user1234 taiwan123 taipei101 88888888a
""".split())
# Runs on a keyboard or in an alphabet: a password inside one (either way) is a sequence.
SEQUENCES = ("01234567890123456789", "abcdefghijklmnopqrstuvwxyz", "qwertyuiop", "asdfghjkl",
             "zxcvbnm", "1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik9ol0p", "1q2w3e4r5t6y7u8i9o0p",
             "!@#$%^&*()")


def easy_password(password: str, *, email: str | None = None,
                  volunteer_no: str | None = None) -> bool:
    """A password anyone would try first: at most two different characters (aaaaaaaa,
    12121212), a run (12345678, abcdefgh, 87654321, qwertyui), one of COMMON_PASSWORDS, or the
    person's own email, the part before its @ (their sign-in name) or volunteer number."""
    typed = unicodedata.normalize("NFKC", password).strip().lower()
    if len(set(typed)) <= 2 or typed in COMMON_PASSWORDS:
        return True
    if any(typed in run or typed in run[::-1] for run in SEQUENCES):
        return True
    own = {(email or "").strip().lower(), (email or "").strip().lower().partition("@")[0],
           (volunteer_no or "").strip().lower()} - {""}
    return typed in own


def check_password(password: str | None, *, email: str | None = None,
                   volunteer_no: str | None = None) -> None:
    """The one rule for a new password, whoever sets it (the welcome link, the password page,
    the command line): at least PASSWORD_MIN characters, and not an easy one (`easy_password`:
    the email and volunteer number of the account are checked when given). AccountSetupError
    when it is not."""
    if len(password or "") < PASSWORD_MIN:
        raise AccountSetupError(N_("Use at least %(min)d characters."), min=PASSWORD_MIN)
    if easy_password(password, email=email, volunteer_no=volunteer_no):
        raise AccountSetupError(N_("This password is too easy to guess. Do not use one character "
                                   "throughout, a run (12345678 or abcdefgh), a common password "
                                   "or your email or volunteer number."))


def check_account_password(user: User, password: str | None) -> None:
    """check_password for this account: not its own email, sign-in name or volunteer number."""
    check_password(password, email=user.email,
                   volunteer_no=user.volunteer.volunteer_no if user.volunteer else None)


def change_password(session: Session, user: User, current: str, new: str,
                    now: dt.datetime) -> None:
    """The signed-in person changes their password, confirming with the current one (new
    sessions elsewhere end: set_password changes the session token). Audited."""
    begin_write(session)
    if not user.check_password(current or ""):
        raise WrongPassword(N_("The current password is not correct."))
    check_account_password(user, new)
    user.set_password(new)
    session.flush()
    audit.record(session, action="password_change", entity="user", entity_id=user.id,
                 actor=user, now=now)


def check_sign_in_email(session: Session, email: str | None) -> str:
    """A new sign-in email (a staff account's, or one an admin gives a volunteer), lower-cased:
    an address (never a placeholder: .invalid is not one), not taken by any account."""
    email = (email or "").strip().lower()
    if len(email) > EMAIL_MAX or email_problem(email):
        raise AccountSetupError(N_("Enter an email address like name@example.tw."))
    if _email_taken(session, email):
        raise AccountSetupError(N_("%(email)s already has an account."), email=email)
    return email


def set_sign_in_email(session: Session, volunteer: Volunteer, actor: User, email: str | None,
                      now: dt.datetime) -> User:
    """An admin gives a volunteer's account a (new) sign-in email: one the volunteer has got
    since, in place of the placeholder of one who had none. Mail may go to it from then on
    (a new sign-in link). The volunteer's contact email is theirs to keep apart. Audited."""
    begin_write(session)
    user = volunteer.user
    if not volunteer.is_active:
        raise AccountSetupError(N_("Only an active volunteer's sign-in email can be changed."))
    if user is None:
        raise AccountSetupError(N_("This volunteer has no sign-in account yet: create one first."))
    typed = (email or "").strip().lower()
    if typed and typed == user.email.lower():
        raise AccountSetupError(N_("%(email)s is already their sign-in email."), email=typed)
    new = check_sign_in_email(session, typed)
    before = user.email
    user.email = new
    session.flush()
    audit.record(session, action="sign_in_email_change", entity="user", entity_id=user.id,
                 actor=actor, unit_id=volunteer.unit_id, before={"email": before},
                 after={"email": new}, now=now)
    return user


def create_staff_account(session: Session, unit_id: int, actor: User, *, name: str, email: str,
                         now: dt.datetime, role: Role = Role.supervisor) -> tuple[User, str]:
    """A supervisor's sign-in account, made by the unit's admin (no command line needed), and
    its first set-password link: (the user, the link's token). Audited."""
    begin_write(session)
    if role == Role.volunteer:
        raise ValueError("volunteers get their accounts through recruitment or the roster")
    name = (name or "").strip()
    if not name:
        raise AccountSetupError(N_("Enter the supervisor's name."))
    if len(name) > STAFF_NAME_MAX:
        raise AccountSetupError(N_("Use at most %(max)d characters."), max=STAFF_NAME_MAX)
    email = check_sign_in_email(session, email)
    user = User(unit_id=unit_id, role=role, display_name=name, email=email, created_at=now)
    user.set_password(secrets.token_urlsafe(32))  # nobody knows it: the link sets a real one
    session.add(user)
    session.flush()
    audit.record(session, action="user_create", entity="user", entity_id=user.id, actor=actor,
                 unit_id=unit_id, after={"email": email, "role": role.value, "name": name},
                 now=now)
    return user, create_set_password_link(session, user, actor, now)


def sign_in_link(session: Session, volunteer: Volunteer, actor: User,
                 now: dt.datetime) -> tuple[User, str]:
    """A forgotten password, or no account yet: (the user, a new link's token). An account is
    made for a volunteer who has none; older unused links stop working. Active volunteers only."""
    if not volunteer.is_active:
        raise AccountSetupError(N_("Only an active volunteer gets a sign-in link."))
    if volunteer.user is None:
        return create_account(session, volunteer, actor, now)
    return volunteer.user, create_set_password_link(session, volunteer.user, actor, now)


def staff_sign_in_link(session: Session, user: User, actor: User | None,
                       now: dt.datetime) -> str:
    """A new one-time link for a supervisor's (or admin's) account: a lost or expired sheet, or
    a forgotten password (actor None: `hourbook users link`). Older unused links stop working.
    Active accounts only. Audited (create_set_password_link)."""
    if user.role == Role.volunteer:
        raise ValueError("a volunteer's link is sign_in_link")
    if not user.active:
        raise AccountSetupError(N_("%(name)s is deactivated: reactivate the account first."),
                                name=user.name)
    return create_set_password_link(session, user, actor, now, actor_label="cli")


class NothingToChange(AccountSetupError):
    """The account is already active (or already deactivated)."""


def set_staff_active(session: Session, user: User, actor: User | None, active: bool,
                     now: dt.datetime) -> None:
    """Deactivate a supervisor who left (or reactivate one who is back). A deactivated account
    cannot sign in, its open sessions end (a new session token: load_user refuses it anyway)
    and its unused set-password links stop; its history stays. Nobody deactivates their own
    account. Audited."""
    begin_write(session)
    if user.role == Role.volunteer:
        raise ValueError("a volunteer leaves through their status (exit)")
    if actor is not None and actor.id == user.id:
        raise AccountSetupError(N_("You cannot deactivate your own account."))
    if user.active == active:
        raise NothingToChange(N_("%(name)s is already active.") if active
                              else N_("%(name)s is already deactivated."), name=user.name)
    user.active = active
    if not active:
        user.session_token = secrets.token_hex(16)
        for link in session.scalars(select(SetPasswordLink).where(
                SetPasswordLink.user_id == user.id, SetPasswordLink.used_at.is_(None))):
            link.expires_at = min(link.expires_at, now)
    session.flush()
    audit.record(session, action="user_reactivate" if active else "user_deactivate",
                 entity="user", entity_id=user.id, actor=actor, unit_id=user.unit_id,
                 actor_label=None if actor else "cli", before={"active": not active},
                 after={"active": active}, now=now)


def usable_link(session: Session, token: str, now: dt.datetime) -> SetPasswordLink:
    link = session.scalar(select(SetPasswordLink).where(
        SetPasswordLink.token_hash == token_hash(token or "")))
    if link is None:
        raise LinkError("unknown")
    if link.used_at is not None:
        raise LinkError("used")
    if link.expires_at <= now:
        raise LinkError("expired")
    if not link.user.active:
        raise LinkError("unknown")
    return link


def complete_account_setup(session: Session, token: str, now: dt.datetime, *, password: str,
                           pin: str) -> User:
    """Use the link once: set the password (min 8) and, for a volunteer, the kiosk PIN (4–6
    digits)."""
    begin_write(session)
    link = usable_link(session, token, now)
    user = link.user
    check_account_password(user, password)
    if user.volunteer is not None:  # staff have no kiosk PIN
        pin = validate_pin(pin, user.volunteer.volunteer_no)
    user.set_password(password)
    if user.volunteer is not None:
        user.volunteer.set_pin(pin)
    link.used_at = now
    session.flush()
    audit.record(session, action="account_setup", entity="user", entity_id=user.id, actor=user,
                 after={"link_id": link.id, "pin_set": user.volunteer is not None}, now=now)
    return user


# --- the kiosk PIN after the account setup ---------------------------------------------------

class NothingToReset(AccountSetupError):
    """The volunteer has no PIN and no lock-out: an admin's reset would change nothing."""


def easy_pin(pin: str, volunteer_no: str | None = None) -> bool:
    """A PIN anyone at the kiosk would try first: one digit throughout (0000, 111111), a run up
    or down (1234, 3456, 987654), or the volunteer's own number (on their card and screen)."""
    steps = {int(b) - int(a) for a, b in zip(pin, pin[1:])}
    return steps in ({0}, {1}, {-1}) or (bool(volunteer_no) and pin == volunteer_no.strip())


def validate_pin(pin: str | None, volunteer_no: str | None = None) -> str:
    """The one rule for a kiosk PIN: 4 to 6 digits (full-width digits typed with a Chinese
    keyboard count as the same digits), and not an easy one (`easy_pin`; the volunteer's number
    is checked when given). Returns the PIN as the keypad sends it; AccountSetupError when it
    is not one."""
    pin = unicodedata.normalize("NFKC", pin or "")
    if not PIN_RE.fullmatch(pin):
        raise AccountSetupError(N_("A PIN is 4 to 6 digits."))
    if easy_pin(pin, volunteer_no):
        raise AccountSetupError(N_("This PIN is too easy to guess. Do not use one digit throughout "
                                   "(1111), a run (1234 or 4321) or your volunteer number."))
    return pin


@dataclass(frozen=True)
class PinStatus:
    has_pin: bool
    locked_until: dt.datetime | None  # None: not locked out now


def pin_status(volunteer: Volunteer, now: dt.datetime) -> PinStatus:
    until = volunteer.pin_locked_until
    return PinStatus(has_pin=bool(volunteer.pin_hash),
                     locked_until=until if until is not None and now < until else None)


def change_pin(session: Session, user: User, password: str, pin: str, now: dt.datetime) -> Volunteer:
    """The signed-in volunteer sets or changes their kiosk PIN, confirming with their account
    password. A new PIN also ends a lock-out after wrong PINs. Audited without the PIN."""
    begin_write(session)
    volunteer = user.volunteer
    if volunteer is None:
        raise AccountSetupError(N_("Only volunteers have a kiosk PIN."))
    if not user.check_password(password or ""):
        raise WrongPassword(N_("Your password is not correct."))
    pin = validate_pin(pin, volunteer.volunteer_no)
    before = pin_status(volunteer, now)
    volunteer.set_pin(pin)  # clears the failure count and any lock-out
    session.flush()
    audit.record(session, action="pin_change", entity="volunteer", entity_id=volunteer.id,
                 actor=user, before={"pin_set": before.has_pin,
                                     "locked": before.locked_until is not None},
                 after={"pin_set": True, "locked": False}, now=now)
    return volunteer


def reset_pin(session: Session, volunteer: Volunteer, actor: User, now: dt.datetime) -> None:
    """An admin clears a volunteer's PIN and any lock-out (a forgotten PIN): the keypad no longer
    knows them until they set a new PIN on their phone. Audited without the PIN."""
    begin_write(session)
    before = pin_status(volunteer, now)
    if not before.has_pin and before.locked_until is None and not volunteer.pin_failures:
        raise NothingToReset(N_("%(name)s has no PIN and is not locked out: there is nothing to reset."),
                             name=volunteer.name_zh)
    volunteer.pin_hash = None
    volunteer.pin_failures = 0
    volunteer.pin_locked_until = None
    session.flush()
    audit.record(session, action="pin_reset", entity="volunteer", entity_id=volunteer.id,
                 actor=actor, unit_id=volunteer.unit_id,
                 before={"pin_set": before.has_pin, "locked": before.locked_until is not None},
                 after={"pin_set": False, "locked": False}, now=now)
