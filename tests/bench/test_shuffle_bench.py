"""The shuffle bench's plans publish the same rows (``bench/shuffle_bench.py``): the README's
figures for the positional and gather plans compare like with like only if each computes the
engine's shuffle exactly, so the bench exits non-zero when a plan's rows differ."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

pytestmark = pytest.mark.engine_only

BENCH = Path(__file__).resolve().parents[2] / "bench"


def test_every_shuffle_plan_publishes_the_join_backs_rows(engine_bench: ModuleType, tmp_path: Path) -> None:
    engine_bench.generate(20_000, tmp_path)

    proc = subprocess.run(
        [sys.executable, str(BENCH / "shuffle_bench.py"), "--data", str(tmp_path), "--runs", "1"],
        capture_output=True, text=True, timeout=300,
    )

    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "rows of 'join back' missing from 'positional' 0, from 'gather' 0" in proc.stdout
    published = int(proc.stdout.split("rows published ")[1].split(";")[0].replace(",", ""))
    assert 18_000 < published < 20_000  # both sources less the rejected duplicates
    assert "leaked" not in proc.stderr  # nanobind's report at exit of a connection cycle
