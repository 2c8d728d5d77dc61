"""One patient and their plan, checked: the rules the CSV import and the admin form share.

`validate_patient` takes plain column -> text values and reports every problem in them at
once, each naming the column, the value and what is wrong, so a clinic can fix a
spreadsheet in one pass instead of one error per attempt.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import phonenumbers
from phonenumbers import PhoneNumberType

from outreach.config import LANGUAGES, ConfigError, Settings
from outreach.rules.localtime import QuietHours, parse_hhmm, parse_quiet_hours, patient_quiet_hours
from outreach.rules.plaintext import has_control_characters
from outreach.rules.privacy import diagnosis_words
from outreach.rules.schedule import Phase, PlanSpec, exercise_names, parse_weekdays

COLUMNS = (
    "patient_id",
    "first_name",
    "last_name",
    "phone",
    "timezone",
    "language",
    "plan_start",
    "plan_end",
    "sessions",
    "foot_check_time",
    "exercise_days",
    "exercise_time",
    "exercises",
    "pain_baseline",
    "quiet_hours",
)
REQUIRED_COLUMNS = ("patient_id", "first_name", "phone", "plan_start")

NAME_MAX = 80
EXERCISE_NAME_MAX = 40
EXERCISES_MAX = 10
PHASE_WEEKS_MAX = 52
# /patients/new and /patients/import are pages, so no patient may be called that.
RESERVED_IDS = frozenset({"new", "import"})
EXTERNAL_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
SMALL_NUMBER = re.compile(r"[0-9]{1,3}")
PHASE = re.compile(r"(?P<days>.+?)\s+at\s+(?P<time>\S+)\s+for\s+(?P<weeks>\S+)\s+weeks?", re.I)
PHASE_EXAMPLE = "mon wed fri at 10:00 for 4 weeks"
LANGUAGE_NAMES = {
    "en": "en",
    "english": "en",
    "es": "es",
    "spanish": "es",
    "español": "es",
    "espanol": "es",
}
# A landline cannot receive texts; nor can a pager or a premium-rate line. Numbers that
# may be either (all US numbers are FIXED_LINE_OR_MOBILE) are accepted.
TEXTABLE = frozenset(
    {
        PhoneNumberType.MOBILE,
        PhoneNumberType.FIXED_LINE_OR_MOBILE,
        PhoneNumberType.VOIP,
        PhoneNumberType.PERSONAL_NUMBER,
    }
)


@dataclass(frozen=True)
class FieldError:
    line: int  # 0 when the values did not come from a file
    column: str
    value: str
    reason: str

    def __str__(self) -> str:
        where = f"line {self.line}, " if self.line else ""
        if not self.value:
            return f"{where}{self.column}: {self.reason}"
        return f"{where}{self.column}: {self.value!r} {self.reason}"


@dataclass(frozen=True)
class PatientSpec:
    external_id: str
    first_name: str
    last_name: str
    phone: str  # E.164
    timezone: str
    language: str
    plan: PlanSpec
    exercises: tuple[str, ...]
    pain_baseline: int | None
    quiet_hours: str | None = None  # None: the clinic's


class _Row:
    """The values of one row and the problems found in them so far."""

    def __init__(self, values: Mapping[str, str], line: int) -> None:
        self.values = values
        self.line = line
        self.errors: list[FieldError] = []

    def get(self, column: str) -> str:
        return (self.values.get(column) or "").strip()

    def fail(self, column: str, reason: str, value: str | None = None) -> None:
        shown = self.get(column) if value is None else value
        self.errors.append(FieldError(self.line, column, shown, reason))


def validate_patient(
    values: Mapping[str, str], settings: Settings, line: int = 0
) -> PatientSpec | list[FieldError]:
    """Check one patient's values (keys are the CSV column names; missing keys count as
    blank) and return the patient, or every problem found."""
    row = _Row(values, line)
    external_id = _external_id(row)
    first_name = _name(row, "first_name", required=True)
    last_name = _name(row, "last_name", required=False)
    phone = _phone(row, settings)
    timezone = _timezone(row, settings)
    language = _language(row)
    start = _date(row, "plan_start", required=True)
    end = _date(row, "plan_end", required=False)
    if start is not None and end is not None and end < start:
        row.fail("plan_end", f"is before plan_start ({start.isoformat()})")
    phases = _phases(row)
    quiet_hours = _quiet_hours(row, settings)
    quiet = patient_quiet_hours(quiet_hours, settings.quiet_hours)
    foot_check_time = _send_time(row, "foot_check_time", quiet)
    exercise_days, exercise_time, exercises = _exercises(row, quiet)
    pain_baseline = _pain_baseline(row)
    if row.errors or start is None or phone is None:
        return row.errors
    plan = PlanSpec(start, end, phases, foot_check_time, exercise_days, exercise_time)
    return PatientSpec(
        external_id=external_id,
        first_name=first_name,
        last_name=last_name,
        phone=phone,
        timezone=timezone,
        language=language,
        plan=plan,
        exercises=exercises,
        pain_baseline=pain_baseline,
        quiet_hours=quiet_hours,
    )


def _external_id(row: _Row) -> str:
    text = row.get("patient_id")
    if not text:
        row.fail("patient_id", "must not be blank")
    elif not EXTERNAL_ID.fullmatch(text):
        row.fail("patient_id", "must be 1 to 64 letters (A-Z), digits, '-', '_' or '.'")
    elif text.lower() in RESERVED_IDS:
        row.fail("patient_id", "is a word the admin pages use (/patients/new, /patients/import)")
    return text


def _name(row: _Row, column: str, *, required: bool) -> str:
    text = row.get(column)
    if required and not text:
        row.fail(column, "must not be blank")
    elif len(text) > NAME_MAX:
        row.fail(column, f"is {len(text)} characters long; the limit is {NAME_MAX}")
    elif not _one_line(text):
        row.fail(column, "must be on one line")
    elif not _printable(text):
        row.fail(column, "must not contain control characters")
    return text


def _one_line(text: str) -> bool:
    return not any(ch in text for ch in "\r\n\t\v\f")


def _printable(text: str) -> bool:
    return not has_control_characters(text)


@cache
def clinic_region(clinic_phone: str) -> str:
    """The region a number written without '+' is read in: the clinic's own."""
    try:
        number = phonenumbers.parse(clinic_phone, None)
    except phonenumbers.NumberParseException:
        return "US"
    # Fictional numbers such as +1 555 555 0100 belong to no region; their country code does.
    region = phonenumbers.region_code_for_number(number)
    if not region and number.country_code:
        region = phonenumbers.region_code_for_country_code(number.country_code)
    return str(region or "US")


