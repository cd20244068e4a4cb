"""Record: what a command did, in dbt's artifacts under ``target/``: compiled SQL per model,
``manifest.json`` (the models and what they read) and ``run_results.json`` (what ran, how long,
how many rows, the checks)."""

from __future__ import annotations

import contextlib
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
    compiled: dict[str, str] = {}  # rendered once for both files (rendering is most of a compile)
    for model in dag.ordered():
        if model.query is None:
            continue
        path = out / model.kind / f"{model.name}.sql"
        compiled[model.name] = model.sql(dialect)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(compiled[model.name] + ";\n")
        except OSError as exc:  # a read-only or full target/
            from ..errors import ClgError

            raise ClgError(f"cannot write {exc.filename or path}: {exc.strerror or exc}") from None
    write_manifest(ctx, dag, dialect, compiled)
    return out


def write_manifest(ctx: Context, dag: Dag, dialect: str, compiled: dict[str, str] | None = None) -> None:
    """target/manifest.json; ``compiled``: the models' SQL for ``dialect`` if already rendered."""
    compiled = compiled or {}
    manifest = {
        "metadata": {"clg_metrics_version": __version__, "generated_at": now_utc(), "project": ctx.project.name,
                     "as_of": ctx.as_of.isoformat(sep=" "), "dialect": dialect},
        "models": {m.name: {"kind": m.kind, "depends_on": list(m.depends_on),
                            "path": str(m.path) if m.path else None, "journey": m.journey,
                            "checksum": m.checksum, "columns": m.columns,
                            "compiled_sql": (compiled.get(m.name) or m.sql(dialect)) if m.query is not None else None}
                   for m in dag.ordered()},
    }
    write_json(ctx.target_dir / "manifest.json", manifest)


def outcome(error: BaseException | None) -> tuple[str, int, str | None]:
    """(status, exit code, error message) of a run that ended with ``error`` (None: it succeeded).

    status is one of success, failed_checks (an error-severity check failed), error (a model
    failed), config_error (the project, profile or warehouse refused the run), interrupted, crashed.
    """
    from ..errors import EXIT_FAILED, BuildError, ChecksFailed, ClgError

    if error is None:
        return "success", 0, None
    if isinstance(error, KeyboardInterrupt):
        return "interrupted", EXIT_FAILED, "interrupted: the last published outputs are unchanged"
    message = str(error).strip() or type(error).__name__
    if isinstance(error, ChecksFailed):
        return "failed_checks", error.exit_code, message
    if isinstance(error, BuildError):
        return "error", error.exit_code, message
    if isinstance(error, ClgError):
        return "config_error", error.exit_code, message
    if isinstance(error, SystemExit):
        code = error.code if isinstance(error.code, int) else 1
        return ("success" if code == 0 else "error"), code, None
    return "crashed", EXIT_FAILED, f"{type(error).__name__}: {message.splitlines()[0]}"


def write_run_results(ctx: Context | None, report: BuildReport | None, elapsed: float,
                      error: BaseException | None = None, command: str = "build",
                      target_dir: Path | None = None) -> None:
    """target/run_results.json for every outcome (``outcome``): an orchestrator reads ``status`` and
    ``exit_code`` there, and each model's and check's result. Without a context (the project did
    not load) ``target_dir`` says where."""
    report = report or BuildReport()
    status, exit_code, message = outcome(error)
    payload = {
        "metadata": {"clg_metrics_version": __version__, "generated_at": now_utc(), "command": command,
                     "as_of": ctx.as_of.isoformat(sep=" ") if ctx else None,
                     "target": ctx.target_name if ctx else None},
        "status": status,
        "exit_code": exit_code,
        "error": message,
        "elapsed_time": round(elapsed, 3),
        "results": [asdict(r) | {"seconds": round(r.seconds, 3)} for r in report.models],
        "phases": {name: round(seconds, 3) for name, seconds in report.phases.items()},
        "serving": report.serving,
        "checks": [{"name": r.check.name, "relation": r.check.relation, "column": r.check.column,
                    "expectation": r.check.expectation, "severity": r.check.severity, "status": r.status,
                    "unexpected_count": r.unexpected_count, "sample": r.sample, "seconds": round(r.seconds, 3)}
                   for r in report.checks],
    }
    write_json((ctx.target_dir if ctx else target_dir) / "run_results.json", payload)


def write_json(path: Path, payload: dict) -> None:
    """Write atomically (a temporary file renamed over ``path``); a file-system error is one line
    with the path (a non-writable target/, a full disk), exit 2."""
    from ..errors import ClgError

    tmp = path.with_suffix(".json.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(json.dumps(payload, indent=2, default=str) + "\n")
        tmp.replace(path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        raise ClgError(f"cannot write {exc.filename or path}: {exc.strerror or exc}") from None


def now_utc() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
