"""Checked patients written: each created or updated by the clinic's own patient_id.

A file can be imported again after an edit: unchanged rows write nothing, changed rows
update the patient, and a changed plan supersedes the reminders made from the old one.
Consent and opt-out are never touched. `preview` says what an import would do without
writing.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, delete
from sqlmodel import Session, col, select

from outreach.config import Settings
from outreach.db.engine import session_scope
from outreach.db.tables import CarePlan, ConsentEvent, Patient, PlanPhase
from outreach.outbox import commands
from outreach.patients import waitlistrows
from outreach.patients.csvfile import read_csv
from outreach.patients.enrolment import PatientSpec
from outreach.patients.fields import FieldError
from outreach.patients.storedplan import stored_plan
from outreach.rules.namekey import name_key
from outreach.rules.schedule import PlanSpec, format_weekdays
from outreach.rules.vocabulary import ConsentEventKind, ConsentState, SkipReason

# The patient columns an import may change; consent and opt-out are deliberately absent.
PERSON_FIELDS = (
    "first_name",
    "last_name",
    "phone",
    "timezone",
    "language",
    "pain_baseline",
    "quiet_hours",
)


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[FieldError] = field(default_factory=list)
    total_rows: int = 0


def import_file(
    engine: Engine,
    settings: Settings,
    path: Path,
    now: datetime,
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Read `path` and import its good rows; the bad rows' problems are in the report."""
    specs, errors = read_csv(path, settings)
    report = import_specs(engine, settings, specs, now, progress)
    report.errors = sorted(errors + report.errors, key=lambda e: e.line)
    report.total_rows = len(specs) + len({e.line for e in errors})
    return report


def import_specs(
    engine: Engine,
    settings: Settings,
    specs: Sequence[tuple[int, PatientSpec]],
    now: datetime,
    progress: Callable[[int], None] | None = None,
    chunk: int = 500,
    source: str = "import",
) -> ImportReport:
    """Create or update each patient by external id, one transaction per chunk."""
    report = ImportReport(total_rows=len(specs))
    seen: set[str] = set()
    for begin in range(0, len(specs), chunk):
        part = specs[begin : begin + chunk]
        # Counted apart and merged after the commit, so a failed chunk adds nothing.
        done = ImportReport()
        with session_scope(engine) as session:
            _import_chunk(session, settings, part, now, seen, done, source)
        report.created += done.created
        report.updated += done.updated
        report.unchanged += done.unchanged
        report.errors.extend(done.errors)
        if progress is not None:
            progress(len(part))
    return report


def import_into(
    session: Session,
    settings: Settings,
    specs: Sequence[tuple[int, PatientSpec]],
    now: datetime,
    source: str = "import",
) -> ImportReport:
    """`import_specs` inside the caller's transaction, so the admin can write its audit
    entry with the change; `source` names who asked for consent ("staff" for a form)."""
    report = ImportReport(total_rows=len(specs))
    _import_chunk(session, settings, specs, now, set(), report, source)
    return report


@dataclass(frozen=True)
class PreviewRow:
    line: int
    spec: PatientSpec
    change: str  # new, changed or unchanged


def preview(
    engine: Engine, settings: Settings, specs: Sequence[tuple[int, PatientSpec]]
) -> tuple[list[PreviewRow], list[FieldError]]:
    """What importing `specs` would do to each row, and the rows it would refuse (a phone
    that belongs to another patient), without writing anything."""
    rows: list[PreviewRow] = []
    errors: list[FieldError] = []
    with Session(engine) as session:
        for begin in range(0, len(specs), 500):
            part = specs[begin : begin + 500]
            existing = _load_existing(session, part)
            for line, spec in part:
                refusal = _phone_refusal(existing, line, spec)
                if refusal is not None:
                    errors.append(refusal)
                    continue
                patient = existing.patients.get(spec.external_id)
                if patient is None:
                    rows.append(PreviewRow(line, spec, "new"))
                    continue
                plan, phases = _plan_of(existing, patient)
                person, plan_changed = _differences(patient, plan, phases, spec)
                change = "changed" if person or plan_changed else "unchanged"
                rows.append(PreviewRow(line, spec, change))
        session.rollback()
    return rows, errors


