"""What staff change about a patient: add and edit (through the same import code as a CSV
file), sessions entered by hand, pause and resume. Each change writes its audit entry in
its own transaction, then plans at once so the page shows the reminders it made.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, select, update
from sqlalchemy.exc import IntegrityError

from outreach.accounts import audit
from outreach.accounts.users import Staff
from outreach.config import ConfigError, Settings
from outreach.db.engine import session_scope
from outreach.db.tables import appointment_table, patients
from outreach.outbox import commands
from outreach.patients import consent, upsert
from outreach.patients.enrolment import PatientSpec, validate_patient
from outreach.patients.fields import FieldError
from outreach.patients.form import PatientForm, spec_columns
from outreach.patients.storedplan import stored_spec
from outreach.planning import planner
from outreach.rules.localtime import at_local, parse_hhmm
from outreach.rules.readabletime import readable_time
from outreach.rules.vocabulary import AppointmentStatus, SkipReason

LIVE = (
    AppointmentStatus.SCHEDULED,
    AppointmentStatus.CONFIRMED,
    AppointmentStatus.RESCHEDULE_REQUESTED,
)


class PatientNotFound(LookupError):
    """No patient has this id (the page answers 404)."""


@dataclass(frozen=True)
class Saved:
    external_id: str
    change: str  # created, updated or unchanged


def create_patient(
    engine: Engine, settings: Settings, who: Staff, columns: Mapping[str, str], now: datetime
) -> Saved | list[FieldError]:
    """Enrol a new patient from the form's CSV columns; a taken id is an error here, where
    the import would update that patient instead."""
    spec = validate_patient(columns, settings)
    if isinstance(spec, list):
        return spec
    return _save(engine, settings, who, spec, now, new=True)


def update_patient(
    engine: Engine,
    settings: Settings,
    who: Staff,
    external_id: str,
    columns: Mapping[str, str],
    now: datetime,
) -> Saved | list[FieldError]:
    """Save an edit. The id is the page's: changing it would enrol someone new."""
    spec = validate_patient({**columns, "patient_id": external_id}, settings)
    if isinstance(spec, list):
        return spec
    return _save(engine, settings, who, spec, now, new=False)


def _save(
    engine: Engine, settings: Settings, who: Staff, spec: PatientSpec, now: datetime, *, new: bool
) -> Saved | list[FieldError]:
    try:
        with session_scope(engine) as session:
            conn = session.connection()
            before = stored_spec(conn, spec.external_id)
            if new and before is not None:
                reason = "is already the ID of another patient"
                return [FieldError(0, "patient_id", spec.external_id, reason)]
            if not new and before is None:
                raise PatientNotFound(spec.external_id)
            report = upsert.import_into(session, settings, [(0, spec)], now, source="staff")
            if report.errors:
                session.rollback()
                return report.errors
            if report.unchanged:
                return Saved(spec.external_id, "unchanged")
            action = "patient_created" if new else "patient_updated"
            old = spec_columns(before) if before is not None else {}
            audit.record(
                session.connection(),
                who,
                action,
                now,
                _row_id(session.connection(), spec.external_id),
                audit.changes(old, spec_columns(spec)),
            )
    except IntegrityError:
        # Another save took this phone or id between our check and our write.
        reason = "was just given to another patient; check the values and save again"
        return [FieldError(0, "phone", spec.phone, reason)]
    planner.plan_due(engine, settings, now)
    return Saved(spec.external_id, "created" if new else "updated")


def stored_columns(engine: Engine, external_id: str) -> dict[str, str] | None:
    """The edit form's starting values."""
    with engine.connect() as conn:
        spec = stored_spec(conn, external_id)
    return spec_columns(spec) if spec is not None else None


def _row_id(conn: Connection, external_id: str) -> int:
    found = conn.execute(select(patients.c.id).where(patients.c.external_id == external_id))
    return int(found.scalar_one())


def _patient(conn: Connection, external_id: str) -> Any:
    row = conn.execute(select(patients).where(patients.c.external_id == external_id)).first()
    if row is None:
        raise PatientNotFound(external_id)
    return row


