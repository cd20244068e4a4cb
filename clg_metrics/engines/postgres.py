"""PostgreSQL, an existing server reached with psycopg 3: one connection, one schema.

PostgreSQL has transactional DDL, so publishing (drop the old outputs, rename the staged twins,
recreate the views) is one real transaction: a reader sees either the previous build or the new
one, and a failure halfway leaves the previous one in place.

The connection runs in autocommit mode: a failed statement (a broken ``sql/`` model) then cannot
leave an aborted transaction behind that would turn every later statement of the build into an
error. The few steps that must be atomic open an explicit transaction. The session works in UTC
with ``search_path`` set to the profile's schema alone, so unqualified names mean what they mean
on DuckDB. ``threads`` is not used: models run one after the other on this one connection.
"""

from __future__ import annotations

import re
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import psycopg
from psycopg import sql
from psycopg.types.string import TextLoader
from sqlglot import exp

from ..errors import EngineError, first_line
from ..profiles import PostgresTarget
from .base import Engine, duckdb_expression
from .postgres_types import postgres_type, rows_of

__all__ = ["PostgresEngine", "postgres_type"]

APPLICATION_NAME = "clg-metrics"
COPY_BATCH_ROWS = 10_000

# pg_class.relkind of the relations a schema can hold under a name we read or replace, and the
# kind of DROP each needs (DROP TABLE refuses a view, and the other way round).
_DROP_KIND = {"r": "TABLE", "p": "TABLE", "f": "FOREIGN TABLE", "v": "VIEW", "m": "MATERIALIZED VIEW"}
_RELKINDS = list(_DROP_KIND)

_RELKIND_QUERY = """
SELECT c.relkind FROM pg_catalog.pg_class AS c
JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
WHERE n.nspname = %s AND c.relname = %s AND c.relkind::text = ANY(%s)
"""
# pg_attribute rather than information_schema.columns: the latter leaves out materialized views,
# which are a fair events source, and is much slower on large catalogs.
_COLUMNS_QUERY = """
SELECT a.attname FROM pg_catalog.pg_attribute AS a
JOIN pg_catalog.pg_class AS c ON c.oid = a.attrelid
JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
WHERE n.nspname = %s AND c.relname = %s AND c.relkind::text = ANY(%s) AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum
"""
_TABLES_QUERY = """
SELECT c.relname FROM pg_catalog.pg_class AS c
JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
WHERE n.nspname = %s AND c.relkind::text = ANY(%s)
"""
# The views over relations of a schema, recursively (a view's rewrite rule depends on what it
# reads), with their definitions; deepest last so that each comes after what it reads.
_DEPENDENT_VIEWS = """
WITH RECURSIVE roots AS (
    SELECT c.oid FROM pg_catalog.pg_class AS c
    JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
    WHERE n.nspname = %s AND c.relname = ANY(%s)
), views(oid, depth) AS (
    SELECT r.ev_class, 1 FROM pg_catalog.pg_depend AS d
    JOIN pg_catalog.pg_rewrite AS r ON r.oid = d.objid
    WHERE d.classid = 'pg_catalog.pg_rewrite'::regclass AND d.refclassid = 'pg_catalog.pg_class'::regclass
      AND d.refobjid IN (SELECT oid FROM roots) AND r.ev_class <> d.refobjid
    UNION
    SELECT r.ev_class, v.depth + 1 FROM views AS v
    JOIN pg_catalog.pg_depend AS d ON d.refobjid = v.oid
    JOIN pg_catalog.pg_rewrite AS r ON r.oid = d.objid
    WHERE d.classid = 'pg_catalog.pg_rewrite'::regclass AND d.refclassid = 'pg_catalog.pg_class'::regclass
      AND r.ev_class <> v.oid AND v.depth < 100
)
SELECT n.nspname, c.relname, pg_catalog.pg_get_viewdef(c.oid)
FROM (SELECT oid, max(depth) AS depth FROM views GROUP BY oid) AS v
JOIN pg_catalog.pg_class AS c ON c.oid = v.oid
JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
WHERE c.relkind = 'v'
ORDER BY v.depth, n.nspname, c.relname
"""
_SCHEMA_EXISTS = "SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = %s"
# Two builds of one schema publish one after the other; the lock ends with the transaction.
_PUBLISH_LOCK = "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))"
# One build per schema at a time; the lock ends with the session.
_BUILD_LOCK = "SELECT pg_try_advisory_lock(hashtextextended(%s, 0))"


