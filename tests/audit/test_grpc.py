"""The Audit Logger over a real gRPC channel: ListAuditLogs and GetAuditLog."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator

import grpc
import pytest

from privetl._gen.etl.audit.logger.V1 import audit_logger_pb2 as pb
from privetl._gen.etl.audit.logger.V1 import audit_logger_pb2_grpc as pb_grpc
from privetl.audit.models import AuditLog
from privetl.platform.auth import token_issue
from privetl.platform.grpc_server import build_server
from tests.audit.conftest import actor_for, write

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def stub(settings) -> Iterator[object]:
    """A stub on a real server with the Audit Logger, and the users the tokens name."""
    from privetl.users import services

    services.user_bootstrap_admin(id="root", name="Root")
    root = actor_for("root", "ADMIN")
    services.user_create(actor=root, id="alice", name="Alice")
    settings.GRPC_SERVICERS = ["privetl.audit.grpc.register"]
    server = build_server(port=0, max_workers=4, host="127.0.0.1")
    server.start()
    try:
        with grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel:
            yield pb_grpc.AuditLoggerStub(channel)
    finally:
        server.stop(grace=None).wait()


def as_user(user_id: str) -> list[tuple[str, str]]:
    return [("authorization", f"Bearer {token_issue(user_id=user_id)}")]


def test_list_is_scoped_filtered_and_paged(stub) -> None:
    alice = actor_for("alice")
    mine = [write(alice, action="thing.update", target_id=f"t{i}") for i in range(3)]
    write(actor_for("someone"), action="thing.update")
    response = stub.ListAuditLogs(
        pb.ListAuditLogsRequest(action="thing.update", page_size=2),
        metadata=as_user("alice"),
        timeout=10,
    )
    assert [r.id for r in response.logs] == [mine[2], mine[1]]
    rest = stub.ListAuditLogs(
        pb.ListAuditLogsRequest(
            action="thing.update", page_size=2, page_token=response.next_page_token
        ),
        metadata=as_user("alice"),
        timeout=10,
    )
    assert [r.id for r in rest.logs] == [mine[0]]
    assert rest.next_page_token == ""
    everything = stub.ListAuditLogs(
        pb.ListAuditLogsRequest(action="thing.update"), metadata=as_user("root"), timeout=10
    )
    assert len(everything.logs) == 4


def test_get_returns_every_field(stub) -> None:
    record_id = write(
        actor_for("alice", impersonator_id="root"),
        action="thing.block",
        target_id="t9",
        before={"token": "abc", "state": 1},
        after={"state": 2},
        detail="why",
    )
    response = stub.GetAuditLog(
        pb.GetAuditLogRequest(id=record_id), metadata=as_user("alice"), timeout=10
    )
    log = response.log
    stored = AuditLog.objects.get(pk=record_id)
    assert (log.id, log.sequence, log.actor_user_id, log.impersonator_user_id) == (
        record_id,
        stored.sequence,
        "alice",
        "root",
    )
    assert (log.action, log.target_id, log.detail, log.hash, log.prev_hash) == (
        "thing.block",
        "t9",
        "why",
        stored.hash,
        stored.prev_hash,
    )
    assert json.loads(log.before_json) == {"token": "***", "state": 1}
    assert log.outcome == pb.SUCCESS
    assert log.occurred_at.ToDatetime(tzinfo=dt.UTC) == stored.occurred_at


def test_denied_attempts_are_listed_with_their_outcome(stub) -> None:
    with pytest.raises(grpc.RpcError):
        stub.GetAuditLog(
            pb.GetAuditLogRequest(id="x"),
            metadata=as_user("alice") + [("x-act-as", "root")],
            timeout=10,
        )
    response = stub.ListAuditLogs(
        pb.ListAuditLogsRequest(action="GetAuditLog"), metadata=as_user("alice"), timeout=10
    )
    assert [(r.outcome, r.service, r.actor_user_id) for r in response.logs] == [
        (pb.DENIED, "audit", "alice")
    ]


def test_get_of_someone_elses_record_is_not_found(stub) -> None:
    other = write(actor_for("someone"))
    with pytest.raises(grpc.RpcError) as caught:
        stub.GetAuditLog(pb.GetAuditLogRequest(id=other), metadata=as_user("alice"), timeout=10)
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND


def test_bad_page_size_is_invalid_argument(stub) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        stub.ListAuditLogs(
            pb.ListAuditLogsRequest(page_size=501), metadata=as_user("root"), timeout=10
        )
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "page_size" in caught.value.details()


def test_time_window(stub) -> None:
    write(actor_for("alice"), action="early")
    cut = dt.datetime.now(dt.UTC)
    late = write(actor_for("alice"), action="late")
    request = pb.ListAuditLogsRequest()
    request.since.FromDatetime(cut)
    response = stub.ListAuditLogs(request, metadata=as_user("alice"), timeout=10)
    assert [r.id for r in response.logs] == [late]


def test_unauthenticated_call_is_refused(stub) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        stub.ListAuditLogs(pb.ListAuditLogsRequest(), timeout=10)
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
