"""Real `outreach serve --webhooks-only` processes side by side on one PostgreSQL schema, as
behind a reverse proxy: each listens on a loopback port of its own, and all of them believe
they are `PUBLIC_URL`, the one address Twilio calls and signs for."""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import cast
from urllib.parse import urlencode

import httpx
from twilio.request_validator import RequestValidator

from outreach.testing.ports import free_port
from tests.support import cluster

needs_postgres = cluster.postgres_only("web processes side by side share PostgreSQL")
PUBLIC_URL = "https://outreach.example.org"
SMS_PATH = "/twilio/sms"
CLINIC_NUMBER = "+16175550100"
# Hang protection only: a server that takes longer to answer /healthz is broken, not slow.
START_SECONDS = 30
STOP_SECONDS = 20
REQUEST_SECONDS = 30


def private_schema() -> AbstractContextManager[str]:
    """The worker proofs' private schema, named for these tests."""
    return cluster.private_schema("outreach_inbound")


class Credentials:
    """A Twilio account made up for the run: the servers check signatures with its token."""

    def __init__(self) -> None:
        self.account_sid = "AC" + secrets.token_hex(16)
        self.auth_token = secrets.token_hex(16)


class WebProcess:
    """One `outreach --config FILE serve --webhooks-only --port P`, its output in a file."""

    def __init__(self, database_url: str, config: Path, twilio: Credentials, log: Path) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log_path = log
        # Nothing from the caller's environment may point the server elsewhere.
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OUTREACH_", "TWILIO_"))}
        env.update(
            OUTREACH_DATABASE_URL=database_url,
            TWILIO_ACCOUNT_SID=twilio.account_sid,
            TWILIO_AUTH_TOKEN=twilio.auth_token,
        )
        command = [sys.executable, "-m", "outreach.cli", "--config", str(config), "serve"]
        command += ["--webhooks-only", "--port", str(self.port)]
        with log.open("w", encoding="utf-8") as output:
            self.process = subprocess.Popen(
                command, env=env, stdout=output, stderr=subprocess.STDOUT
            )

    @property
    def pid(self) -> int:
        return self.process.pid

    def wait_until_healthy(self) -> None:
        deadline = time.monotonic() + START_SECONDS
        with httpx.Client(trust_env=False, timeout=2) as client:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise RuntimeError(f"outreach serve exited early:\n{self.log_tail()}")
                try:
                    if client.get(f"{self.base_url}/healthz").status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                time.sleep(0.05)
        raise RuntimeError(
            f"outreach serve gave no /healthz in {START_SECONDS} s:\n{self.log_tail()}"
        )

    def stop(self) -> int | None:
        """SIGTERM, then SIGKILL if it will not go; returns the exit status."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=STOP_SECONDS)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def log_tail(self, characters: int = 3000) -> str:
        return self.log()[-characters:]


def write_config(folder: Path) -> Path:
    """sms.provider twilio and the public address; the database comes from the environment."""
    config = folder / "config.toml"
    config.write_text(
        f"[web]\npublic_base_url = {json.dumps(PUBLIC_URL)}\n\n"
        '[sms]\nprovider = "twilio"\n\n'
        f"[twilio]\nfrom_number = {json.dumps(CLINIC_NUMBER)}\n",
        encoding="utf-8",
    )
    return config


@contextmanager
def web_processes(
    count: int, database_url: str, folder: Path, twilio: Credentials
) -> Iterator[list[WebProcess]]:
    """`count` servers on the same database, all answering /healthz; stopped (killed if need
    be) on the way out, even when starting one of them failed."""
    config = write_config(folder)
    with ExitStack() as stack:
        servers = []
        for number in range(count):
            server = WebProcess(database_url, config, twilio, folder / f"web-{number}.log")
            stack.callback(server.stop)
            servers.append(server)
        for server in servers:
            server.wait_until_healthy()
        yield servers


@dataclass(frozen=True)
class Delivery:
    """One POST of an inbound text to one server, signed for the public URL (or forged).
    Deliveries that share a `together` barrier are sent at the same moment: Twilio retrying
    a slow answer while the first attempt is still in flight."""

    sid: str
    server: str  # the base URL of the process that receives it
    form: bytes
    headers: dict[str, str]
    forged: bool = False
    together: threading.Barrier | None = None


@dataclass(frozen=True)
class Answer:
    delivery: Delivery
    status: int
    text: str


def signed_delivery(
    twilio: Credentials, server: str, params: dict[str, str], *, forged: bool = False
) -> Delivery:
    """Signed as Twilio signs it: the public URL and every parameter, with the account's
    token, or for a forgery with some other token."""
    token = secrets.token_hex(16) if forged else twilio.auth_token
    signature = RequestValidator(token).compute_signature(PUBLIC_URL + SMS_PATH, params)
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Twilio-Signature": str(signature),
        "User-Agent": "TwilioProxy/1.1",
    }
    return Delivery(params["MessageSid"], server, urlencode(params).encode(), headers, forged)


def fire(deliveries: list[Delivery], threads: int) -> list[Answer]:
    """Post them all from a pool of `threads`, each thread with a keep-alive client of its
    own, in the order given (so a pair meant to go together is picked up together)."""
    local = threading.local()
    clients: list[httpx.Client] = []
    opened = threading.Lock()

    def client() -> httpx.Client:
        if not hasattr(local, "client"):
            local.client = httpx.Client(trust_env=False, timeout=REQUEST_SECONDS)
            with opened:
                clients.append(local.client)
        return cast(httpx.Client, local.client)

    def post(delivery: Delivery) -> Answer:
        if delivery.together is not None:
            delivery.together.wait()
        response = client().post(
            delivery.server + SMS_PATH, content=delivery.form, headers=delivery.headers
        )
        return Answer(delivery, response.status_code, response.text)

    try:
        with ThreadPoolExecutor(threads, thread_name_prefix="twilio") as pool:
            return list(pool.map(post, deliveries))
    finally:
        for each in clients:
            each.close()


def texts_back(answer: Answer) -> int:
    """How many <Message> a TwiML answer sends back; -1 if it is not a TwiML <Response>."""
    try:
        root = ET.fromstring(answer.text)
    except ET.ParseError:
        return -1
    return len(root.findall("Message")) if root.tag == "Response" else -1
