"""The MLLP listener: a TCP (or TLS) server that takes HL7 v2 messages framed as <VT> message
<FS><CR>, one at a time per connection, and answers each with its ACK before reading the next.

python-hl7's asyncio MLLP support (hl7.mllp) runs the server and writes the framed answers;
the blocks are read here, a level below its `readblock`, so that the bytes of a badly framed
block are kept rather than dropped with the error. The database work runs in threads:
SQLAlchemy is synchronous, and one slow write must not stop the other connections' reads. On
SQLite a single thread does it all: SQLite has one writer, and threads taking turns through
its busy handler (which sleeps) were slower than a queue (451 messages/s against 525/s for
one connection, p99 89 ms).

What each kind of input gets:
- a framed message: stored, handled, answered (AA, AE or AR: outreach/feeds/hl7/store.py);
- a block that does not begin with <VT>: stored, answered AR ("framing"), connection kept;
- a connection closed in the middle of a block: what arrived is stored, nothing to answer;
- a block larger than MAX_MESSAGE_BYTES: a note stored, the connection closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from hl7.mllp import start_hl7_server
from hl7.mllp.streams import HL7StreamReader, HL7StreamWriter
from sqlalchemy import Engine

from outreach.config import Settings
from outreach.feeds.hl7 import store

log = logging.getLogger("outreach.feeds.hl7")

START_BLOCK = b"\x0b"
END_BLOCK = b"\x1c\r"
DATABASE_THREADS = 4  # on PostgreSQL, batches written at once, each waiting on its commit
BATCH = 32  # messages from several connections taken in one transaction, at most
MAX_MESSAGE_BYTES = 1024 * 1024  # an SIU is a few kB; a megabyte is a broken sender
FRAMING = "framing: the block does not begin with <VT> (0x0B); MLLP frames are <VT>message<FS><CR>"


@dataclass
class Counts:
    """What this listener did since it started (for its log line and the tests)."""

    connections: int = 0
    messages: int = 0
    by_code: dict[str, int] = field(default_factory=dict)


class Listener:
    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        now: Callable[[], datetime],
        host: str | None = None,
        port: int | None = None,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.now = now
        self.host = host or settings.hl7_host
        self.port = settings.hl7_port if port is None else port
        self.counts = Counts()
        self._server: asyncio.base_events.Server | None = None
        self._sqlite = engine.dialect.name == "sqlite"
        self._writers = 1 if self._sqlite else DATABASE_THREADS
        self._database = ThreadPoolExecutor(self._writers, thread_name_prefix="hl7-db")
        self._waiting: asyncio.Queue[tuple[bytes, str, asyncio.Future[store.Handled]]] = (
            asyncio.Queue()
        )
        self._tasks: list[asyncio.Task[None]] = []

    def tls(self) -> ssl.SSLContext | None:
        """TLS when hl7.tls_cert and hl7.tls_key are set (TLS 1.2 at least)."""
        cert, key = self.settings.hl7_tls_cert, self.settings.hl7_tls_key
        if cert is None or key is None:
            return None
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(cert, key)
        return context

    async def start(self) -> int:
        """Listen; returns the port (the one the system chose, for port 0)."""
        self._tasks = [asyncio.create_task(self._write()) for _ in range(self._writers)]
        self._server = await start_hl7_server(
            self._connection,
            host=self.host,
            port=self.port,
            ssl=self.tls(),
            limit=MAX_MESSAGE_BYTES,
        )
        port = int(self._server.sockets[0].getsockname()[1])
        log.warning("HL7 listener on %s:%s%s", self.host, port, " (TLS)" if self.tls() else "")
        return port

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._database.shutdown(wait=True)

    async def _write(self) -> None:
        """Take the messages waiting, as many as have arrived (up to BATCH), in one
        transaction; answer each connection with its own ACK."""
        loop = asyncio.get_running_loop()
        while True:
            batch = [await self._waiting.get()]
            while len(batch) < BATCH and not self._waiting.empty():
                batch.append(self._waiting.get_nowait())
            messages = [(raw, peer) for raw, peer, _ in batch]
            work = (self.engine, self.settings, messages, self.now())
            try:
                if self._sqlite:
                    # SQLite: in this thread. Its one writer makes a second thread no faster,
                    # and handing each batch to one and back cost a fifth of the time; the
                    # connections' bytes wait in the kernel meanwhile and form the next batch.
                    results = store.take_many(*work)
                else:
                    results = await loop.run_in_executor(self._database, store.take_many, *work)
            except BaseException as exc:  # cancelled at stop, or a bug: no reader waits forever
                for _, _, answered in batch:
                    if not answered.done():
                        answered.set_exception(exc)
                raise
            for (_, _, answered), handled in zip(batch, results, strict=True):
                answered.set_result(handled)

    async def _in_database(self, work: Callable[..., store.Handled], *args: Any) -> store.Handled:
        return await asyncio.get_running_loop().run_in_executor(self._database, work, *args)

    async def _connection(self, reader: HL7StreamReader, writer: HL7StreamWriter) -> None:
        address = writer.get_extra_info("peername")
        peer = f"{address[0]}:{address[1]}" if isinstance(address, tuple) else str(address)
        self.counts.connections += 1
        try:
            while await self._one(reader, writer, peer):
                pass
        except (ConnectionError, ssl.SSLError) as exc:
            log.info("HL7 connection from %s ended: %s", peer, type(exc).__name__)
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError, ssl.SSLError):
                await writer.wait_closed()

    async def _one(self, reader: HL7StreamReader, writer: HL7StreamWriter, peer: str) -> bool:
        """Read, handle and answer one block; False when the connection is done."""
        try:
            block = await reader.readuntil(END_BLOCK)
        except asyncio.IncompleteReadError as cut:
            if cut.partial.strip():
                await self._keep(cut.partial, peer, "the connection closed in mid-message")
            return False
        except asyncio.LimitOverrunError:
            note = f"a block over {MAX_MESSAGE_BYTES} bytes: connection closed".encode()
            await self._keep(note, peer, "too large")
            return False
        body = block[: -len(END_BLOCK)]
        start = body.find(START_BLOCK)
        if start != 0:
            handled = await self._in_database(
                store.refuse, self.engine, body, peer, self.now(), FRAMING
            )
        else:
            answered: asyncio.Future[store.Handled] = asyncio.get_running_loop().create_future()
            await self._waiting.put((body[1:], peer, answered))
            handled = await answered
        self.counts.messages += 1
        self.counts.by_code[handled.code] = self.counts.by_code.get(handled.code, 0) + 1
        writer.writeblock(handled.answer.encode("utf-8"))
        await writer.drain()
        return True

    async def _keep(self, raw: bytes, peer: str, why: str) -> None:
        await self._in_database(store.refuse, self.engine, raw, peer, self.now(), why)


def serve(
    engine: Engine,
    settings: Settings,
    now: Callable[[], datetime],
    stop: threading.Event,
    host: str | None = None,
    port: int | None = None,
    ready: Callable[[int], None] | None = None,
) -> None:
    """Run the listener until `stop` is set (the command, the worker's thread)."""

    async def main() -> None:
        listener = Listener(engine, settings, now, host, port)
        bound = await listener.start()
        if ready is not None:
            ready(bound)
        while not stop.is_set():
            await asyncio.sleep(0.2)
        await listener.stop()
        log.warning(
            "HL7 listener stopped: %d connections, %d messages",
            listener.counts.connections,
            listener.counts.messages,
        )

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        asyncio.run(main())
        return
    # A loop already runs in this thread (a notebook, a test harness): ours gets its own.
    failed: list[BaseException] = []

    def own_loop() -> None:
        try:
            asyncio.run(main())
        except BaseException as exc:
            failed.append(exc)

    thread = threading.Thread(target=own_loop, name="hl7-listener")
    thread.start()
    thread.join()
    if failed:
        raise failed[0]


def start_in_thread(
    engine: Engine,
    settings: Settings,
    now: Callable[[], datetime],
    host: str | None = None,
    port: int | None = None,
) -> tuple[threading.Thread, threading.Event, int]:
    """The listener in a daemon thread of its own event loop (the worker's option, tests):
    returns the thread, the event that stops it, and the port it listens on."""
    stop = threading.Event()
    bound: list[int] = []
    started = threading.Event()
    failed: list[BaseException] = []

    def ready(listening_on: int) -> None:
        bound.append(listening_on)
        started.set()

    def run() -> None:
        try:
            serve(engine, settings, now, stop, host, port, ready=ready)
        except BaseException as exc:  # a port taken, a bad certificate: said to the caller
            failed.append(exc)
            started.set()

    thread = threading.Thread(target=run, name="hl7-listener", daemon=True)
    thread.start()
    started.wait(30)
    if failed:
        raise failed[0]
    if not bound:
        raise RuntimeError("the HL7 listener did not start within 30 s")
    return thread, stop, bound[0]
