"""`outreach sync fhir`: read the appointments changed in the EHR since the last sync (the
worker does it every fhir.interval_minutes; this runs one now)."""

from __future__ import annotations

import sys

import click

from outreach.cli.context import Context, console, pass_context


@click.group(name="sync")
def sync_group() -> None:
    """Appointments from the clinic's EHR."""


@sync_group.command(name="fhir")
@click.option("--since", help="Read what changed from this instant (ISO 8601), not the watermark.")
@click.option("--full", is_flag=True, help="Read every Appointment, whatever the watermark.")
@pass_context
def fhir(ctx: Context, since: str | None, full: bool) -> None:
    """Read Appointments from the FHIR server (fhir.base_url) changed since the last sync,
    page by page with their patients, and apply them: new ones get their reminders, cancelled
    ones lose them, no-shows get the follow-up. Appointments for patients outreach does not
    know are kept for staff (`outreach feeds unmatched`). A refusal, a 429 or a 5xx that
    lasts stops the sync, in words; the next one resumes where it stopped. Exits 1 when the
    sync stopped on an error.

    Example: OUTREACH_FHIR_TOKEN=... outreach sync fhir
    """
    from outreach.clock import SystemClock
    from outreach.feeds.fhir import sync

    if since is not None:
        try:
            since = sync.format_instant(sync.parse_instant(since))
        except ValueError as exc:
            raise click.ClickException(f"--since: {exc}") from None
    if not ctx.settings.fhir_base_url:
        raise click.ClickException("fhir.base_url is not set: there is no FHIR server to read")
    engine = ctx.engine()
    try:
        report = sync.run(engine, ctx.settings, SystemClock(), since=since, full=full)
    finally:
        engine.dispose()
    if report.busy:
        console().print("Another process is syncing now; nothing done.")
        return
    console().print(
        f"{report.pages} pages, {report.appointments} appointments: {report.applied} applied, "
        f"{report.unmatched} for patients not enrolled, {report.unchanged} unchanged, "
        f"{report.skipped} not booked yet, {report.errors} not applied.",
        highlight=False,
    )
    for problem in report.problems:
        console().print(f"  ✗ {problem}", highlight=False, markup=False)
    console().print(f"The next sync reads from {report.watermark or 'the start'}.", highlight=False)
    if report.stopped_by is not None:
        console().print(f"✗ stopped: {report.stopped_by}", highlight=False, markup=False)
        sys.exit(1)


@sync_group.command(name="fhir-jwks")
@pass_context
def fhir_jwks(ctx: Context) -> None:
    """Print the public key of fhir.private_key as a JWKS, to register with the EHR for SMART
    Backend Services (the EHR checks outreach's signed JWT against it). The private key never
    leaves the file.

    Example: outreach sync fhir-jwks > outreach-jwks.json
    """
    import json

    from outreach.config import ConfigError
    from outreach.feeds.fhir.auth import load_private_key, public_jwk

    path = ctx.settings.fhir_private_key
    if path is None:
        raise click.ClickException("fhir.private_key is not set")
    try:
        key = load_private_key(path)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(json.dumps({"keys": [public_jwk(key, ctx.settings.fhir_key_id)]}, indent=2))
