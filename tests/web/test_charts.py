"""Charts are inline SVG a screen reader can read: the numbers are in the description."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from outreach.web.admin.charts import bar_chart, dated_line_chart, line_chart

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


def circles(svg: ET.Element) -> list[tuple[float, str]]:
    return [
        (float(c.get("cx", "")), c.findtext(f"{SVG}title") or "")
        for c in svg.findall(f"{SVG}circle")
    ]


def test_a_dated_line_chart_spaces_its_points_by_the_date() -> None:
    from datetime import date

    first = date(2026, 11, 2)
    values = {date(2026, 11, 3): 2.0, date(2026, 11, 5): 3.0, date(2026, 11, 12): 8.0}

    svg = parse(dated_line_chart("Pain", first, date(2026, 11, 15), values, top=10))

    (x3, t3), (x5, t5), (x12, t12) = circles(svg)
    assert (t3, t5, t12) == ("03 Nov: 2", "05 Nov: 3", "12 Nov: 8")
    assert x12 - x5 == pytest.approx((x5 - x3) * 7 / 2, abs=0.2)  # 7 days against 2
    assert svg.findtext(f"{SVG}desc") == "03 Nov: 2; 05 Nov: 3; 12 Nov: 8"
    labels = [t.text for t in svg.findall(f"{SVG}text") if t.get("text-anchor") == "middle"]
    assert {"02 Nov", "09 Nov"} <= set(labels)  # Mondays under the axis
    assert {"2", "3", "8"} <= set(labels)  # each value above its point


def test_a_day_asked_without_a_value_breaks_the_line_a_day_not_asked_does_not() -> None:
    from datetime import date

    first = date(2026, 11, 2)
    values = {
        date(2026, 11, 3): 2.0,
        date(2026, 11, 5): 3.0,  # joined to the 3rd: nothing asked on the 4th
        date(2026, 11, 7): None,  # asked, no pain given: a break
        date(2026, 11, 10): 4.0,
    }

    svg = parse(dated_line_chart("Pain", first, date(2026, 11, 15), values, top=10))

    path = svg.find(f"{SVG}path")
    assert path is not None
    assert re.findall(r"[ML]", path.get("d", "")) == ["M", "L", "M"]


def test_the_baseline_and_the_threshold_are_lines_with_their_names() -> None:
    from datetime import date

    day = date(2026, 11, 2)
    svg = parse(dated_line_chart("Pain", day, day, {day: 5.0}, top=10, threshold=7, baseline=2))

    lines = {
        line.findtext(f"{SVG}title"): line
        for line in svg.findall(f"{SVG}line")
        if line.find(f"{SVG}title") is not None
    }
    assert set(lines) == {"escalates at 7", "baseline 2"}
    assert float(lines["baseline 2"].get("y1", "")) > float(lines["escalates at 7"].get("y1", ""))
    assert "baseline 2" in [t.text for t in svg.findall(f"{SVG}text")]


def test_every_text_in_a_chart_is_at_least_13_units_high() -> None:
    from datetime import date

    day = date(2026, 11, 2)
    for markup in (
        bar_chart("Rate", ["a", "b"], [1.0, 2.0], 100, "%"),
        line_chart("Pain", ["a", "b"], [1.0, 2.0], 10),
        dated_line_chart("Pain", day, day, {day: 5.0}, top=10, baseline=2),
    ):
        sizes = [float(t.get("font-size", "0")) for t in parse(markup).findall(f"{SVG}text")]
        assert sizes and min(sizes) >= 13
