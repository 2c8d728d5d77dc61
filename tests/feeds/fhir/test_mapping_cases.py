"""More cases of the FHIR mapping, table-driven, from the specification's examples: the
other examples (two doctors, the request), which identifier names the patient, which phone
is kept, who cancelled, and what is an error in words. test_mapping.py has the main rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fhir.resources.R4B.appointment import Appointment
from fhir.resources.R4B.patient import Patient

from outreach.feeds.appointments import FeedAppointment, NotApplied
from outreach.feeds.fhir.mapping import (
    Skipped,
    cancelled_by_patient,
    identifier,
    mobile_phone,
    patient_name,
    to_feed,
)
from outreach.rules.vocabulary import AppointmentSource, FeedStatus
from outreach.testing.fhir_examples import example

# T0 (tests/support/patients.py) is Monday 23 November 2026, 12:00 UTC; this is Thursday
# 26 November, 10:00 in New York.
THURSDAY_10_NY = datetime(2026, 11, 26, 15, 0, tzinfo=UTC)
# patient-example's medical record number system (its only identifier, type MR).
MRN_SYSTEM = "urn:oid:1.2.36.146.595.217.0.1"


def instant(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def appointment(
    rid: str,
    patient: str = "example",
    *,
    status: str = "booked",
    start: datetime | None = THURSDAY_10_NY,
    **fields: Any,
) -> dict[str, Any]:
    """appointment-example for Patient/`patient`, as Appointment/`rid`."""
    data = example("appointment-example")
    data["id"] = rid
    data["status"] = status
    data["participant"][0]["actor"]["reference"] = f"Patient/{patient}"
    if start is None:
        data.pop("start", None)
        data.pop("end", None)
    else:
        data["start"] = instant(start)
        data["end"] = instant(start + timedelta(hours=1))
    data.update(fields)
    return data


def patient(rid: str = "example", mrn: str = "12345") -> dict[str, Any]:
    """patient-example (Peter James Chalmers) as Patient/`rid` with medical record `mrn`."""
    data = example("patient-example")
    data["id"] = rid
    data["identifier"][0]["value"] = mrn
    return data


MR_TYPE = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}]}
SSN = {"system": "http://hl7.org/fhir/sid/us-ssn", "value": "444-22-1234"}
REASONS = "http://terminology.hl7.org/CodeSystem/appointment-cancellation-reason"


def mapped(data: dict[str, Any], system: str | None = None) -> FeedAppointment | Skipped:
    ours = Patient.model_validate(patient())
    return to_feed(Appointment.model_validate(data), {"Patient/example": ours}, system)


def feed(data: dict[str, Any], system: str | None = None) -> FeedAppointment:
    result = mapped(data, system)
    assert isinstance(result, FeedAppointment), result
    return result


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("booked", FeedStatus.SCHEDULED),
        ("pending", FeedStatus.SCHEDULED),
        ("cancelled", FeedStatus.CANCELLED),
        # The issue's "cancelled": reminders stop. DELETED is outreach's cancellation that
        # offers the slot to no one, since an appointment entered in error never held one.
        ("entered-in-error", FeedStatus.DELETED),
        ("noshow", FeedStatus.NO_SHOW),
        ("arrived", FeedStatus.ATTENDED),
        ("checked-in", FeedStatus.ATTENDED),
        ("fulfilled", FeedStatus.ATTENDED),
    ],
)
def test_each_status_maps_as_the_issue_says(status: str, expected: FeedStatus) -> None:
    result = feed(appointment("A-1", status=status))

    assert result.status == expected
    assert (result.source, result.ref, result.patient_ref) == (
        AppointmentSource.FHIR,
        "A-1",
        "12345",
    )
    assert result.starts_at == THURSDAY_10_NY


def test_the_specifications_own_appointment_example_maps_whole() -> None:
    result = feed(example("appointment-example"))

    assert result.ref == "example"
    assert result.status == FeedStatus.SCHEDULED
    assert (
        result.starts_at is not None and result.starts_at.isoformat() == "2013-12-10T09:00:00+00:00"
    )
    assert result.patient_name == "Peter James Chalmers"
    assert result.phone == "(03) 3410 5613"  # the mobile, though the work phone ranks first
    assert result.changed_at is None  # the example has no meta.lastUpdated
    assert result.cancelled_by_patient is None


def test_the_two_doctors_example_finds_its_patient_among_four_participants() -> None:
    result = feed(example("appointment-example2doctors"))

    assert (result.ref, result.patient_ref) == ("2docs", "12345")


@pytest.mark.parametrize(
    ("status", "why"),
    [("proposed", "proposed, not booked yet"), ("waitlist", "on the EHR's waitlist")],
)
def test_proposed_and_waitlisted_are_not_appointments_yet(status: str, why: str) -> None:
    result = mapped(appointment("A-1", status=status, start=None))

    assert isinstance(result, Skipped)
    assert result.ref == "A-1"
    assert why in result.reason


def test_the_specifications_appointment_request_is_skipped() -> None:
    result = mapped(example("appointment-example-request"))

    assert result == Skipped("examplereq", "proposed, not booked yet")


def test_a_booked_appointment_without_a_start_is_an_error_in_words() -> None:
    with pytest.raises(NotApplied, match=r"^Appointment/A-1 is booked but has no start time$"):
        mapped(appointment("A-1", start=None))


def test_a_cancellation_without_a_start_is_still_applied() -> None:
    result = feed(appointment("A-1", status="cancelled", start=None))

    assert (result.status, result.starts_at) == (FeedStatus.CANCELLED, None)


def test_a_status_r4_does_not_define_is_an_error_in_words() -> None:
    data = appointment("A-1")
    bad = Appointment.model_construct(**{**Appointment.model_validate(data).__dict__})
    bad.status = "rescheduled"
    with pytest.raises(NotApplied, match="has status 'rescheduled', which R4 does not define"):
        to_feed(bad, {"Patient/example": Patient.model_validate(patient())}, None)


def test_a_patient_not_included_is_an_error_in_words() -> None:
    data = appointment("A-1", patient="elsewhere")
    with pytest.raises(NotApplied, match=r"its patient Patient/elsewhere was not included"):
        mapped(data)


def test_an_appointment_without_a_patient_participant_is_an_error_in_words() -> None:
    data = appointment("A-1")
    data["participant"] = data["participant"][1:]
    with pytest.raises(NotApplied, match="has no participant who is a Patient"):
        mapped(data)


def test_a_logical_reference_names_the_patient_by_identifier() -> None:
    data = appointment("A-1")
    data["participant"][0]["actor"] = {
        "type": "Patient",
        "identifier": {"system": MRN_SYSTEM, "value": "12345"},
        "display": "Peter James Chalmers",
    }
    result = feed(data)

    assert (result.patient_ref, result.patient_name, result.phone) == (
        "12345",
        "Peter James Chalmers",
        None,
    )


# -- which identifier names the patient -----------------------------------------------------


def person(*identifiers: dict[str, Any]) -> Patient:
    data = patient()
    data["identifier"] = list(identifiers)
    return Patient.model_validate(data)


MRN = {"type": MR_TYPE, "system": MRN_SYSTEM, "value": "12345"}
CLINIC = {"system": "urn:oid:2.16.840.1.113883.19.5", "value": "RPT-77"}


@pytest.mark.parametrize(
    ("identifiers", "system", "expected"),
    [
        ((SSN, MRN, CLINIC), CLINIC["system"], "RPT-77"),  # the configured system
        ((SSN, MRN, CLINIC), None, "12345"),  # else the medical record number
        ((SSN, CLINIC), None, "444-22-1234"),  # else the first
        (({"system": "urn:x"}, CLINIC), None, "RPT-77"),  # the first with a value
        ((), None, None),
        # A configured system the patient lacks names no one: falling back to another
        # system's number could match a different patient of outreach's.
        ((SSN, MRN), CLINIC["system"], None),
    ],
)
def test_the_patient_identifier_is_chosen_by_system_then_mr_type_then_first(
    identifiers: tuple[dict[str, Any], ...], system: str | None, expected: str | None
) -> None:
    assert identifier(person(*identifiers), system) == expected


def test_a_patient_without_the_configured_identifier_is_an_error_in_words() -> None:
    with pytest.raises(NotApplied, match=r"Patient/example has no identifier of system urn:x"):
        mapped(appointment("A-1"), system="urn:x")


def test_the_specifications_patient_example_a_is_matched_on_its_mr() -> None:
    assert identifier(Patient.model_validate(example("patient-example-a")), None) == "654321"


# -- which phone is texted ---------------------------------------------------------------------


def telecom(*entries: dict[str, Any]) -> Patient:
    data = patient()
    data["telecom"] = list(entries)
    return Patient.model_validate(data)


HOME = {"system": "phone", "value": "+16175550101", "use": "home"}
WORK_FIRST = {"system": "phone", "value": "+16175550102", "use": "work", "rank": 1}
MOBILE = {"system": "phone", "value": "+16175550103", "use": "mobile", "rank": 3}
OLD_MOBILE = {"system": "phone", "value": "+16175550104", "use": "old"}
ENDED_MOBILE = {
    "system": "phone",
    "value": "+16175550105",
    "use": "mobile",
    "period": {"end": "2024-01-01"},
}
EMAIL = {"system": "email", "value": "peter@example.org"}


@pytest.mark.parametrize(
    ("entries", "expected"),
    [
        ((HOME, WORK_FIRST, MOBILE), "+16175550103"),  # a mobile first, whatever its rank
        ((HOME, WORK_FIRST), "+16175550102"),  # then by rank
        ((HOME,), "+16175550101"),
        ((OLD_MOBILE, ENDED_MOBILE, HOME), "+16175550101"),  # never an old or ended number
        ((EMAIL,), None),
        ((), None),
    ],
)
def test_the_phone_to_text_is_a_current_mobile_then_by_rank(
    entries: tuple[dict[str, Any], ...], expected: str | None
) -> None:
    assert mobile_phone(telecom(*entries)) == expected


def test_the_name_is_the_official_one() -> None:
    # patient-example has an official name, a usual "Jim" and a maiden one.
    assert (
        patient_name(Patient.model_validate(example("patient-example"))) == "Peter James Chalmers"
    )


# -- who cancelled ---------------------------------------------------------------------------------


def reason(code: str | None = None, text: str | None = None) -> dict[str, Any]:
    concept: dict[str, Any] = {}
    if code:
        concept["coding"] = [{"system": REASONS, "code": code}]
    if text:
        concept["text"] = text
    return concept


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (reason("pat"), True),
        (reason("pat-crs"), True),  # patient: canceled via automated reminder system
        (reason("prov"), False),
        (reason("prov-dch"), False),
        (reason("maint"), False),
        (reason("oth-weath"), None),  # the weather: no one in particular
        (reason(text="Cancelled by the patient by phone"), True),
        (reason(text="cancelled by the clinic"), False),
        (None, None),
    ],
)
def test_the_cancellation_reason_says_who_called_it_off(
    given: dict[str, Any] | None, expected: bool | None
) -> None:
    data = appointment("A-1", status="cancelled")
    if given is not None:
        data["cancelationReason"] = given
    assert cancelled_by_patient(Appointment.model_validate(data)) is expected
    assert feed(data).cancelled_by_patient is expected


def test_who_cancelled_is_only_read_of_a_cancellation() -> None:
    data = appointment("A-1", status="booked", cancelationReason=reason("pat"))

    assert feed(data).cancelled_by_patient is None
