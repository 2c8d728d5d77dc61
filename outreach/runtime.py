"""The clock: APScheduler calls one plain function, `tick`, on an interval.

APScheduler 3 cannot share a job store between processes, so nothing is kept in it: every
process may tick, and correctness lives in the database (unique keys and claims).
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from types import FrameType

from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from outreach.clock import Clock
from outreach.config import Settings, check_twilio_ready, twilio_credentials
from outreach.feeds import appointments as feed_appointments
from outreach.monitoring import metrics, workers
from outreach.planning.planner import plan_due
from outreach.planning.report import PlanReport
from outreach.replies import inbound
from outreach.rules.replies.conversation import default_rules
from outreach.sending import oncall
from outreach.sending.dispatcher import Dispatcher
from outreach.sending.outcome import DispatchReport
from outreach.sending.ratelimit import SharedRateLimiter
from outreach.sessions import waitlist_slots
from outreach.staff import report
from outreach.texts.render import Renderer
from outreach.transports import Transport
from outreach.transports.console import ConsoleTransport

log = logging.getLogger("outreach.service")


@dataclass
class TickReport:
    plan: PlanReport
    dispatch: DispatchReport
    retried_replies: int


class Service:
    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        clock: Clock,
        transport: Transport,
        renderer: Renderer,
        worker_id: str | None = None,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.clock = clock
        self.transport = transport
        self.renderer = renderer
        default_rules(settings.templates_dir / "replies")  # a bad rule file stops the start
        # The console prints instantly and costs nothing: only a real provider is rate-held,
        # by every worker together (the slots live in the database).
        limiter = (
            SharedRateLimiter(engine, sender_key(settings), settings.send_rate)
            if transport.name != "console"
            else None
        )
        self.dispatcher = Dispatcher(
            engine,
            settings,
            clock,
            transport,
            renderer,
            worker_id,
            rate_limiter=limiter,
            concurrency=settings.send_concurrency,
            on_outcome=metrics.record_outcome,
        )
        self.worker_id = self.dispatcher.worker_id
        self._report_due = 0.0  # time.monotonic() of the next report refresh

    def _refresh_report(self) -> None:
        """Recount the report's stale days every few minutes (a month of them at most per
        tick, and the next month on the next tick), noting when, so report reads sum the
        stored days without recounting (staff/report/rollups.py)."""
        due = time.monotonic()
        if due < self._report_due:
            return
        behind = report.keep(self.engine, self.settings.clinic_zone, self.clock.now())
        self._report_due = due + (0 if behind else report.REFRESH_EVERY.total_seconds())

    def tick(self, stop: threading.Event | None = None) -> TickReport:
        """Plan what is new, send what is due, retry replies that failed to process."""
        # Appointments a feed kept for a clinic id that a patient now has (enrolled by CSV
        # or the form since) come in before planning, so they are planned in this tick.
        feed_appointments.adopt(self.engine, self.settings, self.clock.now())
        plan = plan_due(self.engine, self.settings, self.clock.now())
        # Waitlist offers are queued before the send, so they go out in this tick.
        waitlist_slots.offer_open_slots(self.engine, self.settings, self.clock.now())
        dispatch = self.dispatcher.run(stop)
        retried = inbound.process_pending(
            self.engine, self.settings, self.renderer, self.transport, self.clock.now()
        )
        oncall.notify_urgent(
            self.engine, self.settings, self.renderer, self.transport, self.clock.now()
        )
        self._refresh_report()
        if plan.reminders or dispatch.claimed or retried:
            log.info(
                "tick: planned %d reminders for %d plans; sent %d, skipped %d, deferred %d, "
                "failed %d, released %d; retried %d replies",
                plan.reminders,
                plan.plans,
                dispatch.sent,
                sum(dispatch.skipped.values()),
                dispatch.deferred,
                dispatch.failed,
                dispatch.released,
                retried,
            )
        return TickReport(plan, dispatch, retried)

    def sync_fhir(self) -> None:
        """One FHIR sync (the worker's job every fhir.interval_minutes, in a thread of its
        own: a server backing off must not hold up the sends). Never raises: the sync reports
        its own failures in words, to the log and the feed's health."""
        if not self.settings.fhir_base_url:
            return
        # Here, not at the top: the FHIR models are heavy, and most clinics have no EHR feed.
        from outreach.feeds.fhir import sync as fhir_sync

        try:
            report = fhir_sync.run(self.engine, self.settings, self.clock)
        except Exception:  # a bug: logged, and the next interval tries again
            log.exception("the FHIR sync failed")
            return
        if report.applied or report.unmatched or report.errors:
            log.info(
                "FHIR sync: %d applied, %d for patients not enrolled, %d not applied",
                report.applied,
                report.unmatched,
                report.errors,
            )


