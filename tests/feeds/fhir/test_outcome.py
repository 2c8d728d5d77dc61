"""A FHIR server's OperationOutcome in words, from the specification's own examples."""

from __future__ import annotations

import json

from outreach.feeds.fhir.outcome import outcome_words, resource_words
from outreach.testing.fhir_examples import example


def test_the_specifications_outcome_reads_as_one_sentence() -> None:
    words = resource_words(example("operationoutcome-example"))

    assert words == (
        'error code-invalid: The code "W" is not known and not legal in this context; '
        "Acme.Interop.FHIRProcessors.Patient.processGender line 2453 (at Patient.gender)"
    )


def test_a_failed_search_says_which_parameter() -> None:
    body = json.dumps(example("operationoutcome-example-searchfail")).encode()

    assert outcome_words(body) == (
        'fatal code-invalid: The "name" parameter has the modifier "exact" which is not '
        "supported by this server (at http.name:exact)"
    )


def test_several_issues_are_joined_and_a_long_list_is_cut() -> None:
    issue = {"severity": "warning", "code": "processing", "diagnostics": "slow index"}
    data = {"resourceType": "OperationOutcome", "issue": [issue] * 7}

    words = resource_words(data)

    assert words is not None
    assert words.split(" | ") == ["warning processing: slow index"] * 5 + ["and 2 more issues"]


def test_a_coded_detail_without_text_reads_its_display() -> None:
    data = {
        "resourceType": "OperationOutcome",
        "issue": [
            {
                "severity": "error",
                "code": "security",
                "details": {"coding": [{"code": "MSG_AUTH_REQUIRED", "display": "Sign in first"}]},
            }
        ],
    }

    assert resource_words(data) == "error security: Sign in first"


def test_a_malformed_outcome_still_says_what_it_can() -> None:
    data = {"resourceType": "OperationOutcome", "issue": [{"severity": "loud", "diagnostics": "x"}]}

    assert resource_words(data) == "loud: x"


def test_anything_else_is_not_an_outcome() -> None:
    assert outcome_words(b"<html>502 Bad Gateway</html>") is None
    assert outcome_words(json.dumps(example("patient-example")).encode()) is None
