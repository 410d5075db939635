"""SQL sources: PostgreSQL (real server, native types) and SQLite (text), errors without secrets."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from privetl.engine.errors import ExtractionError
from privetl.engine.extract import extract_script
from privetl.engine.extract import sql as sql_module
from privetl.engine.extract.sql import describe_connection, sqlite_path

from .helpers import PEOPLE, script, staged_rows

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
PG_DB = "privetl_eng_extract2"


def run(tmp_path: Path, connection: str, query: str, **kwargs):
    return extract_script(
        script({"kind": "sql", "connection": connection, "query": query}, **kwargs),
        PEOPLE,
        base_dir=tmp_path,
        staging_dir=tmp_path / "stage",
    )


@pytest.fixture(scope="module")
def pg_url() -> str:
    psycopg = pytest.importorskip("psycopg")
    try:
        with psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {PG_DB}")
            conn.execute(f"CREATE DATABASE {PG_DB}")
    except psycopg.OperationalError as exc:
        pytest.skip(f"PostgreSQL at 127.0.0.1:5432 is not reachable: {exc}")
    url = f"postgresql://postgres@127.0.0.1:5432/{PG_DB}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE people (pid bigint, name text, score numeric(8,2), ok boolean,"
            " born date, seen timestamptz, extra jsonb)"
        )
        conn.execute(
            "INSERT INTO people SELECT g, 'p' || g, g * 1.5, g % 2 = 0, DATE '2024-01-01' + g,"
            " TIMESTAMPTZ '2024-01-01 00:00:00+00' + g * INTERVAL '1 hour', jsonb_build_object('g', g)"
            " FROM generate_series(1, 5) g"
        )
    return url


def test_postgres_native_types_in_batches(tmp_path: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sql_module, "BATCH_ROWS", 2)
    monkeypatch.setenv("PRIVETL_TEST_PGDB", PG_DB)
    seen: list[int] = []
    staged = extract_script(
        script(
            {
                "kind": "sql",
                "connection": "postgresql://postgres@127.0.0.1:5432/${PRIVETL_TEST_PGDB}",
                "query": "SELECT pid, name, score, ok, born, seen FROM people ORDER BY pid",
            },
            mapping={"id": "pid"},
        ),
        PEOPLE,
        base_dir=tmp_path,
        staging_dir=tmp_path / "stage",
        on_rows=seen.append,
    )
    assert (staged.rows, staged.native_types, seen) == (5, True, [2, 2, 1])
    schema = pq.read_schema(staged.paths[0])
    assert [(f.name, f.type) for f in schema] == [
        ("id", pa.int64()), ("name", pa.string()), ("score", pa.string()), ("_src_row", pa.int64()),
    ]
    assert staged_rows(staged)[:2] == [
        {"id": 1, "name": "p1", "score": "1.50", "_src_row": 0},
        {"id": 2, "name": "p2", "score": "3.00", "_src_row": 1},
    ]


def test_postgres_typed_columns_and_empty_result(tmp_path: Path, pg_url: str) -> None:
    staged = run(
        tmp_path,
        pg_url,
        "SELECT ok AS id, born AS name, seen AS score FROM people WHERE pid = 1",
    )
    assert staged_rows(staged) == [
        {"id": False, "name": dt.date(2024, 1, 2), "score": dt.datetime(2024, 1, 1, 1, tzinfo=dt.UTC), "_src_row": 0}
    ]
    staged = run(tmp_path, pg_url, "SELECT pid AS id, extra AS name FROM people WHERE pid > 100")
    assert staged.rows == 0
    assert [(f.name, f.type) for f in pq.read_schema(staged.paths[0])] == [
        ("id", pa.int64()), ("name", pa.string()), ("score", pa.string()), ("_src_row", pa.int64()),
    ]
    staged = run(tmp_path, pg_url, "SELECT extra AS name FROM people WHERE pid = 2")
    assert staged_rows(staged)[0]["name"] == '{"g":2}'


def test_postgres_errors_never_show_the_password(tmp_path: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ExtractionError, match=r'PostgreSQL error on postgresql://127.0.0.1:5432/privetl_eng_extract2: relation "nope" does not exist'):
        run(tmp_path, pg_url, "SELECT * FROM nope")
    monkeypatch.setenv("PRIVETL_TEST_PGPASS", "hunter2secret")
    with pytest.raises(ExtractionError) as caught:
        run(tmp_path, "postgresql://postgres:${PRIVETL_TEST_PGPASS}@127.0.0.1:1/x", "SELECT 1")
    assert "PostgreSQL error on postgresql://127.0.0.1:1/x:" in str(caught.value)
    assert "hunter2secret" not in str(caught.value)
    monkeypatch.delenv("PRIVETL_TEST_PGPASS")
    with pytest.raises(ExtractionError, match=r"environment variable PRIVETL_TEST_PGPASS \(used in the connection string\) is not set"):
        run(tmp_path, "postgresql://postgres:${PRIVETL_TEST_PGPASS}@127.0.0.1:1/x", "SELECT 1")


def test_sqlite_values_as_text(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sql_module, "BATCH_ROWS", 2)
    db = tmp_path / "data" / "db.sqlite"
    db.parent.mkdir()
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE t (pid, name, score)")
        conn.executemany(
            "INSERT INTO t VALUES (?, ?, ?)",
            [(1, "Ann", 2.5), ("two", None, 3), (3, b"\x01\xff", None)],
        )
    conn.close()
    staged = run(tmp_path, "sqlite:///data/db.sqlite", "SELECT * FROM t ORDER BY rowid", mapping={"id": "pid"})
    assert staged.native_types is False
    assert staged_rows(staged) == [
        {"id": "1", "name": "Ann", "score": "2.5", "_src_row": 0},
        {"id": "two", "name": None, "score": "3", "_src_row": 1},
        {"id": "3", "name": "01ff", "score": None, "_src_row": 2},
    ]
    absolute = run(tmp_path, f"sqlite:///{db}", "SELECT pid AS id FROM t WHERE pid = 1")
    assert staged_rows(absolute) == [{"id": "1", "name": None, "score": None, "_src_row": 0}]


def test_sqlite_errors(tmp_path: Path) -> None:
    with pytest.raises(ExtractionError, match=rf"SQLite database not found: {tmp_path.resolve()}/missing.db"):
        run(tmp_path, "sqlite:///missing.db", "SELECT 1")
    sqlite3.connect(tmp_path / "e.db").close()
    with pytest.raises(ExtractionError, match=r"SQLite query failed on .*e\.db: no such table: t"):
        run(tmp_path, "sqlite:///e.db", "SELECT * FROM t")
    with pytest.raises(ExtractionError, match="must start with postgresql:// or sqlite:///"):
        run(tmp_path, "mysql://h/db", "SELECT 1")


def test_connection_helpers() -> None:
    assert describe_connection("postgresql://u:p@h:5433/db?sslmode=require") == "postgresql://h:5433/db"
    assert sqlite_path("sqlite:///rel/x.db", Path("/m")) == Path("/m/rel/x.db")
    assert sqlite_path("sqlite:////abs/x.db", Path("/m")) == Path("/abs/x.db")


def test_a_query_returning_no_rows_is_an_empty_source(tmp_path: Path) -> None:
    from privetl.engine.extract import check_not_empty

    with sqlite3.connect(tmp_path / "db.sqlite") as conn:
        conn.execute("CREATE TABLE people (id INTEGER, name TEXT)")
    query = "SELECT id, name FROM people"
    staged = run(tmp_path, "sqlite:///db.sqlite", query)
    assert staged.rows == 0
    source = script({"kind": "sql", "connection": "sqlite:///db.sqlite", "query": query})
    with pytest.raises(ExtractionError, match=r"'src' failed: the query returned no rows.*\"allow_empty\": true on script 'src'"):
        check_not_empty(source, staged, base_dir=tmp_path)
    check_not_empty(source.model_copy(update={"allow_empty": True}), staged, base_dir=tmp_path)


def test_a_sqlite_query_names_its_result_columns_even_with_no_rows(tmp_path: Path) -> None:
    from privetl.engine.extract import check_columns

    with sqlite3.connect(tmp_path / "db.sqlite") as conn:
        conn.execute("CREATE TABLE people (id INTEGER, full_name TEXT, ssn TEXT)")
    query = "SELECT id, full_name, ssn FROM people"
    staged = run(tmp_path, "sqlite:///db.sqlite", query)
    assert (staged.rows, staged.fields_found) == (0, None)
    assert staged.record_fields == ("id", "full_name", "ssn")
    # the result lacks 'name' and 'score': check_columns still leaves SQL sources alone
    source = script({"kind": "sql", "connection": "sqlite:///db.sqlite", "query": query})
    check_columns(source, PEOPLE, staged)
