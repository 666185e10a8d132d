"""The inline SVG charts are well-formed XML with escaped labels, whatever the numbers."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from ferry.reports.charts import bar_chart, grouped_bars, human_duration, timeline

NS = "{http://www.w3.org/2000/svg}"


def test_charts_are_valid_svg_with_escaped_labels() -> None:
    charts = [bar_chart("Counts <&>", [("a<b", 3), ("c&d", 0), ("e", 10_500.5)]),
              bar_chart("empty", []),
              grouped_bars("Source vs destination", [("patient", [10, 9]), ("x\"y", [0, 0])],
                           ["source", "destination"]),
              timeline("Timeline", [("extract", 0, 3600), ("load", 600, 90_000)]),
              timeline("zero", [])]
    for svg in charts:
        root = ET.fromstring(svg)
        assert root.tag == f"{NS}svg"
        texts = [t.text or "" for t in root.iter(f"{NS}text")]
        assert texts and all("<" not in t or "a<b" in t or "<&>" in t for t in texts)
    bars = ET.fromstring(charts[0])
    widths = [float(r.get("width")) for r in bars.iter(f"{NS}rect")]
    assert max(widths) > 100 and min(widths) == 0  # scaled to the largest; zero stays zero


def test_human_duration() -> None:
    assert [human_duration(s) for s in (5, 600, 7200, 400_000)] == [
        "5 s", "10 min", "2.0 h", "4.6 days"]
