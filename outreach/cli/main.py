"""The `outreach` command. Each command's docstring is its help."""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import click
from rich.console import Console
from rich.markup import escape
from rich.progress import Progress
from rich.table import Table
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from outreach.clock import SystemClock
from outreach.config import LANGUAGES, ConfigError, Settings, load_settings
from outreach.db import engine as db
from outreach.monitoring import logs
from outreach.patients import plans as views
from outreach.rules.durations import spoken_duration
from outreach.rules.privacy import mask_phone
from outreach.rules.vocabulary import Question

if TYPE_CHECKING:
    from outreach.replies.trial import Trial
    from outreach.transports import Transport
    from outreach.web.server import AdminMode

console = Console()
err = Console(stderr=True)
# Named, not __name__: run as `python -m outreach.cli` this module is __main__, outside the
# "outreach" logger whose level the long-running commands raise to INFO.
log = logging.getLogger("outreach.cli")


class Context:
    def __init__(self, config: Path | None) -> None:
        self.config = config
        self._settings: Settings | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            try:
                self._settings = load_settings(self.config)
            except ConfigError as exc:
                raise click.ClickException(f"configuration: {exc}") from None
        return self._settings

    def engine(
        self, must_exist: bool = True, application_name: str | None = None, **kwargs: Any
    ) -> Engine:
        engine = db.make_engine(self.settings.database_url, application_name, **kwargs)
        if must_exist and not db.has_schema(engine):
            raise click.ClickException(
                f"the database at {_safe_url(self.settings.database_url)} has no tables yet: "
                "run `outreach init` first"
            )
        return engine


def _safe_url(url: str) -> str:
    """Database URLs can carry passwords; show only where they point."""
    if "@" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url


pass_context = click.make_pass_decorator(Context)


@click.group()
@click.option(
    "--config",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Settings file (default: ./config.toml, or $OUTREACH_CONFIG; none = built-in defaults).",
)
@click.option("-v", "--verbose", is_flag=True, help="Log each send and skip.")
@click.option(
    "--log-format",
    type=click.Choice(logs.FORMATS),
    default="text",
    show_default=True,
    envvar="OUTREACH_LOG_FORMAT",
    help="Logs on stderr as text, or as JSON, one object per line (time, level, logger, "
    "message, role, worker) for a log shipper. Phone numbers are masked either way. "
    "Env: OUTREACH_LOG_FORMAT.",
)
@click.pass_context
def main(ctx: click.Context, config: Path | None, verbose: bool, log_format: logs.Format) -> None:
    """SMS reminders and two-way outreach for physical-therapy clinics."""
    logs.configure(log_format, logging.INFO if verbose else logging.WARNING)
    ctx.obj = Context(config)


@main.command()
@click.option(
    "--database",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Keep the demo's SQLite database at this path (default: a temporary file).",
)
def demo(database: Path | None) -> None:
    """Simulate a small clinic's week in a few seconds, on a throwaway database.

    Example: outreach demo
    """
    from outreach.demo.week import run_demo

    # Escalations show in the transcript; the demo needs no log lines on top.
    logging.getLogger("outreach").setLevel(logging.ERROR)
    started = time.perf_counter()
    result = run_demo(console, database)
    console.print(
        f"Simulated week finished in {time.perf_counter() - started:.1f} s; "
        f"database: {result.database}"
    )


@main.command()
@pass_context
def init(ctx: Context) -> None:
    """Create or migrate the database named in config.toml (same as `outreach db upgrade`).

    Example: outreach init
    """
    _upgrade(ctx)


@main.group(name="db")
def db_group() -> None:
    """Database schema management (Alembic)."""


@db_group.command()
@pass_context
def upgrade(ctx: Context) -> None:
    """Migrate the database to the newest schema.

    Example: OUTREACH_DATABASE_URL=postgresql+psycopg://outreach@db/outreach outreach db upgrade
    """
    _upgrade(ctx)


def _upgrade(ctx: Context) -> None:
    url = ctx.settings.database_url
    db.upgrade(url)
    console.print(f"Database at {_safe_url(url)} is up to date.")


