"""The acknowledgment a sender gets for each message (original mode): AA applied, AE the
content is wrong, AR not taken; with the reason in MSA-3 and an ERR segment for AE and AR.

Pure, and written by hand rather than with python-hl7's `Message.create_ack`: that needs a
message the library parsed, and the messages that most need an answer (a broken header, a
body it cannot split) are the ones it cannot parse. The header is echoed as far as it could
be read (outreach/feeds/hl7/header.py), so the sender can match the answer to its message.
"""

from __future__ import annotations

from datetime import datetime

from outreach.feeds.hl7.header import DEFAULT_ENCODING, SEGMENT_END, Header
from outreach.feeds.hl7.parse import HL7Error, version_of
from outreach.feeds.hl7.timestamps import format_time
from outreach.rules.vocabulary import AckCode

APPLICATION = "OUTREACH"  # MSH-3 of our answers, when the sender named no receiver
MSA_TEXT_CHARS = 80  # MSA-3's length in v2.3 and v2.4; later versions read ERR
DEFAULT_VERSION = "2.5.1"  # for an answer to a message whose version could not be read


def build(
    header: Header | None,
    code: AckCode,
    *,
    control_id: str,
    now: datetime,
    reason: str = "",
    error: HL7Error | None = None,
    where: tuple[str, int] | None = None,
) -> str:
    """The ACK as text, segments ending in CR. `control_id` is the answer's own MSH-10."""
    separator = header.field_separator if header else "|"
    encoding = header.encoding if header and len(header.encoding) == 4 else DEFAULT_ENCODING
    component = encoding[0]
    subcomponent = encoding[3]

    def esc(text: str) -> str:
        return escape(text, separator, encoding)

    version = header.version if header and version_of(header) else DEFAULT_VERSION
    trigger = header.trigger if header else ""
    msh = [
        "MSH",
        encoding,
        header.field(5) if header and header.field(5) else APPLICATION,  # echoed as sent:
        header.field(6) if header else "",  # already escaped in the sender's encoding
        header.field(3) if header else "",
        header.field(4) if header else "",
        format_time(now),
        "",
        component.join(("ACK", esc(trigger), "ACK")) if trigger else "ACK",
        esc(control_id),
        header.field(11) if header and header.field(11) else "P",
        esc(version),
    ]
    msa = ["MSA", str(code), _clean(header.control_id) if header else ""]
    if reason:
        msa.append(esc(reason[:MSA_TEXT_CHARS]))
    lines = [separator.join(_clean(f) for f in msh), separator.join(msa)]
    if code != AckCode.ACCEPT:
        failed = error or HL7Error.INTERNAL
        lines.append(_err(separator, component, subcomponent, version, failed, where, esc(reason)))
    return SEGMENT_END.join(lines) + SEGMENT_END


def _err(
    separator: str,
    component: str,
    subcomponent: str,
    version: str,
    error: HL7Error,
    where: tuple[str, int] | None,
    reason: str,
) -> str:
    """ERR as the message's version has it: ERR-1 (segment^seq^field^^code&text) up to 2.4;
    ERR-2 (location), ERR-3 (code), ERR-4 (severity) and ERR-8 (the words) from 2.5."""
    segment, field = where or ("", 0)
    location = component.join((segment, "1", str(field))) if segment else ""
    coded = component.join((str(int(error)), error.text, "HL70357"))
    parts = tuple(int(p) for p in version.split(".")[:2] if p.isdigit())
    if parts < (2, 5):
        old = component.join(
            (location, "", subcomponent.join((str(int(error)), error.text, "HL70357")))
        )
        return separator.join(("ERR", old))
    return separator.join(("ERR", "", location, coded, "E", "", "", "", reason))


def _clean(field: str) -> str:
    """A field echoed from the sender, with any control character (a stray MLLP frame byte
    among them) made a space, so the answer's framing holds."""
    return "".join(" " if ord(c) < 32 or ord(c) == 127 else c for c in field)


def escape(text: str, separator: str = "|", encoding: str = DEFAULT_ENCODING) -> str:
    """HL7 escape sequences for the delimiters; control characters become spaces, so no
    reason can break the answer's framing or its segments."""
    chars = (encoding + DEFAULT_ENCODING)[:4]
    component, repetition, escape_char, subcomponent = chars[0], chars[1], chars[2], chars[3]
    swaps = {
        escape_char: f"{escape_char}E{escape_char}",
        separator: f"{escape_char}F{escape_char}",
        component: f"{escape_char}S{escape_char}",
        subcomponent: f"{escape_char}T{escape_char}",
        repetition: f"{escape_char}R{escape_char}",
    }
    out = []
    for char in text:
        if char in swaps:
            out.append(swaps[char])
        elif ord(char) < 32 or ord(char) == 127:
            out.append(" ")
        else:
            out.append(char)
    return "".join(out)
