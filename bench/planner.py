"""How long one day of reminders takes to plan, what an idle tick costs, and peak memory.

    uv run python bench/planner.py --patients 100000
    uv run python bench/planner.py --patients 2000 --json
    uv run python bench/planner.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test

Each run builds a fresh database (a temporary SQLite file, or a private schema that is
dropped afterwards on PostgreSQL), inserts N consenting patients whose plans are planned up
to one day short of the horizon, then measures, in a child process so that the setup's
memory stays out of the peak: one `plan_due` (about 3 reminders per patient: a foot check,
exercises and a 24-hour session reminder), and an idle `Service.tick` with nothing due.
The machine is shared, so the whole thing runs --repeat times and the median is reported.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import statistics
import subprocess
import sys
import time as timer
from datetime import UTC, date, datetime, time, timedelta
from enum import Enum
from typing import Any

from _common import add_run_options, emit, fresh_database
from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine, func, insert, literal, select, text
from sqlalchemy.engine import Connection

from outreach.clock import ManualClock
from outreach.config import Settings
from outreach.db.engine import make_engine
from outreach.db.tables import (
    UTCDateTime,
    appointment_table,
    care_plans,
    patients,
    plan_phases,
    reminders,
)
from outreach.planning.planner import horizon_end, plan_due
from outreach.runtime import Service
from outreach.testing.rows import consenting_patient
from outreach.texts.render import Renderer
from outreach.transports.console import ConsoleTransport

# A Monday, as in the tests. Nothing planned for the last horizon day is due this early.
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
# Plans started on different days over the last eight weeks, as in a real clinic.
FIRST_PLAN_START = date(2026, 9, 28)
CHUNK = 5000
IDLE_TICKS = 20
TARGETS = {"plan_seconds": 10.0, "idle_tick_ms": 50.0, "peak_rss_mb": 300.0}
# Issue 5: one day for a million patients on PostgreSQL in under a minute.
MILLION = 1_000_000
MILLION_PLAN_SECONDS = 60.0
FIGURES = (
    "plan_seconds",
    "plan_cpu_seconds",
    "reminders_per_second",
    "idle_tick_ms",
    "peak_rss_mb",
)
ZONES = (
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Phoenix",
    "America/Los_Angeles",
    "Pacific/Honolulu",
    "Europe/London",
    "Europe/Madrid",
    "Europe/Berlin",
    "Europe/Helsinki",
    "Asia/Kolkata",
    "Asia/Kathmandu",
    "Asia/Singapore",
    "Asia/Tokyo",
    "Australia/Perth",
    "Australia/Adelaide",
    "Australia/Sydney",
)
# 07:30 is inside the default quiet hours, so some foot checks take the placement path.
FOOT_CHECK_TIMES = (time(7, 30), time(8, 30), time(9, 0))
EXERCISE_TIMES = (time(12, 0), time(17, 0), time(18, 30))
SESSION_TIMES = (time(9, 0), time(10, 30), time(14, 0), time(16, 15))
EVERY_DAY = "mon,tue,wed,thu,fri,sat,sun"


def main() -> None:
    args = parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure, args.patients)))
        return
    progress = Console(stderr=True)
    runs = []
    for number in range(1, args.repeat + 1):
        with fresh_database(args.database_url) as url:
            progress.print(f"run {number}/{args.repeat}: inserting {args.patients} patients")
            setup_seconds = populate(url, args.patients, args.backlog_days)
            progress.print(f"run {number}/{args.repeat}: planning one day and idle ticks")
            run = measure_in_child(url, args.patients)
            run["setup_seconds"] = setup_seconds
            runs.append(run)
    summary = summarise(runs, args)
    emit(summary, args.json, print_table)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--patients", type=int, default=100_000, help="default 100000")
    add_run_options(parser)
    parser.add_argument(
        "--backlog-days",
        type=int,
        default=0,
        help="also fill the outbox with this many earlier days of pending reminders, as a "
        "planner that has been running would have (at most horizon_days - 1; slow setup)",
    )
    # The child process that does the timed part: its peak memory is the planner's alone.
    parser.add_argument("--measure", metavar="URL", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.patients < 1 or args.repeat < 1:
        parser.error("--patients and --repeat must be at least 1")
    if not 0 <= args.backlog_days < Settings().horizon_days:
        parser.error(f"--backlog-days must be from 0 to {Settings().horizon_days - 1}")
    return args


def populate(url: str, count: int, backlog_days: int = 0) -> float:
    """Bulk-insert patients, plans and phases (the CSV import is too slow for 100k), every
    plan already planned to one day short of the horizon. Returns the seconds it took."""
    started = timer.perf_counter()
    settings = Settings()
    planned_until = horizon_end(NOW, settings.horizon_days) - timedelta(days=1)
    engine = make_engine(url)
    try:
        if engine.dialect.name == "postgresql":
            copy_plans(engine, count, planned_until)
        else:
            for first in range(1, count + 1, CHUNK):
                ids = range(first, min(first + CHUNK, count + 1))
                with engine.begin() as conn:
                    conn.execute(insert(patients), [patient(n) for n in ids])
                    conn.execute(insert(care_plans), [plan(n, planned_until) for n in ids])
                    conn.execute(insert(plan_phases), [phase(n) for n in ids])
        for day in range(1, backlog_days + 1):
            with engine.begin() as conn:
                insert_backlog(conn, planned_until - timedelta(days=day))
        if engine.dialect.name == "postgresql":
            with engine.begin() as conn:
                for table in (patients, care_plans, plan_phases):
                    # Explicit ids leave the serial behind; keep it ahead for later inserts.
                    conn.execute(
                        text(
                            f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                            f"(SELECT max(id) FROM {table.name}))"
                        )
                    )
                conn.execute(text("ANALYZE patient, careplan, planphase, reminder"))
    finally:
        engine.dispose()
    return timer.perf_counter() - started


def copy_plans(engine: Engine, count: int, planned_until: datetime) -> None:
    """PostgreSQL: COPY streams a million patients in well under a minute, a row at a time
    from generators, so memory stays flat however many there are."""
    tables = (
        (patients, lambda n: patient(n)),
        (care_plans, lambda n: plan(n, planned_until)),
        (plan_phases, phase),
    )
    with engine.begin() as conn:
        driver = conn.connection.driver_connection
        assert driver is not None
        with driver.cursor() as cursor:
            for table, row in tables:
                columns = list(row(1))
                statement = f"COPY {table.name} ({', '.join(columns)}) FROM STDIN"
                with cursor.copy(statement) as copy:
                    for n in range(1, count + 1):
                        values = row(n)
                        copy.write_row([_plain(values[column]) for column in columns])


def _plain(value: Any) -> Any:
    # psycopg writes an Enum member by its name; the column holds its value.
    return value.value if isinstance(value, Enum) else value


def insert_backlog(conn: Connection, day: datetime) -> None:
    """One earlier day of pending reminders for every patient, set-wise (a row at a time
    would take minutes for a fortnight). Nothing in it is due at NOW."""
    for hours, kind in ((14, "foot_check"), (18, "exercise"), (20, "session")):
        send_at = day + timedelta(hours=hours)
        values = select(
            care_plans.c.patient_id,
            literal(kind),
            literal(f"bench:{day.date().isoformat()}"),
            literal(send_at, UTCDateTime),
            literal(send_at + timedelta(hours=1), UTCDateTime),
            literal("pending"),
            literal(0),
            literal(1),
            literal(NOW, UTCDateTime),
            literal(NOW, UTCDateTime),
        )
        columns = [
            "patient_id",
            "kind",
            "occurrence",
            "send_at",
            "expires_at",
            "state",
            "attempts",
            "plan_version",
            "created_at",
            "updated_at",
        ]
        conn.execute(insert(reminders).from_select(columns, values))


def patient(n: int) -> dict[str, Any]:
    language = "es" if n % 3 == 0 else "en"
    return consenting_patient(n, f"B-{n}", f"+1617{n:07d}", ZONES[n % len(ZONES)], NOW, language)


def plan(n: int, planned_until: datetime) -> dict[str, Any]:
    return {
        "id": n,
        "patient_id": n,
        "version": 1,
        "start_date": FIRST_PLAN_START + timedelta(days=n % 56),
        "end_date": None,
        "foot_check_time": FOOT_CHECK_TIMES[n % len(FOOT_CHECK_TIMES)],
        "exercise_days": EVERY_DAY,
        "exercise_time": EXERCISE_TIMES[n % len(EXERCISE_TIMES)],
        "exercises": "seated calf stretch\nheel raises",
        "planned_until": planned_until,
        "updated_at": NOW,
    }


def phase(n: int) -> dict[str, Any]:
    return {
        "id": n,
        "plan_id": n,
        "seq": 1,
        "weekdays": EVERY_DAY,
        "session_time": SESSION_TIMES[n % len(SESSION_TIMES)],
        "weeks": 52,
    }


def measure_in_child(url: str, count: int) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, __file__, "--measure", url, "--patients", str(count)],
        capture_output=True,
        text=True,
    )
    if done.returncode:
        raise SystemExit(f"the measuring process failed:\n{done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def measure(url: str, count: int) -> dict[str, Any]:
    """The timed part, run in a fresh process: plan the last day, then tick with nothing due."""
    settings = Settings()
    engine = make_engine(url)
    try:
        baseline_rss_mb = current_rss_mb()
        before = count_rows(engine)
        started, started_cpu = timer.perf_counter(), timer.process_time()
        report = plan_due(engine, settings, NOW)
        plan_seconds = timer.perf_counter() - started
        # This process's own CPU (all its threads), not the server's: on a shared machine
        # the wall time above also counts the waits for a core.
        plan_cpu_seconds = timer.process_time() - started_cpu
        counted = count_rows(engine)
        if report.busy:
            raise SystemExit("another process held this schema's planning lock")
        if report.plans != count or counted["reminders"] - before["reminders"] != report.reminders:
            raise SystemExit(
                f"planned {report.plans} plans, {report.reminders} reminders; {counted}"
            )
        if engine.dialect.name == "postgresql":
            # What autovacuum does within a minute or so: until then the statistics still
            # say every plan is behind the horizon, and the due-plans query walks them all.
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM ANALYZE careplan, appointment, reminder"))
        idle_tick_ms = idle_tick(engine, settings)
        peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    finally:
        engine.dispose()
    return {
        "patients": count,
        "reminders": report.reminders,
        "appointments": counted["appointments"],
        "skipped": dict(report.skipped),
        "plan_seconds": plan_seconds,
        "plan_cpu_seconds": plan_cpu_seconds,
        "reminders_per_second": report.reminders / plan_seconds,
        "idle_tick_ms": idle_tick_ms,
        "peak_rss_mb": peak_rss_mb,
        "baseline_rss_mb": baseline_rss_mb,
    }


def count_rows(engine: Engine) -> dict[str, int]:
    with engine.begin() as conn:
        return {
            "reminders": conn.execute(select(func.count()).select_from(reminders)).scalar_one(),
            "appointments": conn.execute(
                select(func.count()).select_from(appointment_table)
            ).scalar_one(),
        }


def idle_tick(engine: Engine, settings: Settings) -> float:
    """The median of IDLE_TICKS whole service ticks (plan, claim, retry replies) at an instant
    when every plan is planned to the horizon and no reminder is due."""
    sent = io.StringIO()
    service = Service(
        engine,
        settings,
        ManualClock(NOW),
        ConsoleTransport(stream=sent),
        Renderer(settings.templates_dir, settings),
        worker_id="bench",
    )
    timings = []
    for _ in range(IDLE_TICKS):
        started = timer.perf_counter()
        report = service.tick()
        timings.append((timer.perf_counter() - started) * 1000)
        if report.plan.plans or report.dispatch.claimed or report.retried_replies:
            raise SystemExit(f"the idle tick was not idle: {report}")
    if sent.getvalue():
        raise SystemExit(f"the idle tick sent texts:\n{sent.getvalue()[:500]}")
    return statistics.median(timings)


def current_rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def summarise(runs: list[dict[str, Any]], args: argparse.Namespace) -> dict[str, Any]:
    url = args.database_url or "sqlite"
    summary: dict[str, Any] = {
        "database": "postgresql" if url.startswith("postgresql") else "sqlite",
        "cores": os.cpu_count(),
        "repeat": len(runs),
        "patients": args.patients,
        "backlog_days": args.backlog_days,
        "reminders": runs[0]["reminders"],
        "appointments": runs[0]["appointments"],
        "skipped": runs[0]["skipped"],
    }
    for name in (*FIGURES, "setup_seconds", "baseline_rss_mb"):
        values = [run[name] for run in runs]
        summary[name] = round(statistics.median(values), 3)
        summary[f"{name}_min"] = round(min(values), 3)
        summary[f"{name}_max"] = round(max(values), 3)
    targets = targets_for(summary["database"], args.patients)
    summary["targets"] = targets
    summary["passed"] = {name: summary[name] < target for name, target in targets.items()}
    summary["runs"] = runs
    return summary


def targets_for(database: str, count: int) -> dict[str, float]:
    if database == "postgresql" and count >= MILLION:
        return {**TARGETS, "plan_seconds": MILLION_PLAN_SECONDS}
    return TARGETS


def print_table(summary: dict[str, Any]) -> None:
    table = Table(
        title=f"planner: one day for {summary['patients']:,} patients "
        f"({summary['reminders']:,} reminders) on {summary['database']}"
        + (f" with {summary['backlog_days']} days pending" if summary["backlog_days"] else "")
        + f", {summary['cores']} cores, median of {summary['repeat']}"
    )
    for column in ("figure", "median", "min", "max", "target", ""):
        table.add_column(column, justify="left" if column == "figure" else "right")
    units = {
        "plan_seconds": ("plan one day", "{:.2f} s"),
        "plan_cpu_seconds": ("  CPU of the planning process", "{:.2f} s"),
        "reminders_per_second": ("reminders per second", "{:,.0f}"),
        "idle_tick_ms": ("idle tick", "{:.1f} ms"),
        "peak_rss_mb": ("peak RSS (planning process)", "{:.0f} MB"),
        "baseline_rss_mb": ("  of which imports", "{:.0f} MB"),
        "setup_seconds": ("setup, not timed", "{:.1f} s"),
    }
    for name, (label, fmt) in units.items():
        target = summary["targets"].get(name)
        verdict = ""
        if target is not None:
            verdict = "[green]pass[/]" if summary["passed"][name] else "[red]FAIL[/]"
        table.add_row(
            label,
            fmt.format(summary[name]),
            fmt.format(summary[f"{name}_min"]),
            fmt.format(summary[f"{name}_max"]),
            f"< {fmt.format(target)}" if target is not None else "",
            verdict,
        )
    Console().print(table)


if __name__ == "__main__":
    main()