@main.group()
def patients() -> None:
    """Enrol and list patients."""


@patients.command(name="import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@pass_context
def import_patients(ctx: Context, file: Path) -> None:
    """Import patients and their plans from a CSV file (columns in docs/patients-csv.md).

    Bad rows are reported by line and column; good rows are imported. Importing the same
    file again changes nothing. Exits 1 if any row was rejected.

    Example: outreach patients import examples/patients.csv
    """
    from outreach.patients.csvfile import CsvFormatError, import_specs, read_csv

    settings = ctx.settings
    engine = ctx.engine()
    try:
        specs, errors = read_csv(file, settings)
    except CsvFormatError as exc:
        raise click.ClickException(str(exc)) from None
    with Progress(console=err, transient=True, disable=len(specs) < 500) as progress:
        task = progress.add_task("importing", total=len(specs))
        report = import_specs(
            engine,
            settings,
            specs,
            SystemClock().now(),
            progress=lambda done: progress.advance(task, done),
        )
    all_errors = sorted(errors + report.errors, key=lambda e: (e.line, e.column))
    for error in all_errors:
        err.print(f"[red]✗[/] {error}", highlight=False)
    console.print(
        f"{report.created} created, {report.updated} updated, {report.unchanged} unchanged, "
        f"{len({e.line for e in all_errors})} rows rejected."
    )
    if all_errors:
        sys.exit(1)


@patients.command(name="list")
@click.option("--json", "as_json", is_flag=True, help="One JSON array instead of a table.")
@pass_context
def list_patients(ctx: Context, as_json: bool) -> None:
    """List patients with their consent, opt-out and plan state.

    Example: outreach patients list --json
    """
    rows = views.patient_rows(ctx.engine())
    if as_json:
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    table = Table()
    for column in ("patient_id", "name", "phone", "language", "timezone", "consent", "status"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            row["patient_id"],
            row["name"],
            row["phone"],
            row["language"],
            row["timezone"],
            row["consent"],
            row["status"],
        )
    console.print(table)


@main.group()
def plan() -> None:
    """Look at care plans."""


@plan.command(name="show")
@click.argument("patient")
@click.option("--days", default=14, show_default=True, type=click.IntRange(1, 60))
@click.option("--json", "as_json", is_flag=True, help="One JSON object instead of text.")
@pass_context
def show_plan(ctx: Context, patient: str, days: int, as_json: bool) -> None:
    """Show a patient's plan and their coming reminders with local send times and states.

    PATIENT is the clinic's patient id or the phone number.

    Example: outreach plan show DEMO-1 --days 7
    """
    now = SystemClock().now()
    found = views.plan_view(ctx.engine(), patient, now, now + timedelta(days=days))
    if found is None:
        raise click.ClickException(f"no patient with id or phone {patient!r}")
    if as_json:
        click.echo(json.dumps(found, indent=2, ensure_ascii=False, default=str))
        return
    views.print_plan(console, found)


def metrics_options(command: Callable[..., None]) -> Callable[..., None]:
    command = click.option(
        "--metrics-host",
        default="127.0.0.1",
        show_default=True,
        help="Address for --metrics-port (it has no sign-in: keep it off the internet).",
    )(command)
    return click.option(
        "--metrics-port",
        type=click.IntRange(1, 65535),
        help="Serve this process's own metrics (reminders by outcome, tick times) in "
        "Prometheus format at http://HOST:PORT/metrics. The clinic-wide gauges (queue "
        "depth, oldest due reminder, escalations) come from the web app's /metrics.",
    )(command)


@main.command()
@metrics_options
@pass_context
def run(ctx: Context, metrics_port: int | None, metrics_host: str) -> None:
    """Run the service: plan and send on a tick until SIGINT or SIGTERM. With
    sms.provider = "twilio" it also serves the Twilio webhooks, and with
    OUTREACH_SESSION_SECRET set the admin pages (as `outreach serve`).

    Several processes may run against one PostgreSQL database; the database, not the
    scheduler, keeps each reminder to one send. When it serves the web, /metrics there has
    this process's metrics and the clinic's; --metrics-port adds a port with its own only.

    Example: TWILIO_ACCOUNT_SID=AC... TWILIO_AUTH_TOKEN=... outreach -v run
    """
    from outreach.runtime import make_transport

    settings = ctx.settings
    try:
        transport = make_transport(settings)
        wants_web = settings.sms_provider == "twilio" or bool(
            os.environ.get("OUTREACH_SESSION_SECRET")
        )
        web = _web_server(settings, admin="if configured") if wants_web else None
    except ConfigError as exc:
        raise click.ClickException(f"cannot start: {exc}") from None
    _tick_forever(ctx, transport, web, "run", (metrics_host, metrics_port))


@main.command()
@metrics_options
@pass_context
def worker(ctx: Context, metrics_port: int | None, metrics_host: str) -> None:
    """Plan and send on a tick until SIGINT or SIGTERM, without any web server.

    Run as many workers as you like, on as many machines, against one PostgreSQL database
    (each claims reminders with FOR UPDATE SKIP LOCKED under a lease; none is sent twice),
    and the web app separately with `outreach serve`. On a signal a worker finishes the
    sends in flight, hands back what it claimed but did not start, and exits 0.

    Example: OUTREACH_DATABASE_URL=postgresql+psycopg://outreach@db/outreach outreach worker
    """
    from outreach.runtime import make_transport

    try:
        transport = make_transport(ctx.settings)
    except ConfigError as exc:
        raise click.ClickException(f"cannot start: {exc}") from None
    _tick_forever(ctx, transport, None, "worker", (metrics_host, metrics_port))


def _serve_own_metrics(host: str, port: int | None) -> None:
    if port is None:
        return
    from outreach.monitoring.metrics import serve_own

    try:
        serve_own(port, host)
    except OSError as exc:
        raise click.ClickException(f"cannot serve metrics on {host}:{port}: {exc}") from None
    log.info("serving this process's metrics on http://%s:%d/metrics", host, port)


def _tick_forever(
    ctx: Context,
    transport: Transport,
    web: Callable[[threading.Event], None] | None,
    role: str,
    metrics_at: tuple[str, int | None],
) -> None:
    from outreach.monitoring.workers import new_worker_id
    from outreach.runtime import Service, run_forever
    from outreach.texts.render import Renderer

    settings = ctx.settings
    worker_id = new_worker_id()
    # A connection per send thread, one for the claim and one for the planner: ten
    # workers then need about a hundred connections, PostgreSQL's default limit.
    engine = ctx.engine(
        application_name=f"outreach {role} {worker_id}",
        pool_size=settings.send_concurrency + 2,
        max_overflow=2,
    )
    logging.getLogger("outreach").setLevel(logging.INFO)
    logs.set_process(role, worker_id)
    renderer = Renderer(settings.templates_dir, settings)
    service = Service(engine, settings, SystemClock(), transport, renderer, worker_id)
    log.info(
        "outreach %s %s: %s, database %s, provider %s; on-call %s",
        role,
        worker_id,
        settings.clinic_name,
        _safe_url(settings.database_url),
        settings.sms_provider,
        mask_phone(settings.on_call_phone),
    )
    _serve_own_metrics(*metrics_at)
    run_forever(service, settings.tick_seconds, web, role)


def _web_server(
    settings: Settings,
    host: str | None = None,
    port: int | None = None,
    admin: AdminMode = "required",
) -> Callable[[threading.Event], None]:
    from outreach.web.server import build_app, serve

    app = build_app(settings, admin)
    return lambda stop: serve(app, host or settings.web_host, port or settings.web_port, stop)


@main.command(name="serve")
@click.option("--host", help="Address to listen on (default: web.host, 127.0.0.1).")
@click.option("--port", type=click.IntRange(1, 65535), help="Port (default: web.port, 8000).")
@click.option(
    "--webhooks-only",
    is_flag=True,
    help="Serve only the Twilio webhooks and /healthz (a process of its own behind the proxy).",
)
@pass_context
def serve_web(ctx: Context, host: str | None, port: int | None, webhooks_only: bool) -> None:
    """Serve the admin pages, GET /healthz, GET /metrics (Prometheus) and, with
    sms.provider = "twilio", the Twilio webhooks (POST /twilio/sms, POST /twilio/status).

    The admin needs OUTREACH_SESSION_SECRET (it signs sign-in cookies) and users made with
    `outreach users add`. The webhooks need TWILIO_AUTH_TOKEN (to check signatures) and
    web.public_base_url, the address Twilio calls. Put it behind a reverse proxy that
    terminates TLS. /metrics needs no sign-in (it holds no patient data); set
    OUTREACH_METRICS_TOKEN to require "Authorization: Bearer <token>" for it.

    Example: OUTREACH_SESSION_SECRET=... TWILIO_AUTH_TOKEN=... outreach serve --port 8000
    """
    settings = ctx.settings
    ctx.engine()
    try:
        server = _web_server(settings, host, port, "off" if webhooks_only else "required")
    except ConfigError as exc:
        raise click.ClickException(f"cannot start: {exc}") from None
    from outreach.runtime import stop_on_signals

    logging.getLogger("outreach").setLevel(logging.INFO)
    logs.set_process("web")
    what = "admin and webhooks" if settings.sms_provider == "twilio" else "admin"
    what = "webhooks" if webhooks_only else what
    where = f"http://{host or settings.web_host}:{port or settings.web_port}"
    log.info("serving %s and /metrics on %s", what, where)
    with stop_on_signals() as stop:
        try:
            server(stop)
        except RuntimeError as exc:
            raise click.ClickException(str(exc)) from None
    log.info("stopped cleanly")


@main.command()
@click.option("--json", "as_json", is_flag=True, help="One JSON object instead of tables.")
@click.option(
    "--check",
    is_flag=True,
    help="Print only what is wrong and exit 1 if anything is: no worker seen recently, the "
    "oldest due reminder older than --max-due-age, or claims whose lease ran out more than a "
    "lease ago. Exit 0 when healthy.",
)
@click.option(
    "--max-due-age",
    type=click.FloatRange(min=0),
    default=300,
    show_default=True,
    help="Seconds a due reminder may wait before --check calls it a problem.",
)
@pass_context
def status(ctx: Context, as_json: bool, check: bool, max_due_age: float) -> None:
    """Is the clinic's sending healthy? Reminders due and how long the oldest has waited,
    claims in flight and expired leases, retries, unprocessed replies, texts in the last
    hour, the workers seen recently, and open escalations by severity. Counts only: no
    patient data.

    Example: outreach status --check --max-due-age 600 || page-someone
    """
    from outreach.cli import status as statusview
    from outreach.monitoring import health

    settings = ctx.settings
    engine = ctx.engine()
    try:
        now = health.snapshot(engine, settings, SystemClock().now())
    except SQLAlchemyError as exc:
        raise click.ClickException(f"the database does not answer: {type(exc).__name__}") from None
    finally:
        engine.dispose()
    problems = health.problems(now, max_due_age, settings.lease_seconds)
    if as_json:
        click.echo(json.dumps(statusview.as_json(now, problems), indent=2))
    elif check:
        for problem in problems:
            console.print(f"✗ {escape(problem)}", highlight=False)
        if not problems:
            console.print(f"✓ healthy: {now.workers_running} workers, {now.due} reminders due")
    else:
        statusview.print_status(console, now, problems)
    if check and problems:
        sys.exit(1)


@main.group()
def escalations() -> None:
    """What needs a human: foot problems, pain, reschedule requests, stop requests."""


@escalations.command(name="list")
@click.option("--all", "include_resolved", is_flag=True, help="Include resolved ones.")
@click.option("--json", "as_json", is_flag=True, help="One JSON array instead of a table.")
@pass_context
def list_escalations(ctx: Context, include_resolved: bool, as_json: bool) -> None:
    """List escalations: open ones first, urgent on top, with time since reported.

    Example: outreach escalations list
    """
    from outreach.staff.escalations import escalation_rows

    rows = escalation_rows(ctx.engine(), SystemClock().now(), include_resolved)
    if as_json:
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    table = Table()
    for column in ("id", "severity", "patient", "reason", "detail", "open for", "state"):
        table.add_column(column)
    for row in rows:
        style = "bold red" if row["severity"] == "urgent" and row["state"] != "resolved" else ""
        table.add_row(
            str(row["id"]),
            row["severity"],
            f"{row['patient_id']} {row['patient']}",
            row["reason"],
            escape(row["detail"]),
            spoken_duration(timedelta(minutes=row["minutes_open"])),
            row["state"],
            style=style,
        )
    console.print(table)
    if not rows:
        console.print("Nothing needs a human right now.")


@main.group(name="messages")
def messages_group() -> None:
    """The message log, both directions."""


@messages_group.command(name="list")
@click.option("--patient", help="Only this patient (clinic id or phone).")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10_000))
@click.option("--json", "as_json", is_flag=True, help="One JSON array instead of a table.")
@pass_context
def list_messages(ctx: Context, patient: str | None, limit: int, as_json: bool) -> None:
    """List the newest texts sent and received, with delivery status and what replies meant.

    Example: outreach messages list --patient RPT-1001 --limit 20
    """
    from outreach.staff.messagelog import message_rows

    rows = message_rows(ctx.engine(), limit, patient)
    if as_json:
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    table = Table()
    for column in ("at (UTC)", "", "patient", "kind", "status", "text"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            row["at"][:16].replace("T", " "),
            "→" if row["direction"] == "out" else "←",
            row["patient_id"] or mask_phone(row["phone"]),
            row["kind"],
            row["status"]
            + (f" ({row['error']})" if row["error"] and row["direction"] == "out" else ""),
            escape(row["body"][:80]),
        )
    console.print(table)


