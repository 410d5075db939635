"""The gRPC door and server over a real channel: auth, error mapping, audit of denials,
health checking, reflection, metrics."""

from __future__ import annotations

import json
from collections.abc import Iterator

import grpc
import pytest
from google.protobuf.wrappers_pb2 import StringValue
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from prometheus_client import REGISTRY

from privetl.audit.models import AuditLog
from privetl.platform.auth import token_issue
from privetl.platform.grpc_server import build_server
from privetl.users.models import LoginRefusal
from tests.platform import grpc_probe
from tests.platform.flood import FLOOD, flood_tokens


@pytest.fixture
def channel(settings, users) -> Iterator[grpc.Channel]:
    """A channel to a real server (probe service only) on a free loopback port."""
    settings.GRPC_SERVICERS = ["tests.platform.grpc_probe.register"]
    server = build_server(port=0, max_workers=4, host="127.0.0.1")
    server.start()
    try:
        with grpc.insecure_channel(f"127.0.0.1:{server.port}") as ch:
            yield ch
    finally:
        server.stop(grace=None).wait()


def call(channel: grpc.Channel, what: str, metadata: list[tuple[str, str]] | None = None):
    stub = channel.unary_unary(
        grpc_probe.METHOD,
        request_serializer=StringValue.SerializeToString,
        response_deserializer=StringValue.FromString,
    )
    response, status = stub.with_call(StringValue(value=what), metadata=metadata or [], timeout=10)
    return json.loads(response.value), dict(status.trailing_metadata())


def error_of(
    channel: grpc.Channel, what: str, metadata: list[tuple[str, str]] | None = None
) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as caught:
        call(channel, what, metadata)
    return caught.value


def auth(user_id: str, **extra: str) -> list[tuple[str, str]]:
    return [("authorization", f"Bearer {token_issue(user_id=user_id)}"), *extra.items()]


pytestmark = pytest.mark.django_db(transaction=True)


def test_authenticated_call_gets_the_actor(channel) -> None:
    actor, trailers = call(channel, "whoami", auth("alice", **{"x-request-id": "req-42"}))
    assert actor["user_id"] == "alice"
    assert (actor["door"], actor["request_id"]) == ("grpc", "req-42")
    assert actor["address"].startswith("127.0.0.1:")
    assert trailers["x-request-id"] == "req-42"


def test_missing_token_is_unauthenticated_and_counted_not_audited(channel) -> None:
    # issue 10: an UNAUTHENTICATED that identified nobody is counted, not audited
    audited = AuditLog.objects.count()
    error = error_of(channel, "whoami")
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED
    assert "Authorization: Bearer" in error.details()
    assert AuditLog.objects.count() == audited
    refusal = LoginRefusal.objects.get()
    # counted per host: the client's port changes with every connection
    assert (refusal.address, refusal.reason, refusal.count) == ("127.0.0.1", "no credentials", 1)


def test_anonymous_flood_adds_no_audit_record_and_few_counted_rows(channel) -> None:
    audited = AuditLog.objects.count()
    for reason, header in flood_tokens():
        error = error_of(channel, "whoami", [("authorization", header)] if header else [])
        assert error.code() == grpc.StatusCode.UNAUTHENTICATED, reason
    assert AuditLog.objects.count() == audited
    counts: dict[str, int] = {}
    rows = list(LoginRefusal.objects.all())
    for row in rows:
        assert row.address == "127.0.0.1"
        counts[row.reason] = counts.get(row.reason, 0) + row.count
    assert counts == FLOOD
    assert len(rows) <= 2 * len(FLOOD)  # one row per reason and minute (a minute may turn)


def test_blocked_user_is_unauthenticated_and_audited_under_their_name(channel, users) -> None:
    from privetl.users import services

    services.user_block(actor=users["root"], user_id="alice")
    error = error_of(channel, "whoami", auth("alice"))
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED
    record = AuditLog.objects.get(outcome="denied")
    assert (record.actor_user_id, record.service, record.action) == ("alice", "probe", "Call")
    assert record.address.startswith("127.0.0.1:")
    assert not LoginRefusal.objects.exists()


def test_expired_token_is_unauthenticated(channel) -> None:
    token = token_issue(user_id="alice", ttl_seconds=-300)
    error = error_of(channel, "whoami", [("authorization", f"Bearer {token}")])
    assert (error.code(), error.details()) == (
        grpc.StatusCode.UNAUTHENTICATED,
        "the token has expired; sign in again for a new one",
    )


