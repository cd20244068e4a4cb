"""Engines: one module per warehouse behind the ``Engine`` interface of ``base.py``.

``registry.ENGINES`` names each engine's adapter; its module is imported only when a target
needs it, so DuckDB users never load psycopg or pyspark (and need not install them).
"""

from __future__ import annotations

from pathlib import Path

from ..profiles import TargetBase
from .base import Engine
from .registry import ENGINES


def connect(target: TargetBase, project_dir: Path, read_only: bool = False, warehouse: bool = False) -> Engine:
    """The engine for a profile target.

    A reader (``read_only``) sees the published outputs; with ``warehouse`` it reads the warehouse
    itself (sources, progress tables, ``clg_state``), which ``explain`` needs. Engines that keep
    both in one database ignore the difference.
    """
    return ENGINES[target.type].adapter_class()(target, project_dir, read_only=read_only, warehouse=warehouse)


__all__ = ["Engine", "connect"]
