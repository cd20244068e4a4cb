"""The report's sections, in the order a CLG team tells the story: the job, the CX map, the funnel
and its success gap, time to value, cohorts and KPI trends, win-back, and the build behind it.

Each section is a function of one journey's published rows (``data.JourneyData``) to HTML; a
section whose table is not published says so in one line instead. Numbers are shown as published;
rows carry ``data-*`` attributes naming what they show, which the browser test reads.
"""

from __future__ import annotations

from . import charts
from .data import BuildData, JourneyData
from .page import attr, esc, num, section, table

STATUSES = [("reached", "reached"), ("in_progress", "in progress"), ("missed", "missed"),
            ("not_eligible", "not eligible")]


def missing(table_name: str) -> str:
    return (f'<p class="note">Not in this build: the table <code>{esc(table_name)}</code> is not published '
            "(a build of a newer clg-metrics publishes it).</p>")


def job(j: JourneyData) -> str:
    parts = []
    if j.job is not None and any((j.job.when, j.job.help_me, j.job.so_i_can)):
        parts.append(f'<p class="job">When <b>{esc(j.job.when or "…")}</b>, help me <b>{esc(j.job.help_me or "…")}</b>, '
                     f'so I can <b>{esc(j.job.so_i_can or "…")}</b>.</p>')
    else:
        parts.append('<p class="note">The journey names no <code>job:</code>.</p>')
    if j.job_statements is not None:
        rows = j.job_statements[:5]
        if rows:
            parts.append("<h3>What customers told us (top job statements)</h3>")
            parts.append(table(["#", "job statement", "respondents", "motivation", "outcome"],
                               [[r["rank"], r["statement"], r["respondents"], _theme(r, "motivation"),
                                 _theme(r, "outcome")] for r in rows], numeric={0, 2},
                               attrs=[attr("data-rank", r["rank"]) for r in rows], wrap=True))
        else:
            parts.append('<p class="note">No survey responses in this build.</p>')
    return section("job", "The job to be done", None, "".join(parts))


def _theme(row: dict, kind: str) -> str:
    theme, count = row.get(kind), row.get(f"{kind}_respondents")
    return "" if theme is None else f"{theme} ({count})"


def cx_map(j: JourneyData) -> str:
    """The three phases side by side; each milestone a card: KPI, reached, conversion, status mix."""
    gap = j.success_gap
    gap_index = gap["to_index"] if gap else None
    phases: list[str] = []
    for r in j.funnel:
        if r["phase"] not in phases:
            phases.append(r["phase"])
    columns = []
    for phase in phases:
        colour = charts.phase_colour(phase, phases)
        cards = "".join(_card(r, j.status_mix.get(int(r["milestone_index"]), {}), r["milestone_index"] == gap_index)
                        for r in j.funnel if r["phase"] == phase)
        columns.append(f'<div class="phase" style="--phase:{colour}" {attr("data-phase", phase)}>'
                       f"<h3>{esc(phase)}</h3>{cards}</div>")
    legend = "".join(f'<span><i style="background:var(--{k})"></i>{esc(t)}</span>' for k, t in STATUSES)
    body = (f'<div class="cxmap" style="grid-template-columns:repeat({max(1, len(phases))}, minmax(0, 1fr))">'
            f'{"".join(columns)}</div><div class="mixlegend">Status of every customer at each milestone: {legend}</div>')
    lead = "Each card: the milestone's value KPI, customers who reached it, and conversion from the milestone before."
    return section("cxmap", "Customer experience map", lead, body)


