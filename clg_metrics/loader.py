"""Find a project's files, validate them (journey rules: ``validation.py``), and turn pydantic's
errors into located problems.

Every problem in every file is collected and raised as one ``SpecError``, each with its file,
line, column and what to change, so that ``clg-metrics validate`` lists them all at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlglot import exp

from .checks.results import DQ_TABLE
from .compiler.outputs import OUTPUT_NAMES
from .conditions import ALL_KINDS, CONDITION_FIELDS, kind_fields, kind_keys
from .errors import ErrorCollector, Problem, SpecError, did_you_mean, one_of
from .project import PROJECT_FILE, ProjectConfig, project_paths
from .reserved import OUTPUT_TABLES, reserved_name_problem  # noqa: F401  (OUTPUT_TABLES: kept importable here)
from .spec import Journey, keys_at
from .sql_models import SqlSource, parse_sql_model
from .validation import check_journey
from .yaml_loader import LocatedYaml, load_yaml, read_text


@dataclass
class LoadedJourney:
    journey: Journey
    source: LocatedYaml

    @property
    def name(self) -> str:
        return self.journey.journey


@dataclass
class Project:
    """Everything a build needs to know about a project, validated."""

    root: Path
    config: ProjectConfig
    variables: dict[str, Any]
    journeys: list[LoadedJourney] = field(default_factory=list)
    seeds: dict[str, Path] = field(default_factory=dict)
    sql_models: dict[str, SqlSource] = field(default_factory=dict)

    @property
    def paths(self) -> dict[str, Path]:
        return project_paths(self.root, self.config)

    @property
    def name(self) -> str:
        return self.config.name or self.root.resolve().name

    def journey(self, name: str) -> LoadedJourney:
        return next(j for j in self.journeys if j.name == name)


def load_project(root: Path, cli_vars: dict[str, Any] | None = None) -> Project:
    """Load and validate the whole project at ``root``; raise ``SpecError`` listing every problem."""
    root = Path(root)
    errors = ErrorCollector()
    config = _load_config(root, errors)
    errors.raise_if_any()
    variables = {**config.vars, **(cli_vars or {})}
    project = Project(root=root, config=config, variables=variables)
    paths = project.paths
    if not paths["milestones"].is_dir():
        raise SpecError([Problem(root, None, None, f"no `{config.paths.milestones}/` folder with journeys here",
                                 "run `clg-metrics init DIR` for a new project, or pass --project-dir")])

    for csv_path in sorted(paths["seeds"].glob("*.csv")) if paths["seeds"].is_dir() else []:
        project.seeds[csv_path.stem.lower()] = csv_path
    for sql_path in sorted(paths["sql"].glob("*.sql")) if paths["sql"].is_dir() else []:
        try:
            project.sql_models[sql_path.stem.lower()] = parse_sql_model(
                sql_path, read_text(sql_path), config.sql_dialect, variables)
        except ValueError as exc:
            errors.extend([exc.args[0]] if isinstance(exc.args[0], Problem) else
                          [Problem(sql_path, None, None, str(exc))])
        except SpecError as exc:
            errors.extend(exc.problems)
    _check_relation_names(project, errors)

    files = sorted(list(paths["milestones"].glob("*.yml")) + list(paths["milestones"].glob("*.yaml")))
    seen: dict[str, Path] = {}
    for path in files:
        loaded = _load_journey(path, errors)
        if loaded is None:
            continue
        if loaded.name in seen:
            errors.extend([loaded.source.problem(("journey",), f"journey `{loaded.name}` is also defined in "
                                                 f"{seen[loaded.name]}", "journey names are unique")])
            continue
        seen[loaded.name] = path
        before = len(errors.problems)
        check_journey(loaded, project, errors)
        if len(errors.problems) == before:
            project.journeys.append(loaded)
    if len(project.journeys) == len(files):  # check names come from the journeys: only when all of them loaded
        _check_check_config(project, errors)
    errors.raise_if_any()
    return project


def _load_config(root: Path, errors: ErrorCollector) -> ProjectConfig:
    path = root / PROJECT_FILE
    if not path.exists():
        return ProjectConfig()
    try:
        located = load_yaml(path)
    except SpecError as exc:
        errors.extend(exc.problems)
        return ProjectConfig()
    if located.data is None:
        return ProjectConfig()
    if not isinstance(located.data, dict):
        errors.add(path, 1, 1, "clg_project.yml must be a mapping (name, profile, vars, paths)")
        return ProjectConfig()
    try:
        return ProjectConfig.model_validate(located.data)
    except ValidationError as exc:
        errors.extend(pydantic_problems(exc, located, ProjectConfig))
        return ProjectConfig()


def _config_problem(root: Path, loc: tuple, message: str, hint: str | None) -> Problem:
    """A problem located at ``loc`` (a key path) of clg_project.yml."""
    path = root / PROJECT_FILE
    try:
        return load_yaml(path).problem(loc, message, hint, prefer_key=True)
    except SpecError:  # pragma: no cover - the file loaded a moment ago
        return Problem(path, None, None, message, hint)


def _check_check_config(project: Project, errors: ErrorCollector) -> None:
    """``checks:`` in clg_project.yml names checks that exist (and are not output invariants)."""
    if not project.config.checks:
        return
    from .checks.derive import configurable_check_names

    names, invariants = configurable_check_names(project)
    for name in project.config.checks:
        if name in names:
            continue
        if name in invariants:
            message = f"`{name}` is an invariant of the outputs, which always runs with severity error"
            hint = "remove it from `checks:`; only checks on seeds, sql/ models and sources can be configured"
        else:
            message = f"`checks:` names no check `{name}`"
            hint = did_you_mean(name, names) or (
                "the names are those of the build's check table (dq_results.check_name), e.g. "
                + ", ".join(f"`{n}`" for n in names[:3]) if names else "this project has no checks")
        errors.extend([_config_problem(project.root, ("checks", name), message, hint)])


def _check_relation_names(project: Project, errors: ErrorCollector) -> None:
    sql_dir = project.paths["sql"]
    relations = set(project.seeds) | ({p.stem.lower() for p in sql_dir.glob("*.sql")} if sql_dir.is_dir() else set())
    for name in project.config.models:
        if "." in name or name.lower() in relations:  # schema.table: a warehouse table, known only to the warehouse
            continue
        hint = did_you_mean(name.lower(), relations) or (
            one_of(relations) if relations else f"add seeds/{name}.csv or sql/{name}.sql")
        errors.extend([_config_problem(project.root, ("models", name), f"`models: {name}` names no seed or sql/ "
                                       "model, so its settings and checks would apply to nothing", hint)])
    for name, source in project.sql_models.items():
        if any(read.split(".")[-1] == name for read in source.reads):
            errors.add(source.path, None, None, f"model `{name}` reads a table named `{name}`: publishing the model "
                       "would replace the table it reads", "give the model another name, e.g. stg_" + name)
        known = set(project.seeds) | set(project.sql_models) | set(OUTPUT_NAMES) | {DQ_TABLE, "clg_state"}
        for read in source.reads:
            if "." not in read and read not in known:  # schema.table is the warehouse's: checked at build start
                hint = did_you_mean(read, sorted(known)) or "name a seed, a sql/ model, an output table, or a " \
                    "warehouse table as schema.table"
                errors.add(source.path, _line_of(source, read), None, f"model `{name}` reads `{read}`, which no seed, "
                           "sql/ model or output produces", hint)
        if name in project.seeds:
            errors.add(source.path, None, None, f"model `{name}` has the same name as seeds/{name}.csv",
                       "rename one of them")
        reserved = reserved_name_problem(name)
        if reserved:
            errors.add(source.path, 1, None, f"{reserved}: a sql/ model cannot have this name",
                       f"rename sql/{source.path.name}, e.g. to stg_{name.strip('_')}.sql")
    for name, path in project.seeds.items():
        reserved = reserved_name_problem(name)
        if reserved:
            errors.add(path, 1, None, f"{reserved}: a seed cannot have this name",
                       f"rename seeds/{path.name}, e.g. to raw_{name.strip('_')}.csv")


def _line_of(source: SqlSource, read: str) -> int | None:
    """The line of the first reference to table ``read`` in a sql/ model (sqlglot records it)."""
    for table in source.query.find_all(exp.Table):
        if table.name.lower() == read and table.this is not None and table.this._meta:
            return table.this._meta.get("line")
    return None


def _load_journey(path: Path, errors: ErrorCollector) -> LoadedJourney | None:
    try:
        located = load_yaml(path)
    except SpecError as exc:
        errors.extend(exc.problems)
        return None
    if not isinstance(located.data, dict):
        errors.add(path, 1, 1, "a journey file is a mapping with `journey`, `events` and `phases`")
        return None
    try:
        journey = Journey.model_validate(located.data)
    except ValidationError as exc:
        errors.extend(pydantic_problems(exc, located, Journey))
        return None
    return LoadedJourney(journey, located)


def pydantic_problems(exc: ValidationError, located: LocatedYaml, model: type) -> list[Problem]:
    """pydantic's errors as located problems with a hint on what to change."""
    problems = []
    for err in exc.errors():
        loc = _strip_union_tags(tuple(err["loc"]))
        kind = err["type"]
        hint = None
        if kind == "extra_forbidden":
            message = f"unknown key `{loc[-1]}`"
            keys = keys_at(model, loc[:-1], located.data)
            hint = did_you_mean(str(loc[-1]), keys) or (one_of(keys) if keys else "remove it")
            problems.append(located.problem(loc, message, hint, prefer_key=True))
            continue
        if kind == "missing":
            message = f"missing required key `{loc[-1]}`"
            loc = loc[:-1]
        elif kind == "string_pattern_mismatch" and "a-z" in str(err.get("ctx", {}).get("pattern", "")):
            message = f"`{err.get('input')}` is not an identifier"
            hint = "use lowercase letters, digits and _, starting with a letter"
        elif kind == "string_pattern_mismatch":
            message = f"`{err.get('input')}` is not a valid name here"
        elif kind == "condition_kind":
            message = err["msg"]
            node = _data_at(located.data, loc)
            if isinstance(node, dict):
                keys = kind_keys(ALL_KINDS)
                unknown = [k for k in node if k not in kind_fields(ALL_KINDS)]
                hint = next((did_you_mean(str(k), keys) for k in unknown if did_you_mean(str(k), keys)), None)
        elif kind == "value_error":
            message = str(err["msg"]).removeprefix("Value error, ")
        else:
            message = err["msg"]
        field_name = next((p for p in reversed(loc) if isinstance(p, str)), None)
        if field_name and kind not in ("missing", "condition_kind") and not message.startswith("`"):
            message = f"`{field_name}`: {message}"
        problems.append(located.problem(loc, message, hint))
    return _dedupe(problems)


def _data_at(data: Any, loc: tuple) -> Any:
    for part in loc:
        try:
            data = data[part]
        except (KeyError, IndexError, TypeError):
            return None
    return data


def _strip_union_tags(loc: tuple) -> tuple:
    """pydantic puts a discriminated union's tag into error locations; it is no key of the file.

    A tag (a condition kind's key) follows a field that holds a condition, or an index into a
    list of them.
    """
    tags = set(kind_keys(ALL_KINDS))
    out: list = []
    stripped = False  # a tag is followed by the kind's own field, which may have the same name
    for i, part in enumerate(loc):
        after_field = i > 0 and loc[i - 1] in CONDITION_FIELDS
        after_index = i > 1 and isinstance(loc[i - 1], int) and loc[i - 2] in CONDITION_FIELDS
        if part in tags and (after_field or after_index) and not stripped:
            stripped = True
            continue
        stripped = False
        out.append(part)
    return tuple(out)


def _dedupe(problems: list[Problem]) -> list[Problem]:
    return list(dict.fromkeys(problems))