class PostgresEngine(Engine):
    DROP_CASCADE = True  # a view is bound to the table itself: it goes with it (see publish)
    ERRORS = (psycopg.Error,)

    def __init__(self, target: PostgresTarget, project_dir: Path, read_only: bool = False, warehouse: bool = False):
        self.target = target
        self.schema = target.schema_
        self._gx_sources: list[Any] = []
        self._build_locked = False
        params: dict[str, Any] = dict(
            host=target.host, port=target.port, user=target.user, dbname=target.dbname,
            sslmode=target.sslmode, connect_timeout=target.connect_timeout, application_name=APPLICATION_NAME)
        if target.password is not None:  # else libpq's own PGPASSWORD / ~/.pgpass
            params["password"] = target.password
        try:
            # prepare_threshold=None: no server-side prepared statements, which a pooler in
            # transaction mode (PgBouncer) would hand to the wrong session.
            self.con = psycopg.connect(autocommit=True, prepare_threshold=None, **params)
        except psycopg.Error as exc:
            raise EngineError(_connect_message(target, exc)) from None
        # JSON stays text, as DuckDB returns it: `show` and checks print what is stored.
        for name in ("json", "jsonb"):
            self.con.adapters.register_loader(name, TextLoader)
        try:
            self._prepare_session(read_only)
        except psycopg.Error as exc:
            self.con.close()
            if isinstance(exc, psycopg.errors.InsufficientPrivilege):
                hint = f"create the schema, or grant CREATE on the database to {target.user}"
            else:
                hint = "check `schema` in profiles.yml"
            raise EngineError(f"PostgreSQL at {_where(target)}: cannot prepare schema `{self.schema}` as "
                              f"{target.user}: {first_line(exc)} ({hint})") from None

    def _prepare_session(self, read_only: bool) -> None:
        schema = exp.to_identifier(self.schema, quoted=True)
        # Timestamps are compared as UTC TIMESTAMP (SPEC): TIMESTAMPTZ inputs convert in UTC.
        self._catalog("SELECT set_config('TimeZone', 'UTC', false)")
        # Staged twins and the views' SELECTs name project tables without a schema; they must
        # resolve in the profile's schema alone, as they do on DuckDB.
        self._catalog("SELECT set_config('search_path', %s, false)", [schema.sql("postgres")])
        if read_only:
            self._catalog("SELECT set_config('default_transaction_read_only', 'on', false)")
        elif not self._catalog(_SCHEMA_EXISTS, [self.schema]):
            # Checked first: CREATE SCHEMA IF NOT EXISTS needs the CREATE privilege on the
            # database even when the schema is there. (IF: a concurrent build.)
            self.execute(exp.Create(this=exp.Table(this=schema), kind="SCHEMA", exists=True))

    def lock_build(self) -> None:
        """Hold the schema's build lock until ``close``, or raise EngineError if another process
        holds it (what a locked DuckDB file gives).

        Publishes serialize on their own (see ``publish``), but a build also starts by dropping
        every staged twin it finds, which would pull another running build's tables from under
        it.
        """
        self._build_locked = bool(self._catalog(_BUILD_LOCK, [f"clg-metrics build {self.schema}"])[0][0])
        if not self._build_locked:
            raise EngineError(f"schema `{self.schema}` at {_where(self.target)} is in use by another "
                              f"clg-metrics build (it holds the schema's advisory lock); wait for it to "
                              f"finish, or build into another schema")

    # -- statements ------------------------------------------------------------------------------

    def _execute_sql(self, statement: str) -> int | None:
        with self.con.cursor() as cur:
            cur.execute(statement)
            return cur.rowcount if cur.rowcount >= 0 else None  # CREATE TABLE AS: "SELECT n"

    def _fetch_sql(self, query: str):
        with self.con.cursor() as cur:
            cur.execute(query)
            if cur.description is None:
                return [], []
            return [d.name for d in cur.description], cur.fetchall()

    def _catalog(self, query: Any, params: list | None = None) -> list[tuple]:
        """A catalog query with bind parameters; its rows (none for a statement)."""
        with self.con.cursor() as cur:
            cur.execute(query, params)
            return cur.fetchall() if cur.description is not None else []

    @contextmanager
    def transaction(self):
        with self.con.transaction():  # nested: a savepoint
            yield

    def columns(self, relation: str) -> list[str] | None:
        return [r[0] for r in self._catalog(_COLUMNS_QUERY, [*self.split(relation), _RELKINDS])] or None

    def column_types(self, relation: str) -> dict[str, str] | None:
        query = _COLUMNS_QUERY.replace("SELECT a.attname", "SELECT a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod)")
        return {r[0]: r[1] for r in self._catalog(query, [*self.split(relation), _RELKINDS])} or None

    def tables(self) -> list[str]:
        """Tables, views, materialized views and foreign tables of the schema, sorted by name."""
        return sorted(r[0] for r in self._catalog(_TABLES_QUERY, [self.schema, _RELKINDS]))

    def _kind(self, name: str, schema: str | None = None) -> str | None:
        rows = self._catalog(_RELKIND_QUERY, [schema or self.schema, name, _RELKINDS])
        return _DROP_KIND[rows[0][0]] if rows else None

    # -- loading ---------------------------------------------------------------------------------

    def load_relation(self, table: str, relation) -> int:
        """Create ``table`` with the relation's DuckDB types in PostgreSQL terms, then stream its
        rows with COPY, all in one transaction (a bad row leaves no half-loaded table).

        Types PostgreSQL lacks are widened (UBIGINT and HUGEINT become NUMERIC, unsigned ints the
        next signed size); nested types (STRUCT, MAP, UNION, lists of them) travel as JSON, and
        the few whose Python values do not round-trip (TIMESTAMPTZ, INTERVAL's months, ENUM, BIT)
        as DuckDB's own text, which PostgreSQL parses — the cast happens in DuckDB before the rows are read.
        """
        names = list(relation.columns)
        definitions, selects, cast_any = [], [], False
        for name, duck_type in zip(names, relation.types):
            pg_type, cast = postgres_type(str(duck_type))
            definitions.append(exp.ColumnDef(this=exp.to_identifier(name, quoted=True), kind=pg_type))
            column = exp.column(name, quoted=True)
            if cast is not None:
                cast_any = True
                column = exp.cast(column, exp.DataType.build(cast, dialect="duckdb"))
            selects.append(duckdb_expression(exp.alias_(column, name, quoted=True)))
        if cast_any:
            relation = relation.project(*selects)
        create = exp.Create(this=exp.Schema(this=self.table(table), expressions=definitions), kind="TABLE")
        columns = [exp.to_identifier(n, quoted=True) for n in names]
        copy_rows = exp.Copy(this=exp.Schema(this=self.table(table), expressions=columns), kind=True,
                             files=[exp.to_identifier("STDIN")])
        count = 0
        with self.transaction(), self.con.cursor() as cur:
            self.drop_relation(table)
            cur.execute(self.render(create))
            with cur.copy(self.render(copy_rows)) as copy:
                for row in rows_of(relation, COPY_BATCH_ROWS):
                    copy.write_row(row)
                    count += 1
        return count

    # -- publishing --------------------------------------------------------------------------------

    def _before_publish(self, renames, views) -> list[tuple[str, str, str]]:
        """Publishing is one transaction: each published table is replaced by its staged twin,
        then each view is recreated over the new tables; readers see the old outputs until COMMIT.

        PostgreSQL binds a view to a table itself, not to its name, so the old tables must be
        dropped with CASCADE, taking every view over them along. Views this publish recreates come
        back from ``views``; any other view that depended on a replaced relation (a project view
        whose table a ``seed``-only or ``--select`` build republished, a view another tool defined)
        is recreated from its saved definition in the same transaction, as DuckDB would keep it
        (there views find their tables by name). A view that no longer fits the new tables stays
        dropped, as dbt leaves it; so do materialized views. A recreated view belongs to the
        build's user and loses its grants and comments.

        A transaction-level advisory lock on the schema makes concurrent builds publish one
        after the other. Returns the dependent views to restore after the views.
        """
        self._catalog(_PUBLISH_LOCK, [f"clg-metrics publish {self.schema}"])
        staged_names = {staged for staged, _ in renames} | {staged for staged, _, _ in views}
        replaced = [final for _, final in renames] + [final for _, final, _ in views]
        return [v for v in self._dependent_views(replaced)
                if v[0] != self.schema or v[1] not in staged_names | set(replaced)]

    def _after_publish(self, dependents: list[tuple[str, str, str]]) -> None:
        self._restore_views(dependents)

    def _dependent_views(self, names: list[str]) -> list[tuple[str, str, str]]:
        """(schema, name, definition) of every view that depends, directly or through other
        views, on these relations of the schema; dependencies first."""
        if not names:
            return []
        return [(schema, name, definition) for schema, name, definition in
                self._catalog(_DEPENDENT_VIEWS, [self.schema, names])]

    def _restore_views(self, dependents: list[tuple[str, str, str]]) -> None:
        """Recreate dropped views, each under a savepoint so that one that no longer fits stays
        dropped without failing the publish. The definition is PostgreSQL's own text
        (pg_get_viewdef), composed with psycopg's SQL composition rather than re-parsed."""
        for schema, name, definition in dependents:
            if self._kind(name, schema) is not None:  # recreated already (or taken)
                continue
            try:
                with self.con.transaction():
                    self._catalog(sql.SQL("CREATE VIEW {} AS {}").format(sql.Identifier(schema, name),
                                                                          sql.SQL(definition)))
            except psycopg.Error:
                continue

    # -- great-expectations ----------------------------------------------------------------------

    def gx_batch(self, context, index: int, table: exp.Table):
        """GX's own PostgreSQL data source, on a SQLAlchemy engine of its own (psycopg 3 driver).

        GX needs a SQLAlchemy engine; its connections are separate from ours, so they see only
        committed tables — which is what checks read (staged twins are committed tables too).
        The engines are disposed of in ``close`` so that no connection outlives the build.
        """
        name, url = f"clg_metrics_{index}", self.sqlalchemy_url()
        if self.target.host.startswith("/"):
            # GX's PostgresDsn validation wants a host in the URL, which a socket has not; the
            # generic SQL source takes the same URL (and would warn that add_postgres exists).
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                source = context.data_sources.add_sql(name=name, connection_string=url)
        else:
            source = context.data_sources.add_postgres(name=name, connection_string=url)
        self._gx_sources.append(source)
        asset_name = f"r{index}"
        asset = source.add_table_asset(name=asset_name, table_name=table.name, schema_name=table.db or None)
        return asset.add_batch_definition_whole_table("all").get_batch()

    def sqlalchemy_url(self) -> str:
        """``postgresql+psycopg://user:password@host:port/dbname?...`` for SQLAlchemy (GX).

        User, password and database are percent-quoted with ``quote`` (not ``quote_plus``:
        SQLAlchemy reads a ``+`` there as a plus, so a space would come back as ``+``). A host
        that is a directory (a Unix socket) goes in the query, where libpq reads it.
        """
        t = self.target
        auth = quote(t.user, safe="") + (":" + quote(t.password, safe="") if t.password is not None else "")
        query = {"sslmode": t.sslmode, "connect_timeout": str(t.connect_timeout),
                 "application_name": APPLICATION_NAME}
        if t.host.startswith("/"):
            query["host"] = t.host
            query["port"] = str(t.port)
            netloc = f"{auth}@"
        else:
            host = f"[{t.host}]" if ":" in t.host else t.host
            netloc = f"{auth}@{host}:{t.port}"
        return f"postgresql+psycopg://{netloc}/{quote(t.dbname, safe='')}?{urlencode(query)}"

    def close(self) -> None:
        for source in self._gx_sources:
            # The data source's engine (its connection test) and its execution engine's (the
            # checks) are two SQLAlchemy engines, each with a pool; both are cached, so asking
            # for them again creates nothing.
            for get in (source.get_engine, lambda s=source: s.get_execution_engine().engine):
                try:
                    get().dispose()
                except Exception:  # pragma: no cover - GX internals; closing must not fail a build
                    pass
        self._gx_sources.clear()
        if self._build_locked and not self.con.closed:
            # The server would free it when the session ends, a moment after close returns;
            # a build started right after this one must find it free.
            try:
                self.con.execute("SELECT pg_advisory_unlock_all()")
            except psycopg.Error:  # pragma: no cover - a broken connection frees it anyway
                pass
            self._build_locked = False
        self.con.close()


