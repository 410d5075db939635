"""Fixtures of the User Manager tests: actors and a few users made through the services."""

from __future__ import annotations

import pytest

from privetl.common.context import Actor
from privetl.users import services


def actor_for(user_id: str, *roles: str, impersonator_id: str | None = None) -> Actor:
    """An actor as a door would build it after authentication."""
    return Actor(
        user_id=user_id, roles=frozenset(roles), impersonator_id=impersonator_id, door="test"
    )


@pytest.fixture
def admin(db) -> Actor:
    """An ADMIN made by the bootstrap path (``privetl createadmin``)."""
    services.user_bootstrap_admin(id="root", name="Root Admin")
    return actor_for("root", "ADMIN")


@pytest.fixture
def alice(admin: Actor) -> Actor:
    """A plain user who asks for access."""
    services.user_create(
        actor=admin, id="alice", name="Alice Requester", email="alice@example.test"
    )
    return actor_for("alice")


@pytest.fixture
def olga(admin: Actor) -> Actor:
    """The owner of module "customers" (made owner through the admin bootstrap)."""
    services.user_create(actor=admin, id="olga", name="Olga Owner", email="olga@example.test")
    olga = actor_for("olga")
    request = services.access_request_file(
        actor=olga, user_id="olga", ext_datamodule_id="customers", access_types=["OWNER"]
    )
    services.access_request_decide(
        actor=admin, access_request_id=request.id, owner_user_id="root", approve=True
    )
    return olga


@pytest.fixture
def bob(admin: Actor) -> Actor:
    """A bystander with no rights on anything."""
    services.user_create(actor=admin, id="bob", name="Bob Bystander")
    return actor_for("bob")
