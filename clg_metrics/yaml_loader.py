"""Read YAML and remember where every value came from.

pydantic reports errors by path (``("phases", 1, "milestones", 0, "within")``); to point the
user at a line we need the line of each path. PyYAML's composer keeps marks on its nodes, so we
compose the node tree ourselves and build plain Python data from it, keeping a side map from
path to position (dbt-semantic-interfaces does the same). The data itself stays plain dicts and
lists, so the models never see bookkeeping keys.

The loader is also the first line of defence against hostile files: it refuses non-UTF-8 bytes,
duplicate keys (YAML silently keeps the last one), documents nested absurdly deep, files that
are too large and alias bombs that expand into millions of nodes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .errors import Problem, SpecError

Path_ = tuple[Any, ...]

# libyaml's parser is ~10x faster and keeps the same marks; the pure-Python one is the fallback.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
MAX_BYTES = 5_000_000
MAX_DEPTH = 64
MAX_FLOW_OPENERS = 5_000  # `[` and `{` in one file: far above any journey, far below a crash
MAX_NODES = 200_000


@dataclass
class LocatedYaml:
    """Plain data read from a YAML file, with the (line, column) of every path in it (1-based)."""

    path: Path
    data: Any
    values: dict[Path_, tuple[int, int]] = field(default_factory=dict)
    keys: dict[Path_, tuple[int, int]] = field(default_factory=dict)

    def locate(self, loc: Path_, prefer_key: bool = False) -> tuple[int | None, int | None]:
        """The position of ``loc``, or of its closest located ancestor."""
        loc = tuple(loc)
        while True:
            if prefer_key and loc in self.keys:
                return self.keys[loc]
            if loc in self.values:
                return self.values[loc]
            if loc in self.keys:
                return self.keys[loc]
            if not loc:
                return (None, None)
            loc = loc[:-1]

    def problem(self, loc: Path_, message: str, hint: str | None = None, prefer_key=False) -> Problem:
        line, col = self.locate(loc, prefer_key=prefer_key)
        return Problem(self.path, line, col, message, hint)


class _Builder:
    def __init__(self, located: LocatedYaml):
        self.located = located
        self.constructor = yaml.SafeLoader("")  # only its scalar constructors are used
        self.count = 0

    def build(self, node: yaml.Node, path: Path_, depth: int) -> Any:
        self.count += 1
        if self.count > MAX_NODES:
            raise _Refused(node, f"the document expands to more than {MAX_NODES} values (an alias bomb?)")
        if depth > MAX_DEPTH:
            raise _Refused(node, f"the document is nested deeper than {MAX_DEPTH} levels")
        self.located.values[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
        if isinstance(node, yaml.MappingNode):
            self.constructor.flatten_mapping(node)  # resolves `<<: *anchor` merges
            out: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                key = self.build(key_node, path + ("<key>",), depth + 1)
                if isinstance(key, (dict, list)):
                    raise _Refused(key_node, "a mapping key must be a plain value")
                if key in out:
                    raise _Refused(key_node, f"duplicate key `{key}`", "each key may appear once per mapping")
                self.located.keys[path + (key,)] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
                out[key] = self.build(value_node, path + (key,), depth + 1)
            self.located.values.pop(path + ("<key>",), None)
            return out
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, path + (i,), depth + 1) for i, item in enumerate(node.value)]
        try:
            return self.constructor.construct_object(node, deep=True)
        except Exception as exc:  # PyYAML's constructors raise many kinds for bad tagged values
            raise _Refused(node, f"invalid value {node.value!r}: {exc}".splitlines()[0][:200],
                           "remove the explicit tag or fix the value") from None


class _Refused(Exception):
    def __init__(self, node: yaml.Node, message: str, hint: str | None = None):
        self.node, self.message, self.hint = node, message, hint


def load_yaml(path: Path, text: str | None = None) -> LocatedYaml:
    """Read one YAML document from ``path``; raise ``SpecError`` located at the offending line."""
    path = Path(path)
    if text is None:
        text = read_text(path)
    located = LocatedYaml(path=path, data=None)
    too_deep = _nesting_beyond_limit(text)
    if too_deep is not None:
        raise SpecError([Problem(path, too_deep, None, f"the document is nested deeper than {MAX_DEPTH} levels "
                                 f"(or has more than {MAX_FLOW_OPENERS} `[`/`{{`)", "flatten it")])
    try:
        node = yaml.compose(text, Loader=_LOADER)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (None, None)
        message = f"invalid YAML: {exc.problem or exc.context}"
        raise SpecError([Problem(path, line, col, message, "fix the YAML syntax here")]) from None
    except yaml.YAMLError as exc:  # e.g. more than one document
        raise SpecError([Problem(path, None, None, f"invalid YAML: {exc}")]) from None
    if node is None:
        return located  # an empty file: data None, the caller says what it expected
    try:
        located.data = _Builder(located).build(node, (), 0)
    except _Refused as refused:
        mark = refused.node.start_mark
        raise SpecError([Problem(path, mark.line + 1, mark.column + 1, refused.message, refused.hint)]) from None
    except (yaml.YAMLError, ValueError, TypeError) as exc:  # a scalar that cannot be constructed
        raise SpecError([Problem(path, None, None, f"invalid YAML value: {exc}")]) from None
    except RecursionError:
        raise SpecError([Problem(path, None, None, "the document is nested too deeply")]) from None
    return located


def _nesting_beyond_limit(text: str) -> int | None:
    """The line where nesting may exceed what a parser survives, found without parsing.

    YAML parsers recurse once per level (libyaml in C: 100,000 nested `[` crash the process), so
    nesting is bounded before parsing. Quotes and comments are deliberately not interpreted (a
    scanner that tracks them can be fooled by an apostrophe in a plain scalar): brackets are
    counted everywhere, depth over MAX_DEPTH is refused, and so is a document with more than
    MAX_FLOW_OPENERS `[`/`{` in all, which bounds the depth any trick could hide. Block nesting is
    bounded by indentation and `- ` items on a line.
    """
    depth = 0
    openers = 0
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.lstrip(" ")
        block = (len(line) - len(stripped)) // 2
        while stripped.startswith(("- ", "? ")):
            block += 1
            stripped = stripped[2:].lstrip(" ")
        if block > MAX_DEPTH * 2:
            return number
        for char in line:
            if char in "[{":
                depth += 1
                openers += 1
                if depth > MAX_DEPTH or openers > MAX_FLOW_OPENERS:
                    return number
            elif char in "]}":
                depth = max(0, depth - 1)
    return None


def read_text(path: Path) -> str:
    """A user's text file as str, refusing what we cannot read with a located message."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise SpecError([Problem(path, None, None, f"cannot read the file: {exc.strerror}")]) from None
    if len(raw) > MAX_BYTES:
        raise SpecError([Problem(path, None, None, f"the file is larger than {MAX_BYTES} bytes")]) from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        col = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise SpecError([Problem(path, line, col, "the file is not valid UTF-8", "save it as UTF-8")]) from None
