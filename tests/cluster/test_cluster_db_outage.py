"""PostgreSQL drops the workers' connections again and again mid-run (pg_terminate_backend):
each worker recovers by itself, without a restart, and by the provider's own record nothing
is lost or sent twice."""

from __future__ import annotations

import random
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from tests.support.cluster import Cluster, ClusterTwilio, cluster, needs_postgres

pytestmark = [pytest.mark.cluster, needs_postgres]

WORKERS = 4
REMINDERS = 2000
CUTTING_SECONDS = 8
# Only the connections of this test's workers: their application_name is
# "outreach worker <host>:<pid>:<hex>" and the pids are ours.
THEIR_CONNECTIONS = text(
    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
    "WHERE application_name LIKE 'outreach worker %' "
    "AND split_part(application_name, ':', 2) = ANY(:pids)"
)


def keep_cutting(running: Cluster, stop: threading.Event, cuts: list[int]) -> None:
    """Every 0.3-1.5 s for a stretch, terminate every PostgreSQL connection of one random
    worker (sometimes of all of them): their pools must notice and reconnect."""
    admin = running.admin_engine()
    try:
        ended = time.monotonic() + CUTTING_SECONDS
        while time.monotonic() < ended and not stop.wait(random.uniform(0.3, 1.5)):
            victims = (
                running.workers if random.random() < 0.25 else [random.choice(running.workers)]
            )
            with admin.begin() as conn:
                killed = conn.execute(
                    THEIR_CONNECTIONS, {"pids": [str(w.pid) for w in victims]}
                ).all()
            cuts.append(len(killed))
    finally:
        admin.dispose()


def test_workers_whose_database_connections_are_killed_recover_and_send_everything_once(
    tmp_path: Path,
) -> None:
    with (
        ClusterTwilio(latency=(0.05, 0.15)) as fake,
        cluster(tmp_path, fake, concurrency=8) as running,
    ):
        running.add_foot_checks(running.add_patients(REMINDERS), running.now())
        workers = running.start_workers(WORKERS)
        running.wait_for(lambda: len(fake.messages) >= 100, "sending under way", 120)
        stop = threading.Event()
        cuts: list[int] = []
        cutter = threading.Thread(target=keep_cutting, args=(running, stop, cuts))
        cutter.start()
        try:
            cutter.join(CUTTING_SECONDS + 5)
            ticks_after_the_cuts = running.heartbeats()
            running.wait_until_finished()
            # Every worker keeps ticking after the cuts (its heartbeat row moves on).
            running.wait_for(
                lambda: all(
                    running.heartbeats().get(w.pid, 0) > ticks_after_the_cuts.get(w.pid, 0)
                    for w in workers
                ),
                "every worker ticking again",
                60,
            )
        finally:
            stop.set()
            cutter.join()
        alive = [w.alive for w in workers]
        exits = running.stop_all()
        outcome = running.judge(fake)
        print(
            f"\n{len(cuts)} cuts terminated {sum(cuts)} connections; {outcome.messages} texts "
            f"at the fake for {outcome.reminders} reminders; states {dict(outcome.states)}; "
            f"reasons {dict(outcome.reasons)}; "
            f"{sum(1 for r in fake.requests if r.method == 'GET')} lookups; "
            f"{running.log_count('tick failed')} ticks failed, "
            f"{running.log_count('recording it failed')} records retried"
        )
        assert running.started == workers, "no worker was restarted"
        assert all(alive), f"a worker died: {alive}\n{running.log_tail()}"
        assert set(exits.values()) == {0}, f"not a clean stop on SIGTERM: {exits}"
        assert sum(cuts) >= WORKERS, "the connections were really cut"
        assert not outcome.problems, f"{outcome.problems}\n{running.log_tail()}"
        assert outcome.states["sent"] == REMINDERS
