"""Workers killed with SIGKILL mid-send, again and again, and restarted: by the provider's
own record every reminder still goes exactly once, and none is lost."""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.cluster import DEADLINE_SECONDS, Cluster, ClusterTwilio, cluster, needs_postgres

pytestmark = [pytest.mark.cluster, needs_postgres]

WORKERS = 4
REMINDERS = 2000
MIN_KILLS = 8
# Kills go on while work remains, but stop after this long once MIN_KILLS are done, so the
# last killed worker's claims can come back (a lease is 10 s) and the test ends.
KILLING_SECONDS = 10


@dataclass
class Kill:
    pid: int
    claims_held: int  # reminders the victim had claimed at that moment: sends in flight


def keep_killing(running: Cluster, stop: threading.Event, kills: list[Kill]) -> None:
    """Every 0.5-2 s, SIGKILL a random worker among those holding claims (sends in flight)
    and start a fresh one in its place. A worker still starting up is left alone: killing it
    proves nothing, and on a loaded machine it would never get to send at all."""
    started = time.monotonic()
    while not stop.wait(random.uniform(0.5, 2.0)):
        if len(kills) >= MIN_KILLS and time.monotonic() - started > KILLING_SECONDS:
            return
        held = {slot: running.claims_held(w) for slot, w in enumerate(running.workers)}
        busy = [slot for slot, claims in held.items() if claims]
        if busy:
            slot = random.choice(busy)
            kills.append(Kill(running.workers[slot].pid, held[slot]))
            running.kill_and_restart(slot)


def test_workers_killed_mid_send_and_restarted_send_every_reminder_exactly_once(
    tmp_path: Path,
) -> None:
    # 50-150 ms a create, as Twilio answers: most kills land while sends are in flight.
    with (
        ClusterTwilio(latency=(0.05, 0.15)) as fake,
        cluster(tmp_path, fake, concurrency=8) as running,
    ):
        running.add_foot_checks(running.add_patients(REMINDERS), running.now())
        running.start_workers(WORKERS)
        began = time.monotonic()
        stop = threading.Event()
        kills: list[Kill] = []
        killer = threading.Thread(target=keep_killing, args=(running, stop, kills))
        killer.start()
        try:
            running.wait_for(
                lambda: running.unfinished() == 0 and len(kills) >= MIN_KILLS,
                f"every reminder finished after at least {MIN_KILLS} kills",
                timeout=DEADLINE_SECONDS,
            )
        finally:
            stop.set()
            killer.join()
        outcome = running.judge(fake)
        lookups = sum(1 for r in fake.requests if r.method == "GET")
        print(
            f"\n{len(kills)} kills of workers holding {sum(k.claims_held for k in kills)} "
            f"claims; {time.monotonic() - began:.0f} s; {outcome.messages} texts at the fake for "
            f"{outcome.reminders} reminders; states {dict(outcome.states)}; "
            f"reasons {dict(outcome.reasons)}; {lookups} lookups at the provider; "
            f"{running.log_count('had gone out already')} found there"
        )
        assert len(kills) >= MIN_KILLS
        assert not outcome.problems, f"{outcome.problems}\n{running.log_tail()}"
