"""Small horizontal bar charts as inline SVG, drawn on the server (no script, no library).

The numbers are in the SVG as text and in its <title>/<desc>, so a screen reader reads the
same figures a sighted user sees.
"""

from __future__ import annotations

from collections.abc import Iterable
from html import escape


def bar_chart(rows: Iterable[tuple[str, int | float | None]], title: str, width: int = 520) -> str:
    from markupsafe import Markup

    items = [(str(label), float(v or 0)) for label, v in rows]
    if not items:
        return Markup("")
    row_h, label_w, value_w = 26, 190, 70
    bar_w = width - label_w - value_w
    top = max((v for _, v in items), default=0) or 1
    height = row_h * len(items) + 8
    desc = "; ".join(f"{label}: {_fmt(v)}" for label, v in items)
    parts = [
        (
            f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="100%" '
            f'aria-labelledby="c-{abs(hash(title)) % 10**8}">'
        ),
        f'<title id="c-{abs(hash(title)) % 10**8}">{escape(title)}: {escape(desc)}</title>',
    ]
    for i, (label, v) in enumerate(items):
        y = 4 + i * row_h
        w = 0 if v <= 0 else max(2, round(bar_w * v / top))
        parts.append(f'<text x="0" y="{y + 17}" class="chart-label">{escape(label)}</text>')
        parts.append(
            f'<rect x="{label_w}" y="{y + 4}" width="{w}" height="{row_h - 8}" '
            f'rx="3" class="chart-bar chart-bar-{i % 6}"></rect>'
        )
        parts.append(
            f'<text x="{label_w + w + 6}" y="{y + 17}" class="chart-value">{escape(_fmt(v))}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def _fmt(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else f"{v:.2f}"
