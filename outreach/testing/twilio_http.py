"""The HTTP layer of the fake Twilio: a threaded loopback server that hands each request to
an app and writes its JSON answer. Knows nothing of Twilio."""

from __future__ import annotations

import contextlib
import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol


@dataclass
class Reply:
    status: int
    body: dict[str, Any] | None  # None: drop the connection without answering
    created: str | None = None  # the sid of a message just accepted


class App(Protocol):
    def answer(self, method: str, raw_path: str, auth: str | None, body: bytes) -> Reply: ...

    def answered(self, reply: Reply) -> None:
        """Called once the reply is written (or could not be)."""


class LoopbackServer(ThreadingHTTPServer):
    """127.0.0.1 on a port the OS picks; one daemon thread per request, all joined by
    server_close()."""

    # The default backlog of 5 drops connections when ~50 creates arrive at once.
    request_queue_size = 128

    def __init__(self, app: App) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.app = app
        self._live: list[threading.Thread] = []
        self._live_lock = threading.Lock()

    def process_request(self, request: Any, client_address: Any) -> None:
        # ThreadingMixIn does not keep daemon threads, so server_close() would not wait for
        # them; these are kept and joined.
        thread = threading.Thread(
            target=self.process_request_thread,
            args=(request, client_address),
            name="fake-twilio-request",
            daemon=True,
        )
        with self._live_lock:
            self._live = [t for t in self._live if t.is_alive()]
            self._live.append(thread)
        thread.start()

    def server_close(self) -> None:
        super().server_close()
        with self._live_lock:
            live = list(self._live)
        for thread in live:
            thread.join()

    @property
    def port(self) -> int:
        return int(self.server_address[1])


class _Handler(BaseHTTPRequestHandler):
    server: LoopbackServer
    # A stalled socket read gives up instead of holding server_close() forever.
    timeout = 5
    # HTTP/1.0: one request per connection, so no idle keep-alive thread delays stop().
    protocol_version = "HTTP/1.0"

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        app = self.server.app
        reply = app.answer(self.command, self.path, self.headers.get("Authorization"), body)
        try:
            if reply.body is not None:
                self._write(reply)
        finally:
            app.answered(reply)

    def _write(self, reply: Reply) -> None:
        payload = json.dumps(reply.body).encode()
        # A BrokenPipe means the client stopped waiting (a hang outlasted its timeout).
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.send_response(reply.status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(payload)))
            if reply.status == 401:
                self.send_header("WWW-Authenticate", 'Basic realm="Twilio API"')
            self.end_headers()
            self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_DELETE = _serve

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the app records every request; stderr stays quiet
