"""Fixtures of the Script Manager tests: an editor, the sample module's contract."""

from __future__ import annotations

import pytest

from privetl.common.context import Actor
from tests.scripts.helpers import CONTRACT, connection, task_row, user


@pytest.fixture
def editor(db) -> Actor:
    """A Task-Editor (role EDIT_TASK), with the sample module "customers" as a connection
    and a draft task "t1" for scripts to belong to."""
    connection("customers", "FILE", CONTRACT)
    task_row("t1")
    return user("eddie", "EDIT_TASK")
