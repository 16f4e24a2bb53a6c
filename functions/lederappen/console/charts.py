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


def time_chart(
    days: list[dict], title: str, daily_label: str, total_label: str, width: int = 640
) -> str:
    """Answers over time: a column per day (new answers, left scale) and the running total
    as a line (right scale), for `days` as the answer-counts route gives them (`date`,
    `answers`, `cumulative`). The first, the busiest and the last day are written out."""
    from markupsafe import Markup

    if not days:
        return Markup("")
    height, left, right, top, bottom = 220, 44, 56, 12, 36
    plot_w, plot_h = width - left - right, height - top - bottom
    n = len(days)
    step = plot_w / n
    most = max(d["answers"] for d in days) or 1
    total = days[-1]["cumulative"] or 1
    busiest = max(days, key=lambda d: d["answers"])
    chart_id = f"t-{abs(hash((title, n, total))) % 10**8}"
    desc = (
        f"{days[0]['date']} – {days[-1]['date']}; {total_label}: {_fmt(days[-1]['cumulative'])}; "
        f"{daily_label}, max {_fmt(busiest['answers'])} ({busiest['date']})"
    )
    parts = [
        (
            f'<svg class="chart time-chart" role="img" viewBox="0 0 {width} {height}" '
            f'width="100%" aria-labelledby="{chart_id}">'
        ),
        f'<title id="{chart_id}">{escape(title)}: {escape(desc)}</title>',
        (
            f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" '
            'class="chart-axis"></line>'
        ),
    ]
    bar_w = max(1.0, step * 0.7)
    for i, d in enumerate(days):
        h = 0 if d["answers"] <= 0 else max(1.0, plot_h * d["answers"] / most)
        x = left + i * step + (step - bar_w) / 2
        parts.append(
            f'<rect x="{x:.1f}" y="{top + plot_h - h:.1f}" width="{bar_w:.1f}" '
            f'height="{h:.1f}" class="chart-bar chart-bar-4"></rect>'
        )
    points = " ".join(
        f"{left + (i + 0.5) * step:.1f},{top + plot_h - plot_h * d['cumulative'] / total:.1f}"
        for i, d in enumerate(days)
    )
    parts.append(f'<polyline points="{points}" class="chart-line"></polyline>')
    # scales: the busiest day on the left, the total on the right
    parts.append(
        f'<text x="{left - 6}" y="{top + 10}" class="chart-value" text-anchor="end">'
        f"{escape(_fmt(most))}</text>"
    )
    parts.append(
        f'<text x="{left - 6}" y="{top + plot_h}" class="chart-value" text-anchor="end">0</text>'
    )
    parts.append(
        f'<text x="{left + plot_w + 6}" y="{top + 10}" class="chart-value chart-total">'
        f"{escape(_fmt(days[-1]['cumulative']))}</text>"
    )
    parts.append(
        f'<text x="{left}" y="{height - 16}" class="chart-label">{escape(days[0]["date"])}</text>'
    )
    parts.append(
        f'<text x="{left + plot_w}" y="{height - 16}" class="chart-label" text-anchor="end">'
        f"{escape(days[-1]['date'])}</text>"
    )
    parts.append(
        f'<text x="{left}" y="{height - 2}" class="chart-label">'
        f'<tspan class="chart-key-bar">■</tspan> {escape(daily_label)}</text>'
    )
    parts.append(
        f'<text x="{left + plot_w}" y="{height - 2}" class="chart-label" text-anchor="end">'
        f'<tspan class="chart-key-line">━</tspan> {escape(total_label)}</text>'
    )
    parts.append("</svg>")
    return Markup("".join(parts))
