"""The bench's Polars trial (``bench/ibis_polars.py``) runs the one pipeline and agrees with
pandas value by value: the engine choice in the README rests on its figures, so the trial
must stay a run of the same rules, not a different computation that happens to be timed."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

pytestmark = pytest.mark.engine_only

BENCH = Path(__file__).resolve().parents[2] / "bench"


def test_polars_trial_publishes_what_pandas_computes(engine_bench: ModuleType, tmp_path: Path) -> None:
    data, out = tmp_path / "data", tmp_path / "out"
    # 100k rows: enough records per class that k = 5 holds within the suppression limit
    engine_bench.generate(100_000, data)
    engine_bench.module_document(data, out)

    detail = engine_bench.variant_privetl(data, out / "privetl", "polars", None)
    engine_bench.variant_pandas(data, out / "pandas", "polars", None)

    assert detail["rows_out"]["customers"] > 90_000
    assert detail["rows_out"]["orders"] > 90_000
    assert engine_bench.compare_outputs(out) == {"customers": "identical", "orders": "identical"}


def test_polars_trial_refuses_a_memory_limit() -> None:
    import subprocess

    proc = subprocess.run(
        [sys.executable, str(BENCH / "engine_bench.py"), "--engine", "polars", "--memory-limit", "1GB"],
        capture_output=True, text=True,
    )
    assert proc.returncode == 2
    assert "the Polars trial keeps its tables in memory" in proc.stderr


def test_polars_trial_rules_compute_what_duckdb_computes() -> None:
    """Each rule the trial adds to Ibis' Polars compiler, on values where a naive
    translation differs: halves, negative shifts, ties broken by a second key, nulls in a
    null-safe join."""
    import ibis
    import pyarrow as pa

    spec = importlib.util.spec_from_file_location("ibis_polars", BENCH / "ibis_polars.py")
    trial = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(trial)

    t = ibis.memtable(pa.table({
        "k": pa.array([5, -5, 2**40, -(2**62), 7, 8], pa.int64()),
        "g": ["a", "a", "b", "b", "b", None],
        "x": [2.5, -2.5, 0.5, 1.5, -0.5, 3.0],
    }))
    w = ibis.window(order_by=[t.x, t.k])
    by_group = ibis.window(group_by=t.g, order_by=[ibis.desc(t.x), t.k])
    windows = t.mutate(
        r=t.x.round(0),
        s=t.k >> 31,
        n=ibis.row_number().over(by_group),
        nxt=t.x.lead().over(w),
        first=t.x.first(include_null=True).over(w),
        cum=t.x.sum().over(ibis.window(order_by=[t.k], preceding=None, following=0)),
    )
    classes = ibis.memtable(pa.table({"g": ["b", None], "size": [3, 1]}))
    joined = t.join(classes, t.g.identical_to(classes.g)).select(t.k, classes.size)

    def result(con, expr):
        return con.to_pyarrow(expr.order_by("k")).to_pylist()

    duck, polars = ibis.duckdb.connect(), ibis.polars.connect()
    assert result(polars, windows) == result(duck, windows)
    assert result(polars, joined) == result(duck, joined)
    rounded = {row["x"]: row["r"] for row in result(polars, windows)}
    assert rounded[2.5] == 3 and rounded[-2.5] == -3  # SQL's halves, not Polars' to-even
    assert trial.PolarsBackend.name == "polars"