def sender_key(settings: Settings) -> str:
    """What the provider's rate applies to: the sending number or messaging service."""
    sender = settings.twilio_messaging_service_sid or settings.twilio_from_number or "default"
    return f"{settings.sms_provider}:{sender}"


@contextmanager
def stop_on_signals() -> Iterator[threading.Event]:
    """An event set by SIGINT or SIGTERM while the block runs; the old handlers come back."""
    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        log.info(
            "received %s: finishing what is in flight and stopping", signal.Signals(signum).name
        )
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def run_forever(
    service: Service,
    tick_seconds: int,
    web: Callable[[threading.Event], None] | None = None,
    role: str = "run",
) -> None:
    """Tick until SIGINT or SIGTERM, then finish the send in flight, give back any claimed
    reminder not yet attempted, and return. `web`, if given, serves until the same signal.
    The process reports itself in the workers table every tick (`outreach status`)."""
    workers.register(service.engine, service.worker_id, role, service.clock.now())
    with stop_on_signals() as stop:
        scheduler = BackgroundScheduler(timezone=UTC)
        scheduler.add_job(
            _safe_tick,
            "interval",
            seconds=tick_seconds,
            args=(service, stop),
            id="tick",
            max_instances=1,
            coalesce=True,
            next_run_time=datetime.now(UTC),
        )
        if service.settings.fhir_base_url:
            scheduler.add_job(
                service.sync_fhir,
                "interval",
                minutes=service.settings.fhir_interval_minutes,
                id="fhir",
                max_instances=1,
                coalesce=True,
                next_run_time=datetime.now(UTC),
            )
        scheduler.start()
        log.info("outreach is running: a tick every %d s (Ctrl-C to stop)", tick_seconds)
        try:
            if web is not None:
                web(stop)
            else:
                stop.wait()
        finally:
            stop.set()
            scheduler.shutdown(wait=True)
            try:
                workers.stopped(service.engine, service.worker_id, service.clock.now())
            except SQLAlchemyError as exc:
                log.warning("could not record the stop: %s", type(exc).__name__)
            log.info("stopped cleanly")


def _safe_tick(service: Service, stop: threading.Event) -> None:
    started = time.perf_counter()
    sent = 0
    error = None
    try:
        sent = service.tick(stop).dispatch.sent
    except SQLAlchemyError as exc:
        # A database blip must not kill the scheduler thread; the next tick tries again.
        # No traceback: the statement's text is enough, and its parameters are hidden.
        error = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
        log.error("tick failed (%s); retrying at the next interval", error)
    except Exception as exc:
        error = type(exc).__name__
        log.exception("tick failed; retrying at the next interval")
    seconds = time.perf_counter() - started
    metrics.observe_tick(seconds)
    try:
        workers.beat(
            service.engine, service.worker_id, service.clock.now(), seconds * 1000, sent, error
        )
    except SQLAlchemyError as exc:
        log.warning("could not report this worker's tick: %s", type(exc).__name__)


def make_transport(settings: Settings) -> Transport:
    """The configured provider; for Twilio, refuses to start without what it needs.
    Every command that starts a worker calls this first, so the reply rules are read here
    too: a worker must not start with a rule file it cannot read (RulesError names it)."""
    default_rules(settings.templates_dir / "replies")
    if settings.sms_provider == "console":
        return ConsoleTransport()
    check_twilio_ready(settings)
    from outreach.transports.twilio import TwilioTransport

    return TwilioTransport(settings, twilio_credentials())
