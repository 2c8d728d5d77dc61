"""The clinic's health, read from a seeded database: every figure, and what counts as a
problem for `outreach status --check`."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine

from outreach.config import Settings
from outreach.monitoring.health import Health, problems, snapshot
from outreach.monitoring.workers import WorkerSeen
from tests.support.health import (
    MIN,
    add_worker,
    seed_clinic,
)
from tests.support.patients import T0


def test_an_empty_clinic_reads_all_zeros(engine: Engine, settings: Settings) -> None:
    health = snapshot(engine, settings, T0)

    assert (health.due, health.in_flight, health.expired_leases, health.retrying) == (0, 0, 0, 0)
    assert health.oldest_due_at is None and health.oldest_due_seconds == 0
    assert health.texts_last_hour == {}
    assert health.workers == ()
    assert health.open_escalations == {"emergency": 0, "urgent": 0, "routine": 0, "review": 0}
    assert health.oldest_open_urgent_at is None
    assert health.unprocessed_replies == 0


def test_it_reads_the_queue_claims_and_retries(engine: Engine, settings: Settings) -> None:
    seed_clinic(engine, settings, T0)

    health = snapshot(engine, settings, T0)

    assert health.due == 3
    assert health.oldest_due_at == T0 - 10 * MIN and health.oldest_due_seconds == 600
    assert health.in_flight == 3
    assert health.expired_leases == 2 and health.expired_lease_seconds == 200
    assert health.retrying == 2


def test_it_reads_texts_escalations_and_replies(engine: Engine, settings: Settings) -> None:
    seed_clinic(engine, settings, T0)

    health = snapshot(engine, settings, T0)

    assert health.texts_last_hour == {"delivered": 2, "failed": 1}
    assert health.open_escalations == {"emergency": 0, "urgent": 2, "routine": 2, "review": 0}
    assert health.oldest_open_urgent_seconds == 90 * 60
    assert health.unprocessed_replies == 2


def test_it_lists_the_workers_seen_in_the_last_three_ticks(
    engine: Engine, settings: Settings
) -> None:
    add_worker(engine, "web-1:10:aaaaaa", T0 - timedelta(seconds=settings.tick_seconds))
    add_worker(engine, "web-2:20:bbbbbb", T0 - timedelta(seconds=5), stopped=True)
    add_worker(engine, "web-3:30:cccccc", T0 - timedelta(seconds=4 * settings.tick_seconds))

    health = snapshot(engine, settings, T0)

    assert [seen.id for seen in health.workers] == ["web-1:10:aaaaaa", "web-2:20:bbbbbb"]
    assert health.workers_running == 1
    first = health.workers[0]
    assert (first.ticks, first.sent, first.last_tick_ms) == (1, 3, 12.5)


def a_healthy(at: datetime = T0) -> Health:
    running = WorkerSeen("h:1:a", "h", 1, "worker", at, at, None, 5, 10.0, 2, None)
    return Health(
        at=at,
        due=1,
        oldest_due_at=at - timedelta(seconds=10),
        in_flight=1,
        expired_leases=0,
        oldest_expired_lease_at=None,
        retrying=0,
        texts_last_hour={},
        workers=(running,),
        open_escalations={"urgent": 1, "routine": 0, "review": 0},
        oldest_open_urgent_at=at - timedelta(hours=5),
        unprocessed_replies=0,
    )


STOPPED = WorkerSeen("h:1:a", "h", 1, "worker", T0, T0, T0, 5, 10.0, 2, None)


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({}, None),
        ({"workers": ()}, "no worker has reported"),
        ({"workers": (STOPPED,)}, "no worker has reported"),
        ({"oldest_due_at": T0 - timedelta(seconds=301)}, "the oldest has waited 301 s"),
        ({"oldest_due_at": T0 - timedelta(seconds=300)}, None),
        (
            {"expired_leases": 4, "oldest_expired_lease_at": T0 - timedelta(seconds=121)},
            "4 claims have had an expired lease for up to 121 s",
        ),
        ({"expired_leases": 4, "oldest_expired_lease_at": T0 - timedelta(seconds=60)}, None),
    ],
)
def test_what_needs_a_look(change: dict[str, Any], says: str | None) -> None:
    found = problems(replace(a_healthy(), **change), max_due_age=300, lease_seconds=120)

    if says is None:
        assert found == []
    else:
        assert len(found) == 1 and says in found[0], found