@main.group()
def templates() -> None:
    """Message templates."""


@templates.command(name="check")
@pass_context
def check_templates(ctx: Context) -> None:
    """Render every template in every language with sample data and measure it.

    Exits 1 on a missing variable, a missing translation, a text over 2 segments, a
    diagnosis word or a CANCEL reply option.

    Example: outreach templates check
    """
    from outreach.texts.render import Renderer
    from outreach.texts.templatecheck import check_reply_rules, has_problems
    from outreach.texts.templatecheck import check_templates as check

    settings = ctx.settings
    rows = check(Renderer(settings.templates_dir, settings))
    table = Table(title=f"Templates in {settings.templates_dir}")
    for column in ("template", "lang", "chars", "encoding", "segments", "problems"):
        table.add_column(column, justify="right" if column in ("chars", "segments") else "left")
    for row in rows:
        table.add_row(
            escape(row.template),  # "unknown[session]" is not rich markup
            row.language,
            str(row.characters),
            row.encoding,
            str(row.segments),
            "[red]" + escape("; ".join(row.problems)) + "[/]" if row.problems else "ok",
        )
    console.print(table)
    rules = check_reply_rules(settings.templates_dir / "replies")
    for row in rules:
        console.print(f"{escape(row.template)}: " + (escape("; ".join(row.problems)) or row.body))
    if has_problems(rows):
        raise click.ClickException("some templates have problems (see the table)")
    if has_problems(rules):
        raise click.ClickException("a reply rules file is wrong (see above)")
    console.print(f"{len(rows)} renderings, all within 2 segments and free of diagnosis words.")


