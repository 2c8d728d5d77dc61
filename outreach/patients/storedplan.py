"""A patient's care plan read back from the database: the one reader of a plan and its
phases, and the stored plan in the shape a CSV row or the form describes, so the two
compare field by field."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, select

from outreach.db.tables import care_plans, patients, plan_phases
from outreach.patients import waitlistrows
from outreach.patients.enrolment import PatientSpec
from outreach.rules.schedule import Phase, PlanSpec, exercise_names, parse_weekdays, plan_spec


def read_plan(conn: Connection, patient_id: int) -> tuple[Any | None, list[Any]]:
    """The patient's care plan row and its phases in order; (None, []) without a plan."""
    plan = conn.execute(select(care_plans).where(care_plans.c.patient_id == patient_id)).first()
    if plan is None:
        return None, []
    phases = conn.execute(
        select(plan_phases).where(plan_phases.c.plan_id == plan.id).order_by(plan_phases.c.seq)
    ).all()
    return plan, list(phases)


def stored_plan(plan: Any, phases: Sequence[Any]) -> tuple[PlanSpec, tuple[str, ...]]:
    """A stored plan (a row or a CarePlan) and its phases as the file describes them: the
    plan and its exercise names."""
    spec = plan_spec(
        plan, [Phase(parse_weekdays(p.weekdays), p.session_time, p.weeks) for p in phases]
    )
    return spec, exercise_names(plan.exercises, per_line=True)


def stored_spec(conn: Connection, external_id: str) -> PatientSpec | None:
    """A stored patient and plan in the shape the form and the import describe."""
    patient = conn.execute(select(patients).where(patients.c.external_id == external_id)).first()
    if patient is None:
        return None
    plan, phases = read_plan(conn, patient.id)
    if plan is not None:
        spec, exercises = stored_plan(plan, phases)
    else:
        spec, exercises = PlanSpec(start_date=patient.created_at.date()), ()
    return PatientSpec(
        external_id=patient.external_id,
        first_name=patient.first_name,
        last_name=patient.last_name,
        phone=patient.phone,
        timezone=patient.timezone,
        language=patient.language,
        plan=spec,
        exercises=exercises,
        pain_baseline=patient.pain_baseline,
        quiet_hours=patient.quiet_hours,
        waitlist=waitlistrows.read(conn, patient.id),
    )
