"""How fast the admin pages answer for a large clinic network: 28 days of history per patient.

    uv run python bench/admin.py                          # 20,000 patients on SQLite
    uv run python bench/admin.py --patients 100000 --repeat 5
    uv run python bench/admin.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test
    uv run python bench/admin.py --database-file /tmp/admin-20k.db   # seed once, reuse after

Builds a fresh database (a temporary SQLite file, or a private schema on PostgreSQL that is
dropped afterwards; --database-file keeps a SQLite file to reuse, migrated to the newest
schema on every run), then bulk-inserts with Core statements, not through the app: N
consenting patients with plans (bench/planner.py's time zones and times, with sessions on
Monday and Thursday and exercises on Monday, Wednesday and Friday), and 28 days of what the
service would have done: a foot check every day (60% answered, 1 in 20 answers a problem),
exercise prompts (half answered DONE with a pain value, 1 in 10 SKIP), session reminders
24 h ahead (45% confirmed by text, a few asking to reschedule or cancelled, with the notice
given; past sessions marked attended or no-show, 5% of confirmed and 15% of unconfirmed
ones missed), the answer
texts, 1% of texts failed or undelivered with Twilio error codes, replies no rule understood, a few
hundred open escalations of each severity among many resolved, opt-outs, pauses and a
few thousand audit entries. Then `planner.plan_due` plans the coming two weeks as the
service would. The inserts fire the report's triggers as any write does, so the first
report after seeding recounts every day they marked (`report_first_read_ms`); the JSON
also has the year's report page (`report_year_ms`, the median of the timed GETs) and a
read after a day of texts changed (`report_dirty_day_ms`).

The pages are fetched through the real app (`outreach.web.app.create_app`) in process with
Starlette's TestClient, signed in once as an admin, so the times are the app's and the
database's, without a network or a server's worker model. Each page: one warm-up GET,
then --repeat timed GETs; median and max are reported with the response size.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time as timer
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from _common import add_run_options, cores, database_name, emit, fresh_database, phone
from fastapi.testclient import TestClient
from planner import EXERCISE_TIMES, FOOT_CHECK_TIMES, SESSION_TIMES, ZONES
from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine, delete, func, insert, select, text, update

from outreach.accounts.users import add_user
from outreach.clock import ManualClock
from outreach.config import Settings
from outreach.db.engine import make_engine, upgrade
from outreach.db.tables import (
    appointment_table,
    audit_events,
    care_plans,
    consent_events,
    escalations,
    inbound_messages,
    observations,
    outbound_messages,
    patients,
    plan_phases,
    reminders,
    report_meta,
)
from outreach.planning.planner import plan_due
from outreach.rules.localtime import at_local
from outreach.rules.vocabulary import ConsentState, Role
from outreach.staff import report
from outreach.staff.report import rollups
from outreach.texts.render import Renderer
from outreach.web.app import create_app

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)  # a Monday, as in the tests
HISTORY = timedelta(days=28)
CHUNK = 2000  # patients per insert transaction
SECRET = "bench-session-secret-0123456789-abcdefghijklmnop"
USERNAME, PASSWORD = "bench-admin", "a bench password of some length"
TARGET_MS = 500.0
# Today is opened first and most, the patient page on every call: these get a tighter goal.
TIGHT_TARGET_MS = {"/": 250.0, "/patients/{id}": 250.0}
SESSION_DAYS = (0, 3)  # Monday, Thursday
EXERCISE_DAYS = (0, 2, 4)  # Monday, Wednesday, Friday
FIRST_NAMES = ("Ana", "Luis", "Maria", "James", "Grace", "Wei", "Fatima", "Olu", "Ivan", "Rosa")
LAST_NAMES = (
    "Torres", "Smith", "Nguyen", "Garcia", "Okafor", "Kowalski", "Chen", "Murphy", "Haddad",
    "Silva", "Johnson", "Rossi", "Kim", "Patel", "Cohen", "Novak", "Dubois", "Sato", "Ali",
    "Larsen",
)  # fmt: skip
ERROR_CODES = ("30003", "30005", "30006", "30007", "21614")
OPEN_ESCALATIONS = 300  # of each severity, and a third as many acknowledged
AUDIT_ENTRIES = 5000
BODIES = {
    "foot_check": "Riverside PT: Time for your foot check: tops, soles, heels and between "
    "the toes. A mirror or a helper is fine. Reply 1 if all OK, 2 if something is new.",
    "exercise": "Riverside PT: Time for today's exercises: seated calf stretch, heel raises. "
    "Reply DONE and your pain 0-10 (e.g. DONE 3), or SKIP.",
    "session": "Riverside PT: Reminder: your session is tomorrow at 10:30. Reply C to "
    "confirm or R to reschedule.",
    "foot_ok": "Thanks! Keep checking every day.",
    "foot_followup": "What is new? 1 open sore, 2 red/hot/swollen, 3 blister, 4 other.",
    "exercise_done": "Well done, thank you.",
    "exercise_skipped": "Thanks for telling us. Try again next time.",
    "session_confirmed": "Thanks, see you then.",
    "unknown": "Sorry, we did not understand. Reply HELP for help.",
}


@dataclass(frozen=True)
class Page:
    name: str  # as shown in the table; {id} stands for the patient's id
    url: str


def pages(count: int) -> list[Page]:
    patient = f"B-{min(1234, count)}"
    today = NOW.date()
    year_ago = today - timedelta(days=365)
    return [
        Page("/", "/"),
        Page("/today/escalations", "/today/escalations"),
        Page("/patients", "/patients"),
        Page("/patients?q=Torres", "/patients?q=Torres"),
        Page("/patients?q=617555", "/patients?q=617555"),
        Page("/patients/{id}", f"/patients/{patient}"),
        Page("/patients/{id}/thread", f"/patients/{patient}/thread"),
        Page("/escalations", "/escalations"),
        Page("/messages", "/messages"),
        Page("/messages?status=failed", "/messages?status=failed"),
        Page("/report", "/report"),
        Page("/report (a year)", f"/report?start={year_ago}&end={today}"),
        Page("/audit", "/audit"),
    ]


def main() -> None:
    args = parse_args()
    progress = Console(stderr=True)
    with database(args) as url:
        engine = make_engine(url)
        try:
            seeded = seed_if_empty(engine, args.patients, progress)
            if args.explain:
                # A page's statements and their plans, for profiling: see explain().
                explain(engine, args.explain)
                return
            first_read_ms = time_report_year(engine)
            progress.print(f"first year report after seeding: {first_read_ms:.0f} ms")
            results = measure(engine, args.patients, args.repeat, args.only, progress)
            dirty_ms, worker_ms, alone_ms = time_dirty_day(engine)
            progress.print(
                f"a day of texts changed: year report {dirty_ms:.0f} ms while a worker keeps"
                f" the rollups; the worker's recount {worker_ms:.0f} ms; the same read with"
                f" no worker (it recounts first) {alone_ms:.0f} ms"
            )
        finally:
            engine.dispose()
    summary = {
        "database": database_name(url),
        "cores": cores(),
        "patients": args.patients,
        "repeat": args.repeat,
        "client": "fastapi.testclient.TestClient (in process)",
        **seeded,
        # The year's report page (median of the timed GETs, rollups up to date), the first
        # read after seeding (every seeded day recounted from the marks the triggers left),
        # and after a day of writes: the read while a worker keeps the rollups (they are
        # summed as they are), the worker's recount of that day, and the read with no
        # worker (it recounts that day first).
        "report_year_ms": next(
            (r["median_ms"] for r in results if r["page"] == "/report (a year)"), None
        ),
        "report_first_read_ms": round(first_read_ms, 1),
        "report_dirty_day_ms": round(dirty_ms, 1),
        "report_worker_recount_ms": round(worker_ms, 1),
        "report_dirty_day_no_worker_ms": round(alone_ms, 1),
        "pages": results,
    }
    emit(summary, args.json, print_table)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--patients", type=int, default=20_000, help="default 20000")
    add_run_options(parser, 5, "timed GETs per page, default 5", "a private schema")
    parser.add_argument(
        "--database-file",
        type=Path,
        help="a SQLite file to seed if it does not exist and to reuse as it is if it does "
        "(migrated to the newest schema first)",
    )
    parser.add_argument("--only", action="append", help="time only pages whose name has this")
    parser.add_argument(
        "--explain", metavar="URL", help="print each SQL statement a GET of URL runs, and its plan"
    )
    args = parser.parse_args()
    if args.patients < 1 or args.repeat < 1:
        parser.error("--patients and --repeat must be at least 1")
    if args.database_file and args.database_url:
        parser.error("give --database-url or --database-file, not both")
    return args


@contextmanager
def database(args: argparse.Namespace) -> Iterator[str]:
    if args.database_file is None:
        with fresh_database(args.database_url) as url:
            yield url
        return
    url = f"sqlite:///{args.database_file.resolve()}"
    upgrade(url)
    yield url


# Seeding.


@dataclass
class Ids:
    """The next id of each table: rows are inserted with explicit ids so that replies can
    point at their question and answers at their reply without reading anything back."""

    reminder: int = 0
    outbound: int = 0
    inbound: int = 0
    observation: int = 0
    appointment: int = 0
    consent: int = 0

    def next(self, name: str) -> int:
        value = int(getattr(self, name)) + 1
        setattr(self, name, value)
        return value


@dataclass
class Rows:
    patients: list[dict[str, Any]] = field(default_factory=list)
    care_plans: list[dict[str, Any]] = field(default_factory=list)
    plan_phases: list[dict[str, Any]] = field(default_factory=list)
    consent_events: list[dict[str, Any]] = field(default_factory=list)
    appointments: list[dict[str, Any]] = field(default_factory=list)
    reminders: list[dict[str, Any]] = field(default_factory=list)
    outbound: list[dict[str, Any]] = field(default_factory=list)
    inbound: list[dict[str, Any]] = field(default_factory=list)
    observations: list[dict[str, Any]] = field(default_factory=list)

    def tables(self) -> list[tuple[Any, list[dict[str, Any]]]]:
        # In foreign-key order.
        return [
            (patients, self.patients),
            (care_plans, self.care_plans),
            (plan_phases, self.plan_phases),
            (consent_events, self.consent_events),
            (appointment_table, self.appointments),
            (reminders, self.reminders),
            (outbound_messages, self.outbound),
            (inbound_messages, self.inbound),
            (observations, self.observations),
        ]


@cache
def instant(day: date, clock_time: time, zone_name: str) -> datetime:
    return at_local(day, clock_time, ZoneInfo(zone_name))


def seed_if_empty(engine: Engine, count: int, progress: Console) -> dict[str, Any]:
    with engine.connect() as conn:
        existing = conn.execute(select(func.count()).select_from(patients)).scalar_one()
    if existing:
        if existing != count:
            raise SystemExit(f"the database holds {existing} patients, not {count}")
        progress.print(f"reusing the seeded database ({existing} patients)")
        return {"seed_seconds": None, "plan_seconds": None, "rows": row_counts(engine)}
    started = timer.perf_counter()
    ids = Ids()
    for first in range(1, count + 1, CHUNK):
        rows = Rows()
        for n in range(first, min(first + CHUNK, count + 1)):
            add_patient(rows, ids, n, random.Random(n))
        with engine.begin() as conn:
            for table, values in rows.tables():
                if values:
                    conn.execute(insert(table), values)
        progress.print(f"seeded {min(first + CHUNK - 1, count):,} of {count:,} patients")
    with engine.begin() as conn:
        add_staff_work(conn, count, ids, random.Random(0))
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            for table in (*[t for t, _ in Rows().tables()], escalations, audit_events):
                # Explicit ids leave the serial behind; keep it ahead for later inserts.
                conn.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                        f"(SELECT coalesce(max(id), 0) + 1 FROM {table.name}), false)"
                    )
                )
    seed_seconds = timer.perf_counter() - started
    progress.print(f"seeded in {seed_seconds:.0f} s; planning the coming two weeks")
    started = timer.perf_counter()
    plan_due(engine, Settings(), NOW)
    plan_seconds = timer.perf_counter() - started
    add_user(engine, USERNAME, "Bench Admin", PASSWORD, Role.ADMIN, NOW)
    if engine.dialect.name == "postgresql":
        # What autovacuum would have done by the time anyone opens a page.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    return {"seed_seconds": round(seed_seconds, 1), "plan_seconds": round(plan_seconds, 1),
            "rows": row_counts(engine)}  # fmt: skip


def row_counts(engine: Engine) -> dict[str, int]:
    tables = (*[t for t, _ in Rows().tables()], escalations, audit_events)
    with engine.connect() as conn:
        return {
            t.name: conn.execute(select(func.count()).select_from(t)).scalar_one() for t in tables
        }


def add_patient(rows: Rows, ids: Ids, n: int, rng: random.Random) -> None:
    zone_name = ZONES[n % len(ZONES)]
    zone = ZoneInfo(zone_name)
    started = NOW - HISTORY - timedelta(days=n % 56)
    opted_out = n % 97 == 0
    paused = not opted_out and n % 53 == 0
    number = phone(n - 1)
    rows.patients.append(
        {
            "id": n,
            "external_id": f"B-{n}",
            "first_name": FIRST_NAMES[n % len(FIRST_NAMES)],
            "last_name": LAST_NAMES[(n // len(FIRST_NAMES)) % len(LAST_NAMES)],
            "phone": number,
            "timezone": zone_name,
            "language": "es" if n % 3 == 0 else "en",
            "consent_state": ConsentState.GRANTED,
            "opted_out": opted_out,
            "paused": paused,
            "pain_baseline": 2,
            "created_at": started,
            "updated_at": started,
        }
    )
    foot_time = FOOT_CHECK_TIMES[n % len(FOOT_CHECK_TIMES)]
    exercise_time = EXERCISE_TIMES[n % len(EXERCISE_TIMES)]
    session_time = SESSION_TIMES[n % len(SESSION_TIMES)]
    rows.care_plans.append(
        {
            "id": n,
            "patient_id": n,
            "version": 1,
            "start_date": started.date(),
            "end_date": None,
            "foot_check_time": foot_time,
            "exercise_days": "mon,wed,fri",
            "exercise_time": exercise_time,
            "exercises": "seated calf stretch\nheel raises",
            "planned_until": None,
            "updated_at": started,
        }
    )
    rows.plan_phases.append(
        {"id": n, "plan_id": n, "seq": 1, "weekdays": "mon,thu", "session_time": session_time,
         "weeks": 52}
    )  # fmt: skip
    rows.consent_events.append(
        {"id": ids.next("consent"), "patient_id": n, "at": started, "event": "granted",
         "source": "sms", "detail": None}
    )  # fmt: skip
    if opted_out:
        rows.consent_events.append(
            {"id": ids.next("consent"), "patient_id": n, "at": NOW - timedelta(days=n % 28),
             "event": "opted_out", "source": "sms", "detail": None}
        )  # fmt: skip
    first_day = (NOW - HISTORY).astimezone(zone).date() - timedelta(days=1)
    for offset in range(31):
        day = first_day + timedelta(days=offset)
        history_prompt(rows, ids, rng, n, number, "foot_check", instant(day, foot_time, zone_name))
        if day.weekday() in EXERCISE_DAYS:
            at = instant(day, exercise_time, zone_name)
            history_prompt(rows, ids, rng, n, number, "exercise", at)
        if day.weekday() in SESSION_DAYS:
            starts_at = instant(day, session_time, zone_name)
            history_session(rows, ids, rng, n, number, starts_at)


def history_prompt(
    rows: Rows, ids: Ids, rng: random.Random, n: int, number: str, kind: str, at: datetime
) -> int | None:
    """A question sent at `at`, if that is within the history: its reminder, the text, and
    perhaps an answer (the reply, what it told us, and the text answering it)."""
    if not NOW - HISTORY <= at < NOW:
        return None
    reminder_id, message_id = ids.next("reminder"), ids.next("outbound")
    failed = rng.random() < 0.01
    reply_until = at + timedelta(hours=18)
    rows.reminders.append(
        {"id": reminder_id, "patient_id": n, "kind": kind, "occurrence": f"h:{at.isoformat()}",
         "appointment_id": None, "send_at": at, "expires_at": reply_until, "state": "sent",
         "skip_reason": None, "attempts": 1, "lease_until": None, "claimed_by": None,
         "plan_version": 1, "created_at": at - timedelta(days=14), "updated_at": at}
    )  # fmt: skip
    message = {
        "id": message_id, "patient_id": n, "reminder_id": reminder_id, "template": kind,
        "prompt": kind, "prompt_ref": None, "reply_until": reply_until, "answered_at": None,
        "to_phone": number, "body": BODIES[kind], "encoding": "GSM-7", "segments": 2,
        "counts_toward_cap": True, "provider": "twilio", "provider_sid": f"SM{message_id:032x}",
        "status": "delivered", "error_code": None, "error_message": None, "created_at": at,
        "sent_at": at + timedelta(seconds=2),
    }  # fmt: skip
    rows.outbound.append(message)
    if failed:
        message["status"] = rng.choice(("failed", "undelivered"))
        message["error_code"] = rng.choice(ERROR_CODES)
        return message_id
    answered_at = at + timedelta(minutes=rng.randint(2, 600))
    chance = rng.random()
    if answered_at >= NOW:
        return message_id
    answer: tuple[str, str, str, int | None, str]
    if kind == "foot_check" and chance < 0.6:
        problem = chance < 0.03
        answer = ("foot_problem", "2", "foot_problem", None, "foot_followup") if problem else (
            "foot_ok", "1", "foot_ok", None, "foot_ok")  # fmt: skip
    elif kind == "exercise" and chance < 0.6:
        pain = rng.randint(0, 8)
        answer = (
            ("exercise_done", f"DONE {pain}", "exercise_done", pain, "exercise_done")
            if chance < 0.5
            else ("exercise_skip", "SKIP", "exercise_skipped", None, "exercise_skipped")
        )
    else:
        return message_id
    message["answered_at"] = answered_at
    answer_prompt(rows, ids, n, number, message_id, answered_at, *answer)
    return message_id


def answer_prompt(
    rows: Rows, ids: Ids, n: int, number: str, prompt_id: int, at: datetime,
    intent: str, body: str, observed: str, value: int | None, reply_template: str,
) -> None:  # fmt: skip
    inbound_id = ids.next("inbound")
    rows.inbound.append(
        {"id": inbound_id, "provider_sid": f"SMi{inbound_id:031x}", "from_phone": number,
         "to_phone": "+16175550100", "body": body, "raw": "{}", "received_at": at,
         "patient_id": n, "prompt_id": prompt_id, "intent": intent, "needs_review": False,
         "processed_at": at, "error": None}
    )  # fmt: skip
    rows.observations.append(
        {"id": ids.next("observation"), "patient_id": n, "inbound_id": inbound_id,
         "kind": observed, "value": value, "at": at}
    )  # fmt: skip
    message_id = ids.next("outbound")
    rows.outbound.append(
        {"id": message_id, "patient_id": n, "reminder_id": None, "template": reply_template,
         "prompt": "foot_followup" if reply_template == "foot_followup" else None,
         "prompt_ref": None, "reply_until": at + timedelta(hours=24)
         if reply_template == "foot_followup" else None, "answered_at": None, "to_phone": number,
         "body": BODIES[reply_template], "encoding": "GSM-7", "segments": 1,
         "counts_toward_cap": False, "provider": "twilio", "provider_sid": f"SM{message_id:032x}",
         "status": "delivered", "error_code": None, "error_message": None, "created_at": at,
         "sent_at": at}
    )  # fmt: skip


def history_session(
    rows: Rows, ids: Ids, rng: random.Random, n: int, number: str, starts_at: datetime
) -> None:
    """A session whose 24-hour reminder went out within the history."""
    send_at = starts_at - timedelta(hours=24)
    if not NOW - HISTORY <= send_at < NOW:
        return
    appointment_id = ids.next("appointment")
    chance = rng.random()
    status = "scheduled"
    if chance < 0.03:
        status = "cancelled"
    elif chance < 0.08:
        status = "reschedule_requested"
    elif chance < 0.53:
        status = "confirmed"
    # What staff marked: cancellations with their notice, and for sessions that have
    # passed, attended or no-show (more often missed when never confirmed).
    attendance, cancelled_at = None, None
    if status == "cancelled":
        attendance = "cancelled_by_patient" if rng.random() < 0.8 else "cancelled_by_clinic"
        cancelled_at = starts_at - timedelta(hours=rng.randint(1, 72))
    elif starts_at < NOW and status in ("scheduled", "confirmed"):
        missed = rng.random() < (0.05 if status == "confirmed" else 0.15)
        attendance = "no_show" if missed else "attended"
    rows.appointments.append(
        {"id": appointment_id, "patient_id": n, "starts_at": starts_at, "source": "plan",
         "status": status, "updated_at": send_at, "attendance": attendance,
         "cancelled_at": cancelled_at,
         "marked_at": starts_at + timedelta(hours=2) if attendance else None}
    )  # fmt: skip
    reminder_id, message_id = ids.next("reminder"), ids.next("outbound")
    rows.reminders.append(
        {"id": reminder_id, "patient_id": n, "kind": "session",
         "occurrence": f"{appointment_id}:24", "appointment_id": appointment_id,
         "send_at": send_at, "expires_at": starts_at, "state": "sent", "skip_reason": None,
         "attempts": 1, "lease_until": None, "claimed_by": None, "plan_version": 1,
         "created_at": send_at - timedelta(days=14), "updated_at": send_at}
    )  # fmt: skip
    answered_at = send_at + timedelta(minutes=rng.randint(2, 300))
    replied = status in ("confirmed", "reschedule_requested") and answered_at < NOW
    rows.outbound.append(
        {"id": message_id, "patient_id": n, "reminder_id": reminder_id, "template": "session",
         "prompt": "session", "prompt_ref": appointment_id, "reply_until": starts_at,
         "answered_at": answered_at if replied else None, "to_phone": number,
         "body": BODIES["session"], "encoding": "GSM-7", "segments": 1,
         "counts_toward_cap": True, "provider": "twilio", "provider_sid": f"SM{message_id:032x}",
         "status": "delivered", "error_code": None, "error_message": None,
         "created_at": send_at, "sent_at": send_at + timedelta(seconds=2)}
    )  # fmt: skip
    if replied and status == "confirmed":
        answer_prompt(rows, ids, n, number, message_id, answered_at, "session_confirm", "C",
                      "session_confirmed", None, "session_confirmed")  # fmt: skip
    elif replied:
        answer_prompt(rows, ids, n, number, message_id, answered_at, "session_reschedule", "R",
                      "reschedule_requested", None, "session_confirmed")  # fmt: skip


def add_staff_work(conn: Any, count: int, ids: Ids, rng: random.Random) -> None:
    """Escalations (open, acknowledged, resolved), replies that need a look, reminders that
    failed, and the audit log."""
    found: list[dict[str, Any]] = []
    severities = {"urgent": "foot_open_sore", "routine": "foot_blister", "review": "foot_other"}
    resolved = count // 4
    for number in range(3 * (OPEN_ESCALATIONS + OPEN_ESCALATIONS // 3) + resolved):
        severity = list(severities)[number % 3]
        created = NOW - timedelta(minutes=rng.randint(5, int(HISTORY.total_seconds() // 60)))
        state = number // 3
        acknowledged = resolved_at = None
        if state >= OPEN_ESCALATIONS:
            acknowledged = created + timedelta(minutes=rng.randint(1, 120))
        if state >= OPEN_ESCALATIONS + OPEN_ESCALATIONS // 3:
            resolved_at = acknowledged
        if acknowledged and acknowledged > NOW:
            acknowledged = resolved_at = NOW
        found.append(
            {"id": number + 1, "patient_id": rng.randint(1, count), "inbound_id": None,
             "severity": severity, "reason": severities[severity], "detail": "from a reply",
             "created_at": created, "acknowledged_at": acknowledged, "acknowledged_by": None,
             "resolved_at": resolved_at, "resolved_by": None,
             "notified_at": created if severity == "urgent" else None,
             "note": "Called the patient." if resolved_at else None}
        )  # fmt: skip
    conn.execute(insert(escalations), found)
    unknown = []
    for _ in range(max(50, count // 100)):
        at = NOW - timedelta(minutes=rng.randint(1, int(HISTORY.total_seconds() // 60)))
        n = rng.randint(1, count)
        inbound_id = ids.next("inbound")
        unknown.append(
            {"id": inbound_id, "provider_sid": f"SMi{inbound_id:031x}", "from_phone": phone(n - 1),
             "to_phone": "+16175550100", "body": "is this the clinic? what time tomorrow",
             "raw": "{}", "received_at": at, "patient_id": n, "prompt_id": None,
             "intent": "unknown", "needs_review": rng.random() < 0.3, "processed_at": at,
             "error": None}
        )  # fmt: skip
    conn.execute(insert(inbound_messages), unknown)
    failed = []
    for _ in range(max(20, count // 200)):
        at = NOW - timedelta(minutes=rng.randint(1, 7 * 24 * 60))
        failed.append(
            {"id": ids.next("reminder"), "patient_id": rng.randint(1, count), "kind": "exercise",
             "occurrence": f"failed:{at.isoformat()}", "appointment_id": None, "send_at": at,
             "expires_at": at + timedelta(hours=18), "state": "failed",
             "skip_reason": "template_error", "attempts": 1, "lease_until": None,
             "claimed_by": None, "plan_version": 1, "created_at": at, "updated_at": at}
        )  # fmt: skip
    conn.execute(insert(reminders), failed)
    actions = (
        "patient_updated", "escalation_acknowledged", "escalation_resolved", "reply_reviewed",
        "session_cancelled", "patient_paused", "sign_in_failed",
    )  # fmt: skip
    entries = []
    for number in range(AUDIT_ENTRIES):
        action = actions[number % len(actions)]
        entries.append(
            {"id": number + 1,
             "at": NOW - HISTORY + HISTORY * number / AUDIT_ENTRIES, "user_id": None,
             "username": "someone", "action": action,
             "patient_id": None if action == "sign_in_failed" else rng.randint(1, count),
             "detail": json.dumps({"phone": ["+16175550142", "+16175550143"]})}
        )  # fmt: skip
    conn.execute(insert(audit_events), entries)


# Measuring.


def signed_in_client(engine: Engine) -> TestClient:
    settings = Settings()
    app = create_app(
        engine, settings, None, Renderer(settings.templates_dir, settings), ManualClock(NOW), SECRET
    )
    client = TestClient(app)
    login = client.get("/login")
    token = login.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    form = {"csrf_token": token, "username": USERNAME, "password": PASSWORD}
    signed = client.post("/login", data=form, follow_redirects=False)
    if signed.status_code != 303:
        raise SystemExit(f"signing in failed: {signed.status_code}")
    return client


def measure(
    engine: Engine, count: int, repeat: int, only: list[str] | None, progress: Console
) -> list[dict[str, Any]]:
    client = signed_in_client(engine)
    results = []
    for page in pages(count):
        if only and not any(part in page.name for part in only):
            continue
        warm = client.get(page.url)
        if warm.status_code != 200:
            raise SystemExit(f"{page.url} answered {warm.status_code}:\n{warm.text[:2000]}")
        timings = []
        for _ in range(repeat):
            started = timer.perf_counter()
            response = client.get(page.url)
            timings.append((timer.perf_counter() - started) * 1000)
            if response.status_code != 200:
                raise SystemExit(f"{page.url} answered {response.status_code}")
        median = statistics.median(timings)
        target = TIGHT_TARGET_MS.get(page.name, TARGET_MS)
        results.append(
            {
                "page": page.name,
                "url": page.url,
                "median_ms": round(median, 1),
                "max_ms": round(max(timings), 1),
                "kb": round(len(warm.content) / 1024, 1),
                "target_ms": target,
                "passed": median < target,
            }
        )
        progress.print(f"{page.name}: {median:.0f} ms")
    return results


def time_report_year(engine: Engine) -> float:
    """One year's report built as the page builds it, in milliseconds."""
    settings = Settings()
    zone = settings.clinic_zone
    today = NOW.astimezone(zone).date()
    span = report.DateRange(today - timedelta(days=report.MAX_DAYS - 1), today)
    started = timer.perf_counter()
    report.build(engine, zone, span, NOW, settings.late_cancel_hours)
    return (timer.perf_counter() - started) * 1000


