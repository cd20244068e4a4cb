"""Errors a user can act on, and the exit codes they map to.

Every error raised for a user's mistake is a ``ClgError``: the CLI prints its message (with the
file, line and column where it has them) and exits with ``exit_code``, never with a traceback.
Spec problems are gathered by ``ErrorCollector`` and raised together, so that ``validate`` reports
every problem of a project at once (sqlglot's ``ErrorLevel.RAISE`` works the same way).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

EXIT_OK = 0
EXIT_FAILED = 1  # a build or a check failed
EXIT_USAGE = 2  # bad usage or configuration


class ClgError(Exception):
    """Base of every error meant for the user rather than for a developer."""

    exit_code = EXIT_USAGE


@dataclass(frozen=True)
class Problem:
    """One located problem in a user's file: where it is, what is wrong, what to change."""

    path: Path | None
    line: int | None
    column: int | None
    message: str
    hint: str | None = None

    def __str__(self) -> str:
        where = ""
        if self.path is not None:
            where = str(self.path)
            if self.line is not None:
                where += f":{self.line}"
                if self.column is not None:
                    where += f":{self.column}"
            where += ": "
        text = f"{where}{self.message}"
        if self.hint:
            text += f" ({self.hint})"
        return text


class SpecError(ClgError):
    """One or more problems in the project's YAML or SQL files (exit 2)."""

    def __init__(self, problems: Iterable[Problem]):
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class ProfileError(ClgError):
    """profiles.yml cannot give a connection for the chosen profile and target (exit 2)."""


class CompileError(ClgError):
    """A valid spec that cannot be turned into SQL for the chosen dialect (exit 2)."""


class EngineError(ClgError):
    """The warehouse refused us before any model ran: locked file, bad credentials (exit 2)."""


class BuildError(ClgError):
    """A model failed while building; the last published outputs are untouched (exit 1)."""

    exit_code = EXIT_FAILED


class ChecksFailed(ClgError):
    """An error-severity data-quality check failed (exit 1)."""

    exit_code = EXIT_FAILED


class ErrorCollector:
    """Gathers problems across files and raises one ``SpecError`` holding all of them."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def add(self, path, line, column, message, hint=None) -> None:
        self.problems.append(Problem(path, line, column, message, hint))

    def extend(self, problems: Iterable[Problem]) -> None:
        self.problems.extend(problems)

    def raise_if_any(self) -> None:
        if self.problems:
            raise SpecError(sorted(self.problems, key=_problem_order))


def _problem_order(p: Problem):
    return (str(p.path or ""), p.line or 0, p.column or 0)


def did_you_mean(word: str, candidates: Iterable[str]) -> str | None:
    """The hint "did you mean `x`?" for the closest candidate, or None when nothing is close."""
    matches = difflib.get_close_matches(str(word), [str(c) for c in candidates], n=1, cutoff=0.6)
    return f"did you mean `{matches[0]}`?" if matches else None


def one_of(candidates: Iterable[str]) -> str:
    """A short "expected one of: a, b, c" hint."""
    items = sorted(str(c) for c in candidates)
    return "expected one of: " + ", ".join(f"`{c}`" for c in items)


def first_line(exc: BaseException, limit: int | None = None) -> str:
    """The first line of an exception's message (at most ``limit`` characters), else its type."""
    text = str(exc).strip()
    return text.splitlines()[0][:limit] if text else type(exc).__name__
