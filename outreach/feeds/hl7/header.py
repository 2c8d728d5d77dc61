"""The bytes a sender sent, as text, and the message header (MSH) read from them.

Pure. The header is read by hand, not by python-hl7, so that a message whose body the
library cannot take still yields what an answer needs (who sent it, its control id, its
separators): the ACK of even a broken message echoes what can be known.
"""

from __future__ import annotations

from dataclasses import dataclass

SEGMENT_END = "\r"
DEFAULT_ENCODING = "^~\\&"


def decode(raw: bytes) -> str:
    """UTF-8 (v2.8's preferred set, and ASCII's superset), else Latin-1, which reads any
    byte: older systems send Latin-1 or Windows-1252 whatever MSH-18 says, and a message
    must be stored whatever it holds."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def storable(text: str) -> str:
    """The text as it can be stored: PostgreSQL's text refuses NUL, so NUL is written as
    the four characters \\x00 (on SQLite too, so both hold the same)."""
    return text.replace("\x00", "\\x00")


def segments(text: str) -> list[str]:
    """Segments end in CR by the standard; vendors and files also use LF and CRLF."""
    unified = text.replace("\r\n", SEGMENT_END).replace("\n", SEGMENT_END)
    return [line for line in unified.split(SEGMENT_END) if line.strip()]


@dataclass(frozen=True)
class Header:
    field_separator: str  # MSH-1
    encoding: str  # MSH-2: component, repetition, escape, subcomponent
    fields: tuple[str, ...]  # MSH-3 onwards, as sent (escaped)

    def field(self, number: int) -> str:
        """MSH-n as sent; "" when absent."""
        index = number - 3
        return self.fields[index] if 0 <= index < len(self.fields) else ""

    def component(self, number: int, component: int = 1) -> str:
        parts = self.field(number).split(self.repetition)[0].split(self.component_separator)
        return parts[component - 1].strip() if component <= len(parts) else ""

    @property
    def component_separator(self) -> str:
        return self.encoding[0] if self.encoding else "^"

    @property
    def repetition(self) -> str:
        return self.encoding[1] if len(self.encoding) > 1 else "~"

    @property
    def sender(self) -> str:
        """MSH-4, the sending facility: its namespace id, else its universal id."""
        return self.component(4, 1) or self.component(4, 2)

    @property
    def control_id(self) -> str:  # MSH-10
        return self.field(10).strip()

    @property
    def code(self) -> str:  # MSH-9.1
        return self.component(9, 1).upper()

    @property
    def trigger(self) -> str:  # MSH-9.2
        return self.component(9, 2).upper()

    @property
    def message_type(self) -> str:
        return f"{self.code}^{self.trigger}" if self.trigger else self.code

    @property
    def version(self) -> str:  # MSH-12.1
        return self.component(12, 1)


def read_header(text: str) -> Header | None:
    """The MSH segment of the first line, or None when the text does not begin with one.
    Leading whitespace (and a byte-order mark) is forgiven."""
    lines = segments(text.lstrip("\ufeff \t\r\n"))
    if not lines or not lines[0].startswith("MSH") or len(lines[0]) < 4:
        return None
    first = lines[0]
    separator = first[3]
    fields = first[4:].split(separator)
    encoding = fields[0][:4]
    if not all(_separator(char) for char in separator + encoding):
        return None
    if len(set(encoding)) != len(encoding):
        return None  # one character for two separators: nothing after MSH-2 can be read
    return Header(separator, encoding, tuple(fields[1:]))


def _separator(char: str) -> bool:
    """Separators are printable punctuation: a letter, a digit, a space or a control
    character (one an answer echoing it would break the framing with) is not one."""
    return char.isprintable() and not char.isalnum() and not char.isspace()
