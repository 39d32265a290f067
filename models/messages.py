"""Messages the domain hands to the UI: marked here, translated where they are shown."""
from __future__ import annotations


def N_(message: str) -> str:
    """Mark a message for translation (babel extracts N_); the UI translates it when it shows it."""
    return message
