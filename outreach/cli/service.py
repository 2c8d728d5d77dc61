"""`outreach run`, `outreach worker` and `outreach serve`: the long-running processes, ticking,
serving the web, or both, until SIGINT or SIGTERM."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

import click

from outreach.cli.context import Context, log, pass_context, safe_url
from outreach.clock import SystemClock
from outreach.config import ConfigError, Settings
from outreach.monitoring import logs
from outreach.rules.privacy import mask_phone

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from outreach.transports import Transport
    from outreach.web.server import AdminMode


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


def hl7_option(command: Callable[..., None]) -> Callable[..., None]:
    return click.option(
        "--hl7/--no-hl7",
        "hl7",
        default=None,
        help="Also run the HL7 listener (`outreach hl7 listen`) in this process "
        "(default: hl7.in_worker).",
    )(command)


@click.command()
@metrics_options
@hl7_option
@pass_context
def run(ctx: Context, metrics_port: int | None, metrics_host: str, hl7: bool | None) -> None:
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
    _tick_forever(ctx, transport, web, "run", (metrics_host, metrics_port), hl7)


@click.command()
@metrics_options
@hl7_option
@pass_context
def worker(ctx: Context, metrics_port: int | None, metrics_host: str, hl7: bool | None) -> None:
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
    _tick_forever(ctx, transport, None, "worker", (metrics_host, metrics_port), hl7)


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
    hl7: bool | None = None,
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
        safe_url(settings.database_url),
        settings.sms_provider,
        mask_phone(settings.on_call_phone),
    )
    _serve_own_metrics(*metrics_at)
    listening = (
        _hl7_listener(engine, settings) if (hl7 is None and settings.hl7_in_worker) or hl7 else None
    )
    try:
        run_forever(service, settings.tick_seconds, web, role)
    finally:
        if listening is not None:
            listening[1].set()
            listening[0].join(10)


def _hl7_listener(
    engine: Engine, settings: Settings
) -> tuple[threading.Thread, threading.Event, int]:
    """The HL7 listener in a thread of this process, stopped with it."""
    import ssl

    from outreach.feeds.hl7.listener import start_in_thread

    try:
        return start_in_thread(engine, settings, SystemClock().now)
    except (OSError, ssl.SSLError) as exc:
        where = f"{settings.hl7_host}:{settings.hl7_port}"
        raise click.ClickException(f"cannot run the HL7 listener on {where}: {exc}") from None


def _web_server(
    settings: Settings,
    host: str | None = None,
    port: int | None = None,
    admin: AdminMode = "required",
) -> Callable[[threading.Event], None]:
    from outreach.web.server import build_app, serve

    app = build_app(settings, admin)
    return lambda stop: serve(app, host or settings.web_host, port or settings.web_port, stop)


@click.command(name="serve")
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
