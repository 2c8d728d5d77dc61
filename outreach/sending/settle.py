"""How a reminder's send ends, written down: sent, retried later, or failed, after the
provider answered, gave no answer, or was never asked because the text stopped being
wanted while it waited. Also the reminders whose worker died mid-send, and the earlier
sends that must be looked up before a reminder goes again.
"""

from __future__ import annotations

import logging
import time as timer
from datetime import datetime, timedelta
from functools import partial
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError

from outreach.clock import Clock
from outreach.config import Settings
from outreach.db.tables import outbound_messages
from outreach.outbox import claims
from outreach.patients.consent import opt_out
from outreach.rules.guards import GiveBack, Send, Waited, recheck
from outreach.rules.localtime import patient_quiet_hours
from outreach.rules.privacy import mask_phone
from outreach.rules.retry import failure_reason, next_try
from outreach.rules.vocabulary import OutboundStatus, ReminderKind, ReminderState
from outreach.sending import outbound, send
from outreach.sending.about import about
from outreach.sending.outcome import DEFERRED, LOST, SENT, Outcome, failed, skipped
from outreach.sending.prepare import Uncertain, staff_text
from outreach.transports import Outgoing, SendError, Transport
from outreach.transports.twilio_errors import OPTED_OUT

log = logging.getLogger("outreach.dispatcher")

OUT = outbound_messages
# Writing down a send that went out is retried this many times over a database blip; if it
# still fails, the lease runs out and the send is found again at the provider.
RECORD_TRIES = 4


