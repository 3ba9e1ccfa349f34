"""The report as one self-contained HTML page: the funnel per provider and
the daily counts per provider as inline SVG bar charts, the other queries
as tables. No script, no style sheet or font from elsewhere: the file opens
anywhere, offline. Each bar carries its number (data-value, and a tooltip).
"""

import html

# One colour per provider, in the order of the template's Providers mapping.
COLOURS = {
    "flashy": "#e4572e",
    "egoi": "#29335c",
    "enkod": "#f3a712",
    "supersend": "#669bbc",
    "sendpulse": "#a8c686",
}
OTHER = "#888888"
STAGES = ["sent", "delivered", "opened", "clicked", "bounced", "complained"]


def esc(value):
    return html.escape(str(value), quote=True)


def colour(provider):
    return COLOURS.get(provider, OTHER)


def funnel_totals(funnel_rows):
    """{provider: {stage: events}} summed over campaigns and channels."""
    totals = {}
    for row in funnel_rows:
        per = totals.setdefault(row["provider"], {s: 0 for s in STAGES})
        for stage in STAGES:
            per[stage] += int(row[stage] or 0)
    return totals


def daily_totals(daily_rows):
    """{day: {provider: events}} summed over event types."""
    days = {}
    for row in daily_rows:
        per = days.setdefault(row["day"], {})
        per[row["provider"]] = per.get(row["provider"], 0) + int(row["events"])
    return dict(sorted(days.items()))


def funnel_svg(totals):
    """Grouped horizontal bars: one group per provider, one bar per stage."""
    width, label_w, bar_h, gap = 640, 150, 14, 3
    peak = max([v for per in totals.values() for v in per.values()] + [1])
    y, parts = 10, []
    for provider, per in totals.items():
        parts.append(f'<text x="0" y="{y + 11}" font-weight="bold">{esc(provider)}</text>')
        y += bar_h + gap
        for stage in STAGES:
            value = per[stage]
            w = round((width - label_w - 60) * value / peak, 1)
            parts.append(f'<text x="12" y="{y + 11}">{esc(stage)}</text>')
            parts.append(
                f'<rect class="bar" x="{label_w}" y="{y}" width="{w}" height="{bar_h}" fill="{colour(provider)}" '
                f'data-chart="funnel" data-provider="{esc(provider)}" data-stage="{stage}" data-value="{value}">'
                f"<title>{esc(provider)} {stage}: {value}</title></rect>"
            )
            parts.append(f'<text x="{label_w + w + 4}" y="{y + 11}">{value}</text>')
            y += bar_h + gap
        y += 8
    return (
        f'<svg role="img" aria-label="Funnel per provider" width="{width}" height="{y}" '
        f'viewBox="0 0 {width} {y}" font-family="sans-serif" font-size="11">{"".join(parts)}</svg>'
    )


def daily_svg(days):
    """Stacked columns: one per day with events, stacked by provider."""
    height, top, bottom, col_w, gap, left = 220, 10, 70, 16, 4, 40
    width = left + max(len(days), 1) * (col_w + gap) + 70  # room for the last slanted label
    peak = max([sum(per.values()) for per in days.values()] + [1])
    scale = (height - top - bottom) / peak
    parts = [
        f'<line x1="{left - 4}" y1="{height - bottom}" x2="{width}" y2="{height - bottom}" stroke="#999"/>',
        f'<text x="0" y="{top + 8}">{peak}</text>',
        f'<text x="0" y="{height - bottom}">0</text>',
    ]
    for i, (day, per) in enumerate(days.items()):
        x = left + i * (col_w + gap)
        base = height - bottom
        for provider, value in sorted(per.items()):
            h = round(value * scale, 1)
            base -= h
            parts.append(
                f'<rect class="bar" x="{x}" y="{round(base, 1)}" width="{col_w}" height="{h}" fill="{colour(provider)}" '
                f'data-chart="daily" data-day="{esc(day)}" data-provider="{esc(provider)}" data-value="{value}">'
                f"<title>{esc(day)} {esc(provider)}: {value}</title></rect>"
            )
        tx, ty = x + col_w - 4, height - bottom + 6
        parts.append(f'<text x="{tx}" y="{ty}" transform="rotate(60 {tx} {ty})">{esc(day)}</text>')
    return (
        f'<svg role="img" aria-label="Events per day and provider" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="10">{"".join(parts)}</svg>'
    )


def legend(providers):
    items = "".join(
        f'<span class="key"><span class="swatch" style="background:{colour(p)}"></span>{esc(p)}</span>'
        for p in providers
    )
    return f'<p class="legend">{items}</p>'


def table(names, rows):
    if not rows:
        return "<p>(no rows)</p>"
    head = "".join(f"<th>{esc(n)}</th>" for n in names)

    def cell(v):
        if v is None:
            return "<td>-</td>"
        if isinstance(v, float):
            return f'<td class="n">{v:.4f}</td>'
        if isinstance(v, int):
            return f'<td class="n">{v}</td>'
        return f"<td>{esc(v)}</td>"

    body = "".join("<tr>" + "".join(cell(v) for v in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def page(results, titles, subtitle):
    """results: {query: (names, rows)}; titles: {query: title}."""

    def records(name):
        names, rows = results.get(name, ([], []))
        return [dict(zip(names, r)) for r in rows]

    funnel = funnel_totals(records("campaign_funnel"))
    days = daily_totals(records("daily_counts"))
    providers = sorted({p for per in days.values() for p in per} | set(funnel))
    sections = [
        "<h2>Funnel per provider</h2>",
        "<p>Events of each stage, summed over campaigns and channels (campaign_funnel).</p>",
        funnel_svg(funnel) if funnel else "<p>(no campaign events)</p>",
        "<h2>Events per day and provider</h2>",
        "<p>Every stored event by the UTC day of occurred_at (daily_counts).</p>",
        legend(providers),
        daily_svg(days) if days else "<p>(no events)</p>",
    ]
    for name, (names, rows) in results.items():
        sections.append(f"<h2>{esc(name)}</h2><p>{esc(titles.get(name, ''))}</p>")
        sections.append(table(names, rows))
    style = (
        "body{font-family:sans-serif;margin:2em;color:#222}table{border-collapse:collapse;font-size:12px}"
        "th,td{border:1px solid #ccc;padding:2px 6px}td.n{text-align:right}"
        ".key{margin-right:1em}.swatch{display:inline-block;width:10px;height:10px;margin-right:4px}"
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>marketing-webhooks report</title><style>{style}</style></head><body>"
        f"<h1>marketing-webhooks report</h1><p>{esc(subtitle)}</p>{''.join(sections)}</body></html>\n"
    )
