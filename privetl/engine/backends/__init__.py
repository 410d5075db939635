"""Engines behind one interface: ``open_backend('duckdb' | 'spark', work_dir=...)``.

This package is the only place that imports duckdb / pyspark specifics; every stage builds
Ibis expressions and calls the ``Backend`` methods.
"""

from __future__ import annotations

from pathlib import Path

from privetl.engine.backends import compilers
from privetl.engine.backends.base import Backend
from privetl.engine.errors import EngineError

compilers.install()

__all__ = ["Backend", "open_backend"]


def open_backend(
    name: str,
    *,
    work_dir: Path,
    memory_limit: str | None = None,
    threads: int | None = None,
) -> Backend:
    """Open the engine named 'duckdb' or 'spark'; its temporary and spill files go under
    ``work_dir``. The name is as a person gave it (``--engine``, a task): any other is an
    ``EngineError`` that lists the choices."""
    if name == "duckdb":
        from privetl.engine.backends.duckdb import DuckDBBackend

        return DuckDBBackend(work_dir=Path(work_dir), memory_limit=memory_limit, threads=threads)
    if name == "spark":
        try:
            from privetl.engine.backends.spark import SparkBackend
        except ImportError as exc:  # pragma: no cover - pyspark is a dev dependency
            raise EngineError(f"engine 'spark' needs pyspark: {exc}") from exc
        return SparkBackend(work_dir=Path(work_dir), memory_limit=memory_limit, threads=threads)
    raise EngineError(f"unknown engine {name!r}: choose 'duckdb' or 'spark'")
