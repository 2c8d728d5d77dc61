"""Signed inbound replies per second, and their latency, against `outreach serve`.

    uv run python bench/webhooks.py
    uv run python bench/webhooks.py --replies 200 --repeat 1 --json   # a smoke run
    uv run python bench/webhooks.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test

Each run builds a fresh database (a temporary SQLite file, or a private schema that is
dropped afterwards on PostgreSQL) holding N consenting patients, each with an open foot
check (an outbound text asking it, answerable for six more hours), writes a config.toml for
it and starts the real command, `python -m outreach.cli serve`, on a free loopback port.
A few warm-up replies from other patients go first, untimed, as a running server would
have had. Then --concurrency threads, each with its own keep-alive httpx client, post the N
replies ("1": my feet are fine), each signed as Twilio signs it and with its own
MessageSid, and time each one from the request to the whole answer.

Afterwards every answer must have been 200 with a TwiML <Response>, and the database must
hold exactly one processed reply per MessageSid sent, each read as foot_ok and answering
its prompt, and nothing else; the server must stop on SIGTERM with exit status 0. Anything
else stops the benchmark. The load generator runs on the same cores as the server, so the
CPU both used is reported per reply. The machine is shared, so each run is repeated
--repeat times and the median is reported.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time as timer
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
from _common import (
    add_run_options,
    cores,
    database_name,
    emit,
    fresh_database,
    insert_patients,
    medians,
    percentile,
    phone,
    verdict,
)
from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine, func, insert, select
from twilio.request_validator import RequestValidator

from outreach.db.engine import make_engine
from outreach.db.tables import inbound_messages, outbound_messages
from outreach.testing.ports import free_port
from outreach.testing.rows import delivered_prompt
from outreach.testing.twilio_callbacks import inbound_params
from outreach.testing.twilio_records import new_sid

ZONES = ("America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles")
CLINIC_NUMBER = "+16175550100"
FOOT_CHECK = (
    "Riverside PT: Time for your foot check: tops, soles, heels and between the toes. "
    "A mirror or a helper is fine. Reply 1 if all OK, 2 if something is new."
)
WARMUP = 64
CHUNK = 5000
TARGETS = {"per_second": 500.0, "p99_ms": 100.0}
FIGURES = (
    "seconds",
    "per_second",
    "p50_ms",
    "p90_ms",
    "p99_ms",
    "max_ms",
    "server_cpu_ms_per_reply",
    "client_cpu_ms_per_reply",
    "setup_seconds",
)


def main() -> None:
    args = parse_args()
    progress = Console(stderr=True)
    runs = []
    for number in range(1, args.repeat + 1):
        with fresh_database(args.database_url) as url, tempfile.TemporaryDirectory() as folder:
            progress.print(f"run {number}/{args.repeat}: {args.replies} patients with a prompt")
            started = timer.perf_counter()
            populate(url, args.replies + WARMUP)
            progress.print(f"run {number}/{args.repeat}: starting outreach serve")
            with Server(url, Path(folder)) as server:
                setup_seconds = timer.perf_counter() - started
                progress.print(f"run {number}/{args.repeat}: posting {args.replies} replies")
                run = measure(server, url, args.replies, args.concurrency)
            run["server_exit_status"] = server.exit_status
            run["setup_seconds"] = setup_seconds
            runs.append(run)
    summary = summarise(runs, args)
    emit(summary, args.json, print_table)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--replies", type=int, default=2000, help="default 2000")
    parser.add_argument(
        "--concurrency", type=int, default=32, help="replies in flight at once; default 32"
    )
    add_run_options(parser)
    args = parser.parse_args()
    if args.replies < 1 or args.repeat < 1 or args.concurrency < 1:
        parser.error("--replies, --repeat and --concurrency must be at least 1")
    return args


def populate(url: str, count: int) -> None:
    """`count` consenting patients, each sent a foot check ten minutes ago that may still
    be answered for six hours. The server's clock is the system's, so these times are too."""
    now = datetime.now(UTC)
    asked = now - timedelta(minutes=10)
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            insert_patients(conn, count, ZONES, asked)
            for first in range(1, count + 1, CHUNK):
                ids = range(first, min(first + CHUNK, count + 1))
                conn.execute(insert(outbound_messages), [prompt(n, asked) for n in ids])
    finally:
        engine.dispose()


def prompt(patient_id: int, asked: datetime) -> dict[str, Any]:
    reply_until = asked + timedelta(hours=6)
    to_phone = phone(patient_id - 1)
    return delivered_prompt(patient_id, "foot_check", to_phone, FOOT_CHECK, asked, reply_until)


class Server:
    """`python -m outreach.cli serve` on a free port, with its own config.toml and Twilio
    credentials; stopped with SIGTERM."""

    def __init__(self, database_url: str, folder: Path) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.account_sid = "AC" + secrets.token_hex(16)
        self.auth_token = secrets.token_hex(16)
        self.exit_status: int | None = None
        config = folder / "config.toml"
        config.write_text(
            f"[database]\nurl = {json.dumps(database_url)}\n\n"
            f'[web]\npublic_base_url = "{self.base_url}"\nport = {self.port}\n\n'
            '[sms]\nprovider = "twilio"\n\n[twilio]\nfrom_number = "+16175550100"\n',
            encoding="utf-8",
        )
        # Nothing from the caller's environment may point the server elsewhere.
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OUTREACH_", "TWILIO_"))}
        env.update(
            OUTREACH_CONFIG=str(config),
            TWILIO_ACCOUNT_SID=self.account_sid,
            TWILIO_AUTH_TOKEN=self.auth_token,
        )
        self._log = (folder / "serve.log").open("w+", encoding="utf-8")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "outreach.cli",
                "serve",
                "--webhooks-only",
                "--port",
                str(self.port),
            ],
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def __enter__(self) -> Server:
        deadline = timer.monotonic() + 30
        with httpx.Client(trust_env=False, timeout=2) as client:
            while timer.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise SystemExit(f"outreach serve exited early:\n{self.log()}")
                try:
                    if client.get(f"{self.base_url}/healthz").status_code == 200:
                        return self
                except httpx.TransportError:
                    pass
                timer.sleep(0.05)
        self.process.kill()
        raise SystemExit(f"outreach serve did not answer /healthz in 30 s:\n{self.log()}")

    def __exit__(self, *exc_info: object) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.exit_status = self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise SystemExit(f"outreach serve did not stop on SIGTERM:\n{self.log()}") from None
        finally:
            self._log.close()
        if self.exit_status != 0:
            raise SystemExit(f"outreach serve exited with status {self.exit_status}")

    def cpu_seconds(self) -> float:
        """User and system CPU time the server has used so far."""
        with open(f"/proc/{self.process.pid}/stat") as stat:
            fields = stat.read().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def log(self) -> str:
        self._log.flush()
        self._log.seek(0)
        return self._log.read()[-3000:]


@dataclass(frozen=True)
class Reply:
    sid: str
    body: bytes  # the form, encoded
    headers: dict[str, str]


@dataclass(frozen=True)
class Answer:
    sid: str
    status: int
    content_type: str
    text: str
    seconds: float


def signed_replies(server: Server, patients: range) -> list[Reply]:
    """A signed "1" from each patient, built before the clock starts."""
    url = f"{server.base_url}/twilio/sms"
    validator = RequestValidator(server.auth_token)
    replies = []
    for n in patients:
        sid = new_sid("SM")
        params = inbound_params(server.account_sid, sid, phone(n - 1), CLINIC_NUMBER, "1", 1)
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": str(validator.compute_signature(url, params)),
            "User-Agent": "TwilioProxy/1.1",
        }
        replies.append(Reply(sid, urlencode(params).encode(), headers))
    return replies


def post_all(replies: list[Reply], clients: list[httpx.Client]) -> tuple[list[Answer], float]:
    """Post every reply from a thread per client, all at once; returns the answers and the
    seconds from the first request to the last answer."""
    lanes = [replies[k :: len(clients)] for k in range(len(clients))]
    answers: list[list[Answer]] = [[] for _ in lanes]
    start = threading.Barrier(len(lanes) + 1)
    failures: list[BaseException] = []

    def lane(k: int) -> None:
        client = clients[k]
        try:
            start.wait()
            for reply in lanes[k]:
                sent = timer.perf_counter()
                response = client.post("/twilio/sms", content=reply.body, headers=reply.headers)
                answers[k].append(
                    Answer(
                        reply.sid,
                        response.status_code,
                        response.headers.get("content-type", ""),
                        response.text,
                        timer.perf_counter() - sent,
                    )
                )
        except BaseException as exc:  # reported below; a lost thread must not hang the run
            failures.append(exc)
            start.abort()

    threads = [threading.Thread(target=lane, args=(k,)) for k in range(len(lanes))]
    for thread in threads:
        thread.start()
    start.wait()
    started = timer.perf_counter()
    for thread in threads:
        thread.join()
    seconds = timer.perf_counter() - started
    if failures:
        raise SystemExit(f"{len(failures)} load threads failed, the first: {failures[0]!r}")
    return [answer for lane_answers in answers for answer in lane_answers], seconds


def measure(server: Server, url: str, count: int, concurrency: int) -> dict[str, Any]:
    warmup = signed_replies(server, range(count + 1, count + WARMUP + 1))
    replies = signed_replies(server, range(1, count + 1))
    # Made before the clock starts: each builds an SSL context, 10 ms or so of CPU.
    clients = [
        httpx.Client(base_url=server.base_url, trust_env=False, timeout=30)
        for _ in range(concurrency)
    ]
    try:
        post_all(warmup, clients[:WARMUP])
        # A full collection here stalls all 32 load threads for 50 ms or so, and every reply
        # in flight looked that much slower: the 1% tail was the load generator's, not the
        # server's.
        gc.collect()
        gc.disable()
        client_cpu = timer.process_time()
        server_cpu = server.cpu_seconds()
        answers, seconds = post_all(replies, clients)
        client_cpu = timer.process_time() - client_cpu
        server_cpu = server.cpu_seconds() - server_cpu
    finally:
        gc.enable()
        for client in clients:
            client.close()
    verify(url, replies, answers, WARMUP)
    latencies = [answer.seconds * 1000 for answer in answers]
    return {
        "replies": count,
        "concurrency": concurrency,
        "seconds": seconds,
        "per_second": count / seconds,
        "p50_ms": percentile(latencies, 0.50),
        "p90_ms": percentile(latencies, 0.90),
        "p99_ms": percentile(latencies, 0.99),
        "max_ms": max(latencies),
        "server_cpu_ms_per_reply": server_cpu * 1000 / count,
        "client_cpu_ms_per_reply": client_cpu * 1000 / count,
    }


def is_twiml(answer: Answer) -> bool:
    if answer.status != 200 or not answer.content_type.startswith("application/xml"):
        return False
    try:
        root = ET.fromstring(answer.text)
    except ET.ParseError:
        return False
    return root.tag == "Response" and root.find("Message") is not None


def verify(url: str, replies: list[Reply], answers: list[Answer], warmup: int) -> None:
    """Every answer a 200 with TwiML that texts back; one processed foot_ok row per sid
    sent, answering its prompt, and no other row. Raises SystemExit otherwise."""
    problems = []
    wrong = [a for a in answers if not is_twiml(a)]
    if len(answers) != len(replies) or wrong:
        first = f"; the first: {wrong[0].status} {wrong[0].text[:200]!r}" if wrong else ""
        problems.append(f"{len(answers)} answers, {len(wrong)} not a 200 with TwiML{first}")
    engine = make_engine(url)
    try:
        rows = stored_replies(engine, {reply.sid for reply in replies})
        total = count_rows(engine)
    finally:
        engine.dispose()
    if len(rows) != len(replies):
        problems.append(f"{len(rows)} of {len(replies)} replies stored")
    unprocessed = sum(1 for row in rows if row["processed_at"] is None)
    misread = sum(1 for row in rows if row["intent"] != "foot_ok" or row["prompt_id"] is None)
    unanswered = sum(1 for row in rows if row["answered_at"] is None)
    if unprocessed or misread or unanswered:
        problems.append(
            f"{unprocessed} unprocessed, {misread} not foot_ok answering a prompt, "
            f"{unanswered} prompts left unanswered"
        )
    if total != len(replies) + warmup:
        problems.append(f"{total} inbound rows, not {len(replies)} and {warmup} warm-up ones")
    if problems:
        raise SystemExit("verification failed: " + "; ".join(problems))


def stored_replies(engine: Engine, sids: set[str]) -> list[dict[str, Any]]:
    IN, OUT = inbound_messages, outbound_messages
    with engine.begin() as conn:
        found = conn.execute(
            select(IN.c.provider_sid, IN.c.processed_at, IN.c.intent, IN.c.prompt_id)
            .add_columns(OUT.c.answered_at)
            .outerjoin(OUT, OUT.c.id == IN.c.prompt_id)
        ).all()
    return [dict(row._mapping) for row in found if row.provider_sid in sids]


def count_rows(engine: Engine) -> int:
    with engine.begin() as conn:
        return int(conn.execute(select(func.count()).select_from(inbound_messages)).scalar_one())


def summarise(runs: list[dict[str, Any]], args: argparse.Namespace) -> dict[str, Any]:
    summary: dict[str, Any] = {
        "database": database_name(args.database_url),
        "cores": cores(),
        "repeat": len(runs),
        "replies": args.replies,
        "concurrency": args.concurrency,
        **medians(runs, FIGURES),
    }
    summary["targets"] = TARGETS
    summary["passed"] = {
        "per_second": summary["per_second"] >= TARGETS["per_second"],
        "p99_ms": summary["p99_ms"] < TARGETS["p99_ms"],
    }
    summary["runs"] = runs
    return summary


def print_table(summary: dict[str, Any]) -> None:
    table = Table(
        title=f"webhooks: {summary['replies']:,} signed replies to outreach serve, "
        f"{summary['concurrency']} at a time, on {summary['database']}, "
        f"{summary['cores']} cores shared with the load, median of {summary['repeat']}"
    )
    for column in ("figure", "median", "min", "max", "target", ""):
        table.add_column(column, justify="left" if column == "figure" else "right")
    units = {
        "per_second": ("replies per second", "{:,.0f}", ">= {:,.0f}"),
        "p50_ms": ("latency p50", "{:.1f} ms", ""),
        "p90_ms": ("latency p90", "{:.1f} ms", ""),
        "p99_ms": ("latency p99", "{:.1f} ms", "< {:.0f} ms"),
        "max_ms": ("latency max", "{:.1f} ms", ""),
        "server_cpu_ms_per_reply": ("server CPU per reply", "{:.2f} ms", ""),
        "client_cpu_ms_per_reply": ("load generator CPU/reply", "{:.2f} ms", ""),
        "seconds": ("all replies", "{:.2f} s", ""),
        "setup_seconds": ("setup, not timed", "{:.1f} s", ""),
    }
    for name, (label, fmt, target_fmt) in units.items():
        target = TARGETS.get(name)
        table.add_row(
            label,
            fmt.format(summary[name]),
            fmt.format(summary[f"{name}_min"]),
            fmt.format(summary[f"{name}_max"]),
            target_fmt.format(target) if target is not None else "",
            verdict(summary["passed"][name]) if name in summary["passed"] else "",
        )
    Console().print(table)


if __name__ == "__main__":
    main()