def _phone_refusal(existing: _Existing, line: int, spec: PatientSpec) -> FieldError | None:
    owner = existing.phone_owners.get(spec.phone)
    if owner is not None and owner != spec.external_id:
        return FieldError(line, "phone", spec.phone, f"is already the phone of patient {owner}")
    return None


def _plan_of(existing: _Existing, patient: Patient) -> tuple[CarePlan | None, list[PlanPhase]]:
    assert patient.id is not None
    plan = existing.plans.get(patient.id)
    return plan, existing.phases.get(plan.id, []) if plan and plan.id else []


@dataclass
class _Existing:
    """What the database already holds for one chunk's rows."""

    patients: dict[str, Patient]  # by external id
    plans: dict[int, CarePlan]  # by patient id
    phases: dict[int, list[PlanPhase]]  # by plan id, in order
    phone_owners: dict[str, str]  # phone -> external id


def _load_existing(session: Session, part: Sequence[tuple[int, PatientSpec]]) -> _Existing:
    ids = [spec.external_id for _, spec in part]
    query = select(Patient).where(col(Patient.external_id).in_(ids))
    patients = {p.external_id: p for p in session.exec(query)}
    query_plans = select(CarePlan).where(
        col(CarePlan.patient_id).in_([p.id for p in patients.values()])
    )
    plans = {p.patient_id: p for p in session.exec(query_plans)}
    query_phases = (
        select(PlanPhase)
        .where(col(PlanPhase.plan_id).in_([p.id for p in plans.values()]))
        .order_by(col(PlanPhase.seq))
    )
    phases: dict[int, list[PlanPhase]] = defaultdict(list)
    for phase in session.exec(query_phases):
        phases[phase.plan_id].append(phase)
    phones = [spec.phone for _, spec in part]
    query_owners = select(Patient.phone, Patient.external_id).where(col(Patient.phone).in_(phones))
    return _Existing(patients, plans, phases, dict(session.exec(query_owners).all()))


def _import_chunk(
    session: Session,
    settings: Settings,
    part: Sequence[tuple[int, PatientSpec]],
    now: datetime,
    seen: set[str],
    report: ImportReport,
    source: str,
) -> None:
    existing = _load_existing(session, part)
    for line, spec in part:
        if spec.external_id in seen:
            reason = "appears more than once in this import"
            report.errors.append(FieldError(line, "patient_id", spec.external_id, reason))
            continue
        seen.add(spec.external_id)
        refusal = _phone_refusal(existing, line, spec)
        if refusal is not None:
            report.errors.append(refusal)
            continue
        patient = existing.patients.get(spec.external_id)
        if patient is None:
            made = _create(session, settings, spec, now, source)
            waitlistrows.follow(session.connection(), made, spec.waitlist, now, blank_removes=False)
            report.created += 1
            continue
        plan, phases = _plan_of(existing, patient)
        changed = _update(session, settings, patient, plan, phases, spec, now, source)
        assert patient.id is not None
        form = source == "staff"  # the form shows the entry; a file may not have the columns
        listed = waitlistrows.follow(
            session.connection(), patient.id, spec.waitlist, now, blank_removes=form
        )
        if changed or listed:
            report.updated += 1
        else:
            report.unchanged += 1


def _create(
    session: Session, settings: Settings, spec: PatientSpec, now: datetime, source: str
) -> int:
    patient = Patient(
        external_id=spec.external_id,
        **_person_values(spec),
        name_key=name_key(spec.first_name, spec.last_name),
        consent_state=ConsentState.PENDING,
        created_at=now,
        updated_at=now,
    )
    session.add(patient)
    session.flush()
    assert patient.id is not None
    session.add(
        ConsentEvent(patient_id=patient.id, at=now, event=ConsentEventKind.REQUESTED, source=source)
    )
    _add_plan(session, patient.id, spec, now)
    commands.request_consent(session.connection(), settings, patient, now)
    return patient.id


