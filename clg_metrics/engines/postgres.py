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
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import psycopg
from psycopg.types.string import TextLoader
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

from ..errors import BuildError, EngineError
from ..profiles import PostgresTarget
from .base import Engine

APPLICATION_NAME = "clg-metrics"
COPY_BATCH_ROWS = 10_000

# pg_class.relkind of the relations a schema can hold under a name we read or replace, and the
# DROP statement each needs (DROP TABLE refuses a view, and the other way round).
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
    dialect = "postgres"

    def __init__(self, target: PostgresTarget, project_dir: Path, read_only: bool = False):
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
            with self.con.cursor() as cur:
                # Timestamps are compared as UTC TIMESTAMP (SPEC): TIMESTAMPTZ inputs convert in UTC.
                cur.execute("SELECT set_config('TimeZone', 'UTC', false)")
                # Staged twins and the views' SELECTs name project tables without a schema; they
                # must resolve in the profile's schema alone, as they do on DuckDB.
                schema_sql = exp.to_identifier(self.schema, quoted=True).sql("postgres")
                search_path = schema_sql
                cur.execute("SELECT set_config('search_path', %s, false)", [search_path])
                if read_only:
                    cur.execute("SELECT set_config('default_transaction_read_only', 'on', false)")
                else:
                    cur.execute(_SCHEMA_EXISTS, [self.schema])
                    if cur.fetchone() is None:
                        # Checked first: CREATE SCHEMA IF NOT EXISTS needs the CREATE privilege on
                        # the database even when the schema is there.
                        cur.execute(f"CREATE SCHEMA IF NOT EXISTS {schema_sql}")  # IF: a concurrent build
        except psycopg.Error as exc:
            self.con.close()
            if isinstance(exc, psycopg.errors.InsufficientPrivilege):
                hint = f"create the schema, or grant CREATE on the database to {target.user}"
            else:
                hint = "check `schema` in profiles.yml"
            raise EngineError(f"PostgreSQL at {_where(target)}: cannot prepare schema `{self.schema}` as "
                              f"{target.user}: {_first_line(exc)} ({hint})") from None

    def lock_build(self) -> None:
        """Hold the schema's build lock until ``close``, or raise EngineError if another process
        holds it (what a locked DuckDB file gives).

        Publishes serialize on their own (see ``publish``), but a build also starts by dropping
        every staged twin it finds, which would pull another running build's tables from under
        it.
        """
        with self.con.cursor() as cur:
            cur.execute(_BUILD_LOCK, [f"clg-metrics build {self.schema}"])
            self._build_locked = bool(cur.fetchone()[0])
            if not self._build_locked:
                raise EngineError(f"schema `{self.schema}` at {_where(self.target)} is in use by another "
                                  f"clg-metrics build (it holds the schema's advisory lock); wait for it to "
                                  f"finish, or build into another schema")

    # -- statements ------------------------------------------------------------------------------

    def execute(self, sql: str) -> None:
        with self.con.cursor() as cur:
            cur.execute(sql)

    def fetch(self, sql: str):
        with self.con.cursor() as cur:
            cur.execute(sql)
            if cur.description is None:
                return [], []
            return [d.name for d in cur.description], cur.fetchall()

    def columns(self, relation: str) -> list[str] | None:
        schema, name = self._split(relation)
        with self.con.cursor() as cur:
            cur.execute(_COLUMNS_QUERY, [schema, name, _RELKINDS])
            return [r[0] for r in cur.fetchall()] or None

    def tables(self) -> list[str]:
        """Tables, views, materialized views and foreign tables of the schema, sorted by name."""
        with self.con.cursor() as cur:
            cur.execute(_TABLES_QUERY, [self.schema, _RELKINDS])
            return sorted(r[0] for r in cur.fetchall())

    # -- materializing ---------------------------------------------------------------------------

    def create_table_as(self, table: str, select_sql: str) -> int:
        """Replace ``table`` in one transaction: if the SELECT fails, the old table is still there.

        Views over the old table are dropped with it (CASCADE): PostgreSQL binds a view to the
        table itself, not to its name, so such a view could not survive the replacement anyway.
        """
        with self.con.transaction(), self.con.cursor() as cur:
            self._drop_any(cur, table)
            cur.execute(f"CREATE TABLE {self.quote(table)} AS {select_sql}")
            if cur.rowcount >= 0:  # the command tag "SELECT n" carries the row count
                return cur.rowcount
            cur.execute(f"SELECT count(*) FROM {self.quote(table)}")
            return cur.fetchone()[0]

    def create_view_as(self, view: str, select_sql: str) -> None:
        with self.con.transaction(), self.con.cursor() as cur:
            self._drop_any(cur, view)
            cur.execute(f"CREATE VIEW {self.quote(view)} AS {select_sql}")

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
            selects.append(exp.alias_(column, name, quoted=True).sql("duckdb"))
        if cast_any:
            relation = relation.project(", ".join(selects))
        create = exp.Create(this=exp.Schema(this=self._table(table), expressions=definitions), kind="TABLE")
        column_list = ", ".join(exp.to_identifier(n, quoted=True).sql("postgres") for n in names)
        count = 0
        with self.con.transaction(), self.con.cursor() as cur:
            self._drop_any(cur, table)
            cur.execute(create.sql("postgres"))
            with cur.copy(f"COPY {self.quote(table)} ({column_list}) FROM STDIN") as copy:
                for row in _rows(relation, COPY_BATCH_ROWS):
                    copy.write_row(row)
                    count += 1
        return count

    def drop(self, relations: list[str]) -> None:
        """Drop these tables or views, with whatever depends on them (CASCADE).

        Views first: a staged view over a staged table then goes by itself, and a leftover list
        in any order drops without tripping over a dependency.
        """
        with self.con.cursor() as cur:
            kinds = {name: self._relkind(cur, name) for name in relations}
            for name in sorted(kinds, key=lambda n: kinds[n] not in ("v", "m")):
                self._drop_any(cur, name)

    # -- publishing --------------------------------------------------------------------------------

    def publish(self, renames: list[tuple[str, str]], views: list[tuple[str, str, str]] = ()) -> None:
        """One transaction: each published table is replaced by its staged twin, then each view is
        recreated over the new tables; readers see the old outputs until COMMIT.

        PostgreSQL binds a view to a table itself, not to its name, so the old tables must be
        dropped with CASCADE, taking every view over them along. Views this publish recreates come
        back from ``views``; any other view that depended on a replaced relation (a project view
        whose table a ``seed``-only or ``--select`` build republished, a view another tool defined)
        is recreated from its saved definition in the same transaction, as DuckDB would keep it
        (there views find their tables by name). A view that no longer fits the new tables stays
        dropped, as dbt leaves it; so do materialized views. A recreated view belongs to the
        build's user and loses its grants and comments.

        A transaction-level advisory lock on the schema makes concurrent builds publish one
        after the other.
        """
        staged_names = {staged for staged, _ in renames} | {staged for staged, _, _ in views}
        replaced = [final for _, final in renames] + [final for _, final, _ in views]
        try:
            with self.con.transaction(), self.con.cursor() as cur:
                cur.execute(_PUBLISH_LOCK, [f"clg-metrics publish {self.schema}"])
                dependents = [v for v in self._dependent_views(cur, replaced)
                              if v[0] != self.schema or v[1] not in staged_names | set(replaced)]
                for staged, final in renames:
                    self._drop_any(cur, final)
                    new_name = exp.to_identifier(final, quoted=True).sql("postgres")
                    cur.execute(f"ALTER TABLE {self.quote(staged)} RENAME TO {new_name}")
                for staged, final, select_sql in views:
                    self._drop_any(cur, staged)
                    self._drop_any(cur, final)
                    cur.execute(f"CREATE VIEW {self.quote(final)} AS {select_sql}")
                self._restore_views(cur, dependents)
        except psycopg.Error as exc:  # the transaction block has rolled back
            raise BuildError(f"publishing the build failed, the previous outputs are kept: "
                             f"{_first_line(exc)}") from None

    def _dependent_views(self, cur, names: list[str]) -> list[tuple[str, str, str]]:
        """(schema, name, definition) of every view that depends, directly or through other
        views, on these relations of the schema; dependencies first."""
        if not names:
            return []
        cur.execute(_DEPENDENT_VIEWS, [self.schema, names])
        return [(schema, name, definition) for schema, name, definition in cur.fetchall()]

    def _restore_views(self, cur, dependents: list[tuple[str, str, str]]) -> None:
        """Recreate dropped views, each under a savepoint so that one that no longer fits stays
        dropped without failing the publish."""
        for schema, name, definition in dependents:
            if self._relkind_in(cur, schema, name) is not None:  # recreated already (or taken)
                continue
            try:
                with self.con.transaction():
                    cur.execute(f"CREATE VIEW {exp.table_(name, db=schema, quoted=True).sql('postgres')} "
                                f"AS {definition}")
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
        asset = source.add_table_asset(name=f"r{index}", table_name=table.name, schema_name=table.db or None)
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

    # -- helpers -----------------------------------------------------------------------------------

    def _split(self, relation: str) -> tuple[str, str]:
        parts = relation.split(".")
        return (parts[-2], parts[-1]) if len(parts) > 1 else (self.schema, parts[-1])

    def _table(self, name: str) -> exp.Table:
        return exp.table_(name, db=self.schema, quoted=True)

    def _relkind(self, cur, name: str) -> str | None:
        return self._relkind_in(cur, self.schema, name)

    @staticmethod
    def _relkind_in(cur, schema: str, name: str) -> str | None:
        cur.execute(_RELKIND_QUERY, [schema, name, _RELKINDS])
        row = cur.fetchone()
        return row[0] if row else None

    def _drop_any(self, cur, name: str) -> None:
        """Drop whatever table or view holds ``name`` in the schema, with its dependent views."""
        kind = self._relkind(cur, name)
        if kind is not None:
            cur.execute(f"DROP {_DROP_KIND[kind]} {self.quote(name)} CASCADE")


