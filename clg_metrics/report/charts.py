"""The report's charts: Vega-Altair specs rendered to SVG by vl-convert, offline.

Why these two: Altair is a well-kept declarative grammar (Vega-Lite) whose charts read well with
little code, and vl-convert carries the Vega renderer itself (a Rust build of Deno + Vega), so the
SVG is drawn here without a browser, a CDN or a network call; the page then holds plain inline SVG
that opens from disk or as an e-mail attachment. Both are imported only by this module (``report``),
so ``clg-metrics --help`` and ``build`` never load them.

Every chart gets its numbers in a table beside it (``html.py``); a chart is never the only place a
number is shown.
"""

from __future__ import annotations

import itertools
import re
from typing import Any

PALETTE = {"struggle": "#c2410c", "evaluation": "#1d4ed8", "growth": "#15803d"}
PHASE_FALLBACK = ["#7c3aed", "#0e7490", "#a16207", "#be185d"]
BAR, DROPPED, GAP, BENCH = "#334e7e", "#cbd5e1", "#e11d48", "#f59e0b"
# Text is measured by vl-convert when it lays a chart out and drawn by the viewer's browser: a family
# with the same metrics everywhere (Arial; Liberation Sans is its metric twin on Linux) keeps labels
# inside the space measured for them.
FONT = "'Liberation Sans', Arial, Helvetica, sans-serif"
# Bucket edges (days) for the spread of days between two milestones.
DAY_BUCKETS = [(0, 1, "< 1 day"), (1, 3, "1–3 days"), (3, 7, "3–7 days"), (7, 14, "1–2 weeks"),
               (14, 30, "2–4 weeks"), (30, 90, "1–3 months"), (90, None, "3+ months")]

_ids = itertools.count(1)


def phase_colour(phase: str, phases: list[str]) -> str:
    """The colour of a phase: the CLG three by name, any other by its position."""
    if phase in PALETTE:
        return PALETTE[phase]
    return PHASE_FALLBACK[phases.index(phase) % len(PHASE_FALLBACK)] if phase in phases else "#475569"


def _config(chart):
    return (chart.configure(font=FONT, background="white")
            .configure_view(stroke=None)
            .configure_axis(labelFontSize=12, titleFontSize=12, labelColor="#334155", titleColor="#334155",
                            gridColor="#e2e8f0", domainColor="#94a3b8")
            .configure_legend(labelFontSize=12, titleFontSize=12, orient="top")
            .configure_title(fontSize=14, anchor="start", color="#0f172a"))


def to_svg(chart) -> str:
    """A chart as inline SVG: its ids made unique in the page (several SVGs share one document) and
    sized by the page (width 100%, height from the viewBox)."""
    import vl_convert as vlc

    svg = vlc.vegalite_to_svg(_config(chart).to_json())
    prefix = f"c{next(_ids)}-"
    svg = re.sub(r'\bid="([^"]+)"', lambda m: f'id="{prefix}{m.group(1)}"', svg)
    svg = re.sub(r"url\(#([^)]+)\)", lambda m: f"url(#{prefix}{m.group(1)})", svg)
    svg = re.sub(r'href="#([^"]+)"', lambda m: f'href="#{prefix}{m.group(1)}"', svg)
    # at most 1.3× as wide as laid out (text stays near the tables' size), narrower when the page is
    svg = re.sub(r'^<svg([^>]*?) class="marks" width="([\d.]+)" height="[\d.]+"',
                 lambda m: f'<svg{m.group(1)} role="img" class="marks chart" '
                           f'style="max-width:{float(m.group(2)) * 1.3:.0f}px"', svg, count=1)
    return svg


def _alt():
    import altair as alt

    return alt


def label(row: dict) -> str:
    return f"{row['milestone_index']}. {row['milestone']}"


