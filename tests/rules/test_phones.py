"""Patients' phones as staff read and dial them."""

from __future__ import annotations

import pytest

from outreach.rules.phones import as_e164, readable_phone, tel_href


@pytest.mark.parametrize(
    ("e164", "home", "shown"),
    [
        ("+16175550142", "US", "(617) 555-0142"),
        ("+15555550142", "US", "(555) 555-0142"),  # fictional: no region, still national
        ("+14165550142", "US", "(416) 555-0142"),  # Canada dials like home from the US
        ("+525512345678", "US", "+52 55 1234 5678"),
        ("+447911123456", "US", "+44 7911 123456"),
        ("+447911123456", "GB", "07911 123456"),
        ("+16175550142", "GB", "+1 617-555-0142"),
        ("+34612345678", "ES", "612 34 56 78"),
        ("not a number", "US", "not a number"),
        ("", "US", ""),
    ],
)  # fmt: skip
def test_a_phone_reads_nationally_at_home_and_internationally_otherwise(
    e164: str, home: str, shown: str
) -> None:
    assert readable_phone(e164, home) == shown


@pytest.mark.parametrize(
    ("e164", "href"),
    [
        ("+16175550142", "tel:+16175550142"),
        ("+1 617-555-0142", "tel:+16175550142"),
        ('+1617"><script>', "tel:+1617"),
    ],
)  # fmt: skip
def test_a_tel_link_carries_only_the_digits_and_the_plus(e164: str, href: str) -> None:
    assert tel_href(e164) == href


@pytest.mark.parametrize(
    ("typed", "home", "e164"),
    [
        ("(617) 555-0142", "US", "+16175550142"),
        ("617-555-0142", "US", "+16175550142"),
        ("617.555.0142", "US", "+16175550142"),
        ("+1 617 555 0142", "US", "+16175550142"),
        ("1 (617) 555-0142", "US", "+16175550142"),
        ("+16175550142", "US", "+16175550142"),
        ("612 34 56 78", "ES", "+34612345678"),
        ("+1 617 555 0142", "ES", "+16175550142"),
        ("RPT-1001", "US", None),
        ("1001", "US", None),
        ("", "US", None),
    ],
)  # fmt: skip
def test_a_number_typed_in_any_spelling_is_read_as_e164(
    typed: str, home: str, e164: str | None
) -> None:
    assert as_e164(typed, home) == e164
