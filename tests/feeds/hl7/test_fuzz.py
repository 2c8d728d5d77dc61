"""Whatever arrives, the listener answers or closes cleanly, never crashes, and keeps what it
received. Hypothesis writes the inputs: arbitrary bytes, and near-misses of real messages
(the samples with characters changed, segments dropped or shuffled, delimiters swapped)."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy import Engine, func, select

from outreach.config import Settings
from outreach.db.tables import feed_messages
from outreach.feeds.hl7 import store
from outreach.feeds.hl7.header import storable
from outreach.feeds.hl7.listener import start_in_thread
from outreach.rules.vocabulary import AckCode
from tests.feeds.hl7.samples import SAMPLES
from tests.support.patients import T0

M = feed_messages
REAL = [path.read_bytes() for path in sorted(SAMPLES.glob("*.hl7"))]
HL7_CHARS = st.sampled_from(list("|^~\\&\r\nMSHSCPIDTQ1AIS0123456789.+-ABCZ \x0b\x1c\x00é"))


@st.composite
def near_misses(draw: st.DrawFn) -> bytes:
    """A real message, damaged the ways senders and networks damage them."""
    text = draw(st.sampled_from(REAL)).decode("utf-8")
    lines = text.replace("\r\n", "\r").replace("\n", "\r").split("\r")
    damage = draw(st.sampled_from(["drop", "shuffle", "mutate", "truncate", "swap"]))
    if damage == "drop" and len(lines) > 1:
        del lines[draw(st.integers(0, len(lines) - 1))]
    elif damage == "shuffle":
        lines = draw(st.permutations(lines))
    elif damage == "mutate":
        chars = list("\r".join(lines))
        for _ in range(draw(st.integers(1, 8))):
            at = draw(st.integers(0, len(chars) - 1))
            chars[at] = draw(HL7_CHARS)
        lines = ["".join(chars)]
    elif damage == "truncate":
        whole = "\r".join(lines)
        lines = [whole[: draw(st.integers(0, len(whole)))]]
    else:
        lines = ["\r".join(lines).replace("|", draw(st.sampled_from(["#", "^", "\x00", "|"])))]
    return "\r".join(lines).encode("utf-8")


anything = st.one_of(st.binary(max_size=400), near_misses(), st.text(HL7_CHARS).map(str.encode))


@hypothesis_settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(raw=anything)
def test_any_message_gets_an_answer_and_is_kept(
    engine: Engine, settings: Settings, raw: bytes
) -> None:
    with engine.connect() as conn:
        before = conn.execute(select(func.count()).select_from(M)).scalar_one()

    handled = store.take(engine, settings, raw, "127.0.0.1:9", T0)

    assert handled.code in (AckCode.ACCEPT, AckCode.ERROR, AckCode.REJECT)
    lines = handled.answer.rstrip("\r").split("\r")
    assert lines[0].startswith("MSH") and lines[1].startswith("MSA")
    assert lines[1].split(lines[0][3])[1] == handled.code
    assert not set(handled.answer) & {"\x0b", "\x1c", "\n"}  # nothing breaks the framing
    with engine.connect() as conn:
        rows = conn.execute(select(M.c.raw).where(M.c.id == handled.message_id)).scalars().all()
        after = conn.execute(select(func.count()).select_from(M)).scalar_one()
    assert after == before + 1
    text = raw.decode("utf-8", errors="strict") if _utf8(raw) else raw.decode("latin-1")
    assert rows == [storable(text)]


def _utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


@pytest.fixture
def port(engine: Engine, settings: Settings) -> Iterator[int]:
    thread, stop, port = start_in_thread(engine, settings, lambda: T0, host="127.0.0.1", port=0)
    yield port
    stop.set()
    thread.join(10)


@hypothesis_settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(stream=st.lists(st.one_of(anything, st.just(b"\x0b"), st.just(b"\x1c\r")), max_size=6))
def test_any_stream_of_bytes_gets_answers_or_a_clean_close(
    engine: Engine, port: int, stream: list[bytes]
) -> None:
    """Framing bytes anywhere: each complete block is answered, the rest closes cleanly, and
    every block (complete or cut off) is kept."""
    data = b"".join(stream)
    blocks = data.count(b"\x1c\r")
    with engine.connect() as conn:
        before = conn.execute(select(func.count()).select_from(M)).scalar_one()
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    answers = received.count(b"\x1c\r")
    assert answers == blocks
    assert received.count(b"\x0bMSH") == answers
    with engine.connect() as conn:
        after = conn.execute(select(func.count()).select_from(M)).scalar_one()
    tail = data.rsplit(b"\x1c\r", 1)[-1] if blocks else data
    assert after - before == blocks + (1 if tail.strip() else 0)
