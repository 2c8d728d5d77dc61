"""Reminders sent per second through the real Twilio client, to a loopback fake Twilio.

    uv run python bench/dispatch.py                                  # our own overhead
    uv run python bench/dispatch.py --latency-ms 150 --concurrency 48
    uv run python bench/dispatch.py --rate 10 --messages 100         # the limiter's accuracy
    uv run python bench/dispatch.py --messages 200 --repeat 1 --json # a smoke run
    uv run python bench/dispatch.py --workers 1,2,4 --latency-ms 150 \
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test  # scaling out

Each run builds a fresh database (a temporary SQLite file, or a private schema that is
dropped afterwards on PostgreSQL) holding N consenting patients and one due foot check for
each, then, in a fresh child process, starts a FakeTwilio that answers every create after
--latency-ms and --workers worker processes, each with its own engine (a pool of
--pool-size connections), its own `Dispatcher` (worker id bench-0, bench-1, ...; --concurrency
send threads) and the real `twilio` client (`TwilioTransport`, requests underneath). The
workers wait at a barrier and start together; each runs `Dispatcher.run()` until nothing is
due, and the run's time is from the common start to the last finish. The clock is frozen at a
Monday 17:00 UTC, midday for every patient (US zones), so no quiet hours apply. Afterwards the
fake's record must hold exactly N messages, one per patient, each with the foot check's text,
and every reminder must be 'sent' with the fake's sid and attempts = 1 (a claim counts an
attempt, so 2 would mean it was claimed twice); anything else stops the benchmark. Who sent
what is read from `reminder.claimed_by`, which stays set after the send.

The fake runs in a process of its own, as Twilio would be remote: its thread per request
does not compete with ours for the GIL (in the measuring process it took 13 to 20% of the
CPU). "CPU per send (ours)" is the workers' alone; the fake's and, on PostgreSQL, that of
the workers' own server backends (read from /proc) are shown beside it, with how busy the
whole machine was, since workers, server and fake share its cores (and other people's work).

With several worker counts (--workers 1,2,4) the runs are interleaved (1, 2, 4, 1, 2, 4, ...)
so that a noisy stretch of the shared machine falls on every count alike, and the table shows
each count's median against one worker's: more workers must not be slower.

With --rate the sends go through the `RateLimiter` (one worker only: it is per process).
The measured rate is taken between the first and the last creation the fake recorded (a
count over the wall time would include one send more than intervals), and the most
creations in any half-open second [t, t+1) must not exceed the rate; the same count over
the limiter's own slots shows what our side of the network did. The machine is shared, so
each run is repeated --repeat times and the median is reported.
"""

from __future__ import annotations

import argparse
import bisect
import contextlib
import itertools
import json
import math
import multiprocessing
import resource
import subprocess
import sys
import threading
import time as timer
import traceback
from collections import Counter
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from multiprocessing.synchronize import Barrier
from typing import Any

from _common import (
    add_run_options,
    busy_share,
    cores,
    database_name,
    emit,
    fresh_database,
    insert_patients,
    machine_cpu,
    medians,
    phone,
    process_cpu_seconds,
    verdict,
)
from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine, event, func, insert, select

from outreach.clock import ManualClock
from outreach.config import Settings, TwilioCredentials
from outreach.db.engine import make_engine
from outreach.db.tables import outbound_messages, reminders
from outreach.rules.vocabulary import ReminderState
from outreach.sending.dispatcher import Dispatcher
from outreach.sending.ratelimit import RateLimiter
from outreach.testing import FakeTwilio
from outreach.texts.render import Renderer
from outreach.transports.twilio import TwilioTransport

