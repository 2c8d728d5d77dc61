"""Prometheus metrics: what this process did (counters, histograms).

Every process keeps its own counts, as Prometheus expects: scrape each worker and each web
process, and sum in the query. Figures about the whole clinic (queue depth, open
escalations) are read from the database at scrape time instead (see `health`).
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

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


def record_outcome(outcome: str, reason: str | None) -> None:
    """One reminder's attempt ended: count it. Reasons are our own short codes (e.g.
    quiet_hours, provider_30006), never patient data."""
    reminders_total.labels(outcome=outcome, reason=reason or "").inc()


def observe_tick(seconds: float) -> None:
    ticks.observe(seconds)
