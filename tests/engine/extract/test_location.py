"""``${NAME}`` in file source paths: the variable is the base directory the path resolves under."""

from __future__ import annotations

import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from privetl.engine.errors import ExtractionError
from privetl.engine.extract import check_not_empty, check_unchanged, extract_script
from privetl.engine.extract.env import expand_location

from .helpers import PEOPLE, script, staged_rows, write


@pytest.fixture
def base(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A directory outside the document's, named only by PRIVETL_CONNECTION_SHOP."""
    directory = tmp_path / "secret-shop-dir"
    write(directory / "in" / "a.csv", "id,name\n1,Ann\n")
    write(directory / "in" / "b.csv", "id,name\n2,Bo\n")
    monkeypatch.setenv("PRIVETL_CONNECTION_SHOP", str(directory))
    return directory


def run(tmp_path: Path, path: str, fmt: str = "csv", **extra: object):
    return extract_script(
        script({"kind": "file", "path": path, "format": fmt, **extra}),
        PEOPLE,
        base_dir=tmp_path / "doc",
        staging_dir=tmp_path / "stage",
    )


def test_a_file_source_reads_under_the_variables_directory(tmp_path: Path, base: Path) -> None:
    staged = run(tmp_path, "${PRIVETL_CONNECTION_SHOP}/in/*.csv")
    assert [(r["id"], r["name"]) for r in staged_rows(staged)] == [("1", "Ann"), ("2", "Bo")]


def test_a_file_url_value_is_its_directory(tmp_path: Path, base: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PRIVETL_CONNECTION_SHOP", base.as_uri() + "/")
    assert [r["id"] for r in staged_rows(run(tmp_path, "${PRIVETL_CONNECTION_SHOP}/in/a.csv"))] == ["1"]


def test_an_unset_variable_is_named_and_nothing_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PRIVETL_CONNECTION_NOPE", raising=False)
    with pytest.raises(ExtractionError, match=r"environment variable PRIVETL_CONNECTION_NOPE \(used in the path"):
        run(tmp_path, "${PRIVETL_CONNECTION_NOPE}/a.csv")


def test_messages_show_the_placeholder_never_the_directory(tmp_path: Path, base: Path) -> None:
    with pytest.raises(ExtractionError) as missing:
        run(tmp_path, "${PRIVETL_CONNECTION_SHOP}/in/nope.csv")
    assert "file not found: ${PRIVETL_CONNECTION_SHOP}/in/nope.csv" in str(missing.value)
    write(base / "in" / "bad.jsonl", "{not json\n")
    with pytest.raises(ExtractionError) as bad:
        run(tmp_path, "${PRIVETL_CONNECTION_SHOP}/in/bad.jsonl", "jsonl")
    assert "${PRIVETL_CONNECTION_SHOP}/in/bad.jsonl" in str(bad.value)
    for error in (missing.value, bad.value):
        assert "secret-shop-dir" not in str(error)
        assert error.__cause__ is None and error.__suppress_context__


def test_an_empty_source_under_the_variable_says_its_size(tmp_path: Path, base: Path) -> None:
    write(base / "in" / "empty.csv", "")
    source = script({"kind": "file", "path": "${PRIVETL_CONNECTION_SHOP}/in/empty.csv", "format": "csv"})
    staged = run(tmp_path, "${PRIVETL_CONNECTION_SHOP}/in/empty.csv")
    with pytest.raises(ExtractionError, match=r"is empty \(0 bytes\)") as error:
        check_not_empty(source, staged, base_dir=tmp_path / "doc")
    assert "secret-shop-dir" not in str(error.value)


def test_parquet_read_in_place_under_the_variable_hides_it_when_it_changes(tmp_path: Path, base: Path) -> None:
    pq.write_table(pa.table({"id": [1, 2]}), base / "p.parquet")
    staged = run(tmp_path, "${PRIVETL_CONNECTION_SHOP}/p.parquet", "parquet")
    assert staged.in_place is not None and staged.rows == 2
    pq.write_table(pa.table({"id": [1, 2, 3]}), base / "p.parquet")
    os.utime(base / "p.parquet", ns=(1, 1))
    with pytest.raises(ExtractionError, match=r"\$\{PRIVETL_CONNECTION_SHOP\}/p\.parquet changed") as error:
        check_unchanged([staged])
    assert "secret-shop-dir" not in str(error.value)


def test_an_s3_value_gives_its_credentials_and_options_not_its_text() -> None:
    location = expand_location(
        "${C}/in/*.c?v",
        {"C": "s3://AK:SHHH@bkt/pre?region=eu-west-1&endpoint_override=127.0.0.1:9000&scheme=http"},
    )
    assert location.path == "s3://bkt/pre/in/*.c?v"  # a glob's ? is never a query
    assert location.s3_options == {
        "access_key": "AK",
        "secret_key": "SHHH",
        "region": "eu-west-1",
        "endpoint_override": "127.0.0.1:9000",
        "scheme": "http",
    }
    assert location.delta_storage_options()["AWS_ENDPOINT_URL"] == "http://127.0.0.1:9000"
    assert location.hide("cannot read bkt/pre/in/x.csv (key AK, secret SHHH)") == (
        "cannot read ${C}/in/x.csv (key ***, secret ***)"
    )
