"""Values read from forms and query strings that name a row."""

from __future__ import annotations

MAX_ID = 2**31 - 1  # the largest id either database stores: a bigger one names nothing


def row_id(text: str) -> int | None:
    """'12' -> 12; anything that cannot be a row's id (empty, a word, zero, too big) -> None."""
    text = text.strip()
    if not text.isascii() or not text.isdigit():
        return None
    value = int(text)
    return value if 0 < value <= MAX_ID else None
