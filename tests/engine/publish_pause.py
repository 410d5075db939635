"""Run privetl's command line with the publisher paused just before a version becomes visible.

The kill tests SIGKILL a run inside that window: every table's data is committed, the
version's metadata is not yet written (for PostgreSQL: the transaction is not yet committed).
The pause belongs to the tests, not to the product: this wraps the real ``publish_version``
so that its ``before_visible`` hook (which the publisher calls at exactly that point) first
runs the test's action — a sleep here — and then the caller's own hook::

    python -m tests.engine.publish_pause SECONDS run MODULE --out DIR

(run from the repository root, or with it on ``PYTHONPATH``, so that ``tests`` imports).
"""

from __future__ import annotations

import functools
import sys
import time
from collections.abc import Callable
from typing import Any

import privetl.engine.publish as publish_module
from privetl.engine import cli

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


def main(argv: list[str]) -> int:
    """``SECONDS`` then the arguments of ``privetl``; the run's publisher pauses that long.

    The runner looks ``publish_version`` up on its package when it publishes, so replacing
    it there reaches the run.
    """
    seconds, args = float(argv[0]), argv[1:]
    publish_module.publish_version = pausing(publish_module.publish_version, seconds)
    return cli.main(args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