# -- DuckDB types in PostgreSQL terms ----------------------------------------------------------------

_T = exp.DataType.Type
_WIDENED = {
    _T.UTINYINT: "SMALLINT", _T.USMALLINT: "INTEGER", _T.UINT: "BIGINT",
    _T.UBIGINT: "NUMERIC(20, 0)", _T.INT128: "NUMERIC(39, 0)", _T.UINT128: "NUMERIC(39, 0)",
    _T.TIMESTAMP_S: "TIMESTAMP", _T.TIMESTAMP_MS: "TIMESTAMP", _T.TIMESTAMP_NS: "TIMESTAMP",
    _T.TIMESTAMPNTZ: "TIMESTAMP", _T.NULL: "TEXT", _T.UNKNOWN: "TEXT",
}
if hasattr(_T, "BIGNUM"):  # DuckDB's arbitrary-precision integer (VARINT before 1.4)
    _WIDENED[_T.BIGNUM] = "NUMERIC"
# Same type on both sides, and psycopg writes the Python value DuckDB gives in a form PostgreSQL reads.
_KEPT = {
    _T.BOOLEAN, _T.SMALLINT, _T.INT, _T.BIGINT, _T.FLOAT, _T.DOUBLE, _T.DECIMAL,
    _T.VARCHAR, _T.TEXT, _T.CHAR, _T.DATE, _T.TIME, _T.TIMESTAMP,
    _T.UUID, _T.VARBINARY, _T.BLOB, _T.BINARY, _T.JSON,
}
# Read as DuckDB's text of the value, which PostgreSQL parses: (PostgreSQL type, DuckDB cast).
# Time zone aware values: DuckDB needs pytz to make Python objects of them, and its text keeps the
# offset. INTERVAL: the Python timedelta would turn a month into 30 days.
_AS_TEXT = {
    _T.TIMESTAMPTZ: ("TIMESTAMPTZ", "VARCHAR"), _T.TIMETZ: ("TIMETZ", "VARCHAR"),
    _T.INTERVAL: ("INTERVAL", "VARCHAR"), _T.BIT: ("VARBIT", "VARCHAR"), _T.ENUM: ("TEXT", "VARCHAR"),
}
_NESTED = {_T.STRUCT, _T.MAP, _T.UNION, _T.OBJECT}
_LISTS = {_T.ARRAY, _T.LIST}


