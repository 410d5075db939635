"""The access-request flow of ``make demo``, against an already running ``privetl serve``.

Walks the two use cases "Get External Datamodule Access" and "Approve External Datamodule
Access" through the real doors, one printed line per step naming the door used:

1. bootstrap an admin (``privetl createadmin``) and get tokens (``privetl token``);
2. the admin creates alice (requester) and olga (owner-to-be) over REST;
3. olga asks for OWNER of "customers"; the module has no owner, so the admin approves
   (the bootstrap path) — olga is now its owner;
4. alice asks for READ over gRPC; olga lists pending requests over REST and approves over
   gRPC;
5. GetUser alice over both doors shows the grant.

It starts nothing: the caller (``privetl.demo.__main__``) owns the server process and has
pointed this process at the same database (``PRIVETL_VAR_DIR``) so the management
commands and the server agree.
"""

from __future__ import annotations

import io
from typing import Any

import grpc
import requests
from django.core.management import call_command

MODULE = "customers"


class DemoError(RuntimeError):
    """A step did not do what the flow expects; the message says which."""


def _token(*args: str) -> str:
    out = io.StringIO()
    call_command("token", *args, stdout=out)
    return out.getvalue().split()[-1]


class _Rest:
    """A tiny REST client: JSON in and out, raising with the server's error message."""

    def __init__(self, port: int) -> None:
        self.base = f"http://127.0.0.1:{port}/api/v1"

    def call(
        self, method: str, path: str, token: str, body: dict[str, Any] | None = None, **params: Any
    ) -> Any:
        response = requests.request(
            method,
            self.base + path,
            json=body,
            params=params or None,
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )
        if response.status_code >= 400:
            raise DemoError(f"{method} {path} → {response.status_code} {response.text}")
        return response.json()


def _step(door: str, text: str) -> None:
    print(f"  [{door:<4}] {text}", flush=True)


def run_access_flow(*, http_port: int, grpc_port: int) -> None:
    """Run the flow; raises ``DemoError`` (or a gRPC error) when a step goes wrong."""
    from privetl._gen.etl.user.manager.V1 import user_manager_pb2 as pb
    from privetl._gen.etl.user.manager.V1 import user_manager_pb2_grpc as pb_grpc

    out = io.StringIO()
    call_command("createadmin", "demo-admin", "Demo Admin", stdout=out)
    _step("cli", f"privetl createadmin demo-admin: {out.getvalue().strip()}")
    admin = _token("demo-admin")
    _step("cli", "privetl token demo-admin: bearer token issued")
    rest = _Rest(http_port)

    for user_id, name, mail in (
        ("alice", "Alice Analyst", "alice@example.test"),
        ("olga", "Olga Owner", "olga@example.test"),
    ):
        rest.call("POST", "/users", admin, {"id": user_id, "name": name, "email": mail})
        _step("rest", f"POST /users → created {user_id} ({name})")
    alice, olga = _token("alice"), _token("olga")

    owner_request = rest.call(
        "POST",
        "/users/olga/access-requests",
        olga,
        {
            "ext_datamodule_id": MODULE,
            "access_types": ["OWNER"],
            "reason": "I run the customers pipeline",
        },
    )
    _step(
        "rest",
        f"olga asks for OWNER of {MODULE!r} → request {owner_request['id']} is {owner_request['state']}",
    )
    pending = rest.call("GET", "/access-requests", admin, pending="true")["access_requests"]
    if owner_request["id"] not in {r["id"] for r in pending}:
        raise DemoError("the admin does not see olga's request on the ownerless module")
    _step("rest", f"GET /access-requests?pending=true as admin → {[r['id'] for r in pending]}")
    decided = rest.call(
        "POST",
        f"/access-requests/{owner_request['id']}/decision",
        admin,
        {"approve": True, "note": "first owner"},
    )
    _step(
        "rest",
        f"admin approves it (module had no owner: bootstrap) → {decided['state']}; olga owns {MODULE!r}",
    )

    with grpc.insecure_channel(f"127.0.0.1:{grpc_port}") as channel:
        stub = pb_grpc.UserManagerStub(channel)
        as_alice = (("authorization", f"Bearer {alice}"),)
        as_olga = (("authorization", f"Bearer {olga}"),)
        filed = stub.AddAccess(
            pb.AddAccessRequest(
                user_id="alice",
                access=pb.ExtDatamoduleAccess(
                    ext_datamodule_id=MODULE, access_types=[pb.READ], reason="churn analysis"
                ),
            ),
            metadata=as_alice,
            timeout=30,
        )
        _step(
            "grpc",
            f"AddAccess: alice asks for READ on {MODULE!r} → request {filed.access_request_id} (pending)",
        )

        pending = rest.call("GET", "/access-requests", olga, pending="true")["access_requests"]
        _step(
            "rest",
            f"GET /access-requests?pending=true as olga → {[(r['id'], r['user_id'], r['access_types']) for r in pending]}",
        )
        if filed.access_request_id not in {r["id"] for r in pending}:
            raise DemoError("olga does not see alice's pending request")

        before = stub.GetUser(pb.GetUserRequest(id="alice"), metadata=as_alice, timeout=30).user
        if before.ext_datamodule_accesses:
            raise DemoError("a pending request showed up as a grant")
        _step(
            "grpc",
            f"GetUser alice before approval → grants: none; requests: {len(before.access_requests)} pending",
        )

        stub.ApproveAccessRequest(
            pb.ApproveAccessRequestRequest(
                access_request_id=filed.access_request_id,
                owner_user_id="olga",
                state=True,
                note="ok for Q3",
            ),
            metadata=as_olga,
            timeout=30,
        )
        _step("grpc", f"ApproveAccessRequest by olga → {filed.access_request_id} approved")

        user = stub.GetUser(pb.GetUserRequest(id="alice"), metadata=as_alice, timeout=30).user
        grants = [
            (g.ext_datamodule_id, [pb.ExtDatamoduleAccessType.Name(t) for t in g.access_types])
            for g in user.ext_datamodule_accesses
        ]
        _step("grpc", f"GetUser alice → ext_datamodule_accesses {grants}")

    shown = rest.call("GET", "/users/alice", alice)
    rest_grants = [
        (g["ext_datamodule_id"], g["access_types"], g["state"])
        for g in shown["ext_datamodule_accesses"]
    ]
    _step("rest", f"GET /users/alice → ext_datamodule_accesses {rest_grants}")
    if grants != [(MODULE, ["READ"])] or rest_grants != [(MODULE, ["READ"], "APPROVED")]:
        raise DemoError("alice's grant is not shown by both doors")
    print(
        "  access flow complete: request → owner approval → grant, over gRPC and REST", flush=True
    )


if __name__ == "__main__":
    print("run through `make demo` (python -m privetl.demo), which starts the server first")
