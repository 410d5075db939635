"""The PostgreSQL destination on a real server: COPY, a table per version, the view swap."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pyarrow as pa
import pytest

from privetl.engine.errors import PublishError
from privetl.engine.publish.postgres import (
    PgTable,
    expand_env,
    pg_type,
    publish_postgres,
    read_version_document,
)
from tests.engine.publish.pgdb import database_url, reset_schema

SCHEMA = "pub_layer"


@pytest.fixture
def pg() -> str:
    url = database_url()
    reset_schema(url, SCHEMA)
    return url


def _doc(version: int, tables: list[PgTable], previous: int | None) -> dict[str, Any]:
    return {"version": f"{version}.0.0", "tables": {t.table: t.relation for t in tables}}


def _people(n: int) -> pa.Table:
    return pa.table(
        {
            "id": pa.array(range(n), pa.int64()),
            "name": pa.array(
                [None if i == 1 else ("" if i == 2 else f'n,"{i}"') for i in range(n)]
            ),
            "born": pa.array([dt.date(1990, 1, 1) + dt.timedelta(days=i) for i in range(n)]),
            "score": pa.array([i / 4 for i in range(n)], pa.float64()),
            "ok": pa.array([i % 2 == 0 for i in range(n)]),
        }
    )


def _rows(url: str, relation: str) -> list[tuple[Any, ...]]:
    import psycopg

    with psycopg.connect(url) as conn:
        return conn.execute(f"SELECT * FROM {relation} ORDER BY 1").fetchall()  # noqa: S608


def test_versions_are_tables_and_the_view_follows_the_latest(pg: str) -> None:
    v, written, doc = publish_postgres(
        connection=pg,
        schema=SCHEMA,
        module_id="m",
        base_version=1,
        tables={"people": _people(4).to_reader(max_chunksize=3)},
        build_document=_doc,
    )
    assert v == 2
    assert written == [PgTable(table="people", relation="people_v2", rows=4)]
    assert doc == {"version": "2.0.0", "tables": {"people": "people_v2"}}
    assert _rows(pg, f"{SCHEMA}.people") == [
        (0, 'n,"0"', dt.date(1990, 1, 1), 0.0, True),
        (1, None, dt.date(1990, 1, 2), 0.25, False),
        (2, "", dt.date(1990, 1, 3), 0.5, True),
        (3, 'n,"3"', dt.date(1990, 1, 4), 0.75, False),
    ]
    v3, _, _ = publish_postgres(
        connection=pg,
        schema=SCHEMA,
        module_id="m",
        base_version=1,
        tables={"people": pa.table({"id": [9], "other": ["x"]})},
        build_document=_doc,
    )
    assert v3 == 3
    assert _rows(pg, f"{SCHEMA}.people") == [(9, "x")]  # the view now shows version 3
    assert len(_rows(pg, f"{SCHEMA}.people_v2")) == 4  # version 2 is still there
    assert read_version_document(pg, SCHEMA, "m") == {
        "version": "3.0.0",
        "tables": {"people": "people_v3"},
    }
    assert read_version_document(pg, SCHEMA, "m", 2)["version"] == "2.0.0"


def test_a_failure_inside_the_transaction_publishes_nothing(pg: str) -> None:
    publish_postgres(
        connection=pg,
        schema=SCHEMA,
        module_id="m",
        base_version=1,
        tables={"people": _people(2)},
        build_document=_doc,
    )

    def explode() -> None:
        raise RuntimeError("killed before commit")

    with pytest.raises(RuntimeError, match="killed before commit"):
        publish_postgres(
            connection=pg,
            schema=SCHEMA,
            module_id="m",
            base_version=1,
            tables={"people": pa.table({"id": [5]})},
            build_document=_doc,
            before_commit=explode,
        )
    assert len(_rows(pg, f"{SCHEMA}.people")) == 2
    assert read_version_document(pg, SCHEMA, "m")["version"] == "2.0.0"
    import psycopg

    with psycopg.connect(pg) as conn:
        assert (
            conn.execute("SELECT to_regclass(%s)", (f"{SCHEMA}.people_v3",)).fetchone()[0] is None
        )


def test_document_version_above_the_published_one_wins(pg: str) -> None:
    v, _, _ = publish_postgres(
        connection=pg,
        schema=SCHEMA,
        module_id="m",
        base_version=6,
        tables={"t": pa.table({"x": [1]})},
        build_document=_doc,
    )
    assert v == 7


def test_env_references_are_expanded_and_missing_ones_named(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PG_PASS", "s3cret")
    assert expand_env("postgresql://u:${PG_PASS}@h/db") == "postgresql://u:s3cret@h/db"
    monkeypatch.delenv("PG_PASS")
    with pytest.raises(PublishError, match="environment variable PG_PASS"):
        expand_env("postgresql://u:${PG_PASS}@h/db")


@pytest.mark.parametrize(
    ("arrow", "pg"),
    [
        (pa.int64(), "bigint"),
        (pa.int32(), "integer"),
        (pa.float64(), "double precision"),
        (pa.string(), "text"),
        (pa.bool_(), "boolean"),
        (pa.date32(), "date"),
        (pa.timestamp("us"), "timestamp"),
        (pa.timestamp("us", tz="UTC"), "timestamptz"),
    ],
)
def test_pg_type(arrow: pa.DataType, pg: str) -> None:
    assert pg_type(arrow) == pg