# A Monday, 17:00 UTC: 12:00 in New York, 09:00 in Los Angeles. Nothing is in quiet hours.
NOW = datetime(2026, 11, 23, 17, 0, tzinfo=UTC)
ZONES = ("America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles")
FROM_NUMBER = "+16175550100"
CHUNK = 5000
OVERHEAD_PER_SECOND = 300.0  # with --latency-ms 0: what our own code costs
LATENT_PER_SECOND = 200.0  # with --latency-ms 150, one process
LATENT_MS = 150.0
RATE_TOLERANCE = 0.05
# Connections a worker may hold, and all the workers of a run together: the server allows
# 100 in all and is shared. A send holds one only for its short transactions, never across
# the provider's wait, so a pool smaller than the send threads is the normal case; but a
# worker's connection stays taken while its thread waits for the GIL mid-transaction, and 4
# workers of 48 threads sent 10-25% fewer texts a second with 6 connections each than with 12.
POOL_PER_WORKER = 12
CONNECTION_BUDGET = 48
STARTUP_SECONDS = 120  # hang protection: a worker that cannot even start
FIGURES = (
    "seconds",
    "per_second",
    "cpu_ms_per_message",
    "database_cpu_ms_per_message",
    "fake_cpu_ms_per_message",
    "machine_busy",
    "claims",
    "claim_ms",
    "start_spread_ms",
    "finish_spread_ms",
    "preempted_per_message",
    "measured_rate",
    "max_in_any_second",
    "client_max_in_any_second",
    "setup_seconds",
)


