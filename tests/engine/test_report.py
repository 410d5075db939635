"""The run report: its JSON form, its summary, and the progress display."""

from __future__ import annotations

import dataclasses
import io
import json
from pathlib import Path

from rich.console import Console

from privetl.engine.errors import PrivacyTargetNotMet
from privetl.engine.report import (
    PublishedInfo,
    QuarantineInfo,
    RuleTally,
    RunProgress,
    RunReport,
    SourceCount,
    finish,
    render_summary,
)


@dataclasses.dataclass
class _Measures:
    k: int
    l: int  # noqa: E741
    t: float
    reidentification_risk: float
    suppressed: int
    classes: list[int]


def _report() -> RunReport:
    report = RunReport(
        run_id="20260101T000000Z-abcdef",
        module_id="customers",
        module_path="/m/module.json",
        engine="duckdb",
        seed=42,
        secret_source="environment",
        reproducible=True,
    )
    report.sources += [
        SourceCount("crm", "customers", 200),
        SourceCount("legacy", "customers", 110),
    ]
    report.table("customers").rows_in = 310
    report.table("customers").rows_out = 241
    report.rules.append(RuleTally("customers", "empty_drop", "gender", 5))
    report.rules.append(RuleTally("customers", "primary_key_source_priority", None, 50))
    report.quarantine = QuarantineInfo(path="/r/quarantine.parquet", rows=69)
    report.privacy["customers"] = _Measures(
        k=3, l=2, t=0.31234, reidentification_risk=1 / 3, suppressed=14, classes=[3, 4]
    )
    report.timings = {"load": 0.01, "extract": 0.5}
    report.published = PublishedInfo(
        version=2,
        destination="/out",
        metadata="/out/versions/2/metadata.json",
        tables={"customers": 241},
    )
    return finish(report)


def test_json_has_every_documented_field_and_no_secret() -> None:
    data = json.loads(_report().to_json())
    assert data["status"] == "succeeded"
    assert data["published"] == {
        "version": 2,
        "destination": "/out",
        "metadata": "/out/versions/2/metadata.json",
        "tables": {"customers": 241},
    }
    assert data["tables"] == [{"table": "customers", "rows_in": 310, "rows_out": 241}]
    assert data["rules"][0] == {
        "table": "customers",
        "rule": "empty_drop",
        "column": "gender",
        "rows_affected": 5,
    }
    assert data["quarantine"] == {"path": "/r/quarantine.parquet", "rows": 69}
    assert data["privacy"]["customers"] == {
        "k": 3,
        "l": 2,
        "t": 0.31234,
        "reidentification_risk": 1 / 3,
        "suppressed": 14,
        "classes": [3, 4],
    }
    assert (
        data["seed"] == 42
        and data["secret_source"] == "environment"
        and data["reproducible"] is True
    )
    assert "secret" not in {k for k in data if k != "secret_source"}
    assert set(data) == {
        "run_id",
        "module_id",
        "module_path",
        "engine",
        "seed",
        "status",
        "error",
        "error_type",
        "secret_source",
        "reproducible",
        "warnings",
        "started_at",
        "finished_at",
        "published",
        "tables",
        "sources",
        "rules",
        "quarantine",
        "privacy",
        "timings",
        "report_path",
        "personal_data",
    }


def test_failed_report_names_the_error_and_says_nothing_was_published() -> None:
    report = RunReport(run_id="r1", module_id="m", module_path="m.json", engine="duckdb", seed=1)
    finish(
        report,
        error=PrivacyTargetNotMet("customers: k=3 needs 40% suppression, at most 5% allowed"),
    )
    assert (report.status, report.error_type) == ("failed", "PrivacyTargetNotMet")
    text = render_summary(report)
    assert "privetl run r1: FAILED" in text
    assert "nothing was published; the previous version is intact" in text
    assert (
        "error    PrivacyTargetNotMet: customers: k=3 needs 40% suppression, at most 5% allowed"
        in text
    )
    assert report.version_published is None


def test_summary_lists_sources_tables_rules_privacy_and_timings() -> None:
    text = render_summary(_report())
    lines = text.splitlines()
    assert lines[0] == "privetl run 20260101T000000Z-abcdef: SUCCEEDED"
    assert "  version  2 published to /out" in lines
    assert "    crm     -> customers           200 rows" in lines
    assert "  customers                   310        241" in lines
    assert any(line.split() == ["empty_drop", "customers.gender", "5"] for line in lines)
    assert any(line.split() == ["primary_key_source_priority", "customers", "50"] for line in lines)
    assert "  quarantine 69 rejected record(s) in /r/quarantine.parquet" in lines
    assert (
        "  privacy  customers: k=3, l=2, t=0.3123, reidentification_risk=0.3333, suppressed=14"
        in lines
    )
    assert "  timings  load 0.01s  extract 0.50s  (total 0.51s)" in lines


def test_write_creates_parents_and_records_the_path(tmp_path: Path) -> None:
    report = _report()
    path = report.write(tmp_path / "a" / "b" / "report.json")
    assert json.loads(path.read_text())["report_path"] == str(path)


def test_progress_is_silent_when_not_a_terminal_but_still_times_stages() -> None:
    stream = io.StringIO()
    console = Console(file=stream, force_terminal=False)
    with RunProgress(console=console) as bar:
        with bar.stage("extract"):
            bar.rows(10)
        with bar.stage("publish"):
            pass
    assert stream.getvalue() == ""
    assert list(bar.timings) == ["extract", "publish"]
    assert all(seconds >= 0 for seconds in bar.timings.values())


def test_progress_draws_on_a_terminal() -> None:
    stream = io.StringIO()
    console = Console(file=stream, force_terminal=True, width=100)
    with RunProgress(console=console) as bar, bar.stage("extract"):
        bar.rows(1234)
    assert "rows extracted" in stream.getvalue()
    assert "1,234" in stream.getvalue()


def test_summary_shows_rows_per_source_beside_the_previous_versions() -> None:
    report = _report()
    report.sources = [
        SourceCount("crm", "customers", 200, previous_version=3, previous_rows=200),
        SourceCount("legacy", "customers", 0, previous_version=3, previous_rows=110),
        SourceCount("new", "customers", 5, previous_version=3, previous_rows=None),
    ]
    lines = render_summary(report).splitlines()
    assert "    crm     -> customers           200 rows   previous version 3: 200" in lines
    assert "    legacy  -> customers             0 rows   previous version 3: 110 (-100%)" in lines
    assert "    new     -> customers             5 rows   previous version 3: —" in lines
    first = SourceCount("crm", "customers", 200, previous_version=0)
    report.sources = [first]
    assert "    crm  -> customers           200 rows   previous version —" in render_summary(report).splitlines()
    assert json.loads(report.to_json())["sources"] == [
        {"script_id": "crm", "table": "customers", "rows": 200, "previous_version": 0, "previous_rows": None,
         "undeclared_fields": None}
    ]
