"""The guard against unprotected personal data: each pattern found in a sampled column, the
near misses that must not be (ids, dates, versions), a public column allowed, an unprotected
e-mail column failing the run with nothing published, and undeclared source fields reported."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import ibis
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from privetl.demo.engine_job import copy_sample_module
from privetl.engine.backends import Backend
from privetl.engine.errors import UnprotectedPersonalData
from privetl.engine.metadata import ColumnType, Table
from privetl.engine.personal_data import guard, scan_table, scan_values
from privetl.engine.report import render_summary
from privetl.engine.runner import run_module

FOUND = {
    "e-mail address": ["dan.olsen1@example.org", "write to rosa@shop.example.com please", "a.b+c@x.io"],
    "phone number": ["+49 30 901820", "0049 30 901820", "030 901820", "(202) 456-1111", "202-456-1111", "06 12 34 56 78"],
    "IBAN": ["DE89 3704 0044 0532 0130 00", "GB82WEST12345698765432", "FR1420041010050500013M02606"],
    "payment card number": ["4111 1111 1111 1111", "5500-0000-0000-0004", "378282246310005"],
    "IP address": ["192.168.1.20", "8.8.8.8", "2001:db8::1"],
    "national identifier": ["123-45-6789", "111222333", "2 95 10 99 126 111 93", "12345678Z", "RSSMRA85T10A562S"],
}
"""Values each pattern must recognise (well-formed, check digits right)."""

NEAR_MISSES = [
    "42", "2024-01-31", "1.2.3", "10:30", "v1.2.3.4-beta", "4111 1111 1111 1112", "DE89 3704 0044 0532 0130 01",
    "not an address@", "12345", "F", "hypertension", "Dan Olsen", "10115", "2024-01-31 15:03:00",
]
"""Values no pattern may take for personal data."""


@pytest.mark.parametrize("pattern", list(FOUND))
def test_each_pattern_is_found(pattern: str) -> None:
    sampled, matches = scan_values(FOUND[pattern], ColumnType.STRING)
    assert sampled == len(FOUND[pattern])
    assert matches.get(pattern) == sampled, matches


def test_ids_dates_and_words_are_not_personal() -> None:
    assert scan_values(NEAR_MISSES, ColumnType.STRING) == (len(NEAR_MISSES), {})
    # integers are scanned for card numbers and national ids only; small ids match nothing
    assert scan_values([str(i) for i in range(1, 300)], ColumnType.INTEGER) == (299, {})
    assert scan_values(["4111111111111111"], ColumnType.INTEGER)[1]["payment card number"] == 1


def _table(columns: list[dict[str, Any]]) -> Table:
    return Table.model_validate({"name": "people", "columns": columns})


def test_a_sampled_column_that_looks_personal_fails_unless_public(duckdb_backend: Backend) -> None:
    data = {
        "contact": [f"user{i}@example.org" for i in range(30)],
        "support": ["help@shop.example"] * 30,
        "masked": [f"user{i}@example.org" for i in range(30)],
        "notes": ["call +49 30 901820" if i == 0 else "fine" for i in range(30)],
        "server": ["8.8.8.8" if i < 5 else None for i in range(30)],
    }
    table = _table(
        [
            {"name": "contact", "type": "string"},
            {"name": "support", "type": "string", "public": True},
            {"name": "masked", "type": "string", "anonymize": {"op": "suppress"}},
            {"name": "notes", "type": "string"},
            {"name": "server", "type": "string"},
        ]
    )
    scans = scan_table(duckdb_backend, ibis.memtable(data), table, sample_size=20)
    by_column = {s.column: s for s in scans}
    assert set(by_column) == {"contact", "support", "notes", "server"}  # a column with a rule is not read
    assert by_column["contact"].sampled == 20 and by_column["contact"].matches == {"e-mail address": 20}
    assert by_column["server"].sampled == 5  # non-empty values only
    assert by_column["notes"].personal() == []  # one phone number in 20 notes: below the share
    with pytest.raises(UnprotectedPersonalData) as caught:
        guard(scans)
    assert caught.value.findings == [
        "people.contact: 20 of 20 sampled values match the pattern 'e-mail address'",
        "people.server: 5 of 5 sampled values match the pattern 'IP address'",
    ]
    assert '"privetl:public": true' in str(caught.value)
    assert by_column["support"].to_dict() == {
        "table": "people", "column": "support", "sampled": 20, "matches": {"e-mail address": 20},
        "public": True, "looks_personal": ["e-mail address"],
    }


def test_the_sample_skips_empty_numbers_and_blank_texts(duckdb_backend: Backend) -> None:
    card = "4111111111111111"  # a payment card number (Luhn-valid), scanned in integer columns too
    data = pa.table({
        "card": pa.array([int(card) if i % 3 == 0 else None for i in range(30)], pa.int64()),
        "label": ["  " if i % 2 else f"{card[:4]} {card[4:8]} {card[8:12]} {card[12:]}" for i in range(30)],
    })
    table = _table([{"name": "card", "type": "integer"}, {"name": "label", "type": "string"}])
    scans = {s.column: s for s in scan_table(duckdb_backend, ibis.memtable(data), table, sample_size=8)}
    assert scans["card"].sampled == 8 and scans["card"].matches["payment card number"] == 8
    assert scans["label"].sampled == 8 and scans["label"].matches["payment card number"] == 8
    few = {s.column: s for s in scan_table(duckdb_backend, ibis.memtable(data), table, sample_size=100)}
    assert few["card"].sampled == 10 and few["label"].sampled == 15  # nulls and blanks are not values


def _sample_without_email_rule(tmp_path: Path, *, public: bool) -> Path:
    module = copy_sample_module(tmp_path / "module")
    doc = json.loads(module.read_text())
    for record_set in doc["recordSet"]:
        for field in record_set["field"]:
            if field["@id"] == "customers/email":
                del field["privetl:anonymize"]
                if public:
                    field["privetl:public"] = True
    module.write_text(json.dumps(doc))
    return module


def test_an_unprotected_email_column_fails_the_run_with_nothing_published(tmp_path: Path) -> None:
    module = _sample_without_email_rule(tmp_path, public=False)
    report = run_module(module, out=tmp_path / "out", report_dir=tmp_path / "report", progress=False, secret=b"s")
    assert report.status == "failed" and report.error_type == "UnprotectedPersonalData"
    assert "customers.email: 248 of 248 sampled values match the pattern 'e-mail address'" in str(report.error)
    assert report.published is None and not (tmp_path / "out" / "metadata.json").exists()
    scanned = {(s["table"], s["column"]): s for s in report.personal_data}
    assert scanned[("customers", "email")]["looks_personal"] == ["e-mail address"]
    assert "@" not in json.dumps(report.personal_data)  # counts only, never a sampled value


def test_a_public_column_is_published_and_undeclared_fields_are_reported(tmp_path: Path) -> None:
    module = _sample_without_email_rule(tmp_path, public=True)
    crm = module.parent / "customers_crm.csv"
    lines = crm.read_text().splitlines()
    crm.write_text("\n".join([lines[0] + ",loyalty_card"] + [line + ",X" for line in lines[1:]]) + "\n")
    web = module.parent / "orders_web.jsonl"
    records = [json.loads(line) for line in web.read_text().splitlines()]
    records[3]["coupon"] = "SPRING"  # a key only a later record has: the union of the keys counts
    web.write_text("".join(json.dumps(r) + "\n" for r in records))
    report = run_module(module, out=tmp_path / "out", report_dir=tmp_path / "report", progress=False, secret=b"s")
    assert report.status == "succeeded", report.error
    sources = {s.script_id: s for s in report.sources}
    assert sources["customers_crm"].undeclared_fields == ["loyalty_card"]
    assert sources["orders_store"].undeclared_fields == []
    assert sources["orders_web"].undeclared_fields == ["coupon"]  # JSON lines: the records' keys
    # SQL: the result's columns, all mapped
    assert sources["customers_legacy"].undeclared_fields == []
    saved = json.loads((tmp_path / "report" / "report.json").read_text())
    by_script = {s["script_id"]: s["undeclared_fields"] for s in saved["sources"]}
    assert by_script["customers_crm"] == ["loyalty_card"] and by_script["orders_web"] == ["coupon"]
    summary = render_summary(report)
    assert "undeclared fields, not published: loyalty_card" in summary
    assert "undeclared fields, not published: coupon" in summary
    published = (tmp_path / "out").rglob("*.parquet")
    assert not any("coupon" in pq.read_schema(path).names for path in published)
    assert any(s["column"] == "email" and s["public"] for s in saved["personal_data"])