@main.group()
def replies() -> None:
    """Patients' replies: what the rules make of them."""


@replies.command(name="try")
@click.argument("text", required=False)
@click.option(
    "--file",
    "batch",
    type=click.File("r", encoding="utf-8"),
    help='Try each line of a JSONL file ("-" for stdin): {"text", "lang", "asked", '
    '"opted_out", "consented", "pain_baseline"}; an "id" is copied to the output.',
)
@click.option("--lang", type=click.Choice(LANGUAGES), default="en", show_default=True)
@click.option(
    "--asked",
    type=click.Choice(list(Question)),
    multiple=True,
    help="A question still open, most recent first; repeat for several.",
)
@click.option("--opted-out", is_flag=True, help="The patient has opted out.")
@click.option("--not-consented", is_flag=True, help="The patient has not yet agreed to texts.")
@click.option("--pain-baseline", type=click.IntRange(0, 10), help="The patient's usual pain.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per reply, one a line.")
@pass_context
def try_reply(
    ctx: Context,
    text: str | None,
    batch: TextIO | None,
    lang: str,
    asked: tuple[str, ...],
    opted_out: bool,
    not_consented: bool,
    pain_baseline: int | None,
    as_json: bool,
) -> None:
    """Show what a reply would do: its meanings, the escalation and the words that raised
    it, opt-out, opt-in and consent, whether staff must read it, the pain score and the
    text the patient would get. Writes nothing and needs no database.

    With --file, each bad line is reported on stderr by its number, the good ones are
    tried, and the command exits 1 if any line was bad.

    Examples: outreach replies try "C but my heel is bleeding" --asked session

    outreach replies try --file replies.jsonl --json > results.jsonl
    """
    from outreach.replies.trial import Trial

    if (text is None) == (batch is None):
        raise click.UsageError("give either TEXT or --file FILE")
    per_reply = ("lang", "asked", "opted_out", "not_consented", "pain_baseline")
    given = [name for name in per_reply if _given(name)]
    if batch is not None and given:
        option = "--" + given[0].replace("_", "-")
        raise click.UsageError(f"{option} is for one TEXT; with --file, give it on each line")
    attempt = _reply_trier(ctx.settings)
    if batch is None:
        trial = Trial(text or "", lang, asked, opted_out, not not_consented, pain_baseline)
        _show_try(trial, attempt(trial), as_json)
        return
    bad = tried = 0
    for number, read in _trials(batch):
        if isinstance(read, str):
            err.print(f"[red]✗[/] {escape(read)}", highlight=False, soft_wrap=True)
            bad += 1
            continue
        _show_try(read, attempt(read), as_json, f"line {number}")
        tried += 1
    if bad:
        err.print(f"{bad} bad line{'s' if bad != 1 else ''} skipped, {tried} tried.")
        sys.exit(1)


