"""Two creators of the same connection id at the same moment: exactly one wins, and the
loser leaves nothing behind — no connection, no grant, no audit record (PostgreSQL, threads)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from privetl.audit.models import AuditLog
from privetl.common.errors import AlreadyExists, PrivetlError
from privetl.datamodules import services
from privetl.datamodules.models import Connection
from privetl.users import services as user_services
from privetl.users.models import AccessRequest
from tests.users.conftest import actor_for

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _postgres_only() -> None:
    if connection.vendor != "postgresql":
        pytest.skip(
            "concurrent writers are exercised on PostgreSQL (run with DATABASE_URL=postgres://...)"
        )


def _race(connection_id: str, creators: tuple[str, ...], directory: str) -> dict[str, object]:
    """Let every creator create ``connection_id`` at once (a barrier releases them together)."""
    barrier = threading.Barrier(len(creators))
    outcomes: dict[str, object] = {}

    def create(user_id: str) -> None:
        try:
            barrier.wait(timeout=10)
            outcomes[user_id] = services.connection_create(
                actor=actor_for(user_id, "CREATE_EXT_DATAMODULE"),
                id=connection_id,
                name="Race",
                type="FILE",
                connection_string=directory,
            )
        except PrivetlError as exc:
            outcomes[user_id] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=create, args=(u,)) for u in creators]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    return outcomes


def test_concurrent_creates_of_one_id_have_one_winner(admin, carol, tmp_path) -> None:
    user_services.user_create(actor=admin, id="cora", name="Cora Creator")
    user_services.user_role_add(actor=admin, user_id="cora", role="CREATE_EXT_DATAMODULE")
    for round_no in range(5):
        connection_id = f"race-{round_no}"
        outcomes = _race(connection_id, ("carol", "cora"), str(tmp_path))
        winners = [u for u, v in outcomes.items() if isinstance(v, services.ConnectionCreated)]
        losers = [u for u, v in outcomes.items() if isinstance(v, AlreadyExists)]
        assert len(winners) == 1 and len(losers) == 1, outcomes
        stored = Connection.objects.get(pk=connection_id)
        assert stored.created_by == winners[0]
        owners = list(
            AccessRequest.objects.filter(ext_datamodule_id=connection_id).values_list(
                "user_id", flat=True
            )
        )
        assert owners == winners
        assert (
            AuditLog.objects.filter(action="connection.create", target_id=connection_id).count()
            == 1
        )
