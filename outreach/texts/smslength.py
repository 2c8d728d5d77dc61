"""How long a text is on the air: encoding, length units and segments. Pure, no I/O.

One character outside the GSM 03.38 alphabet switches the whole message to UCS-2, which
cuts a segment from 160 to 70 characters; that is why templates and `render.clean` avoid
curly quotes, long dashes and non-breaking spaces.

A multipart message carries a 6-byte header per part, leaving 153 septets (GSM-7) or 67
UTF-16 units (UCS-2). Handsets and providers never split an escape pair (`€` is ESC + e)
or a surrogate pair (an emoji) across parts: the whole character moves to the next part.
`measure` packs parts the same way, so `segments` can be one more than
ceil(units / 153) or ceil(units / 67) when such a character lands on a boundary.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

# GSM 03.38 default alphabet, in table order (0x00-0x7F); the escape code 0x1B is left out.
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅå"
    "Δ_ΦΓΛΩΠΨΣΘΞÆæßÉ"
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNO"
    "PQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmno"
    "pqrstuvwxyzäöñüà"
)
# The extension table: each is sent as ESC + a character, so it costs two septets.
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")

GSM7_SINGLE, GSM7_PART = 160, 153
UCS2_SINGLE, UCS2_PART = 70, 67


@dataclass(frozen=True)
class SmsMeasure:
    encoding: Literal["GSM-7", "UCS-2"]
    characters: int  # len(body) in Python characters
    units: int  # GSM-7 septets, or UTF-16 code units for UCS-2
    segments: int  # 0 for an empty body


def is_gsm7(body: str) -> bool:
    return all(ch in GSM7_BASIC or ch in GSM7_EXTENSION for ch in body)


def _gsm7_width(ch: str) -> int:
    return 2 if ch in GSM7_EXTENSION else 1


def _utf16_width(ch: str) -> int:
    return 2 if ord(ch) > 0xFFFF else 1


def _parts(widths: list[int], per_part: int) -> int:
    """Parts needed when no character may straddle two parts."""
    parts, used = 1, 0
    for width in widths:
        if used + width > per_part:
            parts, used = parts + 1, 0
        used += width
    return parts


def measure(body: str) -> SmsMeasure:
    if is_gsm7(body):
        widths = [_gsm7_width(ch) for ch in body]
        single, per_part = GSM7_SINGLE, GSM7_PART
        encoding: Literal["GSM-7", "UCS-2"] = "GSM-7"
    else:
        widths = [_utf16_width(ch) for ch in body]
        single, per_part = UCS2_SINGLE, UCS2_PART
        encoding = "UCS-2"
    units = sum(widths)
    if units == 0:
        segments = 0
    elif units <= single:
        segments = 1
    else:
        segments = _parts(widths, per_part)
    return SmsMeasure(encoding=encoding, characters=len(body), units=units, segments=segments)