def funnel_chart(funnel: list[dict], gap_index: int | None, width: int = 560) -> str:
    """Customers reaching each milestone (bars), with the drop-off from the previous one stacked in
    grey and the success gap's milestone in red."""
    alt = _alt()
    values = []
    for r in funnel:
        reached = int(r["customers_reached"] or 0)
        dropped = max(int(r["dropped_from_previous"] or 0), 0)
        kind = "success gap" if r["milestone_index"] == gap_index else "reached"
        values.append({"m": label(r), "part": kind, "n": reached, "order": 0, "text": f"{reached:,}"})
        if dropped:
            values.append({"m": label(r), "part": "dropped from previous", "n": dropped, "order": 1, "text": ""})
    order = [label(r) for r in funnel]
    domain = ["reached", "success gap", "dropped from previous"]
    base = alt.Chart(alt.Data(values=values))
    bars = base.mark_bar(height=22).encode(
        y=alt.Y("m:N", sort=order, title=None, axis=alt.Axis(labelLimit=220)),
        x=alt.X("sum(n):Q", title="customers", stack="zero", axis=alt.Axis(tickCount=6, format=",.0f")),
        color=alt.Color("part:N", scale=alt.Scale(domain=domain, range=[BAR, GAP, DROPPED]), title=None),
        order=alt.Order("order:Q"))
    text = base.transform_filter("datum.order == 0").mark_text(align="left", dx=4, fontSize=12, color="#0f172a").encode(
        y=alt.Y("m:N", sort=order), x=alt.X("n:Q"), text="text:N")
    return to_svg((bars + text).properties(width=width, height=34 * len(funnel)))