def time_dirty_day(engine: Engine) -> tuple[float, float, float]:
    """A day of writes: yesterday's texts all change (answered now), so the triggers mark
    that day. Then, in milliseconds: the year's report while a worker keeps the rollups
    (it recounted a moment ago: the read sums the days as they are and says so), the
    worker's recount of the marked day, and the same writes read with no worker (the read
    recounts the day first)."""
    zone = Settings().clinic_zone
    yesterday = NOW - timedelta(days=1)

    def change(value: datetime) -> None:
        with engine.begin() as conn:
            conn.execute(
                update(outbound_messages)
                .where(
                    outbound_messages.c.created_at >= yesterday - timedelta(hours=12),
                    outbound_messages.c.created_at < yesterday + timedelta(hours=12),
                    outbound_messages.c.prompt.is_not(None),
                )
                .values(answered_at=value)
            )

    report.keep(engine, zone, NOW)
    change(NOW)
    kept_ms = time_report_year(engine)
    started = timer.perf_counter()
    report.keep(engine, zone, NOW)
    worker_ms = (timer.perf_counter() - started) * 1000
    with engine.begin() as conn:  # the worker is gone
        conn.execute(delete(report_meta).where(report_meta.c.name == rollups.REFRESHED))
    change(NOW - timedelta(minutes=1))
    return kept_ms, worker_ms, time_report_year(engine)


