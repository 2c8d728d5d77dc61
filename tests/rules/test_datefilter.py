"""The days typed in a filter read the same way, with the same words for the same mistakes,
on the message log, the report and the audit log."""

from __future__ import annotations

from datetime import date

import pytest

from outreach.accounts import audit
from outreach.rules.datefilter import END_BEFORE_START, NOT_A_DATE, typed_days
from outreach.staff import messagelog


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        ("2026-11-01", "2026-11-28", (date(2026, 11, 1), date(2026, 11, 28), {})),
        (None, " ", (None, None, {})),
        (" 2026-11-05 ", None, (date(2026, 11, 5), None, {})),
        ("yesterday", "2026-02-30", (None, None, {"start": [NOT_A_DATE], "end": [NOT_A_DATE]})),
        (
            "2026-11-10",
            "2026-11-09",
            (date(2026, 11, 10), date(2026, 11, 9), {"end": [END_BEFORE_START]}),
        ),
    ],
)
def test_it_reads_two_typed_days_and_names_each_mistake(
    start: str | None, end: str | None, expected: object
) -> None:
    assert typed_days(start, end) == expected


def test_the_message_log_and_the_audit_log_say_the_same_of_a_bad_date() -> None:
    _, log_errors = messagelog.parse_filter({"from": "yesterday", "to": "2026-11-01"}, [])
    audit_errors = audit.parse_filter({"start": "yesterday", "end": "2026-11-01"})

    assert log_errors == {"from": [NOT_A_DATE]}
    assert audit_errors == {"start": [NOT_A_DATE]}
