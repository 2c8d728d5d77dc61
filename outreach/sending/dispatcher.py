"""Claim due reminders, check the guards, render, send, record.

A claim is one conditional statement and is committed before the provider is called; the
outbound row is written before the call and the result after, so no transaction is ever held
across the network and a crash leaves evidence to reconcile from.
"""

from __future__ import annotations

import logging
import threading
import time as timer
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, bindparam, delete, func, or_, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError

from outreach.clock import Clock
from outreach.config import Settings
from outreach.db.tables import appointment_table, care_plans, outbound_messages, patients, reminders
from outreach.monitoring.workers import new_worker_id
from outreach.patients.consent import opt_out
from outreach.rules.conversation import REPLY_WINDOW_HOURS
from outreach.rules.guards import PRIORITY, Decision, Defer, Facts, Send, Skip, decide
from outreach.rules.localtime import day_bounds, patient_quiet_hours
from outreach.rules.privacy import mask_phone
from outreach.rules.retry import MAX_ATTEMPTS, backoff
from outreach.rules.vocabulary import AppointmentStatus, ReminderState
from outreach.sending import outbound as messages
from outreach.sending.breaker import Breaker
from outreach.sending.ratelimit import Limiter
from outreach.texts.render import Renderer, TemplateError
from outreach.transports import Outgoing, Receipt, SendError, Transport

log = logging.getLogger("outreach.dispatcher")

R = reminders
OUT = outbound_messages
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


# Writing down a send that went out is retried this many times over a database blip; if it
# still fails, the lease runs out and the send is found again at the provider.
RECORD_TRIES = 4


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
    lost: int = 0  # our lease ran out first; another worker owns the reminder now
    errors: int = 0  # a database or program error; the lease brings the reminder back
    skipped: Counter[str] = field(default_factory=Counter)

    def count(self, outcome: str) -> None:
        kind, reason = _split(outcome)
        if kind == "skipped":
            self.skipped[reason or "unknown"] += 1
        elif kind in ("sent", "failed", "deferred", "released", "lost", "errors"):
            setattr(self, kind, getattr(self, kind) + 1)


def _split(outcome: str) -> tuple[str, str | None]:
    """ "skipped:quiet_hours" -> ("skipped", "quiet_hours"); "sent" -> ("sent", None)."""
    kind, _, reason = outcome.partition(":")
    return kind, reason or None


