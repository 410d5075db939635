"""Property: records written in any text format come back from staging with the same values."""

from __future__ import annotations

import csv
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from privetl.engine.extract import extract_script

from .helpers import PEOPLE, script, staged_rows

TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=20)
JSON_VALUE = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    TEXT,
)
FIELDS = ("id", "name", "score")


def expected_text(value: Any) -> str | None:
    """The staged form: strings as they are, every other JSON value as its JSON text."""
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value)


def stage(directory: Path, source: dict[str, Any]) -> list[dict[str, Any]]:
    staged = extract_script(script(source), PEOPLE, base_dir=directory, staging_dir=directory / "stage")
    rows = staged_rows(staged)
    assert [r.pop("_src_row") for r in rows] == list(range(len(rows)))
    return rows


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.fixed_dictionaries({f: JSON_VALUE for f in FIELDS}), max_size=8))
def test_json_formats_round_trip(records: list[dict[str, Any]]) -> None:
    want = [{f: expected_text(r[f]) for f in FIELDS} for r in records]
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        lines = "".join(json.dumps(r) + "\n" for r in records)
        (directory / "r.jsonl").write_text(lines, encoding="utf-8")
        (directory / "r.json").write_text(json.dumps(records, indent=1), encoding="utf-8")
        assert stage(directory, {"kind": "file", "path": "r.jsonl", "format": "jsonl"}) == want
        assert stage(directory, {"kind": "file", "path": "r.json", "format": "json"}) == want
        command = [sys.executable, "-c", "import sys; sys.stdout.write(open('r.jsonl', encoding='utf-8').read())"]
        assert stage(directory, {"kind": "exec", "command": command}) == want


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.fixed_dictionaries({f: TEXT for f in FIELDS}), max_size=8))
def test_csv_round_trip(records: list[dict[str, str]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        with (directory / "r.csv").open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=FIELDS, quoting=csv.QUOTE_ALL)
            writer.writeheader()
            writer.writerows(records)
        assert stage(directory, {"kind": "file", "path": "r.csv", "format": "csv"}) == records
