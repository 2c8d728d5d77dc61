"""Charts are inline SVG a screen reader can read: the numbers are in the description."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from outreach.web.admin.charts import bar_chart, line_chart

SVG = "{http://www.w3.org/2000/svg}"


def parse(markup: str) -> ET.Element:
    return ET.fromstring(str(markup))


def test_a_bar_chart_states_its_numbers_and_leaves_a_gap_for_no_data() -> None:
    svg = parse(bar_chart("Reply rate", ["Mon", "Tue", "Wed"], [50.0, None, 0.0], 100, "%"))

    assert svg.get("role") == "img" and svg.get("aria-label") == "Reply rate"
    assert svg.findtext(f"{SVG}desc") == "Mon: 50%; Wed: 0%"
    bars = svg.findall(f"{SVG}rect")
    assert [b.findtext(f"{SVG}title") for b in bars] == ["Mon: 50%", "Wed: 0%"]
    assert float(bars[1].get("height", "")) == 0.0


def test_counts_get_whole_number_gridlines() -> None:
    svg = parse(bar_chart("Escalations", ["w1", "w2"], [3.0, 1.0]))
    ticks = [t.text for t in svg.findall(f"{SVG}text") if t.get("text-anchor") == "end"]
    assert ticks == ["0", "2", "4"]


def test_a_line_chart_breaks_where_a_day_has_no_value() -> None:
    svg = parse(line_chart("Pain", ["1", "2", "3", "4"], [2.0, 3.0, None, 8.0], 10, threshold=7))
    path = svg.find(f"{SVG}path")
    assert path is not None
    assert len(re.findall(r"M", path.get("d", ""))) == 2  # 1-2 joined, 4 alone
    assert svg.findtext(f"{SVG}desc") == "1: 2; 2: 3; 4: 8"


def test_labels_are_escaped() -> None:
    markup = str(bar_chart("<b>", ["<script>"], [1.0]))
    assert "<script>" not in markup and "&lt;script&gt;" in markup
    parse(markup)


def test_an_empty_chart_says_so() -> None:
    assert parse(bar_chart("None", [], [])).findtext(f"{SVG}desc") == "no data in this period"
