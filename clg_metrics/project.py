"""``clg_project.yml``: the project's name, profile, variables and folders.

The file is optional (a folder with ``milestones/`` is a project); every setting has the default
a newcomer would expect.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator

from .checks.catalog import CheckDecl
from .spec import Identifier, _Model

PROJECT_FILE = "clg_project.yml"


class Paths(_Model):
    milestones: str = "milestones"
    sql: str = "sql"
    seeds: str = "seeds"
    target: str = "target"


class ModelConfig(_Model):
    """Settings of one seed or sql/ model, under ``models:`` in clg_project.yml."""

    checks: list[CheckDecl] = Field(default_factory=list)
    description: str | None = None
    # view: nothing is copied; readers (and journeys) query the model's SELECT each time
    materialized: Literal["table", "view"] = "table"


class CheckConfig(_Model):
    """One check's settings under ``checks:`` in clg_project.yml, in dbt's words (``severity``, ``enabled``)."""

    severity: Literal["warn", "error"] | None = None  # None: the check's own severity
    enabled: bool = True


class IncrementalConfig(_Model):
    """``incremental:`` in clg_project.yml (see incremental.py for the guarantees)."""

    enabled: bool = True
    lookback_hours: float = Field(default=72, ge=0)


class ProjectConfig(_Model):
    """The settings of ``clg_project.yml``."""

    name: Identifier | None = None
    profile: str | None = None
    vars: dict[str, Any] = Field(default_factory=dict)
    paths: Paths = Paths()
    models: dict[str, ModelConfig] = Field(default_factory=dict)
    # check name (as in the build's check table and dq_results.check_name) -> severity / enabled
    checks: dict[str, CheckConfig] = Field(default_factory=dict)
    incremental: IncrementalConfig = IncrementalConfig()
    sql_dialect: str = "duckdb"  # the dialect sql/ models and `where` strings are written in
    # Which output tables (SPEC §3-§5) the build materializes; None: all of them. The tables a
    # listed one reads (e.g. segment_members for success_gaps) and those a sql/ model reads are
    # built too. A job that needs only SPEC §3's tables skips the analysis tables' work.
    outputs: list[str] | None = None
    version: int | str | None = None

    @field_validator("outputs")
    @classmethod
    def _known_outputs(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        from .compiler.outputs import OUTPUT_NAMES
        from .errors import did_you_mean

        lowered = [name.lower() for name in value]
        for name in lowered:
            if name not in OUTPUT_NAMES:
                hint = did_you_mean(name, OUTPUT_NAMES)
                raise ValueError(f"unknown output table `{name}`" + (f" ({hint})" if hint else "")
                                 + f"; the output tables are {', '.join(OUTPUT_NAMES)}")
        return list(dict.fromkeys(lowered))

    @field_validator("sql_dialect")
    @classmethod
    def _known_dialect(cls, value: str) -> str:
        from sqlglot.dialects.dialect import Dialect

        try:
            Dialect.get_or_raise(value)
        except ValueError:
            raise ValueError(f"unknown SQL dialect `{value}`: use a sqlglot dialect such as duckdb, postgres, "
                             "spark, snowflake or bigquery") from None
        return value.lower()


def project_paths(root: Path, config: ProjectConfig) -> dict[str, Path]:
    return {name: (root / getattr(config.paths, name)) for name in Paths.model_fields}
