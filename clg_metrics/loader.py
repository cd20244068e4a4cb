"""Find a project's files, validate them, and check what one file alone cannot.

Every problem in every file is collected and raised as one ``SpecError``, each with its file,
line, column and what to change, so that ``clg-metrics validate`` lists them all at once.
"""

from __future__ import annotations

import graphlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from .errors import ErrorCollector, Problem, SpecError, did_you_mean, one_of
from .project import PROJECT_FILE, ProjectConfig, project_paths
from .reserved import OUTPUT_TABLES, reserved_name_problem  # noqa: F401  (OUTPUT_TABLES: kept importable here)
from .spec import CONDITION_KEYS, AllCondition, AnyCondition, Journey, MilestoneCondition, keys_at

MODIFIER_KEYS = ("per", "streak", "within", "at_least", "where", "distinct")
from .sql_models import SqlSource, parse_sql_model
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
                unknown = [k for k in node if k not in CONDITION_KEYS + MODIFIER_KEYS]
                hint = next((did_you_mean(str(k), CONDITION_KEYS) for k in unknown
                             if did_you_mean(str(k), CONDITION_KEYS)), None)
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

    A tag follows `reached_when` or an index into an `all`/`any` list.
    """
    out: list = []
    for i, part in enumerate(loc):
        after_field = i > 0 and loc[i - 1] == "reached_when"
        after_index = i > 1 and isinstance(loc[i - 1], int) and loc[i - 2] in ("all", "any")
        if part in ("event", "all", "any", "milestone") and (after_field or after_index):
            continue
        out.append(part)
    return tuple(out)


def _dedupe(problems: list[Problem]) -> list[Problem]:
    return list(dict.fromkeys(problems))


def _walk_conditions(condition, loc):
    """Yield (condition, loc) for a condition tree, parents first."""
    yield condition, loc
    if isinstance(condition, AllCondition):
        for i, child in enumerate(condition.all):
            yield from _walk_conditions(child, loc + ("all", i))
    elif isinstance(condition, AnyCondition):
        for i, child in enumerate(condition.any):
            yield from _walk_conditions(child, loc + ("any", i))


def milestone_refs(milestone) -> list[str]:
    """The milestones a milestone's condition refers to."""
    return [c.milestone for c, _ in _walk_conditions(milestone.reached_when, ())
            if isinstance(c, MilestoneCondition)]