def _given(parameter: str) -> bool:
    source = click.get_current_context().get_parameter_source(parameter)
    return source not in (None, click.core.ParameterSource.DEFAULT)


def _reply_trier(settings: Settings) -> Callable[[Trial], dict[str, Any]]:
    from outreach.replies.trial import attempt
    from outreach.rules.conversation import default_rules
    from outreach.rules.replyrules import RulesError
    from outreach.texts.render import Renderer, TemplateError

    try:
        rules = default_rules(settings.templates_dir / "replies")
    except RulesError as exc:
        raise click.ClickException(f"reply rules: {exc}") from None
    renderer = Renderer(settings.templates_dir, settings)

    def trier(trial: Trial) -> dict[str, Any]:
        try:
            return attempt(trial, renderer, rules)
        except TemplateError as exc:
            raise click.ClickException(f"templates: {exc}") from None

    return trier


def _trials(lines: TextIO) -> Iterator[tuple[int, Trial | str]]:
    """(line number, a Trial or what is wrong with the line); blank lines are skipped."""
    from outreach.replies.trial import Trial, TryError

    try:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            where = f"line {number}"
            try:
                yield number, Trial.from_json(json.loads(line), where)
            except json.JSONDecodeError as exc:
                yield number, f"{where}: not JSON ({exc.msg} at column {exc.colno})"
            except TryError as exc:
                yield number, str(exc)
    except UnicodeDecodeError:
        raise click.ClickException(f"{lines.name} is not UTF-8 text") from None


