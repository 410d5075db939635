"""The query budget of GetAllConnection and GetConnection on both doors: flat in the number
of connections, of grants other users hold, and of the caller's own grants and requests.

Data comes in two sizes; each call must cost the same number of queries on both, within
the budget: one to authenticate, the page of connections, the grants that describe it.
"""

from __future__ import annotations

import pytest
from django.db import connection as db
from django.test import Client
from django.test.utils import CaptureQueriesContext

from privetl._gen.etl.datamodule.manager.V1 import datamodule_manager_pb2 as pb
from privetl.datamodules.grpc import ExtDatamoduleManagerServicer
from privetl.datamodules.models import Connection
from privetl.platform import auth
from privetl.platform.auth import token_issue
from privetl.users.models import AccessRequest, User
from tests.users.grpc_helpers import InThreadContext

PAGE = 25
AUTH = 1
BUDGET = {"list": AUTH + 2, "get": AUTH + 2}


def _data(connections: int, grants_per_connection: int) -> None:
    auth.VERIFIED_TOKENS.clear()
    AccessRequest.objects.all().delete()
    Connection.objects.all().delete()
    User.objects.exclude(pk__in=["root", "alice", "carol"]).delete()
    users = [f"u{n:03d}" for n in range(grants_per_connection)]
    User.objects.bulk_create(User(id=u, name=u) for u in users)
    Connection.objects.bulk_create(
        Connection(
            id=f"c{n:04d}",
            name=f"C {n}",
            type="SQL",
            connection_string_ciphertext="gAAAA-not-read",
            connection_string_redacted="postgresql://etl:***@db/x",
            created_by="carol",
        )
        for n in range(connections)
    )
    rows = []
    for n in range(connections):
        cid = f"c{n:04d}"
        rows.append(
            AccessRequest(
                id=f"o{n}", user_id="carol", ext_datamodule_id=cid, owner=True, state="approved"
            )
        )
        rows += [
            AccessRequest(
                id=f"g{n}-{u}",
                user_id=u,
                ext_datamodule_id=cid,
                read=True,
                owner=(i == 0),
                state="approved",
            )
            for i, u in enumerate(users)
        ]
        if n % 3 == 0:
            rows.append(
                AccessRequest(
                    id=f"a{n}", user_id="alice", ext_datamodule_id=cid, read=True, state="approved"
                )
            )
        elif n % 3 == 1:
            rows.append(
                AccessRequest(id=f"p{n}", user_id="alice", ext_datamodule_id=cid, write=True)
            )
    AccessRequest.objects.bulk_create(rows)


def _rest_counts(path: str, params: dict[str, object]) -> int:
    client = Client()
    header = {"HTTP_AUTHORIZATION": f"Bearer {token_issue(user_id='alice')}"}
    client.get(path, params, **header)  # first use: the login record
    with CaptureQueriesContext(db) as queries:
        response = client.get(path, params, **header)
    assert response.status_code == 200, response.content
    return len(queries)


@pytest.mark.parametrize(
    "door",
    [
        pytest.param("rest", marks=pytest.mark.django_db),
        # the gRPC door closes stale connections, as in a server: outside a test transaction
        pytest.param("grpc", marks=pytest.mark.django_db(transaction=True)),
    ],
)
def test_get_all_connection_costs_the_same_whatever_the_data(alice, carol, door) -> None:
    counts = []
    for connections, grants in ((PAGE + 5, 2), (PAGE * 4, 12)):
        _data(connections, grants)
        if door == "rest":
            counts.append(_rest_counts("/api/v1/connections", {"page_size": PAGE}))
            counts.append(_rest_counts("/api/v1/connections/c0001", {}))
        else:
            servicer = ExtDatamoduleManagerServicer()
            token = token_issue(user_id="alice")
            servicer.GetAllConnection(
                pb.GetAllConnectionRequest(page_size=PAGE), InThreadContext(token)
            )
            with CaptureQueriesContext(db) as listed:
                page = servicer.GetAllConnection(
                    pb.GetAllConnectionRequest(page_size=PAGE), InThreadContext(token)
                )
            with CaptureQueriesContext(db) as got:
                one = servicer.GetConnection(
                    pb.GetConnectionRequest(connection_id="c0001"), InThreadContext(token)
                )
            assert len(page.connections) == PAGE and page.next_page_token
            assert [c.caller_access for c in page.connections[:3]] == [
                pb.GRANTED,
                pb.REQUESTED,
                pb.NONE,
            ]
            assert one.connection.caller_access == pb.REQUESTED
            counts += [len(listed), len(got)]
    assert counts[0] == counts[2] <= BUDGET["list"], counts
    assert counts[1] == counts[3] <= BUDGET["get"], counts