def check_journey(loaded: LoadedJourney, project: Project, errors: ErrorCollector) -> None:
    """Cross-reference checks: names, references, cycles, sources, anchors."""
    journey, src = loaded.journey, loaded.source
    for key in ("events", "customers"):
        source = getattr(journey, key)
        if source is None:
            continue
        name = source.from_.lower()
        if "." not in name and name not in project.seeds and name not in project.sql_models:
            known = list(project.seeds) + list(project.sql_models)
            hint = did_you_mean(name, known) or (
                f"{one_of(known)}; " if known else "") + "name a warehouse table as schema.table"
            errors.extend([src.problem((key, "from"), f"unknown {key} source `{source.from_}`: not a seed or a "
                                       "sql/ model", hint)])

    index: dict[str, int] = {}
    for p_i, phase in enumerate(journey.phases):
        if phase.phase in [p.phase for p in journey.phases[:p_i]]:
            errors.extend([src.problem(("phases", p_i, "phase"), f"duplicate phase `{phase.phase}`",
                                       "phase names are unique within a journey")])
        for m_i, milestone in enumerate(phase.milestones):
            if milestone.milestone in index:
                errors.extend([src.problem(("phases", p_i, "milestones", m_i, "milestone"),
                                           f"duplicate milestone `{milestone.milestone}`",
                                           "milestone names are unique within a journey")])
            else:
                index[milestone.milestone] = len(index)

    order = [m for _, m in journey.milestones]
    if len(index) != len(order):
        return  # duplicate names are reported above; references between them would be ambiguous
    deps: dict[str, set[str]] = {}
    for position, (p_i, m_i, milestone) in enumerate(_positions(journey)):
        base = ("phases", p_i, "milestones", m_i)
        name = milestone.milestone
        deps.setdefault(name, set())
        per = milestone.effective_per
        for condition, loc in _walk_conditions(milestone.reached_when, base + ("reached_when",)):
            if not isinstance(condition, MilestoneCondition):
                continue
            ref = condition.milestone
            if per is not None:
                errors.extend([src.problem(loc, f"`{{milestone: {ref}}}` inside a `per: {per}` condition",
                                           "a per-period condition counts events only; move the reference "
                                           "out of the `per` block into an `all` on another milestone")])
            elif ref not in index:
                errors.extend([src.problem(loc + ("milestone",), f"unknown milestone `{ref}`",
                                           did_you_mean(ref, index) or one_of(index))])
            elif journey.order == "sequential" and index[ref] >= position:
                errors.extend([src.problem(loc + ("milestone",), f"`{name}` refers to `{ref}`, which is not "
                                           "an earlier milestone", "under `order: sequential` a milestone may "
                                           "refer only to earlier ones; or use `order: independent`")])
            else:
                deps[name].add(ref)
        within = milestone.effective_within
        if within is not None:
            wloc = base + ("within", "of") if milestone.within else base + ("reached_when", "within", "of")
            anchor = within.of
            if anchor == "signup":
                if journey.customers is None:
                    errors.extend([src.problem(wloc, "`within: {of: signup}` needs a `customers:` source with "
                                               "signed_up_at", "add `customers: {from: ...}` to the journey")])
            elif anchor == "previous":
                if position == 0:
                    errors.extend([src.problem(wloc, "`within: {of: previous}` on the first milestone",
                                               "the first milestone has no previous one: anchor on `signup` "
                                               "or another milestone")])
                else:
                    deps[name].add(order[position - 1].milestone)
            elif anchor not in index:
                errors.extend([src.problem(wloc, f"unknown `within` anchor `{anchor}`",
                                           did_you_mean(anchor, [*index, "signup", "previous"])
                                           or "use signup, previous or a milestone of this journey")])
            elif anchor == name:
                errors.extend([src.problem(wloc, f"`{name}` is anchored on itself", "anchor on another milestone")])
            else:
                deps[name].add(anchor)
        if journey.order == "sequential" and position > 0:
            deps[name].add(order[position - 1].milestone)
    cycle = _find_cycle(deps)
    if cycle:
        first = cycle[0]
        p_i, m_i = next((p, m) for p, m, ms in _positions(journey) if ms.milestone == first)
        errors.extend([src.problem(("phases", p_i, "milestones", m_i, "milestone"),
                                   "milestones refer to each other in a cycle: " + " -> ".join(cycle),
                                   "break the cycle: a milestone cannot depend on itself")])


def _positions(journey: Journey):
    for p_i, phase in enumerate(journey.phases):
        for m_i, milestone in enumerate(phase.milestones):
            yield p_i, m_i, milestone


def _find_cycle(deps: dict[str, set[str]]) -> list[str] | None:
    try:
        graphlib.TopologicalSorter(deps).prepare()
    except graphlib.CycleError as exc:
        cycle = list(exc.args[1])
        return list(reversed(cycle))
    return None


def evaluation_order(journey: Journey) -> list[str]:
    """Milestones in an order where every reference and anchor comes first (journey order if possible)."""
    names = [m.milestone for _, m in journey.milestones]
    position = {n: i for i, n in enumerate(names)}
    deps: dict[str, set[str]] = {}
    for i, (_, m) in enumerate(journey.milestones):
        d = set(milestone_refs(m))
        if journey.order == "sequential" and i > 0:
            d.add(names[i - 1])  # each milestone starts from the previous one's reached_at
        within = m.effective_within
        if within is not None and within.of == "previous" and i > 0:
            d.add(names[i - 1])
        elif within is not None and within.of not in ("signup", "previous"):
            d.add(within.of)
        deps[m.milestone] = d
    sorter = graphlib.TopologicalSorter(deps)
    sorter.prepare()
    out: list[str] = []
    while sorter.is_active():
        ready = sorted(sorter.get_ready(), key=position.get)
        out.extend(ready)
        sorter.done(*ready)
    return out
