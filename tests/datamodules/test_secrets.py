"""A secret planted in a connection string appears nowhere: not in any response of either
door, any audit record (every column), the logs, the error messages of failing calls, or the
database column (ciphertext only). Only ``connection_secret_for_run`` gives it back."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import grpc
import pytest
from django.db import connection as db
from google.protobuf.field_mask_pb2 import FieldMask
from rest_framework.test import APIClient

from privetl._gen.etl.datamodule.manager.V1 import datamodule_manager_pb2 as pb
from privetl._gen.etl.datamodule.manager.V1 import datamodule_manager_pb2_grpc as pb_grpc
from privetl.audit.models import AuditLog
from privetl.datamodules import selectors
from privetl.platform.auth import token_issue
from tests.users.grpc_helpers import running_server

pytestmark = pytest.mark.django_db(transaction=True)

SECRETS = ("PLANTED-s3cret", "PLANTED2", "PLANTED3")
# A real PostgreSQL answers at 127.0.0.1:5432 (trust auth): user "u" does not exist there, so
# the test-connection call fails, and its error must not carry the password either.
PLANTED = "postgresql://u:PLANTED-s3cret@127.0.0.1:5432/privetl_dm_none?password=PLANTED2"
PLANTED_API = "http://127.0.0.1:9/base?api_key=PLANTED3"


@pytest.fixture
def stub(transactional_db) -> Iterator[pb_grpc.ExtDatamoduleManagerStub]:
    with running_server() as port, grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        yield pb_grpc.ExtDatamoduleManagerStub(channel)


def _assert_clean(text: str, where: str) -> None:
    for secret in SECRETS:
        assert secret not in text, f"{secret} found in {where}: {text[:500]}"


def test_a_planted_secret_appears_nowhere(stub, carol, alice, caplog, capfd) -> None:
    caplog.set_level(logging.DEBUG)
    seen: list[tuple[str, str]] = []  # (where, text) of every response and error

    rest = APIClient()
    rest.credentials(HTTP_AUTHORIZATION=f"Bearer {token_issue(user_id='carol')}")
    intruder = APIClient()
    intruder.credentials(HTTP_AUTHORIZATION=f"Bearer {token_issue(user_id='alice')}")

    def call(client: APIClient, method: str, path: str, body: object = None) -> int:
        response = getattr(client, method)(path, body, format="json")
        seen.append((f"REST {method.upper()} {path}", response.content.decode()))
        return response.status_code

    meta = (("authorization", f"Bearer {token_issue(user_id='carol')}"),)
    meta_alice = (("authorization", f"Bearer {token_issue(user_id='alice')}"),)

    def rpc(name: str, request: object, metadata=meta) -> None:
        try:
            response = getattr(stub, name)(request, metadata=metadata, timeout=30)
            seen.append((f"gRPC {name}", str(response) + response.SerializeToString().hex()))
            seen.append((f"gRPC {name} bytes", response.SerializeToString().decode("latin-1")))
        except grpc.RpcError as exc:
            seen.append((f"gRPC {name} error", f"{exc.code()} {exc.details()}"))

    body = {"id": "rest1", "name": "Planted", "type": "SQL", "connection_string": PLANTED}
    assert call(rest, "post", "/api/v1/connections", body) == 201
    assert call(rest, "post", "/api/v1/connections", body) == 409  # taken id
    assert call(rest, "post", "/api/v1/connections", {**body, "id": "x", "type": "S3"}) == 400
    assert call(intruder, "post", "/api/v1/connections", {**body, "id": "y"}) == 403
    assert call(rest, "get", "/api/v1/connections/rest1") == 200
    assert call(intruder, "get", "/api/v1/connections") == 200
    patch = {"update_mask": ["connection_string"], "connection_string": PLANTED_API}
    assert call(intruder, "patch", "/api/v1/connections/rest1", patch) == 400  # not SQL-shaped
    assert (
        call(
            intruder, "patch", "/api/v1/connections/rest1", {**patch, "connection_string": PLANTED}
        )
        == 403
    )
    assert (
        call(
            rest,
            "patch",
            "/api/v1/connections/rest1",
            {**patch, "update_mask": ["type", "connection_string"], "type": "API"},
        )
        == 200
    )
    assert call(rest, "post", "/api/v1/connections/rest1/test", {"timeout_seconds": 2}) == 200
    assert (
        call(
            rest,
            "patch",
            "/api/v1/connections/rest1",
            {
                "update_mask": ["type", "connection_string"],
                "type": "SQL",
                "connection_string": PLANTED,
            },
        )
        == 200
    )
    assert call(rest, "post", "/api/v1/connections/rest1/test", {"timeout_seconds": 3}) == 200
    assert '"ok":false' in seen[-1][1].replace(" ", "")

    planted = pb.Connection(id="grpc1", name="Planted", type=pb.SQL, connection_string=PLANTED)
    rpc("CreateConnection", pb.CreateConnectionRequest(connection=planted))
    rpc("CreateConnection", pb.CreateConnectionRequest(connection=planted))
    rpc(
        "CreateConnection",
        pb.CreateConnectionRequest(
            connection=pb.Connection(id="z", name="n", type=pb.FILE, connection_string=PLANTED)
        ),
    )
    rpc(
        "CreateConnection",
        pb.CreateConnectionRequest(
            connection=pb.Connection(id="w", name="n", type=pb.SQL, connection_string=PLANTED)
        ),
        meta_alice,
    )
    rpc("GetConnection", pb.GetConnectionRequest(connection_id="grpc1"))
    rpc("GetAllConnection", pb.GetAllConnectionRequest())
    rpc("GetAllConnection", pb.GetAllConnectionRequest(), meta_alice)
    rpc(
        "UpdateConnection",
        pb.UpdateConnectionRequest(
            connection=pb.Connection(id="grpc1", connection_string=PLANTED_API),
            update_mask=FieldMask(paths=["connection_string"]),
        ),
        meta_alice,
    )
    rpc(
        "UpdateConnection",
        pb.UpdateConnectionRequest(
            connection=pb.Connection(id="grpc1", connection_string=PLANTED),
            update_mask=FieldMask(paths=["connection_string"]),
        ),
    )
    rpc("TestConnection", pb.TestConnectionRequest(connection_id="grpc1", timeout_seconds=3))
    assert "ok: true" not in seen[-2][1]

    assert len(seen) > 20
    for where, text in seen:
        _assert_clean(text, where)
    # the secret is stored, and given back to a run
    assert selectors.connection_secret_for_run("rest1") == PLANTED
    assert selectors.connection_secret_for_run("grpc1") == PLANTED
    # every audit record, every column
    records = list(AuditLog.objects.values())
    assert any(r["action"] == "connection.test" and r["outcome"] == "failed" for r in records)
    for record in records:
        _assert_clean(repr(record), f"audit record {record['sequence']}")
    # the logs and whatever reached stderr / stdout
    _assert_clean(caplog.text, "the captured logs")
    out, err = capfd.readouterr()
    _assert_clean(out + err, "stdout/stderr")
    # the database column holds ciphertext only (raw SQL, every column of the table)
    with db.cursor() as cursor:
        cursor.execute("SELECT * FROM datamodules_connection")
        rows = cursor.fetchall()
    assert len(rows) == 2
    for row in rows:
        _assert_clean(repr(row), "the datamodules_connection table")
        assert any(isinstance(v, str) and v.startswith("gAAAA") for v in row)  # Fernet tokens
