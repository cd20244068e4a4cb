"""The HTML around the sections: one self-contained file (inline CSS and SVG, no script, no link
to anything), sized for a laptop screen and printable on A4.

Every value that comes from data goes through ``esc`` (``html.escape``): journey text, milestone
names and check samples are user input.
"""

from __future__ import annotations

import html
from datetime import date, datetime
from decimal import Decimal
from typing import Any

CSS = """
:root { --ink:#0f172a; --muted:#475569; --line:#e2e8f0; --bg:#f8fafc; --card:#fff;
  --reached:#15803d; --in_progress:#2563eb; --missed:#dc2626; --not_eligible:#94a3b8; --gap:#e11d48; }
* { box-sizing: border-box; }
html { font-size: 15px; }
body { margin: 0; background: var(--bg); color: var(--ink);
  font-family: system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif; line-height: 1.4; }
main { max-width: 1280px; margin: 0 auto; padding: 20px 28px 48px; }
header.top { display: flex; justify-content: space-between; align-items: flex-end; gap: 16px; flex-wrap: wrap;
  border-bottom: 3px solid var(--ink); padding-bottom: 10px; margin-bottom: 8px; }
header.top h1 { margin: 0; font-size: 1.9rem; letter-spacing: -0.01em; }
header.top .sub { color: var(--muted); margin-top: 2px; }
header.top .meta { color: var(--muted); font-size: .9rem; text-align: right; }
nav.toc { font-size: .9rem; margin: 6px 0 0; color: var(--muted); }
nav.toc a { color: var(--muted); margin-right: 14px; text-decoration: none; border-bottom: 1px dotted; }
section { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 16px 20px;
  margin: 16px 0; }
section h2 { margin: 0 0 4px; font-size: 1.3rem; }
section .lead { color: var(--muted); margin: 0 0 12px; }
.note { color: var(--muted); font-style: italic; }
.job { font-size: 1.45rem; line-height: 1.35; margin: 6px 0 12px; }
.job b { color: var(--gap); font-weight: 600; }
.pair { display: grid; grid-template-columns: minmax(0, 3fr) minmax(0, 2fr); gap: 20px; align-items: start; }
.pair.even { grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); }
svg.chart { width: 100%; height: auto; max-height: 520px; }
table { border-collapse: collapse; width: 100%; font-size: .85rem; font-variant-numeric: tabular-nums; }
th, td { padding: 4px 8px; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top;
  white-space: nowrap; }
table.wrap td { white-space: normal; }
th { color: var(--muted); font-weight: 600; background: #f1f5f9; position: sticky; top: 0; }
td.n, th.n { text-align: right; white-space: nowrap; }
.pair th { white-space: normal; }  /* headers wrap beside a chart: a 5-column table fits at 1366px */
tr.hl td { background: #ffe4e6; font-weight: 600; }
.scroll { max-height: 360px; overflow: auto; margin-top: 8px; border: 1px solid var(--line); border-radius: 6px; }
/* the CX map: phases side by side, milestones as cards */
.cxmap { display: grid; gap: 14px; }
.phase { border-radius: 10px; padding: 10px; background: #f8fafc; border-top: 6px solid var(--phase); }
.phase h3 { margin: 0 0 8px; text-transform: uppercase; letter-spacing: .06em; font-size: .95rem; color: var(--phase); }
.card { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 10px 12px; margin-bottom: 10px;
  break-inside: avoid; }
.card.gap { border: 2px solid var(--gap); box-shadow: 0 0 0 3px #ffe4e6; }
.card .name { font-weight: 700; font-size: 1.02rem; }
.card .idx { color: var(--muted); font-weight: 400; }
.card .kpi { color: var(--muted); font-size: .85rem; min-height: 2.4em; }
.card .big { font-size: 1.7rem; font-weight: 700; line-height: 1.1; margin-top: 4px; }
.card .big small { font-size: .8rem; font-weight: 400; color: var(--muted); }
.card .conv { font-size: .9rem; }
.card .flag { color: var(--gap); font-weight: 700; font-size: .85rem; }
.mix { display: flex; height: 10px; border-radius: 5px; overflow: hidden; margin: 8px 0 4px; background: var(--line); }
.mix span { display: block; height: 100%; }
.mix .reached { background: var(--reached); } .mix .in_progress { background: var(--in_progress); }
.mix .missed { background: var(--missed); } .mix .not_eligible { background: var(--not_eligible); }
.mixlegend { font-size: .75rem; color: var(--muted); display: flex; flex-wrap: wrap; gap: 2px 10px; }
.mixlegend i { display: inline-block; width: 8px; height: 8px; border-radius: 2px; margin-right: 3px; }
.callout { border-left: 6px solid var(--gap); background: #fff1f2; padding: 10px 14px; border-radius: 6px;
  margin: 4px 0 14px; font-size: 1.05rem; }
.callout .num { font-size: 1.5rem; font-weight: 700; color: var(--gap); }
.kv { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; font-size: .95rem; }
.kv dt { color: var(--muted); } .kv dd { margin: 0; font-family: ui-monospace, Menlo, Consolas, monospace; }
.status-pass { color: var(--reached); } .status-fail, .status-error { color: var(--missed); font-weight: 700; }
code { font-family: ui-monospace, Menlo, Consolas, monospace; background: #f1f5f9; padding: 1px 5px; border-radius: 4px; }
footer { color: var(--muted); font-size: .8rem; margin-top: 24px; }
@media (min-width: 1700px) { html { font-size: 17px; } main { max-width: 1640px; } }
@media (max-width: 1100px) { .pair, .pair.even { grid-template-columns: 1fr; } }
@media print {
  @page { size: A4; margin: 12mm; }
  html { font-size: 10.5pt; }
  body { background: #fff; }
  main { max-width: none; padding: 0; }
  nav.toc { display: none; }
  section { border: none; padding: 0; margin: 0 0 8mm; break-inside: auto; }
  section h2 { break-after: avoid; }
  .pair, .pair.even { grid-template-columns: 1fr; }
  .scroll { max-height: none; overflow: visible; border: none; }
  svg.chart { max-height: 150mm; break-inside: avoid; }
  th { position: static; }
  tr, .card { break-inside: avoid; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
}
"""


