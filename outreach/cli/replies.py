"""`outreach replies try`: what the rules make of a reply, with no database and nothing written."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, TextIO

import click

from outreach.cli.context import Context, console, err, pass_context
from outreach.config import LANGUAGES, Settings
from outreach.rules.vocabulary import Question

if TYPE_CHECKING:
    from outreach.replies.trial import Trial


@click.group()
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
    type=click.Choice([question.value for question in Question]),
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
    from rich.markup import escape

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
            err().print(f"[red]✗[/] {escape(read)}", highlight=False, soft_wrap=True)
            bad += 1
            continue
        _show_try(read, attempt(read), as_json, f"line {number}")
        tried += 1
    if bad:
        err().print(f"{bad} bad line{'s' if bad != 1 else ''} skipped, {tried} tried.")
        sys.exit(1)


def _given(parameter: str) -> bool:
    source = click.get_current_context().get_parameter_source(parameter)
    return source not in (None, click.core.ParameterSource.DEFAULT)


def _reply_trier(settings: Settings) -> Callable[[Trial], dict[str, Any]]:
    from outreach.replies.trial import attempt
    from outreach.rules.replies.conversation import default_rules
    from outreach.rules.replies.rulefile import RulesError
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
    from rich.markup import escape

    from outreach.replies.trial import dumps
    from outreach.rules.reasonwords import reason_words

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
        console().print(escape(line), style=tier, highlight=False, soft_wrap=True)
    console().print()
