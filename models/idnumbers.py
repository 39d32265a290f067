"""Taiwan national ID / resident certificate numbers and passports: validation and masking."""
from __future__ import annotations

import re
from .messages import N_

# Letter values of the checksum (內政部 rules): A=10 ... with I, O, W, X, Y, Z out of order.
_LETTER_VALUES = {
    "A": 10, "B": 11, "C": 12, "D": 13, "E": 14, "F": 15, "G": 16, "H": 17, "I": 34,
    "J": 18, "K": 19, "L": 20, "M": 21, "N": 22, "O": 35, "P": 23, "Q": 24, "R": 25,
    "S": 26, "T": 27, "U": 28, "V": 29, "W": 32, "X": 30, "Y": 31, "Z": 33,
}
_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 1, 1)

NATIONAL_ID = "national_id"
RESIDENT_CERT = "resident_cert"
PASSPORT = "passport"
ID_KINDS = (NATIONAL_ID, RESIDENT_CERT, PASSPORT)

_NATIONAL_RE = re.compile(r"^[A-Z][12]\d{8}$")
_RESIDENT_RE = re.compile(r"^[A-Z][89]\d{8}$")  # new-style 新式統一證號 (2021-)
_PASSPORT_RE = re.compile(r"^[A-Z0-9]{6,20}$")


def normalise(number: str) -> str:
    """As kept and compared: half-width (a phone's full-width Ａ１２３… is A123…), capitals, no
    spaces or dashes."""
    from models.contact import half_width

    return half_width(number).upper().replace(" ", "").replace("-", "")


def _checksum_ok(number: str) -> bool:
    value = _LETTER_VALUES[number[0]]
    total = value // 10 + (value % 10) * 9
    total += sum(int(d) * w for d, w in zip(number[1:], _WEIGHTS))
    return total % 10 == 0


def id_problem(kind: str, number: str) -> str | None:
    """None when the number is valid for its kind; otherwise an English message (translated by the UI)."""
    number = normalise(number)
    if kind == NATIONAL_ID:
        if not _NATIONAL_RE.match(number):
            return N_("A national ID is one letter, then 1 or 2, then 8 digits (e.g. A123456789).")
        if not _checksum_ok(number):
            return N_("This national ID number's check digit is wrong.")
        return None
    if kind == RESIDENT_CERT:
        if not _RESIDENT_RE.match(number):
            return N_("A resident certificate number is one letter, then 8 or 9, then 8 digits.")
        if not _checksum_ok(number):
            return N_("This resident certificate number's check digit is wrong.")
        return None
    if kind == PASSPORT:
        if not _PASSPORT_RE.match(number):
            return N_("A passport number is 6 to 20 letters or digits.")
        return None
    return N_("Unknown kind of identity document.")


# The second character of a national ID (1, 2) or a new-style resident certificate (8, 9) is
# the holder's sex. Old-style resident numbers (a second letter) are not accepted by id_problem.
_SEX_DIGITS = {"1": "male", "2": "female", "8": "male", "9": "female"}


def gender_problem(kind: str, number: str, gender: str | None) -> str | None:
    """None when the number's sex digit agrees with `gender` ("female", "male"; a Gender works
    too), or when there is nothing to compare (a passport, "other", no gender, an invalid number:
    id_problem answers for that); otherwise an English message for the gender field."""
    gender = getattr(gender, "value", gender)
    number = normalise(number or "")
    if kind not in (NATIONAL_ID, RESIDENT_CERT) or gender not in ("female", "male") \
            or id_problem(kind, number):
        return None
    holder = _SEX_DIGITS.get(number[1])
    if holder is None or holder == gender:
        return None
    if holder == "female":
        return N_("The ID number is a woman's: check the gender or the number.")
    return N_("The ID number is a man's: check the gender or the number.")


def is_valid(kind: str, number: str) -> bool:
    return id_problem(kind, number) is None


def mask(number: str | None) -> str:
    """A12****789: first three and last three characters kept."""
    if not number:
        return ""
    if len(number) <= 6:
        return number[0] + "*" * (len(number) - 1)
    return number[:3] + "*" * (len(number) - 6) + number[-3:]


def with_check_digit(prefix: str) -> str:
    """Complete a 9-character prefix (letter + 8 digits) with its check digit: for demo data and tests."""
    prefix = normalise(prefix)
    value = _LETTER_VALUES[prefix[0]]
    total = value // 10 + (value % 10) * 9
    total += sum(int(d) * w for d, w in zip(prefix[1:], _WEIGHTS[:8]))
    return prefix + str((10 - total % 10) % 10)
