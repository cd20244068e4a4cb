"""``clg_project.yml``: the project's name, profile, variables and folders.

The file is optional (a folder with ``milestones/`` is a project); every setting has the default
a newcomer would expect.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field

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
    incremental: IncrementalConfig = IncrementalConfig()
    sql_dialect: str = "duckdb"  # the dialect sql/ models and `where` strings are written in
    version: int | str | None = None


def project_paths(root: Path, config: ProjectConfig) -> dict[str, Path]:
    return {name: (root / getattr(config.paths, name)) for name in Paths.model_fields}
