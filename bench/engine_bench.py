"""Engine speed and memory: the full privetl pipeline against two baselines, in one run.

    .venv/bin/python bench/engine_bench.py --rows 1000000 [--runs 3] [--engine duckdb|spark]
        [--skip pandas] [--memory-limit 512MB] [--json results.json]
    .venv/bin/python bench/engine_bench.py --rows 10000000 --engine polars --skip pandas

Generates seeded synthetic data in the shape of the sample module (customers from two
Parquet sources with conflicting keys, empty and out-of-range values; orders with dangling
foreign keys), then times, each in its own subprocess so peak memory is its own:

- floor:   DuckDB reads the same Parquet and writes it back unchanged;
- pandas:  a straightforward pandas implementation of the same rules;
- privetl: ``privetl run`` of the bench data module (fill, clamp, priority dedupe, FK,
           generalize, truncate, suppress, Laplace noise, seeded shuffle, k=5 suppression).

Prints the median wall time and peak RSS of each, the ratios privetl/floor and
pandas/privetl, and the privetl run's own timings per stage (from its ``report.json``; a run
whose report does not say ``succeeded`` fails the bench, it is never timed). Goals (10M
rows, 2 cores): privetl <= 2x floor, >= 5x faster than pandas, peak memory < 2 GB; at 1M
rows <= 2.5x floor (start-up counts there).

Peak memory is the largest sum of the RSS of the variant's whole process tree (the CLI,
and for Spark the JVM too), sampled every 20 ms, or the largest single process's
``ru_maxrss`` if that is higher.

``--engine polars`` times the same pipeline on Ibis' Polars backend instead, through
``bench/ibis_polars.py`` (the window and join rules Ibis' Polars compiler lacks): the
bench's trial of the other embedded engine the issue names, not an engine of privetl.

``--memory-limit SIZE`` is passed to ``privetl run`` (DuckDB's ``memory_limit``; it spills
to disk past it): with e.g. 512MB at 10M rows the data does not fit in the engine's memory,
so the run shows that data larger than memory completes, and at what peak RSS.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
BENCH_SECRET = "bench-secret"  # noqa: S105 - a bench's fixed anonymization secret
BENCH_SEED = 1


# --- data ----------------------------------------------------------------------------------


def generate(rows: int, out: Path, seed: int = 7) -> None:
    """Write customers_a/b.parquet and orders.parquet with `rows` customer records in all."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    out.mkdir(parents=True, exist_ok=True)
    marker = out / f"done-{rows}-{seed}-v2"
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
    # 25 two-digit regions x 1,000 codes: with birth year and gender, 5,400 equivalence
    # classes, so k = 5 holds with little suppression from 100k rows up.
    regions = rng.choice(100, size=25, replace=False)
    zips = np.array([f"{r:02d}{c:03d}" for r in regions for c in range(0, 1000, 7)])
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
    max_id = n_a + n_b - n_b // 10  # customer ids are 0 .. max_id - 1
    cust = rng.integers(0, int(max_id * 1.02), n_orders)  # ~2% dangling foreign keys
    order_ids = np.arange(n_orders, dtype=np.int64)
    order_ids[rng.random(n_orders) < 0.001] = 0  # a few conflicting order ids -> drop_all
    pq.write_table(
        pa.table(
            {
                "id": order_ids,
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


def variant_floor(data: Path, out: Path, engine: str, memory_limit: str | None) -> dict:
    """DuckDB reads every input Parquet file and writes it back unchanged."""
    import duckdb

    out.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    for name in ("customers_a", "customers_b", "orders"):
        con.execute(
            f"COPY (SELECT * FROM read_parquet('{data / name}.parquet')) "
            f"TO '{out / name}.parquet' (FORMAT parquet)"
        )
    return {}


def variant_pandas(data: Path, out: Path, engine: str, memory_limit: str | None) -> dict:
    """The same rules, written the straightforward pandas way (whole tables in memory).

    Same rules and order as the engine, so that both produce the same rows (the bench checks
    it): clean (fill, clamp, source-priority dedupe; orders: drop_all, FK) with every
    rejected or changed record in a quarantine file of the engine's columns; anonymize
    (masking, year / 2-character generalization, Laplace noise from the same keyed hash);
    k = 5 suppression with the max_suppression check; the seeded shuffle (a cyclic shift
    in keyed-hash order, among the published records); the FK re-checked after suppression.
    Vectorized NumPy/pandas throughout; no Python loop over rows.
    """
    import numpy as np
    import pandas as pd

    from privetl.engine.anonymize.seeded import PRIME, SeedKey

    key = SeedKey.derive(BENCH_SECRET.encode(), BENCH_SEED)
    mask31 = np.int64(2**31 - 1)

    def keyed(x: np.ndarray, *purpose: str) -> np.ndarray:
        """privetl's keyed hash, in int64 NumPy (every product stays below 2^62)."""
        a = [np.int64(c) for c in key.coefficients(*purpose)]
        h = (a[0] * (x & mask31) + a[1]) % PRIME
        h = (h * a[2] + ((x >> 31) & mask31) * a[3]) % PRIME
        h = (h * a[4] + ((x >> 62) & 3) * a[5] + a[6]) % PRIME
        h = (h * h) % PRIME
        return (h * a[7] + a[1]) % PRIME

    out.mkdir(parents=True, exist_ok=True)
    rejected = []

    def reject(df: pd.DataFrame, table: str, column: str, rule: str, value: pd.Series, message) -> None:
        rejected.append(pd.DataFrame({
            "record_key": df["id"].astype(str), "table": table, "column": column, "rule": rule,
            "value": value.astype(str).where(value.notna(), None), "message": message,
        }))

    a = pd.read_parquet(data / "customers_a.parquet")
    b = pd.read_parquet(data / "customers_b.parquet")
    a["_src"], a["_rank"], a["_row"] = "customers_a", 0, np.arange(len(a))
    b["_src"], b["_rank"], b["_row"] = "customers_b", 1, np.arange(len(b))
    c = pd.concat([a, b], ignore_index=True)
    del a, b
    empty_zip = c["zip"].isna() | (c["zip"].str.strip() == "")
    reject(c[empty_zip], "customers", "zip", "empty_fill", c.loc[empty_zip, "zip"], "empty: filled with 00000")
    c.loc[empty_zip, "zip"] = "00000"
    outside = (c["income"] < 0) | (c["income"] > 1_000_000)
    reject(c[outside], "customers", "income", "range_clamp", c.loc[outside, "income"],
           "outside [0, 1000000]: clamped to the nearest bound")
    c["income"] = c["income"].clip(0, 1_000_000)
    c = c.sort_values(["id", "_rank", "_row"], kind="stable")
    dup = c["id"].duplicated(keep="first")
    losers = c[dup]
    reject(losers, "customers", "id", "primary_key_source_priority", losers["id"],
           "duplicate key: a record from a higher-priority source was kept; dropped record from "
           + losers["_src"] + ":" + losers["_row"].astype(str))
    c = c[~dup]
    o = pd.read_parquet(data / "orders.parquet")
    o["_row"] = np.arange(len(o))
    dup = o["id"].duplicated(keep=False)
    reject(o[dup], "orders", "id", "primary_key_drop_all", o.loc[dup, "id"],
           "conflicting key: every record of it dropped; this one from orders:" + o.loc[dup, "_row"].astype(str))
    o = o[~dup]
    dangling = o["customer_id"].notna() & ~o["customer_id"].isin(c["id"])
    reject(o[dangling], "orders", "customer_id", "foreign_key", o.loc[dangling, "customer_id"],
           "no such customers.id: record dropped")
    o = o[~dangling]
    pd.concat(rejected, ignore_index=True).to_parquet(out / "quarantine.parquet")
    rejected.clear()

    ids = c["id"].to_numpy(np.int64)
    c["name"] = c["name"].where(c["name"].isna(), "*")
    c["email"] = (c["email"].str[:2] + "*").where(c["email"].notna(), None)
    c["birth_date"] = c["birth_date"].to_numpy().astype("datetime64[Y]").astype("datetime64[D]")
    c["zip"] = c["zip"].str[:2]
    u = (keyed(ids, "income", "perturb", "u1").astype(np.float64) + 0.5) / float(PRIME)
    centred = u - 0.5
    noisy = c["income"].to_numpy() + (-500.0 * np.where(centred < 0, -1.0, 1.0) * np.log(1.0 - 2.0 * np.abs(centred)))
    c["income"] = np.sign(noisy) * np.floor(np.abs(noisy) + 0.5)  # SQL ROUND: half away from zero
    size = c.groupby(["birth_date", "zip", "gender"], dropna=False)["id"].transform("size")
    small = (size < 5).to_numpy()
    if small.sum() > 0.2 * len(c):
        raise SystemExit("k = 5 needs more than max_suppression 20% suppressed")
    suppressed = c.loc[small, "id"]
    c = c[~small]
    ids = c["id"].to_numpy(np.int64)
    order = np.lexsort((ids, keyed(ids, "diagnosis", "permute")))
    diagnosis = c["diagnosis"].to_numpy()
    shifted = np.empty_like(diagnosis)
    shifted[order] = np.roll(diagnosis[order], -1)  # each takes the next one's; the last the first's
    c["diagnosis"] = shifted
    o = o[~o["customer_id"].isin(suppressed)]
    columns = ["id", "name", "email", "birth_date", "zip", "gender", "income", "diagnosis"]
    c[columns].to_parquet(out / "customers.parquet", index=False)
    o[["id", "customer_id", "amount"]].to_parquet(out / "orders.parquet", index=False)
    return {"rows_out": {"customers": len(c), "orders": len(o)}}


def variant_privetl(data: Path, out: Path, engine: str, memory_limit: str | None) -> dict:
    """`privetl run` of the bench module (the real console script); the run must succeed."""
    module = data / "bench-module.json"
    report_dir = out / "report"
    out.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PRIVETL_ANONYMIZATION_SECRET": BENCH_SECRET, "PRIVETL_WORK_DIR": str(out)}
    if engine == "polars":  # the trial of Ibis' Polars backend (bench/ibis_polars.py)
        cmd = [sys.executable, str(HERE / "ibis_polars.py"), str(module), "--out", str(out / "published"),
               "--seed", str(BENCH_SEED), "--report-dir", str(report_dir)]
    else:
        cmd = [sys.executable, "-m", "privetl.cli", "run", str(module), "--engine", engine,
               "--out", str(out / "published"), "--seed", str(BENCH_SEED), "--report-dir", str(report_dir),
               "--no-progress"]
    if memory_limit:
        cmd += ["--memory-limit", memory_limit]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    report_file = report_dir / "report.json"
    report = json.loads(report_file.read_text()) if report_file.exists() else {}
    if proc.returncode != 0 or report.get("status") != "succeeded":
        raise SystemExit(
            f"privetl run failed (exit {proc.returncode}, status {report.get('status')}): "
            f"{report.get('error')}\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}"
        )
    return {
        "timings": report.get("timings", {}),
        "rows_out": {t["table"]: t["rows_out"] for t in report.get("tables", [])},
        "suppressed": {n: p.get("records_suppressed") for n, p in report.get("privacy", {}).items()},
        "quarantine_rows": (report.get("quarantine") or {}).get("rows"),
    }


FLOOR_GOAL = 2
"""privetl / floor at 10M rows (issue 15)."""
FLOOR_GOAL_AT_1M = 2.5
"""privetl / floor at 1M rows and fewer, where start-up counts (issue 15)."""

VARIANTS = {"floor": variant_floor, "pandas": variant_pandas, "privetl": variant_privetl}


def _tree_rss(pid: int) -> int:
    """Sum of the RSS (bytes) of ``pid`` and all its descendants, from /proc."""
    total, stack = 0, [pid]
    page = os.sysconf("SC_PAGE_SIZE")
    while stack:
        p = stack.pop()
        try:
            with open(f"/proc/{p}/statm") as f:
                total += int(f.read().split()[1]) * page
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as f:
                    stack.extend(int(c) for c in f.read().split())
        except (OSError, ValueError):
            continue
    return total


def measure(variant: str, data: Path, out: Path, engine: str, memory_limit: str | None) -> dict:
    """Wall seconds, peak RSS (MB) and details of one variant run in a fresh subprocess."""
    cmd = [sys.executable, __file__, "--child", variant, "--data", str(data), "--out", str(out),
           "--engine", engine]
    if memory_limit:
        cmd += ["--memory-limit", memory_limit]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak_tree = 0
    while proc.poll() is None:
        peak_tree = max(peak_tree, _tree_rss(proc.pid))
        time.sleep(0.02)
    wall = time.perf_counter() - start
    stdout, stderr = proc.communicate()
    if proc.returncode != 0:
        raise SystemExit(f"{variant} failed:\n{stderr[-3000:]}")
    result = json.loads(stdout.strip().splitlines()[-1])
    result["wall"] = wall
    result["peak_mb"] = max(result.pop("maxrss_mb"), peak_tree / 2**20)
    return result


def compare_outputs(out: Path) -> dict[str, str]:
    """Whether pandas and privetl published the same rows, value by value, per table."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from privetl.engine.publish import read_table

    verdict = {}
    for table in ("customers", "orders"):
        ours = read_table(out / "privetl" / "published", table)
        theirs = pq.read_table(out / "pandas" / f"{table}.parquet").select(ours.column_names)
        ours = ours.take(pc.sort_indices(ours, [("id", "ascending")]))
        theirs = theirs.take(pc.sort_indices(theirs, [("id", "ascending")]))
        if ours.num_rows != theirs.num_rows:
            verdict[table] = f"row counts differ: {ours.num_rows} vs {theirs.num_rows}"
            continue
        differing = [
            name for name in ours.column_names
            if not ours[name].cast(theirs[name].type).equals(theirs[name])
        ]
        verdict[table] = "identical" if not differing else f"columns differ: {differing}"
    return verdict


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--engine", default="duckdb", choices=["duckdb", "spark", "polars"],
                        help="polars: the trial of Ibis' Polars backend (bench/ibis_polars.py), not a privetl engine")
    parser.add_argument("--skip", action="append", default=[], help="variant to skip (floor, pandas, privetl)")
    parser.add_argument("--memory-limit", default=None,
                        help="passed to privetl run (e.g. 512MB): the larger-than-memory mode")
    parser.add_argument("--json", type=Path, default=None, help="also write the results to this file")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.engine == "polars" and args.memory_limit:
        parser.error("--memory-limit bounds DuckDB or Spark; the Polars trial keeps its tables in memory")

    if args.child:
        data, out = Path(args.data), Path(args.out)
        detail = VARIANTS[args.child](data, out, args.engine, args.memory_limit)
        own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        print(json.dumps({**detail, "maxrss_mb": max(own, children) / 1024}))
        return 0

    data = DATA / f"rows-{args.rows}"
    out = HERE / "out" / f"rows-{args.rows}"
    print(f"generating {args.rows:,} rows into {data} ...", flush=True)
    started = time.perf_counter()
    generate(args.rows, data)
    print(f"  ready in {time.perf_counter() - started:.1f} s", flush=True)
    module_document(data, out)
    label = f"privetl[{args.engine}" + (f", {args.memory_limit}]" if args.memory_limit else "]")
    results: dict[str, list[dict]] = {}
    for run in range(args.runs):
        for variant in VARIANTS:
            if variant in args.skip:
                continue
            shutil.rmtree(out / variant, ignore_errors=True)
            result = measure(variant, data, out / variant, args.engine, args.memory_limit)
            results.setdefault(variant, []).append(result)
            name = label if variant == "privetl" else variant
            print(f"run {run + 1}: {name:22s} {result['wall']:8.2f} s  peak {result['peak_mb']:8.0f} MB", flush=True)
            if "timings" in result:
                stages = "  ".join(f"{k} {v:.2f}" for k, v in result["timings"].items())
                print(f"        stages (s): {stages}", flush=True)
    med = {v: statistics.median(r["wall"] for r in rs) for v, rs in results.items()}
    peak = {v: max(r["peak_mb"] for r in rs) for v, rs in results.items()}
    print(f"\n{args.rows:,} rows, median of {args.runs} (machine: {os.cpu_count()} cores)")
    for v in results:
        name = label if v == "privetl" else v
        print(f"  {name:22s} median {med[v]:8.2f} s   peak {peak[v]:8.0f} MB")
    ratios = {}
    if "privetl" in med and "floor" in med:
        ratios["privetl_over_floor"] = med["privetl"] / med["floor"]
        goal = FLOOR_GOAL_AT_1M if args.rows <= 1_000_000 else FLOOR_GOAL
        print(f"  privetl / floor  = {ratios['privetl_over_floor']:.2f}x   (goal <= {goal}x at {args.rows:,} rows)")
    if "privetl" in med and "pandas" in med:
        ratios["pandas_over_privetl"] = med["pandas"] / med["privetl"]
        print(f"  pandas / privetl = {ratios['pandas_over_privetl']:.2f}x   (goal >= 5x)")
    if "privetl" in peak:
        print(f"  privetl peak memory {peak['privetl']:.0f} MB   (goal < 2048 MB)")
        stages: dict[str, list[float]] = {}
        for r in results["privetl"]:
            for k, v in r.get("timings", {}).items():
                stages.setdefault(k, []).append(v)
        print("  privetl stages, median s: "
              + "  ".join(f"{k} {statistics.median(v):.2f}" for k, v in stages.items()))
        print(f"  privetl rows out: {results['privetl'][-1].get('rows_out')}  "
              f"suppressed: {results['privetl'][-1].get('suppressed')}")
    if "pandas" in results:
        print(f"  pandas rows out:  {results['pandas'][-1].get('rows_out')}")
    if "pandas" in results and "privetl" in results:
        verdict = compare_outputs(out)
        print("  pandas and privetl outputs, value by value: "
              + ", ".join(f"{t} {v}" for t, v in verdict.items()))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(
            {"rows": args.rows, "runs": args.runs, "engine": args.engine, "memory_limit": args.memory_limit,
             "median_s": med, "peak_mb": peak, "ratios": ratios, "results": results}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
