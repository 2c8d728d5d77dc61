"""Prometheus metrics: what this process did (counters, histograms), and the clinic's
figures read from the database (gauges).

Every process keeps its own counts, as Prometheus expects: scrape each worker and each web
process, and sum in the query. Figures about the whole clinic (queue depth, open
escalations) are read from the database at scrape time instead (`ClinicCollector`), and
only the web app serves them: every web process gives the same figures, so alert on max().
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime

from prometheus_client import REGISTRY, Counter, Histogram, start_http_server
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from outreach.config import Settings
from outreach.monitoring import health

OUTCOMES = ("sent", "failed", "skipped", "deferred", "released", "lost", "errors")

reminders_total = Counter(
    "outreach_reminders_total",
    "Reminders this process attempted, by outcome (sent, failed, skipped, deferred, released, "
    "lost, errors) and, for failed and skipped ones, the reason.",
    ["outcome", "reason"],
)
ticks = Histogram(
    "outreach_tick_seconds",
    "How long one tick took (plan, send what is due, retry replies, page on-call).",
    buckets=(0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300),
)
webhook_seconds = Histogram(
    "outreach_webhook_seconds",
    "How long this process took to answer a Twilio webhook (sms: an inbound text, "
    "status: a delivery callback), refusals included.",
    ["webhook"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
replies_total = Counter(
    "outreach_inbound_replies_total",
    "Inbound texts this process took from Twilio's webhook, by outcome: processed, "
    "duplicate (a webhook retry of one already stored), unprocessed (stored, to be retried).",
    ["outcome"],
)


def record_outcome(outcome: str, reason: str | None) -> None:
    """One reminder's attempt ended: count it. Reasons are our own short codes (e.g.
    quiet_hours, provider_30006), never patient data."""
    reminders_total.labels(outcome=outcome, reason=reason or "").inc()


def observe_tick(seconds: float) -> None:
    ticks.observe(seconds)


def record_reply(outcome: str) -> None:
    replies_total.labels(outcome=outcome).inc()


def serve_own(port: int, host: str) -> None:
    """This process's own counters on http://host:port/metrics (workers have no web app)."""
    start_http_server(port, addr=host)


class ClinicCollector(Collector):
    """The clinic's figures from `health.snapshot`, read at most once per `max_age`
    seconds however many scrapers ask: a scrape never costs more than one read.
    If the database does not answer, outreach_database_up is 0 and the rest is left out."""

    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        now: Callable[[], datetime],
        max_age: float = 5.0,
    ) -> None:
        self._engine = engine
        self._settings = settings
        self._now = now
        self._max_age = max_age
        self._lock = threading.Lock()
        self._read_at = float("-inf")
        self._health: health.Health | None = None

    def current(self) -> health.Health | None:
        with self._lock:
            if time.monotonic() - self._read_at >= self._max_age:
                try:
                    self._health = health.snapshot(self._engine, self._settings, self._now())
                except SQLAlchemyError:
                    self._health = None
                self._read_at = time.monotonic()
            return self._health

    def collect(self) -> Iterator[Metric]:
        now = self.current()
        up = 0 if now is None else 1
        yield _gauge("outreach_database_up", "1 if the clinic's figures could be read.", up)
        if now is not None:
            yield from clinic_gauges(now)


