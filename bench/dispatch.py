"""Reminders sent per second through the real Twilio client, to a loopback fake Twilio.

    uv run python bench/dispatch.py                                  # our own overhead
    uv run python bench/dispatch.py --latency-ms 150 --concurrency 48
    uv run python bench/dispatch.py --rate 10 --messages 100         # the limiter's accuracy
    uv run python bench/dispatch.py --messages 200 --repeat 1 --json # a smoke run

Each run builds a fresh database (a temporary SQLite file, or a private schema that is
dropped afterwards on PostgreSQL) holding N consenting patients and one due foot check for
each, then, in a fresh child process, starts a FakeTwilio that answers every create after
--latency-ms and times one `Dispatcher.run()` sending all N through `TwilioTransport`
(the real `twilio` client, requests underneath). The clock is frozen at a Monday 17:00 UTC,
midday for every patient (US zones), so no quiet hours apply. Afterwards the fake's record
must hold exactly N messages, one per patient, each with the foot check's text, and every
reminder must be 'sent' with the fake's sid; anything else stops the benchmark.

The fake runs in a process of its own, as Twilio would be remote: its thread per request
does not compete with ours for the GIL (in the measuring process it took 13 to 20% of the
CPU). "CPU per send" is the measuring process's alone.

With --rate the sends go through the `RateLimiter`. The measured rate is taken between the
first and the last creation the fake recorded (a count over the wall time would include
one send more than intervals), and the most creations in any half-open second [t, t+1)
must not exceed the rate; the same count over the limiter's own slots shows what our side
of the network did. The machine is shared, so each run is repeated --repeat times and the
median is reported.
"""

from __future__ import annotations

import argparse
import bisect
import itertools
import json
import math
import multiprocessing
import resource
import subprocess
import sys
import time as timer
from collections import Counter
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from typing import Any

from _common import (
    add_run_options,
    cores,
    database_name,
    emit,
    fresh_database,
    insert_patients,
    medians,
    phone,
    verdict,
)
from rich.console import Console
from rich.table import Table
from sqlalchemy import func, insert, select

from outreach.clock import ManualClock
from outreach.config import Settings, TwilioCredentials
from outreach.db import make_engine
from outreach.dispatcher import Dispatcher
from outreach.models import ReminderState, outbound_messages, reminders
from outreach.ratelimit import RateLimiter
from outreach.render import Renderer
from outreach.testing import FakeTwilio
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
FIGURES = (
    "seconds",
    "per_second",
    "cpu_ms_per_message",
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
    runs = []
    for number in range(1, args.repeat + 1):
        with fresh_database(args.database_url) as url:
            progress.print(f"run {number}/{args.repeat}: {args.messages} due reminders")
            setup_seconds = populate(url, args.messages)
            progress.print(f"run {number}/{args.repeat}: sending")
            run = measure_in_child(url, args)
            run["setup_seconds"] = setup_seconds
            runs.append(run)
    summary = summarise(runs, args)
    emit(summary, args.json, print_table)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=2000, help="default 2000")
    parser.add_argument(
        "--latency-ms", type=float, default=0, help="the fake's delay per create; default 0"
    )
    parser.add_argument(
        "--concurrency", type=int, default=48, help="sends in flight at once; default 48"
    )
    parser.add_argument("--rate", type=float, help="messages per second; default: no limit")
    add_run_options(parser)
    parser.add_argument("--measure", metavar="URL", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.messages < 1 or args.repeat < 1 or args.concurrency < 1:
        parser.error("--messages, --repeat and --concurrency must be at least 1")
    if args.latency_ms < 0 or (args.rate is not None and args.rate <= 0):
        parser.error("--latency-ms must be 0 or more, --rate above 0")
    return args


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


def measure_in_child(url: str, args: argparse.Namespace) -> dict[str, Any]:
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


@dataclass(frozen=True)
class Sent:
    """One message as the fake recorded it."""

    sid: str
    to: str
    body: str
    created: float  # a POSIX timestamp


def run_fake(pipe: Connection, latency_ms: float) -> None:
    """The fake Twilio in a process of its own, as Twilio would be: its threads do not take
    the GIL from ours. Sends its address, waits for a word, stops, and sends its record."""
    with FakeTwilio(latency_ms=latency_ms) as fake:
        pipe.send((fake.base_url, fake.account_sid, fake.auth_token))
        pipe.recv()
    pipe.send([Sent(m.sid, m.to, m.body, m.created_at.timestamp()) for m in fake.messages])


def measure(url: str, args: argparse.Namespace) -> dict[str, Any]:
    """The timed part, in a fresh process: one Dispatcher.run() sending every reminder."""
    count = args.messages
    # Forked before this process starts a thread or opens a connection: safe, and quicker
    # than spawning a fresh interpreter that imports everything again.
    processes = multiprocessing.get_context("fork")
    pipe, far_end = processes.Pipe()
    fake = processes.Process(target=run_fake, args=(far_end, args.latency_ms), name="fake-twilio")
    fake.start()
    engine = make_engine(url)
    limiter = RecordingLimiter(args.rate) if args.rate else None
    try:
        base_url, account_sid, auth_token = pipe.recv()
        settings = replace(
            Settings(),
            send_concurrency=args.concurrency,
            twilio_api_base_url=base_url,
            twilio_from_number=FROM_NUMBER,
            # Status callbacks go nowhere: the fake posts them only when asked to.
            public_base_url="http://127.0.0.1:9",
        )
        transport = TwilioTransport(settings, TwilioCredentials(account_sid, auth_token))
        renderer = Renderer(settings.templates_dir, settings)
        expected_body = renderer.render("foot_check", "en", patient={"first_name": "Ana"}).body
        dispatcher = Dispatcher(
            engine,
            settings,
            ManualClock(NOW),
            transport,
            renderer,
            worker_id="bench",
            rate_limiter=limiter,
            concurrency=args.concurrency,
        )
        cpu_before = resource.getrusage(resource.RUSAGE_SELF)
        started = timer.perf_counter()
        report = dispatcher.run()
        seconds = timer.perf_counter() - started
        cpu_after = resource.getrusage(resource.RUSAGE_SELF)
        pipe.send("stop")
        sent: list[Sent] = pipe.recv()
    finally:
        fake.join(timeout=30)
        if fake.is_alive():
            fake.kill()
    try:
        verify(engine, count, report.sent, sent, expected_body)
    finally:
        engine.dispose()
    cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)
    result: dict[str, Any] = {
        "messages": count,
        "seconds": seconds,
        "per_second": count / seconds,
        "cpu_ms_per_message": cpu * 1000 / count,
        "latency_ms": args.latency_ms,
        "concurrency": args.concurrency,
        "rate": args.rate,
    }
    if args.rate:
        created = sorted(m.created for m in sent)
        span = created[-1] - created[0]
        result["measured_rate"] = (count - 1) / span if span > 0 else None
        result["max_in_any_second"] = max_in_any_second(created)
        assert limiter is not None
        result["client_max_in_any_second"] = max_in_any_second(sorted(limiter.slots))
        result["min_gap_ms"] = min(b - a for a, b in itertools.pairwise(created)) * 1000
    return result


