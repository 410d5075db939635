"""End to end: sources in a real PostgreSQL, files and a local HTTP API, to a published version.

Every rule of the module is checked on the published rows, with the exact expected records
worked out by hand below.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pyarrow.parquet as pq
import pytest

from privetl.engine.metadata import DataModule
from privetl.engine.publish import read_table
from privetl.engine.runner import run_module
from tests.engine.publish.pgdb import database_url, reset_schema

SCHEMA = "e2e_src"

PG_CUSTOMERS = [  # priority 2
    (1, "Ann", "1980-05-01", "12345", "F", 50000.0),
    (2, "Bob", "1975-02-02", "12999", "M", -10.0),  # income clamped to 0
    (3, "Cid", "1890-01-01", "12111", "M", 1000.0),  # birth date out of range: dropped
    (4, "Dee", "1985-03-03", "12000", "F", 250000.0),  # income clamped to 200000
    (5, "Eve", "1990-01-01", "34000", "F", 1.0),
    (6, "Fay", "1991-01-01", "34001", "F", 2.0),
    (7, "Gus", "1992-01-01", "12002", None, 3.0),  # empty gender: dropped
    (8, "Hal", "1993-01-01", "12003", "M", 3.0),  # wins over the CSV's id 8
]
CSV_CUSTOMERS = (  # priority 1
    "id,name,birth_date,zip,gender,income\n"
    "8,Hx,1993-01-01,99999,F,3\n"
    "9,Ivy,1994-01-01,,M,4\n"  # empty zip: filled 00000
    "10,Jon,1995-01-01,,M,5\n"
    "11,Kim,not-a-date,34002,F,6\n"  # birth date not a date -> empty -> dropped
)
HTTP_PAGES = [  # priority 2, three pages (the last one empty)
    [
        {"id": 1, "customer_id": 1, "amount": 10.5},
        {"id": 2, "customer_id": 3, "amount": 20},
    ],  # 2: customer 3 dropped
    [
        {"id": 3, "customer_id": 99, "amount": 5},
        {"id": 4, "customer_id": 2, "amount": -5},
    ],  # 3: dangling
    [],
]
JSONL_ORDERS = [  # priority 1
    {"id": 4, "customer_id": 5, "amount": 7},  # id 4 twice: both dropped (drop_all)
    {"id": 5, "customer_id": 9, "amount": 5000},  # clamped to 1000
    {"id": 6, "customer_id": 10, "amount": None},  # filled with 0
]

EXPECTED_CUSTOMERS = {  # id -> (birth year, zip prefix, gender, income)
    1: (1980, "12", "F", 50000.0),
    2: (1975, "12", "M", 0.0),
    4: (1985, "12", "F", 200000.0),
    5: (1990, "34", "F", 1.0),
    6: (1991, "34", "F", 2.0),
    8: (1993, "12", "M", 3.0),
    9: (1994, "00", "M", 4.0),
    10: (1995, "00", "M", 5.0),
}
EXPECTED_ORDERS = {1: (1, 10.5), 5: (9, 1000.0), 6: (10, 0.0)}


class _Api(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        query = parse_qs(urlparse(self.path).query)
        page = int(query.get("page", ["1"])[0])
        body = json.dumps(
            {"items": HTTP_PAGES[page - 1] if 1 <= page <= len(HTTP_PAGES) else []}
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def api() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Api)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/orders"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def pg_source() -> str:
    import psycopg

    url = database_url()
    reset_schema(url, SCHEMA)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {SCHEMA}")
        conn.execute(
            f"CREATE TABLE {SCHEMA}.customers (id integer, name text, birth_date date, zip text,"
            " gender text, income double precision)"
        )
        with conn.cursor() as cur:
            cur.executemany(
                f"INSERT INTO {SCHEMA}.customers VALUES (%s, %s, %s, %s, %s, %s)", PG_CUSTOMERS
            )
    return url


def _module_file(tmp_path: Path, pg_url: str, api_url: str) -> Path:
    from privetl.engine.jsonld import module_to_document

    (tmp_path / "customers.csv").write_text(CSV_CUSTOMERS)
    (tmp_path / "orders.jsonl").write_text("".join(json.dumps(o) + "\n" for o in JSONL_ORDERS))
    module = DataModule.model_validate(
        {
            "id": "e2e",
            "name": "End to end",
            "version": 1,
            "seed": 3,
            "tables": [
                {
                    "name": "customers",
                    "primary_key": {"column": "id", "on_conflict": "source_priority"},
                    "columns": [
                        {"name": "id", "type": "integer"},
                        {
                            "name": "name",
                            "type": "string",
                            "anonymize": {"op": "suppress", "mask": "*"},
                        },
                        {
                            "name": "birth_date",
                            "type": "date",
                            "empty": {"strategy": "drop"},
                            "range": {
                                "min": "1900-01-01",
                                "max": "2020-12-31",
                                "on_violation": "drop",
                            },
                            "anonymize": {"op": "generalize", "granularity": "year"},
                        },
                        {
                            "name": "zip",
                            "type": "string",
                            "empty": {"strategy": "fill", "value": "00000"},
                            "anonymize": {"op": "generalize", "truncate": 2},
                        },
                        {"name": "gender", "type": "string", "empty": {"strategy": "drop"}},
                        {
                            "name": "income",
                            "type": "double",
                            "range": {"min": 0, "max": 200000, "on_violation": "clamp"},
                        },
                    ],
                    "privacy": {
                        "quasi_identifiers": ["zip", "gender"],
                        "k": 2,
                        "max_suppression": 0.5,
                    },
                },
                {
                    "name": "orders",
                    "primary_key": {"column": "id", "on_conflict": "drop_all"},
                    "foreign_keys": [
                        {
                            "column": "customer_id",
                            "references_table": "customers",
                            "references_column": "id",
                        }
                    ],
                    "columns": [
                        {"name": "id", "type": "integer"},
                        {"name": "customer_id", "type": "integer"},
                        {
                            "name": "amount",
                            "type": "double",
                            "empty": {"strategy": "fill", "value": 0},
                            "range": {"min": 0, "max": 1000, "on_violation": "clamp"},
                        },
                    ],
                },
            ],
            "collection_protocol": [
                {
                    "id": "customers_pg",
                    "table": "customers",
                    "priority": 2,
                    "source": {
                        "kind": "sql",
                        "connection": pg_url,
                        "query": f"SELECT * FROM {SCHEMA}.customers",
                    },
                },
                {
                    "id": "customers_csv",
                    "table": "customers",
                    "priority": 1,
                    "source": {"kind": "file", "path": "customers.csv", "format": "csv"},
                },
                {
                    "id": "orders_api",
                    "table": "orders",
                    "priority": 2,
                    "source": {
                        "kind": "http",
                        "url": api_url,
                        "records_path": "items",
                        "pagination": {"type": "page", "param": "page", "start": 1},
                    },
                },
                {
                    "id": "orders_jsonl",
                    "table": "orders",
                    "priority": 1,
                    "source": {"kind": "file", "path": "orders.jsonl", "format": "jsonl"},
                },
            ],
            "upload": {"destination": {"kind": "directory", "path": "published"}},
        }
    )
    path = tmp_path / "module.json"
    path.write_text(json.dumps(module_to_document(module), indent=2, default=str))
    return path


def _year(value: Any) -> int:
    return int(str(value)[:4])


def test_postgres_files_and_http_to_a_published_version(
    tmp_path: Path, pg_source: str, api: str
) -> None:
    module_path = _module_file(tmp_path, pg_source, api)
    report = run_module(
        module_path, secret=b"e2e-secret", report_dir=tmp_path / "report", progress=False
    )
    assert report.status == "succeeded", report.error
    assert report.version_published == 2
    assert {s.script_id: s.rows for s in report.sources} == {
        "customers_pg": 8,
        "customers_csv": 4,
        "orders_api": 4,
        "orders_jsonl": 3,
    }

    published = tmp_path / "published"
    customers = read_table(published, "customers", 2).to_pylist()
    by_id = {row["id"]: row for row in customers}
    assert len(by_id) == len(customers)  # primary key unique
    assert set(by_id) == set(EXPECTED_CUSTOMERS)
    for cid, (year, zip_prefix, gender, income) in EXPECTED_CUSTOMERS.items():
        row = by_id[cid]
        assert row["name"] == "*"  # suppressed
        assert _year(row["birth_date"]) == year  # generalized to the year
        assert str(row["zip"]) == zip_prefix  # empty filled, then truncated
        assert row["gender"] == gender  # highest-priority source won (id 8)
        assert row["income"] == income  # clamped into [0, 200000]
    classes: dict[tuple[str, str], int] = {}
    for row in customers:
        classes[(row["zip"], row["gender"])] = classes.get((row["zip"], row["gender"]), 0) + 1
    assert min(classes.values()) >= 2  # k-anonymity on the quasi-identifiers

    orders = read_table(published, "orders", 2).to_pylist()
    assert {o["id"]: (o["customer_id"], o["amount"]) for o in orders} == EXPECTED_ORDERS
    assert all(o["customer_id"] in by_id for o in orders)  # every foreign key resolves

    quarantine = pq.read_table(tmp_path / "report" / "quarantine.parquet")
    assert quarantine.column_names == [
        "record_key",
        "table",
        "column",
        "rule",
        "value",
        "message",
        "run_id",
    ]
    assert set(quarantine.column("run_id").to_pylist()) == {report.run_id}
    rejected = {(r["table"], r["record_key"]) for r in quarantine.to_pylist()}
    assert {
        ("customers", "3"),
        ("customers", "7"),
        ("customers", "11"),
        ("orders", "2"),
        ("orders", "3"),
    } <= rejected
    assert report.quarantine.rows == quarantine.num_rows

    metadata = json.loads((published / "metadata.json").read_text())
    assert metadata["version"] == "2.0.0"
    saved = json.loads((tmp_path / "report" / "report.json").read_text())
    assert saved["published"]["version"] == 2 and saved["status"] == "succeeded"
    assert "e2e-secret" not in (tmp_path / "report" / "report.json").read_text()
    assert "e2e-secret" not in json.dumps(metadata)
