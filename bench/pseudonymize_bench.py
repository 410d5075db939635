"""Pseudonymization and the personal-data scan: their cost against baselines, in one run.

    .venv/bin/python bench/pseudonymize_bench.py --rows 1000000 [--runs 3]

Generates seeded synthetic rows (an integer id and an e-mail address) as Parquet, then on
DuckDB (the backend privetl runs, 2 threads) writes each of these to a Parquet file:

- floor:      the two columns, unchanged;
- sql:        privetl's pseudonyms, text for the e-mail and integer tokens for the id: HMAC-SHA256
              computed in SQL (``anonymize/pseudonymize.py``), streaming through the engine;
- python_udf: the same tokens from a PyArrow UDF calling Python's ``hmac`` per value, batch by
              batch (the alternative where the engine has no HMAC of its own).

and times ``check_collisions`` (distinct values against distinct integer tokens) and
``scan_table`` (1,000 sampled values per column, every pattern) on the same table. Prints the
median of each and the ratios sql/floor and python_udf/sql; the SQL tokens are checked equal
to Python's on a sample first (a bench of wrong tokens would time nothing).
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import ibis
import ibis.expr.datatypes as dt
import pyarrow as pa

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))


def generate(rows: int, path: Path, seed: int = 7) -> None:
    """``rows`` rows of (id, email) with distinct ids and e-mail addresses."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    ids = rng.permutation(rows).astype("int64") + 1
    emails = pa.array([f"user{i}@example.org" for i in ids.tolist()])
    pq.write_table(pa.table({"id": ids, "email": emails}), path)


def main() -> int:
    from privetl.engine.anonymize import PseudonymKey
    from privetl.engine.anonymize.pseudonymize import check_collisions, with_tokens
    from privetl.engine.backends import open_backend
    from privetl.engine.metadata import Pseudonymize, Table
    from privetl.engine.personal_data import scan_table

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    table = Table.model_validate(
        {
            "name": "people",
            "columns": [
                {"name": "id", "type": "integer", "anonymize": {"op": "pseudonymize", "keep_type": True}},
                {"name": "email", "type": "string", "anonymize": {"op": "pseudonymize"}},
            ],
        }
    )
    scanned = Table.model_validate(
        {"name": "people", "columns": [{"name": "id", "type": "integer"}, {"name": "email", "type": "string"}]}
    )
    key = PseudonymKey.derive(b"bench-secret", "bench")
    integer_rule = Pseudonymize(keep_type=True)
    low, high = integer_rule.token_range

    @ibis.udf.scalar.pyarrow
    def py_text_token(value: str) -> str:
        tokens = [
            None if v is None else hmac.new(key.key, v.encode(), hashlib.sha256).hexdigest()[:32]
            for v in value.to_pylist()
        ]
        return pa.array(tokens, type=pa.string())

    @ibis.udf.scalar.pyarrow
    def py_int_token(value: str) -> dt.int64:
        tokens = [
            None if v is None else int(hmac.new(key.key, v.encode(), hashlib.sha256).hexdigest()[:15], 16)
            % (high - low + 1) + low
            for v in value.to_pylist()
        ]
        return pa.array(tokens, type=pa.int64())

    with tempfile.TemporaryDirectory(prefix="privetl-pseudo-bench-") as work:
        work_dir = Path(work)
        data = work_dir / "people.parquet"
        start = time.perf_counter()
        generate(args.rows, data)
        print(f"generated {args.rows:,} rows in {time.perf_counter() - start:.1f}s")
        backend = open_backend("duckdb", work_dir=work_dir / "backend", threads=2)
        try:
            people = backend.read_parquet([data], name="people")
            id_column, email_column = table.column("id"), table.column("email")
            tokens = with_tokens(
                backend, people, {"id": ("id", id_column, integer_rule), "email": ("email", email_column, Pseudonymize())},
                key,
            )
            variants: dict[str, Callable[[], object]] = {
                "floor": lambda: backend.write_parquet(people.select("id", "email"), work_dir / "floor.parquet"),
                "sql": lambda: backend.write_parquet(tokens, work_dir / "sql.parquet"),
                "python_udf": lambda: backend.write_parquet(
                    people.select(id=py_int_token(people.id.cast(dt.string)), email=py_text_token(people.email)),
                    work_dir / "python.parquet",
                ),
                "collision_check": lambda: check_collisions(backend, people, table, key),
                "scan_1000_per_column": lambda: scan_table(backend, people, scanned),
            }
            rules = {"tid": ("id", id_column, integer_rule), "temail": ("email", email_column, Pseudonymize())}
            sample = backend.rows(with_tokens(backend, people.limit(5), rules, key))
            for row in sample:
                assert row["tid"] == key.integer_token(str(row["id"]), integer_rule), row
                assert row["temail"] == key.token(row["email"]), row
            times: dict[str, list[float]] = {name: [] for name in variants}
            for _ in range(args.runs):
                for name, run in variants.items():
                    start = time.perf_counter()
                    run()
                    times[name].append(time.perf_counter() - start)
        finally:
            backend.close()
    median = {name: statistics.median(values) for name, values in times.items()}
    print(f"\n{args.rows:,} rows, DuckDB, 2 threads, median of {args.runs}:")
    for name, seconds in median.items():
        print(f"  {name:<22} {seconds:8.3f} s")
    print(f"  sql / floor         = {median['sql'] / median['floor']:.2f}x")
    print(f"  python_udf / sql    = {median['python_udf'] / median['sql']:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
