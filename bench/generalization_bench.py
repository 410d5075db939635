"""The generalization search's speed, against its baselines, in one run.

    .venv/bin/python bench/generalization_bench.py [--rows 10000000] [--runs 3]
        [--engine duckdb|spark] [--skip adult|large] [--json results.json]

1. **Adult-shaped** (30,162 generated records, 8 quasi-identifiers with ARX-like hierarchies,
   4,320 combinations; ``tests/engine/adult_shaped.py``), k = 5, at most 1 % suppressed,
   discernibility: the in-memory search (goal <= 0.3 s; ARX's FLASH: ~28 ms), against
   exhaustive evaluation of every node (rolled up from a predecessor, as fast as evaluating
   every node gets), with the nodes evaluated and pruned.
2. **Large**: ``--rows`` records in a Parquet file, 4 quasi-identifiers (age 17-95 with bands
   5/10/20, a 5-digit zip code of 100 truncated to 4..1, sex, the month of admission in
   2015-2019 by year/decade) and a sensitive diagnosis of 8, k = 10, l = 2, at most 1 % suppressed: the whole
   choice (class statistics + labels + search) against one class-statistics pass (a GROUP
   BY over the level-0 quasi-identifiers and the sensitive attribute, brought into memory);
   goal: within 1.5x. For k and l = 2 the choice's own pass groups by the quasi-identifiers
   alone, with each class's smallest and largest diagnosis (at most two rows per class): its
   rows are printed beside the pass's. Then the same with k alone (no sensitive attribute:
   the statistics hold one row per class).

Each time is the median of ``--runs``; the data is generated seeded into ``bench/data``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import ibis  # noqa: E402
import numpy as np  # noqa: E402
import pyarrow as pa  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402

from privetl.engine.backends import Backend, open_backend  # noqa: E402
from privetl.engine.generalization.choice import (  # noqa: E402
    choose_levels,
    class_statistics,
    hierarchies_of,
    lattice_targets,
    two_values_suffice,
)
from privetl.engine.generalization.lattice import Lattice  # noqa: E402
from privetl.engine.metadata import Column, ColumnType, Levels, PrivacyTargets, Search, Table  # noqa: E402
from tests.engine.adult_shaped import adult_records, adult_table  # noqa: E402

DATA = HERE / "data"


def _median(runs: int, work: Callable[[], Any]) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(runs):
        start = time.perf_counter()
        result = work()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def _cpu(work: Callable[[], Any]) -> float:
    """CPU seconds of ``work`` (this machine is shared: wall time also counts the others)."""
    start = time.process_time()
    work()
    return time.process_time() - start


def adult(backend: Backend, runs: int) -> dict[str, Any]:
    """The search on Adult-shaped data, against exhaustive evaluation."""
    expr = backend.materialize(ibis.memtable(adult_records()), "bench_adult")
    table = adult_table(k=5, max_suppression=0.01)
    assert table.privacy is not None
    stats_time, stats = _median(1, lambda: class_statistics(backend, expr, hierarchies_of(table), [], name="bench_adult"))
    lattice = Lattice(stats.counts, stats.dimensions, targets=lattice_targets(table.privacy), metric="discernibility")
    search_time, result = _median(runs, lattice.search)
    cpu_time, _ = _median(runs, lambda: _cpu(lattice.search))
    exhaustive_time, every = _median(1, lambda: lattice.exhaustive(roll_up=True))
    assert result.best is not None and every.best is not None
    assert result.best.metric == every.best.metric, "the search must find exhaustive search's optimum"
    print("Adult-shaped: 30,162 records, 8 quasi-identifiers, k = 5, <= 1 % suppressed, discernibility")
    print(f"  level-0 rows              {stats.rows:>10,}  (class statistics {stats_time:.3f} s, once)")
    print(f"  nodes                     {result.nodes:>10,}")
    print(f"  search                    {search_time:>10.3f} s   (CPU {cpu_time:.3f} s) evaluated {result.evaluated:,}, pruned {result.pruned:,}   (goal <= 0.3 s: {search_time / 0.3:.2f}x of it)")
    print(f"  exhaustive evaluation     {exhaustive_time:>10.3f} s   evaluated {every.evaluated:,}   (search is {exhaustive_time / search_time:.1f}x faster)")
    print(f"  optimum                   {dict(zip(result.dimensions, result.best.levels, strict=True))}, discernibility {result.best.metric:,.0f} (= exhaustive)")
    return {
        "search_seconds": search_time,
        "search_cpu_seconds": cpu_time,
        "exhaustive_seconds": exhaustive_time,
        "statistics_seconds": stats_time,
        "nodes": result.nodes,
        "evaluated": result.evaluated,
        "pruned": result.pruned,
        "level0_rows": stats.rows,
        "discernibility": result.best.metric,
    }


def large_data(rows: int, seed: int = 14) -> Path:
    """``rows`` seeded records with 4 quasi-identifiers and a diagnosis, as Parquet."""
    path = DATA / f"generalization_v2_{rows}.parquet"
    if path.exists():
        return path
    DATA.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    zips = np.array([f"{z:05d}" for z in rng.choice(np.arange(10000, 99999), size=100, replace=False)])
    diagnoses = np.array(["flu", "asthma", "diabetes", "hypertension", "migraine", "fracture", "allergy", "covid"])
    writer = None
    step = 1_000_000
    for start in range(0, rows, step):
        n = min(step, rows - start)
        age = np.clip(rng.gamma(5.5, 7.0, size=n) + 12, 17, 95).astype(np.int64)
        # admissions recorded by month (the first of the month), 2015-2019
        admitted = np.datetime64("2015-01") + rng.integers(0, 60, size=n).astype("timedelta64[M]")
        batch = pa.table(
            {
                "age": age,
                "zip": zips[rng.zipf(1.3, size=n) % len(zips)],
                "sex": rng.choice(np.array(["F", "M", "X"]), size=n, p=[0.49, 0.49, 0.02]),
                "admitted": pa.array(admitted.astype("datetime64[D]"), pa.date32()),
                "diagnosis": diagnoses[rng.integers(0, len(diagnoses), size=n)],
            }
        )
        if writer is None:
            writer = pq.ParquetWriter(path, batch.schema)
        writer.write_table(batch)
    assert writer is not None
    writer.close()
    return path


LARGE_TABLE = Table(
    name="visits",
    columns=[
        Column(name="age", type=ColumnType.INTEGER, anonymize=Levels(bands=[5, 10, 20])),
        Column(name="zip", type=ColumnType.STRING, anonymize=Levels(truncations=[4, 3, 2, 1])),
        Column(name="sex", type=ColumnType.STRING, anonymize=Levels(hierarchy=[["F", "*"], ["M", "*"], ["X", "*"]])),
        Column(name="admitted", type=ColumnType.DATE, anonymize=Levels(granularities=["year", "decade"])),
        Column(name="diagnosis", type=ColumnType.STRING),
    ],
    privacy=PrivacyTargets(
        quasi_identifiers=["age", "zip", "sex", "admitted"],
        sensitive=["diagnosis"],
        k=10,
        l=2,
        max_suppression=0.01,
        search=Search(metric="discernibility"),
    ),
)


def large(backend: Backend, rows: int, runs: int, *, k_only: bool = False) -> dict[str, Any]:
    """The whole choice against one class-statistics pass (``k_only``: k = 10 alone, no
    sensitive attribute in the statistics)."""
    path = large_data(rows)
    expr = backend.read_parquet([path], name="bench_visits")
    qis = ["age", "zip", "sex", "admitted"] + ([] if k_only else ["diagnosis"])
    table = LARGE_TABLE
    if k_only:
        assert table.privacy is not None
        table = table.model_copy(update={"privacy": table.privacy.model_copy(update={"sensitive": [], "l": None})})

    def one_pass() -> int:
        grouped = expr.group_by([expr[c] for c in qis]).aggregate(_n=expr.count())
        stored = backend.materialize(grouped, "bench_pass")
        return int(backend.to_pyarrow_batches(stored).read_all().num_rows)

    def own_pass() -> int:
        """The choice's GROUP BY for k and l = 2: the QIs alone, each class's smallest and
        largest diagnosis."""
        d = expr.diagnosis
        grouped = expr.group_by([expr[c] for c in qis[:4]]).aggregate(
            _n=expr.count(), _lo=d.min(), _hi=d.max(), _v=d.count()
        )
        stored = backend.materialize(grouped, "bench_own_pass")
        return int(backend.to_pyarrow_batches(stored).read_all().num_rows)

    one_pass()  # the file in the page cache for both
    pass_time, level0 = _median(runs, one_pass)
    choice_time, choice = _median(runs, lambda: choose_levels(backend, expr, table))
    assert table.privacy is not None
    own_time = _median(runs, own_pass)[0] if two_values_suffice(table.privacy) and not k_only else None
    report = choice.report()
    targets = "k = 10" if k_only else "+ diagnosis, k = 10, l = 2"
    print(f"\nLarge: {rows:,} records, 4 quasi-identifiers {targets}, <= 1 % suppressed ({backend.name})")
    print(f"  level-0 rows              {level0:>10,}   (the choice's class statistics: {report['class_statistics_rows']:,})")
    print(f"  one class-statistics pass {pass_time:>10.3f} s")
    print(
        f"  choice (pass + labels + search) {choice_time:>6.3f} s   = {choice_time / pass_time:.2f}x the pass (goal <= 1.5x); "
        f"search {report['search_seconds']:.3f} s, evaluated {report['nodes_evaluated']} of {report['nodes']} nodes, pruned {report['nodes_pruned']}"
    )
    if own_time is not None:
        print(f"  the choice's own GROUP BY {own_time:>10.3f} s   (QIs alone, smallest/largest diagnosis: choice = {choice_time / own_time:.2f}x it)")
    print(f"  chosen                    {report['level_names']}")
    return {
        "rows": rows,
        "pass_seconds": pass_time,
        "choice_seconds": choice_time,
        "ratio": choice_time / pass_time,
        "level0_rows": level0,
        "statistics_rows": report["class_statistics_rows"],
        "own_pass_seconds": own_time,
        **{k: report[k] for k in ("nodes", "nodes_evaluated", "nodes_pruned", "search_seconds", "levels")},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--engine", choices=["duckdb", "spark"], default="duckdb")
    parser.add_argument("--skip", choices=["adult", "large", "k-only"], action="append", default=[])
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="privetl-gen-bench-") as work:
        backend = open_backend(args.engine, work_dir=Path(work))
        try:
            if "adult" not in args.skip:
                results["adult"] = adult(backend, args.runs)
            if "large" not in args.skip:
                results["large"] = large(backend, args.rows, args.runs)
            if "k-only" not in args.skip:
                results["large_k_only"] = large(backend, args.rows, args.runs, k_only=True)
        finally:
            backend.close()
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str))


if __name__ == "__main__":
    main()
