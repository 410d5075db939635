"""The engine part of `make demo`: publish the shipped sample data module and print the report.

The sample module (examples/customers) is copied into ./var/demo-out/module so the demo never
writes into the source tree; its legacy SQLite source is built there from the committed SQL
script. The run publishes into ./var/demo-out/published, which is emptied first, so every demo
run publishes version 2 (the document says version 1).

The demo uses a fixed, demo-only anonymization secret so its output is reproducible; real
runs take theirs from PRIVETL_ANONYMIZATION_SECRET.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "customers"
DEMO_OUT = Path("var/demo-out")
DEMO_SECRET = b"demo-only-secret-not-for-real-data"


def copy_sample_module(target: Path) -> Path:
    """Copy the sample module into ``target`` with its SQLite source built; its document's path.

    The demo and the engine's tests both start from such a copy, so neither writes into the
    source tree.
    """
    spec = importlib.util.spec_from_file_location(
        "privetl_example_generate", EXAMPLE / "generate.py"
    )
    if spec is None or spec.loader is None:
        raise RuntimeError(f"cannot load {EXAMPLE / 'generate.py'}: is the sample module there?")
    generate = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generate)
    shutil.copytree(EXAMPLE, target, ignore=shutil.ignore_patterns("*.sqlite", "__pycache__"))
    generate.build_sqlite(target)
    return target / "module.json"


def run_engine_job(out_dir: Path = DEMO_OUT) -> None:
    """Run the sample module on the embedded default (DuckDB) and print its report.

    Raises SystemExit with the CLI's exit code when the run fails.
    """
    from privetl.engine.report import render_summary
    from privetl.engine.runner import run_module

    out_dir = out_dir.resolve()
    module_dir = out_dir / "module"
    published = out_dir / "published"
    shutil.rmtree(out_dir, ignore_errors=True)
    document = copy_sample_module(module_dir)
    secret = os.environ.get("PRIVETL_ANONYMIZATION_SECRET", "").encode() or DEMO_SECRET
    report = run_module(
        document,
        out=published,
        engine="duckdb",
        secret=secret,
        report_dir=out_dir / "report",
    )
    print(render_summary(report), flush=True)
    if report.status != "succeeded":
        raise SystemExit(3)
    print(f"\npublished: {published}/metadata.json (version {report.version_published})")
