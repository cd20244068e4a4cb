"""DuckDB's serving file: what readers open, so that they never stand in a build's way.

A DuckDB file has one writer process or any number of reader processes, never both: a dashboard
with a read-only connection to the warehouse file would make the hourly build fail. So readers
do not open the warehouse (seeds, raw events, progress tables, clg_state). After each publish the
build writes the published outputs (the output registry's tables, dq_results, clg_builds) into a
new file beside the serving file and renames it over the serving file (``os.replace``: atomic on
POSIX). A reader that opens the serving file sees one whole build, old or new; a connection kept
open keeps reading the build it opened (its file handle holds the old inode) until it reconnects.
The build never opens the serving file itself, so no reader can lock it out. An incremental
build makes the new file from a copy of the previous one, with the publish's deltas applied
(``write_serving``), so that its time follows the change rather than the outputs' size.

Why a file and not Parquet files per build behind views, or DuckLake: see README ("Reading the
outputs") and bench/README.md ("Publishing to readers"); in short, one file is one snapshot of all
tables for any reader (a query over two Parquet files swapped one by one can mix builds), and
DuckLake is an extension DuckDB downloads at run time, which fails offline.

The build lock (``<warehouse>.build.lock``, an ``flock`` held while a build or test runs, released
by the kernel when the process dies, even by kill -9) tells a concurrent build apart from a
reader, so that the lock message names the right culprit.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sqlglot import exp

from ..builds import BUILDS_TABLE
from ..errors import EngineError
from .base import Served

SERVING_ALIAS = "__clg_serving"
_HOLDER = re.compile(r"Conflicting lock is held in (?P<exe>.*?) \(PID (?P<pid>\d+)\)")


def serving_path(warehouse: Path, configured: str | None, project_dir: Path) -> Path:
    """The serving file: the profile's ``serving_path`` (relative to the project), else
    ``<warehouse stem>_serving.duckdb`` beside the warehouse."""
    if configured:
        path = Path(configured)
        return path if path.is_absolute() else project_dir / path
    return warehouse.with_name(f"{warehouse.stem}_serving{warehouse.suffix or '.duckdb'}")


def _leftovers(serving: Path) -> list[Path]:
    return sorted(serving.parent.glob(f".{serving.name}.*"))


class BuildLock:
    """The flock that says a clg-metrics command is writing to a warehouse file."""

    def __init__(self, warehouse: Path):
        self.path = warehouse.with_name(warehouse.name + ".build.lock")
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = self._holder()
            os.close(self.fd)
            since = f", since {holder['started_at']} UTC" if holder.get("started_at") else ""
            raise EngineError(
                f"{warehouse} is in use by another clg-metrics build (PID {holder.get('pid', '?')}{since}): wait for it to finish and run "
                f"again; nothing was changed. (Builds take turns; readers never block one.)") from None
        os.ftruncate(self.fd, 0)
        started = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
        os.write(self.fd, json.dumps({"pid": os.getpid(), "started_at": started}).encode())

    def _holder(self) -> dict[str, Any]:
        try:
            return json.loads(self.path.read_text() or "{}")
        except (OSError, ValueError):
            return {}

    def release(self) -> None:
        if self.fd is not None:
            os.close(self.fd)  # closing the descriptor releases the flock
            self.fd = None


def lock_conflict(path: str, message: str, serving: Path | None, read_only: bool) -> EngineError:
    """The message for DuckDB's "Could not set lock": who holds the file, and what to do."""
    found = _HOLDER.search(message)
    who = f"process {found['pid']} ({found['exe']})" if found else "another process"
    if read_only:
        return EngineError(
            f"{path} is in use by {who}, which opened it read-write: open it read-only instead "
            f"(`duckdb -readonly {path}`, `duckdb.connect(path, read_only=True)`) so that builds and "
            f"other readers can share it")
    where = (f"; readers should open the serving file {serving} instead, which never blocks a build"
             if serving is not None else "")
    return EngineError(
        f"{path} (the warehouse file) is in use by {who}, which is not a clg-metrics build: a reader "
        f"such as a BI tool, a notebook or `duckdb -readonly` holds a connection to it. Close that "
        f"connection and run the build again{where} (README: Reading the outputs)")


