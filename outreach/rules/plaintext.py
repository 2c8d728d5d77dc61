"""Whether text typed by staff or read from a file is plain: no control characters."""

from __future__ import annotations

import unicodedata


def has_control_characters(text: str, allowed: str = "") -> bool:
    """A NUL cannot be stored in PostgreSQL text, and no control character belongs in a
    name, a text message or a search; `allowed` lets a note keep its line breaks."""
    return any(unicodedata.category(ch) == "Cc" and ch not in allowed for ch in text)
