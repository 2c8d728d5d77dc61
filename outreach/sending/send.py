"""The one way a text goes out, for reminders, on-call pages and reply texts alike.

Its row is written first (`outbound.queue`, in the caller's transaction), the provider is
called outside any transaction (`attempt`), and its answer recorded after (`record`): taken,
refused, or lost. A lost answer leaves the row `unknown`, and such a row is looked up at the
provider before it is ever sent again (`look_up`, `resume`), so a text is never sent twice
because an answer went missing.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy.engine import Connection

from outreach.sending import outbound
from outreach.transports import Outgoing, Receipt, SendError, Transport

T = TypeVar("T")
Transaction = Callable[[], AbstractContextManager[Connection]]


@dataclass(frozen=True)
class Taken:
    """The provider has the text. No receipt when a status callback told us before the
    create's answer, which was lost."""

    receipt: Receipt | None


@dataclass(frozen=True)
class Refused:
    """The text did not go; `error.permanent` says whether trying again can help."""

    error: SendError


@dataclass(frozen=True)
class Unknown:
    """No answer: the text may have gone. Its row is `unknown` until it is looked up."""

    error: SendError


Result = Taken | Refused | Unknown
# Told the result in the transaction that records it, to write what follows from it.
Settle = Callable[[Connection, Result, datetime], T]


def attempt(transport: Transport, message: Outgoing) -> Result:
    """Hand the text to the provider: the network call, outside any transaction."""
    try:
        receipt = transport.send(message)
    except SendError as exc:
        return Unknown(exc) if exc.uncertain else Refused(exc)
    return Taken(receipt)


def write(conn: Connection, message_id: int, result: Result, now: datetime) -> Result:
    """Write the provider's answer on the row. An answer lost after a status callback
    brought the sid is no longer unknown: the text was taken."""
    match result:
        case Taken(receipt=receipt):
            if receipt is not None:
                outbound.record_receipt(conn, message_id, receipt, now)
        case Unknown(error=error):
            if not outbound.mark_unknown(conn, message_id, error):
                return Taken(None)
        case Refused(error=error):
            outbound.record_error(conn, message_id, error)
    return result


def record(
    transaction: Transaction,
    message_id: int,
    result: Result,
    now: Callable[[], datetime],
    settle: Settle[T],
) -> T:
    """Write the answer and what follows from it (`settle`) in one transaction."""
    with transaction() as conn:
        at = now()
        return settle(conn, write(conn, message_id, result, at), at)


def send(
    transaction: Transaction,
    transport: Transport,
    message: Outgoing,
    now: Callable[[], datetime],
    settle: Settle[T],
) -> T:
    """Send a text whose row is written, and record the answer."""
    return record(transaction, message.message_id, attempt(transport, message), now, settle)


def look_up(
    transaction: Transaction,
    transport: Transport,
    message: Outgoing,
    since: datetime,
    now: Callable[[], datetime],
    settle: Settle[T],
) -> T | None:
    """An earlier send of this row had no answer: ask the provider. If it has the text, the
    receipt is recorded and settled; None if it has not (the caller sends it again). Raises
    SendError when the provider cannot be asked."""
    found = transport.find_sent(message, since)
    if found is None:
        return None
    return record(transaction, message.message_id, Taken(found), now, settle)


def resume(
    transaction: Transaction, transport: Transport, row: Any, now: datetime
) -> Result | None:
    """Finish a row `outbound.unfinished` found: taken under a lease (`resending` since
    `claimed_at`, so a worker that dies here leaves it to the next), looked up at the
    provider, and sent only if it is not there. None if another worker took it first."""
    with transaction() as conn:
        if not outbound.take_for_resend(conn, row, now):
            return None
    message = Outgoing(row.id, row.to_phone, row.body)
    try:
        receipt = transport.find_sent(message, row.created_at)
        if receipt is None:
            receipt = transport.send(message)
    except SendError as exc:
        # Unless the provider refused it for good, look again on the next tick.
        result: Result = Refused(exc) if exc.permanent else Unknown(exc)
    else:
        result = Taken(receipt)
    return record(transaction, row.id, result, lambda: now, _as_written)


def _as_written(conn: Connection, result: Result, now: datetime) -> Result:
    return result
