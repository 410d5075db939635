"""The directory destination on S3 (a local moto S3 server on loopback, no network)."""

from __future__ import annotations

import hashlib
import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import pyarrow as pa
import pytest

from privetl.engine.errors import PublishError
from privetl.engine.metadata import DirectoryDestination
from privetl.engine.publish import latest_version, publish_version, read_table
from privetl.engine.publish.delta import Store
from tests.engine.publish.test_publish import _file_entries, _lineage, _module


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A moto S3 server on 127.0.0.1 and the AWS_* variables deltalake and pyarrow read.

    The server runs in its own process: deltalake's Rust client would otherwise wait on a
    server thread that needs the GIL it holds.
    """
    pytest.importorskip("moto.server")
    import boto3

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    for name, value in {
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ALLOW_HTTP": "true",
    }.items():
        monkeypatch.setenv(name, value)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket="published")
                break
            except Exception:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.1)
        yield "s3://published/modules/pubtest"
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_publish_to_s3_versions_files_and_time_travel(s3: str) -> None:
    module, doc = _module()

    def tables(n: int) -> dict[str, pa.Table]:
        return {
            "people": pa.table(
                {"id": pa.array(range(n), pa.int64()), "name": [f"p{i}" for i in range(n)]}
            ),
            "pets": pa.table({"owner": pa.array([0] * n, pa.int64()), "kind": ["dog"] * n}),
        }

    first = publish_version(module, doc, tables(2), destination=s3, lineage=_lineage())
    second = publish_version(module, doc, tables(3), destination=s3, lineage=_lineage())
    assert (first.version, second.version) == (2, 3)
    assert latest_version(s3) == 3
    assert read_table(s3, "people", 2).num_rows == 2
    assert read_table(s3, "people").num_rows == 3
    store = Store(s3)
    document = json.loads(store.read_bytes("versions/3/metadata.json") or b"{}")
    assert document["version"] == "3.0.0"
    for entry, f in zip(
        sorted(_file_entries(document), key=lambda e: e["contentUrl"]),
        sorted(second.files, key=lambda f: "../../" + f.path),
        strict=True,
    ):
        assert entry["contentUrl"] == "../../" + f.path
        raw = store.read_bytes(f.path)
        assert raw is not None and entry["sha256"] == hashlib.sha256(raw).hexdigest()


def test_an_s3_destination_variable_supplies_bucket_credentials_and_endpoint(
    s3: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``${PRIVETL_CONNECTION_LAKE}/modules/x``: the connection string is the base; the run has
    no AWS_ENDPOINT_URL or keys of its own, and neither the result nor an error shows the value."""
    import os

    endpoint = os.environ["AWS_ENDPOINT_URL"].removeprefix("http://")
    for name in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name)
    monkeypatch.setenv(
        "PRIVETL_CONNECTION_LAKE",
        f"s3://AKIDLAKE:S3CRETKEY@published/lake?region=us-east-1&endpoint_override={endpoint}&scheme=http",
    )
    module, doc = _module()
    tables = {
        "people": pa.table({"id": pa.array([1, 2], pa.int64()), "name": ["a", "b"]}),
        "pets": pa.table({"owner": pa.array([1], pa.int64()), "kind": ["dog"]}),
    }
    raw = "${PRIVETL_CONNECTION_LAKE}/modules/x"
    published = publish_version(module, doc, tables, destination=DirectoryDestination(path=raw), lineage=_lineage())
    assert published.version == 2
    assert published.destination == raw
    assert published.metadata_location == raw + "/versions/2/metadata.json"
    assert latest_version(DirectoryDestination(path=raw)) == 2
    text = json.dumps(published.document)
    for secret in ("AKIDLAKE", "S3CRETKEY", endpoint, "published/lake"):
        assert secret not in text and secret not in repr(published)

    # what was written is where the connection string said, read back with plain AWS settings
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://{endpoint}")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    assert read_table("s3://published/lake/modules/x", "people", 2).num_rows == 2

    monkeypatch.delenv("PRIVETL_CONNECTION_LAKE")
    with pytest.raises(PublishError, match=r"environment variable PRIVETL_CONNECTION_LAKE \(used in the destination"):
        publish_version(module, doc, tables, destination=DirectoryDestination(path=raw), lineage=_lineage())
