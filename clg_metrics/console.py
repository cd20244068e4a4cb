"""What the CLI prints: build progress (text or JSON lines), check tables, aligned tables, and
data made safe for a terminal."""

from __future__ import annotations

import json
import sys
import time
from datetime import datetime, timezone

import click


class Reporter:
    """Build progress: aligned lines on a terminal, or one JSON object per line for a warehouse job."""

    def __init__(self, log_format: str = "text"):
        self.json = log_format == "json"
        self.started = time.perf_counter()
        self.tty = sys.stdout.isatty()

    def _emit(self, event: str, **fields) -> None:
        record = {"ts": datetime.now(timezone.utc).isoformat(timespec="milliseconds"), "event": event,
                  "elapsed": round(time.perf_counter() - self.started, 3), **fields}
        click.echo(json.dumps(record, default=str))

    def info(self, message: str) -> None:
        if self.json:
            self._emit("info", message=message)
        else:
            click.echo(message)

    def start(self, model) -> None:
        if self.json:
            self._emit("model_start", model=model.name, kind=model.kind)
        elif self.tty:
            click.echo(f"RUNNING  {model.kind:8} {model.name} ...", nl=False)
            click.echo("\r", nl=False)

    def result(self, result) -> None:
        if self.json:
            self._emit("model_done", model=result.name, kind=result.kind, status=result.status, rows=result.rows,
                       seconds=round(result.seconds, 3), message=result.message)
            return
        rows = f"{result.rows:>10,} rows" if result.rows is not None else " " * 15
        colour = {"success": "green", "error": "red", "skipped": "yellow"}[result.status]
        label = click.style(f"{result.status.upper():8}", fg=colour)
        elapsed = time.perf_counter() - self.started
        note = f"  ({result.message})" if result.message and result.status == "success" else ""
        click.echo(f"{label} {result.kind:8} {result.name:40} {rows} {result.seconds:8.2f}s  [{elapsed:7.1f}s]{note}")
        if result.status == "error":
            click.secho(f"         {result.message}", fg="red", err=True)

    def checks(self, results) -> None:
        if self.json:
            for r in results:
                self._emit("check", check=r.check.name, relation=r.check.relation, severity=r.check.severity,
                           status=r.status, unexpected_count=r.unexpected_count, sample=r.sample)
        else:
            print_checks(results)


def print_checks(results) -> None:
    """Check results as a short table: status, severity, check, relation, unexpected count."""
    if not results:
        return
    rows = [(r.status.upper(), r.check.severity, r.check.name, r.check.relation,
             r.unexpected_count if r.unexpected_count is not None else "", (r.sample or "")[:60]) for r in results]
    click.echo(format_table(["status", "severity", "check", "relation", "unexpected", "sample"], rows,
                            footer=False))
    for r in results:  # what a failed check means and what to change
        if r.status != "pass" and r.hint:
            click.echo(f"{r.status.upper()} {r.check.name}: {printable(r.hint)}")


_CONTROL = {i: f"\\x{i:02x}" for i in [*range(0x20), 0x7f, *range(0x80, 0xa0)]}


def printable(text: str) -> str:
    """Data as text that cannot drive the terminal: control characters as ``\\xNN``."""
    return text.translate(_CONTROL)


def format_table(columns, rows, footer: bool = True) -> str:
    """Rows as an aligned text table (numbers right-aligned)."""
    def text(v):
        if v is None:
            return ""
        if isinstance(v, float):
            return f"{v:.2f}"
        return printable(str(v))

    cells = [[text(v) for v in row] for row in rows]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
    numeric = [all(isinstance(row[i], (int, float)) or row[i] is None for row in rows) and rows
               for i in range(len(columns))]
    def line(values):
        return "  ".join(v.rjust(w) if n else v.ljust(w) for v, w, n in zip(values, widths, numeric)).rstrip()
    out = [line([printable(str(c)) for c in columns]), "  ".join("-" * w for w in widths)]
    out += [line(r) for r in cells]
    if footer:
        out.append(f"({len(rows)} rows)")
    return "\n".join(out)