def _card(r: dict, mix: dict[str, int], is_gap: bool) -> str:
    total = sum(mix.values()) or 1
    bar = "".join(f'<span class="{k}" style="width:{100 * mix.get(k, 0) / total:.2f}%" title="{esc(t)}"></span>'
                  for k, t in STATUSES)
    counts = " · ".join(f"{esc(t)} {num(mix.get(k, 0))}" for k, t in STATUSES if mix.get(k))
    if r["pct_of_previous"] is None:
        conv = f'{num(r["pct_of_first"])}% of all customers' if r["milestone_index"] == 1 else "–"
    else:
        conv = f'<b>{num(r["pct_of_previous"])}%</b> of the previous milestone'
    flag = '<div class="flag">▲ success gap</div>' if is_gap else ""
    return (f'<div class="card{" gap" if is_gap else ""}" {attr("data-milestone", r["milestone"])}>'
            f'<div class="name"><span class="idx">{esc(r["milestone_index"])}.</span> {esc(r["milestone"])}</div>'
            f'<div class="kpi">{esc(r["kpi"] or "")}</div>'
            f'<div class="big" data-col="customers_reached">{num(r["customers_reached"])} <small>reached</small></div>'
            f'<div class="conv">{conv}</div>{flag}<div class="mix">{bar}</div>'
            f'<div class="mixlegend">{counts}</div></div>')


def funnel(j: JourneyData) -> str:
    gap = j.success_gap
    gap_index = gap["to_index"] if gap else None
    parts = []
    if gap is not None:
        bench = f' had they converted like <b>{esc(gap["benchmark_segment"])}</b>' if gap["benchmark_segment"] else ""
        gap_n = (f'About <span class="num">{num(gap["gap_customers"], 0)}</span> more customers would have reached '
                 f'<b>{esc(gap["to_milestone"])}</b>{bench}.' if gap["gap_customers"] is not None else
                 f'<span class="num">{num(gap["dropped"])}</span> customers dropped between these milestones.')
        parts.append(f'<div class="callout" data-success-gap="{esc(gap["to_milestone"])}">'
                     f'<b>The success gap: {esc(gap["from_milestone"])} → {esc(gap["to_milestone"])}</b> '
                     f'({num(gap["conversion_pct"])}% convert{_bench_pct(gap)}). {gap_n}</div>')
    elif j.success_gaps is None:
        parts.append(missing("success_gaps"))
    rows = j.funnel
    chart = charts.funnel_chart(rows, gap_index)
    data = table(["milestone", "reached", "% of first", "% of prev.", "dropped"],
                 [[charts.label(r), r["customers_reached"], r["pct_of_first"], r["pct_of_previous"],
                   r["dropped_from_previous"]] for r in rows], numeric={1, 2, 3, 4},
                 highlight={i for i, r in enumerate(rows) if r["milestone_index"] == gap_index},
                 attrs=[f'data-funnel {attr("data-milestone", r["milestone"])}' for r in rows])
    parts.append(f'<div class="pair"><div>{chart}</div><div>{data}</div></div>')
    bench = j.benchmark
    if j.segment_funnel is not None:
        everyone, best = j.segment_rows("all"), j.segment_rows(bench) if bench else []
        title = f"Conversion step by step: everyone vs <b>{esc(bench)}</b>" if bench else "Conversion step by step"
        parts.append(f"<h3>{title}</h3>")
        chart = charts.conversion_chart(everyone, best, bench, gap_index)
        by_index = {r["milestone_index"]: r for r in best}
        header = ["milestone", "everyone reached", "everyone %"] + ([f"{bench} reached", f"{bench} %"] if bench else [])
        body = [[charts.label(r), r["customers_reached"], r["pct_of_previous"]] +
                ([by_index.get(r["milestone_index"], {}).get("customers_reached"),
                  by_index.get(r["milestone_index"], {}).get("pct_of_previous")] if bench else []) for r in everyone]
        data = table(header, body, numeric={1, 2, 3, 4}, caption="% = converted from the previous milestone")
        if not bench:
            parts.append('<p class="note">The journey declares no segments, so there is no benchmark to compare with.</p>')
        parts.append(f'<div class="pair"><div>{chart}</div><div>{data}</div></div>')
    else:
        parts.append(missing("segment_funnel"))
    if j.success_gaps is not None:
        gaps = [r for r in j.success_gaps if r["segment"] == "all"]
        parts.append("<h3>Every step, ranked by the customers it loses</h3>")
        parts.append(table(["rank", "step", "at previous", "converted", "conversion %", "dropped", "still in progress",
                            "benchmark %", "gap customers"],
                           [[r["rank"], f'{r["from_milestone"]} → {r["to_milestone"]}', r["customers_at_from"],
                             r["customers_converted"], r["conversion_pct"], r["dropped"], r["still_in_progress"],
                             r["benchmark_conversion_pct"], r["gap_customers"]] for r in gaps],
                           numeric={0, 2, 3, 4, 5, 6, 7, 8}, highlight={i for i, r in enumerate(gaps) if r["rank"] == 1},
                           attrs=[f'data-gap {attr("data-to", r["to_milestone"])}' for r in gaps]))
    lead = "Customers reaching each milestone; grey is who stopped since the previous one."
    return section("funnel", "Funnel and the success gap", lead, "".join(parts))