def clinic_gauges(now: health.Health) -> Iterator[Metric]:
    yield _gauge(
        "outreach_reminders_due", "Pending reminders whose send time has come (the queue).", now.due
    )
    yield _gauge(
        "outreach_oldest_due_reminder_age_seconds",
        "How long the oldest due reminder has waited past its send time (0: none due).",
        now.oldest_due_seconds,
    )
    yield _gauge(
        "outreach_reminders_in_flight", "Reminders claimed by a worker right now.", now.in_flight
    )
    yield _gauge(
        "outreach_leases_expired",
        "Claims whose lease ran out and that no worker has recovered yet.",
        now.expired_leases,
    )
    yield _gauge(
        "outreach_reminders_retrying",
        "Pending reminders after a failed or deferred try, due again within the longest "
        "retry backoff.",
        now.retrying,
    )
    yield _gauge(
        "outreach_workers_seen",
        "Ticking processes (worker, run) that reported within the last 3 ticks and have "
        "not stopped.",
        now.workers_running,
    )
    yield _gauge(
        "outreach_replies_unprocessed",
        "Inbound texts stored but not interpreted yet.",
        now.unprocessed_replies,
    )
    yield _gauge(
        "outreach_inbox_open_conversations",
        "Patients' conversations in the inbox waiting for a person.",
        now.inbox_open,
    )
    yield _gauge(
        "outreach_oldest_inbox_conversation_age_seconds",
        "How long the latest text of the longest-waiting open conversation has waited (0: none).",
        now.oldest_inbox_seconds,
    )
    yield _gauge(
        "outreach_oldest_open_urgent_escalation_age_seconds",
        "How long the oldest unresolved urgent escalation has been open (0: none).",
        now.oldest_open_urgent_seconds,
    )
    yield _labelled(
        "outreach_escalations_open",
        "Unresolved escalations, by severity.",
        "severity",
        now.open_escalations.items(),
    )
    yield _labelled(
        "outreach_texts_last_hour",
        "Texts handed to the provider in the last hour, by their status now.",
        "status",
        sorted(now.texts_last_hour.items()),
    )

    yield from feed_gauges(now)


def feed_gauges(now: health.Health) -> Iterator[Metric]:
    """One series per feed (hl7, fhir) that has ever reported."""
    feeds = now.feeds
    yield _labelled(
        "outreach_feed_received",
        "Messages (HL7) or resources (FHIR) each feed has brought, ever.",
        "feed",
        [(f.feed, f.received) for f in feeds],
    )
    yield _labelled(
        "outreach_feed_errors",
        "Messages answered AE or AR, and failed syncs, by feed, ever.",
        "feed",
        [(f.feed, f.errors) for f in feeds],
    )
    yield _labelled(
        "outreach_feed_failing",
        "1 if the feed's newest event is an error (the feed is not working now).",
        "feed",
        [(f.feed, int(f.failing)) for f in feeds],
    )
    yield _labelled(
        "outreach_feed_last_received_age_seconds",
        "Seconds since the feed last brought something (feeds that never did are left out).",
        "feed",
        [(f.feed, _age(now.at, f.last_received_at)) for f in feeds if f.last_received_at],
    )
    yield _labelled(
        "outreach_feed_last_applied_age_seconds",
        "Seconds since the feed last worked: a message applied, a sync completed.",
        "feed",
        [(f.feed, _age(now.at, f.last_applied_at)) for f in feeds if f.last_applied_at],
    )
    yield _labelled(
        "outreach_feed_unmatched_appointments",
        "Appointments a feed sent for patients outreach does not know, waiting for enrolment.",
        "feed",
        [(f.feed, f.unmatched) for f in feeds],
    )
    yield _labelled(
        "outreach_feed_messages_stuck",
        "Messages stored raw more than a minute ago and never handled.",
        "feed",
        [(f.feed, f.stuck) for f in feeds],
    )


def _age(now: datetime, since: datetime | None) -> float:
    return 0.0 if since is None else max((now - since).total_seconds(), 0.0)


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=value)


def _labelled(
    name: str, documentation: str, label: str, values: Iterable[tuple[str, float]]
) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, documentation, labels=[label])
    for key, value in values:
        family.add_metric([key], value)
    return family


class Exposition:
    """What /metrics shows: this process's own metrics (the default registry) and the
    clinic's figures. The collector stays off the default registry, so building several
    apps in one process (tests, `outreach run`) never registers it twice."""

    def __init__(self, clinic: ClinicCollector) -> None:
        self._clinic = clinic

    def collect(self) -> Iterator[Metric]:
        yield from REGISTRY.collect()
        yield from self._clinic.collect()
