"""`outreach hl7 listen|messages`: the HL7 v2 scheduling feed from a terminal: the MLLP
listener in the foreground, and the messages it received with what each was answered."""

from __future__ import annotations

import json

import click

from outreach.cli.context import Context, console, pass_context
from outreach.cli.times import shown_time, utc_option


@click.group(name="hl7")
def hl7_group() -> None:
    """Appointments from the practice-management system as HL7 v2 SIU messages over MLLP."""


@hl7_group.command(name="listen")
@click.option("--host", help="Address to listen on (default: hl7.host, 127.0.0.1).")
@click.option(
    "--port", type=click.IntRange(0, 65535), help="Port (default: hl7.port, 2575; 0: any free)."
)
@pass_context
def listen(ctx: Context, host: str | None, port: int | None) -> None:
    """Take SIU messages (S12, S13, S14, S15, S17, S26; v2.3 to v2.8) until SIGINT or
    SIGTERM, answering each with an ACK: AA applied, AE the content is wrong (with the
    reason), AR not taken. Every message is stored as received before it is read.

    Listens on localhost unless told otherwise; TLS when hl7.tls_cert and hl7.tls_key are
    set; only the senders in hl7.allowed_facilities (MSH-4) when that list is set. The
    worker can run the listener too: `outreach worker --hl7`, or hl7.in_worker = true.

    Example: outreach hl7 listen --host 10.0.0.5 --port 2575
    """
    import logging
    import ssl

    from outreach.clock import SystemClock
    from outreach.feeds.hl7.listener import serve
    from outreach.runtime import stop_on_signals

    logging.getLogger("outreach").setLevel(logging.INFO)
    engine = ctx.engine()
    with stop_on_signals() as stop:
        try:
            serve(engine, ctx.settings, SystemClock().now, stop, host, port)
        except OSError as exc:
            where = (
                f"{host or ctx.settings.hl7_host}:{ctx.settings.hl7_port if port is None else port}"
            )
            raise click.ClickException(f"cannot listen on {where}: {exc.strerror or exc}") from None
        except ssl.SSLError as exc:
            raise click.ClickException(f"hl7.tls_cert and hl7.tls_key: {exc}") from None
        finally:
            engine.dispose()


@hl7_group.command(name="messages")
@click.option("--limit", type=click.IntRange(1, 10_000), default=50, show_default=True)
@click.option("--problems", is_flag=True, help="Only those not applied (AE, AR, never handled).")
@click.option("--json", "as_json", is_flag=True, help="One JSON array, for scripts.")
@utc_option
@pass_context
def messages(ctx: Context, limit: int, problems: bool, as_json: bool, utc: bool) -> None:
    """The latest messages received, newest first: when, from whom, the type and control
    id, what became of each and what the sender was answered.

    Example: outreach hl7 messages --problems
    """
    from rich.markup import escape
    from rich.table import Table
    from sqlalchemy import select

    from outreach.db.tables import feed_messages as M
    from outreach.rules.vocabulary import AppointmentSource
    from outreach.staff.feeds import TROUBLE

    query = select(M).where(M.c.feed == AppointmentSource.HL7)
    if problems:
        query = query.where(M.c.outcome.in_(TROUBLE))
    with ctx.engine().connect() as conn:
        rows = conn.execute(query.order_by(M.c.id.desc()).limit(limit)).all()
    if as_json:
        listed = [
            {
                "id": r.id,
                "received_at": r.received_at.isoformat(),
                "peer": r.peer,
                "sender": r.sender,
                "type": r.message_type,
                "control_id": r.control_id,
                "outcome": r.outcome,
                "ack": r.ack,
                "detail": r.detail,
            }
            for r in rows
        ]
        click.echo(json.dumps(listed, indent=2))
        return
    if not rows:
        console().print("No HL7 message has been received." if not problems else "None.")
        return
    table = Table(title="HL7 messages")
    for column in ("id", "received", "sender", "type", "control id", "outcome", "ack", "detail"):
        table.add_column(column)
    zone = ctx.settings.clinic_timezone
    for r in rows:
        table.add_row(
            str(r.id),
            shown_time(r.received_at, zone, utc),
            escape(r.sender or "-"),
            escape(r.message_type or "unreadable"),
            escape(r.control_id or "-"),
            r.outcome,
            r.ack or "-",
            escape(r.detail or ""),
        )
    console().print(table)
