"""Record: what a command did, in dbt's artifacts under ``target/``: compiled SQL per model,
``manifest.json`` (the models and what they read) and ``run_results.json`` (what ran, how long,
how many rows, the checks)."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path

from .. import __version__
from ..context import Context
from ..dialects import check_dialect
from ..models import Dag
from .run import BuildReport


def write_compiled(ctx: Context, dag: Dag, dialect: str = "duckdb") -> Path:
    """target/compiled/<kind>/<name>.sql for every model, and target/manifest.json."""
    dialect = check_dialect(dialect)
    out = ctx.target_dir / "compiled"
    for model in dag.ordered():
        if model.query is None:
            continue
        path = out / model.kind / f"{model.name}.sql"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(model.sql(dialect) + ";\n")
    write_manifest(ctx, dag, dialect)
    return out


def write_manifest(ctx: Context, dag: Dag, dialect: str) -> None:
    manifest = {
        "metadata": {"clg_metrics_version": __version__, "generated_at": now_utc(), "project": ctx.project.name,
                     "as_of": ctx.as_of.isoformat(sep=" "), "dialect": dialect},
        "models": {m.name: {"kind": m.kind, "depends_on": list(m.depends_on),
                            "path": str(m.path) if m.path else None, "journey": m.journey,
                            "checksum": m.checksum, "columns": m.columns,
                            "compiled_sql": m.sql(dialect) if m.query is not None else None}
                   for m in dag.ordered()},
    }
    write_json(ctx.target_dir / "manifest.json", manifest)


def write_run_results(ctx: Context, report: BuildReport, elapsed: float) -> None:
    payload = {
        "metadata": {"clg_metrics_version": __version__, "generated_at": now_utc(),
                     "as_of": ctx.as_of.isoformat(sep=" "), "target": ctx.target_name},
        "elapsed_time": round(elapsed, 3),
        "results": [asdict(r) | {"seconds": round(r.seconds, 3)} for r in report.models],
        "checks": [{"name": r.check.name, "relation": r.check.relation, "column": r.check.column,
                    "expectation": r.check.expectation, "severity": r.check.severity, "status": r.status,
                    "unexpected_count": r.unexpected_count, "sample": r.sample, "seconds": round(r.seconds, 3)}
                   for r in report.checks],
    }
    write_json(ctx.target_dir / "run_results.json", payload)


def write_json(path: Path, payload: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(payload, indent=2, default=str) + "\n")
    tmp.replace(path)


def now_utc() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
