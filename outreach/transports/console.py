"""The default transport: prints each text, needs no account."""

from __future__ import annotations

import sys
from itertools import count
from typing import TextIO

from outreach.privacy import mask_phone
from outreach.transports import Outgoing, Receipt


class ConsoleTransport:
    name = "console"

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream
        self._ids = count(1)

    def send(self, message: Outgoing) -> Receipt:
        stream = self._stream if self._stream is not None else sys.stdout
        print(f"[sms to {mask_phone(message.to)}] {message.body}", file=stream, flush=True)
        return Receipt(provider_sid=f"CONSOLE{message.message_id:08d}", status="sent")


class SilentTransport(ConsoleTransport):
    """Accepts every message and prints nothing: the demo reads its transcript from the
    database instead."""

    name = "console"

    def send(self, message: Outgoing) -> Receipt:
        return Receipt(provider_sid=f"CONSOLE{message.message_id:08d}", status="sent")
