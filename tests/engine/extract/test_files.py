"""File sources: CSV, JSON lines, JSON arrays and Parquet staged with raw values and _src_row."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from privetl.engine.errors import ExtractionError
from privetl.engine.extract import check_columns, extract_script
from privetl.engine.extract import files as files_module
from privetl.engine.extract.files import _glob_match, local_pattern, split_s3
from privetl.engine.metadata import Column, ColumnType, SourceScript, Table

from .helpers import PEOPLE, script, staged_rows, write


def run(tmp_path: Path, source: dict, **kwargs):
    return extract_script(
        script(source, **kwargs), PEOPLE, base_dir=tmp_path, staging_dir=tmp_path / "stage"
    )


def test_csv_all_strings_mapping_missing_and_ignored_fields(tmp_path: Path) -> None:
    write(tmp_path / "p.csv", "ident,name,extra\n1,Ann,x\n2,,y\n007,\"Bo, Jr\",z\n")
    seen: list[int] = []
    staged = extract_script(
        script({"kind": "file", "path": "p.csv", "format": "csv"}, mapping={"id": "ident"}, priority=3),
        PEOPLE,
        base_dir=tmp_path,
        staging_dir=tmp_path / "stage",
        on_rows=seen.append,
    )
    assert (staged.script_id, staged.table, staged.priority, staged.rows, staged.native_types) == (
        "src", "people", 3, 3, False,
    )
    assert sum(seen) == 3
    assert pq.read_schema(staged.paths[0]).names == ["id", "name", "score", "_src_row"]
    assert staged_rows(staged) == [
        {"id": "1", "name": "Ann", "score": None, "_src_row": 0},
        {"id": "2", "name": "", "score": None, "_src_row": 1},
        {"id": "007", "name": "Bo, Jr", "score": None, "_src_row": 2},
    ]


def test_jsonl_values_as_json_text(tmp_path: Path) -> None:
    write(
        tmp_path / "p.jsonl",
        '{"id": 3, "name": "Ann", "score": 24.40}\n\n'
        '{"id": true, "name": {"a": [1, 2.50, null]}, "score": null}\n'
        '{"id": "x", "name": [], "other": 1}\n',
    )
    staged = run(tmp_path, {"kind": "file", "path": "p.jsonl", "format": "jsonl"})
    assert staged_rows(staged) == [
        {"id": "3", "name": "Ann", "score": "24.40", "_src_row": 0},
        {"id": "true", "name": '{"a":[1,2.50,null]}', "score": None, "_src_row": 1},
        {"id": "x", "name": "[]", "score": None, "_src_row": 2},
    ]


def test_json_array_streams_elements_across_chunks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(files_module, "JSON_CHUNK_CHARS", 7)  # every element spans several reads
    write(
        tmp_path / "p.json",
        '[\n {"id": 1, "name": "Ann", "score": 1e3},\n {"id": 12345678901234567890, "name": "B\\u00e9"}\n]\n',
    )
    staged = run(tmp_path, {"kind": "file", "path": "p.json", "format": "json"})
    assert staged_rows(staged) == [
        {"id": "1", "name": "Ann", "score": "1e3", "_src_row": 0},
        {"id": "12345678901234567890", "name": "Bé", "score": None, "_src_row": 1},
    ]


def test_empty_json_array_stages_an_empty_string_file(tmp_path: Path) -> None:
    write(tmp_path / "p.json", "[ ]")
    staged = run(tmp_path, {"kind": "file", "path": "p.json", "format": "json"})
    assert staged.rows == 0
    assert pq.read_table(staged.paths[0]).schema == pa.schema(
        [("id", pa.string()), ("name", pa.string()), ("score", pa.string()), ("_src_row", pa.int64())]
    )


def _loaded(backend, staged) -> list[dict]:
    """A staged source as the cleaning stage reads it: declared columns + _src_row, in order."""
    from privetl.engine.clean import load_table

    table = load_table(backend, PEOPLE, [staged])
    rows = backend.con.to_pyarrow(table.select("id", "name", "score", "_src_row")).to_pylist()
    return sorted(rows, key=lambda r: r["_src_row"])


def _extract_parquet(tmp_path: Path, extra: dict[str, list]) -> tuple:
    """Extract p.parquet (pid -> id, score, and ``extra`` fields); the staged source and the
    progress calls."""
    pq.write_table(pa.table({"pid": [1, 2, 3], "score": [0.5, None, 2.0], **extra}), tmp_path / "p.parquet")
    seen: list[int] = []
    staged = extract_script(
        script({"kind": "file", "path": "p.parquet", "format": "parquet"}, mapping={"id": "pid"}),
        PEOPLE,
        base_dir=tmp_path,
        staging_dir=tmp_path / "stage",
        on_rows=seen.append,
    )
    return staged, seen


def test_local_parquet_is_read_in_place_with_native_types_and_mapping(
    tmp_path: Path, duckdb_backend
) -> None:
    staged, seen = _extract_parquet(tmp_path, {"when": [dt.date(2024, 1, 1)] * 3})
    # nothing copied: the source's own file, its rows counted from the footer
    assert (staged.native_types, staged.rows, seen) == (True, 3, [3])
    assert staged.paths == [(tmp_path / "p.parquet").resolve()]
    assert not (tmp_path / "stage").exists() or not any((tmp_path / "stage").iterdir())
    assert staged.in_place is not None
    assert staged.in_place.fields == {"id": "pid", "name": None, "score": "score"}
    assert _loaded(duckdb_backend, staged) == [
        {"id": 1, "name": None, "score": 0.5, "_src_row": 0},
        {"id": 2, "name": None, "score": None, "_src_row": 1},
        {"id": 3, "name": None, "score": 2.0, "_src_row": 2},
    ]


def test_a_parquet_glob_read_in_place_numbers_rows_across_files(tmp_path: Path, duckdb_backend) -> None:
    pq.write_table(pa.table({"id": [10, 11]}), tmp_path / "b.parquet")
    pq.write_table(pa.table({"id": [20, 21, 22]}), tmp_path / "a.parquet")
    staged = run(tmp_path, {"kind": "file", "path": "*.parquet", "format": "parquet"})
    assert staged.in_place is not None and staged.rows == 5
    assert [(r["id"], r["_src_row"]) for r in _loaded(duckdb_backend, staged)] == [
        (20, 0), (21, 1), (22, 2), (10, 3), (11, 4),
    ]


def test_a_source_file_changed_during_the_run_is_refused(tmp_path: Path) -> None:
    from privetl.engine.extract import check_unchanged

    path = tmp_path / "p.parquet"
    pq.write_table(pa.table({"id": [1]}), path)
    staged = run(tmp_path, {"kind": "file", "path": "p.parquet", "format": "parquet"})
    check_unchanged([staged])
    pq.write_table(pa.table({"id": [1, 2]}), path)
    with pytest.raises(ExtractionError, match=r"p\.parquet changed during the run .*nothing was published"):
        check_unchanged([staged])


def test_parquet_with_a_reserved_field_name_is_copied(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("privetl.engine.extract.files.BATCH_ROWS", 2)
    staged, seen = _extract_parquet(tmp_path, {"filename": ["x", "y", "z"]})
    assert (staged.native_types, staged.in_place, seen) == (True, None, [2, 1])
    schema = pq.read_schema(staged.paths[0])
    assert [(f.name, f.type) for f in schema] == [
        ("id", pa.int64()), ("name", pa.string()), ("score", pa.float64()), ("_src_row", pa.int64()),
    ]
    assert staged_rows(staged) == [
        {"id": 1, "name": None, "score": 0.5, "_src_row": 0},
        {"id": 2, "name": None, "score": None, "_src_row": 1},
        {"id": 3, "name": None, "score": 2.0, "_src_row": 2},
    ]


def test_glob_sorted_and_src_row_continues(tmp_path: Path) -> None:
    write(tmp_path / "d" / "b.csv", "id\n3\n")
    write(tmp_path / "d" / "a.csv", "id\n1\n2\n")
    write(tmp_path / "d" / "sub" / "c.csv", "id\n4\n")
    staged = run(tmp_path, {"kind": "file", "path": "d/*.csv", "format": "csv"})
    assert [(r["id"], r["_src_row"]) for r in staged_rows(staged)] == [("1", 0), ("2", 1), ("3", 2)]
    staged = run(tmp_path, {"kind": "file", "path": "d/**/*.csv", "format": "csv"})
    assert [r["id"] for r in staged_rows(staged)] == ["1", "2", "3", "4"]


def test_parquet_glob_with_different_types_stages_one_file_per_schema(tmp_path: Path) -> None:
    pq.write_table(pa.table({"id": pa.array([1], pa.int32())}), tmp_path / "a.parquet")
    pq.write_table(pa.table({"id": pa.array([2], pa.int64())}), tmp_path / "b.parquet")
    staged = run(tmp_path, {"kind": "file", "path": "*.parquet", "format": "parquet"})
    assert len(staged.paths) == 2
    assert staged_rows(staged) == [
        {"id": 1, "name": None, "score": None, "_src_row": 0},
        {"id": 2, "name": None, "score": None, "_src_row": 1},
    ]


def test_missing_file_names_the_resolved_path(tmp_path: Path) -> None:
    with pytest.raises(ExtractionError) as caught:
        run(tmp_path, {"kind": "file", "path": "nope/p.csv", "format": "csv"})
    assert caught.value.script_id == "src"
    assert str(caught.value) == f"extraction script 'src' failed: file not found: {tmp_path.resolve()}/nope/p.csv"
    with pytest.raises(ExtractionError, match=r"no file matches .*/nope/\*\.csv"):
        run(tmp_path, {"kind": "file", "path": "nope/*.csv", "format": "csv"})


def test_bad_jsonl_names_the_line(tmp_path: Path) -> None:
    write(tmp_path / "p.jsonl", '{"id": 1}\n\n{"id": 2,}\n')
    with pytest.raises(ExtractionError, match=r"bad JSON at line 3 of .*p\.jsonl"):
        run(tmp_path, {"kind": "file", "path": "p.jsonl", "format": "jsonl"})
    write(tmp_path / "q.jsonl", '{"id": 1}\n[1]\n')
    with pytest.raises(ExtractionError, match=r"line 2 of .*q\.jsonl is not a JSON object"):
        run(tmp_path, {"kind": "file", "path": "q.jsonl", "format": "jsonl"})


def test_bad_json_array_names_the_line(tmp_path: Path) -> None:
    write(tmp_path / "p.json", '[\n{"id": 1},\n{"id": 2 "name": "x"}\n]')
    with pytest.raises(ExtractionError, match=r"bad JSON at line 3 of .*p\.json: Expecting ','"):
        run(tmp_path, {"kind": "file", "path": "p.json", "format": "json"})
    write(tmp_path / "o.json", '{"records": []}')
    with pytest.raises(ExtractionError, match="is not a JSON array of records"):
        run(tmp_path, {"kind": "file", "path": "o.json", "format": "json"})
    write(tmp_path / "u.json", '[{"id": 1},')
    with pytest.raises(ExtractionError, match="the array is not closed"):
        run(tmp_path, {"kind": "file", "path": "u.json", "format": "json"})


def test_ragged_csv_is_an_extraction_error(tmp_path: Path) -> None:
    write(tmp_path / "p.csv", "id,name\n1,Ann\n2,Bo,extra\n")
    with pytest.raises(ExtractionError, match=r"cannot read csv file .*p\.csv: .*Expected 2 columns, got 3"):
        run(tmp_path, {"kind": "file", "path": "p.csv", "format": "csv"})


def test_path_handling() -> None:
    assert local_pattern("data/x.csv", Path("/m")) == Path("/m/data/x.csv")
    assert local_pattern("/abs/x.csv", Path("/m")) == Path("/abs/x.csv")
    assert split_s3("s3://bucket/dir/x.csv") == ("bucket", "dir/x.csv")
    with pytest.raises(ValueError, match="is not s3://bucket/key"):
        split_s3("s3://bucket")
    assert _glob_match("bucket/d/2024/x.csv", "bucket/d/**/*.csv")
    assert _glob_match("bucket/d/x.csv", "bucket/d/**/*.csv")
    assert not _glob_match("bucket/d/x.json", "bucket/d/*.csv")
    assert not _glob_match("bucket/d/e/x.csv", "bucket/d/*.csv")


def test_text_records_are_staged_in_batches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("privetl.engine.extract.staging.BATCH_ROWS", 2)
    write(tmp_path / "p.jsonl", "".join(f'{{"id": {i}}}\n' for i in range(5)))
    seen: list[int] = []
    staged = extract_script(
        script({"kind": "file", "path": "p.jsonl", "format": "jsonl"}),
        PEOPLE,
        base_dir=tmp_path,
        staging_dir=tmp_path / "stage",
        on_rows=seen.append,
    )
    assert seen == [2, 2, 1]
    assert pq.ParquetFile(staged.paths[0]).metadata.num_row_groups == 3
    assert [(r["id"], r["_src_row"]) for r in staged_rows(staged)] == [(str(i), i) for i in range(5)]


def test_csv_with_a_long_header_and_empty_file(tmp_path: Path) -> None:
    names = [f"c{i}" for i in range(20000)] + ["name"]
    write(tmp_path / "wide.csv", ",".join(names) + "\n" + ",".join(["x"] * 20000 + ["Ann"]) + "\n")
    staged = run(tmp_path, {"kind": "file", "path": "wide.csv", "format": "csv"})
    assert staged_rows(staged) == [{"id": None, "name": "Ann", "score": None, "_src_row": 0}]
    write(tmp_path / "empty.csv", "")
    staged = run(tmp_path, {"kind": "file", "path": "empty.csv", "format": "csv"})
    assert (staged.rows, pq.read_schema(staged.paths[0]).names) == (0, ["id", "name", "score", "_src_row"])


# --- a file that does not fit its declaration is an error, never silent emptiness ----------

ADULT = Table(
    name="adult",
    columns=[
        Column(name="age", type=ColumnType.INTEGER),
        Column(name="marital_status", type=ColumnType.STRING),
        Column(name="native_country", type=ColumnType.STRING),
    ],
)
ADULT_CSV = (
    "age;workclass;marital-status;native-country\r\n"
    "39;State-gov;Never-married;United-States\r\n"
    '50;"Self;emp";Married-civ-spouse;Cuba\r\n'
)
ADULT_MAPPING = {"marital_status": "marital-status", "native_country": "native-country"}


def _adult(tmp_path: Path, csv: dict | None = None, **script_fields) -> tuple[SourceScript, object]:
    (tmp_path / "adult.csv").write_bytes(ADULT_CSV.encode())
    source = {"kind": "file", "path": "adult.csv", "format": "csv", **({"csv": csv} if csv else {})}
    adult = SourceScript.model_validate(
        {"id": "adult", "table": "adult", "mapping": ADULT_MAPPING, "source": source, **script_fields}
    )
    return adult, extract_script(adult, ADULT, base_dir=tmp_path, staging_dir=tmp_path / "stage")


@pytest.mark.parametrize("csv", [None, {"delimiter": ";"}], ids=["sniffed", "given"])
def test_a_semicolon_separated_crlf_csv_is_read_by_its_delimiter(tmp_path: Path, csv: dict | None) -> None:
    adult, staged = _adult(tmp_path, csv)
    assert staged_rows(staged) == [
        {"age": "39", "marital_status": "Never-married", "native_country": "United-States", "_src_row": 0},
        {"age": "50", "marital_status": "Married-civ-spouse", "native_country": "Cuba", "_src_row": 1},
    ]
    assert staged.fields_found == ("age", "workclass", "marital-status", "native-country")
    assert staged.fields_missing == ()
    check_columns(adult, ADULT, staged)


def test_a_header_matching_no_declared_column_fails_naming_what_it_found(tmp_path: Path) -> None:
    adult, staged = _adult(tmp_path, {"delimiter": ","})  # the old reader's mistake, forced
    assert staged.fields_found == ("age;workclass;marital-status;native-country",)
    with pytest.raises(ExtractionError, match=r"'adult' failed: the source has none of the declared columns; "
                       r"it has 'age;workclass;marital-status;native-country'; the delimiter was ','"):
        check_columns(adult, ADULT, staged)


def test_a_declared_column_the_file_lacks_fails_unless_declared_absent(tmp_path: Path) -> None:
    adult, staged = _adult(tmp_path, mapping={"marital_status": "marital-status"})
    assert staged.fields_missing == ("native_country",)
    with pytest.raises(ExtractionError, match=r"lacks declared column\(s\) 'native_country'; it has 'age', 'workclass', "
                       r"'marital-status', 'native-country'\. Map each .*\"absent\".*fields such as 'native-country' "
                       r"are not column names: declare the column as 'native_country' and map it, "
                       r"\"mapping\": \{\"native_country\": \"native-country\"\}"):
        check_columns(adult, ADULT, staged)
    adult, staged = _adult(tmp_path, mapping={"marital_status": "marital-status"}, absent=["native_country"])
    check_columns(adult, ADULT, staged)
    assert {r["native_country"] for r in staged_rows(staged)} == {None}


def test_csv_encoding_quote_and_no_header(tmp_path: Path) -> None:
    (tmp_path / "p.csv").write_bytes("1|'Zoë|Ann'|2.5\n2|Bé|\n".encode("latin-1"))
    source = {"kind": "file", "path": "p.csv", "format": "csv",
              "csv": {"delimiter": "|", "quote": "'", "encoding": "latin-1", "header": False}}
    staged = run(tmp_path, source)
    assert staged_rows(staged) == [
        {"id": "1", "name": "Zoë|Ann", "score": "2.5", "_src_row": 0},
        {"id": "2", "name": "Bé", "score": "", "_src_row": 1},
    ]
    check_columns(script(source), PEOPLE, staged)


def test_parquet_sources_name_their_fields_too(tmp_path: Path) -> None:
    pq.write_table(pa.table({"id": [1], "nom": ["Ann"], "score": [1.0]}), tmp_path / "p.parquet")
    staged = run(tmp_path, {"kind": "file", "path": "p.parquet", "format": "parquet"})
    assert (staged.fields_found, staged.fields_missing) == (("id", "nom", "score"), ("name",))
    with pytest.raises(ExtractionError, match="lacks declared column\\(s\\) 'name'"):
        check_columns(script({"kind": "file", "path": "p.parquet", "format": "parquet"}), PEOPLE, staged)


@pytest.mark.parametrize(
    ("name", "fmt", "text"),
    [
        ("p.jsonl", "jsonl", '{"id": 1, "nom": "A"}\n{"id": 2, "phone": "1", "nom": "B"}\n'),
        ("p.json", "json", '[{"id": 1, "nom": "A"}, {"id": 2, "phone": "1", "nom": "B"}]'),
    ],
    ids=["jsonl", "json"],
)
def test_json_sources_note_the_keys_of_their_records_without_judging_them(
    tmp_path: Path, name: str, fmt: str, text: str
) -> None:
    write(tmp_path / name, text)
    source = {"kind": "file", "path": name, "format": fmt}
    staged = run(tmp_path, source)
    # every key of every record, once, in first-seen order: a field only later records carry counts
    assert staged.record_fields == ("id", "nom", "phone")
    assert (staged.fields_found, staged.fields_missing) == (None, ())
    # check_columns does not judge JSON: 'name' and 'score' are missing, and that stays allowed
    check_columns(script(source), PEOPLE, staged)
    assert staged_rows(staged)[1] == {"id": "2", "name": None, "score": None, "_src_row": 1}


def test_a_json_source_with_no_record_names_no_fields(tmp_path: Path) -> None:
    write(tmp_path / "p.json", "[]")
    assert run(tmp_path, {"kind": "file", "path": "p.json", "format": "json"}).record_fields is None
    write(tmp_path / "p.csv", "id,name\n1,Ann\n")
    assert run(tmp_path, {"kind": "file", "path": "p.csv", "format": "csv"}).record_fields is None
