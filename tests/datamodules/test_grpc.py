"""The gRPC door, over a real channel to the platform's server on a free loopback port."""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import pytest
from google.protobuf.field_mask_pb2 import FieldMask

from privetl._gen.etl.datamodule.manager.V1 import datamodule_manager_pb2 as pb
from privetl._gen.etl.datamodule.manager.V1 import datamodule_manager_pb2_grpc as pb_grpc
from privetl._gen.etl.user.manager.V1 import user_manager_pb2 as upb
from privetl._gen.etl.user.manager.V1 import user_manager_pb2_grpc as upb_grpc
from privetl.datamodules.models import Connection
from privetl.platform.auth import token_issue
from privetl.users.models import AccessRequest
from tests.users.grpc_helpers import running_server

pytestmark = pytest.mark.django_db(transaction=True)

PG = "postgresql://etl:pw-Secret1@db.example:5432/shop?password=pw-Secret2"


class Caller:
    """A stub of one service that sends one user's bearer token with every call."""

    def __init__(self, stub: object, token: str | None) -> None:
        self.stub = stub
        self.metadata = (("authorization", f"Bearer {token}"),) if token else ()

    def __getattr__(self, method: str):
        rpc = getattr(self.stub, method)
        return lambda request: rpc(request, metadata=self.metadata, timeout=30)


@pytest.fixture
def channel(transactional_db) -> Iterator[grpc.Channel]:
    with running_server() as port, grpc.insecure_channel(f"127.0.0.1:{port}") as ch:
        yield ch


@pytest.fixture
def as_user(channel):
    def make(user_id: str | None) -> Caller:
        token = token_issue(user_id=user_id) if user_id else None
        return Caller(pb_grpc.ExtDatamoduleManagerStub(channel), token)

    return make


def _code(call, request) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as exc:
        call(request)
    assert exc.value.details()
    return exc.value


def _connection(**kw) -> pb.Connection:
    given = {"id": "shop", "name": "Shop DB", "type": pb.SQL, "connection_string": PG, **kw}
    return pb.Connection(**given)


def test_every_rpc(as_user, carol, dave, alice, contract, tmp_path) -> None:
    rpc = as_user("carol")
    created = rpc.CreateConnection(
        pb.CreateConnectionRequest(
            connection=_connection(owner_user_ids=["dave"], contract=contract)
        )
    )
    assert created.result and created.connection_id == "shop"
    assert list(created.owner_user_ids) == ["carol", "dave"]

    got = as_user("alice").GetConnection(pb.GetConnectionRequest(connection_id="shop")).connection
    assert got.connection_string == ""
    assert (
        got.connection_string_redacted == "postgresql://etl:***@db.example:5432/shop?password=***"
    )
    assert got.type == pb.SQL and got.caller_access == pb.NONE
    assert list(got.owner_user_ids) == ["carol", "dave"] and got.contract == contract
    assert got.created_at.seconds > 0 and got.created_by == "carol"

    rpc.CreateConnection(
        pb.CreateConnectionRequest(
            connection=_connection(id="files", type=pb.FILE, connection_string=str(tmp_path))
        )
    )
    page = as_user("dave").GetAllConnection(pb.GetAllConnectionRequest(page_size=1))
    assert [c.id for c in page.connections] == ["files"] and page.next_page_token
    rest = as_user("dave").GetAllConnection(
        pb.GetAllConnectionRequest(page_size=1, page_token=page.next_page_token)
    )
    assert [
        (c.id, c.caller_access, list(c.caller_access_types), c.contract) for c in rest.connections
    ] == [("shop", pb.GRANTED, ["OWNER"], "")]
    assert rest.next_page_token == ""
    files = as_user("dave").GetAllConnection(pb.GetAllConnectionRequest(type=pb.FILE))
    assert [c.id for c in files.connections] == ["files"]

    updated = rpc.UpdateConnection(
        pb.UpdateConnectionRequest(
            connection=pb.Connection(id="shop", description="the shop"),
            update_mask=FieldMask(paths=["description"]),
        )
    )
    assert updated.result and updated.connection.description == "the shop"
    assert updated.connection.name == "Shop DB" and updated.connection.connection_string == ""

    tested = rpc.TestConnection(pb.TestConnectionRequest(connection_id="files", timeout_seconds=2))
    assert tested.ok and "exists" in tested.message and tested.tested_at.seconds > 0


