"""When a reminder's send is tried again, and when it gives up: a table, no database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from outreach.rules.retry import MAX_ATTEMPTS, backoff, failure_reason, next_try

NOW = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
BASE = 60
LATER = NOW + timedelta(days=1)


@pytest.mark.parametrize(
    ("attempts", "wait"),
    [
        pytest.param(0, timedelta(minutes=1), id="the-base-before-any-attempt"),
        pytest.param(1, timedelta(minutes=1), id="the-base-after-the-first"),
        pytest.param(2, timedelta(minutes=2), id="doubling-after-the-second"),
        pytest.param(4, timedelta(minutes=8), id="and-again-after-each"),
    ],
)
def test_each_retry_waits_twice_as_long_as_the_one_before(attempts: int, wait: timedelta) -> None:
    assert backoff(attempts, BASE) == wait


@pytest.mark.parametrize(
    ("attempts", "expires_at", "permanent", "expected"),
    [
        pytest.param(1, LATER, False, NOW + timedelta(minutes=1), id="a-transient-error-retries"),
        pytest.param(3, LATER, False, NOW + timedelta(minutes=4), id="later-after-more-tries"),
        pytest.param(1, LATER, True, None, id="a-permanent-error-never-retries"),
        pytest.param(MAX_ATTEMPTS, LATER, False, None, id="the-last-attempt-is-the-last"),
        pytest.param(MAX_ATTEMPTS - 1, LATER, False, NOW + timedelta(minutes=8), id="one-left"),
        pytest.param(
            1, NOW + timedelta(minutes=1), False, None, id="no-retry-at-the-reminders-moment"
        ),
        pytest.param(
            1,
            NOW + timedelta(minutes=1, seconds=1),
            False,
            NOW + timedelta(minutes=1),
            id="a-retry-just-before-its-moment",
        ),
    ],
)
def test_a_send_is_tried_again_only_while_it_can_still_help(
    attempts: int, expires_at: datetime, permanent: bool, expected: datetime | None
) -> None:
    decision = next_try(
        attempts=attempts,
        now=NOW,
        expires_at=expires_at,
        base_seconds=BASE,
        permanent=permanent,
    )

    assert decision == expected


@pytest.mark.parametrize(
    ("uncertain", "code", "reason"),
    [
        pytest.param(True, "network", "send_outcome_unknown", id="it-may-have-gone"),
        pytest.param(False, "30006", "provider_30006", id="the-providers-code"),
        pytest.param(False, None, "provider_error", id="no-code"),
        pytest.param(False, "x" * 60, "provider_" + "x" * 31, id="as-long-as-the-column"),
    ],
)
def test_a_failure_is_stored_with_a_reason_staff_can_read(
    uncertain: bool, code: str | None, reason: str
) -> None:
    assert failure_reason(uncertain=uncertain, code=code) == reason
