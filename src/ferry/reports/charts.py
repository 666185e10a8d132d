"""Inline SVG charts for the HTML reports: no scripts, no external assets.

A report must open from a mail attachment or an air-gapped laptop, so charts are plain SVG
strings built from numbers here and embedded in the page. Labels are escaped; values are
numbers. Three shapes cover the reports: horizontal bars (counts per object, diff categories),
grouped bars (source vs destination) and a timeline (estimate steps).
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

PALETTE = ("#3b6fd4", "#e08a2e", "#2e9e5b", "#b3261e", "#7a4fc4", "#6b7280")
FONT = 'font-family="system-ui,sans-serif" font-size="12"'


def _fmt(v: float) -> str:
    if v >= 10_000:
        return f"{v:,.0f}"
    return f"{v:g}" if v == int(v) else f"{v:,.1f}"


def bar_chart(title: str, items: Sequence[tuple[str, float]], *, width: int = 640,
              colors: dict[str, str] | None = None) -> str:
    """Horizontal bars, one per (label, value); the longest bar spans the plot width."""
    row, left, top = 22, 200, 28
    height = top + row * max(len(items), 1) + 10
    peak = max((v for _, v in items), default=0) or 1
    plot = width - left - 70
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}"'
             f' role="img" aria-label="{escape(title)}" {FONT}>',
             f'<text x="0" y="16" font-weight="600">{escape(title)}</text>']
    for i, (label, value) in enumerate(items):
        y = top + i * row
        w = max(plot * value / peak, 1 if value else 0)
        color = (colors or {}).get(label, PALETTE[0])
        parts.append(f'<text x="{left - 6}" y="{y + 14}" text-anchor="end">'
                     f'{escape(str(label)[:30])}</text>')
        parts.append(f'<rect x="{left}" y="{y + 3}" width="{w:.1f}" height="{row - 7}"'
                     f' fill="{color}"/>')
        parts.append(f'<text x="{left + w + 4:.1f}" y="{y + 14}">{_fmt(value)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def grouped_bars(title: str, groups: Sequence[tuple[str, Sequence[float]]],
                 series: Sequence[str], *, width: int = 640) -> str:
    """Per label, one thin bar per series (e.g. source / destination / skipped)."""
    n = max(len(series), 1)
    bar, gap, left, top = 9, 8, 170, 44
    row = bar * n + gap
    height = top + row * max(len(groups), 1) + 6
    peak = max((v for _, vs in groups for v in vs), default=0) or 1
    plot = width - left - 70
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}"'
             f' role="img" aria-label="{escape(title)}" {FONT}>',
             f'<text x="0" y="16" font-weight="600">{escape(title)}</text>']
    x = left
    for j, name in enumerate(series):
        if j:
            x += 24 + 7 * len(series[j - 1])
        parts.append(f'<rect x="{x}" y="24" width="10" height="10" '
                     f'fill="{PALETTE[j % len(PALETTE)]}"/>'
                     f'<text x="{x + 14}" y="33">{escape(name)}</text>')
    for i, (label, values) in enumerate(groups):
        y = top + i * row
        parts.append(f'<text x="{left - 6}" y="{y + row / 2 + 2:.1f}" text-anchor="end">'
                     f'{escape(str(label)[:30])}</text>')
        for j, v in enumerate(values):
            w = max(plot * v / peak, 1 if v else 0)
            yy = y + j * bar
            parts.append(f'<rect x="{left}" y="{yy}" width="{w:.1f}" height="{bar - 1}"'
                         f' fill="{PALETTE[j % len(PALETTE)]}"/>'
                         f'<text x="{left + w + 4:.1f}" y="{yy + bar - 1}" font-size="10">'
                         f'{_fmt(v)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def human_duration(seconds: float) -> str:
    s = max(seconds, 0)
    if s < 90:
        return f"{s:.0f} s"
    if s < 5400:
        return f"{s / 60:.0f} min"
    if s < 172_800:
        return f"{s / 3600:.1f} h"
    return f"{s / 86_400:.1f} days"


def timeline(title: str, steps: Sequence[tuple[str, float, float]], *, width: int = 720) -> str:
    """A Gantt strip: (label, start seconds, end seconds) per step, on one time axis."""
    row, left, top = 24, 170, 30
    end = max((e for _, _, e in steps), default=0) or 1
    plot = width - left - 90
    height = top + row * max(len(steps), 1) + 24
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}"'
             f' role="img" aria-label="{escape(title)}" {FONT}>',
             f'<text x="0" y="16" font-weight="600">{escape(title)}</text>']
    axis_y = top + row * len(steps) + 4
    for k in range(5):
        x = left + plot * k / 4
        parts.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{axis_y}" stroke="#dde"/>'
                     f'<text x="{x:.1f}" y="{axis_y + 14}" text-anchor="middle" font-size="10">'
                     f'{escape(human_duration(end * k / 4))}</text>')
    for i, (label, start, stop) in enumerate(steps):
        y = top + i * row
        x0 = left + plot * start / end
        w = max(plot * (stop - start) / end, 2)
        parts.append(f'<text x="{left - 6}" y="{y + 15}" text-anchor="end">'
                     f'{escape(str(label)[:30])}</text>'
                     f'<rect x="{x0:.1f}" y="{y + 4}" width="{w:.1f}" height="{row - 8}" rx="3"'
                     f' fill="{PALETTE[i % len(PALETTE)]}"/>'
                     f'<text x="{x0 + w + 4:.1f}" y="{y + 15}" font-size="10">'
                     f'{escape(human_duration(stop - start))}</text>')
    parts.append("</svg>")
    return "".join(parts)


def stacked_bars(title: str, rows: Sequence[tuple[str, Sequence[float]]],
                 series: Sequence[str], colors: Sequence[str] | None = None, *,
                 width: int = 760) -> str:
    """One bar per label split into segments (e.g. a map's created / attached / held / skipped),
    a legend on top; the longest bar spans the plot. Segments that are 0 are not drawn."""
    cols = list(colors or PALETTE)
    row, left, top = 22, 230, 46
    height = top + row * max(len(rows), 1) + 8
    peak = max((sum(vs) for _, vs in rows), default=0) or 1
    plot = width - left - 70
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}"'
             f' role="img" aria-label="{escape(title)}" {FONT}>',
             f'<text x="0" y="16" font-weight="600">{escape(title)}</text>']
    x = 0.0
    for j, name in enumerate(series):
        parts.append(f'<rect x="{x:.0f}" y="26" width="10" height="10" fill="{cols[j % len(cols)]}"/>'
                     f'<text x="{x + 14:.0f}" y="35">{escape(name)}</text>')
        x += 28 + 7 * len(name)
    for i, (label, values) in enumerate(rows):
        y = top + i * row
        parts.append(f'<text x="{left - 6}" y="{y + 14}" text-anchor="end">'
                     f'{escape(str(label)[:34])}</text>')
        x0 = float(left)
        for j, v in enumerate(values):
            if not v:
                continue
            w = max(plot * v / peak, 1.5)
            parts.append(f'<rect x="{x0:.1f}" y="{y + 3}" width="{w:.1f}" height="{row - 7}"'
                         f' fill="{cols[j % len(cols)]}"><title>{escape(series[j])}:'
                         f' {_fmt(v)}</title></rect>')
            x0 += w
        parts.append(f'<text x="{x0 + 4:.1f}" y="{y + 14}">{_fmt(sum(values))}</text>')
    parts.append("</svg>")
    return "".join(parts)