class Dispatcher:
    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        clock: Clock,
        transport: Transport,
        renderer: Renderer,
        worker_id: str | None = None,
        rate_limiter: Limiter | None = None,
        concurrency: int = 1,
        on_outcome: Callable[[str, str | None], None] | None = None,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.clock = clock
        self.transport = transport
        self.renderer = renderer
        self.worker_id = worker_id or new_worker_id()
        self.rate_limiter = rate_limiter
        self.concurrency = concurrency
        self.breaker = Breaker(settings.outage_pause_seconds)
        # Told each attempt's outcome and, for a failure or skip, its reason (metrics).
        self.on_outcome = on_outcome
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
        if self.rate_limiter is not None:
            # Held to a rate, more claims than threads would only wait in the queue while
            # their leases run: every thread waits for its slot anyway.
            batch = min(batch, self.concurrency)
        low_water = min(self.concurrency, batch - 1)
        running: set[Future[str]] = set()
        with ThreadPoolExecutor(self.concurrency, thread_name_prefix="send") as pool:
            while stop is None or not stop.is_set():
                allowed = self.breaker.allowed()
                probe = allowed == 1  # the one send let through after an outage's pause
                room = batch - len(running) if allowed < 0 else min(allowed, batch - len(running))
                claimed = self._claim_or_end_probe(room, probe)
                report.claimed += len(claimed)
                at = timer.monotonic()
                running.update(pool.submit(self._attempt, rid, stop, at, probe) for rid in claimed)
                if not running:
                    break
                # A short claim means nothing more is due now: finish, then look once more.
                until = low_water if room and len(claimed) == room else 0
                while len(running) > until:
                    done, running = wait(running, return_when=FIRST_COMPLETED)
                    for future in done:
                        report.count(future.result())
            for future in running:
                report.count(future.result())
        return report

    def _claim_or_end_probe(self, room: int, probe: bool) -> list[int]:
        """Claim up to `room`. A probe that finds nothing due (or whose claim fails) ends
        here: left out, the breaker would wait for it forever and never send again."""
        claimed: list[int] = []
        try:
            if room > 0:
                claimed = self.claim(room)
        finally:
            if probe and not claimed:
                self.breaker.probe_done()
        return claimed

    def _attempt(
        self,
        reminder_id: int,
        stop: threading.Event | None,
        claimed_at: float,
        probe: bool = False,
    ) -> str:
        # Waiting in the queue (a slow provider) must not eat the lease the send needs.
        stale = timer.monotonic() - claimed_at > self.settings.lease_seconds / 2
        # The breaker reads as open while its probe is out, to hold every other send back;
        # the probe itself must go, or the provider is never tried again.
        paused = self.breaker.is_open and not probe
        try:
            if (stop is not None and stop.is_set()) or paused or stale:
                # Stopping, the provider is down, or the claim waited too long: hand it
                # back with its attempt unspent.
                outcome = "released" if self.release([reminder_id]) else "lost"
            else:
                outcome = self.deliver(reminder_id)
        except Exception as exc:
            # A database that went away mid-send, or a bug: never let it stop the other
            # sends. The claim stays until its lease runs out; recovery then finds out
            # from our outbound row (and the provider) whether the text went.
            log.warning(
                "reminder %s: %s; its lease will bring it back",
                reminder_id,
                type(exc).__name__,
                exc_info=not isinstance(exc, SQLAlchemyError),
            )
            outcome = "errors"
        self.breaker.probe_done()
        if self.on_outcome is not None:
            self.on_outcome(*_split(outcome))
        return outcome

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
        stale_claims = select(R.c.id).where(
            R.c.state == ReminderState.CLAIMED, R.c.lease_until < now
        )
        if self.engine.dialect.name == "postgresql":
            # Workers recovering at the same moment split the work instead of queueing.
            stale_claims = stale_claims.with_for_update(skip_locked=True)
        with self._transaction() as conn:
            stale = conn.execute(stale_claims).scalars().all()
            recovered = sum(self._recover_one(conn, rid, now) for rid in stale)
        return recovered

    def _recover_one(self, conn: Connection, reminder_id: int, now: datetime) -> int:
        last = conn.execute(
            select(OUT.c.id, OUT.c.provider_sid, OUT.c.status)
            .where(OUT.c.reminder_id == reminder_id)
            .order_by(OUT.c.id.desc())
            .limit(1)
        ).first()
        went = last is not None and last.provider_sid
        # Still claimed with the lease run out: another worker may have recovered and
        # claimed it again since we looked, with a lease of its own, and that claim stays.
        taken = conn.execute(
            update(R)
            .where(
                R.c.id == reminder_id,
                R.c.state == ReminderState.CLAIMED,
                R.c.lease_until < now,
            )
            .values(
                state=ReminderState.SENT if went else ReminderState.PENDING,
                lease_until=None,
                claimed_by=None,
                updated_at=now,
            )
        ).rowcount
        if taken == 1 and not went and last is not None and last.status == "pending":
            # The worker died during the call: the next attempt asks the provider first.
            conn.execute(
                update(OUT)
                .where(OUT.c.id == last.id, OUT.c.status == "pending")
                .values(status="unknown", error_message="worker stopped during the send")
            )
        return int(taken)

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
            # The wait for a slot can be long when every worker shares one rate: look again
            # that the claim is still ours and the text still wanted (an opt-out, the
            # session's start or quiet hours may have come meanwhile).
            self.rate_limiter.acquire()
            unwanted = self._recheck(reminder_id, prepared)
            if unwanted is not None:
                return unwanted
        try:
            receipt = self.transport.send(prepared)
        except SendError as exc:
            if exc.permanent:
                self.breaker.succeeded()  # the provider answered: it is up
            else:
                self.breaker.failed()
            return self._record_failure(reminder_id, prepared, exc)
        self.breaker.succeeded()
        self._record_sent(reminder_id, prepared, receipt)
        return "sent"

    def _recheck(self, reminder_id: int, message: Outgoing) -> str | None:
        """After a wait for a send slot: is the claim still ours, and the text still wanted?
        Renews the lease if so (None). If not, the unsent outbound row is removed and the
        outcome returned: "lost" if another worker took over, else the skip."""
        now = self.clock.now()
        with self._transaction() as conn:
            row = conn.execute(
                CLAIMED_REMINDER, {"reminder_id": reminder_id, "worker_id": self.worker_id}
            ).first()
            if row is None:
                return "lost"
            zone = ZoneInfo(row.timezone)
            quiet = patient_quiet_hours(row.quiet_hours, self.settings.quiet_hours)
            reason = None
            if row.opted_out:
                reason = "opted_out"
            elif row.paused:
                reason = "paused"
            elif now >= row.expires_at:
                reason = "event_passed" if row.kind == "session" else "expired"
            elif quiet.contains(now.astimezone(zone).time()):
                reason = "quiet_hours"
            if reason is None:
                # Conditional: on PostgreSQL a recovery that locked the row first, after we
                # read it, makes this match nothing once it commits, and the send is not ours.
                renewed = conn.execute(
                    update(R)
                    .where(
                        R.c.id == reminder_id,
                        R.c.state == ReminderState.CLAIMED,
                        R.c.claimed_by == self.worker_id,
                    )
                    .values(lease_until=now + timedelta(seconds=self.settings.lease_seconds))
                ).rowcount
                return None if renewed == 1 else "lost"
            conn.execute(delete(OUT).where(OUT.c.id == message.message_id))
            if reason == "quiet_hours":
                # Quiet hours began while it waited: the next tick's guard moves it.
                conn.execute(
                    update(R)
                    .where(R.c.id == reminder_id)
                    .values(state=ReminderState.PENDING, lease_until=None, claimed_by=None)
                )
                return "deferred"
            self._finish(conn, reminder_id, ReminderState.SKIPPED, now, reason)
        log.info("reminder %s not sent after its wait for a slot: %s", reminder_id, reason)
        return f"skipped:{reason}"

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
                return "failed:template_error"
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
        day_start, day_end = day_bounds(today, today, zone)
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
                    # A deferral (quiet hours, the daily cap) was no attempt to send.
                    attempts=R.c.attempts - 1,
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
        """Write down a send that went out. The text is gone either way, so a database blip
        here is waited out (the pool reconnects) rather than left to the lease."""
        for attempt in range(1, RECORD_TRIES + 1):
            now = self.clock.now()
            try:
                with self._transaction() as conn:
                    messages.record_receipt(conn, message.message_id, receipt, now)
                    self._finish(conn, reminder_id, ReminderState.SENT, now, None)
                break
            except SQLAlchemyError:
                if attempt == RECORD_TRIES:
                    raise
                log.warning("reminder %s went out; recording it failed, retrying", reminder_id)
                timer.sleep(0.5 * 2**attempt)
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
            retry_at = now + self._backoff(row.attempts)
            if exc.permanent or row.attempts >= MAX_ATTEMPTS or retry_at >= row.expires_at:
                reason = (
                    "send_outcome_unknown" if exc.uncertain else f"provider_{exc.code or 'error'}"
                )
                self._finish(conn, reminder_id, ReminderState.FAILED, now, reason[:40])
                log.warning(
                    "reminder %s failed for %s: %s", reminder_id, mask_phone(message.to), exc
                )
                return f"failed:{reason[:40]}"
            self._requeue(conn, reminder_id, retry_at, now)
        log.info("reminder %s will be retried at %s: %s", reminder_id, retry_at.isoformat(), exc)
        return "deferred"

    def _backoff(self, attempts: int) -> timedelta:
        """The wait before the next try: the base after the first attempt, doubling."""
        return backoff(attempts, self.settings.retry_backoff_seconds)

    def _retry_later(self, reminder_id: int, why: str) -> str:
        """The provider cannot be asked yet whether an earlier send went through. Try again
        later; past the last attempt, or past the reminder's moment, give up without sending
        again: the text may well have gone."""
        now = self.clock.now()
        with self._transaction() as conn:
            row = conn.execute(
                select(R.c.attempts, R.c.expires_at).where(R.c.id == reminder_id)
            ).one()
            retry_at = now + self._backoff(row.attempts)
            if row.attempts >= MAX_ATTEMPTS or retry_at >= row.expires_at:
                self._finish(conn, reminder_id, ReminderState.FAILED, now, "send_outcome_unknown")
                log.warning("reminder %s: %s; giving up, it may have gone", reminder_id, why)
                return "failed:send_outcome_unknown"
            self._requeue(conn, reminder_id, retry_at, now)
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
