"""The one table of engines: profile ``type`` -> target model, adapter class, sqlglot dialect.

``profiles.py`` (the ``type`` union and its error messages), ``engines.connect`` and
``runner.target_dialect`` all read ``ENGINES``. The adapter is named, not imported: its module
is loaded only when a target of that type connects, so DuckDB users never import psycopg or
pyspark. Adding an engine: its target model (profiles.py), its adapter module, an entry here.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module
from typing import TYPE_CHECKING

from ..profiles import DuckDBTarget, PostgresTarget, SparkTarget, TargetBase

if TYPE_CHECKING:
    from .base import Engine


@dataclass(frozen=True)
class EngineEntry:
    target: type[TargetBase]  # the pydantic model of the profile's settings
    adapter: str  # "module:Class", relative to this package
    dialect: str  # the sqlglot dialect the engine's SQL is written in

    def adapter_class(self) -> type[Engine]:
        module, name = self.adapter.split(":")
        return getattr(import_module(module, __package__), name)


ENGINES: dict[str, EngineEntry] = {
    "duckdb": EngineEntry(DuckDBTarget, ".duckdb:DuckDBEngine", "duckdb"),
    "postgres": EngineEntry(PostgresTarget, ".postgres:PostgresEngine", "postgres"),
    "spark": EngineEntry(SparkTarget, ".spark:SparkEngine", "spark"),
}