def _show_try(trial: Trial, result: dict[str, Any], as_json: bool, where: str = "") -> None:
    from outreach.replies.trial import dumps
    from outreach.staff.escalations import reason_words

    if as_json:
        click.echo(dumps(result))
        return
    yes = {True: "yes", False: "no"}
    escalation = result["escalation"]
    lines = [
        f'Reply{" on " + where if where else ""}: "{trial.text}" ({trial.lang}; '
        f"open questions, most recent first: {', '.join(trial.asked) or 'none'})",
        f"Intents: {', '.join(result['intents'])}",
        "Escalation: none"
        if escalation is None
        else f"Escalation: {escalation['severity'].upper()}: "
        + "; ".join(reason_words(reason) for reason in escalation["reasons"]),
    ]
    if escalation is not None and escalation["matched"]:
        lines.append("Triggered by: " + ", ".join(f'"{said}"' for said in escalation["matched"]))
    lines += [
        f"Opt-out: {yes[result['opt_out']]}  Opt-in: {yes[result['opt_in']]}  "
        f"Consent: {yes[result['consent']]}",
        f"Needs staff: {yes[result['needs_staff']]}",
        f"Pain: {'-' if result['pain'] is None else result['pain']}",
        "Text back: none"
        if result["reply"] is None
        # A text of several parts keeps its line breaks, indented under the label.
        else f"Text back ({', '.join(result['templates'])}):\n  "
        + result["reply"].replace("\n", "\n  "),
    ]
    loud = {"emergency": "bold red", "urgent": "red"}
    style = loud.get(escalation["severity"]) if escalation else None
    for line in lines:
        tier = style if line.startswith("Escalation:") else None
        console.print(escape(line), style=tier, highlight=False, soft_wrap=True)
    console.print()


