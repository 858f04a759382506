"""kb.charts draws the same SVG for the same figures, escapes every text and loads nothing."""

from __future__ import annotations

import re
from datetime import date

from kb.charts import Frame, bar_chart, line_chart, step_chart

FRAME = Frame(title="Done <by day>", x_label="Day", y_label="People & teams", summary="2 of 3 done.")
DAYS = [(date(2026, 11, 1), 0), (date(2026, 11, 3), 1), (date(2026, 11, 9), 2)]


def test_a_step_chart_is_the_same_every_time_and_says_what_it_shows():
    svg = str(step_chart(DAYS, FRAME, y_max=3))
    assert svg == str(step_chart(list(DAYS), FRAME, y_max=3))
    assert svg.startswith('<svg class="chart" role="img" aria-label="Done &lt;by day&gt;. 2 of 3 done."')
    assert "<title>Done &lt;by day&gt;. 2 of 3 done.</title>" in svg and "People &amp; teams" in svg
    assert ">2026-11-01<" in svg and ">2026-11-09<" in svg, "the first and last day label the axis"
    assert [">0<", ">1<", ">2<", ">3<"] == re.findall(r">[0-3]<", svg)[:4], "whole-number ticks up to y_max"
    path = re.search(r' d="([^"]+)"', svg).group(1)
    assert path.startswith("M56.0,208.0 H") and "V" in path, "stairs: level, then up"


def test_bars_and_lines_share_the_frame_and_nothing_points_elsewhere():
    bars = str(bar_chart([("<script>", 3), ("a rather long article title", 7.5)], FRAME))
    assert "<script>" not in bars and "&lt;script&gt;" in bars and "a rather long…" in bars and ">7.5<" in bars
    line = str(line_chart([(1, 2.5), (2, 4), (3, 1)], FRAME))
    assert " L" in line and "<circle" in line
    empty = str(line_chart([], FRAME))
    assert "<path" not in empty and 'role="img"' in empty
    for svg in (bars, line, empty):
        assert not re.search(r"https?:|//|href|src=|xmlns", svg)
