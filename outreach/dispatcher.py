"""Claim due reminders, check the guards, render, send, record.

A claim is one conditional statement and is committed before the provider is called; the
outbound row is written before the call and the result after, so no transaction is ever held
across the network and a crash leaves evidence to reconcile from.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, and_, bindparam, func, or_, select, update
from sqlalchemy.engine import Connection

from outreach import messages
from outreach.clock import Clock
from outreach.config import Settings, patient_quiet_hours
from outreach.consent import opt_out
from outreach.conversation import REPLY_WINDOW_HOURS
from outreach.guards import PRIORITY, Decision, Defer, Facts, Send, Skip, decide
from outreach.localtime import at_local
from outreach.models import (
    AppointmentStatus,
    ReminderState,
    appointment_table,
    care_plans,
    outbound_messages,
    patients,
    reminders,
)
from outreach.privacy import mask_phone
from outreach.ratelimit import RateLimiter
from outreach.render import Renderer, TemplateError
from outreach.transports import Outgoing, Receipt, SendError, Transport

log = logging.getLogger(__name__)

R = reminders
OUT = outbound_messages
MAX_ATTEMPTS = 5
OPTED_OUT_AT_PROVIDER = "21610"
LIVE_APPOINTMENT = (AppointmentStatus.SCHEDULED, AppointmentStatus.CONFIRMED)
# The statements run for every send, built once with bound parameters: building them each
# time cost more than running them on SQLite.
CLAIMED_REMINDER = (
    select(R, patients.c.phone, patients.c.timezone, patients.c.language)
    .add_columns(
        patients.c.first_name,
        patients.c.consent_state,
        patients.c.opted_out,
        patients.c.paused,
        patients.c.quiet_hours,
    )
    .join(patients, patients.c.id == R.c.patient_id)
    .where(
        R.c.id == bindparam("reminder_id"),
        R.c.state == ReminderState.CLAIMED,
        R.c.claimed_by == bindparam("worker_id"),
    )
)
SENT_TODAY = (
    select(func.count())
    .select_from(OUT)
    .where(
        OUT.c.patient_id == bindparam("patient_id"),
        OUT.c.counts_toward_cap.is_(True),
        OUT.c.created_at >= bindparam("day_start"),
        OUT.c.status.notin_(("failed", "undelivered")),
    )
)
RESERVED_TODAY = (
    select(func.count())
    .select_from(R)
    .where(
        R.c.patient_id == bindparam("patient_id"),
        R.c.id != bindparam("reminder_id"),
        R.c.state.in_((ReminderState.PENDING, ReminderState.CLAIMED)),
        R.c.kind.in_(bindparam("higher", expanding=True)),
        R.c.send_at >= bindparam("now"),
        R.c.send_at < bindparam("day_end"),
    )
)


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass(frozen=True)
class Uncertain:
    """An earlier attempt that may have reached the provider: look before sending again."""

    message: Outgoing
    since: datetime


@dataclass
class DispatchReport:
    claimed: int = 0
    sent: int = 0
    failed: int = 0
    deferred: int = 0
    released: int = 0
    recovered: int = 0
    skipped: Counter[str] = field(default_factory=Counter)

    def count(self, outcome: str) -> None:
        if outcome.startswith("skipped:"):
            self.skipped[outcome.removeprefix("skipped:")] += 1
        elif outcome in ("sent", "failed", "deferred", "released"):
            setattr(self, outcome, getattr(self, outcome) + 1)


class Dispatcher:
    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        clock: Clock,
        transport: Transport,
        renderer: Renderer,
        worker_id: str | None = None,
        rate_limiter: RateLimiter | None = None,
        concurrency: int = 1,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.clock = clock
        self.transport = transport
        self.renderer = renderer
        self.worker_id = worker_id or default_worker_id()
        self.rate_limiter = rate_limiter
        self.concurrency = concurrency
        # Every SQLite transaction takes the database's one write lock at BEGIN (db.py). A
        # send thread queued there waits in SQLite's busy handler, which sleeps in steps of
        # up to 100 ms and cut throughput by a third at 48 threads; queued on this lock it
        # wakes as soon as the transaction before it ends.
        self._one_at_a_time: AbstractContextManager[Any] = (
            threading.Lock() if engine.dialect.name == "sqlite" else nullcontext()
        )

    @contextmanager
    def _transaction(self) -> Iterator[Connection]:
        with self._one_at_a_time, self.engine.begin() as conn:
            yield conn

    def run(self, stop: threading.Event | None = None) -> DispatchReport:
        """Send everything due now until nothing is due or `stop` is set. Sends overlap up
        to `concurrency` at once: each waits on the provider, not on us. At most batch_size
        reminders are claimed and unfinished at a time, and the claim is topped up as soon
        as a thread would otherwise go idle, not once the whole batch is done: waiting for a
        batch's last few sends left most threads idle (48 threads, 150 ms a send: 200 texts
        a second instead of 300). Claimed reminders not yet attempted when stopping go back
        to pending."""
        report = DispatchReport()
        report.recovered = self.recover_expired()
        batch = self.settings.batch_size
        low_water = min(self.concurrency, batch - 1)
        running: set[Future[str]] = set()
        with ThreadPoolExecutor(self.concurrency, thread_name_prefix="send") as pool:
            while stop is None or not stop.is_set():
                room = batch - len(running)
                claimed = self.claim(room)
                report.claimed += len(claimed)
                running.update(pool.submit(self._attempt, rid, stop) for rid in claimed)
                if not running:
                    break
                # A short claim means nothing more is due now: finish, then look once more.
                until = low_water if len(claimed) == room else 0
                while len(running) > until:
                    done, running = wait(running, return_when=FIRST_COMPLETED)
                    for future in done:
                        report.count(future.result())
            for future in running:
                report.count(future.result())
        return report

    def _attempt(self, reminder_id: int, stop: threading.Event | None) -> str:
        if stop is not None and stop.is_set():
            return "released" if self.release([reminder_id]) else "lost"
        return self.deliver(reminder_id)

    def claim(self, limit: int) -> list[int]:
        now = self.clock.now()
        due = (
            select(R.c.id)
            .where(R.c.state == ReminderState.PENDING, R.c.send_at <= now)
            .order_by(R.c.send_at, R.c.id)
            .limit(limit)
        )
        postgres = self.engine.dialect.name == "postgresql"
        if postgres:
            # A CTE, MATERIALIZED so it runs once. Inside `id IN (...)` PostgreSQL may rescan
            # the locking subquery for every row it updates (a nested-loop semi join), and
            # each rescan skips the rows just claimed and locks the next ones: LIMIT then holds
            # per rescan, and one claim takes every due reminder, past what a lease can cover.
            locked = due.with_for_update(skip_locked=True).cte("due").prefix_with("MATERIALIZED")
            claim = update(R).where(R.c.id == locked.c.id)
        else:
            claim = update(R).where(R.c.id.in_(due.scalar_subquery()))
        claim = claim.values(
            state=ReminderState.CLAIMED,
            lease_until=now + timedelta(seconds=self.settings.lease_seconds),
            claimed_by=self.worker_id,
            attempts=R.c.attempts + 1,
            updated_at=now,
        ).returning(R.c.id)
        if postgres:
            # The rows are locked by the subquery; re-checking the state keeps the claim
            # conditional even so. On SQLite the statement runs under the database's single
            # write lock (every transaction begins IMMEDIATE, see db.py), so the rows cannot
            # change in between, and the same condition there would make SQLite walk the
            # state index across every pending reminder: 250 ms a tick with two weeks queued.
            claim = claim.where(R.c.state == ReminderState.PENDING)
        with self._transaction() as conn:
            return sorted(conn.execute(claim).scalars().all())

    def release(self, reminder_ids: list[int]) -> int:
        """Give back claims we will not attempt (shutting down): nothing was sent for them."""
        with self._transaction() as conn:
            result = conn.execute(
                update(R)
                .where(
                    R.c.id.in_(reminder_ids),
                    R.c.state == ReminderState.CLAIMED,
                    R.c.claimed_by == self.worker_id,
                )
                .values(
                    state=ReminderState.PENDING,
                    lease_until=None,
                    claimed_by=None,
                    attempts=R.c.attempts - 1,
                )
            )
        return int(result.rowcount or 0)

    def recover_expired(self) -> int:
        """Claims whose lease ran out belong to a worker that died. If its outbound row got a
        provider id the text went out; with no row nothing left; a row without an id is
        marked unknown, and the next attempt looks it up at the provider before sending."""
        now = self.clock.now()
        with self._transaction() as conn:
            stale = (
                conn.execute(
                    select(R.c.id).where(R.c.state == ReminderState.CLAIMED, R.c.lease_until < now)
                )
                .scalars()
                .all()
            )
            for reminder_id in stale:
                self._recover_one(conn, reminder_id, now)
        return len(stale)

    def _recover_one(self, conn: Connection, reminder_id: int, now: datetime) -> None:
        last = conn.execute(
            select(OUT.c.id, OUT.c.provider_sid, OUT.c.status)
            .where(OUT.c.reminder_id == reminder_id)
            .order_by(OUT.c.id.desc())
            .limit(1)
        ).first()
        expired = and_(R.c.id == reminder_id, R.c.state == ReminderState.CLAIMED)
        if last is not None and last.provider_sid:
            values: dict[str, Any] = {"state": ReminderState.SENT}
        else:
            if last is not None and last.status == "pending":
                # The worker died during the call: the next attempt asks the provider first.
                conn.execute(
                    update(OUT)
                    .where(OUT.c.id == last.id)
                    .values(status="unknown", error_message="worker stopped during the send")
                )
            values = {"state": ReminderState.PENDING}
        conn.execute(
            update(R)
            .where(expired)
            .values(lease_until=None, claimed_by=None, updated_at=now, **values)
        )

    def deliver(self, reminder_id: int) -> str:
        prepared = self._prepare(reminder_id)
        if isinstance(prepared, Uncertain):
            settled = self._reconcile(reminder_id, prepared)
            if settled is not None:
                return settled
            prepared = self._prepare(reminder_id)
        if isinstance(prepared, str):
            return prepared
        assert isinstance(prepared, Outgoing)
        if self.rate_limiter is not None:
            self.rate_limiter.acquire()
        try:
            receipt = self.transport.send(prepared)
        except SendError as exc:
            return self._record_failure(reminder_id, prepared, exc)
        self._record_sent(reminder_id, prepared, receipt)
        return "sent"

    def _reconcile(self, reminder_id: int, uncertain: Uncertain) -> str | None:
        """An earlier attempt's outcome is unknown: ask the provider before sending again.
        Returns the outcome if that settles it, None if a fresh send should follow."""
        try:
            found = self.transport.find_sent(uncertain.message, uncertain.since)
        except SendError as exc:
            log.warning("reminder %s: cannot look up its earlier send yet: %s", reminder_id, exc)
            return self._retry_later(reminder_id, "lookup_failed")
        now = self.clock.now()
        with self._transaction() as conn:
            if found is not None:
                messages.record_receipt(conn, uncertain.message.message_id, found, now)
                self._finish(conn, reminder_id, ReminderState.SENT, now, None)
                log.info("reminder %s had gone out already: %s", reminder_id, found.provider_sid)
                return "sent"
            conn.execute(
                update(OUT)
                .where(OUT.c.id == uncertain.message.message_id)
                .values(status="failed", error_message="not found at the provider; sent again")
            )
        return None

    def _prepare(self, reminder_id: int) -> Outgoing | Uncertain | str:
        now = self.clock.now()
        with self._transaction() as conn:
            row = conn.execute(
                CLAIMED_REMINDER, {"reminder_id": reminder_id, "worker_id": self.worker_id}
            ).first()
            if row is None:
                return "lost"  # our lease expired and another worker took over
            earlier = conn.execute(
                select(OUT.c.id, OUT.c.to_phone, OUT.c.body, OUT.c.created_at, OUT.c.provider_sid)
                .where(
                    OUT.c.reminder_id == reminder_id,
                    or_(OUT.c.status == "unknown", OUT.c.provider_sid.is_not(None)),
                )
                .order_by(OUT.c.id.desc())
            ).all()
            if any(e.provider_sid is not None for e in earlier):
                # A status callback brought the sid of an attempt whose answer was lost: the
                # provider took that text, so it is not sent again.
                self._finish(conn, reminder_id, ReminderState.SENT, now, None)
                return "sent"
            if earlier:
                message = Outgoing(earlier[0].id, earlier[0].to_phone, earlier[0].body)
                return Uncertain(message, earlier[0].created_at)
            zone = ZoneInfo(row.timezone)
            starts_at = self._appointment_start(conn, row.appointment_id)
            decision = decide(self._facts(conn, row, zone, now, starts_at))
            if not isinstance(decision, Send):
                return self._settle(conn, reminder_id, decision, now)
            try:
                rendered = self.renderer.render(
                    row.kind, row.language, **self._context(conn, row, zone, starts_at)
                )
            except TemplateError as exc:
                log.error("reminder %s cannot be rendered: %s", reminder_id, exc)
                self._finish(conn, reminder_id, ReminderState.FAILED, now, "template_error")
                return "failed"
            reply_until = (
                starts_at
                if row.kind == "session" and starts_at is not None
                else now + timedelta(hours=REPLY_WINDOW_HOURS[row.kind])
            )
            message_id = messages.queue(
                conn,
                patient_id=row.patient_id,
                to=row.phone,
                rendered=rendered,
                provider=self.transport.name,
                now=now,
                counts_toward_cap=True,
                reminder_id=reminder_id,
                prompt=row.kind,
                prompt_ref=row.appointment_id,
                reply_until=reply_until,
            )
        return Outgoing(message_id=message_id, to=row.phone, body=rendered.body)

    def _facts(
        self, conn: Connection, row: Any, zone: ZoneInfo, now: datetime, starts_at: datetime | None
    ) -> Facts:
        today = now.astimezone(zone).date()
        day_start = at_local(today, time(0), zone)
        day_end = at_local(today + timedelta(days=1), time(0), zone)
        sent_today = conn.execute(
            SENT_TODAY, {"patient_id": row.patient_id, "day_start": day_start}
        ).scalar_one()
        higher = [kind for kind, rank in PRIORITY.items() if rank < PRIORITY[row.kind]]
        reserved = conn.execute(
            RESERVED_TODAY,
            {
                "patient_id": row.patient_id,
                "reminder_id": row.id,
                "higher": higher,
                "now": now,
                "day_end": day_end,
            },
        ).scalar_one()
        appointment_live = True
        if row.appointment_id is not None:
            status = conn.execute(
                select(appointment_table.c.status).where(
                    appointment_table.c.id == row.appointment_id
                )
            ).scalar()
            appointment_live = status in LIVE_APPOINTMENT
        return Facts(
            kind=row.kind,
            now=now,
            expires_at=row.expires_at,
            zone=zone,
            quiet=patient_quiet_hours(row.quiet_hours, self.settings.quiet_hours),
            consent_granted=row.consent_state == "granted",
            opted_out=row.opted_out,
            paused=row.paused,
            appointment_live=appointment_live,
            sent_today=int(sent_today),
            reserved_today=int(reserved),
            daily_cap=self.settings.daily_cap,
        )

    def _appointment_start(self, conn: Connection, appointment_id: int | None) -> datetime | None:
        if appointment_id is None:
            return None
        starts_at: datetime | None = conn.execute(
            select(appointment_table.c.starts_at).where(appointment_table.c.id == appointment_id)
        ).scalar()
        return starts_at

    def _context(
        self, conn: Connection, row: Any, zone: ZoneInfo, starts_at: datetime | None
    ) -> dict[str, Any]:
        context: dict[str, Any] = {"patient": {"first_name": row.first_name}}
        if row.kind == "session" and starts_at is not None:
            context["starts_at"] = starts_at.astimezone(zone)
        if row.kind == "exercise":
            text = conn.execute(
                select(care_plans.c.exercises).where(care_plans.c.patient_id == row.patient_id)
            ).scalar()
            context["exercises"] = [line for line in (text or "").splitlines() if line.strip()]
        return context

    def _settle(self, conn: Connection, reminder_id: int, decision: Decision, now: datetime) -> str:
        if isinstance(decision, Defer):
            conn.execute(
                update(R)
                .where(R.c.id == reminder_id)
                .values(
                    state=ReminderState.PENDING,
                    send_at=decision.until,
                    lease_until=None,
                    claimed_by=None,
                    updated_at=now,
                )
            )
            return "deferred"
        assert isinstance(decision, Skip)
        self._finish(conn, reminder_id, ReminderState.SKIPPED, now, decision.reason)
        return f"skipped:{decision.reason}"

    def _finish(
        self, conn: Connection, reminder_id: int, state: str, now: datetime, reason: str | None
    ) -> None:
        conn.execute(
            update(R)
            .where(R.c.id == reminder_id)
            .values(state=state, skip_reason=reason, lease_until=None, updated_at=now)
        )

    def _record_sent(self, reminder_id: int, message: Outgoing, receipt: Receipt) -> None:
        now = self.clock.now()
        with self._transaction() as conn:
            messages.record_receipt(conn, message.message_id, receipt, now)
            self._finish(conn, reminder_id, ReminderState.SENT, now, None)
        log.info("sent reminder %s to %s", reminder_id, mask_phone(message.to))

    def _record_failure(self, reminder_id: int, message: Outgoing, exc: SendError) -> str:
        now = self.clock.now()
        with self._transaction() as conn:
            if exc.uncertain:
                marked = conn.execute(
                    update(OUT)
                    .where(OUT.c.id == message.message_id, OUT.c.provider_sid.is_(None))
                    .values(status="unknown", error_code=exc.code, error_message=str(exc)[:300])
                ).rowcount
                if marked != 1:
                    # A status callback beat the lost answer and brought the sid (and a
                    # status, kept as it is): the provider took the text.
                    self._finish(conn, reminder_id, ReminderState.SENT, now, None)
                    log.info("reminder %s went out; its answer was lost", reminder_id)
                    return "sent"
            else:
                messages.record_error(conn, message.message_id, exc)
            if exc.code == OPTED_OUT_AT_PROVIDER:
                patient_id = conn.execute(
                    select(R.c.patient_id).where(R.c.id == reminder_id)
                ).scalar_one()
                opt_out(conn, patient_id, now, source="provider", detail="Twilio 21610")
            row = conn.execute(
                select(R.c.attempts, R.c.expires_at).where(R.c.id == reminder_id)
            ).one()
            retry_at = now + timedelta(minutes=2**row.attempts)
            if exc.permanent or row.attempts >= MAX_ATTEMPTS or retry_at >= row.expires_at:
                reason = (
                    "send_outcome_unknown" if exc.uncertain else f"provider_{exc.code or 'error'}"
                )
                self._finish(conn, reminder_id, ReminderState.FAILED, now, reason[:40])
                log.warning(
                    "reminder %s failed for %s: %s", reminder_id, mask_phone(message.to), exc
                )
                return "failed"
            self._requeue(conn, reminder_id, retry_at, now)
        log.info("reminder %s will be retried at %s: %s", reminder_id, retry_at.isoformat(), exc)
        return "deferred"

    def _retry_later(self, reminder_id: int, why: str) -> str:
        now = self.clock.now()
        with self._transaction() as conn:
            attempts = conn.execute(select(R.c.attempts).where(R.c.id == reminder_id)).scalar_one()
            self._requeue(conn, reminder_id, now + timedelta(minutes=2**attempts), now)
        log.info("reminder %s deferred: %s", reminder_id, why)
        return "deferred"

    def _requeue(self, conn: Connection, reminder_id: int, when: datetime, now: datetime) -> None:
        conn.execute(
            update(R)
            .where(R.c.id == reminder_id)
            .values(
                state=ReminderState.PENDING,
                send_at=when,
                lease_until=None,
                claimed_by=None,
                updated_at=now,
            )
        )