# -- connection errors -------------------------------------------------------------------------------

def _where(target: PostgresTarget) -> str:
    return f"{target.host}:{target.port}/{target.dbname}"


_REASON = re.compile(r'^(?:.*\bfailed:\s*)?(?:FATAL:\s*)?(?P<reason>.+)$')


def _connect_message(target: PostgresTarget, exc: psycopg.Error) -> str:
    """One line: where we tried, why libpq refused, and what to check in profiles.yml."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    # libpq says "connection to server at "h", port p failed: <reason>", once per address tried
    # (localhost is two); the last reason is the one from the last address.
    reasons = [m.group("reason").strip() for m in map(_REASON.search, lines) if "failed" in m.group(0)]
    reason = reasons[-1] if reasons else (lines[0] if lines else type(exc).__name__)
    low = reason.lower()
    if "password" in low or "authentication" in low or ("role" in low and "does not exist" in low):
        hint = f"check `user` and `password` (user `{target.user}`; keep the password in env_var())"
    elif "database" in low and "does not exist" in low:
        hint = f"check `dbname`, or create the database `{target.dbname}`"
    elif "timeout" in low or "timed out" in low:
        hint = (f"check `host` and `port`, and that no firewall drops the connection "
                f"(gave up after connect_timeout={target.connect_timeout}s)")
    elif "ssl" in low:
        hint = f"check `sslmode` (now `{target.sslmode}`) against the server's SSL setup"
    elif "could not translate host name" in low or "name or service not known" in low:
        hint = "check `host`"
    else:
        hint = "check that the server is running and that `host` and `port` in profiles.yml are right"
    return f"cannot connect to PostgreSQL at {_where(target)} as {target.user}: {reason}; {hint}"
