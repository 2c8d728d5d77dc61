"""One FHIR sync: read the Appointments changed since the watermark and apply them.

Each page is one transaction: its appointments are applied (feeds/appointments.apply, each
in a savepoint so a wrong one is a counted error in words and the rest of the page still
goes in), feed health is recorded, and the watermark moves to the newest meta.lastUpdated
seen, all in one commit. A sync stopped by the server or the network leaves the watermark
where the last applied page put it, so the next run resumes there.

The search asks for `_lastUpdated=ge{watermark}`: inclusive, so the appointments changed at
the watermark's instant are read again, and apply finds them unchanged. A server that does
not sort by _lastUpdated (the parameter is optional in FHIR) is noticed: the watermark then
moves only when the whole search has been read.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from outreach.clock import Clock
from outreach.config import ConfigError, Settings
from outreach.feeds import health
from outreach.feeds.appointments import FeedAppointment, NotApplied, apply, settle
from outreach.feeds.fhir.client import FhirClient, Page
from outreach.feeds.fhir.errors import FhirError
from outreach.feeds.fhir.lock import sync_lock
from outreach.feeds.fhir.mapping import Skipped, to_feed
from outreach.rules.vocabulary import AppointmentSource, FeedOutcome

log = logging.getLogger("outreach.feeds.fhir")

FEED = AppointmentSource.FHIR
PROBLEMS_KEPT = 20  # resource errors listed in the report; all are logged and counted


@dataclass
class SyncReport:
    pages: int = 0
    appointments: int = 0
    applied: int = 0
    unmatched: int = 0
    unchanged: int = 0
    skipped: int = 0  # proposed or waitlisted in the EHR: not appointments yet
    errors: int = 0  # resources not applied (their words in `problems`)
    watermark: str | None = None  # where the next sync resumes
    stopped_by: str | None = None  # the error that stopped this sync, in words
    busy: bool = False  # another process was syncing: this one did nothing
    problems: list[str] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return self.stopped_by is not None


def run(
    engine: Engine,
    settings: Settings,
    clock: Clock,
    client: FhirClient | None = None,
    *,
    since: str | None = None,
    full: bool = False,
) -> SyncReport:
    """Sync once. `since` starts from that instant instead of the watermark; `full` reads
    every Appointment. Never raises for the server's or the content's faults: they are in
    the report (and feed health)."""
    with sync_lock(engine) as held:
        if not held:
            return SyncReport(busy=True)
        own = client is None
        try:
            if client is None:
                client = FhirClient.from_settings(settings)
        except (ConfigError, FhirError) as exc:  # a missing token, an unreadable key
            return _stopped(engine, clock, SyncReport(), _words(exc))
        try:
            return _run(engine, settings, clock, client, since, full)
        finally:
            if own:
                client.close()


def _run(
    engine: Engine,
    settings: Settings,
    clock: Clock,
    client: FhirClient,
    since: str | None,
    full: bool,
) -> SyncReport:
    report = SyncReport()
    if since is None and not full:
        with engine.connect() as conn:
            since = health.watermark(conn, FEED)
    report.watermark = since
    newest = parse_instant(since) if since else None
    in_order = True
    try:
        for page in client.pages(since):
            items, page_newest, page_in_order = _read(
                page, newest, settings.fhir_identifier_system, report
            )
            newest = page_newest
            in_order = in_order and page_in_order
            mark = format_instant(newest) if (in_order and newest is not None) else None
            _apply_page(engine, settings, clock, items, len(page.appointments), mark, report)
            report.pages += 1
            if mark is not None:
                report.watermark = mark
    except (FhirError, SQLAlchemyError) as exc:
        report.stopped_by = _words(exc)
    if report.stopped_by is None and not in_order and newest is not None:
        report.watermark = format_instant(newest)  # the whole search is read: now it may move
        with engine.begin() as conn:
            health.record(conn, FEED, clock.now(), watermark=report.watermark)
    if report.applied or report.pages:
        settle(engine, settings, clock.now())
    if report.stopped_by is not None:
        return _stopped(engine, clock, report, report.stopped_by)
    log.info(
        "FHIR sync: %d pages, %d appointments: %d applied, %d unmatched, %d unchanged, "
        "%d skipped, %d errors; resumes at %s",
        report.pages,
        report.appointments,
        report.applied,
        report.unmatched,
        report.unchanged,
        report.skipped,
        report.errors,
        report.watermark,
    )
    return report


def _read(
    page: Page, newest: datetime | None, system: str | None, report: SyncReport
) -> tuple[list[FeedAppointment | str], datetime | None, bool]:
    """The page's appointments as outreach applies them (or an error in words), the newest
    lastUpdated so far, and whether the page came in lastUpdated order after the last."""
    items: list[FeedAppointment | str] = list(page.invalid)
    in_order = True
    for appointment in page.appointments:
        updated = appointment.meta.lastUpdated if appointment.meta is not None else None
        if updated is not None:
            if newest is not None and updated < newest:
                in_order = False
            newest = updated if newest is None else max(newest, updated)
        try:
            mapped = to_feed(appointment, page.patients, system)
        except NotApplied as exc:
            items.append(str(exc))
            continue
        if isinstance(mapped, Skipped):
            report.skipped += 1
            log.info("Appointment/%s skipped: %s", mapped.ref, mapped.reason)
            continue
        items.append(mapped)
    report.appointments += len(page.appointments) + len(page.invalid)
    return items, newest, in_order


def _apply_page(
    engine: Engine,
    settings: Settings,
    clock: Clock,
    items: list[FeedAppointment | str],
    received: int,
    watermark: str | None,
    report: SyncReport,
) -> None:
    now = clock.now()
    problems: list[str] = []
    with engine.begin() as conn:
        applied = False
        for item in items:
            if isinstance(item, str):
                _problem(report, item)
                problems.append(item)
                continue
            try:
                done = apply(conn, settings, item, now)  # refuses before writing anything
            except NotApplied as exc:
                words = f"Appointment/{item.ref}: {exc}"
                _problem(report, words)
                problems.append(words)
                continue
            if done.outcome == FeedOutcome.APPLIED:
                report.applied += 1
                applied = True
            elif done.outcome == FeedOutcome.UNMATCHED:
                report.unmatched += 1
                applied = True
            else:
                report.unchanged += 1
        # Once, last: see feeds/health.py.
        health.record(
            conn,
            FEED,
            now,
            received=received,
            applied=applied,
            watermark=watermark,
            error=problems[-1] if problems else None,
            errors=len(problems),
        )


def _problem(report: SyncReport, words: str) -> None:
    report.errors += 1
    if len(report.problems) < PROBLEMS_KEPT:
        report.problems.append(words)
    log.warning("FHIR appointment not applied: %s", words)


def _stopped(engine: Engine, clock: Clock, report: SyncReport, words: str) -> SyncReport:
    report.stopped_by = words
    log.error("FHIR sync stopped: %s (resumes at %s)", words, report.watermark or "the start")
    try:
        with engine.begin() as conn:
            health.record(conn, FEED, clock.now(), error=f"sync stopped: {words}")
    except SQLAlchemyError as exc:
        log.warning("could not record the FHIR sync's failure: %s", type(exc).__name__)
    return report


def _words(exc: Exception) -> str:
    if isinstance(exc, SQLAlchemyError):
        # The statement's first line names the problem; its parameters may hold patients'.
        return f"database error: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
    return str(exc) or type(exc).__name__


def parse_instant(text: str) -> datetime:
    """An instant as the watermark or --since gives it: ISO 8601 with a zone, or a date
    (midnight UTC). ValueError in words otherwise."""
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), datetime.min.time(), UTC)
        when = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text!r} is not an ISO 8601 instant like 2026-12-01T09:00:00Z") from None
    if when.tzinfo is None:
        raise ValueError(f"{text!r} has no time zone: add Z or an offset like +01:00")
    return when.astimezone(UTC)


def format_instant(when: datetime) -> str:
    """UTC, to the millisecond, rounded down: a ge search from it misses nothing."""
    when = when.astimezone(UTC)
    millis = f".{when.microsecond // 1000:03d}" if when.microsecond else ""
    return when.strftime("%Y-%m-%dT%H:%M:%S") + millis + "Z"
