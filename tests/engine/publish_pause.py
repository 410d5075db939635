"""Run privetl's command line with the publisher paused just before a version becomes visible.

The kill tests SIGKILL a run inside that window: every table's data is committed, the
version's metadata is not yet written (for PostgreSQL: the transaction is not yet committed).
The pause belongs to the tests, not to the product: this wraps the real ``publish_version``
so that its ``before_visible`` hook (which the publisher calls at exactly that point) first
runs the test's action — a sleep here — and then the caller's own hook::

    python -m tests.engine.publish_pause SECONDS run MODULE --out DIR

(run from the repository root, or with it on ``PYTHONPATH``, so that ``tests`` imports).

A directory destination is published in phases (``privetl.engine.publish.delta``): every
table's files, then the tables' commits one after another, then the metadata. ``--at PHASE``
pauses at one of them instead, after touching ``MARKER`` (so the test knows the run is
there)::

    python -m tests.engine.publish_pause --at PHASE SECONDS MARKER run MODULE --out DIR

``files``: every table's files written, no commit yet; ``first-commit``: the first table
committed, the others not; ``commits``: every table committed, no metadata yet. The pauses
wrap the real ``delta.commit_table`` (which the publisher looks up on its module when it
commits) and the ``before_visible`` hook; nothing in the product knows about them.
"""

from __future__ import annotations

import functools
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import privetl.engine.publish as publish_module
from privetl.engine import cli
from privetl.engine.publish import delta

Publish = Callable[..., Any]


def before_visible_runs_first(publish: Publish, action: Callable[[], None]) -> Publish:
    """``publish`` whose ``before_visible`` hook runs ``action`` first, then the caller's hook."""

    @functools.wraps(publish)
    def wrapped(*args: Any, before_visible: Callable[[], None] | None = None, **kwargs: Any) -> Any:
        def hook() -> None:
            action()
            if before_visible is not None:
                before_visible()

        return publish(*args, before_visible=hook, **kwargs)

    return wrapped


def pausing(publish: Publish, seconds: float) -> Publish:
    """``publish`` that sleeps ``seconds`` after writing the tables, before the version is visible."""
    return before_visible_runs_first(publish, functools.partial(time.sleep, seconds))


PHASES = ("files", "first-commit", "commits")


def pause_at(phase: str, seconds: float, marker: Path) -> None:
    """Make this process's publications pause at ``phase`` (see the module docstring)."""

    def pause() -> None:
        marker.write_text(phase)
        time.sleep(seconds)

    if phase == "commits":
        publish_module.publish_version = before_visible_runs_first(publish_module.publish_version, pause)
        return
    if phase not in PHASES:
        raise SystemExit(f"unknown phase {phase!r}: one of {', '.join(PHASES)}")
    commit = delta.commit_table
    calls = []

    @functools.wraps(commit)
    def commit_table(*args: Any, **kwargs: Any) -> Any:
        first = not calls
        calls.append(1)
        if first and phase == "files":
            pause()
        snapshot = commit(*args, **kwargs)
        if first and phase == "first-commit":
            pause()
        return snapshot

    delta.commit_table = commit_table  # type: ignore[assignment]


def main(argv: list[str]) -> int:
    """``SECONDS`` (or ``--at PHASE SECONDS MARKER``) then the arguments of ``privetl``;
    the run's publisher pauses that long.

    The runner looks ``publish_version`` up on its package when it publishes, so replacing
    it there reaches the run.
    """
    if argv[0] == "--at":
        pause_at(argv[1], float(argv[2]), Path(argv[3]))
        return cli.main(argv[4:])
    seconds, args = float(argv[0]), argv[1:]
    publish_module.publish_version = pausing(publish_module.publish_version, seconds)
    return cli.main(args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
