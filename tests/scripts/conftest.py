"""Fixtures of the Script Manager tests: an editor, the sample module's contract."""

from __future__ import annotations

import pytest

from privetl.common.context import Actor
from tests.scripts.helpers import CONTRACT, connection, user


@pytest.fixture
def editor(db) -> Actor:
    """A Task-Editor (role EDIT_TASK), with the sample module "customers" as a connection."""
    connection("customers", "FILE", CONTRACT)
    return user("eddie", "EDIT_TASK")
