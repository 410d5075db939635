"""Fixtures of the ExtDatamodule Manager tests: users made through the User Manager's services,
a creator holding CREATE_EXT_DATAMODULE, and a valid contract."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from privetl.common.context import Actor
from privetl.users import services as user_services
from tests.users.conftest import actor_for, admin, alice, bob  # noqa: F401 - fixtures

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "customers" / "module.json"


def contract_document() -> dict[str, Any]:
    """The sample module's schema (its tables, columns, keys), without where data comes from."""
    doc = json.loads(EXAMPLE.read_text())
    doc.pop("privetl:collectionProtocol", None)
    doc.pop("privetl:upload", None)
    return copy.deepcopy(doc)


@pytest.fixture
def contract() -> str:
    """A valid contract as the text a client sends."""
    return json.dumps(contract_document())


@pytest.fixture
def carol(admin: Actor) -> Actor:  # noqa: F811
    """A user who may create connections (role CREATE_EXT_DATAMODULE)."""
    user_services.user_create(
        actor=admin, id="carol", name="Carol Creator", email="carol@example.test"
    )
    user_services.user_role_add(actor=admin, user_id="carol", role="CREATE_EXT_DATAMODULE")
    return actor_for("carol", "CREATE_EXT_DATAMODULE")


@pytest.fixture
def dave(admin: Actor) -> Actor:  # noqa: F811
    """A second owner named at creation."""
    user_services.user_create(actor=admin, id="dave", name="Dave Owner", email="dave@example.test")
    return actor_for("dave")
