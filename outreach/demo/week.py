"""`outreach demo`: a small clinic's week, simulated in seconds.

Everything real but the patients and the clock: a throwaway SQLite database migrated by
Alembic, enrolment through the same validation as the CSV import, the planner, dispatcher,
templates and reply handling, the console transport. Simulated patients answer from a
script (demo/clinic.py); the transcript and the counts are read back from the database
afterwards (demo/printout.py, demo/tally.py).
"""

from __future__ import annotations

import io
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from rich.console import Console
from sqlalchemy import Engine, select

from outreach.clock import ManualClock
from outreach.config import Settings
from outreach.db.engine import make_engine, upgrade
from outreach.db.tables import outbound_messages, patients, reminders
from outreach.demo.clinic import DEMO_PATIENTS, END, START, Script, script
from outreach.demo.printout import print_summary, print_transcripts
from outreach.demo.tally import DemoResult, summarise
from outreach.patients.enrolment import PatientSpec, validate_patient
from outreach.patients.upsert import import_specs
from outreach.replies import inbound
from outreach.rules.vocabulary import ReminderState
from outreach.runtime import Service
from outreach.texts.render import Renderer
from outreach.transports.console import ConsoleTransport


def run_demo(
    console: Console, database: Path | None = None, settings: Settings | None = None
) -> DemoResult:
    """The week on `database` (new or empty: see demo/database.py), or on a temporary file
    deleted afterwards, when `database` is None (the result's `database` is None then)."""
    if database is not None:
        return _run(console, database, settings or Settings())
    with tempfile.TemporaryDirectory(prefix="outreach-demo-") as folder:
        result = _run(console, Path(folder) / "demo.db", settings or Settings())
    result.database = None
    return result


def _run(console: Console, database: Path, settings: Settings) -> DemoResult:
    url = f"sqlite:///{database}"
    upgrade(url)
    engine = make_engine(url)
    clock = ManualClock(START)
    transport = ConsoleTransport(stream=io.StringIO())  # the transcript comes from the database
    renderer = Renderer(settings.templates_dir, settings)
    service = Service(engine, settings, clock, transport, renderer, worker_id="demo")

    enrol(engine, settings, clock.now())
    simulate(engine, settings, clock, service, renderer, transport, script)
    result = summarise(engine, database)
    print_transcripts(console, engine)
    print_summary(console, result)
    engine.dispose()
    return result


def enrol(engine: Engine, settings: Settings, now: datetime) -> None:
    specs: list[tuple[int, PatientSpec]] = []
    for line, row in enumerate(DEMO_PATIENTS, start=2):
        spec = validate_patient(row, settings, line)
        if isinstance(spec, list):
            raise RuntimeError(f"demo patient {row['patient_id']} is invalid: {spec}")
        specs.append((line, spec))
    report = import_specs(engine, settings, specs, now)
    if report.errors:
        raise RuntimeError(f"demo enrolment failed: {report.errors}")


def simulate(
    engine: Engine,
    settings: Settings,
    clock: ManualClock,
    service: Service,
    renderer: Renderer,
    transport: ConsoleTransport,
    answer: Script,
) -> None:
    """Jump the clock from one event to the next: a reminder falling due, a patient's answer,
    or a new UTC day for the planner."""
    pending_answers: list[tuple[datetime, str, str]] = []
    seen = 0
    while clock.now() < END:
        service.tick()
        seen = _queue_answers(engine, seen, pending_answers, answer)
        now = clock.now()
        due = [a for a in pending_answers if a[0] <= now]
        if due:
            for when, phone, text in due:
                pending_answers.remove((when, phone, text))
                inbound.receive(
                    engine, settings, renderer, transport, now, from_phone=phone, body=text
                )
            continue  # tick again at this moment: a reply can start a plan or stop one
        clock.set(min(_next_moment(engine, now, pending_answers), END))


def _queue_answers(
    engine: Engine, seen: int, pending: list[tuple[datetime, str, str]], answer: Script
) -> int:
    """Decide how each simulated patient answers the questions sent since `seen`."""
    with engine.begin() as conn:
        rows = conn.execute(
            select(
                outbound_messages.c.id,
                outbound_messages.c.prompt,
                outbound_messages.c.created_at,
                patients.c.external_id,
                patients.c.phone,
                patients.c.timezone,
            )
            .join(patients, patients.c.id == outbound_messages.c.patient_id)
            .where(outbound_messages.c.id > seen)
            .order_by(outbound_messages.c.id)
        ).all()
    for row in rows:
        seen = row.id
        if row.prompt is None:
            continue
        weekday = row.created_at.astimezone(ZoneInfo(row.timezone)).strftime("%a")
        planned = answer(row.external_id, row.prompt, weekday)
        if planned is not None:
            minutes, text = planned
            pending.append((row.created_at + timedelta(minutes=minutes), row.phone, text))
    return seen


def _next_moment(
    engine: Engine, now: datetime, pending: list[tuple[datetime, str, str]]
) -> datetime:
    with engine.begin() as conn:
        next_send = conn.execute(
            select(reminders.c.send_at)
            .where(reminders.c.state == ReminderState.PENDING, reminders.c.send_at > now)
            .order_by(reminders.c.send_at)
            .limit(1)
        ).scalar()
    next_day = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
    candidates = [next_day] + [a[0] for a in pending]
    if next_send is not None:
        candidates.append(next_send)
    return min(candidates)
