"""Long text cut to fit a table cell: at a word boundary, with an ellipsis."""

from __future__ import annotations

ELLIPSIS = "…"
# Left at the end of a cut they read as if the text went on differently.
_TRAILING = " ,;:-–—"


def shorten(text: str, width: int) -> str:
    """The text on one line, cut to at most `width` characters at the last whole word, with
    '…' to say it goes on: 'Please reply 1 if your feet look…'. A first word longer than
    the cell is cut inside it: nothing better fits."""
    if width < 1:
        raise ValueError(f"width must be at least 1, got {width!r}")
    line = " ".join(text.split())  # a line break inside a cell breaks the table's rows
    if len(line) <= width:
        return line
    room = line[: width - 1]
    if line[width - 1] != " " and " " in room:
        room = room[: room.rindex(" ")]
    return (room.rstrip(_TRAILING) or room) + ELLIPSIS
