"""The send rate shared through the database: every worker together keeps to it."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import Engine, select

from outreach.db.engine import make_engine
from outreach.db.tables import send_rates
from outreach.sending.ratelimit import SharedRateLimiter


def take(limiter: SharedRateLimiter, count: int, finished: list[float]) -> None:
    for _ in range(count):
        limiter.acquire()
        finished.append(time.monotonic())


def test_two_workers_share_one_rate_instead_of_doubling_it(
    engine: Engine, database_url: str
) -> None:
    rate, per_worker = 20.0, 15
    # Two engines, two connection pools: as two processes would hold them.
    engines = [engine, make_engine(database_url)]
    limiters = [SharedRateLimiter(e, "twilio:+16175550100", rate) for e in engines]
    finished: list[float] = []
    started = time.monotonic()
    threads = [
        threading.Thread(target=take, args=(limiter, per_worker // 3, finished))
        for limiter in limiters
        for _ in range(3)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    engines[1].dispose()

    sends = 2 * per_worker
    assert len(finished) == sends
    # Strict spacing: the last of 30 slots is 29 intervals after the first. Each worker
    # alone at 20/s would have needed only half of that.
    assert max(finished) - started >= (sends - 1) / rate


def test_a_limiter_joining_later_does_not_reset_the_slots(engine: Engine) -> None:
    first = SharedRateLimiter(engine, "twilio:+16175550100", 1.0, sleep=lambda _s: None)
    first.acquire()
    first.acquire()
    with engine.begin() as conn:
        before = conn.execute(select(send_rates.c.next_slot)).scalar_one()

    second = SharedRateLimiter(engine, "twilio:+16175550100", 1.0, sleep=lambda _s: None)
    waited = second.acquire()

    with engine.begin() as conn:
        after = conn.execute(select(send_rates.c.next_slot)).scalar_one()
    assert after == pytest.approx(before + second.interval)
    assert waited > 1.0, "two slots were already taken ahead of it"


def test_each_sender_has_its_own_rate(engine: Engine) -> None:
    waits = []
    for sender in ("twilio:+16175550100", "twilio:+16175550111"):
        limiter = SharedRateLimiter(engine, sender, 1.0, sleep=lambda _s: None)
        waits.append(limiter.acquire())

    assert waits == [0.0, 0.0]
    with engine.begin() as conn:
        assert sorted(conn.execute(select(send_rates.c.sender)).scalars()) == [
            "twilio:+16175550100",
            "twilio:+16175550111",
        ]


def test_a_rate_must_be_above_zero(engine: Engine) -> None:
    with pytest.raises(ValueError, match="above zero"):
        SharedRateLimiter(engine, "twilio:x", 0)