def verify(engine: Any, count: int, reported: int, sent: list[Any], expected_body: str) -> None:
    """Exactly one message per patient at the fake, the foot check's text, every reminder
    'sent' with the sid the fake gave it. Raises SystemExit otherwise."""
    problems = []
    if reported != count:
        problems.append(f"the dispatcher reported {reported} sent, not {count}")
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
        states = dict(
            conn.execute(select(reminders.c.state, func.count()).group_by(reminders.c.state)).all()
        )
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
    if problems:
        raise SystemExit("verification failed: " + "; ".join(problems))


def max_in_any_second(times: list[float]) -> int:
    """The most instants in any half-open window [t, t + 1). Strict spacing of 1/rate puts
    rate + 1 instants in a closed one, both ends included, and still rate in this one. The
    busiest window can be taken to start at an instant, so each one is tried."""
    return max(
        (bisect.bisect_left(times, start + 1.0, lo=i) - i for i, start in enumerate(times)),
        default=0,
    )


def summarise(runs: list[dict[str, Any]], args: argparse.Namespace) -> dict[str, Any]:
    summary: dict[str, Any] = {
        "database": database_name(args.database_url),
        "cores": cores(),
        "repeat": len(runs),
        "messages": args.messages,
        "latency_ms": args.latency_ms,
        "concurrency": args.concurrency,
        "rate": args.rate,
        **medians(runs, FIGURES),
    }
    # Ideal: every send waits latency_ms and nothing else.
    if args.latency_ms:
        summary["ideal_per_second"] = round(args.concurrency * 1000 / args.latency_ms, 1)
    summary["targets"] = targets(summary, args)
    summary["passed"] = {name: t["passed"] for name, t in summary["targets"].items()}
    summary["runs"] = runs
    return summary


def targets(summary: dict[str, Any], args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    """The targets that apply to this configuration, judged on the medians, except the
    never-above ones, judged on the worst run."""
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


def print_table(summary: dict[str, Any]) -> None:
    setting = f"latency {summary['latency_ms']:g} ms, concurrency {summary['concurrency']}"
    if summary["rate"]:
        setting += f", rate {summary['rate']:g}/s"
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
    if "ideal_per_second" in summary:
        table.add_row("  concurrency / latency", f"{summary['ideal_per_second']:,.1f}")
    Console().print(table)


if __name__ == "__main__":
    main()
