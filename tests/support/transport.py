"""A transport double at the network boundary: records each text and fails on cue."""

from __future__ import annotations

from datetime import datetime
from typing import Any


class RecordingTransport:
    """Stands in for the provider at the network boundary: records, and can fail on cue."""

    name = "test"

    def __init__(self) -> None:
        from outreach.transports import Outgoing, SendError

        self.sent: list[Outgoing] = []
        self.failures: list[SendError] = []
        self.on_send: Any = None

    def send(self, message: Any) -> Any:
        from outreach.transports import Receipt, SendError

        if self.on_send is not None:
            self.on_send(message)
        if self.failures:
            failure = self.failures.pop(0)
            if failure.uncertain and failure.code == "accepted":  # taken, answer lost
                self.sent.append(message)
                raise SendError("timed out", permanent=False, code="network", uncertain=True)
            raise failure
        self.sent.append(message)
        return Receipt(provider_sid=f"SM{message.message_id:032d}", status="queued")

    def find_sent(self, message: Any, since: datetime) -> Any:
        from outreach.transports import Receipt

        for sent in self.sent:
            if (sent.to, sent.body) == (message.to, message.body):
                return Receipt(provider_sid=f"SM{sent.message_id:032d}", status="sent")
        return None
