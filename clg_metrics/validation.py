"""Journey validation as rules: each rule checks one thing a single YAML document cannot, and all
are listed once in ``JOURNEY_RULES`` (dbt-semantic-interfaces' ``DEFAULT_RULES``).

A rule takes the loaded journey and the project and yields located problems; a rule that
crashes becomes a reported problem too, never a traceback. A new rule is one function and one
entry in the tuple.
"""

from __future__ import annotations

import graphlib
from typing import TYPE_CHECKING, Callable, Iterator

from .conditions import walk
from .errors import ErrorCollector, Problem, did_you_mean, one_of

if TYPE_CHECKING:
    from .loader import LoadedJourney, Project

Rule = Callable[["LoadedJourney", "Project"], Iterator[Problem]]


def _milestone_loc(p_i: int, m_i: int) -> tuple:
    return ("phases", p_i, "milestones", m_i)


def _positions(journey) -> Iterator[tuple[int, int, object]]:
    for p_i, phase in enumerate(journey.phases):
        for m_i, milestone in enumerate(phase.milestones):
            yield p_i, m_i, milestone


def sources_exist(loaded: LoadedJourney, project: Project) -> Iterator[Problem]:
    """``events.from`` / ``customers.from`` / ``survey.from`` name a seed, a sql/ model or a warehouse
    schema.table."""
    for key in ("events", "customers", "survey"):
        source = getattr(loaded.journey, key)
        if source is None:
            continue
        name = source.from_.lower()
        if "." not in name and name not in project.seeds and name not in project.sql_models:
            known = list(project.seeds) + list(project.sql_models)
            hint = did_you_mean(name, known) or (
                f"{one_of(known)}; " if known else "") + "name a warehouse table as schema.table"
            yield loaded.source.problem((key, "from"), f"unknown {key} source `{source.from_}`: not a seed or a "
                                        "sql/ model", hint)


def unique_phase_names(loaded: LoadedJourney, project: Project) -> Iterator[Problem]:
    phases = loaded.journey.phases
    for p_i, phase in enumerate(phases):
        if phase.phase in [p.phase for p in phases[:p_i]]:
            yield loaded.source.problem(("phases", p_i, "phase"), f"duplicate phase `{phase.phase}`",
                                        "phase names are unique within a journey")


def unique_milestone_names(loaded: LoadedJourney, project: Project) -> Iterator[Problem]:
    seen: set[str] = set()
    for p_i, m_i, milestone in _positions(loaded.journey):
        if milestone.milestone in seen:
            yield loaded.source.problem(_milestone_loc(p_i, m_i) + ("milestone",),
                                        f"duplicate milestone `{milestone.milestone}`",
                                        "milestone names are unique within a journey")
        seen.add(milestone.milestone)


def _index(journey) -> dict[str, int]:
    return {m.milestone: i for i, (_, m) in enumerate(journey.milestones)}


def milestone_references(loaded: LoadedJourney, project: Project) -> Iterator[Problem]:
    """``{milestone: M}`` names a milestone of the journey, earlier under ``sequential``, and not
    inside a ``per`` condition (which counts one period's events only)."""
    journey = loaded.journey
    index = _index(journey)
    for position, (p_i, m_i, milestone) in enumerate(_positions(journey)):
        per = milestone.effective_per
        base = _milestone_loc(p_i, m_i) + ("reached_when",)
        for node, _, loc in walk(milestone.reached_when, loc=base):
            for ref in node.milestone_refs:
                if per is not None:
                    yield loaded.source.problem(loc, f"`{{milestone: {ref}}}` inside a `per: {per}` condition",
                                                "a per-period condition counts events only; move the reference "
                                                "out of the `per` block into an `all` on another milestone")
                elif ref not in index:
                    yield loaded.source.problem(loc + ("milestone",), f"unknown milestone `{ref}`",
                                                did_you_mean(ref, index) or one_of(index))
                elif journey.order == "sequential" and index[ref] >= position:
                    yield loaded.source.problem(loc + ("milestone",), f"`{milestone.milestone}` refers to `{ref}`, "
                                                "which is not an earlier milestone", "under `order: sequential` a "
                                                "milestone may refer only to earlier ones; or use `order: independent`")


