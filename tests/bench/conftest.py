"""The bench scripts are files, not a package: tests load ``bench/engine_bench.py`` (its data
generator and variants) by path, once per session."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"


@pytest.fixture(scope="session")
def engine_bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("engine_bench", BENCH / "engine_bench.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("engine_bench", module)
    spec.loader.exec_module(module)
    return module
