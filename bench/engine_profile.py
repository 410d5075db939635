"""Where a privetl run spends its time: every backend call of one run, timed.

    .venv/bin/python bench/engine_profile.py --rows 1000000 [--engine duckdb] [--memory-limit 2GB]

Runs the bench data module of ``engine_bench.py`` (generate it first with that script) in
this process, with the backend's ``materialize``, ``count``, ``write_parquet`` and
``to_pyarrow`` calls and the extract / publish functions wrapped in timers, then prints the
calls by stage and time (the run's own ``report.json`` timings give only the stage totals).
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
CALLS: list[tuple[str, str, float]] = []
_STAGE = ["?"]


def _timed(label: str, fn: Callable[..., Any], describe: Callable[..., str] | None = None) -> Callable[..., Any]:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            what = describe(*args, **kwargs) if describe else ""
            CALLS.append((_STAGE[0], f"{label} {what}".strip(), time.perf_counter() - start))

    return wrapper


def install() -> None:
    """Wrap the backend methods and the stage boundaries in timers."""
    from privetl.engine import report as report_module
    from privetl.engine.backends.base import Backend
    from privetl.engine.backends.duckdb import DuckDBBackend

    classes: list[type] = [Backend, DuckDBBackend]
    try:
        from privetl.engine.backends.spark import SparkBackend

        classes.append(SparkBackend)
    except ImportError:
        pass
    for cls in classes:
        for name, describe in (
            ("materialize", lambda self, expr, name: name),
            ("write_parquet", lambda self, expr, path: Path(path).name),
            ("write_parquet_files", lambda self, expr, directory: Path(directory).name),
            ("count", lambda self, expr: ""),
        ):
            if name in cls.__dict__:
                setattr(cls, name, _timed(name, cls.__dict__[name], describe))

    stage = report_module.RunProgress.stage

    def tracked_stage(self: Any, name: str) -> Any:
        _STAGE[0] = name
        return stage(self, name)

    report_module.RunProgress.stage = tracked_stage  # type: ignore[method-assign]

    import privetl.engine.backends as backends_pkg

    open_backend = backends_pkg.open_backend

    def traced_open(*args: Any, **kwargs: Any) -> Any:
        backend = open_backend(*args, **kwargs)
        con = backend.con
        for name in ("to_pyarrow", "execute"):
            if hasattr(con, name):
                try:
                    setattr(con, name, _timed(f"con.{name}", getattr(con, name)))
                except (AttributeError, TypeError):
                    pass
        return backend

    backends_pkg.open_backend = traced_open

    from privetl.engine import extract as extract_pkg

    extract_pkg.extract_script = _timed(
        "extract_script", extract_pkg.extract_script, lambda script, *a, **k: script.id
    )
    import privetl.engine.publish as publish_pkg

    publish_pkg.publish_version = _timed("publish_version", publish_pkg.publish_version)
    from privetl.engine.publish import delta as delta_module

    delta_module.Store.sha256 = _timed("sha256", delta_module.Store.sha256, lambda self, rel: rel.rsplit("/", 1)[-1][:12])
    delta_module.commit_engine_table = _timed(
        "commit_engine_table", delta_module.commit_engine_table, lambda store, table, *a, **k: table
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--engine", default="duckdb", choices=["duckdb", "spark"])
    parser.add_argument("--memory-limit", default=None)
    args = parser.parse_args()
    module = HERE / "data" / f"rows-{args.rows}" / "bench-module.json"
    if not module.exists():
        raise SystemExit(f"no {module}: run bench/engine_bench.py --rows {args.rows} first")
    install()
    from privetl.engine.runner import run_module

    out = HERE / "out" / f"rows-{args.rows}" / "profile"
    out.mkdir(parents=True, exist_ok=True)
    os.environ["PRIVETL_WORK_DIR"] = str(out)
    with tempfile.TemporaryDirectory(dir=out) as tmp:
        start = time.perf_counter()
        report = run_module(
            module, out=Path(tmp) / "published", engine=args.engine, seed=1, secret=b"bench-secret",
            report_dir=Path(tmp) / "report", progress=False, memory_limit=args.memory_limit,
        )
        wall = time.perf_counter() - start
    if report.status != "succeeded":
        raise SystemExit(f"run failed: {report.error}")
    print(f"{args.rows:,} rows, engine {args.engine}: run_module {wall:.2f} s (status {report.status})")
    print("stages (s):", json.dumps(report.timings))
    print(f"{'stage':10s} {'seconds':>8s}  call")
    for stage, label, seconds in CALLS:
        if seconds >= 0.01:
            print(f"{stage:10s} {seconds:8.2f}  {label}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