def within_anchors(loaded: LoadedJourney, project: Project) -> Iterator[Problem]:
    """``within: {of: ...}`` names signup (with a customers source), previous (not on the first
    milestone) or another milestone."""
    journey = loaded.journey
    index = _index(journey)
    for position, (p_i, m_i, milestone) in enumerate(_positions(journey)):
        within = milestone.effective_within
        if within is None:
            continue
        base = _milestone_loc(p_i, m_i)
        loc = base + ("within", "of") if milestone.within else base + ("reached_when", "within", "of")
        anchor = within.of
        if anchor == "signup" and journey.customers is None:
            yield loaded.source.problem(loc, "`within: {of: signup}` needs a `customers:` source with signed_up_at",
                                        "add `customers: {from: ...}` to the journey")
        elif anchor == "previous" and position == 0:
            yield loaded.source.problem(loc, "`within: {of: previous}` on the first milestone",
                                        "the first milestone has no previous one: anchor on `signup` or another "
                                        "milestone")
        elif anchor in ("signup", "previous"):
            continue
        elif anchor not in index:
            yield loaded.source.problem(loc, f"unknown `within` anchor `{anchor}`",
                                        did_you_mean(anchor, [*index, "signup", "previous"])
                                        or "use signup, previous or a milestone of this journey")
        elif anchor == milestone.milestone:
            yield loaded.source.problem(loc, f"`{anchor}` is anchored on itself", "anchor on another milestone")


def no_cycles(loaded: LoadedJourney, project: Project) -> Iterator[Problem]:
    """Milestones may not depend on each other in a cycle (references, anchors, sequential order)."""
    try:
        graphlib.TopologicalSorter(loaded.journey.dependencies()).prepare()
    except graphlib.CycleError as exc:
        cycle = list(reversed(exc.args[1]))
        p_i, m_i = next((p, m) for p, m, ms in _positions(loaded.journey) if ms.milestone == cycle[0])
        yield loaded.source.problem(_milestone_loc(p_i, m_i) + ("milestone",),
                                    "milestones refer to each other in a cycle: " + " -> ".join(cycle),
                                    "break the cycle: a milestone cannot depend on itself")


def relation_columns(project: Project, name: str, seen: frozenset = frozenset()) -> list[str] | None:
    """The columns of a seed (its header) or a sql/ model (its SELECT list, as sqlglot reads it),
    known without a database; None for a warehouse table or when ``*`` cannot be expanded."""
    from .models import csv_header
    from .sql_models import output_columns

    name = name.lower()
    if name in project.seeds:
        try:
            return csv_header(project.seeds[name])
        except (OSError, UnicodeDecodeError):
            return None  # reported when the seed is loaded
    source = project.sql_models.get(name)
    if source is None or name in seen:
        return None
    schemas = {read: relation_columns(project, read, seen | {name}) for read in source.reads}
    return output_columns(source.query, schemas)


def source_columns_exist(loaded: LoadedJourney, project: Project) -> Iterator[Problem]:
    """The ``columns:`` mapping of each source names columns the seed's header or the sql/ model's
    SELECT list has (customers: customer_id and signed_up_at, which every journey with customers
    reads); warehouse tables are checked when the build starts."""
    for key, needed in (("events", ("customer_id", "event_name", "occurred_at")),
                        ("customers", ("customer_id", "signed_up_at"))):
        source = getattr(loaded.journey, key)
        if source is None:
            continue
        columns = relation_columns(project, source.from_)
        if columns is None:
            continue
        lowered = {c.lower() for c in columns}
        for canonical in needed:
            column = getattr(source.columns, canonical)
            if column.lower() in lowered:
                continue
            loc = (key, "columns", canonical) if (key, "columns", canonical) in loaded.source.values else (key, "from")
            hint = did_you_mean(column, columns)
            hint = (f"{hint} " if hint else "") + f"map it: `columns: {{{canonical}: <column>}}`; its columns: " \
                + ", ".join(columns[:12])
            yield loaded.source.problem(loc, f"{key} source `{source.from_}` has no column `{column}` "
                                        f"(for `{canonical}`)", hint)


def value_milestone_known(loaded: LoadedJourney, project: Project) -> Iterator[Problem]:
    """``analysis.value_milestone`` names a milestone of the journey (SPEC §5's "value")."""
    name = loaded.journey.analysis.value_milestone
    index = _index(loaded.journey)
    if name is not None and name not in index:
        yield loaded.source.problem(("analysis", "value_milestone"), f"unknown value milestone `{name}`",
                                    (did_you_mean(name, index) or one_of(index)) if index
                                    else "the journey has no milestones: remove `value_milestone`")


def survey_columns_exist(loaded: LoadedJourney, project: Project) -> Iterator[Problem]:
    """The ``survey: {columns}`` mapping names columns of the seed or sql/ model (warehouse tables
    are checked when the build starts, ``models.check_survey``)."""
    survey = loaded.journey.survey
    columns = relation_columns(project, survey.from_) if survey is not None else None
    if columns is None:
        return
    lowered = {c.lower() for c in columns}
    for key in ("customer_id", "struggle", "motivation", "outcome"):
        column = getattr(survey.columns, key)
        if column.lower() not in lowered:
            hint = did_you_mean(column, columns)
            hint = (f"{hint} " if hint else "") + f"map it: `columns: {{{key}: <column>}}`; its columns: " \
                + ", ".join(columns[:12])
            yield loaded.source.problem(("survey", "columns", key), f"survey source `{survey.from_}` has no column "
                                        f"`{column}` (for `{key}`)", hint)


