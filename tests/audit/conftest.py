"""Fixtures of the Audit Logger tests: actors and a few audit records written for real."""

from __future__ import annotations

import pytest
from django.db import connection, transaction

from privetl.audit.services import audit_record
from privetl.common.context import Actor


def actor_for(user_id: str, *roles: str, impersonator_id: str | None = None) -> Actor:
    """An actor as a door would build it after authentication."""
    return Actor(
        user_id=user_id,
        roles=frozenset(roles),
        impersonator_id=impersonator_id,
        address="127.0.0.1:5555",
        request_id=f"req-{user_id}",
        door="test",
    )


def write(actor: Actor, *, action: str = "thing.change", target_id: str = "t1", **kwargs) -> str:
    """One audit record written the way services do (inside transaction.atomic); its id."""
    with transaction.atomic():
        record = audit_record(
            actor=actor,
            service=kwargs.pop("service", "things"),
            action=action,
            target_type=kwargs.pop("target_type", "thing"),
            target_id=target_id,
            **kwargs,
        )
    return record.id


postgres_only = pytest.mark.skipif(
    "connection.vendor != 'postgresql'", reason="needs PostgreSQL (set DATABASE_URL)"
)


@pytest.fixture
def vendor(db) -> str:
    """The database engine under test: 'sqlite' or 'postgresql'."""
    return connection.vendor
