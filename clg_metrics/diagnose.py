"""The engine's errors during a build, told in the user's terms: which model, which file, what the
engine said in one line, and what to change.

The commonest is a timestamp column that does not parse (``01/01/2025 00:22`` held as text, or
``columns:`` mapping ``occurred_at`` to the wrong column): the engine names a value and at best
a column, so the journey whose source holds it is found here, and a ``timestamp_format`` that
reads the value is suggested.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import TYPE_CHECKING

from .errors import first_line

if TYPE_CHECKING:
    from .loader import Project
    from .models import Model

# What DuckDB, PostgreSQL and Spark say when text does not read as a timestamp: (value, column) groups.
_TIMESTAMP_ERRORS = (
    re.compile(r'(?:invalid timestamp field format|timestamp field value out of range|Could not parse string)'
               r'[^"]*"(?P<value>[^"]*)"(?:.*?source column (?P<column>[\w$]+))?', re.I),
    re.compile(r'invalid input syntax for type timestamp[^:]*: "(?P<value>[^"]*)"', re.I),
    re.compile(r"The value '(?P<value>[^']*)' of the type \"STRING\" cannot be cast to \"TIMESTAMP", re.I),
    re.compile(r'Conversion Error: Unimplemented type for cast \((?P<value>[A-Z]+) -> TIMESTAMP\)', re.I),
)
# Layouts worth suggesting when a sample does not read as ISO (strftime codes, as timestamp_format takes).
CANDIDATE_FORMATS = ("%m/%d/%Y %H:%M", "%m/%d/%Y %H:%M:%S", "%d/%m/%Y %H:%M", "%d/%m/%Y %H:%M:%S", "%m/%d/%Y",
                     "%d/%m/%Y", "%d.%m.%Y %H:%M", "%d.%m.%Y", "%Y/%m/%d %H:%M:%S", "%Y%m%d%H%M%S", "%Y%m%d",
                     "%d-%b-%Y %H:%M", "%d %b %Y %H:%M", "%b %d %Y %H:%M", "%Y-%m-%dT%H:%M:%S.%fZ")


def guess_format(sample: str) -> str | None:
    """The first candidate layout that reads ``sample``, or None."""
    for fmt in CANDIDATE_FORMATS:
        try:
            datetime.strptime(sample.strip(), fmt)
            return fmt
        except ValueError:
            continue
    return None


def timestamp_problem(message: str, project: Project, model: Model | None = None) -> str | None:
    """A timestamp parse failure as "which source, which column, which value, how to fix", or None
    when ``message`` is not one."""
    match = next((m for p in _TIMESTAMP_ERRORS if (m := p.search(message))), None)
    if match is None:
        return None
    value = match.group("value")
    named = match.groupdict().get("column")
    candidates = []  # (journey, kind, relation, column, key)
    for loaded in project.journeys:
        journey = loaded.journey
        if model is not None and model.kind == "journey" and model.journey != journey.journey:
            continue
        candidates.append((journey.journey, "events", journey.events.from_, journey.events.columns.occurred_at,
                           "occurred_at"))
        if journey.customers is not None:
            candidates.append((journey.journey, "customers", journey.customers.from_,
                               journey.customers.columns.signed_up_at, "signed_up_at"))
    if named:
        candidates = [c for c in candidates if c[3].lower() == named.lower()] or candidates
    if not candidates:
        return None
    journey, kind, relation, column, key = candidates[0]
    if value.isupper() and value.isalpha():  # DuckDB's "Unimplemented type for cast (BIGINT -> TIMESTAMP)"
        sample = f"it holds {value} values"
        fmt = None
    else:
        sample = f"sample value `{value[:60]}`"
        fmt = guess_format(value)
    fix = (f"add `timestamp_format: '{fmt}'` to the {kind} source's `columns:` (strftime codes)" if fmt else
           f"if it holds timestamps in another layout, add `timestamp_format: '%m/%d/%Y %H:%M'` (its strftime "
           f"codes) to the {kind} source's `columns:`")
    return (f"journey `{journey}`: column `{column}` of {kind} source `{relation}` (mapped to `{key}`) does not "
            f"parse as a timestamp: {sample} ({fix}; if `columns:` maps {key} to the wrong column, fix the "
            f"mapping; or cast it in a sql/ model)")


def describe(exc: BaseException, project: Project | None, model: Model | None = None) -> str:
    """An engine error as one line: the model and its file, the engine's message, a hint."""
    message = first_line(exc, 400)
    if project is not None:
        specific = timestamp_problem(str(exc), project, model)
        if specific:
            return specific
    where = ""
    if model is not None:
        where = f"model `{model.name}`" + (f" ({model.path})" if model.path else "") + ": "
    hint = _hint(message, model)
    return f"{where}{message}" + (f" ({hint})" if hint else "")


def _hint(message: str, model: Model | None) -> str | None:
    lowered = message.lower()
    if "cannot mix values of type" in lowered or "operator does not exist" in lowered \
            or "could not convert" in lowered or "data type mismatch" in lowered:
        return ("the ids or values compared have different types, e.g. text ids in the events and integer "
                "ids in the customers: cast one side in a sql/ model")
    if "binder error" in lowered or "does not exist" in lowered or "cannot be resolved" in lowered:
        if model is not None and model.kind == "sql":
            return "fix the column or table name in the model's SQL"
        return "check the `columns:` mapping of the journey's sources against the tables' columns"
    if model is not None and model.kind == "sql":
        return "fix the model's SQL; `clg-metrics compile` writes what runs to target/compiled/"
    return "rerun with --debug for the traceback"