def _bench_pct(gap: dict) -> str:
    if gap["benchmark_conversion_pct"] is None:
        return ""
    return f' vs {num(gap["benchmark_conversion_pct"])}% of {esc(gap["benchmark_segment"])}'


def time_to_value(j: JourneyData) -> str:
    steps, rows = [], []
    previous = None
    for r in j.funnel:
        if previous is not None:
            spread = j.days_between.get(int(r["milestone_index"]), [])
            counts: dict[str, int] = {}
            for d in spread:
                counts[charts.bucket_of(d)] = counts.get(charts.bucket_of(d), 0) + 1
            step = f'{previous["milestone"]} → {r["milestone"]}'
            steps.append((step, counts))
            rows.append([step, len(spread), r["median_days_from_previous"]] +
                        [counts.get(b[2], 0) for b in charts.DAY_BUCKETS])
        previous = r
    if not steps:
        return section("ttv", "Time to value", None, '<p class="note">The journey has one milestone.</p>')
    chart = charts.spread_chart(steps)
    data = table(["step", "customers", "median days"] + [b[2] for b in charts.DAY_BUCKETS], rows,
                 numeric=set(range(1, 3 + len(charts.DAY_BUCKETS))),
                 attrs=[attr("data-step", s) for s, _ in steps])
    lead = ("Median days between milestones (<code>funnel.median_days_from_previous</code>) and how the customers "
            "who reached both are spread.")
    return section("ttv", "Time to value", lead, f"{chart}{data}")


def cohorts(j: JourneyData) -> str:
    parts = []
    if j.cohort_funnel is None:
        parts.append(missing("cohort_funnel"))
    elif not j.cohort_funnel:
        parts.append('<p class="note">No cohorts yet.</p>')
    else:
        rows = j.cohort_funnel
        chart = charts.cohort_chart(rows)
        milestones = [m for _, m in sorted({(r["milestone_index"], r["milestone"]) for r in rows})]
        by_cohort: dict[str, dict[str, dict]] = {}
        for r in rows:
            by_cohort.setdefault(charts.cohort_label(r), {})[r["milestone"]] = r
        body, attrs = [], []
        for cohort, cells in sorted(by_cohort.items()):
            first = next(iter(cells.values()))
            body.append([cohort, first["cohort_size"]] + [cells[m]["pct_reached_within"] if m in cells else None
                                                          for m in milestones])
            attrs.append(attr("data-cohort", num(first["cohort_start"])))
        data = table(["cohort", "size"] + milestones, body, numeric=set(range(1, 2 + len(milestones))), attrs=attrs,
                     scroll=True, caption="% reached within the window; * = cohort still open")
        parts.append(f"{chart}{data}")
    parts.append("<h3>KPI trends: customers who have reached each milestone</h3>")
    if j.kpi_trend is None:
        parts.append(missing("kpi_trend"))
    elif j.kpi_trend:
        parts.append(_trend(j.kpi_trend, "reached_to_date", "customers reached to date", log=True, stacked=True))
    if j.period_kpis is None:
        parts.append(missing("period_kpis"))
    elif j.period_kpis:
        for per in sorted({r["per"] for r in j.period_kpis}, key=["day", "week", "month"].index):
            rows = [r for r in j.period_kpis if r["per"] == per]
            names = ", ".join(sorted({r["milestone"] for r in rows}))
            parts.append(f"<h3>Recurring KPI: customers qualifying each {esc(per)} ({esc(names)})</h3>")
            parts.append(_trend(rows, "customers_qualified", f"customers qualifying per {per}"))
    lead = "Of the customers who signed up in each period, the % who reached each milestone within the window."
    return section("cohorts", "Cohorts and KPI trends", lead, "".join(parts))


