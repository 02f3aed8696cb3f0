"""Bar charts drawn as SVG on the server for the statistics and mistake-tally pages (no script, no library).

Accessible as the graphs are (grader.web.graph_svg): role="img", a <title> and a <desc> that says what the
bars show in words, and every page that shows a chart puts the same numbers in a table beside it. Output is
deterministic: the same numbers give byte-identical SVG.

    column_chart("hist", "Score histogram", bars=[Bar("0–10%", 3, "3"), ...], axis="students")
    row_chart("tally", "Mistakes at dL/dW1", bars=[Bar("sign_error", 0.25, "25%"), ...], most=1.0)
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

_ID = re.compile(r"^[A-Za-z][\w-]*$")
FONT = 12
CHAR = 0.6  # estimated width of a character, in em
MIN_WIDTH = 300.0
STYLE = (".bar{{fill:#2f6db5}}.bar.alt{{fill:#b5562f}}.axis{{stroke:#444;stroke-width:1}}"
         ".grid{{stroke:#ccc;stroke-width:1}}text{{font:{f}px system-ui,sans-serif;fill:#222}}"
         ".value{{font-size:{f}px}}")


@dataclass(frozen=True)
class Bar:
    label: str
    value: float  # its length, in the chart's unit
    text: str  # written at its end ("3", "25%")
    alt: bool = False  # drawn in the second colour (a flagged bar)


def _check(prefix: str) -> None:
    if not _ID.match(prefix):
        raise ValueError(f"the chart id must be a letter followed by letters, digits, '_' or '-': {prefix!r}")


def _n(x: float) -> str:
    return f"{x:.1f}".rstrip("0").rstrip(".")


def _head(prefix: str, width: float, height: float, title: str, desc: str) -> list[str]:
    return [f'<svg xmlns="http://www.w3.org/2000/svg" id={quoteattr(prefix)} class="gradgate-chart" '
            f'viewBox="0 0 {_n(width)} {_n(height)}" width="100%" style="max-width: {_n(width)}px; height: auto" '
            f'role="img" aria-labelledby="{prefix}-title {prefix}-desc">',
            f'<title id="{prefix}-title">{escape(title)}</title>',
            f'<desc id="{prefix}-desc">{escape(desc)}</desc>',
            "<style>" + STYLE.format(f=FONT) + "</style>"]


def describe(bars: Sequence[Bar], axis: str) -> str:
    """The chart in words: every bar's label and value."""
    if not bars:
        return "No data yet."
    return f"{axis}: " + "; ".join(f"{b.label}: {b.text}" for b in bars) + "."


def column_chart(prefix: str, title: str, bars: Sequence[Bar], *, axis: str, most: float | None = None,
                 height: float = 180) -> str:
    """Vertical bars with short labels under them (a histogram, attempts, fifths)."""
    _check(prefix)
    top = max([most or 0.0, *(b.value for b in bars)]) or 1.0
    label_w = max([len(b.label) for b in bars] + [4]) * FONT * CHAR
    slot = max(36.0, label_w + 8)
    left, right, above, below = 40.0, 12.0, 22.0, 34.0
    slot = max(slot, (MIN_WIDTH - left - right) / max(1, len(bars)))  # a chart of few bars is not a sliver
    width = left + right + slot * max(1, len(bars))
    total_h = above + height + below
    parts = _head(prefix, width, total_h, title, describe(bars, axis))
    base = above + height
    for fraction in (0.0, 0.5, 1.0):
        y = base - fraction * height
        parts.append(f'<line class="grid" x1="{_n(left)}" y1="{_n(y)}" x2="{_n(width - right)}" y2="{_n(y)}"/>')
        parts.append(f'<text x="{_n(left - 4)}" y="{_n(y + 4)}" text-anchor="end" aria-hidden="true">'
                     f'{escape(_tick(top * fraction, most))}</text>')
    for i, b in enumerate(bars):
        h = max(0.0, b.value) / top * height
        bar_w = min(slot - 8, 72)
        x = left + i * slot + (slot - bar_w) / 2
        parts.append(f'<rect class="bar{" alt" if b.alt else ""}" x="{_n(x)}" y="{_n(base - h)}" '
                     f'width="{_n(bar_w)}" height="{_n(h)}"><title>{escape(b.label)}: {escape(b.text)}</title>'
                     "</rect>")
        cx = x + bar_w / 2
        parts.append(f'<text class="value" x="{_n(cx)}" y="{_n(base - h - 4)}" text-anchor="middle" '
                     f'aria-hidden="true">{escape(b.text)}</text>')
        parts.append(f'<text x="{_n(cx)}" y="{_n(base + 16)}" text-anchor="middle" aria-hidden="true">'
                     f"{escape(b.label)}</text>")
    parts.append(f'<line class="axis" x1="{_n(left)}" y1="{_n(base)}" x2="{_n(width - right)}" y2="{_n(base)}"/>')
    parts.append(f'<text x="{_n(left)}" y="{_n(total_h - 4)}" aria-hidden="true">{escape(axis)}</text>')
    parts.append("</svg>")
    return "\n".join(parts)


def _tick(value: float, most: float | None) -> str:
    if most == 1.0:
        return f"{value:.0%}"
    return f"{value:g}"


def row_chart(prefix: str, title: str, bars: Sequence[Bar], *, axis: str, most: float | None = None,
              bar_width: float = 320) -> str:
    """Horizontal bars with their labels to the left (mistake names, which are long)."""
    _check(prefix)
    top = max([most or 0.0, *(b.value for b in bars)]) or 1.0
    label_w = max([len(b.label) for b in bars] + [6]) * FONT * CHAR + 8
    row, above, below = 24.0, 8.0, 24.0
    width = label_w + bar_width + 60
    total_h = above + row * max(1, len(bars)) + below
    parts = _head(prefix, width, total_h, title, describe(bars, axis))
    for i, b in enumerate(bars):
        y = above + i * row
        w = max(0.0, b.value) / top * bar_width
        parts.append(f'<text x="{_n(label_w - 6)}" y="{_n(y + 16)}" text-anchor="end" aria-hidden="true">'
                     f"{escape(b.label)}</text>")
        parts.append(f'<rect class="bar{" alt" if b.alt else ""}" x="{_n(label_w)}" y="{_n(y + 4)}" '
                     f'width="{_n(w)}" height="{_n(row - 8)}">'
                     f"<title>{escape(b.label)}: {escape(b.text)}</title></rect>")
        parts.append(f'<text class="value" x="{_n(label_w + w + 4)}" y="{_n(y + 16)}" aria-hidden="true">'
                     f"{escape(b.text)}</text>")
    base = above + row * max(1, len(bars))
    parts.append(f'<line class="axis" x1="{_n(label_w)}" y1="{_n(above)}" x2="{_n(label_w)}" y2="{_n(base)}"/>')
    parts.append(f'<text x="{_n(label_w)}" y="{_n(total_h - 6)}" aria-hidden="true">{escape(axis)}</text>')
    parts.append("</svg>")
    return "\n".join(parts)
