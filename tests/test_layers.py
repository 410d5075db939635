"""The layer rules of pyproject.toml catch what they promise to catch.

Each case copies the package into a temporary directory, plants one import against a rule
(at module level or hidden inside a function) and runs the real ``lint-imports`` on the
copy with the repository's own configuration: the contract must break, naming the import.
The untouched copy must pass, so a failure is the planted import and nothing else.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


@pytest.fixture(scope="module")
def package_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of ``privetl/`` and ``pyproject.toml`` to plant imports in."""
    where = tmp_path_factory.mktemp("layers")
    shutil.copytree(
        ROOT / "privetl", where / "privetl", ignore=shutil.ignore_patterns("__pycache__")
    )
    shutil.copy(ROOT / "pyproject.toml", where / "pyproject.toml")
    return where


def _lint(where: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(where)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=where,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_repository_keeps_its_layers(package_copy: Path) -> None:
    result = _lint(package_copy)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "planted", "broken"),
    [
        # common imports no app — not even inside a function
        (
            "common/errors.py",
            "def _hidden():\n    from privetl.users import models  # noqa\n",
            "privetl.common is not allowed to import privetl.users",
        ),
        # the audit app sits below the service apps
        (
            "audit/services.py",
            "import privetl.users.selectors  # noqa\n",
            "privetl.audit is not allowed to import privetl.users",
        ),
        # a service app's writers never reach up into the platform (auth, doors, servers)
        (
            "users/services.py",
            "def _hidden():\n    from privetl.platform import auth  # noqa\n",
            "privetl.users is not allowed to import privetl.platform",
        ),
        # nor through the app's own doors
        (
            "users/selectors.py",
            "def _hidden():\n    from privetl.users import api  # noqa\n",
            "privetl.users.selectors is not allowed to import privetl.users.api",
        ),
        # the platform never imports config
        (
            "platform/rest.py",
            "import privetl.config.urls  # noqa\n",
            "privetl.platform is not allowed to import privetl.config",
        ),
        # the engine knows nothing of Django or the platform
        (
            "engine/errors.py",
            "def _hidden():\n    import django  # noqa\n",
            "privetl.engine is not allowed to import django",
        ),
    ],
)
def test_an_import_against_the_layers_breaks_the_contract(
    package_copy: Path, module: str, planted: str, broken: str
) -> None:
    target = package_copy / "privetl" / module
    original = target.read_text()
    try:
        target.write_text(original + "\n\n" + planted)
        result = _lint(package_copy)
    finally:
        target.write_text(original)
    assert result.returncode != 0, result.stdout
    assert broken in result.stdout, result.stdout
