"""Log lines: readable text for a terminal, or one JSON object per line for a log shipper;
either way with anything that looks like a phone number masked.

The code logs patients by row id and numbers through `mask_phone` already; the filter is a
safety net for what slips through: a provider's error message that quotes the number, a
traceback, a library's own record.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any, Literal, TextIO

from outreach.rules.privacy import mask_phone

Format = Literal["text", "json"]
FORMATS: tuple[Format, ...] = ("text", "json")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

# E.164 ("+16175550142"), or digits in groups as people write numbers ("(617) 555-0142",
# "1.617.555.0142"), counted as a phone if they add up to 10-15 digits. Not inside a word (a
# Twilio sid, a worker id) and not a clock time ("2026-11-23 12:00" stops at the date).
# Each repetition ends in a separator or parenthesis, so a long digit run cannot backtrack.
_CANDIDATE = re.compile(r"(?<![\w+])\+?(?:\(\d{1,4}\)[ .\-/]?|\d+[ .\-/])*\d+(?![\w:])")
_DIGITS = re.compile(r"\d")


def mask_phones(text: str) -> str:
    """Every phone-like number in `text` masked as `mask_phone` does."""
    return _CANDIDATE.sub(_mask_match, text)


def _mask_match(match: re.Match[str]) -> str:
    found = match.group(0)
    digits = "".join(_DIGITS.findall(found))
    if not 10 <= len(digits) <= 15 and not (found.startswith("+") and len(digits) >= 7):
        return found
    return mask_phone(("+" if found.startswith("+") else "") + digits)


# Attributes every LogRecord has; anything else on a record came from `extra=`.
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


class MaskPhones(logging.Filter):
    """Rewrites a record's message, exception text and string extras with numbers masked.
    On a handler, so it sees records from every logger, ours and libraries'."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: the handler reports it, as without us
            return True
        record.msg = mask_phones(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_phones(record.exc_text)
        if record.stack_info:
            record.stack_info = mask_phones(record.stack_info)
        for name, value in list(vars(record).items()):
            if name not in _STANDARD and isinstance(value, str):
                setattr(record, name, mask_phones(value))
        return True


class JsonLines(logging.Formatter):
    """One JSON object per record: time (ISO 8601, UTC), level, logger, message, the
    process's role and worker id when known, any `extra` fields, and the exception."""

    def __init__(self, process: dict[str, str]) -> None:
        super().__init__()
        self._process = process

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            **self._process,
        }
        for name, value in vars(record).items():
            if name not in _STANDARD and name not in line:
                line[name] = value
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line["exception"] = record.exc_text
        if record.stack_info:
            line["stack"] = record.stack_info
        return json.dumps(line, default=str, ensure_ascii=False)


_process: dict[str, str] = {}


def set_process(role: str, worker_id: str | None = None) -> None:
    """Name this process in every JSON line from now on: its role, and its worker id (the
    one in `claimed_by` and `outreach status`)."""
    _process["role"] = role
    if worker_id is not None:
        _process["worker"] = worker_id


class _Stderr(logging.StreamHandler[TextIO]):
    """Writes to whatever sys.stderr is when a record comes (as logging's last resort
    does): a test runner swaps it per command and closes the old one."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


def configure(log_format: Format = "text", level: int = logging.WARNING) -> None:
    """Send every record to stderr in `log_format`, numbers masked. Replaces the handler an
    earlier call installed (tests run many commands in one process); others stay."""
    handler = _Stderr()
    formatter = JsonLines(_process) if log_format == "json" else logging.Formatter(TEXT_FORMAT)
    handler.setFormatter(formatter)
    handler.addFilter(MaskPhones())
    root = logging.getLogger()
    for old in root.handlers[:]:
        if isinstance(old, _Stderr):
            root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    # Python's warnings become records too, so a JSON log stays JSON on every line.
    logging.captureWarnings(log_format == "json")
