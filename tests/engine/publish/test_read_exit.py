"""A read that aborts at exit: an ML user's script that reads a published version must exit
with status 0 after the read, every time — the README's snippet, and privetl's own reader.

With deltalake's default (Python) filesystem, a few percent of such processes abort at exit
("terminate called without an active exception", status 134); each test below runs its
reader in a fresh process several times so that a regression shows."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from privetl.demo.engine_job import copy_sample_module
from privetl.engine.publish import read_table
from privetl.engine.runner import run_module

REPO = Path(__file__).resolve().parents[3]
TIMES = 15


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample module run once; its destination."""
    tmp = tmp_path_factory.mktemp("read-exit")
    module = copy_sample_module(tmp / "module")
    report = run_module(module, out=tmp / "out", report_dir=tmp / "report", secret=b"s", progress=False)
    assert report.status == "succeeded", report.error
    return tmp / "out"


def _readme_snippet() -> str:
    """The README's code that loads a published version (section 'Loading a published version')."""
    readme = (REPO / "README.md").read_text()
    section = readme.split("## Loading a published version", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert match, "the README has no Python snippet under 'Loading a published version'"
    return match.group(1)


def _exit_codes(code: str, cwd: Path) -> list[tuple[int, str]]:
    results = []
    for _ in range(TIMES):
        done = subprocess.run(
            [sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, timeout=120
        )
        results.append((done.returncode, done.stdout.strip() or done.stderr.strip()[-200:]))
    return results


def test_the_readme_snippet_exits_cleanly_every_time(published: Path) -> None:
    snippet = _readme_snippet()
    assert 'root = "out"' in snippet
    rows = read_table(published, "customers").num_rows
    results = _exit_codes(snippet, published.parent)  # the snippet's "out" is this destination
    assert results == [(0, str(rows))] * TIMES


def test_privetls_reader_exits_cleanly_every_time(published: Path) -> None:
    code = (
        "from privetl.engine.publish import read_table\n"
        f"print(read_table({str(published)!r}, 'customers', 2).num_rows)\n"
    )
    rows = read_table(published, "customers", 2).num_rows
    assert _exit_codes(code, REPO) == [(0, str(rows))] * TIMES


def test_privetls_reader_keeps_python_out_of_pyarrows_io_threads(
    published: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The cause, checked every time (the abort itself shows in only a few percent of
    processes): deltalake's Python filesystem handler is never what the scan reads through."""
    import deltalake.fs

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("read through deltalake's Python filesystem handler")

    monkeypatch.setattr(deltalake.fs.DeltaStorageHandler, "from_table", refuse)
    assert read_table(published, "customers", 2).num_rows > 0
