"""``clg-metrics report``: one self-contained HTML page of a journey's CX map, for people.

The page is drawn from the published tables alone (``data.py`` reads them; it computes no metric of
its own), charts are Vega-Altair rendered to inline SVG offline (``charts.py``), and the HTML holds
no script and loads nothing (``page.py``), so it opens from disk or as an e-mail attachment.
Altair and vl-convert are imported only here, never by ``build`` or ``--help``.
"""

from __future__ import annotations

from pathlib import Path

from ..context import Context
from . import sections
from .data import JourneyData, ReportData, load_report_data
from .page import document, esc


def write_report(ctx: Context, journey: str | None = None, out: Path | None = None) -> Path:
    """Write the report (default ``target/report.html``) and return its path."""
    data = load_report_data(ctx, journey)
    path = Path(out) if out is not None else ctx.target_dir / "report.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(render(data), encoding="utf-8")
    tmp.replace(path)  # a reader never sees half a page
    return path


def render(data: ReportData) -> str:
    """The whole page for every journey of ``data``."""
    many = len(data.journeys) > 1
    body, toc = [], []
    for j in data.journeys:
        body.append(_journey(j, data, many))
        toc += [(f"{j.name}-{key}", (f"{j.name}: " if many else "") + title) for key, title in TOC]
    body.append(sections.build(data.build, data.target_name))
    toc.append(("build", "The build"))
    title = data.journeys[0].name if len(data.journeys) == 1 else data.project
    desc = data.journeys[0].description if len(data.journeys) == 1 else f"{len(data.journeys)} journeys"
    meta = (f"as of <b>{esc(data.build.as_of or '–')}</b><br>build {esc(data.build.run_id or '–')} · "
            f"{esc(data.project)} on {esc(data.target_name)}")
    header = (f'<header class="top"><div><h1>{esc(_title(title))}</h1><div class="sub">{esc(desc or "")}</div></div>'
              f'<div class="meta">{meta}</div></header>')
    footer = (f"Written by <code>clg-metrics report</code> from the published tables of {esc(data.project)}; "
              "every number is a value (or a row count) of those tables.")
    return document(f"{_title(title)} — customer experience map", header, toc, "".join(body), footer)


TOC = [("job", "Job"), ("cxmap", "CX map"), ("funnel", "Funnel & success gap"), ("ttv", "Time to value"),
       ("cohorts", "Cohorts & trends"), ("winback", "Win-back")]


def _title(name: str) -> str:
    return name.replace("_", " ").capitalize()


def _journey(j: JourneyData, data: ReportData, many: bool) -> str:
    parts = [sections.job(j), sections.cx_map(j), sections.funnel(j), sections.time_to_value(j),
             sections.cohorts(j), sections.win_back(j)]
    html = "".join(parts)
    # section ids are per journey, so that several journeys share one page
    for key, _ in TOC:
        html = html.replace(f'<section id="{key}">', f'<section id="{esc(j.name)}-{key}">', 1)
    heading = f'<h2 class="journey">{esc(_title(j.name))}</h2>' if many else ""
    return f'<div class="journey" data-journey="{esc(j.name)}">{heading}{html}</div>'


__all__ = ["render", "write_report"]
