"""``run.py --engine postgres``: the same bench project built on PostgreSQL (issue 14, item 4).

The server comes from the environment ``.ci/with-servers`` exports (CLG_TEST_PG_HOST, _PORT, _USER,
_DBNAME). The generated DuckDB data is copied once into the server's schema ``main`` (tables
``events`` and ``customers``, as ``sql/stg_events.sql`` and the journey name them; not timed);
each round then builds into a fresh output schema (``bench/project/profiles.yml``, target ``pg``,
schema from CLG_BENCH_PG_SCHEMA); ``warehouses.py`` runs the rounds and compares the rows.
"""

from __future__ import annotations

import os
from pathlib import Path

from measure import Run, descendants
from psycopg import sql
from warehouses import Warehouse

HERE = Path(__file__).resolve().parent


def _connect():
    import psycopg

    return psycopg.connect(host=os.environ["CLG_TEST_PG_HOST"], port=int(os.environ["CLG_TEST_PG_PORT"]),
                           user=os.environ["CLG_TEST_PG_USER"], dbname=os.environ["CLG_TEST_PG_DBNAME"], autocommit=True)


def load(db: Path, scratch: Path) -> None:
    """Copy events and customers from the generated DuckDB file into schema ``main`` (once per size)."""
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    n_events = con.execute("SELECT count(*) FROM events").fetchone()[0]
    with _connect() as pg:
        have = pg.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'main' "
                          "AND table_name = 'events'").fetchone()[0]
        if have and pg.execute("SELECT count(*) FROM main.events").fetchone()[0] == n_events and pg.execute(
                "SELECT data_type FROM information_schema.columns WHERE table_schema = 'main' AND table_name = "
                "'events' AND column_name = 'customer_id'").fetchone()[0] == "bigint":
            return
        pg.execute("DROP SCHEMA IF EXISTS main CASCADE")
        pg.execute("CREATE SCHEMA main")
        pg.execute("CREATE TABLE main.events (event_id BIGINT, customer_id BIGINT, event_name VARCHAR, "
                   "occurred_at TIMESTAMP)")
        pg.execute("CREATE TABLE main.customers (customer_id BIGINT, signed_up_at TIMESTAMP, plan VARCHAR)")
        for table, columns in (("events", "event_id, customer_id, event_name, occurred_at"),
                               ("customers", "customer_id, signed_up_at, plan")):
            path = scratch / f"{table}.csv"
            con.execute(f"COPY (SELECT {columns} FROM {table}) TO '{path}' (HEADER false)")
            with pg.cursor() as cur, cur.copy(f"COPY main.{table} ({columns}) FROM STDIN WITH (FORMAT csv)") as copy, \
                    open(path, "rb") as f:
                while chunk := f.read(1 << 20):
                    copy.write(chunk)
            path.unlink()
        pg.execute("ANALYZE main.events")
        pg.execute("ANALYZE main.customers")
    con.close()


class Postgres(Warehouse):
    """The build on the server of CLG_TEST_PG_*, one fresh output schema per round.

    Memory: the work happens in the server's backends, not in the build's process tree, so the
    figure is the peak of the summed private memory (``RssAnon``: sort and hash memory, up to
    ``work_mem`` per operation) of every process of the server, sampled during the build; the
    shared buffers (``shared_buffers``, shared by all backends) come on top. What did not fit in
    ``work_mem`` went to temporary files: ``temp_bytes`` of ``pg_stat_database``, the difference
    over the build.
    """

    name, target = "postgres", "pg"

    def load(self) -> None:
        load(self.db, self.scratch)
        with _connect() as pg:
            # --pg-work-mem: the database's default for the builds' new connections (RESET: the server's)
            database = sql.Identifier(os.environ["CLG_TEST_PG_DBNAME"])
            pg.execute(sql.SQL("ALTER DATABASE {} SET work_mem = {}").format(database, sql.Literal(self.args.pg_work_mem))
                       if self.args.pg_work_mem else sql.SQL("ALTER DATABASE {} RESET work_mem").format(database))
        with _connect() as pg:  # a new connection: the one above keeps the work_mem it started with
            directory = pg.execute("SHOW data_directory").fetchone()[0]
            self.settings = {k: pg.execute(f"SHOW {k}").fetchone()[0] for k in ("work_mem", "shared_buffers")}
            self.version = pg.execute("SHOW server_version").fetchone()[0]
        self.postmaster = int((Path(directory) / "postmaster.pid").read_text().split()[0])
        print(f"PostgreSQL {self.version}: work_mem {self.settings['work_mem']}, "
              f"shared_buffers {self.settings['shared_buffers']}")

    def fresh(self, namespace: str) -> dict[str, str]:
        with _connect() as pg:
            pg.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(namespace)))
        return {"CLG_BENCH_PG_SCHEMA": namespace}

    def rows(self, namespace: str, table: str, columns: list[str]) -> list[tuple]:
        query = sql.SQL("SELECT {} FROM {}.{}").format(sql.SQL(", ").join(map(sql.Identifier, columns)),
                                                       sql.Identifier(namespace), sql.Identifier(table))
        with _connect() as pg:
            return pg.execute(query).fetchall()

    def watch(self):
        return lambda: descendants(self.postmaster, forks=True)

    def _temp(self) -> tuple[int, int]:
        with _connect() as pg:
            return pg.execute("SELECT temp_files, temp_bytes FROM pg_stat_database "
                              "WHERE datname = current_database()").fetchone()

    def before(self) -> None:
        self.temp_before = self._temp()

    def after(self, run: Run) -> None:
        files, spilled = (a - b for a, b in zip(self._temp(), self.temp_before))
        run.engine = {"temp_files": files, "temp_mb": spilled / 2**20}

    def close(self) -> None:
        with _connect() as pg:
            for namespace in set(self.built.values()):
                pg.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(namespace)))
