"""Engines: one module per warehouse behind the ``Engine`` interface of ``base.py``.

An engine module is imported only when a target needs it, so DuckDB users never load psycopg
or pyspark (and need not install them).
"""

from __future__ import annotations

from pathlib import Path

from ..profiles import TargetModel
from .base import Engine


def connect(target: TargetModel, project_dir: Path, read_only: bool = False) -> Engine:
    """The engine for a profile target."""
    if target.type == "duckdb":
        from .duckdb import DuckDBEngine

        return DuckDBEngine(target, project_dir, read_only=read_only)
    if target.type == "postgres":
        from .postgres import PostgresEngine

        return PostgresEngine(target, project_dir, read_only=read_only)
    if target.type == "spark":
        from .spark import SparkEngine

        return SparkEngine(target, project_dir, read_only=read_only)
    raise NotImplementedError(target.type)  # pragma: no cover - the profile model allows only known types


__all__ = ["Engine", "connect"]
