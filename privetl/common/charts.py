"""Horizontal bar charts drawn server-side as SVG geometry (no JavaScript, no CSP exception).

The template draws the rectangles; here only the arithmetic: each bar's width in the chart's
coordinate space, so the longest bar fills it. Every chart's numbers are also rendered as a
table beside it, for screen readers and for anyone who wants the figures.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

WIDTH = 400.0
"""Width of the bars' area, in SVG user units (the SVG scales to the page)."""
ROW = 22
"""Height of one bar's row."""


@dataclass(frozen=True)
class Bar:
    """One bar: its label, its value as shown, and its geometry."""

    label: str
    value: float
    shown: str
    y: int
    width: float


@dataclass(frozen=True)
class BarChart:
    """Bars and the SVG's height; empty when there is nothing to draw."""

    bars: list[Bar]
    height: int


def bar_chart(values: Iterable[tuple[str, float]], *, unit: str = "") -> BarChart:
    """Bars of ``(label, value)`` pairs in the order given, scaled to the largest value."""
    pairs = [(label, float(value)) for label, value in values]
    largest = max((value for _, value in pairs), default=0.0)
    bars = [
        Bar(
            label=label,
            value=value,
            shown=(f"{value:.1f} {unit}" if unit else f"{value:,.0f}").strip(),
            y=i * ROW,
            width=round(WIDTH * value / largest, 1) if largest > 0 else 0.0,
        )
        for i, (label, value) in enumerate(pairs)
    ]
    return BarChart(bars=bars, height=len(bars) * ROW)