def test_permission_denied_maps_to_its_code_and_is_audited(channel) -> None:
    error = error_of(channel, "deny", auth("bob"))
    assert (error.code(), error.details()) == (
        grpc.StatusCode.PERMISSION_DENIED,
        "only an ADMIN may probe",
    )
    record = AuditLog.objects.get(outcome="denied")
    assert (record.actor_user_id, record.outcome, record.detail) == (
        "bob",
        "denied",
        "only an ADMIN may probe",
    )
    assert not LoginRefusal.objects.exists()


def test_not_found_maps_to_its_code(channel) -> None:
    error = error_of(channel, "missing", auth("bob"))
    assert (error.code(), error.details()) == (
        grpc.StatusCode.NOT_FOUND,
        "probe 'x' does not exist",
    )
    assert not AuditLog.objects.filter(outcome="denied").exists()


def test_unexpected_error_is_internal_with_a_request_id_and_no_secret(channel, caplog) -> None:
    error = error_of(channel, "boom", auth("bob", **{"x-request-id": "req-boom"}))
    assert error.code() == grpc.StatusCode.INTERNAL
    assert "req-boom" in error.details()
    assert "hunter2" not in error.details()
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "req-boom" in logged
    assert "RuntimeError" in logged
    assert "hunter2" not in logged


def test_admin_impersonation_over_grpc(channel) -> None:
    actor, _ = call(channel, "whoami", auth("root", **{"x-act-as": "alice"}))
    assert (actor["user_id"], actor["impersonator_id"]) == ("alice", "root")
    error = error_of(channel, "whoami", auth("bob", **{"x-act-as": "alice"}))
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED
    record = AuditLog.objects.get(outcome="denied")
    assert "only an ADMIN may act as another user" in record.detail


def test_health_reports_serving_for_each_service(channel) -> None:
    health = health_pb2_grpc.HealthStub(channel)
    for name in ("", grpc_probe.SERVICE_NAME):
        answer = health.Check(health_pb2.HealthCheckRequest(service=name), timeout=5)
        assert answer.status == health_pb2.HealthCheckResponse.SERVING
    with pytest.raises(grpc.RpcError) as caught:
        health.Check(health_pb2.HealthCheckRequest(service="no.such.Service"), timeout=5)
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND


def test_reflection_lists_the_services(channel) -> None:
    stub = reflection_pb2_grpc.ServerReflectionStub(channel)
    request = reflection_pb2.ServerReflectionRequest(list_services="")
    answer = next(iter(stub.ServerReflectionInfo(iter([request]), timeout=5)))
    names = {s.name for s in answer.list_services_response.service}
    assert {grpc_probe.SERVICE_NAME, "grpc.health.v1.Health"} <= names


def test_calls_are_counted_per_service_method_and_code(channel) -> None:
    labels = {"service": "probe", "method": "Call", "code": "NOT_FOUND"}
    before = REGISTRY.get_sample_value("privetl_grpc_requests_total", labels) or 0
    error_of(channel, "missing", auth("bob"))
    assert REGISTRY.get_sample_value("privetl_grpc_requests_total", labels) == before + 1
    assert REGISTRY.get_sample_value("privetl_grpc_request_seconds_count", labels) >= 1


def test_a_missing_servicer_fails_loudly(settings) -> None:
    settings.GRPC_SERVICERS = ["tests.platform.grpc_probe.register", "privetl.nowhere.grpc.register"]
    with pytest.raises(RuntimeError, match="privetl.nowhere.grpc.register"):
        build_server(port=0, host="127.0.0.1")


def test_every_configured_service_is_served_with_health_and_reflection(db) -> None:
    server = build_server(port=0, max_workers=2, host="127.0.0.1")
    server.start()
    try:
        with grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel:
            stub = reflection_pb2_grpc.ServerReflectionStub(channel)
            request = reflection_pb2.ServerReflectionRequest(list_services="")
            answer = next(iter(stub.ServerReflectionInfo(iter([request]), timeout=5)))
            names = {s.name for s in answer.list_services_response.service}
            expected = {"etl.user.manager.V1.UserManager", "etl.audit.logger.V1.AuditLogger"}
            assert expected <= names
            health = health_pb2_grpc.HealthStub(channel)
            for name in expected:
                status = health.Check(health_pb2.HealthCheckRequest(service=name), timeout=5).status
                assert status == health_pb2.HealthCheckResponse.SERVING
    finally:
        server.stop(grace=None).wait()
