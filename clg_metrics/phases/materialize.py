"""Materialize: build each model into its staged twin, reading the staged twins of what it reads.

A failing model stops the build: the models after it (and ``later``) are reported as skipped,
everything staged is dropped, and nothing is published.
"""

from __future__ import annotations

import time
from typing import Callable

from ..engines import Engine
from ..diagnose import describe
from ..errors import BuildError, ClgError, CompileError, EngineError, first_line
from ..models import Model
from .deltas import stage_delta, stage_leaf_delta
from .publish import abort
from .run import STAGED_PREFIX, BuildRun, ModelResult


def materialize(run: BuildRun, models: list[Model], later: list[Model] = ()) -> None:
    """Build ``models`` as staged twins; on a failure report the rest (and ``later``) as skipped."""
    failed: ModelResult | None = None
    for model in models:
        run.models[model.name] = model
        if failed is not None:
            result = ModelResult(model.name, model.kind, "skipped", message=f"skipped: {failed.name} failed")
        else:
            if run.on_start:
                run.on_start(model)
            try:
                result = stage_delta(run, model) if model.name in run.delta_plans else \
                    stage_leaf_delta(run, model) if model.delta is not None else None
                if result is None:  # (a delta whose types no longer fit is built whole)
                    run.delta_plans.pop(model.name, None)
                    result = run_model(run.engine, model, run.physical, run.ctx.project)
            except BaseException as exc:  # interrupted or a located error: recorded, then passed on
                run.report.models.append(ModelResult(model.name, model.kind, "error", message=first_line(exc)
                                                     if not isinstance(exc, KeyboardInterrupt) else "interrupted"))
                raise
            if model.mode and result.status == "success":
                result.message = f"{model.mode}; {result.message}" if result.message else model.mode
            if result.status == "error":
                failed = result
            else:
                run.built.append(model.name)
        run.report.models.append(result)
        if run.on_result:
            run.on_result(result)
    if failed is not None:
        for model in later:
            run.report.models.append(ModelResult(model.name, model.kind, "skipped",
                                                 message=f"skipped: {failed.name} failed"))
        abort(run)
        raise BuildError(f"model `{failed.name}` failed, nothing was published: {failed.message}")


def run_model(engine: Engine, model: Model, staged_name: Callable[[str], str | None],
              project=None) -> ModelResult:
    started = time.perf_counter()
    target = STAGED_PREFIX + model.name
    try:
        if model.kind == "seed":
            rows = engine.load_csv(target, model.path)
        elif model.materialized == "view":
            engine.create_view_as(target, model.tree(rename=staged_name), source_dialect=model.source_dialect)
            rows = None
        else:
            first, *rest = model.pass_trees(rename=staged_name)
            rows = engine.create_table_as(target, first, source_dialect=model.source_dialect)
            for query in rest:  # a journey built in passes by customer: each appends its customers' rows
                engine.insert_into(target, query, source_dialect=model.source_dialect)
            if rest:
                rows = engine.row_count(target)
    except CompileError as exc:
        raise model.located(exc) from None
    except ClgError:
        raise
    except OSError as exc:  # an unreadable seed, a full disk
        raise EngineError(f"{getattr(exc, 'filename', None) or model.path or model.name}: "
                          f"{exc.strerror or first_line(exc)}") from None
    except Exception as exc:  # the engine's own error, e.g. a sql/ model referring to a missing column
        return ModelResult(model.name, model.kind, "error", time.perf_counter() - started,
                           message=describe(exc, project, model))
    return ModelResult(model.name, model.kind, "success", time.perf_counter() - started, rows)
