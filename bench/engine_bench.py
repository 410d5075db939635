"""Engine speed and memory: the full privetl pipeline against two baselines, in one run.

    .venv/bin/python bench/engine_bench.py --rows 1000000 [--runs 3] [--engine duckdb]

Generates seeded synthetic data in the shape of the sample module (customers from two
Parquet sources with conflicting keys, empty and out-of-range values; orders with dangling
foreign keys), then times, each in its own subprocess so peak memory is its own:

- floor:   DuckDB reads the same Parquet and writes it back unchanged;
- pandas:  a straightforward pandas implementation of the same rules;
- privetl: ``privetl run`` of the bench data module (fill, clamp, priority dedupe, FK,
           generalize, truncate, suppress, Laplace noise, seeded shuffle, k=5 suppression).

Prints the median wall time and peak RSS of each and the ratios privetl/floor and
pandas/privetl. Goals (10M rows, 2 cores): privetl <= 2x floor, >= 5x faster than pandas,
peak memory < 2 GB.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"


# --- data ----------------------------------------------------------------------------------


def generate(rows: int, out: Path, seed: int = 7) -> None:
    """Write customers_a/b.parquet and orders.parquet with `rows` customer records in all."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    out.mkdir(parents=True, exist_ok=True)
    marker = out / f"done-{rows}-{seed}"
    if marker.exists():
        return
    rng = np.random.default_rng(seed)
    n_a = int(rows * 0.6)
    n_b = rows - n_a
    # B overlaps A on 10% of its ids: primary-key conflicts resolved by source priority.
    ids_a = np.arange(n_a, dtype=np.int64)
    ids_b = np.concatenate(
        [rng.choice(ids_a, size=n_b // 10, replace=False), np.arange(n_a, n_a + n_b - n_b // 10)]
    )
    zips = np.array([f"{z:05d}" for z in range(0, 100000, 37)])
    genders = np.array(["F", "M", "X"])
    diagnoses = np.array(["flu", "asthma", "diabetes", "hypertension", "migraine", "none"])

    def customers(ids: np.ndarray) -> pa.Table:
        n = len(ids)
        income = rng.normal(52000, 18000, n).round(2)
        income[rng.random(n) < 0.02] = -5.0  # out of range -> clamp
        age_days = rng.integers(18 * 365, 90 * 365, n)
        birth = (np.datetime64("2026-01-01") - age_days.astype("timedelta64[D]")).astype("datetime64[D]")
        zip_col = pa.array(zips[rng.integers(0, len(zips), n)])
        zip_mask = rng.random(n) < 0.01  # empty zip -> fill
        zip_col = pa.array(np.where(zip_mask, None, zip_col.to_numpy(zero_copy_only=False)))
        return pa.table(
            {
                "id": ids,
                "name": pa.array([f"name{i}" for i in ids]),
                "email": pa.array([f"user{i}@example.com" for i in ids]),
                "birth_date": pa.array(birth),
                "zip": zip_col,
                "gender": pa.array(genders[rng.integers(0, 3, n)]),
                "income": pa.array(income),
                "diagnosis": pa.array(diagnoses[rng.integers(0, len(diagnoses), n)]),
            }
        )

    pq.write_table(customers(ids_a), out / "customers_a.parquet")
    pq.write_table(customers(ids_b), out / "customers_b.parquet")
    n_orders = rows
    max_id = n_a + n_b
    cust = rng.integers(0, int(max_id * 1.02), n_orders)  # ~2% dangling foreign keys
    pq.write_table(
        pa.table(
            {
                "id": np.arange(n_orders, dtype=np.int64),
                "customer_id": cust.astype(np.int64),
                "amount": rng.gamma(2.0, 40.0, n_orders).round(2),
            }
        ),
        out / "orders.parquet",
    )
    marker.touch()


def module_document(data: Path, out: Path) -> Path:
    """The bench data module, as a JSON-LD document next to the data."""
    from privetl.engine.jsonld import module_to_document
    from privetl.engine.metadata import DataModule

    module = DataModule.model_validate(
        {
            "id": "bench-customers",
            "name": "Bench customers",
            "version": 1,
            "tables": [
                {
                    "name": "customers",
                    "primary_key": {"column": "id", "on_conflict": "source_priority"},
                    "columns": [
                        {"name": "id", "type": "integer"},
                        {"name": "name", "type": "string", "anonymize": {"op": "suppress"}},
                        {"name": "email", "type": "string", "anonymize": {"op": "suppress", "keep": 2}},
                        {"name": "birth_date", "type": "date",
                         "anonymize": {"op": "generalize", "granularity": "year"}},
                        {"name": "zip", "type": "string", "empty": {"strategy": "fill", "value": "00000"},
                         "anonymize": {"op": "generalize", "truncate": 2}},
                        {"name": "gender", "type": "string"},
                        {"name": "income", "type": "double",
                         "range": {"min": 0, "max": 1000000, "on_violation": "clamp"},
                         "anonymize": {"op": "perturb", "distribution": "laplace", "scale": 500, "round": 0}},
                        {"name": "diagnosis", "type": "string", "anonymize": {"op": "permute"}},
                    ],
                    "privacy": {"quasi_identifiers": ["birth_date", "zip", "gender"], "k": 5,
                                "max_suppression": 0.2},
                },
                {
                    "name": "orders",
                    "primary_key": {"column": "id", "on_conflict": "drop_all"},
                    "foreign_keys": [{"column": "customer_id", "references_table": "customers",
                                      "references_column": "id"}],
                    "columns": [
                        {"name": "id", "type": "integer"},
                        {"name": "customer_id", "type": "integer"},
                        {"name": "amount", "type": "double"},
                    ],
                },
            ],
            "collection_protocol": [
                {"id": "customers_a", "table": "customers", "priority": 2,
                 "source": {"kind": "file", "path": str(data / "customers_a.parquet"), "format": "parquet"}},
                {"id": "customers_b", "table": "customers", "priority": 1,
                 "source": {"kind": "file", "path": str(data / "customers_b.parquet"), "format": "parquet"}},
                {"id": "orders", "table": "orders",
                 "source": {"kind": "file", "path": str(data / "orders.parquet"), "format": "parquet"}},
            ],
            "upload": {"destination": {"kind": "directory", "path": str(out / "published")}},
        }
    )
    path = data / "bench-module.json"
    path.write_text(json.dumps(module_to_document(module), indent=2, default=str))
    return path


# --- the three variants, each run in a subprocess ------------------------------------------


def variant_floor(data: Path, out: Path) -> None:
    """DuckDB reads every input Parquet file and writes it back unchanged."""
    import duckdb

    out.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    for name in ("customers_a", "customers_b", "orders"):
        con.execute(
            f"COPY (SELECT * FROM read_parquet('{data / name}.parquet')) "
            f"TO '{out / name}.parquet' (FORMAT parquet)"
        )


def variant_pandas(data: Path, out: Path) -> None:
    """The same rules, written the straightforward pandas way (whole tables in memory)."""
    import numpy as np
    import pandas as pd

    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    a = pd.read_parquet(data / "customers_a.parquet").assign(_p=2)
    b = pd.read_parquet(data / "customers_b.parquet").assign(_p=1)
    c = pd.concat([a, b], ignore_index=True)
    c["zip"] = c["zip"].fillna("00000")
    c["income"] = c["income"].clip(0, 1_000_000)
    c = c.sort_values(["id", "_p"], ascending=[True, False]).drop_duplicates("id", keep="first")
    o = pd.read_parquet(data / "orders.parquet")
    dup = o["id"].duplicated(keep=False)
    o = o[~dup]
    o = o[o["customer_id"].isin(c["id"])]
    c["name"] = "*"
    c["email"] = c["email"].str[:2] + "*"
    c["birth_date"] = pd.to_datetime(c["birth_date"]).dt.year
    c["zip"] = c["zip"].str[:2]
    c["income"] = (c["income"] + rng.laplace(0, 500, len(c))).round(0)
    c["diagnosis"] = rng.permutation(c["diagnosis"].to_numpy())
    size = c.groupby(["birth_date", "zip", "gender"])["id"].transform("size")
    c = c[size >= 5]
    c.drop(columns="_p").to_parquet(out / "customers.parquet")
    o.to_parquet(out / "orders.parquet")


def variant_privetl(data: Path, out: Path, engine: str) -> None:
    """`privetl run` of the bench module (the real console script)."""
    module = data / "bench-module.json"
    env = {**os.environ, "PRIVETL_ANONYMIZATION_SECRET": "bench-secret"}
    subprocess.run(
        [sys.executable, "-m", "privetl.cli", "run", str(module), "--engine", engine,
         "--out", str(out / "published"), "--seed", "1"],
        check=True, env=env, stdout=subprocess.DEVNULL,
    )


VARIANTS = {"floor": variant_floor, "pandas": variant_pandas, "privetl": variant_privetl}


def measure(variant: str, data: Path, out: Path, engine: str) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one variant run in a fresh subprocess."""
    cmd = [sys.executable, __file__, "--child", variant, "--data", str(data), "--out", str(out),
           "--engine", engine]
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{variant} failed:\n{proc.stderr[-3000:]}")
    peak_mb = json.loads(proc.stdout.strip().splitlines()[-1])["peak_mb"]
    return wall, peak_mb


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--engine", default="duckdb", choices=["duckdb", "spark"])
    parser.add_argument("--skip", action="append", default=[], help="variant to skip (e.g. pandas)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        data, out = Path(args.data), Path(args.out)
        if args.child == "privetl":
            variant_privetl(data, out, args.engine)
            peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        else:
            VARIANTS[args.child](data, out)
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(json.dumps({"peak_mb": peak / 1024}))
        return 0

    data = DATA / f"rows-{args.rows}"
    out = HERE / "out" / f"rows-{args.rows}"
    print(f"generating {args.rows:,} rows into {data} ...", flush=True)
    generate(args.rows, data)
    module_document(data, out)
    results: dict[str, list[tuple[float, float]]] = {}
    for run in range(args.runs):
        for variant in VARIANTS:
            if variant in args.skip:
                continue
            import shutil

            shutil.rmtree(out / variant, ignore_errors=True)
            results.setdefault(variant, []).append(measure(variant, data, out / variant, args.engine))
            wall, peak = results[variant][-1]
            print(f"run {run + 1}: {variant:8s} {wall:8.2f} s  peak {peak:8.0f} MB", flush=True)
    med = {v: statistics.median(w for w, _ in r) for v, r in results.items()}
    peak = {v: max(p for _, p in r) for v, r in results.items()}
    print(f"\n{args.rows:,} rows, engine {args.engine}, median of {args.runs} (machine: {os.cpu_count()} cores)")
    for v in results:
        print(f"  {v:8s} median {med[v]:8.2f} s   peak {peak[v]:8.0f} MB")
    if "privetl" in med and "floor" in med:
        print(f"  privetl / floor  = {med['privetl'] / med['floor']:.2f}x   (goal <= 2x)")
    if "privetl" in med and "pandas" in med:
        print(f"  pandas / privetl = {med['pandas'] / med['privetl']:.2f}x   (goal >= 5x)")
    if "privetl" in peak:
        print(f"  privetl peak memory {peak['privetl']:.0f} MB   (goal < 2048 MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