def conversion_chart(everyone: list[dict], benchmark: list[dict], benchmark_name: str | None,
                     gap_index: int | None, width: int = 560) -> str:
    """Conversion from the previous milestone, everyone beside the benchmark segment."""
    alt = _alt()
    groups = [("everyone", everyone)] + ([(benchmark_name, benchmark)] if benchmark_name and benchmark else [])
    values = [{"m": label(r) + ("  ◀ gap" if r["milestone_index"] == gap_index else ""), "who": who,
               "pct": float(r["pct_of_previous"]), "i": r["milestone_index"]}
              for who, rows in groups for r in rows if r["pct_of_previous"] is not None]
    order = sorted({(v["i"], v["m"]) for v in values})
    names = [g[0] for g in groups]
    base = alt.Chart(alt.Data(values=values))
    bars = base.mark_bar(height=12).encode(
        y=alt.Y("m:N", sort=[m for _, m in order], title=None, axis=alt.Axis(labelLimit=240)),
        yOffset=alt.YOffset("who:N", sort=names),
        x=alt.X("pct:Q", title="% converted from the previous milestone", scale=alt.Scale(domain=[0, 100])),
        color=alt.Color("who:N", sort=names, scale=alt.Scale(domain=names, range=[BAR, BENCH][:len(names)]),
                        title=None))
    text = base.mark_text(align="left", dx=3, fontSize=11, color="#0f172a").encode(
        y=alt.Y("m:N", sort=[m for _, m in order]), yOffset=alt.YOffset("who:N", sort=names), x="pct:Q",
        text=alt.Text("pct:Q", format=".1f"))
    return to_svg((bars + text).properties(width=width, height=30 * len(order) * max(1, len(names)) // 1.4))


def bucket_of(days: float) -> str:
    for low, high, name in DAY_BUCKETS:
        if days < low:
            continue
        if high is None or days < high:
            return name
    return DAY_BUCKETS[0][2]  # negative (independent order): earlier than the previous milestone


def spread_chart(steps: list[tuple[str, dict[str, int]]], width: int = 560) -> str:
    """How many customers took how long between two milestones: a heat map step × duration."""
    alt = _alt()
    names = [b[2] for b in DAY_BUCKETS]
    values = [{"step": step, "bucket": b, "n": counts.get(b, 0), "share": counts.get(b, 0) / max(1, sum(counts.values()))}
              for step, counts in steps for b in names]
    base = alt.Chart(alt.Data(values=values)).encode(
        x=alt.X("bucket:N", sort=names, title="days from the previous milestone", axis=alt.Axis(labelAngle=0)),
        y=alt.Y("step:N", sort=[s for s, _ in steps], title=None, axis=alt.Axis(labelLimit=260)))
    rect = base.mark_rect(stroke="white").encode(
        color=alt.Color("share:Q", scale=alt.Scale(scheme="blues", domain=[0, 1]), legend=None))
    text = base.mark_text(fontSize=11).encode(
        text="n:Q", color=alt.condition("datum.share > 0.5", alt.value("white"), alt.value("#0f172a")))
    return to_svg((rect + text).properties(width=width, height=30 * len(steps)))


def cohort_chart(rows: list[dict], width: int = 560) -> str:
    """``pct_reached_within`` by signup cohort × milestone; incomplete cohorts marked with *."""
    alt = _alt()
    values = [{"cohort": cohort_label(r), "m": label(r), "i": r["milestone_index"],
               "pct": None if r["pct_reached_within"] is None else float(r["pct_reached_within"])} for r in rows]
    cohorts = sorted({v["cohort"] for v in values})
    milestones = [m for _, m in sorted({(v["i"], v["m"]) for v in values})]
    base = alt.Chart(alt.Data(values=values)).encode(
        x=alt.X("m:N", sort=milestones, title=None, axis=alt.Axis(labelAngle=-30, labelLimit=140)),
        y=alt.Y("cohort:N", sort=cohorts, title="signup cohort (* still open)"))
    rect = base.mark_rect(stroke="white").encode(
        color=alt.Color("pct:Q", scale=alt.Scale(scheme="greens", domain=[0, 100]), title="% within window"))
    text = base.mark_text(fontSize=10).encode(
        text=alt.Text("pct:Q", format=".0f"),
        color=alt.condition("datum.pct > 60", alt.value("white"), alt.value("#0f172a")))
    return to_svg((rect + text).properties(width=width, height=max(120, 22 * len(cohorts))))


def cohort_label(row: dict) -> str:
    start = row["cohort_start"]
    text = start.isoformat() if hasattr(start, "isoformat") else str(start)
    return text + ("" if row["is_complete"] else " *")


def line_chart(rows: list[dict], value: str, title: str, log: bool = False, width: int = 560) -> str:
    """One line per milestone over ``period_start`` (kpi_trend, period_kpis)."""
    alt = _alt()
    values = [{"m": label(r), "i": r["milestone_index"], "t": _iso(r["period_start"]), "v": r[value]} for r in rows]
    milestones = [m for _, m in sorted({(v["i"], v["m"]) for v in values})]
    scale = alt.Scale(type="symlog") if log else alt.Scale()
    top = max([v["v"] or 0 for v in values] + [1])
    # symlog's own ticks crowd at the top: 1, 3, 10, 30, ... up to the largest value
    ticks = [0] + [m * 10 ** k for k in range(len(str(int(top))) + 1) for m in (1, 3) if m * 10 ** k <= top * 1.5]
    axis = alt.Axis(values=ticks, format=",.0f") if log else alt.Axis(format=",.0f")
    chart = alt.Chart(alt.Data(values=values)).mark_line(point=alt.OverlayMarkDef(size=18)).encode(
        x=alt.X("t:T", title=None), y=alt.Y("v:Q", title=title, scale=scale, axis=axis),
        color=alt.Color("m:N", sort=milestones, title=None, scale=alt.Scale(scheme="tableau10")))
    return to_svg(chart.properties(width=width, height=240))


def win_back_chart(counts: list[tuple[str, int]], width: int = 460) -> str:
    """Customers who went quiet, by the milestone they were heading for."""
    alt = _alt()
    values = [{"m": m, "n": n} for m, n in counts]
    order = [m for m, _ in counts]
    base = alt.Chart(alt.Data(values=values))
    bars = base.mark_bar(height=20, color=BENCH).encode(
        y=alt.Y("m:N", sort=order, title="next milestone"),
        x=alt.X("n:Q", title="customers gone quiet", axis=alt.Axis(tickCount=5, format=",.0f")))
    text = base.mark_text(align="left", dx=3, fontSize=12).encode(y=alt.Y("m:N", sort=order), x="n:Q",
                                                                    text=alt.Text("n:Q", format=",.0f"))
    return to_svg((bars + text).properties(width=width, height=32 * max(1, len(counts))))


def _iso(value: Any) -> str:
    return value.isoformat() if hasattr(value, "isoformat") else str(value)
