"""Suite-wide fixtures and markers.

Tests under ``tests/engine`` never touch Django or a database: they are marked
``engine_only`` and run once (the PostgreSQL pass of ``make test`` skips them).
"""

from __future__ import annotations

from pathlib import Path

import pytest

ENGINE_TESTS = Path(__file__).parent / "engine"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "engine_only: framework-free engine test")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if ENGINE_TESTS in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.engine_only)
