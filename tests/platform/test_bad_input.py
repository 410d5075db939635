"""Bad input at the doors is a clear 4xx / INVALID_ARGUMENT that changes nothing — never a
500 or INTERNAL: oversized and over-nested REST bodies, invented HTTP methods (which must
not grow the metrics either), and bytes that are not protobuf on a real gRPC channel."""

from __future__ import annotations

import grpc
import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from privetl.audit.models import AuditLog
from privetl.platform.auth import token_issue
from privetl.platform.parsers import MAX_NESTING, nesting_of
from privetl.users.models import User
from tests.users.grpc_helpers import running_server

USERS_URL = "/api/v1/users"


def admin_client() -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_issue(user_id='root')}")
    return client


def test_a_body_over_the_size_limit_is_413_naming_the_limit(users) -> None:
    before = (User.objects.count(), AuditLog.objects.count())
    with override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=10_000):
        body = '{"id": "big", "name": "' + "x" * 20_000 + '"}'
        response = admin_client().post(USERS_URL, data=body, content_type="application/json")
    assert response.status_code == 413, response.content
    assert response.json()["code"] == "INVALID_ARGUMENT"
    assert "limit of 10000 bytes" in response.json()["message"]
    assert (User.objects.count(), AuditLog.objects.count()) == before


@pytest.mark.parametrize("depth", [MAX_NESTING + 1, 1_200, 100_000])
def test_json_nested_too_deep_is_400(users, depth: int) -> None:
    before = User.objects.count()
    body = '{"id": "deep", "name": ' + "[" * depth + "]" * depth + "}"
    response = admin_client().post(USERS_URL, data=body, content_type="application/json")
    assert response.status_code == 400, response.content
    assert f"nested deeper than {MAX_NESTING} levels" in response.json()["message"]
    assert User.objects.count() == before


def test_nesting_within_the_bound_still_parses(users) -> None:
    body = '{"id": "ok", "name": "Fine", "extra": ' + "[" * 10 + "]" * 10 + "}"
    response = admin_client().post(USERS_URL, data=body, content_type="application/json")
    assert response.status_code == 201, response.content


def test_nesting_is_measured_without_recursion() -> None:
    assert nesting_of(1) == 0
    assert nesting_of({"a": [1, {"b": []}]}) == 4
    deep: list = []
    for _ in range(50_000):
        deep = [deep]
    assert nesting_of(deep) == MAX_NESTING + 1  # stops counting past the bound


def test_invented_http_methods_share_one_metrics_series(db) -> None:
    client = APIClient()
    for word in ("FOOBAR", "BREW", "X-INVENTED-1", "X-INVENTED-2"):
        response = client.generic(word, USERS_URL)
        assert 400 <= response.status_code < 500
    metrics = client.get("/metrics").content.decode()
    for word in ("FOOBAR", "BREW", "X-INVENTED"):
        assert f'method="{word}' not in metrics
    assert 'method="OTHER"' in metrics


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "payload", [b"\xff\xff\xff\xff", b"\x0a\xff\xff\xff\xff\x0f", b"\x08" + b"\x80" * 11]
)
def test_bytes_that_are_not_protobuf_are_invalid_argument(users, payload: bytes) -> None:
    token = token_issue(user_id="root")
    with running_server() as port, grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        raw = channel.unary_unary("/etl.user.manager.V1.UserManager/CreateUser")
        with pytest.raises(grpc.RpcError) as caught:
            raw(payload, metadata=[("authorization", f"Bearer {token}")], timeout=10)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT, caught.value.details()
    assert "not a valid protobuf message" in (caught.value.details() or "")
    assert (caught.value.details() or "").startswith("/etl.user.manager.V1.UserManager/CreateUser: ")


# --- NUL characters and impossible timestamps: refused alike on SQLite and PostgreSQL ---


def test_a_nul_in_body_text_is_400_naming_the_field(users) -> None:
    before = User.objects.get(pk="alice").blocked
    response = admin_client().post(
        "/api/v1/users/alice/block", data={"reason": "bad\x00actor"}, format="json"
    )
    assert response.status_code == 400, response.content
    assert "reason must not contain a NUL character" in response.json()["message"]
    assert User.objects.get(pk="alice").blocked == before


@pytest.mark.parametrize(
    ("url", "field"),
    [("/api/v1/users/ali%00ce", "path"), ("/api/v1/audit-logs?actor_user_id=a%00b", "actor_user_id")],
)
def test_a_nul_in_the_path_or_query_is_400(users, url: str, field: str) -> None:
    response = admin_client().get(url)
    assert response.status_code == 400, response.content
    assert response.json() == {
        "code": "INVALID_ARGUMENT",
        "message": f"{field} must not contain a NUL character (\\u0000)",
        "field": field,
    }


def _grpc_call(method: str, request, token: str):
    with running_server() as port, grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        call = channel.unary_unary(
            method,
            request_serializer=type(request).SerializeToString,
            response_deserializer=lambda data: data,
        )
        with pytest.raises(grpc.RpcError) as caught:
            call(request, metadata=[("authorization", f"Bearer {token}")], timeout=10)
    return caught.value


@pytest.mark.django_db(transaction=True)
def test_a_nul_in_a_grpc_string_is_invalid_argument_and_changes_nothing(users) -> None:
    from privetl._gen.etl.user.manager.V1 import user_manager_pb2 as pb

    before = (User.objects.count(), AuditLog.objects.count())
    error = _grpc_call(
        "/etl.user.manager.V1.UserManager/BlockUser",
        pb.BlockUserRequest(user_id="alice", reason="bad\x00actor"),
        token_issue(user_id="root"),
    )
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "reason must not contain a NUL character" in error.details()
    assert not User.objects.get(pk="alice").blocked
    assert (User.objects.count(), AuditLog.objects.count()) == before


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("seconds", "nanos", "complaint"),
    [(2**62, 0, "since.seconds is"), (0, 2_000_000_000, "since.nanos is"), (0, -1, "since.nanos is")],
)
def test_a_timestamp_out_of_range_is_invalid_argument(users, seconds, nanos, complaint) -> None:
    from google.protobuf.timestamp_pb2 import Timestamp

    from privetl._gen.etl.audit.logger.V1 import audit_logger_pb2 as pb

    request = pb.ListAuditLogsRequest(since=Timestamp(seconds=seconds, nanos=nanos))
    error = _grpc_call(
        "/etl.audit.logger.V1.AuditLogger/ListAuditLogs", request, token_issue(user_id="root")
    )
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, error.details()
    assert complaint in error.details()


@pytest.mark.django_db(transaction=True)
def test_a_timestamp_nested_in_a_message_is_checked_too(users) -> None:
    from google.protobuf.timestamp_pb2 import Timestamp

    from privetl._gen.etl.user.manager.V1 import user_manager_pb2 as pb

    request = pb.AddAccessRequest(
        user_id="alice",
        access=pb.ExtDatamoduleAccess(
            ext_datamodule_id="m1", expires_at=Timestamp(seconds=-(2**40))
        ),
    )
    error = _grpc_call(
        "/etl.user.manager.V1.UserManager/AddAccess", request, token_issue(user_id="alice")
    )
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, error.details()
    assert "access.expires_at.seconds is" in error.details()
