"""The event-volume picture as a small stacked-bar SVG: no JavaScript, no chart library."""

from __future__ import annotations

from django.utils.html import escape

from apps.explorer.selectors import Volume

PALETTE = ("#2b6cb0", "#dd6b20", "#38a169", "#805ad5", "#d53f8c", "#319795", "#b7791f", "#e53e3e", "#718096")
WIDTH, HEIGHT, LEFT, BOTTOM, TOP = 900, 220, 48, 36, 12
MAX_SERIES = 8


def volume_svg(volume: Volume, *, title: str) -> str:
    if not volume.buckets:
        return _svg(
            f'<text x="{WIDTH // 2}" y="{HEIGHT // 2}" text-anchor="middle">No events match.</text>', title
        )
    totals = sorted(volume.series.items(), key=lambda kv: -sum(kv[1]))
    shown = totals[:MAX_SERIES]
    if len(totals) > MAX_SERIES:
        other = [sum(values[i] for _, values in totals[MAX_SERIES:]) for i in range(len(volume.buckets))]
        shown.append(("other", other))
    peak = max(sum(values[i] for _, values in shown) for i in range(len(volume.buckets))) or 1
    plot_w, plot_h = WIDTH - LEFT - 10, HEIGHT - TOP - BOTTOM
    bar_w = plot_w / len(volume.buckets)
    parts = []
    for i, bucket in enumerate(volume.buckets):
        y: float = TOP + plot_h
        for n, (label, values) in enumerate(shown):
            if not values[i]:
                continue
            h = values[i] / peak * plot_h
            y -= h
            parts.append(
                f'<rect x="{LEFT + i * bar_w:.1f}" y="{y:.1f}" width="{max(bar_w - 1, 1):.1f}" height="{h:.1f}" '
                f'fill="{PALETTE[n % len(PALETTE)]}"><title>{escape(label)} {bucket}: {values[i]:,}</title></rect>'
            )
    axis = (
        f'<line x1="{LEFT}" y1="{TOP + plot_h}" x2="{WIDTH - 10}" y2="{TOP + plot_h}" stroke="#999"/>'
        f'<text x="{LEFT - 4}" y="{TOP + 10}" text-anchor="end" font-size="11">{peak:,}</text>'
        f'<text x="{LEFT - 4}" y="{TOP + plot_h}" text-anchor="end" font-size="11">0</text>'
        f'<text x="{LEFT}" y="{HEIGHT - 20}" font-size="11">{volume.buckets[0]}</text>'
        f'<text x="{WIDTH - 10}" y="{HEIGHT - 20}" text-anchor="end" font-size="11">{volume.buckets[-1]}</text>'
    )
    legend_x = LEFT
    legend = []
    for n, (label, values) in enumerate(shown):
        legend.append(
            f'<rect x="{legend_x}" y="{HEIGHT - 12}" width="10" height="10" fill="{PALETTE[n % len(PALETTE)]}"/>'
            f'<text x="{legend_x + 14}" y="{HEIGHT - 3}" font-size="11">{escape(label)} ({sum(values):,})</text>'
        )
        legend_x += 14 + 7 * len(label) + 60
    return _svg("".join(parts) + axis + "".join(legend), title)


def _svg(body: str, title: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" '
        f'role="img" aria-label="{escape(title)}" font-family="sans-serif" fill="#333"><title>{escape(title)}</title>'
        # Its own light card: an <img> does not inherit the page's colours, and black text on a
        # transparent picture vanished on the dark theme.
        f'<rect width="{WIDTH}" height="{HEIGHT}" rx="4" fill="#fcfcfc"/>{body}</svg>'
    )