def _segment_nodes(journey) -> Iterator[tuple[int, object, tuple]]:
    """(segment index, node, location) for every node of every segment's ``when``."""
    for s_i, segment in enumerate(journey.segments):
        for node, _, loc in walk(segment.when, loc=("segments", s_i, "when")):
            yield s_i, node, loc


def segment_names(loaded: LoadedJourney, project: Project) -> Iterator[Problem]:
    """Segment names are unique, and `all` is the reserved name of every customer (SPEC §4)."""
    seen: set[str] = set()
    for s_i, segment in enumerate(loaded.journey.segments):
        loc = ("segments", s_i, "segment")
        if segment.segment == "all":
            yield loaded.source.problem(loc, "a segment may not be named `all`", "`all` is reserved for every "
                                        "customer of the journey (it is in segment_funnel already): rename it")
        elif segment.segment in seen:
            yield loaded.source.problem(loc, f"duplicate segment `{segment.segment}`",
                                        "segment names are unique within a journey: rename one")
        seen.add(segment.segment)


def segment_milestones_known(loaded: LoadedJourney, project: Project) -> Iterator[Problem]:
    """``{milestone: M}`` in a segment names a milestone of the journey."""
    index = _index(loaded.journey)
    for _, node, loc in _segment_nodes(loaded.journey):
        for ref in node.milestone_refs:
            if ref not in index:
                yield loaded.source.problem(loc + ("milestone",), f"segment refers to unknown milestone `{ref}`",
                                            (did_you_mean(ref, index) or one_of(index)) if index
                                            else "the journey has no milestones")


def segment_customer_source(loaded: LoadedJourney, project: Project) -> Iterator[Problem]:
    """``customer:`` and ``signed_up:`` read the customers source: the journey must have one, and a
    ``customer:`` key must be one of its columns (before any mapping), else a JSON ``properties`` key."""
    journey = loaded.journey
    columns = relation_columns(project, journey.customers.from_) if journey.customers is not None else None
    lowered = {c.lower() for c in columns or ()}
    for _, node, loc in _segment_nodes(journey):
        key = getattr(node, "KEY", None)
        if key not in ("customer", "signed_up"):
            continue
        if journey.customers is None:
            yield loaded.source.problem(loc + (key,), f"`{key}:` in a segment needs a `customers:` source",
                                        "add `customers: {from: ...}` to the journey (signup times and customer "
                                        "columns come from it)")
        elif key == "customer" and columns is not None and isinstance(node.customer, dict) \
                and "properties" not in lowered:
            for name in node.customer:
                if name.lower() not in lowered:
                    hint = did_you_mean(name, columns)
                    yield loaded.source.problem(loc + (key, name), f"customers source `{journey.customers.from_}` "
                                                f"has no column `{name}`", (f"{hint} " if hint else "")
                                                + "its columns: " + ", ".join(columns[:12]))


def benchmark_known(loaded: LoadedJourney, project: Project) -> Iterator[Problem]:
    """``analysis.benchmark`` names a declared segment (or `all`, every customer)."""
    name = loaded.journey.analysis.benchmark
    names = [s.segment for s in loaded.journey.segments]
    if name is not None and name != "all" and name not in names:
        yield loaded.source.problem(("analysis", "benchmark"), f"unknown benchmark segment `{name}`",
                                    (did_you_mean(name, names) or one_of(names)) if names
                                    else "the journey declares no segments: add one or remove `benchmark`")


# Each rule with the rules that must have found nothing before it runs: references between
# duplicate names would be ambiguous, and a wrong reference would show again as a cycle.
JOURNEY_RULES: tuple[tuple[Rule, tuple[Rule, ...]], ...] = (
    (sources_exist, ()),
    (unique_phase_names, ()),
    (unique_milestone_names, ()),
    (milestone_references, (unique_milestone_names,)),
    (within_anchors, (unique_milestone_names,)),
    (no_cycles, (unique_milestone_names, milestone_references)),
    (source_columns_exist, (sources_exist,)),
    (value_milestone_known, ()),
    (survey_columns_exist, (sources_exist,)),
    (segment_names, ()),
    (segment_milestones_known, (unique_milestone_names,)),
    (segment_customer_source, (sources_exist,)),
    (benchmark_known, (segment_names,)),
)


def check_journey(loaded: LoadedJourney, project: Project, errors: ErrorCollector) -> None:
    """Run the rules of ``JOURNEY_RULES`` on one journey, collecting their problems."""
    found: dict[Rule, int] = {}
    for rule, requires in JOURNEY_RULES:
        if any(found.get(r, 1) for r in requires):
            continue
        try:
            problems = list(rule(loaded, project))
        except Exception as exc:  # a crashing rule is a reported problem, not a traceback
            problems = [Problem(loaded.source.path, None, None, f"validation rule `{rule.__name__}` failed: {exc}",
                                "this is a bug in clg-metrics; please report it with the journey file")]
        found[rule] = len(problems)
        errors.extend(problems)