def _phone(row: _Row, settings: Settings) -> str | None:
    text = row.get("phone")
    if not text:
        row.fail("phone", "must not be blank")
        return None
    region = clinic_region(settings.clinic_phone)
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        row.fail("phone", "is not a phone number")
        return None
    if not phonenumbers.is_valid_number(number):
        hint = "" if text.startswith("+") else f" (without a '+' it is read as a {region} number)"
        row.fail("phone", f"is not a valid phone number{hint}")
        return None
    kind = phonenumbers.number_type(number)
    if kind == PhoneNumberType.FIXED_LINE:
        row.fail("phone", "is a landline number; texts need a mobile number")
        return None
    if kind not in TEXTABLE:
        row.fail("phone", "cannot receive texts (a toll-free, pager or premium-rate number)")
        return None
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


def _timezone(row: _Row, settings: Settings) -> str:
    text = row.get("timezone")
    if not text:
        return settings.clinic_timezone
    try:
        ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # "America" is a directory
        guess = _zone_names().get(text.casefold())
        hint = f"did you mean {guess!r}?" if guess else "use one like 'America/Chicago'"
        row.fail("timezone", f"is not an IANA timezone; {hint}")
    return text


@cache
def _zone_names() -> dict[str, str]:
    return {name.casefold(): name for name in available_timezones()}


def _language(row: _Row) -> str:
    text = row.get("language")
    if not text:
        return "en"
    code = LANGUAGE_NAMES.get(text.casefold())
    if code is None or code not in LANGUAGES:
        row.fail("language", "must be en (English) or es (Spanish)")
        return "en"
    return code


def _date(row: _Row, column: str, *, required: bool) -> date | None:
    text = row.get(column)
    if not text:
        if required:
            row.fail(column, "must not be blank")
        return None
    if not ISO_DATE.fullmatch(text):
        row.fail(column, "must be a date written YYYY-MM-DD, like 2025-03-17")
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        row.fail(column, "is not a date on the calendar")
        return None


