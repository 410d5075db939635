"""run_module on the shipped sample module: published version, report, rules, failures."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from privetl.demo.engine_job import copy_sample_module
from privetl.engine.publish import read_table
from privetl.engine.runner import SECRET_ENV, run_module


@pytest.fixture
def sample(tmp_path: Path) -> Path:
    """A copy of the sample module with its SQLite source built, as `make demo` does."""
    return copy_sample_module(tmp_path / "module")


def _run(sample: Path, tmp_path: Path, name: str = "out", **kwargs: Any) -> Any:
    kwargs.setdefault("secret", b"test-secret")
    return run_module(
        sample,
        out=tmp_path / name,
        report_dir=tmp_path / f"{name}-report",
        progress=False,
        **kwargs,
    )


def test_sample_module_is_published_as_version_2(sample: Path, tmp_path: Path) -> None:
    report = _run(sample, tmp_path)
    assert report.status == "succeeded", report.error
    assert report.version_published == 2
    assert report.reproducible and report.secret_source == "argument" and report.warnings == []
    assert {s.script_id: s.rows for s in report.sources} == {
        "customers_crm": 200,
        "customers_legacy": 110,
        "orders_web": 240,
        "orders_store": 170,
    }
    assert [t.table for t in report.tables][:2] == ["customers", "orders"]
    assert report.table("customers").rows_in == 310
    assert list(report.timings) == ["load", "extract", "clean", "transform", "anonymize", "publish"]

    customers = read_table(tmp_path / "out", "customers", 2).to_pylist()
    orders = read_table(tmp_path / "out", "orders", 2).to_pylist()
    assert report.table("customers").rows_out == len(customers)
    assert report.table("orders").rows_out == len(orders)
    ids = [c["id"] for c in customers]
    assert len(ids) == len(set(ids))  # primary key unique
    assert {c["name"] for c in customers} == {"***"}  # suppressed
    assert {c["email"] for c in customers} <= {"***", None}
    assert all(len(str(c["zip"])) == 3 for c in customers)  # truncated
    assert all(c["gender"] in ("F", "M") for c in customers)  # empty gender dropped
    classes = Counter((str(c["birth_date"]), c["zip"], c["gender"]) for c in customers)
    assert min(classes.values()) >= 3  # k = 3
    order_ids = [o["id"] for o in orders]
    assert len(order_ids) == len(set(order_ids))
    assert not set(order_ids) & set(range(231, 241))  # conflicting ids: all dropped
    assert all(o["customer_id"] in set(ids) for o in orders)  # every foreign key resolves
    assert all(o["amount"] is not None for o in orders)

    quarantine = pq.read_table(tmp_path / "out-report" / "quarantine.parquet")
    assert quarantine.num_rows == report.quarantine.rows > 0
    assert set(quarantine.column("table").to_pylist()) == {"customers", "orders"}
    saved = json.loads((tmp_path / "out-report" / "report.json").read_text())
    assert saved["published"]["version"] == 2
    assert saved["privacy"]["customers"]


def test_same_secret_and_seed_give_the_same_version(sample: Path, tmp_path: Path) -> None:
    _run(sample, tmp_path, "a", seed=5)
    _run(sample, tmp_path, "b", seed=5)
    for table in ("customers", "orders"):
        a = read_table(tmp_path / "a", table, 2).sort_by("id")
        b = read_table(tmp_path / "b", table, 2).sort_by("id")
        assert a.equals(b)


def test_running_again_publishes_the_next_version_and_keeps_the_old(
    sample: Path, tmp_path: Path
) -> None:
    first = _run(sample, tmp_path)
    second = _run(sample, tmp_path)
    assert (first.version_published, second.version_published) == (2, 3)
    assert (
        read_table(tmp_path / "out", "customers", 2).num_rows == first.table("customers").rows_out
    )


def test_without_a_secret_the_run_says_it_is_not_reproducible(
    sample: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(SECRET_ENV, raising=False)
    report = _run(sample, tmp_path, secret=None)
    assert report.status == "succeeded"
    assert (report.secret_source, report.reproducible) == ("random", False)
    assert "NOT reproducible" in report.warnings[0]


def test_secret_from_the_environment(
    sample: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(SECRET_ENV, "env-secret-value")
    report = _run(sample, tmp_path, secret=None)
    assert (report.secret_source, report.reproducible) == ("environment", True)
    assert "env-secret-value" not in (tmp_path / "out-report" / "report.json").read_text()


def test_an_unmet_privacy_target_publishes_nothing(sample: Path, tmp_path: Path) -> None:
    doc = json.loads(sample.read_text())
    text = json.dumps(doc).replace('"k": 3', '"k": 500')
    assert text != json.dumps(doc), "the sample's k target was not found in its document"
    sample.write_text(text)
    report = _run(sample, tmp_path)
    assert report.status == "failed"
    assert report.error_type == "PrivacyTargetNotMet"
    assert report.published is None
    assert not (tmp_path / "out" / "metadata.json").exists()
    assert json.loads((tmp_path / "out-report" / "report.json").read_text())["status"] == "failed"


def test_a_run_validates_its_document_once(
    sample: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from privetl.engine import jsonld, validate

    calls: Counter[str] = Counter()

    def counted(name: str, real: Any) -> Any:
        def wrapper(doc: Any) -> Any:
            calls[name] += 1
            return real(doc)

        return wrapper

    # the full check, and the reader beneath every way of validating a document (the full
    # check and jsonld.parse_document), wherever it is looked up from
    monkeypatch.setattr(validate, "check_document", counted("check_document", validate.check_document))
    monkeypatch.setattr(validate, "read_document", counted("read_document", validate.read_document))
    monkeypatch.setattr(jsonld, "read_document", counted("read_document", jsonld.read_document))
    report = _run(sample, tmp_path)
    assert report.status == "succeeded", report.error
    assert calls == {"check_document": 1, "read_document": 1}


def test_an_invalid_module_fails_with_every_problem(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    report = run_module(
        bad, out=tmp_path / "out", report_dir=tmp_path / "r", progress=False, secret=b"s"
    )
    assert (report.status, report.error_type) == ("failed", "MetadataError")
    assert not (tmp_path / "out").exists()


def test_running_out_of_the_memory_bound_is_a_failed_run_with_a_hint(
    sample: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    work = tmp_path / "not" / "yet" / "there"
    monkeypatch.setenv("PRIVETL_WORK_DIR", str(work))
    report = _run(sample, tmp_path, memory_limit="1MB")
    assert report.status == "failed"
    assert "ran out of memory (limit 1MB)" in report.error and "--memory-limit" in report.error
    assert report.version_published is None
    assert not (tmp_path / "out" / "metadata.json").exists()
    assert work.is_dir()


def _again(sample: Path, tmp_path: Path, report: str) -> Any:
    """Another run publishing to ``out``, reporting to ``report``."""
    return run_module(sample, out=tmp_path / "out", report_dir=tmp_path / report, progress=False, secret=b"test-secret")


def _allow_empty(sample: Path, script_id: str) -> None:
    doc = json.loads(sample.read_text())
    for script in doc["privetl:collectionProtocol"]:
        if script["id"] == script_id:
            script["allow_empty"] = True
    sample.write_text(json.dumps(doc))


@pytest.mark.parametrize("content", ["", "id,customer_id,amount,ordered_at\r\n"], ids=["0-bytes", "header-only"])
def test_an_empty_source_fails_the_run_unless_its_script_allows_it(
    sample: Path, tmp_path: Path, content: str
) -> None:
    first = _run(sample, tmp_path)
    assert first.version_published == 2
    (sample.parent / "orders_store.csv").write_text(content)
    failed = _again(sample, tmp_path, "failed-report")
    assert (failed.status, failed.error_type, failed.published) == ("failed", "ExtractionError", None)
    assert "'orders_store'" in failed.error and "orders_store.csv" in failed.error
    assert '"allow_empty": true' in failed.error
    assert read_table(tmp_path / "out", "orders").num_rows == first.table("orders").rows_out  # v2 intact

    _allow_empty(sample, "orders_store")
    allowed = _again(sample, tmp_path, "allowed-report")
    assert allowed.status == "succeeded", allowed.error
    assert allowed.version_published == 3
    # rows per source beside the previous published version's: the drop is visible
    counts = {s.script_id: (s.rows, s.previous_version, s.previous_rows) for s in allowed.sources}
    assert counts["orders_store"] == (0, 2, 170)
    assert counts["orders_web"] == (240, 2, 240)
    from privetl.engine.report import render_summary

    summary = render_summary(allowed)
    assert any(
        line.split() == ["orders_store", "->", "orders", "0", "rows", "previous", "version", "2:", "170", "(-100%)"]
        for line in summary.splitlines()
    ), summary
    saved = json.loads((tmp_path / "allowed-report" / "report.json").read_text())
    store = next(s for s in saved["sources"] if s["script_id"] == "orders_store")
    assert (store["rows"], store["previous_version"], store["previous_rows"]) == (0, 2, 170)


def test_the_first_version_has_no_previous_counts(sample: Path, tmp_path: Path) -> None:
    from privetl.engine.report import render_summary

    report = _run(sample, tmp_path)
    assert {(s.previous_version, s.previous_rows) for s in report.sources} == {(0, None)}
    assert "    customers_crm     -> customers           200 rows   previous version —" in render_summary(
        report
    ).splitlines()


def test_an_order_whose_customer_id_fails_its_cast_is_not_published(sample: Path, tmp_path: Path) -> None:
    with (sample.parent / "orders_store.csv").open("a") as f:
        f.write("9999,garbage,10.00,2024-01-01 00:00:00\n")
    report = _run(sample, tmp_path)
    assert report.status == "succeeded", report.error
    assert 9999 not in {o["id"] for o in read_table(tmp_path / "out", "orders").to_pylist()}
    quarantine = pq.read_table(tmp_path / "out-report" / "quarantine.parquet").to_pylist()
    assert sorted((q["rule"], q["value"], q["message"]) for q in quarantine if q["record_key"] == "9999") == [
        ("cast", "garbage", "not a valid integer: record dropped by rule foreign_key"),
        ("foreign_key", "garbage", "customer_id garbage is not a valid integer (failed cast), "
         "so the foreign key customer_id -> customers.id cannot be checked: record dropped"),
    ]


def _adult_module(tmp_path: Path, csv_options: dict[str, Any] | None) -> Path:
    from privetl.engine.jsonld import module_to_document
    from privetl.engine.metadata import DataModule

    (tmp_path / "adult.csv").write_bytes(
        b"age;workclass;marital-status;native-country\r\n39;State-gov;Never-married;United-States\r\n"
        b"50;Self-emp;Married-civ-spouse;Cuba\r\n"
    )
    source: dict[str, Any] = {"kind": "file", "path": "adult.csv", "format": "csv"}
    if csv_options:
        source["csv"] = csv_options
    module = DataModule.model_validate({
        "id": "adult", "name": "adult",
        "tables": [{"name": "adult", "columns": [
            {"name": "age", "type": "integer"}, {"name": "workclass", "type": "string"},
            {"name": "marital_status", "type": "string"}, {"name": "native_country", "type": "string"},
        ]}],
        "collection_protocol": [{
            "id": "adult_csv", "table": "adult", "source": source,
            "mapping": {"marital_status": "marital-status", "native_country": "native-country"},
        }],
    })
    path = tmp_path / "adult.json"
    path.write_text(json.dumps(module_to_document(module)))
    return path


def test_a_semicolon_separated_crlf_csv_publishes_its_values(tmp_path: Path) -> None:
    report = run_module(_adult_module(tmp_path, None), out=tmp_path / "out", report_dir=tmp_path / "r",
                        progress=False, secret=b"s")
    assert report.status == "succeeded", report.error
    assert sorted(read_table(tmp_path / "out", "adult").to_pylist(), key=lambda r: r["age"]) == [
        {"age": 39, "workclass": "State-gov", "marital_status": "Never-married", "native_country": "United-States"},
        {"age": 50, "workclass": "Self-emp", "marital_status": "Married-civ-spouse", "native_country": "Cuba"},
    ]
    misread = run_module(_adult_module(tmp_path, {"delimiter": ","}), out=tmp_path / "out2", report_dir=tmp_path / "r2",
                         progress=False, secret=b"s")
    assert (misread.status, misread.error_type, misread.published) == ("failed", "ExtractionError", None)
    assert "none of the declared columns; it has 'age;workclass;marital-status;native-country'" in misread.error


def test_file_sources_and_the_destination_under_variables_keep_their_values_out(
    sample: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``${NAME}`` bases in file paths and the directory destination: the run reads and writes
    there, and neither the report nor the published metadata holds the directories."""
    source_dir, published_dir = tmp_path / "hidden-src", tmp_path / "hidden-dst"
    source_dir.mkdir()
    doc = json.loads(sample.read_text())
    for entry in doc["privetl:collectionProtocol"]:
        if entry["source"]["kind"] == "file":
            name = entry["source"]["path"]
            (sample.parent / name).rename(source_dir / name)
            entry["source"]["path"] = "${PRIVETL_TEST_SRC}/" + name
    doc["privetl:upload"] = {
        "destination": {"kind": "directory", "path": "${PRIVETL_TEST_DST}/customers"},
        "rewrite_protocol": False,
    }
    sample.write_text(json.dumps(doc))
    monkeypatch.setenv("PRIVETL_TEST_SRC", str(source_dir))
    monkeypatch.setenv("PRIVETL_TEST_DST", published_dir.as_uri())
    report = run_module(sample, report_dir=tmp_path / "report", progress=False, secret=b"test-secret")
    assert report.status == "succeeded", report.error
    assert report.table("customers").rows_in == 310
    assert report.published.destination == "${PRIVETL_TEST_DST}/customers"
    assert read_table(published_dir / "customers", "customers", 2).num_rows == report.table("customers").rows_out
    metadata = (published_dir / "customers" / "metadata.json").read_text()
    assert "${PRIVETL_TEST_SRC}/customers_crm.csv" in metadata
    for text in ((tmp_path / "report" / "report.json").read_text(), metadata):
        assert "hidden-src" not in text and "hidden-dst" not in text

    monkeypatch.delenv("PRIVETL_TEST_DST")
    failed = run_module(sample, report_dir=tmp_path / "report2", progress=False, secret=b"test-secret")
    assert failed.status == "failed" and "PRIVETL_TEST_DST" in (failed.error or "")
    assert failed.sources == []  # refused before any extraction
