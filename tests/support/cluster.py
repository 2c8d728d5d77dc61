"""Several real `outreach worker` processes on one PostgreSQL schema (or one SQLite file, for
the proofs that also run there), sending through the real twilio client to a FakeTwilio in
this process, whose record judges the outcome.

    with cluster(tmp_path, fake, concurrency=8) as c:
        c.add_foot_checks(c.add_patients(2000), c.now())
        c.start_workers(4)
        c.wait_until_finished()
        outcome = c.judge(fake)

Everything the workers do goes through the CLI as it runs in production: a config file,
credentials in the environment, SIGKILL or SIGTERM to stop. The harness seeds the outbox by
direct inserts (patients who consented, reminders due now) and reads the database only to
wait and to judge. Teardown kills every process it started and drops the schema, even when
the test failed.
"""

from __future__ import annotations

import bisect
import os
import random
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

import pytest
from sqlalchemy import Engine, create_engine, func, insert, select, text

from outreach.db.engine import make_engine, upgrade
from outreach.db.tables import (
    appointment_table,
    outbound_messages,
    patients,
    reminders,
    worker_processes,
)
from outreach.rules.vocabulary import AppointmentStatus, ReminderState
from outreach.testing import FakeTwilio
from outreach.testing.rows import consenting_patient
from outreach.testing.twilio_faults import Hang

PG_URL = os.environ.get("OUTREACH_TEST_DATABASE_URL", "")


def postgres_only(why: str) -> pytest.MarkDecorator:
    """Skip on SQLite, saying why the test needs PostgreSQL and how to give it one."""
    return pytest.mark.skipif(
        not PG_URL.startswith("postgresql"),
        reason=f"{why}: set OUTREACH_TEST_DATABASE_URL to a postgresql+psycopg:// URL "
        "(.ci/run does in its PostgreSQL pass)",
    )


needs_postgres = postgres_only("several workers coordinate through PostgreSQL")
FROM_NUMBER = "+16175550100"
UNFINISHED = (ReminderState.PENDING, ReminderState.CLAIMED)
# Hang protection only: a run that takes longer than this is stuck, not slow (at a load
# average of 23 on this machine the crash proof took 136 s).
DEADLINE_SECONDS = 300
# Loaded into every worker (via PYTHONPATH): SIGUSR2 writes every thread's stack to its log,
# which the harness asks for before it gives up waiting.
STACKS_ON_SIGUSR2 = (
    "import faulthandler, signal\nfaulthandler.register(signal.SIGUSR2, all_threads=True)\n"
)


def phone(n: int) -> str:
    """Patient n's number (n from 1): 415-555-0001 and on, none of them the clinic's."""
    return f"+1415555{n:04d}"


def a_zone_where_it_is_midday() -> str:
    """Quiet hours (21:00-08:00 local) must not hold texts back, whatever the hour the suite
    runs: an Etc zone whose local time is about noon now. Etc signs are inverted:
    Etc/GMT+5 is UTC-5."""
    offset = (12 - datetime.now(UTC).hour + 12) % 24 - 12  # -12 .. 11
    return "Etc/GMT" + (f"{-offset:+d}" if offset else "")


