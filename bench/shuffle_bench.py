"""The seeded shuffle on DuckDB, four ways, on the engine bench's customers (issue 15).

    .venv/bin/python bench/shuffle_bench.py --rows 10000000 [--runs 3] [--data DIR]

Reads the customers Parquet files that ``bench/engine_bench.py --rows N`` generates and times,
in one DuckDB connection (2 threads, the engine's default memory bound), the shape of the
customers publish query of a run: the records of both sources less the rejected duplicates
(a stored narrow set, as the cleaning stage stores it), masked, truncated and noised, with
``diagnosis`` moved one step along a keyed-hash order (a cyclic shift), written to Parquet.

- ``join back`` (what the engine does): the shuffled column sorted with its record keys by a
  window, joined back to the records by key;
- ``positional``: the records in source order (``preserve_insertion_order``), a narrow side
  holding every record's keep-flag and shifted value sorted back by ``_ord``, paired with
  ``POSITIONAL JOIN``; the query fails if a pair's ``_ord`` differ, so a pairing that is not
  exact cannot pass unnoticed. Its output is compared with the first's, row by row;
- ``gather``: the narrow window's shifted values fetched as Arrow and scattered by each
  record's dense source position (its row number across both sources), then looked up by
  position from the records' query through a vectorized (Arrow) Python function, so no join
  back at all; its output is compared with the first's too;
- and, on the narrow rows alone, the window against a plain sort of the same rows: the
  most that computing the shift without a window could save.

Prints the median seconds of each and its ratio to ``join back``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

HERE = Path(__file__).resolve().parent
STRIDE = 10**12
PRIME = 2**31 - 1

UNION_OF_SOURCES = f"""(SELECT *, file_row_number AS _ord FROM read_parquet('{{a}}', file_row_number = true)
  UNION ALL
  SELECT *, {STRIDE} + file_row_number AS _ord FROM read_parquet('{{b}}', file_row_number = true))"""


def keyed(column: str, a: int, b: int, c: int) -> str:
    """A keyed hash of an int64 column mod 2^31-1, in the engine's two-limb form."""
    return (
        f"(((({a} * ({column} & {PRIME})) + {b}) % {PRIME}) * {c} + "
        f"((({column} >> 31) & {PRIME}) * {b})) % {PRIME}"
    )


ANONYMIZED = f"""id, CASE WHEN name IS NULL THEN NULL ELSE '*' END AS name,
  CASE WHEN email IS NULL THEN NULL ELSE substring(email, 1, 2) || '*' END AS email,
  CAST(CAST(date_trunc('year', birth_date) AS TIMESTAMP) AS DATE) AS birth_date,
  substring(coalesce(zip, '00000'), 1, 2) AS zip, gender,
  round(greatest(0.0, least(1000000.0, income))
        + 500.0 * ln(((CAST({keyed('id', 387009859, 1363558221, 1169454814)} AS DOUBLE) + 0.5) / {PRIME}.0)), 0) AS income"""

SHIFT = """CASE WHEN lead(h) OVER w IS NULL THEN first_value(diagnosis) OVER w ELSE lead(diagnosis) OVER w END"""
WINDOW = "WINDOW w AS ({partition}ORDER BY h, id ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)"


def order_of(column: str) -> str:
    """The shuffle's order: the keyed hash of the record key ``column``."""
    return f"coalesce({keyed(column, 444711385, 372398090, 1728353274)}, -1)"


def kept(sources: str) -> str:
    """The records a run publishes: both sources' records with a key, less the rejected duplicates."""
    return f"(SELECT s.* FROM (SELECT * FROM {sources} WHERE id IS NOT NULL) s ANTI JOIN losers l ON s._ord = l._ord)"


def join_back(sources: str, out: Path) -> str:
    """The engine's plan: the narrow window, its result joined back to the records by key."""
    return f"""COPY (
      WITH kept AS NOT MATERIALIZED {kept(sources)},
      moved AS (SELECT id AS rec, {SHIFT} AS shifted FROM (SELECT id, diagnosis, {order_of('id')} AS h FROM kept)
                {WINDOW.format(partition='')})
      SELECT {ANONYMIZED}, moved.shifted AS diagnosis FROM kept JOIN moved ON kept.id = moved.rec
    ) TO '{out}' (FORMAT parquet)"""


def positional(sources: str, out: Path) -> str:
    """Records in source order, paired by position with keep-flags and shifted values."""
    flagged = f"""SELECT u._ord, u.id, u.diagnosis, {order_of('u.id')} AS h,
        (u.id IS NOT NULL AND l._ord IS NULL) AS keep
      FROM {sources} u LEFT JOIN losers l ON u._ord = l._ord"""
    narrow = f"""SELECT _ord, keep, {SHIFT} AS shifted FROM ({flagged}) {WINDOW.format(partition='PARTITION BY keep ')}
      ORDER BY _ord"""
    return f"""COPY (
      SELECT {', '.join('w.' + c for c in ('id', 'name', 'email', 'birth_date', 'zip', 'gender', 'income'))},
             n.shifted AS diagnosis
      FROM (SELECT {ANONYMIZED}, _ord FROM {sources}) w POSITIONAL JOIN ({narrow}) n
      WHERE n.keep AND CASE WHEN w._ord = n._ord THEN true ELSE error('positional pairing is not exact') END
    ) TO '{out}' (FORMAT parquet)"""


