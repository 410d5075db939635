"""TestConnection on each type against real systems on loopback: a SQLite file, the PostgreSQL
at 127.0.0.1:5432, a moto S3 server, an HTTP server, a directory; success and failure, each
audited, no message carrying a credential."""

from __future__ import annotations

import http.server
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import boto3
import psycopg
import pytest
from moto.server import ThreadedMotoServer

from privetl.audit.models import AuditLog
from privetl.common.context import Actor
from privetl.common.errors import FailedPrecondition, PermissionDenied
from privetl.datamodules import services
from privetl.users import services as user_services

pytestmark = pytest.mark.django_db

PG_HOST = "127.0.0.1:5432"


def _pg_up() -> bool:
    try:
        with psycopg.connect(f"postgresql://postgres@{PG_HOST}/postgres", connect_timeout=3):
            return True
    except psycopg.Error:
        return False


def _make(actor: Actor, id: str, type: str, connection_string: str) -> str:  # noqa: A002
    services.connection_create(
        actor=actor, id=id, name=id, type=type, connection_string=connection_string
    )
    return id


def _tested(actor: Actor, connection_id: str, timeout: float = 5) -> services.ConnectionTest:
    result = services.connection_test(
        actor=actor, connection_id=connection_id, timeout_seconds=timeout
    )
    record = AuditLog.objects.filter(action="connection.test", target_id=connection_id).latest(
        "sequence"
    )
    assert record.outcome == ("success" if result.ok else "failed")
    assert record.detail == result.message
    return result


def test_sqlite(carol, tmp_path: Path) -> None:
    database = tmp_path / "shop.sqlite"
    sqlite3.connect(database).close()
    ok = _tested(carol, _make(carol, "lite", "SQL", f"sqlite:///{database}"))
    assert ok.ok and "SELECT 1" in ok.message
    missing = _tested(carol, _make(carol, "gone", "SQL", f"sqlite:///{tmp_path}/none.sqlite"))
    assert not missing.ok and "not found" in missing.message
    assert not (tmp_path / "none.sqlite").exists()  # a test never creates the database


@pytest.mark.skipif(not _pg_up(), reason=f"no PostgreSQL at {PG_HOST}")
def test_postgresql(carol) -> None:
    ok = _tested(
        carol, _make(carol, "pg", "SQL", f"postgresql://postgres:pw-Secret1@{PG_HOST}/postgres")
    )
    assert ok.ok and "PostgreSQL" in ok.message, ok.message
    bad = _tested(
        carol,
        _make(
            carol,
            "pgbad",
            "SQL",
            f"postgresql://postgres:pw-Secret1@{PG_HOST}/privetl_dm_no_such_db",
        ),
    )
    assert not bad.ok and "privetl_dm_no_such_db" in bad.message
    assert "pw-Secret1" not in bad.message


def test_postgresql_timeout(carol) -> None:
    """A host that never answers (a listening socket that never accepts) ends at the timeout."""
    import socket

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(0)
    port = silent.getsockname()[1]
    try:
        result = _tested(
            carol,
            _make(carol, "slow", "SQL", f"postgresql://u:pw-Secret1@127.0.0.1:{port}/db"),
            timeout=1,
        )
    finally:
        silent.close()
    assert not result.ok and result.duration_ms < 10_000
    assert "pw-Secret1" not in result.message


@pytest.fixture
def s3() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    host, port = server.get_host_and_port()
    client = boto3.client(
        "s3",
        endpoint_url=f"http://{host}:{port}",
        aws_access_key_id="AKIDTEST",
        aws_secret_access_key="s3-Secret9",
        region_name="us-east-1",
    )
    client.create_bucket(Bucket="landing")
    client.put_object(Bucket="landing", Key="in/customers.csv", Body=b"id\n1\n")
    try:
        yield f"{host}:{port}"
    finally:
        server.stop()


def test_s3(carol, s3: str) -> None:
    base = (
        f"s3://AKIDTEST:s3-Secret9@landing/in?endpoint_override={s3}&scheme=http&region=us-east-1"
    )
    ok = _tested(carol, _make(carol, "s3", "S3", base))
    assert ok.ok and "1 entry" in ok.message, ok.message
    missing = _tested(
        carol,
        _make(carol, "s3gone", "S3", base.replace("@landing/", "@nobucket/")),
    )
    assert not missing.ok and "s3-Secret9" not in missing.message


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_HEAD(self) -> None:  # noqa: N802
        self.send_response(200 if self.path.startswith("/ok") else 401)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def http_base() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_api(carol, http_base: str) -> None:
    ok = _tested(carol, _make(carol, "api", "API", f"{http_base}/ok?token=tok-Secret7"))
    assert ok.ok and "HTTP 200" in ok.message
    denied = _tested(carol, _make(carol, "api401", "API", f"{http_base}/private?token=tok-Secret7"))
    assert not denied.ok and "401" in denied.message and "tok-Secret7" not in denied.message


def test_file(carol, tmp_path: Path) -> None:
    ok = _tested(carol, _make(carol, "dir", "FILE", str(tmp_path)))
    assert ok.ok and str(tmp_path) in ok.message
    missing = _tested(carol, _make(carol, "nodir", "FILE", f"file://{tmp_path}/none"))
    assert not missing.ok and "not found" in missing.message


def test_grpc_is_not_supported_yet(carol) -> None:
    _make(carol, "rpc", "GRPC", "grpc://127.0.0.1:1")
    with pytest.raises(FailedPrecondition, match="not supported yet"):
        services.connection_test(actor=carol, connection_id="rpc")
    assert not AuditLog.objects.filter(action="connection.test").exists()


def test_only_owners_and_read_holders_may_test(carol, alice, bob, tmp_path: Path) -> None:
    _make(carol, "dir", "FILE", str(tmp_path))
    with pytest.raises(PermissionDenied):
        services.connection_test(actor=alice, connection_id="dir")
    for types in (["WRITE"], ["READ"]):
        filed = user_services.access_request_file(
            actor=alice, user_id="alice", ext_datamodule_id="dir", access_types=types
        )
        user_services.access_request_decide(
            actor=carol, access_request_id=filed.id, owner_user_id="carol", approve=True
        )
        if types == ["WRITE"]:
            with pytest.raises(PermissionDenied):
                services.connection_test(actor=alice, connection_id="dir")
    assert services.connection_test(actor=alice, connection_id="dir").ok