def _send_time(row: _Row, column: str, quiet: QuietHours) -> time | None:
    """A time of day a text goes out at: never inside quiet hours."""
    text = row.get(column)
    if not text:
        return None
    try:
        at = parse_hhmm(text, column)
    except ConfigError:
        row.fail(column, "must be a 24-hour time written HH:MM, like 18:30")
        return None
    if quiet.contains(at):
        last = datetime.combine(date(2000, 1, 2), quiet.start) - timedelta(minutes=1)
        row.fail(
            column,
            f"is inside quiet hours ({quiet}), when no texts are sent; "
            f"pick a time from {quiet.end:%H:%M} to {last:%H:%M}",
        )
        return None
    return at


def _phases(row: _Row) -> tuple[Phase, ...]:
    phases = []
    for part in (p.strip() for p in row.get("sessions").split(";")):
        if not part:
            continue
        match = PHASE.fullmatch(part)
        if match is None:
            row.fail("sessions", f"must look like {PHASE_EXAMPLE!r}", part)
            continue
        problems = []
        days: tuple[int, ...] = ()
        try:
            days = parse_weekdays(match["days"])
        except ValueError as exc:
            problems.append(str(exc))
        else:
            if not days:
                problems.append("it names no weekdays")
        at: time | None = None
        try:
            at = parse_hhmm(match["time"], "sessions")
        except ConfigError:
            problems.append(f"{match['time']!r} is not a 24-hour time like 10:00")
        weeks = int(match["weeks"]) if SMALL_NUMBER.fullmatch(match["weeks"]) else 0
        if not 1 <= weeks <= PHASE_WEEKS_MAX:
            problems.append(f"the weeks must be 1 to {PHASE_WEEKS_MAX}, not {match['weeks']!r}")
        if problems or at is None:
            row.fail("sessions", "has a problem: " + "; ".join(problems), part)
        else:
            phases.append(Phase(days, at, weeks))
    return tuple(phases)


def _exercises(
    row: _Row, quiet: QuietHours
) -> tuple[tuple[int, ...], time | None, tuple[str, ...]]:
    days_text, time_text, names_text = (
        row.get(c) for c in ("exercise_days", "exercise_time", "exercises")
    )
    days: tuple[int, ...] = ()
    if days_text:
        try:
            days = parse_weekdays(days_text)
        except ValueError as exc:
            row.fail("exercise_days", f"has a problem: {exc}")
        else:
            if not days:
                row.fail("exercise_days", "names no weekdays")
        if not time_text:
            row.fail("exercise_time", "must not be blank when exercise_days is set")
        if not names_text:
            row.fail("exercises", "must not be blank when exercise_days is set")
    elif time_text or names_text:
        row.fail("exercise_days", "must not be blank when exercise_time or exercises is set")
    at = _send_time(row, "exercise_time", quiet)
    names = exercise_names(names_text)
    if names_text and not names:
        row.fail("exercises", "lists no exercise names (separate them with ';')")
    if len(names) > EXERCISES_MAX:
        row.fail("exercises", f"lists {len(names)} exercises; the limit is {EXERCISES_MAX}")
    for name in names:
        found = diagnosis_words(name)
        if len(name) > EXERCISE_NAME_MAX:
            reason = f"is {len(name)} characters long; the limit is {EXERCISE_NAME_MAX}"
            row.fail("exercises", reason, name)
        if found:
            words = ", ".join(repr(w) for w in found)
            reason = f"names a diagnosis ({words}); texts are not private, so leave it out"
            row.fail("exercises", reason, name)
        if not _one_line(name):
            row.fail("exercises", "must be on one line", name)
        elif not _printable(name):
            row.fail("exercises", "must not contain control characters", name)
    return days, at, names


def _pain_baseline(row: _Row) -> int | None:
    text = row.get("pain_baseline")
    if not text:
        return None
    if not SMALL_NUMBER.fullmatch(text) or not 0 <= int(text) <= 10:
        row.fail("pain_baseline", "must be a whole number from 0 to 10")
        return None
    return int(text)


def _quiet_hours(row: _Row, settings: Settings) -> str | None:
    """A patient may ask for a longer quiet night than the clinic's, never a shorter one."""
    text = row.get("quiet_hours")
    if not text:
        return None
    try:
        quiet = parse_quiet_hours(text, "quiet_hours")
    except ConfigError:
        row.fail("quiet_hours", "must look like '21:00-08:00' and cover at least 21:00-08:00")
        return None
    clinic = settings.quiet_hours
    if not quiet.covers(clinic):
        row.fail("quiet_hours", f"must cover the clinic's quiet hours ({clinic}) as well")
        return None
    return None if quiet == clinic else str(quiet)