def _trend(rows: list[dict], value: str, title: str, log: bool = False, stacked: bool = False) -> str:
    chart = charts.line_chart(rows, value, title, log=log, width=1000 if stacked else 560)
    milestones = [m for _, m in sorted({(r["milestone_index"], r["milestone"]) for r in rows})]
    periods: dict[str, dict[str, int]] = {}
    for r in rows:
        periods.setdefault(num(r["period_start"]), {})[r["milestone"]] = r[value]
    body = [[p] + [cells.get(m) for m in milestones] for p, cells in sorted(periods.items(), reverse=True)]
    data = table(["period"] + milestones, body, numeric=set(range(1, 1 + len(milestones))), scroll=True,
                 caption=f"{title}, newest first")
    return f"{chart}{data}" if stacked else f'<div class="pair even"><div>{chart}</div><div>{data}</div></div>'


def win_back(j: JourneyData) -> str:
    if j.win_back is None:
        return section("winback", "Win-back", None, missing("win_back"))
    order = [r["milestone"] for r in j.funnel]
    counts = sorted(j.win_back.items(), key=lambda kv: order.index(kv[0]) if kv[0] in order else len(order))
    total = sum(n for _, n in counts)
    where = (f'<p>The list of these {num(total)} customers, with when each was last seen: '
             f'<code>clg-metrics show win_back --format csv</code> (table <code>win_back</code>).</p>')
    if not counts:
        return section("winback", "Win-back", None, '<p class="note">No customer has gone quiet.</p>' + where)
    chart = charts.win_back_chart(counts)
    data = table(["next milestone", "customers gone quiet"], [[m, n] for m, n in counts] + [["total", total]],
                 numeric={1}, attrs=[attr("data-next", m) for m, _ in counts] + ['data-total'])
    lead = "Customers still on the way whose last activity is older than the journey's win-back window, by the milestone they were heading for."
    return section("winback", "Win-back", lead, f'<div class="pair"><div>{chart}</div><div>{data}{where}</div></div>')


def build(b: BuildData, target_name: str) -> str:
    failed = [c for c in b.checks if c["status"] != "pass"]
    errors = [c for c in failed if c["severity"] == "error"]
    kv = [("as_of", b.as_of or "– (no target/run_results.json)"), ("build id", b.run_id or "–"),
          ("built at", b.generated_at or "–"), ("target", b.target or target_name),
          ("data-quality checks", (f"{len(b.checks)} run, {len(b.checks) - len(failed)} passed, "
                                  f"{len(errors)} failed (error), {len(failed) - len(errors)} warnings"))]
    parts = ['<dl class="kv">' + "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in kv) + "</dl>"]
    if failed:
        parts.append("<h3>Checks that did not pass</h3>")
        parts.append(table(["status", "severity", "check", "relation", "unexpected", "sample"],
                           [[c["status"], c["severity"], c["check_name"], c["relation"], c["unexpected_count"],
                             (c["sample"] or "")[:120]] for c in failed], numeric={4},
                           attrs=[attr("data-check", c["check_name"]) for c in failed]))
    elif b.run_id is None:
        parts.append('<p class="note">No data-quality results published (built with --skip-checks?).</p>')
    else:
        parts.append('<p class="status-pass">Every data-quality check of this build passed.</p>')
    return section("build", "The build behind these numbers", None, "".join(parts))
