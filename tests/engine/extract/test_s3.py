"""s3:// file sources against a local S3 server (moto on 127.0.0.1), reached via AWS_ENDPOINT_URL."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from privetl.engine.errors import ExtractionError
from privetl.engine.extract import extract_script

from .helpers import PEOPLE, script, staged_rows

BUCKET = "privetl-extract-test"


@pytest.fixture(scope="module")
def s3() -> Iterator[None]:
    server_module = pytest.importorskip("moto.server", reason="moto[server] (dev dependency) is not installed")
    boto3 = pytest.importorskip("boto3")
    server = server_module.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    with pytest.MonkeyPatch.context() as patch:
        for name, value in {
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_REGION": "us-east-1",
            "AWS_ENDPOINT_URL": f"http://{host}:{port}",
            "AWS_EC2_METADATA_DISABLED": "true",
        }.items():
            patch.setenv(name, value)
        client = boto3.client("s3")
        client.create_bucket(Bucket=BUCKET)
        client.put_object(Bucket=BUCKET, Key="in/a.csv", Body=b"id,name\n1,Ann\n")
        client.put_object(Bucket=BUCKET, Key="in/b.csv", Body=b"id,name\n2,Bo\n")
        client.put_object(Bucket=BUCKET, Key="in/c.jsonl", Body=b'{"id": 3}\n')
        buffer = io.BytesIO()
        pq.write_table(pa.table({"id": [4, 5]}), buffer)
        client.put_object(Bucket=BUCKET, Key="in/d.parquet", Body=buffer.getvalue())
        patch.setenv("PRIVETL_TEST_S3_ENDPOINT", f"{host}:{port}")
        try:
            yield
        finally:
            server.stop()


def run(tmp_path: Path, path: str, fmt: str):
    return extract_script(
        script({"kind": "file", "path": path, "format": fmt}), PEOPLE, base_dir=tmp_path, staging_dir=tmp_path / "stage"
    )


def test_s3_glob_jsonl_and_parquet(tmp_path: Path, s3: None) -> None:
    staged = run(tmp_path, f"s3://{BUCKET}/in/*.csv", "csv")
    assert [(r["id"], r["name"], r["_src_row"]) for r in staged_rows(staged)] == [("1", "Ann", 0), ("2", "Bo", 1)]
    assert [r["id"] for r in staged_rows(run(tmp_path, f"s3://{BUCKET}/in/c.jsonl", "jsonl"))] == ["3"]
    parquet = run(tmp_path, f"s3://{BUCKET}/in/d.parquet", "parquet")
    assert (parquet.native_types, [r["id"] for r in staged_rows(parquet)]) == (True, [4, 5])


def test_s3_missing_object_names_the_url(tmp_path: Path, s3: None) -> None:
    with pytest.raises(ExtractionError, match=rf"file not found: s3://{BUCKET}/in/nope\.csv"):
        run(tmp_path, f"s3://{BUCKET}/in/nope.csv", "csv")
    with pytest.raises(ExtractionError, match=rf"no file matches s3://{BUCKET}/out/\*\.csv"):
        run(tmp_path, f"s3://{BUCKET}/out/*.csv", "csv")


def test_an_s3_connection_variable_is_the_base_with_its_credentials_and_endpoint(
    tmp_path: Path, s3: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The connection string (s3://KEY:SECRET@bucket/prefix?endpoint_override=...) is all the
    run is given: no AWS_ENDPOINT_URL, no AWS keys; none of it shows in a message."""
    endpoint = os.environ["PRIVETL_TEST_S3_ENDPOINT"]
    for name in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name)
    monkeypatch.setenv(
        "PRIVETL_CONNECTION_LAKE",
        f"s3://AKIDLAKE:S3CRET%2Fkey@{BUCKET}/in?region=us-east-1&endpoint_override={endpoint}&scheme=http",
    )
    staged = run(tmp_path, "${PRIVETL_CONNECTION_LAKE}/?.csv", "csv")
    assert [r["name"] for r in staged_rows(staged)] == ["Ann", "Bo"]
    with pytest.raises(ExtractionError) as error:
        run(tmp_path, "${PRIVETL_CONNECTION_LAKE}/nope.csv", "csv")
    message = str(error.value)
    assert "file not found: ${PRIVETL_CONNECTION_LAKE}/nope.csv" in message
    for secret in ("AKIDLAKE", "S3CRET", endpoint, BUCKET):
        assert secret not in message
