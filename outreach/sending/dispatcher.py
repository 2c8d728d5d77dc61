"""The send loop: claim due reminders, prepare each, send it, record how it ended.

A claim is one conditional statement and is committed before the provider is called
(outbox/claims.py); the outbound row is written before the call and the result after
(sending/send.py), so no transaction is ever held across the network and a crash leaves
evidence to reconcile from. Preparing (guards, render) is sending/prepare.py; what to do
after an uncertain or failed send is sending/settle.py.
"""

from __future__ import annotations

import logging
import threading
import time as timer
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import AbstractContextManager, contextmanager, nullcontext
from datetime import timedelta
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError

from outreach.clock import Clock
from outreach.config import Settings
from outreach.monitoring.workers import new_worker_id
from outreach.outbox import claims
from outreach.sending import send
from outreach.sending.breaker import Breaker
from outreach.sending.outcome import ERRORS, LOST, RELEASED, DispatchReport, Outcome
from outreach.sending.prepare import Uncertain, prepare
from outreach.sending.ratelimit import Limiter
from outreach.sending.settle import Settler
from outreach.texts.render import Renderer
from outreach.transports import Outgoing, Transport

log = logging.getLogger("outreach.dispatcher")


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
        # Every SQLite transaction takes the database's one write lock at BEGIN (db/engine.py). A
        # send thread queued there waits in SQLite's busy handler, which sleeps in steps of
        # up to 100 ms and cut throughput by a third at 48 threads; queued on this lock it
        # wakes as soon as the transaction before it ends.
        self._one_at_a_time: AbstractContextManager[Any] = (
            threading.Lock() if engine.dialect.name == "sqlite" else nullcontext()
        )
        self.settler = Settler(self._transaction, settings, clock, transport, self.worker_id)

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
        running: set[Future[Outcome]] = set()
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
    ) -> Outcome:
        # Waiting in the queue (a slow provider) must not eat the lease the send needs.
        stale = timer.monotonic() - claimed_at > self.settings.lease_seconds / 2
        # The breaker reads as open while its probe is out, to hold every other send back;
        # the probe itself must go, or the provider is never tried again.
        paused = self.breaker.is_open and not probe
        try:
            if (stop is not None and stop.is_set()) or paused or stale:
                # Stopping, the provider is down, or the claim waited too long: hand it
                # back with its attempt unspent.
                outcome = RELEASED if self.release([reminder_id]) else LOST
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
            outcome = ERRORS
        self.breaker.probe_done()
        if self.on_outcome is not None:
            reason = None if outcome.reason is None else str(outcome.reason)
            self.on_outcome(str(outcome.kind), reason)
        return outcome

    def claim(self, limit: int) -> list[int]:
        now = self.clock.now()
        lease_until = now + timedelta(seconds=self.settings.lease_seconds)
        with self._transaction() as conn:
            return claims.claim(conn, limit, now, lease_until, self.worker_id)

    def release(self, reminder_ids: list[int]) -> int:
        """Give back claims we will not attempt (shutting down): nothing was sent for them."""
        with self._transaction() as conn:
            return claims.release(conn, reminder_ids, self.worker_id)

    def recover_expired(self) -> int:
        """Claims whose lease ran out belong to a worker that died. If its outbound row got a
        provider id the text went out; with no row nothing left; a row without an id is
        marked unknown, and the next attempt looks it up at the provider before sending."""
        now = self.clock.now()
        with self._transaction() as conn:
            stale = claims.stale(conn, now)
            recovered = sum(self.settler.recover(conn, rid, now) for rid in stale)
        return recovered

    def deliver(self, reminder_id: int) -> Outcome:
        prepared = self._prepare(reminder_id)
        if isinstance(prepared, Uncertain):
            settled = self.settler.reconcile(reminder_id, prepared)
            if settled is not None:
                return settled
            prepared = self._prepare(reminder_id)
        if isinstance(prepared, Outcome):
            return prepared
        assert isinstance(prepared, Outgoing)  # looked up once: not uncertain again
        if self.rate_limiter is not None:
            # The wait for a slot can be long when every worker shares one rate: look again
            # that the claim is still ours and the text still wanted (an opt-out, the
            # session's start or quiet hours may have come meanwhile).
            self.rate_limiter.acquire()
            unwanted = self.settler.recheck(reminder_id, prepared)
            if unwanted is not None:
                return unwanted
        result = send.attempt(self.transport, prepared)
        if isinstance(result, send.Taken) or result.error.permanent:
            self.breaker.succeeded()  # the provider answered: it is up
        else:
            self.breaker.failed()
        return self.settler.record(reminder_id, prepared, result)

    def _prepare(self, reminder_id: int) -> Outgoing | Uncertain | Outcome:
        now = self.clock.now()
        with self._transaction() as conn:
            return prepare(
                conn,
                self.settings,
                self.renderer,
                self.transport.name,
                reminder_id,
                self.worker_id,
                now,
            )
