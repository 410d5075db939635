"""The outbox's guard on a Data-Manager's edits: a value that looks like personal data in a
published column with no anonymization rule is refused, naming the column and the pattern
and changing nothing; a public column, a column with a rule and ordinary values pass."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from privetl.engine.metadata import ColumnType, DataModule
from privetl.engine.outbox import RecordChange, RecordChangeError, edit_records
from privetl.engine.personal_data import value_patterns

MODULE = DataModule.model_validate(
    {
        "id": "people",
        "name": "people",
        "tables": [
            {
                "name": "people",
                "primary_key": {"column": "id", "on_conflict": "source_priority"},
                "columns": [
                    {"name": "id", "type": "integer"},
                    {"name": "note", "type": "string"},
                    {"name": "support", "type": "string", "public": True},
                    {"name": "email", "type": "string", "anonymize": {"op": "suppress"}},
                    {"name": "visits", "type": "integer"},
                ],
            }
        ],
        "collection_protocol": [
            {
                "id": "p",
                "table": "people",
                "source": {"kind": "file", "path": "people.parquet", "format": "parquet"},
            }
        ],
    }
)
ROWS = {
    "id": [1, 2, 3],
    "note": ["fine", "late", None],
    "support": ["help@shop.example"] * 3,
    "email": ["***"] * 3,
    "visits": [3, 5, 8],
}


@pytest.fixture
def output(tmp_path: Path) -> Path:
    path = tmp_path / "people.parquet"
    pq.write_table(pa.table(ROWS), path)
    return path


def _edit(output: Path, *changes: RecordChange) -> Path:
    out = output.with_name("edited.parquet")
    edit_records(MODULE, "people", output, out, changes)
    return out


def test_value_patterns_tests_one_value_against_its_columns_patterns() -> None:
    assert value_patterns("write to dan@example.org", ColumnType.STRING) == ["e-mail address"]
    assert value_patterns("DE89 3704 0044 0532 0130 00", ColumnType.STRING) == ["IBAN"]
    assert value_patterns("4111111111111111", ColumnType.INTEGER)[0] == "payment card number"
    assert value_patterns("192.168.1.20", ColumnType.INTEGER) == []  # not scanned in integers
    assert value_patterns("Dan Olsen", ColumnType.STRING) == []
    assert value_patterns("dan@example.org", ColumnType.DATE) == []


@pytest.mark.parametrize(
    ("change", "column", "pattern"),
    [
        (RecordChange("edit", "2", {"note": "write to dan@example.org"}), "note", "e-mail address"),
        (RecordChange("edit", "1", {"note": "+49 30 901820"}), "note", "phone number"),
        (
            RecordChange("edit", "3", {"visits": "4111111111111111"}),
            "visits",
            "payment card number",
        ),
        (
            RecordChange(
                "add",
                values={
                    "id": 4,
                    "note": "DE89 3704 0044 0532 0130 00",
                    "support": "x",
                    "email": "***",
                    "visits": 1,
                },
            ),
            "note",
            "IBAN",
        ),
    ],
    ids=["edit-email", "edit-phone", "edit-card-in-integer", "add-iban"],
)
def test_a_personal_value_in_an_unprotected_column_is_refused_and_nothing_changes(
    output: Path, change: RecordChange, column: str, pattern: str
) -> None:
    fine = RecordChange("edit", "1", {"visits": 4})  # applied first, then undone with the rest
    with pytest.raises(RecordChangeError) as refused:
        _edit(output, fine, change)
    message = str(refused.value)
    assert message.startswith(f"change 2 ({change.kind} ")
    assert f"): {column} is given a value matching the pattern {pattern!r}" in message
    assert f"people.{column} has no anonymization rule" in message
    assert '"privetl:public": true' in message
    assert str(next(iter(v for k, v in change.values.items() if k == column))) not in message
    assert not output.with_name("edited.parquet").exists()
    assert pq.read_table(output).to_pydict() == ROWS


def test_public_and_protected_columns_and_ordinary_values_pass(output: Path) -> None:
    out = _edit(
        output,
        RecordChange("edit", "1", {"support": "sales@shop.example"}),  # "privetl:public": true
        RecordChange("edit", "2", {"email": "rosa@example.org"}),  # has a rule
        RecordChange("edit", "3", {"note": "called back on 2024-01-31", "visits": 123}),
        RecordChange("edit", "2", {"note": None}),
    )
    rows: dict[str, Any] = pq.read_table(out).to_pydict()
    assert rows["support"][0] == "sales@shop.example" and rows["email"][1] == "rosa@example.org"
    assert rows["note"] == ["fine", None, "called back on 2024-01-31"] and rows["visits"][2] == 123


def test_one_value_is_not_refused_for_passing_a_national_identifiers_check_digits() -> None:
    # 111222333 is a valid Dutch BSN (and a plausible id or amount): one such value is no
    # evidence, where half a sampled column of them is; the written SSN form is
    assert value_patterns("111222333", ColumnType.INTEGER) == []
    assert value_patterns("111222333", ColumnType.STRING) == []
    assert value_patterns("123-45-6789", ColumnType.STRING) == ["national identifier"]
