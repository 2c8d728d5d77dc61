"""The patient form as the CSV columns: staff edit phases as rows and days as checkboxes,
and this turns what they typed into the one row of text `enrolment.validate_patient`
checks, so a form and an import are held to the same rules. Pure: no database.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import time

from outreach.patients.enrolment import COLUMNS, PatientSpec
from outreach.patients.fields import FieldError
from outreach.rules.schedule import WEEKDAYS, exercise_names, parse_weekdays

# The columns typed into a plain field; sessions, exercise days and exercises have their own.
TEXT_COLUMNS = tuple(c for c in COLUMNS if c not in ("sessions", "exercise_days", "exercises"))
PHASE_FIELD = re.compile(r"phase-(?P<index>[0-9]{1,2})-(?P<part>days|time|weeks)")
PHASE_ROW = re.compile(r"phase-(?P<index>[0-9]{1,2})")
LABELS = {
    "patient_id": "Patient ID",
    "first_name": "First name",
    "last_name": "Last name",
    "phone": "Mobile phone",
    "timezone": "Timezone",
    "language": "Language",
    "plan_start": "Plan start",
    "plan_end": "Plan end",
    "sessions": "Sessions",
    "foot_check_time": "Foot check time",
    "exercise_days": "Exercise days",
    "exercise_time": "Exercise time",
    "exercises": "Exercises",
    "pain_baseline": "Usual pain (0-10)",
    "quiet_hours": "Quiet hours",
    "waitlist_days": "Waitlist days",
    "waitlist_hours": "Waitlist hours",
}


# The fields top to bottom, as the form shows them: the first in error gets the focus.
FORM_ORDER = (
    "patient_id",
    "first_name",
    "last_name",
    "phone",
    "language",
    "timezone",
    "quiet_hours",
    "pain_baseline",
    "plan_start",
    "plan_end",
    "sessions",
    # the phase rows, phase-0, phase-1, ..., come here
    "foot_check_time",
    "exercise_days",
    "exercise_time",
    "exercises",
    "waitlist_days",
    "waitlist_hours",
)


def in_form_order(errors: Mapping[str, list[str]]) -> dict[str, list[str]]:
    """`errors` with the field shown first on the page first (templates focus that one)."""

    def position(key: str) -> tuple[int, int]:
        phase = PHASE_ROW.fullmatch(key)
        if phase is not None:
            return FORM_ORDER.index("sessions"), 1 + int(phase["index"])
        return (FORM_ORDER.index(key), 0) if key in FORM_ORDER else (len(FORM_ORDER), 0)

    return {key: errors[key] for key in sorted(errors, key=position)}


@dataclass
class PhaseRow:
    """One tapering phase as typed: sessions on `days` at `time` for `weeks` weeks."""

    days: tuple[str, ...] = ()
    time: str = ""
    weeks: str = ""

    @property
    def blank(self) -> bool:
        return not (self.days or self.time or self.weeks)

    def missing(self) -> list[str]:
        """What a started row still needs, in words for the person typing it."""
        needs = []
        if not self.days:
            needs.append("tick at least one weekday")
        if not self.time:
            needs.append("enter the session time")
        if not self.weeks:
            needs.append("enter how many weeks")
        return needs

    def text(self) -> str:
        return f"{' '.join(self.days)} at {self.time} for {self.weeks} weeks"


@dataclass
class PatientForm:
    values: dict[str, str] = field(default_factory=dict)  # TEXT_COLUMNS as typed
    exercise_days: tuple[str, ...] = ()
    exercises: str = ""  # one per line
    phases: list[PhaseRow] = field(default_factory=list)

    @classmethod
    def from_form(cls, form: Mapping[str, Sequence[str]]) -> PatientForm:
        """From the posted fields (name -> every value sent under it)."""
        rows: dict[int, PhaseRow] = {}
        for name, sent in form.items():
            match = PHASE_FIELD.fullmatch(name)
            if match is None:
                continue
            row = rows.setdefault(int(match["index"]), PhaseRow())
            if match["part"] == "days":
                row.days = _weekdays(sent)
            elif match["part"] == "time":
                row.time = _first(sent).strip()
            else:
                row.weeks = _first(sent).strip()
        return cls(
            values={c: _first(form.get(c, ())) for c in TEXT_COLUMNS},
            exercise_days=_weekdays(form.get("exercise_days", ())),
            exercises=_first(form.get("exercises", ())),
            phases=[rows[i] for i in sorted(rows) if not rows[i].blank],
        )

    @classmethod
    def from_columns(cls, columns: Mapping[str, str]) -> PatientForm:
        """From CSV column values, as `spec_columns` gives them for a stored patient."""
        phases = []
        for part in filter(None, (p.strip() for p in columns.get("sessions", "").split(";"))):
            days, _, rest = part.partition(" at ")
            at, _, weeks = rest.partition(" for ")
            phases.append(PhaseRow(_weekdays(days.split()), at, weeks.split(" ")[0]))
        return cls(
            values={c: columns.get(c, "") for c in TEXT_COLUMNS},
            exercise_days=_weekdays(columns.get("exercise_days", "").split()),
            exercises="\n".join(exercise_names(columns.get("exercises", ""))),
            phases=phases,
        )

    def columns(self) -> dict[str, str]:
        """The values as one CSV row; incomplete phase rows are left to `problems`."""
        complete = [row for row in self.phases if not row.missing()]
        return {
            **self.values,
            "sessions": "; ".join(row.text() for row in complete),
            "exercise_days": " ".join(self.exercise_days),
            "exercises": "; ".join(exercise_names(self.exercises, per_line=True)),
        }

    def problems(self) -> dict[str, list[str]]:
        """What the form's own shape gets wrong: a phase row begun and not finished."""
        return {
            f"phase-{index}": ["This phase is incomplete: " + ", ".join(row.missing()) + "."]
            for index, row in enumerate(self.phases)
            if row.missing()
        }

    def phase_rows(self) -> list[PhaseRow]:
        """The rows to show: every phase typed, and one empty row to add another."""
        return [*self.phases, PhaseRow()]

    def field_errors(self, errors: Iterable[FieldError]) -> dict[str, list[str]]:
        """Validation errors keyed by form field: a sessions error goes to its phase row."""
        found: dict[str, list[str]] = self.problems()
        texts = {row.text(): index for index, row in enumerate(self.phases)}
        for error in errors:
            key = error.column
            message = f"{LABELS.get(error.column, error.column)} {error.reason}"
            if error.column == "sessions" and error.value in texts:
                key = f"phase-{texts[error.value]}"
                message = f"This phase {error.reason}"
            elif error.column == "exercises" and error.value:
                message = f"{error.value!r} {error.reason}"  # which of the exercises
            found.setdefault(key, []).append(message)
        return found


