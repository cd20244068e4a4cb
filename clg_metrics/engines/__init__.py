"""Engines: one module per warehouse behind the ``Engine`` interface of ``base.py``."""

from __future__ import annotations

from pathlib import Path

from ..profiles import DuckDBTarget
from .base import Engine


def connect(target: DuckDBTarget, project_dir: Path, read_only: bool = False) -> Engine:
    """The engine for a profile target."""
    if target.type == "duckdb":
        from .duckdb import DuckDBEngine

        return DuckDBEngine(target, project_dir, read_only=read_only)
    raise NotImplementedError(target.type)  # pragma: no cover - the profile model allows only known types


__all__ = ["Engine", "connect"]
