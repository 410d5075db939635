"""The outbox pages' fixtures: the run's work directory, the Data-Manager signed in, and a
real entry (``tests.data.helpers.make_entry``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from tests.data.helpers import Entry, make_entry
from tests.scripts.helpers import connection, grant, ui_login, user

login = ui_login
"""The outbox tests' name for the one UI login helper."""


@pytest.fixture
def work(settings: Any, tmp_path: Path) -> Path:
    settings.RUN_WORK_DIR = tmp_path
    return tmp_path


@pytest.fixture
def dana(client: Client) -> Client:
    """The Data-Manager, allowed to read the module, signed in."""
    connection("people")
    user("dana", "MANAGE_DATA")
    grant("dana", "people", "READ")
    login(client, "dana")
    return client


@pytest.fixture
def entry(work: Path, dana: Client) -> Entry:
    return make_entry(work)
