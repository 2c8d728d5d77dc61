"""`outreach templates check`: every template rendered in every language, measured and checked."""

from __future__ import annotations

import click

from outreach.cli.context import Context, console, pass_context


@click.group()
def templates() -> None:
    """Message templates."""


@templates.command(name="check")
@pass_context
def check_templates(ctx: Context) -> None:
    """Render every template in every language with sample data and measure it.

    Exits 1 on a missing variable, a missing translation, a text over its segment budget
    (2; the consent text 4), a diagnosis word or a CANCEL reply option.

    Example: outreach templates check
    """
    from rich.markup import escape
    from rich.table import Table

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
    console().print(table)
    rules = check_reply_rules(settings.templates_dir / "replies")
    for row in rules:
        console().print(f"{escape(row.template)}: " + (escape("; ".join(row.problems)) or row.body))
    if has_problems(rows):
        raise click.ClickException("some templates have problems (see the table)")
    if has_problems(rules):
        raise click.ClickException("a reply rules file is wrong (see above)")
    console().print(
        f"{len(rows)} renderings, all within their segment budgets and free of diagnosis words."
    )