class Settler:
    """Writes down how a claimed reminder's send ended, for one worker."""

    def __init__(
        self,
        transaction: send.Transaction,
        settings: Settings,
        clock: Clock,
        transport: Transport,
        worker_id: str,
    ) -> None:
        self._transaction = transaction
        self.settings = settings
        self.clock = clock
        self.transport = transport
        self.worker_id = worker_id

    def record(self, reminder_id: int, message: Outgoing, result: send.Result) -> Outcome:
        """The provider's answer and what follows for the reminder, in one transaction."""
        if isinstance(result, send.Taken):
            return self._record_sent(reminder_id, message, result)
        after = partial(self._after_failure, reminder_id, message)
        return send.record(self._transaction, message.message_id, result, self.clock.now, after)

    def _record_sent(self, reminder_id: int, message: Outgoing, taken: send.Taken) -> Outcome:
        """Write down a send that went out. The text is gone either way, so a database blip
        here is waited out (the pool reconnects) rather than left to the lease."""
        for attempt in range(1, RECORD_TRIES + 1):
            try:
                send.record(
                    self._transaction,
                    message.message_id,
                    taken,
                    self.clock.now,
                    partial(self._sent, reminder_id),
                )
                break
            except SQLAlchemyError:
                if attempt == RECORD_TRIES:
                    raise
                log.warning("reminder %s went out; recording it failed, retrying", reminder_id)
                timer.sleep(0.5 * 2**attempt)
        log.info("sent reminder %s to %s", reminder_id, mask_phone(message.to))
        return SENT

    def _sent(self, reminder_id: int, conn: Connection, result: send.Result, now: datetime) -> None:
        claims.finish(conn, reminder_id, ReminderState.SENT, now, None)

    def _after_failure(
        self,
        reminder_id: int,
        message: Outgoing,
        conn: Connection,
        result: send.Result,
        now: datetime,
    ) -> Outcome:
        if isinstance(result, send.Taken):
            # A status callback beat the lost answer and brought the sid (and a status,
            # kept as it is): the provider took the text.
            claims.finish(conn, reminder_id, ReminderState.SENT, now, None)
            log.info("reminder %s went out; its answer was lost", reminder_id)
            return SENT
        exc: SendError = result.error
        row = claims.attempts_left(conn, reminder_id)
        if exc.code == OPTED_OUT:
            opt_out(conn, row.patient_id, now, source="provider", detail=f"Twilio {OPTED_OUT}")
        retry_at = next_try(
            attempts=row.attempts,
            now=now,
            expires_at=row.expires_at,
            base_seconds=self.settings.retry_backoff_seconds,
            permanent=exc.permanent,
        )
        if retry_at is None:
            reason = failure_reason(uncertain=exc.uncertain, code=exc.code)
            claims.finish(conn, reminder_id, ReminderState.FAILED, now, reason)
            log.warning("reminder %s failed for %s: %s", reminder_id, mask_phone(message.to), exc)
            return failed(reason)
        claims.requeue(conn, reminder_id, retry_at, now)
        log.info("reminder %s will be retried at %s: %s", reminder_id, retry_at.isoformat(), exc)
        return DEFERRED

    def reconcile(self, reminder_id: int, uncertain: Uncertain) -> Outcome | None:
        """An earlier attempt's outcome is unknown: ask the provider before sending again.
        Returns the outcome if that settles it, None if a fresh send should follow."""
        try:
            found = send.look_up(
                self._transaction,
                self.transport,
                uncertain.message,
                uncertain.since,
                self.clock.now,
                partial(self._found, reminder_id),
            )
        except SendError as exc:
            log.warning("reminder %s: cannot look up its earlier send yet: %s", reminder_id, exc)
            return self._retry_later(reminder_id, "lookup_failed")
        if found is None:
            with self._transaction() as conn:
                outbound.mark_not_found(conn, uncertain.message.message_id)
        return found

    def _found(
        self, reminder_id: int, conn: Connection, result: send.Result, now: datetime
    ) -> Outcome:
        claims.finish(conn, reminder_id, ReminderState.SENT, now, None)
        assert isinstance(result, send.Taken) and result.receipt is not None
        log.info("reminder %s had gone out already: %s", reminder_id, result.receipt.provider_sid)
        return SENT

    def _retry_later(self, reminder_id: int, why: str) -> Outcome:
        """The provider cannot be asked yet whether an earlier send went through. Try again
        later; past the last attempt, or past the reminder's moment, give up without sending
        again: the text may well have gone."""
        now = self.clock.now()
        with self._transaction() as conn:
            row = claims.attempts_left(conn, reminder_id)
            retry_at = next_try(
                attempts=row.attempts,
                now=now,
                expires_at=row.expires_at,
                base_seconds=self.settings.retry_backoff_seconds,
            )
            if retry_at is None:
                reason = failure_reason(uncertain=True, code=None)
                claims.finish(conn, reminder_id, ReminderState.FAILED, now, reason)
                log.warning("reminder %s: %s; giving up, it may have gone", reminder_id, why)
                return failed(reason)
            claims.requeue(conn, reminder_id, retry_at, now)
        log.info("reminder %s deferred: %s", reminder_id, why)
        return DEFERRED

    def recheck(self, reminder_id: int, message: Outgoing) -> Outcome | None:
        """After a wait for a send slot: is the claim still ours, and the text still wanted?
        Renews the lease if so (None). If not, the unsent outbound row is removed and the
        outcome returned: lost if another worker took over, else the skip."""
        now = self.clock.now()
        with self._transaction() as conn:
            row = claims.claimed(conn, reminder_id, self.worker_id)
            if row is None:
                return LOST
            decision = recheck(
                Waited(
                    kind=row.kind,
                    now=now,
                    expires_at=row.expires_at,
                    zone=ZoneInfo(row.timezone),
                    quiet=patient_quiet_hours(row.quiet_hours, self.settings.quiet_hours),
                    opted_out=row.opted_out,
                    paused=row.paused,
                    quiet_exempt_until=staff_text(conn, reminder_id).quiet_exempt_until
                    if row.kind == ReminderKind.STAFF
                    else None,
                    appointment_live=about(conn, row, now).wanted,
                )
            )
            if isinstance(decision, Send):
                lease_until = now + timedelta(seconds=self.settings.lease_seconds)
                renewed = claims.renew(conn, reminder_id, self.worker_id, lease_until)
                return None if renewed else LOST
            outbound.discard_unsent(conn, message.message_id)
            if isinstance(decision, GiveBack):
                # Quiet hours began while it waited: the next tick's guard moves it.
                claims.give_back(conn, reminder_id)
                return DEFERRED
            claims.finish(conn, reminder_id, ReminderState.SKIPPED, now, decision.reason)
        log.info("reminder %s not sent after its wait for a slot: %s", reminder_id, decision.reason)
        return skipped(decision.reason)

    def recover(self, conn: Connection, reminder_id: int, now: datetime) -> int:
        """A dead worker's claim: sent if its last row has a provider id; else pending again,
        with a row it left mid-send marked unknown, to be looked up before the next send."""
        last = conn.execute(
            select(OUT.c.id, OUT.c.provider_sid, OUT.c.status)
            .where(OUT.c.reminder_id == reminder_id)
            .order_by(OUT.c.id.desc())
            .limit(1)
        ).first()
        went = last is not None and last.provider_sid is not None
        taken = claims.recover(conn, reminder_id, now, went)
        if taken and not went and last is not None and last.status == OutboundStatus.PENDING:
            outbound.mark_stopped_during_send(conn, last.id)
        return int(taken)