def _ask_consent_again(
    session: Session, settings: Settings, patient: Patient, now: datetime, source: str
) -> None:
    """Consent belongs to a number: a new number is asked afresh before anything else goes to
    it. What was queued waits, skipped as superseded, and comes back after YES."""
    assert patient.id is not None
    patient.consent_state = ConsentState.PENDING
    session.add(
        ConsentEvent(
            patient_id=patient.id,
            at=now,
            event=ConsentEventKind.REQUESTED,
            source=source,
            detail="phone number changed",
        )
    )
    session.flush()
    conn = session.connection()
    commands.skip_pending(conn, patient.id, SkipReason.SUPERSEDED, now, keep_consent=False)
    commands.request_consent(conn, settings, patient, now, occurrence=f"phone:{patient.phone}")


def _update(
    session: Session,
    settings: Settings,
    patient: Patient,
    plan: CarePlan | None,
    phases: list[PlanPhase],
    spec: PatientSpec,
    now: datetime,
    source: str,
) -> bool:
    """Bring one existing patient in line with `spec`; False when nothing differed."""
    person, plan_changed = _differences(patient, plan, phases, spec)
    if not person and not plan_changed:
        return False
    for key, value in person.items():
        setattr(patient, key, value)
    if "first_name" in person or "last_name" in person:
        patient.name_key = name_key(patient.first_name, patient.last_name)
    patient.updated_at = now
    assert patient.id is not None
    if "phone" in person:
        _ask_consent_again(session, settings, patient, now, source)
    if plan is None:
        _add_plan(session, patient.id, spec, now)  # nothing was planned, so nothing to supersede
    elif plan_changed:
        assert plan.id is not None
        for key, value in _plan_values(spec).items():
            setattr(plan, key, value)
        plan.updated_at = now
        # A Core delete runs now; the ORM would insert the new phases before deleting the
        # old ones and trip the (plan_id, seq) unique constraint.
        session.exec(delete(PlanPhase).where(col(PlanPhase.plan_id) == plan.id))
        _add_phases(session, plan.id, spec.plan)
        session.flush()
        commands.supersede_plan(session.connection(), plan.id, patient.id, now)
        session.expire(plan)  # supersede_plan bumped the version behind the ORM's back
    return True


def _differences(
    patient: Patient, plan: CarePlan | None, phases: list[PlanPhase], spec: PatientSpec
) -> tuple[dict[str, Any], bool]:
    """The person fields that differ from `spec`, and whether the plan does."""
    # A new timezone moves every local time the plan names, so it is a plan change too.
    plan_changed = (
        plan is None
        or stored_plan(plan, phases) != (spec.plan, spec.exercises)
        or patient.timezone != spec.timezone
    )
    person = {k: v for k, v in _person_values(spec).items() if getattr(patient, k) != v}
    return person, plan_changed


def _person_values(spec: PatientSpec) -> dict[str, Any]:
    return {name: getattr(spec, name) for name in PERSON_FIELDS}


def _plan_values(spec: PatientSpec) -> dict[str, Any]:
    plan = spec.plan
    return {
        "start_date": plan.start_date,
        "end_date": plan.end_date,
        "foot_check_time": plan.foot_check_time,
        "exercise_days": format_weekdays(plan.exercise_days),
        "exercise_time": plan.exercise_time,
        "exercises": "\n".join(spec.exercises),
    }


def _add_plan(session: Session, patient_id: int, spec: PatientSpec, now: datetime) -> None:
    plan = CarePlan(patient_id=patient_id, version=1, updated_at=now, **_plan_values(spec))
    session.add(plan)
    session.flush()
    assert plan.id is not None
    _add_phases(session, plan.id, spec.plan)
    session.flush()


def _add_phases(session: Session, plan_id: int, plan: PlanSpec) -> None:
    for seq, phase in enumerate(plan.phases):
        session.add(
            PlanPhase(
                plan_id=plan_id,
                seq=seq,
                weekdays=format_weekdays(phase.weekdays),
                session_time=phase.session_time,
                weeks=phase.weeks,
            )
        )