def main() -> None:
    args = parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure, args)))
        return
    progress = Console(stderr=True)
    runs: dict[int, list[dict[str, Any]]] = {workers: [] for workers in args.workers}
    # Interleaved, so that a noisy stretch of the shared machine falls on every count alike.
    for number, workers in itertools.product(range(1, args.repeat + 1), args.workers):
        label = f"run {number}/{args.repeat}, {plural(workers, 'worker')}"
        with fresh_database(args.database_url) as url:
            progress.print(f"{label}: {args.messages} due reminders")
            setup_seconds = populate(url, args.messages)
            progress.print(f"{label}: sending")
            run = measure_in_child(url, args, workers)
            run["setup_seconds"] = setup_seconds
            runs[workers].append(run)
    summaries = [summarise(runs[workers], args, workers) for workers in args.workers]
    if len(summaries) == 1:
        emit(summaries[0], args.json, print_table)
    else:
        emit(scaling(summaries, args), args.json, print_scaling)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=2000, help="default 2000")
    parser.add_argument(
        "--latency-ms", type=float, default=0, help="the fake's delay per create; default 0"
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        default=48,
        help="sends in flight at once, per worker; default 48",
    )
    parser.add_argument("--rate", type=float, help="messages per second; default: no limit")
    parser.add_argument(
        "--workers",
        type=worker_counts,
        default=[1],
        help="worker processes sharing the database, or several counts to compare "
        "(1,2,4); default 1",
    )
    parser.add_argument(
        "--pool-size",
        type=int,
        help="database connections per worker; default: the send threads plus one, at most "
        f"{POOL_PER_WORKER}, and {CONNECTION_BUDGET} for all the workers together",
    )
    add_run_options(parser)
    parser.add_argument("--measure", metavar="URL", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.messages < 1 or args.repeat < 1 or args.concurrency < 1:
        parser.error("--messages, --repeat and --concurrency must be at least 1")
    if args.latency_ms < 0 or (args.rate is not None and args.rate <= 0):
        parser.error("--latency-ms must be 0 or more, --rate above 0")
    if args.rate is not None and args.workers != [1]:
        parser.error("--rate measures one process's limiter: use it with one worker")
    if args.pool_size is not None and args.pool_size < 1:
        parser.error(f"--pool-size must be at least 1, got {args.pool_size}")
    return args


def worker_counts(text: str) -> list[int]:
    """ "4" -> [4]; "1,2,4" -> [1, 2, 4]."""
    try:
        counts = sorted({int(part) for part in text.split(",")})
    except ValueError:
        counts = []
    if not counts or counts[0] < 1:
        raise argparse.ArgumentTypeError(f"must look like 4 or 1,2,4, got {text!r}")
    return counts


def pool_size(args: argparse.Namespace, workers: int) -> int:
    """Connections per worker: one per send thread and one for the claim, within the budget
    all the workers share."""
    if args.pool_size is not None:
        return int(args.pool_size)
    return max(2, min(int(args.concurrency) + 1, POOL_PER_WORKER, CONNECTION_BUDGET // workers))


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def populate(url: str, count: int) -> float:
    """N consenting patients and a foot check each, due ten minutes ago."""
    started = timer.perf_counter()
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            insert_patients(conn, count, ZONES, NOW)
            for first in range(1, count + 1, CHUNK):
                ids = range(first, min(first + CHUNK, count + 1))
                conn.execute(insert(reminders), [foot_check(n) for n in ids])
    finally:
        engine.dispose()
    return timer.perf_counter() - started


def foot_check(patient_id: int) -> dict[str, Any]:
    return {
        "patient_id": patient_id,
        "kind": "foot_check",
        "occurrence": "2026-11-23",
        "send_at": NOW - timedelta(minutes=10),
        "expires_at": NOW + timedelta(hours=6),
        "state": ReminderState.PENDING,
        "attempts": 0,
        "plan_version": 1,
        "created_at": NOW,
        "updated_at": NOW,
    }


def measure_in_child(url: str, args: argparse.Namespace, workers: int) -> dict[str, Any]:
    command = [
        sys.executable,
        __file__,
        "--measure",
        url,
        "--messages",
        str(args.messages),
        "--latency-ms",
        str(args.latency_ms),
        "--concurrency",
        str(args.concurrency),
        "--workers",
        str(workers),
        "--pool-size",
        str(pool_size(args, workers)),
    ]
    if args.rate is not None:
        command += ["--rate", str(args.rate)]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"the measuring process failed:\n{done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout)
    return result


class RecordingLimiter(RateLimiter):
    """The real limiter, noting each slot it hands out (on the monotonic clock)."""

    def __init__(self, per_second: float) -> None:
        super().__init__(per_second)
        self.slots: list[float] = []

    def acquire(self) -> float:
        slot = super().acquire()
        self.slots.append(slot)  # list.append is atomic under the GIL
        return slot


class TimedDispatcher(Dispatcher):
    """The real dispatcher, timing its claim statements: were the claim the bottleneck
    (workers queueing on each other's row locks, or a slow scan), it would show here."""

    claims = 0
    claim_seconds = 0.0

    def claim(self, limit: int) -> list[int]:
        # Only run()'s own thread claims, so the counts need no lock.
        started = timer.perf_counter()
        try:
            return super().claim(limit)
        finally:
            self.claims += 1
            self.claim_seconds += timer.perf_counter() - started


@dataclass(frozen=True)
class Sent:
    """One message as the fake recorded it."""

    sid: str
    to: str
    body: str
    created: float  # a POSIX timestamp


@dataclass(frozen=True)
class Twilio:
    """Where the fake listens, and the credentials it accepts."""

    base_url: str
    account_sid: str
    auth_token: str


def run_fake(pipe: Connection, latency_ms: float) -> None:
    """The fake Twilio in a process of its own, as Twilio would be: its threads do not take
    the GIL from ours. Sends its address, waits for a word, stops, and sends its record and
    the CPU seconds it used."""
    with FakeTwilio(latency_ms=latency_ms) as fake:
        pipe.send(Twilio(fake.base_url, fake.account_sid, fake.auth_token))
        pipe.recv()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    record = [Sent(m.sid, m.to, m.body, m.created_at.timestamp()) for m in fake.messages]
    pipe.send((record, usage.ru_utime + usage.ru_stime))


def measure(url: str, args: argparse.Namespace) -> dict[str, Any]:
    """The timed part, in a fresh process: the fake and the workers in processes of their
    own, forked before this one starts a thread or opens a connection (safe, and quicker than
    fresh interpreters that import everything again)."""
    count = args.messages
    workers = args.workers[0]
    processes = multiprocessing.get_context("fork")
    fake_pipe, far_end = processes.Pipe()
    fake = processes.Process(target=run_fake, args=(far_end, args.latency_ms), name="fake-twilio")
    fake.start()
    far_end.close()
    crew: list[tuple[BaseProcess, Connection]] = []
    sent: list[Sent] | None = None
    try:
        twilio: Twilio = fake_pipe.recv()
        body = expected_body(twilio)
        warm_twilio_client(twilio)
        start_line = processes.Barrier(workers + 1)
        for index in range(workers):
            ours, theirs = processes.Pipe()
            worker = processes.Process(
                target=run_worker,
                args=(theirs, start_line, url, twilio, index, args),
                name=f"bench-{index}",
            )
            worker.start()
            theirs.close()
            crew.append((worker, ours))
        machine_before = machine_cpu()
        # A worker that cannot start breaks the barrier, and says why below.
        with contextlib.suppress(threading.BrokenBarrierError):
            start_line.wait(timeout=STARTUP_SECONDS)
        results = [collect(pipe, index) for index, (_, pipe) in enumerate(crew)]
        machine_after = machine_cpu()
        fake_pipe.send("stop")
        sent, fake_cpu = fake_pipe.recv()
    finally:
        for process, _ in crew:
            stop(process, 30)
        stop(fake, 30 if sent is not None else 0)
    failures = [result["error"] for result in results if "error" in result]
    if failures:
        raise SystemExit("\n".join(failures))
    engine = make_engine(url, pool_size=1, max_overflow=0)
    try:
        checked = verify(engine, count, results, sent, body)
    finally:
        engine.dispose()
    result = figures(count, results, checked, fake_cpu, busy_share(machine_before, machine_after))
    result.update(
        latency_ms=args.latency_ms,
        concurrency=args.concurrency,
        rate=args.rate,
        workers=workers,
        pool_size=args.pool_size,
    )
    if args.rate:
        result.update(rate_figures(sent, results[0]["slots"]))
    return result


def collect(pipe: Connection, index: int) -> dict[str, Any]:
    """A worker's figures, or its error; a worker that died without a word is one too."""
    try:
        result: dict[str, Any] = pipe.recv()
    except EOFError:
        result = {"error": f"worker bench-{index} died without a report"}
    return result


def stop(process: BaseProcess, grace: float) -> None:
    process.join(timeout=grace)
    if process.is_alive():
        process.kill()
        process.join()


def run_worker(
    pipe: Connection,
    start_line: Barrier,
    url: str,
    twilio: Twilio,
    index: int,
    args: argparse.Namespace,
) -> None:
    """One worker process: its figures, or why it failed, go back through the pipe."""
    try:
        pipe.send(work(start_line, url, twilio, index, args))
    except BaseException:
        start_line.abort()  # the others would otherwise wait at the start for nothing
        pipe.send({"error": f"worker bench-{index} failed:\n{traceback.format_exc()}"})


def work(
    start_line: Barrier, url: str, twilio: Twilio, index: int, args: argparse.Namespace
) -> dict[str, Any]:
    """Set up as `outreach worker` would, wait for the others, send everything due."""
    engine = make_engine(
        url,
        application_name=f"bench dispatch bench-{index}",
        pool_size=args.pool_size,
        max_overflow=0,
    )
    backends = backend_pids(engine)
    limiter = RecordingLimiter(args.rate) if args.rate else None
    try:
        settings = bench_settings(twilio, args.concurrency)
        dispatcher = TimedDispatcher(
            engine,
            settings,
            ManualClock(NOW),
            TwilioTransport(settings, TwilioCredentials(twilio.account_sid, twilio.auth_token)),
            Renderer(settings.templates_dir, settings),
            worker_id=f"bench-{index}",
            rate_limiter=limiter,
            concurrency=args.concurrency,
        )
        start_line.wait(timeout=STARTUP_SECONDS)
        cpu_before = resource.getrusage(resource.RUSAGE_SELF)
        started = timer.monotonic()  # CLOCK_MONOTONIC: one clock for every process
        report = dispatcher.run()
        finished = timer.monotonic()
        cpu_after = resource.getrusage(resource.RUSAGE_SELF)
        # Read before the pool closes them: the backends' CPU dies with them.
        database_cpu = [process_cpu_seconds(pid) for pid in backends]
    finally:
        engine.dispose()
    return {
        "worker_id": dispatcher.worker_id,
        "started": started,
        "finished": finished,
        "cpu_seconds": (cpu_after.ru_utime - cpu_before.ru_utime)
        + (cpu_after.ru_stime - cpu_before.ru_stime),
        # Taken off the CPU while still wanting it: the cores were full.
        "preempted": cpu_after.ru_nivcsw - cpu_before.ru_nivcsw,
        "database_cpu_seconds": sum(cpu or 0.0 for cpu in database_cpu) if backends else None,
        "connections": len(backends),
        "sent": report.sent,
        "claimed": report.claimed,
        "lost": report.lost,
        "errors": report.errors,
        "claims": dispatcher.claims,
        "claim_seconds": dispatcher.claim_seconds,
        "slots": limiter.slots if limiter else None,
    }


def bench_settings(twilio: Twilio, concurrency: int) -> Settings:
    return replace(
        Settings(),
        send_concurrency=concurrency,
        twilio_api_base_url=twilio.base_url,
        twilio_from_number=FROM_NUMBER,
        # Status callbacks go nowhere: the fake posts them only when asked to.
        public_base_url="http://127.0.0.1:9",
    )


def expected_body(twilio: Twilio) -> str:
    settings = bench_settings(twilio, 1)
    renderer = Renderer(settings.templates_dir, settings)
    return renderer.render("foot_check", "en", patient={"first_name": "Ana"}).body


def warm_twilio_client(twilio: Twilio) -> None:
    """Import the twilio client's API modules here, before the fork, once for all the
    workers: it loads them on first use, and with PYTHONDONTWRITEBYTECODE (set on this
    machine) compiling them from source took each worker seconds of CPU before the start."""
    settings = bench_settings(twilio, 1)
    credentials = TwilioCredentials(twilio.account_sid, twilio.auth_token)
    client = TwilioTransport(settings, credentials).client
    _ = client.messages  # what a send touches first, importing the account API


def backend_pids(engine: Engine) -> list[int]:
    """The server process behind each connection this engine opens (PostgreSQL only; the
    list fills as the pool connects), so that their CPU can be read from /proc afterwards."""
    pids: list[int] = []
    if engine.dialect.name == "postgresql":

        @event.listens_for(engine, "connect")
        def _note_backend(dbapi_connection: Any, _record: Any) -> None:
            pids.append(dbapi_connection.info.backend_pid)

    return pids


def figures(
    count: int,
    results: list[dict[str, Any]],
    checked: dict[str, Any],
    fake_cpu: float,
    machine_busy: float | None,
) -> dict[str, Any]:
    """One run's figures from its workers' reports: the time from the common start to the
    last finish, CPU per send by whom, and the claims."""
    started = [r["started"] for r in results]
    finished = [r["finished"] for r in results]
    seconds = max(finished) - min(started)
    claims = sum(r["claims"] for r in results)
    database_cpu = [r["database_cpu_seconds"] for r in results]
    return {
        "messages": count,
        "seconds": seconds,
        "per_second": count / seconds,
        "cpu_ms_per_message": sum(r["cpu_seconds"] for r in results) * 1000 / count,
        "database_cpu_ms_per_message": None
        if None in database_cpu
        else sum(database_cpu) * 1000 / count,
        "fake_cpu_ms_per_message": fake_cpu * 1000 / count,
        "machine_busy": None if machine_busy is None else machine_busy * 100,
        "claims": claims,
        "claim_ms": sum(r["claim_seconds"] for r in results) * 1000 / claims,
        # How together the barrier let them start, and how unevenly they ran out of work.
        "start_spread_ms": (max(started) - min(started)) * 1000,
        "finish_spread_ms": (max(finished) - min(finished)) * 1000,
        "sent_by_worker": checked["sent_by_worker"],
        "claimed_twice": checked["claimed_twice"],
        "connections": sum(r["connections"] for r in results),
        "preempted_per_message": sum(r["preempted"] for r in results) / count,
    }


def rate_figures(sent: list[Sent], slots: list[float]) -> dict[str, Any]:
    created = sorted(m.created for m in sent)
    span = created[-1] - created[0]
    return {
        "measured_rate": (len(created) - 1) / span if span > 0 else None,
        "max_in_any_second": max_in_any_second(created),
        "client_max_in_any_second": max_in_any_second(sorted(slots)),
        "min_gap_ms": min(b - a for a, b in itertools.pairwise(created)) * 1000,
    }


def verify(
    engine: Engine,
    count: int,
    results: list[dict[str, Any]],
    sent: list[Sent],
    expected_body: str,
) -> dict[str, Any]:
    """Exactly one message per patient at the fake, the foot check's text, every reminder
    'sent' with the sid the fake gave it, claimed once (attempts = 1), and by a worker whose
    own count agrees. Raises SystemExit otherwise; returns who sent how many."""
    problems = []
    reported = {r["worker_id"]: r["sent"] for r in results}
    if sum(reported.values()) != count:
        problems.append(f"the workers reported {sum(reported.values())} sent, not {count}")
    if len(sent) != count:
        problems.append(f"the fake recorded {len(sent)} messages, not {count}")
    per_number = Counter(m.to for m in sent)
    if set(per_number) != {phone(n) for n in range(count)} or max(per_number.values()) != 1:
        twice = sum(1 for c in per_number.values() if c > 1)
        problems.append(f"{len(per_number)} numbers texted, {twice} of them more than once")
    bodies = Counter(m.body for m in sent)
    if set(bodies) != {expected_body}:
        problems.append(f"unexpected texts: {sorted(set(bodies) - {expected_body})[:3]}")
    with engine.begin() as conn:
        states = counts(conn, reminders.c.state)
        attempts = counts(conn, reminders.c.attempts)
        sent_by = counts(conn, reminders.c.claimed_by)
        sids = set(
            conn.execute(
                select(outbound_messages.c.provider_sid).where(
                    outbound_messages.c.provider_sid.is_not(None)
                )
            ).scalars()
        )
    if states != {ReminderState.SENT: count}:
        problems.append(f"reminder states: {states}")
    if sids != {m.sid for m in sent}:
        problems.append(f"{len(sids)} sids stored, not the fake's {len(sent)}")
    claimed_twice = sum(n for tries, n in attempts.items() if tries != 1)
    if claimed_twice:
        problems.append(f"attempts per reminder: {attempts} (a claim counts one)")
    if sent_by != {worker: n for worker, n in reported.items() if n}:
        problems.append(f"sent by claimed_by: {sent_by}; the workers reported {reported}")
    if problems:
        raise SystemExit("verification failed: " + "; ".join(problems))
    return {
        "sent_by_worker": [sent_by.get(r["worker_id"], 0) for r in results],
        "claimed_twice": claimed_twice,
    }


def counts(conn: Any, column: Any) -> dict[Any, int]:
    """How many reminders hold each value of `column`."""
    return dict(conn.execute(select(column, func.count()).group_by(column)).tuples().all())


def max_in_any_second(times: list[float]) -> int:
    """The most instants in any half-open window [t, t + 1). Strict spacing of 1/rate puts
    rate + 1 instants in a closed one, both ends included, and still rate in this one. The
    busiest window can be taken to start at an instant, so each one is tried."""
    return max(
        (bisect.bisect_left(times, start + 1.0, lo=i) - i for i, start in enumerate(times)),
        default=0,
    )


def summarise(runs: list[dict[str, Any]], args: argparse.Namespace, workers: int) -> dict[str, Any]:
    summary: dict[str, Any] = {
        "database": database_name(args.database_url),
        "cores": cores(),
        "repeat": len(runs),
        "messages": args.messages,
        "latency_ms": args.latency_ms,
        "concurrency": args.concurrency,
        "rate": args.rate,
        "workers": workers,
        "pool_size": pool_size(args, workers),
        **medians(runs, FIGURES),
    }
    # The median run's split of the work between the workers.
    middle = sorted(runs, key=lambda run: run["per_second"])[(len(runs) - 1) // 2]
    summary["sent_by_worker"] = middle["sent_by_worker"]
    summary["claimed_twice"] = sum(run["claimed_twice"] for run in runs)
    # Ideal: every send waits latency_ms and nothing else.
    if args.latency_ms:
        ideal = workers * args.concurrency * 1000 / args.latency_ms
        summary["ideal_per_second"] = round(ideal, 1)
    summary["targets"] = targets(summary, args) if workers == 1 else {}
    summary["passed"] = {name: t["passed"] for name, t in summary["targets"].items()}
    summary["runs"] = runs
    return summary


def targets(summary: dict[str, Any], args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    """The targets that apply to this configuration with one worker, judged on the medians,
    except the never-above ones, judged on the worst run."""
    found: dict[str, dict[str, Any]] = {}
    if args.rate:
        low = args.rate * (1 - RATE_TOLERANCE)
        found["measured_rate"] = {
            "target": f"{low:g}-{args.rate:g} /s",
            "passed": summary["measured_rate_min"] >= low
            and summary["measured_rate_max"] <= args.rate,
        }
        found["max_in_any_second"] = {
            "target": f"<= {math.floor(args.rate)}, worst run",
            "passed": summary["max_in_any_second_max"] <= math.floor(args.rate),
        }
        found["client_max_in_any_second"] = {
            "target": f"<= {math.floor(args.rate)}, worst run",
            "passed": summary["client_max_in_any_second_max"] <= math.floor(args.rate),
        }
    elif args.latency_ms == 0:
        found["per_second"] = {
            "target": f">= {OVERHEAD_PER_SECOND:.0f} /s",
            "passed": summary["per_second"] >= OVERHEAD_PER_SECOND,
        }
    elif args.latency_ms == LATENT_MS:
        reachable = args.concurrency * 1000 / LATENT_MS >= LATENT_PER_SECOND
        # Below 30 threads not even sends that cost nothing but the wait could reach it.
        found["per_second"] = {
            "target": f">= {LATENT_PER_SECOND:.0f} /s",
            "passed": summary["per_second"] >= LATENT_PER_SECOND if reachable else None,
        }
    return found


def scaling(summaries: list[dict[str, Any]], args: argparse.Namespace) -> dict[str, Any]:
    """Each worker count's medians, and the speed-up over the fewest workers: more workers
    must not be slower (the claim must not become the bottleneck), and no reminder may be
    claimed twice."""
    fewest, most = summaries[0], summaries[-1]
    for summary in summaries:
        summary["speedup"] = round(summary["per_second"] / fewest["per_second"], 2)
    found = {
        "not_slower": {
            "target": f"{plural(most['workers'], 'worker')} >= {fewest['workers']}",
            "passed": most["per_second"] >= fewest["per_second"],
        },
        "claimed_twice": {
            "target": "0, every run",
            "passed": all(summary["claimed_twice"] == 0 for summary in summaries),
        },
    }
    return {
        "database": database_name(args.database_url),
        "cores": cores(),
        "repeat": args.repeat,
        "messages": args.messages,
        "latency_ms": args.latency_ms,
        "concurrency": args.concurrency,
        "workers": args.workers,
        "by_workers": summaries,
        "targets": found,
        "passed": {name: t["passed"] for name, t in found.items()},
    }


def print_table(summary: dict[str, Any]) -> None:
    setting = f"latency {summary['latency_ms']:g} ms, concurrency {summary['concurrency']}"
    if summary["rate"]:
        setting += f", rate {summary['rate']:g}/s"
    if summary["workers"] > 1:
        setting += f", {summary['workers']} workers"
    table = Table(
        title=f"dispatch: {summary['messages']:,} reminders through the Twilio client to a "
        f"loopback fake ({setting}) on {summary['database']}, {summary['cores']} cores, "
        f"median of {summary['repeat']}"
    )
    for column in ("figure", "median", "min", "max", "target", ""):
        table.add_column(column, justify="left" if column == "figure" else "right")
    units = {
        "per_second": ("sent per second", "{:,.1f}"),
        "seconds": ("Dispatcher.run()", "{:.2f} s"),
        "cpu_ms_per_message": ("CPU per send (ours)", "{:.2f} ms"),
        "database_cpu_ms_per_message": ("CPU per send (PostgreSQL)", "{:.2f} ms"),
        "fake_cpu_ms_per_message": ("CPU per send (the fake)", "{:.2f} ms"),
        "machine_busy": ("machine CPU busy", "{:.0f}%"),
        "claim_ms": ("a claim statement", "{:.1f} ms"),
        "measured_rate": ("rate at the fake", "{:.3f} /s"),
        "max_in_any_second": ("most in a second, fake", "{:.0f}"),
        "client_max_in_any_second": ("most in a second, slots", "{:.0f}"),
        "setup_seconds": ("setup, not timed", "{:.2f} s"),
    }
    found = summary["targets"]
    for name, (label, fmt) in units.items():
        if summary[name] is None:
            continue
        target = found.get(name)
        table.add_row(
            label,
            fmt.format(summary[name]),
            fmt.format(summary[f"{name}_min"]),
            fmt.format(summary[f"{name}_max"]),
            target["target"] if target else "",
            verdict(target["passed"]) if target else "",
        )
    if summary["workers"] > 1:
        table.add_row("  sent by each worker", " / ".join(map(str, summary["sent_by_worker"])))
    if "ideal_per_second" in summary:
        table.add_row("  concurrency / latency", f"{summary['ideal_per_second']:,.1f}")
    Console().print(table)


def print_scaling(scaled: dict[str, Any]) -> None:
    table = Table(
        title=f"dispatch scaling: {scaled['messages']:,} reminders, latency "
        f"{scaled['latency_ms']:g} ms, {scaled['concurrency']} send threads a worker, on "
        f"{scaled['database']}, {scaled['cores']} cores, median of {scaled['repeat']}",
        caption="CPU per send by the workers / their PostgreSQL backends / the fake. Every "
        "run verified: one text per patient at the fake, every reminder sent with attempts = 1.",
    )
    columns = (
        "workers",
        "sent/s (min-max)",
        "speed-up",
        "seconds",
        "CPU ms a send",
        "machine busy",
        "claims, ms each",
        "sent by each (median run)",
        "pool",
    )
    for column in columns:
        table.add_column(column, justify="right")
    for summary in scaled["by_workers"]:
        cpu = [summary["cpu_ms_per_message"], summary["database_cpu_ms_per_message"]]
        cpu.append(summary["fake_cpu_ms_per_message"])
        table.add_row(
            str(summary["workers"]),
            f"{summary['per_second']:,.1f} ({summary['per_second_min']:,.1f}-"
            f"{summary['per_second_max']:,.1f})",
            f"{summary['speedup']:.2f}x",
            f"{summary['seconds']:.2f}",
            " / ".join("-" if ms is None else f"{ms:.2f}" for ms in cpu),
            "-" if summary["machine_busy"] is None else f"{summary['machine_busy']:.0f}%",
            f"{summary['claims']:.0f}, {summary['claim_ms']:.1f}",
            " / ".join(map(str, summary["sent_by_worker"])),
            str(summary["pool_size"]),
        )
    # Nine columns squeezed into a pipe's default 80 would wrap every figure.
    console = Console(width=max(Console().width, 150))
    console.print(table)
    for name, target in scaled["targets"].items():
        console.print(f"{name}: {target['target']}: {verdict(target['passed'])}")


if __name__ == "__main__":
    main()
