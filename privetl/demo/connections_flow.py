"""The connections part of ``make demo``, after the access-request flow, against the same server.

Walks "Manage External Datamodule Connection" through the real doors, one printed line per
step naming the door used:

1. the admin gives olga the role CREATE_EXT_DATAMODULE;
2. olga creates the SQLite source of the sample module (``customers-legacy-db``, gRPC) and
   its FILE destination, ``customers`` — the module she already owns from the access flow,
   so it becomes a connection — with the sample module's schema as its contract (REST);
3. she tests both (TestConnection over gRPC and REST);
4. alice lists the connections (GetAllConnection, REST): her READ grant shows on
   ``customers``, none on the source; the connection strings only in redacted form.

It starts nothing: like ``access_flow`` it runs against a server the caller started, pointed
at the same database.
"""

from __future__ import annotations

import json
from pathlib import Path

import grpc

from privetl.demo.access_flow import DemoError, _Rest, _step, _token
from privetl.demo.engine_job import copy_sample_module

SOURCE = "customers-legacy-db"
DESTINATION = "customers"


def _contract(module_document: Path) -> str:
    """The sample module's schema: its document without where the data comes from or goes."""
    document = json.loads(module_document.read_text(encoding="utf-8"))
    document.pop("privetl:collectionProtocol", None)
    document.pop("privetl:upload", None)
    return json.dumps(document)


def run_connections_flow(*, http_port: int, grpc_port: int, work_dir: Path) -> None:
    """Run the flow; raises ``DemoError`` (or a gRPC error) when a step goes wrong."""
    from privetl._gen.etl.datamodule.manager.V1 import datamodule_manager_pb2 as pb
    from privetl._gen.etl.datamodule.manager.V1 import datamodule_manager_pb2_grpc as pb_grpc

    rest = _Rest(http_port)
    admin, olga, alice = _token("demo-admin"), _token("olga"), _token("alice")
    rest.call("POST", "/users/olga/roles", admin, {"role": "CREATE_EXT_DATAMODULE"})
    _step("rest", "POST /users/olga/roles → olga may create connections (CREATE_EXT_DATAMODULE)")

    module = copy_sample_module(work_dir / "module")
    published = work_dir / "published"
    published.mkdir(parents=True, exist_ok=True)
    database = (module.parent / "customers_legacy.sqlite").resolve()

    with grpc.insecure_channel(f"127.0.0.1:{grpc_port}") as channel:
        stub = pb_grpc.ExtDatamoduleManagerStub(channel)
        as_olga = (("authorization", f"Bearer {olga}"),)
        created = stub.CreateConnection(
            pb.CreateConnectionRequest(
                connection=pb.Connection(
                    id=SOURCE,
                    name="Legacy customer database",
                    description="The old CRM's customers (SQLite).",
                    type=pb.SQL,
                    connection_string=f"sqlite:///{database}",
                )
            ),
            metadata=as_olga,
            timeout=30,
        )
        _step(
            "grpc",
            f"CreateConnection {SOURCE!r} (SQL, SQLite) → owners {list(created.owner_user_ids)}",
        )
        made = rest.call(
            "POST",
            "/connections",
            olga,
            {
                "id": DESTINATION,
                "name": "Published customers",
                "description": "Where the anonymized customers module is published.",
                "type": "FILE",
                "connection_string": str(published.resolve()),
                "contract": _contract(module),
            },
        )
        _step(
            "rest",
            f"POST /connections {DESTINATION!r} (FILE, contract: the sample module's schema) → "
            f"owners {made['owner_user_ids']}",
        )
        tested = stub.TestConnection(
            pb.TestConnectionRequest(connection_id=SOURCE, timeout_seconds=5),
            metadata=as_olga,
            timeout=30,
        )
        _step("grpc", f"TestConnection {SOURCE!r} → ok={tested.ok}: {tested.message}")
        if not tested.ok:
            raise DemoError(f"the source connection does not open: {tested.message}")
    checked = rest.call("POST", f"/connections/{DESTINATION}/test", olga, {"timeout_seconds": 5})
    _step(
        "rest", f"POST /connections/{DESTINATION}/test → ok={checked['ok']}: {checked['message']}"
    )
    if not checked["ok"]:
        raise DemoError(f"the destination does not open: {checked['message']}")

    listed = rest.call("GET", "/connections", alice)["connections"]
    seen = [(c["id"], c["caller_access"], c["caller_access_types"]) for c in listed]
    _step("rest", f"GET /connections as alice → {seen}")
    if seen != [(DESTINATION, "GRANTED", ["READ"]), (SOURCE, "NONE", [])]:
        raise DemoError("alice's access to the connections is not what the flow granted")
    print("  connections ready: a SQLite source and a FILE destination, owned by olga", flush=True)
