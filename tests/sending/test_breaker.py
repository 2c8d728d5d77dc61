"""The provider-outage breaker: pause after a run of transient failures, probe, resume."""

from __future__ import annotations

from outreach.sending.breaker import MAX_PAUSE, THRESHOLD, Breaker


class Monotonic:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def opened(pause: float = 10) -> tuple[Breaker, Monotonic]:
    clock = Monotonic()
    breaker = Breaker(pause, clock)
    for _ in range(THRESHOLD):
        breaker.failed()
    return breaker, clock


def test_a_few_failures_do_not_stop_sending() -> None:
    breaker = Breaker(10, Monotonic())
    for _ in range(THRESHOLD - 1):
        breaker.failed()

    assert breaker.allowed() == -1
    assert not breaker.is_open


def test_a_success_between_failures_starts_the_count_again() -> None:
    breaker = Breaker(10, Monotonic())
    for _ in range(THRESHOLD - 1):
        breaker.failed()
    breaker.succeeded()
    for _ in range(THRESHOLD - 1):
        breaker.failed()

    assert breaker.allowed() == -1


def test_a_run_of_failures_pauses_sending_until_the_pause_is_over() -> None:
    breaker, clock = opened(pause=10)

    assert breaker.is_open
    assert breaker.allowed() == 0
    clock.now += 9.9
    assert breaker.allowed() == 0
    clock.now += 0.2
    assert breaker.allowed() == 1, "one probe after the pause"
    assert breaker.allowed() == 0, "and only one while it is out"
    assert breaker.is_open


def test_a_probe_that_goes_through_resumes_sending() -> None:
    breaker, clock = opened(pause=10)
    clock.now += 10
    assert breaker.allowed() == 1

    breaker.succeeded()

    assert breaker.allowed() == -1
    assert not breaker.is_open


def test_a_failed_probe_doubles_the_pause_up_to_the_limit() -> None:
    breaker, clock = opened(pause=10)
    pauses = []
    for _ in range(10):
        waited = 0.0
        while breaker.allowed() != 1:
            clock.now += 1
            waited += 1
        pauses.append(waited)
        breaker.failed()

    assert pauses[:4] == [10, 20, 40, 80]
    assert max(pauses) == MAX_PAUSE


def test_a_probe_that_ends_without_a_send_lets_another_probe_go() -> None:
    breaker, clock = opened(pause=10)
    clock.now += 10
    assert breaker.allowed() == 1

    breaker.probe_done()  # e.g. the reminder was skipped for quiet hours

    assert breaker.allowed() == 1


def test_failures_of_sends_already_in_flight_do_not_extend_the_pause() -> None:
    breaker, clock = opened(pause=10)
    breaker.failed()
    breaker.failed()
    clock.now += 10

    assert breaker.allowed() == 1