def postgres_type(duckdb_type: str) -> tuple[exp.DataType, str | None]:
    """The PostgreSQL column type for a DuckDB type, and the DuckDB type to cast values to before
    they are read (None: read them as they are). Anything unknown travels as text."""
    try:
        data_type = exp.DataType.build(duckdb_type, dialect="duckdb")
    except (ParseError, TokenError, ValueError):
        return exp.DataType.build("TEXT"), "VARCHAR"
    return _convert(data_type)


def _convert(data_type: exp.DataType) -> tuple[exp.DataType, str | None]:
    kind = data_type.this
    if kind == _T.TINYINT:  # PostgreSQL has no 1-byte integer
        return exp.DataType.build("SMALLINT"), None
    if kind in _KEPT:
        return data_type, None
    if kind in _WIDENED:
        return exp.DataType.build(_WIDENED[kind], dialect="postgres"), None
    if kind in _AS_TEXT:
        pg_type, cast = _AS_TEXT[kind]
        return exp.DataType.build(pg_type, dialect="postgres", udt=True), cast
    if kind in _LISTS and len(data_type.expressions) == 1:  # DuckDB's fixed size, INTEGER[3], is dropped
        element, cast = _convert(data_type.expressions[0])
        if cast is None and element.this not in _LISTS and element.this not in _NESTED | {_T.JSON}:
            return exp.DataType(this=_T.ARRAY, expressions=[element], nested=True), None
    if kind in _NESTED or kind in _LISTS:
        return exp.DataType.build("JSON"), "JSON"
    return exp.DataType.build("TEXT"), "VARCHAR"


def _rows(relation, size: int):
    """The relation's rows, a batch at a time over one run (DuckDB 2 has ``iter_rows``; 1.x
    relations keep their result and page it with ``fetchmany``)."""
    if getattr(type(relation), "iter_rows", None) is not None:
        yield from relation.iter_rows(size)
        return
    while batch := relation.fetchmany(size):  # pragma: no cover - DuckDB 1.x
        yield from batch


# -- connection errors -------------------------------------------------------------------------------

def _where(target: PostgresTarget) -> str:
    return f"{target.host}:{target.port}/{target.dbname}"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


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
