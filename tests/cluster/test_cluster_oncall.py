"""A worker killed with SIGKILL while it resumes an on-call page (the row in `resending`, no
provider id yet) leaves the page to the next worker: once the claim is a lease old, that
worker looks the page up at the provider and sends it only if it is not there. By the
provider's own record the on-call phone is paged exactly once. Runs on SQLite and on
PostgreSQL."""

from __future__ import annotations

import threading
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import insert, select

from outreach.db.tables import escalations, outbound_messages
from outreach.rules.vocabulary import OutboundStatus, Severity
from outreach.testing import FakeTwilio
from outreach.testing.twilio_http import Reply
from tests.support.cluster import Cluster, cluster

pytestmark = pytest.mark.slow

ON_CALL = "+16175550199"
LEASE_SECONDS = 10  # tests/support/cluster.py's [scheduler] lease_seconds
# Hang protection only: before the fix the page is never resumed, and the test says so here.
WAIT_SECONDS = LEASE_SECONDS + 50


class HoldingTwilio(FakeTwilio):
    """Holds one request until released, so a test can kill the worker waiting on it:
    the first lookup (`hold="lookup"`), or the first create Twilio accepts, after accepting
    it (`hold="resend"`)."""

    def __init__(self, hold: str) -> None:
        super().__init__()
        self.hold = hold
        self.holding = threading.Event()  # the held request has arrived
        self.release = threading.Event()

    def __enter__(self) -> HoldingTwilio:
        self.start()
        return self

    def answer(self, method: str, raw_path: str, auth: str | None, body: bytes) -> Reply:
        if method == "GET" and self.hold == "lookup" and self._hold_this_one():
            self.release.wait(WAIT_SECONDS)
            return super().answer(method, raw_path, auth, body)
        reply = super().answer(method, raw_path, auth, body)
        if reply.created and self.hold == "resend" and self._hold_this_one():
            self.release.wait(WAIT_SECONDS)
        return reply

    def _hold_this_one(self) -> bool:
        with self._lock:
            if self.holding.is_set():
                return False
            self.holding.set()
            return True

    def stop(self) -> None:
        self.release.set()  # the server joins its request threads
        super().stop()


def escalate(running: Cluster, patient_id: int) -> None:
    with running.engine.begin() as conn:
        conn.execute(
            insert(escalations).values(
                patient_id=patient_id,
                severity=Severity.URGENT,
                reason="foot_open_sore",
                detail="open sore, bleeding or pus",
                created_at=running.now(),
            )
        )


def the_page(running: Cluster) -> Any:
    """The on-call page's row: its status and provider id, both None before it is written.
    There is never more than one."""
    with running.engine.connect() as conn:
        row = conn.execute(
            select(outbound_messages.c.status, outbound_messages.c.provider_sid).where(
                outbound_messages.c.to_phone == ON_CALL
            )
        ).one_or_none()
    return row or SimpleNamespace(status=None, provider_sid=None)


def requests_seen(fake: FakeTwilio) -> list[tuple[str, int]]:
    """Each request the provider answered, in order: (method, status), 0 for dropped."""
    return [(request.method, request.status) for request in fake.requests]


DROPPED_CREATE = ("POST", 0)
LOOKUP = ("GET", 200)
CREATED = ("POST", 201)


@pytest.mark.parametrize(
    ("hold", "provider_saw"),
    [
        # Killed while asking Twilio whether the page went: it had not, so it is sent.
        pytest.param("lookup", [DROPPED_CREATE, LOOKUP, LOOKUP, CREATED], id="in-the-lookup"),
        # Killed after Twilio took the page again, before its answer was recorded: the next
        # worker finds it there and sends nothing.
        pytest.param("resend", [DROPPED_CREATE, LOOKUP, CREATED, LOOKUP], id="in-the-resend"),
    ],
)
def test_a_page_whose_worker_was_killed_while_resending_it_is_resumed_and_sent_once(
    tmp_path: Path, hold: str, provider_saw: list[tuple[str, int]]
) -> None:
    with (
        HoldingTwilio(hold) as fake,
        cluster(tmp_path, fake, clinic={"on_call_phone": ON_CALL}) as running,
    ):
        # The first page's create is dropped unanswered and not taken: the worker cannot
        # know whether it went (`unknown`), and on its next tick resumes it (`resending`).
        fake.hang_next(1, seconds=0)
        [patient] = running.add_patients(1)
        escalate(running, patient)
        first = running.start_worker()
        running.wait_for(
            lambda: fake.holding.is_set() and the_page(running).status == OutboundStatus.RESENDING,
            f"the first worker held in the {hold} of a page in resending",
            timeout=WAIT_SECONDS,
        )

        running.kill_and_restart(0)
        fake.release.set()
        second = running.workers[0]
        running.wait_for(
            lambda: the_page(running).provider_sid is not None,
            "the second worker settled the page the first one was killed resending",
            timeout=WAIT_SECONDS,
        )
        ticks = running.heartbeats()[second.pid]
        running.wait_for(
            lambda: running.heartbeats()[second.pid] >= ticks + 2,
            "two more ticks of the second worker",
            timeout=WAIT_SECONDS,
        )

        assert not first.alive
        [message] = fake.sent_to(ON_CALL)
        page = the_page(running)
        assert page.provider_sid == message.sid
        assert page.status == "queued"
        assert requests_seen(fake) == provider_saw, running.log_tail()
