"""One patient and their plan, checked: the rules the CSV import and the admin form share.

`validate_patient` takes plain column -> text values and reports every problem in them at
once, each naming the column, the value and what is wrong, so a clinic can fix a
spreadsheet in one pass instead of one error per attempt. The person's columns are checked
here, the plan's in patients/planfields.py.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import phonenumbers
from phonenumbers import PhoneNumberType

from outreach.config import LANGUAGES, ConfigError, Settings
from outreach.patients import fields, planfields
from outreach.patients.fields import FieldError, Row, one_line, printable
from outreach.rules.localtime import parse_quiet_hours, patient_quiet_hours
from outreach.rules.schedule import PlanSpec
from outreach.rules.waitlist import Availability

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
    "waitlist_days",  # both or neither: the waitlist (patients/fields.waitlist)
    "waitlist_hours",
)
REQUIRED_COLUMNS = ("patient_id", "first_name", "phone", "plan_start")

NAME_MAX = 80
# /patients/new and /patients/import are pages, so no patient may be called that.
RESERVED_IDS = frozenset({"new", "import"})
EXTERNAL_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
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
    waitlist: Availability | None = None  # None: not on it (or, in a file, left as it is)


def validate_patient(
    values: Mapping[str, str], settings: Settings, line: int = 0
) -> PatientSpec | list[FieldError]:
    """Check one patient's values (keys are the CSV column names; missing keys count as
    blank) and return the patient, or every problem found."""
    row = Row(values, line)
    external_id = _external_id(row)
    first_name = _name(row, "first_name", required=True)
    last_name = _name(row, "last_name", required=False)
    phone = _phone(row, settings)
    timezone = _timezone(row, settings)
    language = _language(row)
    start = planfields.date_field(row, "plan_start", required=True)
    end = planfields.date_field(row, "plan_end", required=False)
    if start is not None and end is not None and end < start:
        row.fail("plan_end", f"is before plan_start ({start.isoformat()})")
    phases = planfields.phases(row)
    quiet_hours = _quiet_hours(row, settings)
    quiet = patient_quiet_hours(quiet_hours, settings.quiet_hours)
    foot_check_time = planfields.send_time(row, "foot_check_time", quiet)
    exercise_days, exercise_time, exercises = planfields.exercises(row, quiet)
    pain_baseline = _pain_baseline(row)
    waitlist = fields.waitlist(row)
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
        waitlist=waitlist,
    )


def _external_id(row: Row) -> str:
    text = row.get("patient_id")
    if not text:
        row.fail("patient_id", "must not be blank")
    elif not EXTERNAL_ID.fullmatch(text):
        row.fail("patient_id", "must be 1 to 64 letters (A-Z), digits, '-', '_' or '.'")
    elif text.lower() in RESERVED_IDS:
        row.fail("patient_id", "is a word the admin pages use (/patients/new, /patients/import)")
    return text


def _name(row: Row, column: str, *, required: bool) -> str:
    text = row.get(column)
    if required and not text:
        row.fail(column, "must not be blank")
    elif len(text) > NAME_MAX:
        row.fail(column, f"is {len(text)} characters long; the limit is {NAME_MAX}")
    elif not one_line(text):
        row.fail(column, "must be on one line")
    elif not printable(text):
        row.fail(column, "must not contain control characters")
    return text


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


def _phone(row: Row, settings: Settings) -> str | None:
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


def _timezone(row: Row, settings: Settings) -> str:
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


def _language(row: Row) -> str:
    text = row.get("language")
    if not text:
        return "en"
    code = LANGUAGE_NAMES.get(text.casefold())
    if code is None or code not in LANGUAGES:
        row.fail("language", "must be en (English) or es (Spanish)")
        return "en"
    return code


def _pain_baseline(row: Row) -> int | None:
    text = row.get("pain_baseline")
    if not text:
        return None
    if not planfields.SMALL_NUMBER.fullmatch(text) or not 0 <= int(text) <= 10:
        row.fail("pain_baseline", "must be a whole number from 0 to 10")
        return None
    return int(text)


def _quiet_hours(row: Row, settings: Settings) -> str | None:
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