def esc(value: Any) -> str:
    """Any value as escaped HTML text (None as empty)."""
    return "" if value is None else html.escape(str(value), quote=True)


def num(value: Any, decimals: int | None = None) -> str:
    """A number as the page shows it: integers with thousands separators, decimals as published
    (two places), None as an en dash."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int) and decimals is None:
        return f"{value:,}"
    if isinstance(value, (float, Decimal)):
        return f"{float(value):,.{2 if decimals is None else decimals}f}"
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def table(headers: list[str], rows: list[list[Any]], numeric: set[int] = frozenset(), highlight: set[int] = frozenset(),
          attrs: list[str] | None = None, scroll: bool = False, caption: str | None = None,
          wrap: bool = False) -> str:
    """An HTML table of escaped values; ``numeric`` columns right-aligned, ``highlight`` rows marked,
    ``attrs`` extra (already safe) attributes per row, e.g. ``data-milestone`` for the browser test."""
    head = "".join(f'<th class="n">{esc(h)}</th>' if i in numeric else f"<th>{esc(h)}</th>" for i, h in enumerate(headers))
    body = []
    for r, row in enumerate(rows):
        cls = ' class="hl"' if r in highlight else ""
        extra = f" {attrs[r]}" if attrs else ""
        cells = "".join(f'<td class="n">{esc(num(v))}</td>' if i in numeric else f"<td>{esc(num(v))}</td>"
                        for i, v in enumerate(row))
        body.append(f"<tr{cls}{extra}>{cells}</tr>")
    cap = f"<caption class=\"note\">{esc(caption)}</caption>" if caption else ""
    cls = ' class="wrap"' if wrap else ""
    out = f"<table{cls}>{cap}<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
    return f'<div class="scroll">{out}</div>' if scroll else out


def attr(name: str, value: Any) -> str:
    """One escaped HTML attribute."""
    return f'{name}="{esc(value)}"'


def section(id_: str, title: str, lead: str | None, body: str) -> str:
    lead_html = f'<p class="lead">{lead}</p>' if lead else ""
    return f'<section id="{esc(id_)}"><h2>{esc(title)}</h2>{lead_html}{body}</section>'


def document(title: str, header: str, toc: list[tuple[str, str]], body: str, footer: str) -> str:
    """The whole page. The Content-Security-Policy forbids every fetch: the page cannot reach a
    network even if a value slipped through unescaped."""
    links = "".join(f'<a href="#{esc(i)}">{esc(t)}</a>' for i, t in toc)
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; "
            "img-src data:\">"
            f"<title>{esc(title)}</title><style>{CSS}</style></head><body><main>"
            f"{header}<nav class=\"toc\">{links}</nav>{body}<footer>{footer}</footer></main></body></html>\n")
