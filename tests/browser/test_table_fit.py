"""No table cell is cut off: at desktop, small-laptop and tablet width every cell of the
report and the templates (and the lists staff work from) ends inside what its table shows,
so no column (the report's rates, the templates' problems) hides behind a sideways scroll."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser

from tests.browser.conftest import SCREENSHOTS, Live
from tests.browser.test_layout import clinic_day, open_at  # noqa: F401 (a fixture)

PATHS = ("/report", "/templates", "/", "/escalations", "/messages", "/patients", "/patients/P-1")
# Cells whose right edge passes the visible right edge of their table's box (the scrolling
# .table-wrap, or the table's parent): what a person would see cut off.
CUT_OFF = """() => Array.from(document.querySelectorAll("td, th"))
  .filter(cell => cell.getClientRects().length)
  .map(cell => {
    const table = cell.closest("table");
    const box = (cell.closest(".table-wrap") || table.parentElement).getBoundingClientRect();
    return [cell.textContent.trim().slice(0, 30), cell.getBoundingClientRect().right - box.right];
  })
  .filter(([, past]) => past > 1)"""


@pytest.mark.parametrize("width", [1280, 1024, 768])
def test_no_table_cell_is_cut_off(browser: Browser, clinic_day: Live, width: int) -> None:  # noqa: F811
    page = open_at(browser, clinic_day, width, 900)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    cut: dict[str, object] = {}
    for path in PATHS:
        response = page.goto(path)
        assert response is not None and response.status == 200, path
        if path == "/report":  # the numbers under each chart
            page.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
        name = path.strip("/").replace("/", "-") or "today"
        page.screenshot(path=SCREENSHOTS / f"tables-{name}-{width}.png", full_page=True)
        found = page.evaluate(CUT_OFF)
        if found:
            cut[path] = found[:5]
    page.context.close()
    assert cut == {}


def test_opening_resolve_on_a_tablet_keeps_the_escalations_on_screen(
    browser: Browser,
    clinic_day: Live,  # noqa: F811
) -> None:
    page = open_at(browser, clinic_day, 768, 1024)
    page.goto("/escalations")

    page.locator("details.resolve summary").first.click()

    page.screenshot(path=SCREENSHOTS / "escalations-resolve-768.png", full_page=True)
    assert page.evaluate(CUT_OFF) == []
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
