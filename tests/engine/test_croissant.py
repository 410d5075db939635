"""The Croissant metadata of a published version: exact content, and loading it with
mlcroissant alone (no privetl import, no network) yields the published rows."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from privetl.engine.croissant import (
    ANATOMY_COUNT,
    ANATOMY_GROUP,
    Lineage,
    PublishedFile,
    version_document,
)
from privetl.engine.jsonld import module_to_document, parse_document
from privetl.engine.metadata import Anatomize, DataModule
from privetl.engine.validate import validate_document

SECRET = "s3cr3t-never-published"

MODULE = DataModule.model_validate({
    "id": "shop",
    "name": "Shop",
    "version": 1,
    "tables": [
        {
            "name": "customers",
            "primary_key": {"column": "id", "on_conflict": "source_priority"},
            "columns": [
                {"name": "id", "type": "integer"},
                {"name": "name", "type": "string", "anonymize": {"op": "suppress", "keep": 1}},
                {"name": "age", "type": "integer", "anonymize": {"op": "generalize", "band": 10}},
                {"name": "born", "type": "date"},
                {"name": "vip", "type": "boolean"},
                {"name": "income", "type": "double"},
                {"name": "seen", "type": "datetime"},
            ],
        },
        {
            "name": "orders",
            "primary_key": {"column": "id", "on_conflict": "drop_all"},
            "columns": [
                {"name": "id", "type": "integer"},
                {"name": "customer", "type": "integer"},
                {"name": "name", "type": "string"},
            ],
            "foreign_keys": [{"column": "customer", "references_table": "customers", "references_column": "id"}],
        },
    ],
    "collection_protocol": [
        {"id": "crm", "table": "customers", "source": {"kind": "file", "path": "c.csv", "format": "csv"}},
        {"id": "shop", "table": "orders", "source": {"kind": "sql", "connection": "sqlite:///shop.db",
                                                      "query": "SELECT * FROM orders"}},
    ],
})
BASE_DOC = module_to_document(
    MODULE, extra={"url": "https://example.org/shop", "datePublished": "2020-01-01", "rai:dataCollection": "CRM export"}
)

LINEAGE = Lineage(
    run_id="run-42",
    seed=7,
    engine="duckdb",
    sources=[
        {"script": "crm", "table": "customers", "kind": "file", "path": "c.csv"},
        {"script": "shop", "table": "orders", "kind": "sql", "query": "SELECT * FROM orders"},
    ],
    previous_version=2,
    started_at=dt.datetime(2026, 11, 23, 1, 0, tzinfo=dt.UTC),
    ended_at=dt.datetime(2026, 11, 23, 1, 5, tzinfo=dt.UTC),
    metadata_sha256="ab" * 32,
    rows={"crm": 3, "shop": 2},
)

CUSTOMERS = pa.table({
    "id": pa.array([1, 2, 3], pa.int64()),
    "name": ["A***", None, "C***"],
    "age": ["30-39", "40-49", "30-39"],
    "born": pa.array([dt.date(1990, 5, 1), dt.date(1980, 1, 31), None], pa.date32()),
    "vip": [True, False, True],
    "income": [1000.5, 2000.0, 0.25],
    "seen": pa.array([dt.datetime(2026, 1, 2, 3, 4, 5), dt.datetime(2026, 2, 1), dt.datetime(2025, 12, 31, 23, 59)],
                     pa.timestamp("us")),
})
ORDERS = pa.table({"id": pa.array([10, 11], pa.int64()), "customer": pa.array([1, 3], pa.int64()), "name": ["x", "y"]})


def _write(directory: Path, name: str, table: pa.Table) -> PublishedFile:
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path)
    return PublishedFile(table=name.split("/")[-2] if "/" in name else name.split(".")[0],
                         path=name, sha256=hashlib.sha256(path.read_bytes()).hexdigest(), rows=table.num_rows)


def _published(root: Path) -> tuple[dict[str, Any], list[PublishedFile]]:
    files = [_write(root, "customers/part-0.parquet", CUSTOMERS), _write(root, "orders/part-0.parquet", ORDERS)]
    doc = version_document(MODULE, version=3, files=files, lineage=LINEAGE, base_doc=BASE_DOC)
    (root / "metadata.json").write_text(json.dumps(doc, indent=2))
    return doc, files


OFFLINE_LOADER = textwrap.dedent(
    """
    import importlib.abc, json, socket, sys

    class NoPrivetl(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name == "privetl" or name.startswith("privetl."):
                raise ImportError("privetl must not be needed to load a published version")
            return None

    sys.meta_path.insert(0, NoPrivetl())

    def no_network(*args, **kwargs):
        raise OSError("network access attempted")

    class NoNetworkSocket(socket.socket):
        def connect(self, *args):
            no_network()

        def connect_ex(self, *args):
            no_network()

    socket.socket = NoNetworkSocket
    socket.create_connection = no_network
    socket.getaddrinfo = no_network

    import mlcroissant as mlc

    dataset = mlc.Dataset(jsonld=sys.argv[1])
    out = {"version": dataset.metadata.version, "warnings": sorted(dataset.metadata.ctx.issues.warnings),
           "records": {}}
    for record_set in sys.argv[2:]:
        rows = []
        for record in dataset.records(record_set=record_set):
            row = {}
            for key, value in record.items():
                if isinstance(value, bytes):
                    value = value.decode()
                elif hasattr(value, "isoformat"):
                    value = value.isoformat()
                row[key] = value
            rows.append(row)
        out["records"][record_set] = rows
    assert not any(name.startswith("privetl") for name in sys.modules)
    print(json.dumps(out))
    """
)


def _load_offline(metadata: Path, *record_sets: str) -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, "-c", OFFLINE_LOADER, str(metadata), *record_sets],
        capture_output=True, text=True, timeout=120, cwd=metadata.parent,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_mlcroissant_alone_loads_the_published_rows_offline(tmp_path: Path) -> None:
    _published(tmp_path)
    loaded = _load_offline(tmp_path / "metadata.json", "customers", "orders")
    assert loaded["version"] == "3.0.0"
    assert loaded["warnings"] == []
    assert loaded["records"]["customers"] == [
        {"customers/id": 1, "customers/name": "A***", "customers/age": "30-39", "customers/born": "1990-05-01T00:00:00",
         "customers/vip": True, "customers/income": 1000.5, "customers/seen": "2026-01-02T03:04:05"},
        {"customers/id": 2, "customers/name": None, "customers/age": "40-49", "customers/born": "1980-01-31T00:00:00",
         "customers/vip": False, "customers/income": 2000.0, "customers/seen": "2026-02-01T00:00:00"},
        {"customers/id": 3, "customers/name": "C***", "customers/age": "30-39", "customers/born": None,
         "customers/vip": True, "customers/income": 0.25, "customers/seen": "2025-12-31T23:59:00"},
    ]
    assert loaded["records"]["orders"] == [
        {"orders/id": 10, "orders/customer": 1, "orders/name": "x"},
        {"orders/id": 11, "orders/customer": 3, "orders/name": "y"},
    ]


def test_the_version_document_lists_exactly_the_files_with_sha256(tmp_path: Path) -> None:
    doc, files = _published(tmp_path)
    assert doc["version"] == "3.0.0"
    assert doc["conformsTo"] == "http://mlcommons.org/croissant/1.0"
    assert doc["datePublished"] == "2026-11-23T01:05:00+00:00"
    assert (doc["url"], doc["rai:dataCollection"]) == ("https://example.org/shop", "CRM export")
    assert doc["distribution"] == [
        {"@type": "cr:FileObject", "@id": "customers-file-1", "name": "part-0.parquet",
         "contentUrl": "customers/part-0.parquet", "encodingFormat": "application/x-parquet",
         "sha256": files[0].sha256, "privetl:rows": 3},
        {"@type": "cr:FileObject", "@id": "orders-file-1", "name": "part-0.parquet",
         "contentUrl": "orders/part-0.parquet", "encodingFormat": "application/x-parquet",
         "sha256": files[1].sha256, "privetl:rows": 2},
    ]
    # Offline by construction: every file is a path relative to the metadata, no URL.
    assert all("://" not in entry["contentUrl"] and not entry["contentUrl"].startswith("/") for entry in doc["distribution"])
    for entry in doc["distribution"]:
        assert hashlib.sha256((tmp_path / entry["contentUrl"]).read_bytes()).hexdigest() == entry["sha256"]


def test_record_sets_read_the_files_with_keys_and_references(tmp_path: Path) -> None:
    doc, _ = _published(tmp_path)
    customers, orders = doc["recordSet"]
    assert customers["key"] == {"@id": "customers/id"}
    assert orders["key"] == {"@id": "orders/id"}
    assert customers["field"][2] == {
        "@type": "cr:Field", "@id": "customers/age", "name": "age", "dataType": "sc:Text",
        "privetl:columnType": "integer", "privetl:anonymize": {"op": "generalize", "band": 10.0},
        "source": {"fileObject": {"@id": "customers-file-1"}, "extract": {"column": "age"}},
    }
    assert orders["field"][1] == {
        "@type": "cr:Field", "@id": "orders/customer", "name": "customer", "dataType": "sc:Integer",
        "references": {"field": {"@id": "customers/id"}},
        "source": {"fileObject": {"@id": "orders-file-1"}, "extract": {"column": "customer"}},
    }


def test_lineage_uses_prov_terms_and_never_the_secret(tmp_path: Path) -> None:
    doc, _ = _published(tmp_path)
    assert doc["prov:wasDerivedFrom"] == [
        {"@type": "prov:Entity", "name": "shop 1.0.0 (source document)", "version": "1.0.0", "sha256": "ab" * 32},
        {"@type": "prov:Entity", "name": "shop 2.0.0 (previous published version)", "version": "2.0.0"},
        {"@type": "prov:Entity", "name": "crm", "description": "table=customers, kind=file, path=c.csv",
         "privetl:rows": 3},
        {"@type": "prov:Entity", "name": "shop", "description": "table=orders, kind=sql, query=SELECT * FROM orders",
         "privetl:rows": 2},
    ]
    assert doc["prov:wasGeneratedBy"] == {
        "@type": "prov:Activity", "name": "privetl run run-42", "identifier": "run-42",
        "privetl:engine": "duckdb", "privetl:seedUsed": 7, "privetl:reproducible": True,
        "prov:startedAtTime": "2026-11-23T01:00:00+00:00", "prov:endedAtTime": "2026-11-23T01:05:00+00:00",
    }
    assert SECRET not in json.dumps(doc)
    assert "secret" not in json.dumps(doc).lower()


def test_the_published_document_is_the_module_at_its_new_version(tmp_path: Path) -> None:
    doc, _ = _published(tmp_path)
    assert validate_document(doc) == []
    assert parse_document(doc) == MODULE.model_copy(update={"version": 3})


def test_a_table_in_several_files_is_read_through_a_file_set(tmp_path: Path) -> None:
    files = [
        _write(tmp_path, "orders/part-0.parquet", ORDERS.slice(0, 1)),
        _write(tmp_path, "orders/part-1.parquet", ORDERS.slice(1, 1)),
        _write(tmp_path, "customers/part-0.parquet", CUSTOMERS),
    ]
    _write(tmp_path, "orders/old-version.parquet", ORDERS)  # in the folder, but not this version's
    doc = version_document(MODULE, version=3, files=files, lineage=LINEAGE, base_doc=BASE_DOC)
    (tmp_path / "metadata.json").write_text(json.dumps(doc))
    assert doc["distribution"][-1] == {
        "@type": "cr:FileSet", "@id": "orders-files", "name": "orders files", "encodingFormat": "application/x-parquet",
        "includes": ["orders/part-0.parquet", "orders/part-1.parquet"],
    }
    assert doc["recordSet"][1]["field"][0]["source"] == {"fileSet": {"@id": "orders-files"}, "extract": {"column": "id"}}
    loaded = _load_offline(tmp_path / "metadata.json", "orders")
    assert loaded["records"]["orders"] == [
        {"orders/id": 10, "orders/customer": 1, "orders/name": "x"},
        {"orders/id": 11, "orders/customer": 3, "orders/name": "y"},
    ]


def test_tables_without_files_stay_in_the_module_but_out_of_record_sets(tmp_path: Path) -> None:
    doc = version_document(MODULE, version=2, files=[], lineage=LINEAGE, base_doc=BASE_DOC)
    assert doc["distribution"] == []
    assert doc["recordSet"] == []
    assert [r["name"] for r in doc["privetl:unpublishedRecordSets"]] == ["customers", "orders"]
    assert parse_document(doc) == MODULE.model_copy(update={"version": 2})


def test_an_anatomized_table_is_published_as_its_pair(tmp_path: Path) -> None:
    table = MODULE.tables[0].model_copy(
        update={"anatomize": Anatomize(quasi_identifiers=["age", "born"], sensitive="income", l=2)}
    )
    module = MODULE.model_copy(update={"tables": [table, MODULE.tables[1]]})
    qit = pa.table({"age": ["30-39", "30-39"], "born": pa.array([dt.date(1990, 5, 1), None], pa.date32()),
                    ANATOMY_GROUP: pa.array([1, 1], pa.int64())})
    st = pa.table({ANATOMY_GROUP: pa.array([1, 1], pa.int64()), "income": [0.25, 1000.5],
                   ANATOMY_COUNT: pa.array([1, 1], pa.int64())})
    files = [_write(tmp_path, "customers_qit/p.parquet", qit), _write(tmp_path, "customers_st/p.parquet", st),
             _write(tmp_path, "orders/p.parquet", ORDERS)]
    doc = version_document(module, version=2, files=files, lineage=LINEAGE, base_doc=module_to_document(module))
    (tmp_path / "metadata.json").write_text(json.dumps(doc))
    assert [r["name"] for r in doc["recordSet"]] == ["customers_qit", "customers_st", "orders"]
    assert [r["name"] for r in doc["privetl:unpublishedRecordSets"]] == ["customers"]
    loaded = _load_offline(tmp_path / "metadata.json", "customers_qit", "customers_st")
    assert loaded["records"] == {
        "customers_qit": [
            {"customers_qit/age": "30-39", "customers_qit/born": "1990-05-01T00:00:00", "customers_qit/group_id": 1},
            {"customers_qit/age": "30-39", "customers_qit/born": None, "customers_qit/group_id": 1},
        ],
        "customers_st": [
            {"customers_st/group_id": 1, "customers_st/income": 0.25, "customers_st/count": 1},
            {"customers_st/group_id": 1, "customers_st/income": 1000.5, "customers_st/count": 1},
        ],
    }
    parsed = parse_document(doc)
    assert [t.name for t in parsed.tables] == ["orders", "customers"]
    assert parsed.table("customers") == table


def test_data_types_follow_the_published_values() -> None:
    from privetl.engine.metadata import Perturb

    noisy = MODULE.tables[1].model_copy(update={"columns": [
        MODULE.tables[1].columns[0],
        MODULE.tables[1].columns[1].model_copy(update={"anonymize": Perturb(distribution="laplace", scale=1.0)}),
        MODULE.tables[1].columns[2],
    ]})
    module = MODULE.model_copy(update={"tables": [MODULE.tables[0], noisy]})
    files = [PublishedFile("customers", "c.parquet", "0" * 64, 1), PublishedFile("orders", "o.parquet", "1" * 64, 1)]

    by_rules = version_document(module, version=2, files=files, lineage=LINEAGE, base_doc=BASE_DOC)
    types = {f["@id"]: (f["dataType"], f.get("privetl:columnType")) for r in by_rules["recordSet"] for f in r["field"]}
    assert types["customers/age"] == ("sc:Text", "integer")           # a numeric band publishes text
    assert types["orders/customer"] == ("sc:Float", "integer")        # noise without rounding
    assert types["customers/name"] == ("sc:Text", None)

    schemas = {"customers": pa.schema([("age", pa.int64())]), "orders": pa.schema([("customer", pa.int32())])}
    by_schema = version_document(module, version=2, files=files, lineage=LINEAGE, base_doc=BASE_DOC, schemas=schemas)
    types = {f["@id"]: (f["dataType"], f.get("privetl:columnType")) for r in by_schema["recordSet"] for f in r["field"]}
    assert types["customers/age"] == ("sc:Integer", None)
    assert types["orders/customer"] == ("sc:Integer", None)
    assert parse_document(by_schema) == module.model_copy(update={"version": 2})


def test_lineage_fields_in_the_documented_order() -> None:
    lineage = Lineage("run-1", 4, [{"script": "crm"}], 9, "spark", "2026-01-01T00:00:00Z", "2026-01-01T00:02:00Z", "cd" * 32)
    assert (lineage.run_id, lineage.previous_version, lineage.seed, lineage.engine) == ("run-1", 4, 9, "spark")
    assert (lineage.started_at, lineage.ended_at, lineage.metadata_sha256) == (
        "2026-01-01T00:00:00Z", "2026-01-01T00:02:00Z", "cd" * 32)


def test_mlcroissant_loads_a_version_whose_foreign_key_has_options(tmp_path: Path) -> None:
    orders = MODULE.tables[1]
    strict = orders.model_copy(update={"foreign_keys": [orders.foreign_keys[0].model_copy(update={"allow_empty": False})]})
    module = MODULE.model_copy(update={"tables": [MODULE.tables[0], strict]})
    files = [_write(tmp_path, "customers/part-0.parquet", CUSTOMERS), _write(tmp_path, "orders/part-0.parquet", ORDERS)]
    doc = version_document(module, version=3, files=files, lineage=LINEAGE, base_doc=BASE_DOC)
    reference = doc["recordSet"][1]["field"][1]["references"]
    assert reference == {"field": {"@id": "customers/id"}, "privetl:foreignKey": {"allow_empty": False}}
    (tmp_path / "metadata.json").write_text(json.dumps(doc, indent=2))
    loaded = _load_offline(tmp_path / "metadata.json", "orders")
    assert loaded["warnings"] == []
    assert [r["orders/customer"] for r in loaded["records"]["orders"]] == [1, 3]
    assert parse_document(json.loads(json.dumps(doc))).tables[1].foreign_keys[0].allow_empty is False
