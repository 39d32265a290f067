"""Messages the domain hands to the UI: marked here, translated where they are shown."""
from __future__ import annotations


def N_(message: str) -> str:
    """Mark a message for translation (babel extracts N_); the UI translates it when it shows it."""
    return message


class Refused(Exception):
    """A refused domain action whose `message` is an English msgid with %(params)s: the UI
    translates it (`_(error.message, **error.params)`). Each area has its own kind of it."""

    def __init__(self, message: str, **params):
        super().__init__(message % params if params else message)
        self.message = message
        self.params = params
