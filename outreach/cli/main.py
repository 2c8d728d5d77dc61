"""The `outreach` group: its options (config file, verbosity, log format) and its commands,
one module per command group beside this one. Each command's docstring is its help.

Start-up is kept light: the command modules import the database, rich, the web and the rest
inside the commands that use them, so `outreach --help` loads click and little else
(bench/startup.py measures it).
"""

from __future__ import annotations

import logging
from pathlib import Path

import click

from outreach.cli import (
    db,
    demo,
    feeds,
    hl7,
    messaging,  # noqa: F401 (adds `messages send` to staff.messages_group)
    patients,
    replies,
    report,
    service,
    sessions,
    staff,
    status,
    sync,
    templates,
    users,
    waitlist,
)
from outreach.cli.context import Context
from outreach.monitoring import logs


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


for command in (
    demo.demo,
    db.init,
    db.db_group,
    patients.patients,
    patients.plan,
    service.run,
    service.worker,
    service.serve_web,
    status.status,
    staff.escalations,
    staff.messages_group,
    templates.templates,
    replies.replies,
    report.report_group,
    sessions.sessions_group,
    users.users,
    waitlist.waitlist_group,
    feeds.feeds_group,
    hl7.hl7_group,
    sync.sync_group,
):
    main.add_command(command)


if __name__ == "__main__":
    main()
