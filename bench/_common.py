"""What the Twilio benchmarks share: a fresh database, consenting patients, medians, verdicts."""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, insert, text
from sqlalchemy.engine import Connection

from outreach.db.engine import upgrade
from outreach.db.tables import care_plans, patients
from outreach.testing.rows import consenting_patient

# 555-0100 to 555-0199 are the only 555 numbers reserved for fiction, too few for a
# benchmark: these are well-formed US numbers in a few area codes, 10,000 to a code.
AREA_CODES = ("617", "212", "415", "312", "646", "718", "202", "305", "404", "503")
MAX_PATIENTS = 10_000 * len(AREA_CODES)


@contextmanager
def fresh_database(base_url: str | None) -> Iterator[str]:
    """A migrated database that is gone afterwards: a SQLite file in a temporary directory,
    or a private schema on the PostgreSQL server at `base_url` (as bench/planner.py does)."""
    if base_url is None or base_url.startswith("sqlite"):
        with tempfile.TemporaryDirectory(prefix="outreach-bench-") as folder:
            url = f"sqlite:///{Path(folder) / 'bench.db'}"
            upgrade(url)
            yield url
        return
    schema = f"outreach_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base_url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        separator = "&" if "?" in base_url else "?"
        url = f"{base_url}{separator}options=-csearch_path%3D{schema}"
        upgrade(url)
        yield url
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def add_run_options(
    parser: argparse.ArgumentParser,
    repeat: int = 3,
    repeat_help: str = "runs to take the median of",
    schema_note: str = "a private schema per run",
) -> None:
    """The options every benchmark takes: where to run, how often, and how to print."""
    parser.add_argument(
        "--database-url",
        help="default: a fresh SQLite file in a temporary directory; a PostgreSQL URL gets "
        f"{schema_note}, dropped afterwards",
    )
    parser.add_argument("--repeat", type=int, default=repeat, help=repeat_help)
    parser.add_argument("--json", action="store_true", help="print one JSON object only")


def emit(
    summary: dict[str, Any], as_json: bool, print_table: Callable[[dict[str, Any]], None]
) -> None:
    """One JSON object with --json, else the benchmark's table."""
    if as_json:
        print(json.dumps(summary))
    else:
        print_table(summary)


def database_name(url: str | None) -> str:
    return "postgresql" if url and url.startswith("postgresql") else "sqlite"


def phone(n: int) -> str:
    """The n-th distinct patient number, n from 0."""
    area, line = divmod(n, 10_000)
    return f"+1{AREA_CODES[area]}555{line:04d}"


def insert_patients(conn: Connection, count: int, zones: Sequence[str], now: datetime) -> None:
    """`count` consenting patients with ids 1..count; patient n has phone(n - 1)."""
    if count > MAX_PATIENTS:
        raise ValueError(f"at most {MAX_PATIENTS} patients, got {count}")
    rows = [
        consenting_patient(n, f"B-{n}", phone(n - 1), zones[n % len(zones)], now)
        for n in range(1, count + 1)
    ]
    conn.execute(insert(patients), rows)
    if conn.dialect.name == "postgresql":
        # Explicit ids leave the serial behind; keep it ahead for later inserts.
        conn.execute(
            text(
                "SELECT setval(pg_get_serial_sequence('patient', 'id'), "
                "(SELECT max(id) FROM patient))"
            )
        )


def insert_sessionless_plans(conn: Connection, count: int, now: datetime) -> None:
    """A care plan with no sessions of its own for patients 1..count: their sessions come from
    a feed (bench/mllp.py, bench/fhirsync.py), and the plan is what makes them reminded."""
    start = now.date()
    rows = [
        {"patient_id": n, "version": 1, "start_date": start, "updated_at": now}
        for n in range(1, count + 1)
    ]
    conn.execute(insert(care_plans), rows)


def percentile(values: Sequence[float], share: float) -> float:
    """The nearest-rank percentile: the smallest value with at least `share` of them at or
    below it (so p99 of 2,000 latencies is the 1,980th)."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * share // 1))
    return ordered[int(rank) - 1]


def medians(runs: list[dict[str, Any]], names: Sequence[str]) -> dict[str, Any]:
    """name, name_min and name_max over the runs for each figure."""
    summary: dict[str, Any] = {}
    for name in names:
        values = [run[name] for run in runs if run.get(name) is not None]
        if not values:
            summary[name] = summary[f"{name}_min"] = summary[f"{name}_max"] = None
            continue
        summary[name] = round(statistics.median(values), 3)
        summary[f"{name}_min"] = round(min(values), 3)
        summary[f"{name}_max"] = round(max(values), 3)
    return summary


def verdict(passed: bool | None) -> str:
    """pass, FAIL, or n/a for a target this configuration cannot reach at all."""
    if passed is None:
        return "n/a"
    return "[green]pass[/]" if passed else "[red]FAIL[/]"


def cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


# Linux's /proc counts CPU time in clock ticks.
TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def machine_cpu() -> tuple[float, float] | None:
    """(busy, total) CPU seconds of the whole machine since boot, from /proc/stat; None where
    there is no /proc. The busy share between two readings shows whether the cores were full,
    whoever filled them: the machine is shared."""
    try:
        with open("/proc/stat") as stat:
            fields = [int(value) for value in stat.readline().split()[1:]]
    except OSError:
        return None
    # user nice system idle iowait irq softirq steal; guest time is already inside user.
    total = sum(fields[:8])
    idle = fields[3] + fields[4]
    return (total - idle) / TICKS_PER_SECOND, total / TICKS_PER_SECOND


def busy_share(
    before: tuple[float, float] | None, after: tuple[float, float] | None
) -> float | None:
    """The share of the machine's CPU time that was busy between two `machine_cpu()` readings,
    from 0 to 1; None without /proc."""
    if before is None or after is None or after[1] <= before[1]:
        return None
    return (after[0] - before[0]) / (after[1] - before[1])


def process_cpu_seconds(pid: int) -> float | None:
    """User plus system CPU seconds of any process on this machine (a PostgreSQL backend,
    say), from /proc/PID/stat; None if it is gone or there is no /proc."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            # The command name may hold spaces; the fields after it are fixed.
            fields = stat.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / TICKS_PER_SECOND