def test_errors_have_their_status_and_change_nothing(as_user, channel, carol, alice) -> None:
    assert _code(as_user(None).GetAllConnection, pb.GetAllConnectionRequest()).code() == (
        grpc.StatusCode.UNAUTHENTICATED
    )
    create = pb.CreateConnectionRequest(connection=_connection())
    assert (
        _code(as_user("alice").CreateConnection, create).code() == grpc.StatusCode.PERMISSION_DENIED
    )
    rpc = as_user("carol")
    bad = pb.CreateConnectionRequest(connection=_connection(type=pb.CONNECTION_TYPE_UNSPECIFIED))
    assert _code(rpc.CreateConnection, bad).code() == grpc.StatusCode.INVALID_ARGUMENT
    unknown_enum = pb.CreateConnectionRequest(connection=_connection(type=42))
    assert _code(rpc.CreateConnection, unknown_enum).code() == grpc.StatusCode.INVALID_ARGUMENT
    assert not Connection.objects.exists() and not AccessRequest.objects.exists()
    rpc.CreateConnection(create)
    assert _code(rpc.CreateConnection, create).code() == grpc.StatusCode.ALREADY_EXISTS
    assert _code(rpc.GetConnection, pb.GetConnectionRequest(connection_id="nosuch")).code() == (
        grpc.StatusCode.NOT_FOUND
    )
    assert _code(rpc.GetAllConnection, pb.GetAllConnectionRequest(page_size=501)).code() == (
        grpc.StatusCode.INVALID_ARGUMENT
    )
    mask = pb.UpdateConnectionRequest(
        connection=pb.Connection(id="shop", name="x"), update_mask=FieldMask(paths=["nonsense"])
    )
    assert _code(rpc.UpdateConnection, mask).code() == grpc.StatusCode.INVALID_ARGUMENT
    rename = pb.UpdateConnectionRequest(
        connection=pb.Connection(id="shop", name="x"), update_mask=FieldMask(paths=["name"])
    )
    assert (
        _code(as_user("alice").UpdateConnection, rename).code() == grpc.StatusCode.PERMISSION_DENIED
    )
    assert _code(
        as_user("alice").TestConnection, pb.TestConnectionRequest(connection_id="shop")
    ).code() == (grpc.StatusCode.PERMISSION_DENIED)
    assert _code(
        rpc.TestConnection, pb.TestConnectionRequest(connection_id="shop", timeout_seconds=-1)
    ).code() == (grpc.StatusCode.INVALID_ARGUMENT)
    rpc.CreateConnection(
        pb.CreateConnectionRequest(
            connection=_connection(id="rpc", type=pb.GRPC, connection_string="grpc://127.0.0.1:1")
        )
    )
    unsupported = _code(rpc.TestConnection, pb.TestConnectionRequest(connection_id="rpc"))
    assert unsupported.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "not supported yet" in unsupported.details()
    assert Connection.objects.get(pk="shop").name == "Shop DB"
    # AddAccess through the User Manager's door: an id that is no connection is NOT_FOUND
    users = Caller(upb_grpc.UserManagerStub(channel), token_issue(user_id="alice"))
    add = upb.AddAccessRequest(
        user_id="alice",
        access=upb.ExtDatamoduleAccess(ext_datamodule_id="nosuch", access_types=[upb.READ]),
    )
    assert _code(users.AddAccess, add).code() == grpc.StatusCode.NOT_FOUND
