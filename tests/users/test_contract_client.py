"""A client generated from the GIVEN contract (only defect 1 fixed) works against ``privetl serve``.

The old client knows nothing of request states, so the server must never put a pending
request in ``User.ext_datamodule_accesses`` (field 4). The client runs in its own Python
process: its generated module declares the same protobuf names as ours, and one process
cannot hold both in the default descriptor pool.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import grpc_tools
import pytest
from grpc_tools import protoc

from tests.users.serve_helpers import ONCE, Served, serve

# The repository's copy of the given contract, with only its compile defect fixed (the
# message renamed to ApproveAccessRequestRequest; rpc name and field numbers unchanged).
GIVEN_CONTRACT = (
    Path(__file__).resolve().parents[1] / "contracts/given/etl/user/manager/V1/user_manager.proto"
)

pytestmark = [pytest.mark.slow, ONCE]

CLIENT = textwrap.dedent(
    """
    import json, sys
    import grpc
    import user_manager_pb2 as pb, user_manager_pb2_grpc as pb_grpc

    phase, port, admin, alice, olga = (sys.argv[1:] + ["", ""])[:5]
    out = {}
    def md(token):
        return (("authorization", "Bearer " + token),)
    with grpc.insecure_channel("127.0.0.1:" + port) as channel:
        stub = pb_grpc.UserManagerStub(channel)
        if phase == "create":
            for uid, name in (("alice", "Alice Old-Client"), ("olga", "Olga Old-Client")):
                out["create_" + uid] = stub.CreateUser(pb.CreateUserRequest(id=uid, name=name), metadata=md(admin)).result
            try:
                stub.CreateUser(pb.CreateUserRequest(id="alice", name="again"), metadata=md(admin))
            except grpc.RpcError as exc:
                out["duplicate"] = exc.code().name
            print(json.dumps(out))
            sys.exit(0)
        # olga becomes the first owner of "customers": the admin decides (bootstrap path)
        out["olga_owner"] = stub.AddAccess(pb.AddAccessRequest(user_id="olga", access=pb.ExtDatamoduleAccess(
            id="own-1", ext_datamodule_id="customers", access_types=[pb.OWNER])), metadata=md(olga)).result
        out["bootstrap"] = stub.ApproveAccessRequest(pb.ApproveAccessRequest(
            access_request_id="own-1", owner_user_id="admin", state=True), metadata=md(admin)).result
        # alice asks for READ; the old client names the request itself
        out["add"] = stub.AddAccess(pb.AddAccessRequest(user_id="alice", access=pb.ExtDatamoduleAccess(
            id="req-1", ext_datamodule_id="customers", access_types=[pb.READ])), metadata=md(alice)).result
        user = stub.GetUser(pb.GetUserRequest(id="alice"), metadata=md(alice)).user
        out["pending_field4"] = [a.id for a in user.ext_datamodule_accesses]
        try:
            stub.ApproveAccessRequest(pb.ApproveAccessRequest(
                access_request_id="req-1", owner_user_id="olga", state=True), metadata=md(alice))
        except grpc.RpcError as exc:
            out["forged"] = exc.code().name
        try:
            stub.ApproveAccessRequest(pb.ApproveAccessRequest(
                access_request_id="req-1", owner_user_id="alice", state=True), metadata=md(alice))
        except grpc.RpcError as exc:
            out["self"] = exc.code().name
        out["approve"] = stub.ApproveAccessRequest(pb.ApproveAccessRequest(
            access_request_id="req-1", owner_user_id="olga", state=True), metadata=md(olga)).result
        try:
            stub.ApproveAccessRequest(pb.ApproveAccessRequest(
                access_request_id="req-1", owner_user_id="olga", state=False), metadata=md(olga))
        except grpc.RpcError as exc:
            out["again"] = exc.code().name
        user = stub.GetUser(pb.GetUserRequest(id="alice"), metadata=md(alice)).user
        out["user"] = {"id": user.id, "name": user.name, "roles": list(user.roles)}
        out["granted_field4"] = [
            [a.id, a.ext_datamodule_id, [pb.ExtDatamoduleAccessType.Name(t) for t in a.access_types]]
            for a in user.ext_datamodule_accesses
        ]
        out["role"] = stub.AddRole(pb.AddRoleRequest(user_id="alice", role=pb.MANAGE_DATA), metadata=md(admin)).result
        out["roles_after"] = [pb.UserRole.Name(r) for r in stub.GetUser(
            pb.GetUserRequest(id="alice"), metadata=md(alice)).user.roles]
        out["remove"] = stub.RemoveAccess(pb.RemoveAccessRequest(user_id="alice", access=pb.ExtDatamoduleAccess(
            ext_datamodule_id="customers", access_types=[pb.READ])), metadata=md(alice)).result
        out["after_remove_field4"] = [a.id for a in stub.GetUser(
            pb.GetUserRequest(id="alice"), metadata=md(alice)).user.ext_datamodule_accesses]
    print(json.dumps(out))
    """
)


def _generate_old_client(directory: Path) -> None:
    """Copy the given contract (defect 1 already fixed in the copy) and run protoc on it."""
    text = GIVEN_CONTRACT.read_text()
    assert "rpc ApproveAccessRequest(ApproveAccessRequestRequest)" in text, (
        "the given contract changed shape"
    )
    (directory / "user_manager.proto").write_text(text)
    include = str(Path(grpc_tools.__file__).parent / "_proto")
    rc = protoc.main(
        [
            "protoc",
            f"-I{directory}",
            f"-I{include}",
            f"--python_out={directory}",
            f"--grpc_python_out={directory}",
            str(directory / "user_manager.proto"),
        ]
    )
    assert rc == 0, "protoc could not compile the given contract with defect 1 fixed"
    (directory / "client.py").write_text(
        CLIENT.replace("pb.ApproveAccessRequest(", "pb.ApproveAccessRequestRequest(")
    )


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Served]:
    """``privetl serve`` on SQLite in a temp dir, on free ports."""
    with serve(tmp_path) as served:
        yield served


def _run_client(client_dir: Path, *args: str) -> dict:
    done = subprocess.run(
        [sys.executable, str(client_dir / "client.py"), *args],
        env={**os.environ, "PYTHONPATH": str(client_dir)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_old_client_flow(tmp_path: Path, server: Served) -> None:
    grpc_port = server.grpc_port
    client_dir = tmp_path / "old_client"
    client_dir.mkdir()
    _generate_old_client(client_dir)
    assert "created admin" in server.cli("createadmin", "admin", "Old-Client Admin")
    admin = server.cli("token", "admin").split()[-1]

    created = _run_client(client_dir, "create", str(grpc_port), admin)
    assert created == {"create_alice": True, "create_olga": True, "duplicate": "ALREADY_EXISTS"}

    alice, olga = (server.cli("token", uid).split()[-1] for uid in ("alice", "olga"))
    out = _run_client(client_dir, "flow", str(grpc_port), admin, alice, olga)
    assert out["olga_owner"] is True and out["bootstrap"] is True and out["add"] is True
    assert out["pending_field4"] == [], "a pending request must never appear in field 4"
    assert out["forged"] == "PERMISSION_DENIED"  # alice naming olga as the deciding owner
    assert out["self"] == "PERMISSION_DENIED"  # alice approving her own request
    assert out["approve"] is True
    assert out["again"] == "FAILED_PRECONDITION"
    assert out["user"] == {"id": "alice", "name": "Alice Old-Client", "roles": []}
    assert out["granted_field4"] == [["req-1", "customers", ["READ"]]]
    assert out["role"] is True and out["roles_after"] == ["MANAGE_DATA"]
    assert out["remove"] is True and out["after_remove_field4"] == []
