"""The templates page: every SMS template rendered with sample data in every language, with
its characters, encoding and segments, and problems shown where there are any."""

from __future__ import annotations

import html
import re
from pathlib import Path

from sqlalchemy import Engine

from outreach.clock import ManualClock
from outreach.config import Settings
from outreach.texts.render import SUFFIX, Renderer
from outreach.texts.templatecheck import check_templates
from tests.support.admin import Admin, admin_client


def rows(page: str) -> dict[tuple[str, str], str]:
    found = re.findall(
        r'<tr class="[^"]*" data-template="([^"]+)" data-language="(\w+)" '
        r'data-segments="\d+">(.*?)</tr>',
        page,
        re.DOTALL,
    )
    return {(template, language): cells for template, language, cells in found}


def test_every_template_is_shown_in_english_and_spanish_with_its_segments(
    admin: Admin, renderer: Renderer
) -> None:
    page = admin.get("/templates")

    assert page.status_code == 200
    shown = rows(page.text)
    folder = Path(renderer.root)
    for language in ("en", "es"):
        for path in (folder / language).glob(f"*{SUFFIX}"):
            name = path.name.removesuffix(SUFFIX)
            label = "unknown[none]" if name == "unknown" else name
            assert (label, language) in shown, (label, language)
    for row in check_templates(renderer):
        cells = shown[(row.template, row.language)]
        assert row.body in html.unescape(cells)
        assert f'<span class="characters">{row.characters}</span> characters' in cells
        assert f'<span class="encoding">{row.encoding}</span>' in cells
        assert f'<span class="segments">{row.segments}</span> segment' in cells
        assert f'<span class="language">{row.language}</span>' in cells


def test_spanish_accents_show_as_ucs2(admin: Admin, renderer: Renderer) -> None:
    shown = rows(admin.get("/templates").text)

    assert '<span class="encoding">UCS-2</span>' in shown[("exercise", "es")]
    assert '<span class="encoding">GSM-7</span>' in shown[("help", "en")]


def test_a_template_with_a_problem_is_highlighted(
    engine: Engine,
    settings: Settings,
    renderer: Renderer,
    clock: ManualClock,
    staff: None,
    tmp_path: Path,
) -> None:
    for path in Path(renderer.root).glob(f"*/*{SUFFIX}"):
        copy = tmp_path / "sms" / path.parent.name / path.name
        copy.parent.mkdir(parents=True, exist_ok=True)
        copy.write_text(path.read_text())
    (tmp_path / "sms" / "en" / "help.txt.j2").write_text("{{ clinic.short }}: reply CANCEL.")
    (tmp_path / "sms" / "es" / "help.txt.j2").unlink()
    broken = admin_client(engine, settings, Renderer(tmp_path, settings), clock)
    broken.sign_in("terry")

    page = broken.get("/templates").text

    shown = rows(page)
    assert "offers CANCEL as a reply" in shown[("help", "en")]
    assert "missing translation" in shown[("help", "es")]
    assert '<tr class="urgent" data-template="help"' in page
    assert "2 templates have problems" in page
    assert "has problems" not in admin_page_without_problems(engine, settings, renderer, clock)


def admin_page_without_problems(
    engine: Engine, settings: Settings, renderer: Renderer, clock: ManualClock
) -> str:
    client = admin_client(engine, settings, renderer, clock)
    client.sign_in("admin")
    page = client.get("/templates").text
    assert "No problems found." in page
    return page