class Gather:
    """The ``gather`` plan: shifted values by dense source position, looked up without a join.

    Holds no connection (the connection holds ``lookup``; a cycle through it outlives the
    interpreter's clean-up and nanobind then reports leaked instances at exit).
    """

    def __init__(self, sources: str, rows_a: int, rows: int) -> None:
        self.sources, self.rows = sources, rows
        self.position = f"CASE WHEN _ord >= {STRIDE} THEN _ord - {STRIDE} + {rows_a} ELSE _ord END"
        self.values: pa.Array | None = None

    def lookup(self, positions: pa.Array) -> pa.Array:
        assert self.values is not None
        return self.values.take(positions)

    def __call__(self, con: duckdb.DuckDBPyConnection, out: Path) -> float:
        records = kept(self.sources)
        start = time.perf_counter()
        moved = con.sql(
            f"""SELECT {self.position} AS pos, {SHIFT} AS shifted
                FROM (SELECT _ord, id, diagnosis, {order_of('id')} AS h FROM {records}) {WINDOW.format(partition='')}"""
        ).to_arrow_table()
        index = np.zeros(self.rows, dtype=np.int64)
        index[moved.column("pos").to_numpy()] = np.arange(moved.num_rows)
        self.values = moved.column("shifted").combine_chunks().take(pa.array(index))
        con.execute(
            f"COPY (SELECT {ANONYMIZED}, shifted_of({self.position}) AS diagnosis FROM {records}) "
            f"TO '{out}' (FORMAT parquet)"
        ).fetchall()
        self.values = None
        return time.perf_counter() - start


def timed(con: duckdb.DuckDBPyConnection, sql: str) -> float:
    start = time.perf_counter()
    con.execute(sql).fetchall()
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--data", type=Path, default=None,
                        help="the generated data's folder (default bench/data/rows-ROWS)")
    args = parser.parse_args()
    data = args.data or HERE / "data" / f"rows-{args.rows}"
    if not (data / "customers_a.parquet").exists():
        raise SystemExit(f"no {data}: run bench/engine_bench.py --rows {args.rows} first")
    sources = UNION_OF_SOURCES.format(a=data / "customers_a.parquet", b=data / "customers_b.parquet")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        con = duckdb.connect(config={"threads": 2, "memory_limit": "1536MB", "temp_directory": str(out / "spill"),
                                     "preserve_insertion_order": False})
        # the rejected duplicates, stored narrow as the cleaning stage stores them: every
        # record of a key after its first by _ord
        con.execute(f"""CREATE TEMP TABLE losers AS SELECT _ord FROM (SELECT id, _ord FROM {sources}
            WHERE id IS NOT NULL) QUALIFY row_number() OVER (PARTITION BY id ORDER BY _ord) > 1""")
        con.execute(f"CREATE TEMP TABLE narrow AS SELECT id, diagnosis, {order_of('id')} AS h FROM {kept(sources)}")
        rows_a = pq.ParquetFile(data / "customers_a.parquet").metadata.num_rows
        rows = rows_a + pq.ParquetFile(data / "customers_b.parquet").metadata.num_rows
        gather = Gather(sources, rows_a, rows)
        con.create_function(
            "shifted_of", gather.lookup, [duckdb.sqltypes.BIGINT], duckdb.sqltypes.VARCHAR, type="arrow"
        )
        window = f"SELECT id, {SHIFT} AS v FROM narrow {WINDOW.format(partition='')}"
        variants = {
            "join back": lambda: timed(con, join_back(sources, out / "join-back.parquet")),
            "positional": lambda: _positional(con, sources, out),
            "gather": lambda: gather(con, out / "gather.parquet"),
            "narrow: window": lambda: timed(con, f"SELECT sum(id * length(coalesce(v, ''))) FROM ({window})"),
            "narrow: sort only": lambda: timed(
                con, "SELECT sum(id * length(coalesce(v, ''))) FROM (SELECT id, diagnosis AS v FROM narrow ORDER BY h, id)"
            ),
        }
        times: dict[str, list[float]] = {name: [] for name in variants}
        for run in range(args.runs):
            for name, variant in variants.items():
                seconds = variant()
                times[name].append(seconds)
                print(f"run {run + 1}: {name:18s} {seconds:6.2f} s", flush=True)
        published = out / "join-back.parquet"
        differing = {
            plan: con.execute(
                f"""SELECT count(*) FROM (SELECT * FROM '{published}' EXCEPT ALL SELECT * FROM '{out / f"{plan}.parquet"}')"""
            ).fetchone()[0]  # type: ignore[index]
            for plan in ("positional", "gather")
        }
        total = con.execute(f"SELECT count(*) FROM '{published}'").fetchone()[0]  # type: ignore[index]
        base = statistics.median(times["join back"])
        print(f"\n{args.rows:,} source rows, median of {args.runs} (2 DuckDB threads)")
        for name, values in times.items():
            median = statistics.median(values)
            ratio = "" if name.startswith("narrow") else f"   {median / base:5.2f}x join back"
            print(f"  {name:18s} {median:6.2f} s{ratio}")
        con.close()
        missing = ", ".join(f"from '{plan}' {n:,}" for plan, n in differing.items())
        print(f"  rows published {total:,}; rows of 'join back' missing {missing}")
        return 0 if not any(differing.values()) else 1


def _positional(con: duckdb.DuckDBPyConnection, sources: str, out: Path) -> float:
    """The positional plan, with insertion order kept for that one query."""
    con.execute("SET preserve_insertion_order = true")
    try:
        return timed(con, positional(sources, out / "positional.parquet"))
    finally:
        con.execute("SET preserve_insertion_order = false")


if __name__ == "__main__":
    sys.exit(main())