def spec_columns(spec: PatientSpec) -> dict[str, str]:
    """A checked patient as the CSV row that describes it, in one canonical spelling, so
    the stored and the saved versions compare field by field (and read well in the audit)."""
    plan = spec.plan
    return {
        "patient_id": spec.external_id,
        "first_name": spec.first_name,
        "last_name": spec.last_name,
        "phone": spec.phone,
        "timezone": spec.timezone,
        "language": spec.language,
        "plan_start": plan.start_date.isoformat(),
        "plan_end": plan.end_date.isoformat() if plan.end_date else "",
        "sessions": "; ".join(
            f"{_day_names(p.weekdays)} at {hhmm(p.session_time)} for {p.weeks} weeks"
            for p in plan.phases
        ),
        "foot_check_time": hhmm(plan.foot_check_time),
        "exercise_days": _day_names(plan.exercise_days),
        "exercise_time": hhmm(plan.exercise_time),
        "exercises": "; ".join(spec.exercises),
        "pain_baseline": "" if spec.pain_baseline is None else str(spec.pain_baseline),
        "quiet_hours": spec.quiet_hours or "",
        "waitlist_days": _day_names(spec.waitlist.weekdays) if spec.waitlist else "",
        "waitlist_hours": spec.waitlist.hours_text if spec.waitlist else "",
    }


def hhmm(value: time | None) -> str:
    return value.strftime("%H:%M") if value is not None else ""


def _day_names(days: Iterable[int]) -> str:
    return " ".join(WEEKDAYS[d] for d in days)


def _first(sent: Sequence[str] | str) -> str:
    value = sent if isinstance(sent, str) else (sent[0] if sent else "")
    # No keyboard types a NUL, and PostgreSQL refuses to store one: only a forged form has it.
    return value.replace("\x00", "")


def _weekdays(sent: Iterable[str]) -> tuple[str, ...]:
    """Ticked weekdays in week order; anything that is not a weekday is dropped (only a
    tampered form sends one)."""
    days: set[int] = set()
    for word in sent:
        try:
            days.update(parse_weekdays(word))
        except ValueError:
            continue
    return tuple(WEEKDAYS[d] for d in sorted(days))
