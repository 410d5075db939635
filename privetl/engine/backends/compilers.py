"""Load only the SQL compilers a run uses: a lighter start-up.

Ibis' ``ibis.backends.sql.compilers`` package imports all twenty of its SQL compilers (Athena,
BigQuery, Trino, ...) and, through them, as many sqlglot dialects, whichever backend is
asked for: ~0.15 s of every ``privetl run`` (bench, 1M rows: a run takes ~3 s, so 5%),
for compilers the run never touches. ``install`` puts a lazy stand-in for that package in
``sys.modules`` before Ibis loads a backend: the same package (its ``__path__``, so
``ibis.backends.sql.compilers.duckdb`` imports as before), whose attributes import their
submodule on first use (``sc.duckdb``, ``sc.DuckDBCompiler``). Any other attribute — a name
this stand-in does not know — runs the package's real ``__init__`` first, so nothing that
worked before stops working; only the unused imports are skipped.
"""

from __future__ import annotations

import importlib
import importlib.util
import re
import sys
from typing import Any

PACKAGE = "ibis.backends.sql.compilers"


def install() -> None:
    """Put the lazy stand-in in place, unless the package is already imported (then it is
    loaded whole already and there is nothing to save)."""
    if PACKAGE in sys.modules:
        return
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or spec.loader is None:  # pragma: no cover - ibis is a dependency
        return
    module = importlib.util.module_from_spec(spec)
    loaded = False

    def load_whole() -> None:
        nonlocal loaded
        if not loaded:
            loaded = True
            spec.loader.exec_module(module)  # type: ignore[union-attr]

    def __getattr__(name: str) -> Any:  # noqa: N807 - the module-level hook of PEP 562
        if name.startswith("__") and name != "__all__":
            raise AttributeError(name)
        submodule = _submodule_of(name)
        if submodule is not None and importlib.util.find_spec(f"{PACKAGE}.{submodule}") is not None:
            imported = importlib.import_module(f"{PACKAGE}.{submodule}")
            return imported if submodule == name else getattr(imported, name)
        load_whole()
        return module.__dict__[name] if name in module.__dict__ else getattr(module, name)

    module.__getattr__ = __getattr__  # type: ignore[method-assign]
    sys.modules[PACKAGE] = module


def _submodule_of(name: str) -> str | None:
    """The submodule that defines ``name``: ``duckdb`` itself, ``DuckDBCompiler`` -> ``duckdb``,
    ``PySparkCompiler`` -> ``pyspark`` (the package's own naming); None for other names."""
    if re.fullmatch(r"[a-z_][a-z0-9_]*", name):
        return name
    match = re.fullmatch(r"([A-Za-z0-9]+)Compiler", name)
    return match.group(1).lower() if match else None

