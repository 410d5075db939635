"""Shared engine fixtures: one DuckDB and one Spark backend per test run.

- ``duckdb_backend``: ``open_backend("duckdb")`` in a session temp dir (memory limit 1GB,
  2 threads). Tables created by one test may be replaced by another's of the same name; the
  pipeline names its intermediate tables per run, so tests do not collide.
- ``spark_backend``: ``open_backend("spark")`` in local[2] mode, started once (the JVM costs
  ~7 s) and stopped at the end of the run; skipped with the reason when pyspark or Java is
  missing. Use it only from tests marked ``@pytest.mark.spark``.
"""

from __future__ import annotations

import importlib.util
import logging
import shutil
from collections.abc import Iterator

import pytest

from privetl.engine.backends import Backend, open_backend

# py4j logs at INFO while the interpreter exits, after pytest has closed its streams.
logging.getLogger("py4j").setLevel(logging.WARNING)


@pytest.fixture(scope="session")
def duckdb_backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backend]:
    """One embedded DuckDB backend for the whole run."""
    backend = open_backend("duckdb", work_dir=tmp_path_factory.mktemp("duckdb"), memory_limit="1GB", threads=2)
    yield backend
    backend.close()


@pytest.fixture(scope="session")
def spark_backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backend]:
    """One local[2] Spark backend for the whole run (skipped without pyspark or Java)."""
    if importlib.util.find_spec("pyspark") is None:
        pytest.skip("pyspark is not installed")
    if shutil.which("java") is None:
        pytest.skip("Spark needs Java: no `java` on PATH")
    backend = open_backend("spark", work_dir=tmp_path_factory.mktemp("spark"), threads=2)
    yield backend
    backend.session.stop()  # type: ignore[attr-defined]
