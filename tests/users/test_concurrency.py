"""Two owners deciding the same request at the same moment: exactly one wins (PostgreSQL, threads)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from privetl.common.errors import FailedPrecondition, PrivetlError
from privetl.users import services
from privetl.users.models import AccessRequest
from tests.users.conftest import actor_for

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _postgres_only() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("row locks are exercised on PostgreSQL (run with DATABASE_URL=postgres://...)")


def _race(request_id: str, deciders: dict[str, bool]) -> dict[str, object]:
    """Let every owner decide at once (a barrier releases them together); outcome per owner."""
    barrier = threading.Barrier(len(deciders))
    outcomes: dict[str, object] = {}

    def decide(owner: str, approve: bool) -> None:
        try:
            barrier.wait(timeout=10)
            decided = services.access_request_decide(
                actor=actor_for(owner),
                access_request_id=request_id,
                owner_user_id=owner,
                approve=approve,
            )
            outcomes[owner] = decided.state
        except PrivetlError as exc:
            outcomes[owner] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=decide, args=item) for item in deciders.items()]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    return outcomes


def test_concurrent_decisions_have_one_winner(admin, alice, olga) -> None:
    services.user_create(actor=admin, id="omar", name="Omar Owner")
    second_owner = services.access_request_file(
        actor=actor_for("omar"),
        user_id="omar",
        ext_datamodule_id="customers",
        access_types=["OWNER"],
    )
    services.access_request_decide(
        actor=olga, access_request_id=second_owner.id, owner_user_id="olga", approve=True
    )
    for round_no in range(8):
        request = services.access_request_file(
            actor=alice,
            user_id="alice",
            ext_datamodule_id="customers",
            access_types=["READ"],
            request_id=f"race-{round_no}",
        )
        outcomes = _race(request.id, {"olga": True, "omar": False})
        winners = {k: v for k, v in outcomes.items() if isinstance(v, str)}
        losers = {k: v for k, v in outcomes.items() if isinstance(v, FailedPrecondition)}
        assert len(winners) == 1 and len(losers) == 1, outcomes
        [(winner, state)] = winners.items()
        stored = AccessRequest.objects.get(pk=request.id)
        assert (stored.state, stored.decided_by) == (state, winner)
        if stored.state == "approved":  # leave the module clean for the next round
            services.access_request_remove(
                actor=alice, user_id="alice", access_request_id=request.id
            )
