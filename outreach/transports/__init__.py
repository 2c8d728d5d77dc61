"""One small interface, one module per provider (console now, twilio next)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


class SendError(Exception):
    """A provider refused or failed a send. `permanent` errors are never retried; an
    `uncertain` one (no answer) may have been accepted, so it is looked up before a retry."""

    def __init__(
        self, message: str, *, permanent: bool, code: str | None = None, uncertain: bool = False
    ) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.code = code
        self.uncertain = uncertain


@dataclass(frozen=True)
class Outgoing:
    """What a transport needs; `message_id` is our row's id, for status callbacks."""

    message_id: int
    to: str
    body: str


@dataclass(frozen=True)
class Receipt:
    provider_sid: str
    status: str  # the provider's first status: queued, accepted, sent


class Transport(Protocol):
    name: str

    def send(self, message: Outgoing) -> Receipt:
        """Hand one message to the provider. Raises SendError."""
        ...

    def find_sent(self, message: Outgoing, since: datetime) -> Receipt | None:
        """The provider's record of this message if an earlier send of it went through."""
        ...
