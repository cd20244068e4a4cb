"""``profiles.yml`` in dbt's shape: profile -> target -> outputs, one pydantic model per engine.

Connection settings are picked by ``type:`` (a discriminated union of the target models that
``engines/registry.py`` lists, so an unknown type lists the valid ones), and string values may read the environment with ``{{ env_var('NAME', 'default') }}``
so that passwords stay out of the file.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from functools import cache
from typing import Annotated, Any, Literal, Union

from pydantic import Field, TypeAdapter, ValidationError, field_validator
from pydantic_core import PydanticCustomError

from .errors import ProfileError, did_you_mean, one_of
from .spec import _Model
from .yaml_loader import load_yaml

PROFILES_FILE = "profiles.yml"
_ENV_VAR = re.compile(
    r"""\{\{\s*env_var\(\s*(['"])(?P<name>[^'"]+)\1\s*(?:,\s*(['"])(?P<default>[^'"]*)\3\s*)?\)\s*\}\}"""
)


_IDENTIFIER = r"^[A-Za-z_][A-Za-z0-9_]*$"


SYSTEM_SCHEMAS = frozenset({"information_schema", "pg_catalog", "pg_toast", "system", "temp"})


class TargetBase(_Model):
    """What every target has: its ``type`` and a bounded ``threads``."""

    type: str
    threads: int | None = Field(default=None, ge=1)  # not strict: env_var() gives strings

    @field_validator("schema_", "database", check_fields=False)
    @classmethod
    def _not_a_system_schema(cls, value: str) -> str:
        """The engines' own catalogs cannot hold tables: refused here, not as a raw Binder Error."""
        if value.lower() in SYSTEM_SCHEMAS:
            raise PydanticCustomError("system_schema", "`{name}` is the engine's own catalog and cannot hold "
                                      "tables: name a schema of your own (e.g. `analytics`)", {"name": value})
        return value

    @field_validator("threads")
    @classmethod
    def _at_most_the_cpus(cls, value: int | None) -> int | None:
        cpus = os.cpu_count()
        if value is not None and cpus is not None and value > cpus:
            raise PydanticCustomError("threads_above_cpus", "{threads} is more than this machine's {cpus} CPUs "
                                      "(set `threads` to at most {cpus}, or leave it out)",
                                      {"threads": value, "cpus": cpus})
        return value


class DuckDBTarget(TargetBase):
    """The embedded default: a DuckDB file (relative paths are relative to the project)."""

    type: Literal["duckdb"]
    path: str = "target/clg.duckdb"  # the warehouse: seeds, models, raw events, state
    # what readers (show, BI tools) open: default <path stem>_serving.duckdb beside the warehouse
    serving_path: str | None = None
    schema_: str = Field(default="main", alias="schema", pattern=_IDENTIFIER)
    memory_limit: str | None = Field(default=None, pattern=r"^\s*\d+(\.\d+)?\s*[KMGTkmgt]?i?[Bb]\s*$")
    # build each progress model in this many passes by customer (default: as memory_limit needs)
    progress_passes: int | None = Field(default=None, ge=1, le=256)
    settings: dict[str, str | int | float | bool] = Field(default_factory=dict)


class PostgresTarget(TargetBase):
    """An existing PostgreSQL server (psycopg 3). Put the password in the environment, not the file."""

    type: Literal["postgres"]
    host: str = "localhost"  # a directory (starting with /) means a Unix socket there
    port: int = Field(default=5432, ge=1, le=65535)
    user: str
    password: str | None = None
    dbname: str
    schema_: str = Field(default="public", alias="schema", pattern=_IDENTIFIER)
    sslmode: Literal["disable", "allow", "prefer", "require", "verify-ca", "verify-full"] = "prefer"
    connect_timeout: int = Field(default=10, ge=1)


class SparkTarget(TargetBase):
    """Apache Spark through pyspark: a local session, a cluster master, or Spark Connect (``remote``).

    Tables live in ``database`` of the session's catalog; for a local session with no metastore of
    its own, clg-metrics keeps a Derby metastore and the table files under ``warehouse_dir``.
    """

    type: Literal["spark"]
    master: str = "local[*]"
    remote: str | None = Field(default=None, pattern=r"^sc://")
    database: str = Field(default="clg", pattern=_IDENTIFIER)
    warehouse_dir: str = "target/spark-warehouse"  # relative to the project
    file_format: str = Field(default="parquet", pattern=_IDENTIFIER)
    app_name: str = "clg-metrics"
    spark_conf: dict[str, str | int | float | bool] = Field(default_factory=dict)


TargetModel = TargetBase  # any engine's target


def target_models() -> dict[str, type[TargetBase]]:
    """Profile ``type`` -> target model, as the engine registry lists them."""
    from .engines.registry import ENGINES  # (the registry imports the models above)

    return {name: entry.target for name, entry in ENGINES.items()}


@cache
def _target_adapter() -> TypeAdapter:
    """A validator of the discriminated union of every registered target model."""
    models = tuple(target_models().values())
    return TypeAdapter(Annotated[Union[models], Field(discriminator="type")])  # type: ignore[valid-type]


def default_target() -> DuckDBTarget:
    """What a project without profiles.yml builds into: a DuckDB file under target/."""
    return DuckDBTarget(type="duckdb")


def find_profiles(project_dir: Path, profiles_dir: Path | None) -> Path | None:
    """profiles.yml from --profiles-dir, $CLG_PROFILES_DIR, the project, then ~/.clg."""
    candidates = []
    if profiles_dir is not None:
        path = Path(profiles_dir) / PROFILES_FILE
        if not path.exists():
            raise ProfileError(f"{path}: not found (given by --profiles-dir)")
        return path
    if os.environ.get("CLG_PROFILES_DIR"):
        candidates.append(Path(os.environ["CLG_PROFILES_DIR"]) / PROFILES_FILE)
    candidates += [project_dir / PROFILES_FILE, Path.home() / ".clg" / PROFILES_FILE]
    return next((c for c in candidates if c.exists()), None)


def load_target(path: Path | None, profile: str | None, target: str | None) -> tuple[str, TargetModel]:
    """The chosen profile's target as a validated model, with its name."""
    if path is None:
        if target not in (None, "dev"):
            raise ProfileError(f"no profiles.yml found, so there is no target `{target}`")
        return "dev", default_target()
    located = load_yaml(path)
    data = located.data
    if not isinstance(data, dict) or not data:
        raise ProfileError(f"{path}: expected a mapping of profile names to {{target, outputs}}")
    if profile is None:
        if len(data) != 1:
            raise ProfileError(f"{path}: several profiles; name one with `profile:` in clg_project.yml "
                               f"({one_of(data)})")
        profile = next(iter(data))
    if profile not in data:
        hint = did_you_mean(profile, data) or one_of(data)
        raise ProfileError(f"{path}: no profile `{profile}` ({hint})")
    body = data[profile]
    if not isinstance(body, dict) or not isinstance(body.get("outputs"), dict) or not body["outputs"]:
        line, _ = located.locate((profile,))
        raise ProfileError(f"{path}:{line}: profile `{profile}` needs `outputs:` with at least one target")
    outputs = body["outputs"]
    name = target or body.get("target") or next(iter(outputs))
    if name not in outputs:
        hint = did_you_mean(str(name), outputs) or one_of(outputs)
        where = f"{path}" if target else "{}:{}:{}".format(path, *located.locate((profile, "target")))
        origin = " (from --target)" if target else ""
        raise ProfileError(f"{where}: profile `{profile}` has no target `{name}`{origin} ({hint})")
    raw = _render_env(outputs[name], located, (profile, "outputs", name))
    try:
        return str(name), _target_adapter().validate_python(raw)
    except ValidationError as exc:
        problems = [_target_problem(err, raw, located, path, (profile, "outputs", name), str(name))
                    for err in exc.errors()]
        raise ProfileError("\n".join(dict.fromkeys(problems))) from None


def _target_problem(err: dict, raw: Any, located, path: Path, loc_prefix: tuple, name: str) -> str:
    """One pydantic error of a target as ``file:line:col: target `x`, `setting`: what to change``."""
    models = target_models()
    loc = tuple(err["loc"])
    if loc and loc[0] in models:
        loc = loc[1:]
    line, col = located.locate(loc_prefix + loc, prefer_key=err["type"] == "extra_forbidden")
    where = ".".join(str(p) for p in loc) or "type"
    message = err["msg"]
    kind = str(raw.get("type")) if isinstance(raw, dict) else ""
    model = models.get(kind, DuckDBTarget)
    settings = [f.alias or n for n, f in model.model_fields.items()]
    if err["type"] == "extra_forbidden":
        message = f"unknown setting `{loc[-1]}` for type {kind} ({did_you_mean(str(loc[-1]), settings) or one_of(settings)})"
    elif err["type"] == "missing":
        message = f"missing setting, required for type {kind} (add `{loc[-1]}: ...`)"
    elif err["type"] in ("union_tag_invalid", "union_tag_not_found"):
        message = f"unknown or missing `type`: {one_of(models)}"
    return f"{path}:{line}:{col}: target `{name}`, `{where}`: {message}"


def _render_env(value: Any, located, loc: tuple) -> Any:
    """Replace {{ env_var(...) }} in every string value; errors name the line of the value."""
    if isinstance(value, dict):
        return {k: _render_env(v, located, loc + (k,)) for k, v in value.items()}
    if isinstance(value, list):
        return [_render_env(v, located, loc + (i,)) for i, v in enumerate(value)]
    if not isinstance(value, str) or "{{" not in value:
        return value

    def sub(match: re.Match) -> str:
        name, default = match.group("name"), match.group("default")
        if name in os.environ:
            return os.environ[name]
        if default is not None:
            return default
        line, col = located.locate(loc)
        raise ProfileError(f"{located.path}:{line}:{col}: environment variable `{name}` is not set and has no "
                           f"default (set it, or give one: {{{{ env_var('{name}', 'default') }}}})")

    rendered = _ENV_VAR.sub(sub, value)
    if "{{" in rendered:
        line, col = located.locate(loc)
        raise ProfileError(f"{located.path}:{line}:{col}: only {{{{ env_var('NAME', 'default') }}}} is supported "
                           f"in profiles.yml (found `{value}`)")
    return rendered
