"""R4 Appointments (the specification's examples, changed only where a case needs it) read
into appointments outreach applies, without a database or a network."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from fhir.resources.R4B.appointment import Appointment
from fhir.resources.R4B.patient import Patient

from outreach.feeds.appointments import NotApplied
from outreach.feeds.fhir.mapping import identifier, mobile_phone, to_feed
from outreach.testing.fhir_examples import example

PATIENTS = {"Patient/example": Patient.model_validate(example("patient-example"))}


def read(changes: dict[str, Any] | None = None, name: str = "appointment-example") -> Any:
    data = example(name)
    data.update(changes or {})
    return to_feed(Appointment.model_validate(data), PATIENTS, None)


def test_the_spec_example_reads_as_its_patient_time_and_id() -> None:
    item = read()
    assert (item.ref, item.patient_ref, item.patient_name) == (
        "example",
        "12345",  # patient-example's MR-typed identifier
        "Peter James Chalmers",
    )
    assert item.starts_at == datetime(2013, 12, 10, 9, 0, tzinfo=UTC)


def test_a_booked_appointment_without_a_start_is_refused_in_words() -> None:
    data = example("appointment-example")
    del data["start"], data["end"]
    with pytest.raises(NotApplied, match="Appointment/example is booked but has no start time"):
        to_feed(Appointment.model_validate(data), PATIENTS, None)


def test_a_patient_not_included_is_refused_in_words() -> None:
    data = example("appointment-example")
    with pytest.raises(NotApplied, match="was not included"):
        to_feed(Appointment.model_validate(data), {}, None)


def test_the_identifier_is_the_configured_system_then_the_mrn_then_the_first() -> None:
    patient = Patient.model_validate(
        {
            "resourceType": "Patient",
            "identifier": [
                {"system": "urn:ssn", "value": "999-45-1234"},
                {
                    "type": {
                        "coding": [
                            {
                                "system": "http://terminology.hl7.org/CodeSystem/v2-0203",
                                "code": "MR",
                            }
                        ]
                    },
                    "system": "urn:clinic",
                    "value": "RPT-1001",
                },
                {"system": "urn:pms", "value": "PMS-77"},
            ],
        }
    )
    assert identifier(patient, "urn:pms") == "PMS-77"
    assert identifier(patient, None) == "RPT-1001"
    # A configured system absent: no other system's number, which could be another patient's.
    assert identifier(patient, "urn:nothing") is None
    bare = Patient.model_validate({"resourceType": "Patient", "identifier": [{"value": "X1"}]})
    assert identifier(bare, None) == "X1"


def test_a_mobile_comes_first_and_an_old_number_never() -> None:
    patient = Patient.model_validate(
        {
            "resourceType": "Patient",
            "telecom": [
                {"system": "phone", "value": "(03) 5555 6473", "use": "work", "rank": 1},
                {"system": "phone", "value": "(03) 3410 5613", "use": "mobile", "rank": 2},
                {"system": "phone", "value": "(03) 5555 8834", "use": "old"},
            ],
        }
    )
    assert mobile_phone(patient) == "(03) 3410 5613"


@pytest.mark.parametrize(
    ("reason", "by_patient"),
    [
        (
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/appointment-cancellation-reason",
                        "code": "pat",
                    }
                ]
            },
            True,
        ),
        (
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/appointment-cancellation-reason",
                        "code": "pat-crs",
                    }
                ]
            },
            True,
        ),
        (
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/appointment-cancellation-reason",
                        "code": "prov-dch",
                    }
                ]
            },
            False,
        ),
        (
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/appointment-cancellation-reason",
                        "code": "oth-weath",
                    }
                ]
            },
            None,
        ),
        ({"text": "Cancelled by the patient: no transport"}, True),
        ({"text": "weather"}, None),
    ],
)
def test_who_cancelled_is_read_where_the_ehr_says_it(
    reason: dict[str, Any], by_patient: bool | None
) -> None:
    item = read({"status": "cancelled", "cancelationReason": reason})
    assert item.cancelled_by_patient is by_patient