def add_session(
    engine: Engine,
    settings: Settings,
    who: Staff,
    external_id: str,
    day_text: str,
    time_text: str,
    now: datetime,
) -> dict[str, list[str]]:
    """A session on one date at a local time, outside the plan's recurrence. Returns the
    form's field errors; empty when it was added."""
    day, at, errors = _session_time(day_text.strip(), time_text.strip())
    with engine.begin() as conn:
        patient = _patient(conn, external_id)
        if day is None or at is None:
            return errors
        starts_at = at_local(day, at, ZoneInfo(patient.timezone))
        if starts_at <= now:
            return {"session_date": ["That time has already passed; pick a future one."]}
        A = appointment_table
        clash = conn.execute(
            select(A.c.id, A.c.status).where(
                A.c.patient_id == patient.id, A.c.starts_at == starts_at
            )
        ).first()
        if clash is not None and clash.status in LIVE:
            return {"session_time": ["There is already a session at that time."]}
        values = {"source": "manual", "status": AppointmentStatus.SCHEDULED, "updated_at": now}
        if clash is not None:  # a cancelled or superseded one comes back as entered
            conn.execute(update(A).where(A.c.id == clash.id).values(**values))
            # A cancellation is final to the planner; marked superseded, the reminders it
            # skipped are made again by the run below.
            commands.restore_appointment(conn, clash.id, now)
        else:
            conn.execute(A.insert().values(patient_id=patient.id, starts_at=starts_at, **values))
        # The planner makes session reminders for appointments in the window it plans next.
        commands.replan(conn, patient.id, now)
        # The patient's wall clock, labelled: the audit log is read in clinic time.
        local = readable_time(starts_at, patient.timezone, "%Y-%m-%d %H:%M")
        audit.record(conn, who, "session_added", now, patient.id, {"starts_at": local})
    planner.plan_due(engine, settings, now)
    return {}


def _session_time(
    day_text: str, time_text: str
) -> tuple[date | None, time | None, dict[str, list[str]]]:
    errors: dict[str, list[str]] = {}
    day = at = None
    try:
        day = date.fromisoformat(day_text)
    except ValueError:
        errors["session_date"] = ["Enter the date as YYYY-MM-DD, like 2026-12-01."]
    try:
        at = parse_hhmm(time_text, "session_time")
    except ConfigError:
        errors["session_time"] = ["Enter a 24-hour time written HH:MM, like 14:30."]
    return day, at, errors


def set_paused(
    engine: Engine, settings: Settings, who: Staff, external_id: str, paused: bool, now: datetime
) -> bool:
    """Pause (nothing more is sent; the consent text may still go) or resume (the plan is
    made again from now). False when the patient already was in that state."""
    with engine.begin() as conn:
        patient = _patient(conn, external_id)
        changed = conn.execute(
            update(patients)
            .where(patients.c.id == patient.id, patients.c.paused.is_(not paused))
            .values(paused=paused, updated_at=now)
        ).rowcount
        if changed != 1:
            return False
        if paused:
            commands.skip_pending(conn, patient.id, SkipReason.PAUSED, now, keep_consent=True)
        else:
            commands.replan(conn, patient.id, now)
        action = "patient_paused" if paused else "patient_resumed"
        audit.record(conn, who, action, now, patient.id, {"paused": [not paused, paused]})
    if not paused:
        planner.plan_due(engine, settings, now)
    return True


OPT_OUT_REASON_MAX = 200


def record_opt_out(
    engine: Engine, who: Staff, external_id: str, reason: str, now: datetime
) -> bool:
    """A patient asked staff, not by text, to stop: opted out at once, as a STOP would.
    Only the patient can opt back in, by texting START: consent to texts is theirs to give.
    False when they already were opted out."""
    detail = " ".join(reason.split())[:OPT_OUT_REASON_MAX] or "asked staff to stop texts"
    with engine.begin() as conn:
        patient = _patient(conn, external_id)
        if not consent.opt_out(conn, patient.id, now, "staff", f"{who.username}: {detail}"):
            return False
        audit.record(conn, who, "patient_opted_out", now, patient.id, {"reason": detail})
    return True


def save_form(
    engine: Engine,
    settings: Settings,
    who: Staff,
    form: PatientForm,
    now: datetime,
    external_id: str | None = None,
) -> Saved | dict[str, list[str]]:
    """Save the add (no `external_id`) or edit form; or every problem, keyed by field."""
    columns = form.columns()
    if form.problems():
        # Nothing is saved, but every other field is still checked, so one pass shows all.
        if external_id is not None:
            columns["patient_id"] = external_id
        checked = validate_patient(columns, settings)
        return form.field_errors(checked if isinstance(checked, list) else [])
    if external_id is None:
        result = create_patient(engine, settings, who, columns, now)
    else:
        result = update_patient(engine, settings, who, external_id, columns, now)
    return form.field_errors(result) if isinstance(result, list) else result
