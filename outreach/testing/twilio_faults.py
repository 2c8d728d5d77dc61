"""Ways to make the fake Twilio misbehave, set from a test while requests are in flight."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

FormPredicate = Callable[[Mapping[str, str]], bool]


@dataclass(frozen=True)
class Failure:
    status: int
    code: int
    message: str | None = None


@dataclass(frozen=True)
class Hang:
    seconds: float
    accept_first: bool


def _code_for(status: int, code: int | None) -> int:
    # Twilio's generic codes mirror the HTTP status: 429 -> 20429, 503 -> 20503.
    if code is not None:
        return code
    return 21211 if status == 400 else 20000 + status


class FaultInjection:
    """Mixed into FakeTwilio. Everything here only affects creates (POST Messages.json);
    the checks run in this order: outage, fail_next, hang_next, validation, fail_when."""

    def __init__(self, latency_ms: float = 0) -> None:
        self._faults_lock = threading.Lock()
        self._failures: deque[Failure] = deque()
        self._hangs: deque[Hang] = deque()
        self._rules: list[tuple[FormPredicate, Failure]] = []
        self._outage: Failure | None = None
        self._latency_ms = latency_ms

    def fail_next(
        self, n: int = 1, status: int = 400, code: int | None = None, message: str | None = None
    ) -> None:
        """The next `n` creates answer this error; `code` defaults to 21211 for a 400 and to
        20000 + status otherwise (20429, 20500, 20503)."""
        with self._faults_lock:
            self._failures.extend([Failure(status, _code_for(status, code), message)] * n)

    def fail_when(
        self,
        predicate: FormPredicate,
        status: int = 400,
        code: int | None = None,
        message: str | None = None,
    ) -> None:
        """Every create whose form matches answers this error, e.g.
        `fail_when(lambda form: form["To"] == "+15005550004", code=21610)`."""
        with self._faults_lock:
            self._rules.append((predicate, Failure(status, _code_for(status, code), message)))

    def hang_next(self, n: int = 1, seconds: float = 5, accept_then_hang: bool = False) -> None:
        """The next `n` creates stall for `seconds`, to outlast the client's timeout. Without
        `accept_then_hang` the message is never accepted and the connection is dropped after
        the stall; with it, the message is recorded first and the 201 comes too late."""
        with self._faults_lock:
            self._hangs.extend([Hang(seconds, accept_then_hang)] * n)

    def set_latency(self, ms: float) -> None:
        """Every create waits this long first (Twilio answers in about 100-300 ms)."""
        with self._faults_lock:
            self._latency_ms = ms

    def outage_on(self, status: int = 503, code: int | None = None) -> None:
        with self._faults_lock:
            self._outage = Failure(status, _code_for(status, code))

    def outage_off(self) -> None:
        with self._faults_lock:
            self._outage = None

    @contextmanager
    def outage(self, status: int = 503, code: int | None = None) -> Iterator[None]:
        """Every create fails while inside the block."""
        self.outage_on(status, code)
        try:
            yield
        finally:
            self.outage_off()

    def clear_faults(self) -> None:
        """Forget every injected failure, hang, rule and outage (latency stays)."""
        with self._faults_lock:
            self._failures.clear()
            self._hangs.clear()
            self._rules.clear()
            self._outage = None

    @property
    def latency_seconds(self) -> float:
        with self._faults_lock:
            return self._latency_ms / 1000

    def _take_injected(self) -> Failure | Hang | None:
        with self._faults_lock:
            if self._outage is not None:
                return self._outage
            if self._failures:
                return self._failures.popleft()
            if self._hangs:
                return self._hangs.popleft()
            return None

    def _rule_for(self, form: Mapping[str, str]) -> Failure | None:
        with self._faults_lock:
            rules = list(self._rules)
        # Predicates run outside the lock: a test's lambda may be slow or raise.
        return next((failure for predicate, failure in rules if predicate(form)), None)
