"""Messages the domain hands to the UI: marked here, translated where they are shown."""
from __future__ import annotations


def N_(message: str) -> str:
    """Mark a message for translation (babel extracts N_); the UI translates it when it shows it."""
    return message


def Nn_(singular: str, plural: str, count: str = "num") -> tuple[str, str, str]:
    """Mark a message with a singular and a plural form, chosen by the param named `count`
    (babel extracts Nn_ as a plural entry; see `translated`)."""
    return (singular, plural, count)


def translated(message: str | tuple, params: dict, gettext, ngettext) -> str:
    """A message marked by N_ or Nn_ with its params, through the given gettext and ngettext
    (Flask-Babel's, or the identity for English text)."""
    if isinstance(message, tuple):
        singular, plural, count = message
        rest = {k: v for k, v in params.items() if k != "num"}  # ngettext sets num itself
        return ngettext(singular, plural, params[count], **rest)
    return gettext(message, **params) if params else gettext(message)


class Named(str):
    """A name as a message param: reads as the Chinese name (what is logged, and what the
    domain's own text shows, as before) and carries the English one, so the UI can show it in the
    reader's language (webapp's `local` / `local_params`). Made from anything with name_zh/name_en
    (a training course: name/name_en)."""

    name_en: str

    def __new__(cls, thing) -> "Named":
        named = super().__new__(cls, thing.name_zh if hasattr(thing, "name_zh") else thing.name)
        named.name_en = getattr(thing, "name_en", "") or ""
        return named

    @property
    def name_zh(self) -> str:
        return str.__str__(self)


class Metres(int):
    """A distance in whole metres as a message param: the UI writes it in the reader's units
    (webapp's `local_params`: 850 m, 3.6 km); as text (logs) it reads "3591 m"."""

    def __str__(self) -> str:
        return f"{int(self)} m"


class Label(str):
    """A label as a message param: an English msgid (marked with N_ where it is defined) that the
    UI translates into the reader's language (webapp's `local_params`), e.g. a training category."""


def english(message: str, **params) -> str:
    return message % params if params else message


def english_n(singular: str, plural: str, n: int, **params) -> str:
    return (singular if n == 1 else plural) % {"num": n, **params}


class Refused(Exception):
    """A refused domain action whose `message` is an English msgid with %(params)s: the UI
    translates it (`_(error.message, **error.params)`). Each area has its own kind of it."""

    def __init__(self, message: str, **params):
        super().__init__(message % params if params else message)
        self.message = message
        self.params = params