class ClusterTwilio(FakeTwilio):
    """FakeTwilio answering each create after a random latency in [low, high] seconds (so a
    kill lands mid-send), and noting the sids it accepted and then hung on."""

    def __init__(self, latency: tuple[float, float] = (0.0, 0.0), **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.latency_range = latency
        self.hung_after_accepting: list[str] = []  # sids
        self.hung_unaccepted: list[str] = []  # numbers
        self._injected = threading.local()

    def __enter__(self) -> ClusterTwilio:
        self.start()
        return self

    @property
    def latency_seconds(self) -> float:
        """This create's latency, drawn when it arrived."""
        return float(getattr(self._injected, "latency", 0.0))

    def _take_injected(self) -> Any:
        injected = super()._take_injected()
        self._injected.last = injected
        return injected

    def _create(self, form: dict[str, str]) -> Any:
        self._injected.last = None
        self._injected.latency = random.uniform(*self.latency_range)
        reply = super()._create(form)
        injected = self._injected.last
        if isinstance(injected, Hang):
            with self._lock:
                if injected.accept_first and reply.created:
                    self.hung_after_accepting.append(reply.created)
                elif not injected.accept_first:
                    self.hung_unaccepted.append(form.get("To", ""))
        return reply


@dataclass
class Worker:
    number: int
    process: subprocess.Popen[bytes]
    log_path: Path
    log_file: TextIO

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def alive(self) -> bool:
        return self.process.poll() is None


@dataclass
class Judgement:
    """The outcome by the provider's own record, reminder by reminder."""

    reminders: int
    states: Counter[str]
    reasons: Counter[str]
    messages: int
    twice: list[str] = field(default_factory=list)  # masked numbers texted more than once
    unfinished: list[int] = field(default_factory=list)
    sent_without_message: list[int] = field(default_factory=list)
    sid_not_recorded: list[int] = field(default_factory=list)
    skipped_but_sent: list[int] = field(default_factory=list)
    no_reason: list[int] = field(default_factory=list)
    strangers: int = 0  # messages to a number that has no reminder

    @property
    def problems(self) -> dict[str, Any]:
        found = {
            "texted more than once": self.twice,
            "not finished": self.unfinished,
            "sent, but the fake has no message": self.sent_without_message,
            "sent, but the fake's sid is not on the outbound row": self.sid_not_recorded,
            "skipped, yet the fake has a message": self.skipped_but_sent,
            "skipped or failed with no reason": self.no_reason,
            "messages to numbers with no reminder": self.strangers,
        }
        return {
            what: ids[:10] if isinstance(ids, list) else ids for what, ids in found.items() if ids
        }


class Cluster:
    def __init__(self, url: str, config_path: Path, env: dict[str, str], logs: Path) -> None:
        self.url = url
        self.config_path = config_path
        self.env = env
        self.logs = logs
        self.engine = make_engine(url, pool_size=2, max_overflow=0)
        self.workers: list[Worker] = []
        self.started: list[Worker] = []  # every process ever started, killed ones included
        self._lock = threading.Lock()

    # -- seeding -----------------------------------------------------------------------------

    def now(self) -> datetime:
        return datetime.now(UTC)

    def add_patients(self, count: int, first: int = 1) -> list[int]:
        """Consenting patients first..first+count-1, in a zone where it is midday now."""
        now, zone = self.now(), a_zone_where_it_is_midday()
        rows = [
            consenting_patient(n, f"C-{n}", phone(n), zone, now)
            for n in range(first, first + count)
        ]
        with self.engine.begin() as conn:
            conn.execute(insert(patients), rows)
        return list(range(first, first + count))

    def add_foot_checks(self, patient_ids: list[int], send_at: datetime) -> None:
        """One foot check each, due at `send_at`, good for six hours."""
        rows = [
            _reminder(pid, "foot_check", send_at.date().isoformat(), send_at, send_at + SIX_HOURS)
            for pid in patient_ids
        ]
        with self.engine.begin() as conn:
            conn.execute(insert(reminders), rows)

    def add_sessions(self, patient_ids: list[int], send_at: datetime, starts_at: datetime) -> None:
        """An appointment at `starts_at` for each, and its reminder due at `send_at`: never
        to be sent at or after the start."""
        with self.engine.begin() as conn:
            for pid in patient_ids:
                appointment = conn.execute(
                    insert(appointment_table)
                    .values(
                        patient_id=pid,
                        starts_at=starts_at,
                        source="manual",
                        status=AppointmentStatus.SCHEDULED,
                        updated_at=send_at,
                    )
                    .returning(appointment_table.c.id)
                ).scalar_one()
                row = _reminder(pid, "session", f"{appointment}:cluster", send_at, starts_at)
                conn.execute(insert(reminders).values(appointment_id=appointment, **row))

    # -- processes ---------------------------------------------------------------------------

    def admin_engine(self) -> Engine:
        """A connection of the test's own, outside the workers' pools."""
        return create_engine(PG_URL, pool_size=1, max_overflow=0)

    def start_workers(self, count: int) -> list[Worker]:
        return [self.start_worker() for _ in range(count)]

    def start_worker(self, slot: int | None = None) -> Worker:
        """`outreach --config FILE worker` as the console script runs it (outreach.cli:main),
        through this interpreter so that the process we hold is the worker itself (its pid
        is in its worker id and its connections' application_name)."""
        with self._lock:
            number = len(self.started) + 1
            log_path = self.logs / f"worker-{number}.log"
            log_file = log_path.open("w")
            process = subprocess.Popen(
                [sys.executable, "-m", "outreach.cli", "--config", str(self.config_path), "worker"],
                env=self.env,
                stdout=log_file,
                stderr=subprocess.STDOUT,
            )
            worker = Worker(number, process, log_path, log_file)
            self.started.append(worker)
            if slot is None:
                self.workers.append(worker)
            else:
                self.workers[slot] = worker
        return worker

    def kill_and_restart(self, slot: int) -> Worker:
        """SIGKILL: no handler runs, nothing is handed back; the process is simply gone."""
        old = self.workers[slot]
        old.process.kill()
        old.process.wait()
        return self.start_worker(slot)

    def stop_all(self, timeout: float = 20) -> dict[int, int | None]:
        """SIGTERM to every live worker, then SIGKILL to any still running after `timeout`.
        Returns each worker's exit code by number (None if it had to be killed)."""
        codes: dict[int, int | None] = {}
        for worker in self.started:
            if worker.alive:
                worker.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for worker in self.started:
            try:
                codes[worker.number] = worker.process.wait(max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                worker.process.kill()
                worker.process.wait()
                codes[worker.number] = None
        return codes

    def kill_all(self) -> None:
        for worker in self.started:
            if worker.alive:
                worker.process.kill()
            worker.process.wait()
            worker.log_file.close()

    def dump_stacks(self) -> None:
        """Every live worker writes its threads' stacks to its log: what is it stuck on?"""
        for worker in self.workers:
            if worker.alive:
                worker.process.send_signal(signal.SIGUSR2)
        time.sleep(1)

    def log_tail(self, lines: int = 15) -> str:
        """The end of each worker's log, for a failure's message."""
        parts = []
        for worker in self.started:
            tail = worker.log_path.read_text(errors="replace").splitlines()[-lines:]
            parts.append(f"--- worker {worker.number} (pid {worker.pid}) ---\n" + "\n".join(tail))
        return "\n".join(parts)

    def log_count(self, needle: str) -> int:
        return sum(w.log_path.read_text(errors="replace").count(needle) for w in self.started)

    # -- waiting and judging -----------------------------------------------------------------

    def unfinished(self) -> int:
        with self.engine.connect() as conn:
            return int(
                conn.execute(
                    select(func.count())
                    .select_from(reminders)
                    .where(reminders.c.state.in_(UNFINISHED))
                ).scalar_one()
            )

    def wait_until_finished(self, timeout: float = DEADLINE_SECONDS) -> None:
        self.wait_for(lambda: self.unfinished() == 0, "every reminder finished", timeout)

    def wait_for(self, condition: Callable[[], bool], what: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                self.dump_stacks()
                raise AssertionError(
                    f"not done after {timeout:.0f} s: {what}; {self.unfinished()} reminders "
                    f"unfinished\n{self.log_tail()}"
                )
            time.sleep(0.25)

    def reminders(self, kind: str | None = None) -> list[Any]:
        """Each reminder's kind, state, reason, moment (expires_at) and patient's number."""
        query = select(
            reminders.c.id,
            reminders.c.kind,
            reminders.c.state,
            reminders.c.skip_reason,
            reminders.c.expires_at,
            patients.c.phone,
        ).join(patients, patients.c.id == reminders.c.patient_id)
        if kind is not None:
            query = query.where(reminders.c.kind == kind)
        with self.engine.connect() as conn:
            return list(conn.execute(query).all())

    def claims_held(self, worker: Worker) -> int:
        """Reminders this worker process holds claimed right now."""
        with self.engine.connect() as conn:
            return int(
                conn.execute(
                    select(func.count())
                    .select_from(reminders)
                    .where(
                        reminders.c.state == ReminderState.CLAIMED,
                        reminders.c.claimed_by.like(f"%:{worker.pid}:%"),
                    )
                ).scalar_one()
            )

    def heartbeats(self) -> dict[int, int]:
        """Ticks each worker process reported, by pid."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(worker_processes.c.pid, worker_processes.c.ticks)).all()
        return {row.pid: row.ticks for row in rows}

    def judge(self, fake: FakeTwilio) -> Judgement:
        """Every reminder against the fake's record: sent exactly once with the fake's sid
        stored, or skipped with a reason and nothing at the fake; failed with a reason."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(
                    reminders.c.id, reminders.c.state, reminders.c.skip_reason, patients.c.phone
                ).join(patients, patients.c.id == reminders.c.patient_id)
            ).all()
            stored = {
                (row.reminder_id, row.provider_sid)
                for row in conn.execute(
                    select(outbound_messages.c.reminder_id, outbound_messages.c.provider_sid).where(
                        outbound_messages.c.provider_sid.is_not(None)
                    )
                )
            }
        texts = fake.messages
        per_number: dict[str, list[str]] = {}
        for message in texts:
            per_number.setdefault(message.to, []).append(message.sid)
        judgement = Judgement(
            reminders=len(rows),
            states=Counter(row.state for row in rows),
            reasons=Counter(row.skip_reason for row in rows if row.skip_reason),
            messages=len(texts),
        )
        judgement.twice = [_mask(to) for to, sids in per_number.items() if len(sids) > 1]
        judgement.strangers = len(set(per_number) - {row.phone for row in rows})
        for row in rows:
            sids = per_number.get(row.phone, [])
            if row.state in UNFINISHED:
                judgement.unfinished.append(row.id)
            elif row.state == ReminderState.SENT:
                if not sids:
                    judgement.sent_without_message.append(row.id)
                elif (row.id, sids[0]) not in stored:
                    judgement.sid_not_recorded.append(row.id)
            elif not row.skip_reason:
                judgement.no_reason.append(row.id)
            elif row.state == ReminderState.SKIPPED and sids:
                judgement.skipped_but_sent.append(row.id)
        return judgement


SIX_HOURS = timedelta(hours=6)


def most_in_any_window(times: list[float], seconds: float = 1.0) -> int:
    """The most instants in any half-open window [t, t + seconds). Strict spacing of 1/rate
    puts rate + 1 instants in a closed second, both ends included, and still rate in this
    one. The busiest window can be taken to start at an instant, so each one is tried."""
    ordered = sorted(times)
    return max(
        (bisect.bisect_left(ordered, start + seconds, lo=i) - i for i, start in enumerate(ordered)),
        default=0,
    )


def _reminder(
    patient_id: int, kind: str, occurrence: str, send_at: datetime, expires_at: datetime
) -> dict[str, Any]:
    return {
        "patient_id": patient_id,
        "kind": kind,
        "occurrence": occurrence,
        "send_at": send_at,
        "expires_at": expires_at,
        "state": ReminderState.PENDING,
        "attempts": 0,
        "plan_version": 1,
        "created_at": send_at,
        "updated_at": send_at,
    }


def _mask(number: str) -> str:
    return number[:2] + "*" * (len(number) - 6) + number[-4:]


def _config_text(
    url: str, fake: FakeTwilio, settings: Mapping[str, Any], clinic: Mapping[str, Any]
) -> str:
    sending = {
        "retry_backoff_seconds": 1,
        "outage_pause_seconds": 1,
        "rate_per_second": 1000,
        "concurrency": 8,
        **settings,
    }
    lines = [
        "[clinic]",
        *(f"{key} = {value!r}" for key, value in clinic.items()),
        "[database]",
        f'url = "{url}"',
        "[sms]",
        'provider = "twilio"',
        "[twilio]",
        f'api_base_url = "{fake.base_url}"',
        f'from_number = "{FROM_NUMBER}"',
        "timeout_seconds = 1",
        "[web]",
        # Status callbacks are not under test: nothing listens there.
        'public_base_url = "http://127.0.0.1:9"',
        "[scheduler]",
        "tick_seconds = 1",
        "lease_seconds = 10",
        "[sending]",
        *(f"{key} = {value!r}" for key, value in sending.items()),
    ]
    return "\n".join(lines) + "\n"


def _worker_env(url: str, fake: FakeTwilio, site: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("TWILIO_REGION", "TWILIO_EDGE")}
    (site / "sitecustomize.py").write_text(STACKS_ON_SIGUSR2)
    env.update(
        PYTHONPATH=os.pathsep.join(filter(None, [str(site), env.get("PYTHONPATH")])),
        OUTREACH_DATABASE_URL=url,
        TWILIO_ACCOUNT_SID=fake.account_sid,
        TWILIO_AUTH_TOKEN=fake.auth_token,
        # requests would send 127.0.0.1 through a proxy taken from the environment.
        NO_PROXY="127.0.0.1,localhost",
        no_proxy="127.0.0.1,localhost",
    )
    return env


@contextmanager
def private_schema(prefix: str = "outreach_cluster") -> Iterator[str]:
    """A migrated schema of our own on the test server, dropped afterwards whatever
    happens; yields a URL whose connections see only it."""
    schema = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_URL, pool_size=1, max_overflow=0)
    try:
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        separator = "&" if "?" in PG_URL else "?"
        url = f"{PG_URL}{separator}options=-csearch_path%3D{schema}"
        upgrade(url)
        yield url
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


@contextmanager
def sqlite_file(tmp_path: Path) -> Iterator[str]:
    """A migrated SQLite file under `tmp_path`, for the proofs that also run on SQLite."""
    url = f"sqlite:///{tmp_path / 'cluster.db'}"
    upgrade(url)
    yield url


@contextmanager
def cluster(
    tmp_path: Path, fake: FakeTwilio, clinic: Mapping[str, Any] | None = None, **sending: Any
) -> Iterator[Cluster]:
    """A schema (a SQLite file when the suite runs on SQLite), a config file pointing at
    `fake`, and a Cluster to start workers with. `clinic` sets [clinic] keys (on_call_phone);
    `sending` sets [sending] keys (rate_per_second, concurrency, outage_pause_seconds...)."""
    database = private_schema() if PG_URL.startswith("postgresql") else sqlite_file(tmp_path)
    with database as url:
        config = tmp_path / "cluster.toml"
        config.write_text(_config_text(url, fake, sending, clinic or {}))
        logs = tmp_path / "logs"
        logs.mkdir()
        site = tmp_path / "site"
        site.mkdir()
        running = Cluster(url, config, _worker_env(url, fake, site), logs)
        try:
            yield running
        finally:
            running.kill_all()
            running.engine.dispose()