@main.group()
def users() -> None:
    """Staff who sign in to the admin pages (roles: admin, therapist)."""


@users.command(name="add")
@click.argument("username")
@click.option("--name", "display_name", default="", help="Name shown in the admin and audit log.")
@click.option(
    "--role",
    type=click.Choice(["admin", "therapist"]),
    default="therapist",
    show_default=True,
    help="An admin may also import patient files and read the audit log.",
)
@click.option(
    "--password-stdin", is_flag=True, help="Read the password from standard input (scripts)."
)
@pass_context
def add_user(
    ctx: Context, username: str, display_name: str, role: str, password_stdin: bool
) -> None:
    """Add a staff user; asks for the password (at least 12 characters) twice.

    Example: outreach users add maria --name "Maria Lopez, PT" --role admin
    """
    from outreach.accounts.users import UserError
    from outreach.accounts.users import add_user as add

    engine = ctx.engine()
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        staff = add(engine, username, display_name, password, role, SystemClock().now())
    except UserError as exc:
        raise click.ClickException(str(exc)) from None
    console.print(f"Added {staff.username} ({staff.role}).")


@users.command(name="list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@pass_context
def list_users(ctx: Context, as_json: bool) -> None:
    """List staff users and when each last signed in.

    Example: outreach users list
    """
    from outreach.accounts.users import list_users as listed

    rows = listed(ctx.engine())
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    table = Table()
    for column in ("username", "name", "role", "active", "last sign-in"):
        table.add_column(column)
    for row in rows:
        table.add_row(*(escape(str(v if v is not None else "-")) for v in row.values()))
    console.print(table)


@users.command(name="password")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="Read the new password from standard input.")
@pass_context
def change_password(ctx: Context, username: str, password_stdin: bool) -> None:
    """Set a user's password; their open sessions end.

    Example: outreach users password maria
    """
    from outreach.accounts.users import UserError, set_password

    engine = ctx.engine()
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("New password", hide_input=True, confirmation_prompt=True)
    try:
        set_password(engine, username, password)
    except UserError as exc:
        raise click.ClickException(str(exc)) from None
    console.print(f"Password changed for {username}; their sessions have ended.")


@users.command(name="disable")
@click.argument("username")
@pass_context
def disable_user(ctx: Context, username: str) -> None:
    """Stop a user signing in; their open sessions end. Kept for the audit log.

    Example: outreach users disable maria
    """
    from outreach.accounts.users import UserError, set_active

    try:
        set_active(ctx.engine(), username, False)
    except UserError as exc:
        raise click.ClickException(str(exc)) from None
    console.print(f"{username} can no longer sign in.")


if __name__ == "__main__":
    main()