def write_serving(con: Any, schema: str, tables: list[str], serving: Path, build_id: str,
                  changes: Served | None = None) -> str:
    """Write ``tables`` (published in ``schema`` of ``con``'s warehouse) into a new file and swap
    it in as ``serving``; return how the file was made, ``copy`` or ``full``.

    When the serving file holds the build published before this one (``changes.previous_build``,
    which its ``clg_builds`` tells), the new file is a filesystem copy of it with this publish's
    changes applied — the replaced tables copied again, the output deltas' DELETE and INSERT,
    the other tables left as they are — so that the time is that of the change, plus a file copy.
    Otherwise (the first build, a build whose serving failed or was killed) every table is copied
    into an empty file. Leftovers of a killed build are removed first (the caller holds the build
    lock, so none of them is a running build's)."""
    for stale in _leftovers(serving):
        stale.unlink(missing_ok=True)
    serving.parent.mkdir(parents=True, exist_ok=True)
    fresh = serving.with_name(f".{serving.name}.{build_id}.tmp")
    how = "full"
    if changes is not None and changes.previous_build is not None and serving.exists():
        shutil.copyfile(serving, fresh)
        how = "copy"
    alias = exp.to_identifier(SERVING_ALIAS, quoted=True)
    attach = exp.Attach(this=exp.alias_(exp.Literal.string(str(fresh)), alias))
    con.execute(attach.sql("duckdb"))
    try:
        if how == "copy" and (_served_build(con, schema) != changes.previous_build or _mostly_free(con)):
            how = "full"  # it holds an older build, or more free space than data: start over, empty
            con.execute(exp.Detach(this=alias).sql("duckdb"))
            fresh.unlink()
            con.execute(attach.sql("duckdb"))
        if schema != "main":
            con.execute(exp.Create(this=exp.Table(this=exp.to_identifier(schema, quoted=True), db=alias),
                                   kind="SCHEMA", exists=True).sql("duckdb"))
        if how == "copy":
            _apply(con, schema, tables, changes)
        else:
            for name in tables:
                _copy(con, schema, name)
    except BaseException:
        con.execute(exp.Detach(this=alias).sql("duckdb"))
        fresh.unlink(missing_ok=True)
        raise
    con.execute(exp.Detach(this=alias).sql("duckdb"))  # checkpoints: the file is whole, no WAL
    try:
        fd = os.open(fresh, os.O_RDONLY)
        try:
            os.fsync(fd)  # the data is on disk before the name points at it
        finally:
            os.close(fd)
        os.replace(fresh, serving)
        directory = os.open(serving.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
    except OSError:
        fresh.unlink(missing_ok=True)
        raise
    return how


def _served(name: str, schema: str) -> exp.Table:
    return exp.table_(name, db=schema, catalog=SERVING_ALIAS, quoted=True)


def _copy(con: Any, schema: str, name: str) -> None:
    copy = exp.Create(this=_served(name, schema), kind="TABLE", replace=True,
                      expression=exp.select("*").from_(exp.table_(name, db=schema, quoted=True)))
    con.execute(copy.sql("duckdb"))


def _served_tables(con: Any, schema: str) -> set[str]:
    query = exp.select("table_name").from_(exp.func("duckdb_tables")).where(exp.and_(
        exp.EQ(this=exp.column("database_name"), expression=exp.Literal.string(SERVING_ALIAS)),
        exp.EQ(this=exp.column("schema_name"), expression=exp.Literal.string(schema))))
    return {r[0] for r in con.execute(query.sql("duckdb")).fetchall()}


def _served_build(con: Any, schema: str) -> str | None:
    """The last build the serving file holds (its clg_builds' newest build id)."""
    if BUILDS_TABLE not in _served_tables(con, schema):
        return None
    query = exp.select(exp.Max(this=exp.column("build_id", quoted=True))).from_(_served(BUILDS_TABLE, schema))
    return con.execute(query.sql("duckdb")).fetchone()[0]


def _mostly_free(con: Any) -> bool:
    """More free blocks than used ones: the deltas of past builds left holes that DuckDB reuses but
    never gives back, so the file is rewritten whole (which keeps it under twice its data)."""
    query = exp.select("free_blocks", "used_blocks").from_(exp.func("pragma_database_size")).where(
        exp.EQ(this=exp.column("database_name"), expression=exp.Literal.string(SERVING_ALIAS)))
    free, used = con.execute(query.sql("duckdb")).fetchone()
    return free > used


def _apply(con: Any, schema: str, tables: list[str], changes: Served) -> None:
    """This publish's changes, on a copy of the serving file that holds the previous build."""
    present = _served_tables(con, schema)
    deltas = {d.name: d for d in changes.deltas}
    for name in sorted(present - set(tables)):
        con.execute(exp.Drop(tables=[_served(name, schema)], kind="TABLE", exists=True).sql("duckdb"))
    for name in tables:
        if name in deltas and name in present:
            for statement in deltas[name].statements(_served(name, schema)):
                con.execute(statement.sql("duckdb"))
        elif name in changes.replaced or name in deltas or name not in present:
            _copy(con, schema, name)
