"""When a spent daily budget comes back, as people read it (hux2's transcript: "in 0 h 23 min")."""

from __future__ import annotations

from ferry.engine.costing import reset_text

NOW = 1_796_601_600.0  # 2026-12-07 00:00 UTC


def test_within_the_hour_only_minutes() -> None:
    assert reset_text(NOW + 23 * 60 + 5, NOW) == "2026-12-07 00:23 UTC (in 23 min)"


def test_hours_and_minutes() -> None:
    assert reset_text(NOW + 5 * 3600 + 12 * 60, NOW) == "2026-12-07 05:12 UTC (in 5 h 12 min)"


def test_unknown_or_past() -> None:
    assert reset_text(None) == ""
    assert reset_text(NOW - 60, NOW).endswith("(in 0 min)")
