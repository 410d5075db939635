"""Fixtures of the ETL Task Manager tests: the destination "customers" (the sample module's
contract), an editor with WRITE on it, and a draft task."""

from __future__ import annotations

import pytest

from privetl.common.context import Actor
from privetl.tasks import services
from tests.scripts.helpers import CONTRACT, connection, grant, user


@pytest.fixture
def editor(db) -> Actor:
    """A Task-Editor (EDIT_TASK) holding WRITE on the destination "customers"."""
    connection("customers", "FILE", CONTRACT)
    eddie = user("eddie", "EDIT_TASK")
    grant("eddie", "customers", "WRITE")
    return eddie


@pytest.fixture
def task(editor: Actor) -> str:
    """A draft task publishing "customers", seeded like the sample module."""
    return services.task_create(
        actor=editor, id="t1", name="Customers", ext_datamodule_id="customers", seed=42
    ).id