def explain(engine: Engine, url: str) -> None:
    """Every statement one GET of `url` runs, its time and its query plan."""
    from sqlalchemy import event

    client = signed_in_client(engine)
    seen: list[tuple[str, Any, float]] = []

    @event.listens_for(engine, "before_cursor_execute")
    def before(
        conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: Any
    ) -> None:
        conn.info["started"] = timer.perf_counter()

    @event.listens_for(engine, "after_cursor_execute")
    def after(
        conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: Any
    ) -> None:
        seen.append((statement, parameters, (timer.perf_counter() - conn.info["started"]) * 1000))

    client.get(url)
    event.remove(engine, "before_cursor_execute", before)
    event.remove(engine, "after_cursor_execute", after)
    prefix = "EXPLAIN QUERY PLAN " if engine.dialect.name == "sqlite" else "EXPLAIN ANALYZE "
    for statement, parameters, ms in seen:
        print(f"\n--- {ms:.1f} ms\n{statement}\n{parameters}")
        if not statement.lstrip().upper().startswith("SELECT") or ms < 5:
            continue
        with engine.connect() as conn:
            raw = conn.connection.cursor()
            raw.execute(prefix + statement, parameters)
            for line in raw.fetchall():
                print("   ", *line)


def print_table(summary: dict[str, Any]) -> None:
    rows = summary["rows"]
    table = Table(
        title=f"admin pages: {summary['patients']:,} patients, "
        f"{rows['outboundmessage']:,} texts out, {rows['inboundmessage']:,} in, "
        f"{rows['reminder']:,} reminders on {summary['database']}, "
        f"{summary['cores']} cores, median of {summary['repeat']} after a warm-up"
    )
    for column in ("page", "median", "max", "KB", "target", ""):
        table.add_column(column, justify="left" if column == "page" else "right")
    for page in summary["pages"]:
        table.add_row(
            page["page"],
            f"{page['median_ms']:.0f} ms",
            f"{page['max_ms']:.0f} ms",
            f"{page['kb']:.0f}",
            f"< {page['target_ms']:.0f} ms",
            "[green]pass[/]" if page["passed"] else "[red]FAIL[/]",
        )
    Console().print(table)
    if summary["seed_seconds"] is not None:
        Console().print(
            f"setup, not timed: seeding {summary['seed_seconds']} s, "
            f"planning {summary['plan_seconds']} s"
        )


if __name__ == "__main__":
    main()
