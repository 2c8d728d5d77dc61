"""Status callbacks: how a text fared, told late, twice or out of order.

A status only moves forward (queued < sending < sent < a terminal state) and a terminal state
never changes, not even to another terminal state. That rule lives in one conditional UPDATE
(`outbound.record_callback` in sending/outbound.py),
so concurrent, duplicate and late callbacks need no locking and no "read, then write".
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine

from outreach.patients import consent
from outreach.rules.vocabulary import OutboundStatus
from outreach.sending import outbound
from outreach.sending.outbound import RANK
from outreach.transports.twilio_errors import OPTED_OUT

log = logging.getLogger("outreach.web.status")

MAX_ID = 2**31 - 1


@dataclass(frozen=True)
class Callback:
    status: str
    message_id: int | None  # our row, from the `mid` we put in the callback URL
    provider_sid: str | None
    error_code: str | None


def parse(params: Mapping[str, str], mid: str | None) -> Callback:
    """Read a callback's form and `mid`; raises ValueError naming what is wrong."""
    status = (params.get("MessageStatus") or params.get("SmsStatus") or "").strip().lower()
    sid = (params.get("MessageSid") or params.get("SmsSid") or "").strip() or None
    if not status:
        raise ValueError("MessageStatus is missing")
    if sid is not None and len(sid) > 64:
        raise ValueError("MessageSid is too long")
    message_id = None
    if mid is not None:
        if not mid.isdigit() or not 0 < int(mid) <= MAX_ID:
            raise ValueError(f"mid must be a message id, got {mid[:20]!r}")
        message_id = int(mid)
    if message_id is None and sid is None:
        raise ValueError("neither mid nor MessageSid says which message this is")
    error_code = (params.get("ErrorCode") or "").strip()[:16] or None
    return Callback(status, message_id, sid, error_code)


def apply(engine: Engine, callback: Callback, now: datetime) -> bool:
    """Record a callback. Returns False if it names no message of ours (nothing changes);
    a status we do not track (e.g. 'partially_delivered') is logged and left alone."""
    if callback.status not in RANK:
        log.info("status callback with status %r ignored", callback.status)
        return True
    with engine.begin() as conn:
        row = outbound.record_callback(
            conn,
            OutboundStatus(callback.status),
            message_id=callback.message_id,
            provider_sid=callback.provider_sid,
            error_code=callback.error_code,
        )
        if row is None:
            log.warning(
                "status callback for an unknown message (mid %s, sid %s) ignored",
                callback.message_id,
                callback.provider_sid,
            )
            return False
        log.info("message %s: callback %s, now %s", row.id, callback.status, row.status)
        if callback.error_code == OPTED_OUT and row.patient_id is not None:
            detail = f"provider error {OPTED_OUT}: recipient opted out"
            if consent.opt_out(conn, row.patient_id, now, "provider", detail):
                log.warning("patient %s opted out at the carrier (21610)", row.patient_id)
    return True
