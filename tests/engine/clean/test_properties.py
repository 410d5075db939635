"""Property tests (hypothesis) for the invariants of cleaning (DuckDB).

Random small inputs: a ``parent`` table with an integer primary key fed by two sources of
different priorities, and a ``child`` table whose ``pid`` references ``parent.id``. Raw
values mix valid numbers, out-of-range numbers, nulls, empty and blank strings, text that
does not cast (``abc``, ``1.5`` in an integer column, an int64 overflow), duplicate keys
within and across sources and dangling foreign keys. The rules are drawn too: empty
strategy pass/fill/drop, ranges clamp/drop, on_conflict source_priority/drop_all/regenerate,
merge union/coalesce.

Invariants checked on the cleaned output:

- no value outside a column's range; no empty value in a column whose strategy is fill/drop;
- primary keys unique and non-null; every non-null foreign key present in the parent's output;
- row accounting: staged rows = output rows + quarantine rows of the dropping rules (a
  dropped record takes part in no later rule, so it has exactly one dropping row);
- every output row is a distinct staged row (``_src_id``, ``_src_row``);
- rule counts agree with the quarantine; cleaning the same input twice gives the same output.
"""

from __future__ import annotations

import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from privetl.engine.clean import clean_tables
from tests.engine.clean.staged import module, rows, stage

DROPPING_RULES = frozenset(
    {
        "empty_drop",
        "range_drop",
        "merge_coalesce",  # the record is folded into the one of its key
        "primary_key_empty",
        "primary_key_source_priority",
        "primary_key_drop_all",
        "foreign_key",
    }
)
"""Rules that remove a record from the output (the others change a value or only report)."""

JUNK = ["", "  ", "abc", "1.5", "99999999999999999999", None]
"""Raw values of integer columns that are empty or do not cast."""

SETTINGS = settings(
    max_examples=25,  # ~2 s each (two cleans); CI time is budgeted
    deadline=None,
    derandomize=True,  # the same examples on every run: a failure is reproducible, never flaky
    database=None,
    # No shrinking: one example cleans twice (~0.6 s), so shrinking a failure takes minutes.
    # To shrink one locally, add Phase.shrink here.
    phases=(Phase.explicit, Phase.generate),
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


# --- strategies -----------------------------------------------------------------------------


def _int_raw(low: int, high: int) -> st.SearchStrategy[str | None]:
    """Integer text (sometimes padded or signed) or junk."""
    number = st.integers(low, high).flatmap(
        lambda n: st.sampled_from([str(n), f" {n} ", f"+{n}" if n >= 0 else str(n)])
    )
    return st.one_of(number, number, st.sampled_from(JUNK))


DOUBLE_RAW = st.one_of(
    st.integers(-6, 24).map(lambda n: str(n / 2)),
    st.sampled_from(["1e1", ".5", "-0.25", "", " ", "abc", "1,5", None]),
)
STRING_RAW = st.sampled_from([None, "", " ", "a", "b", "abc", " x "])
KEY_RAW = _int_raw(0, 6)  # a small key space: duplicates within and across sources
FK_RAW = _int_raw(0, 9)  # keys 7-9 never exist in the parent: dangling
INT_RAW = _int_raw(-4, 14)


@st.composite
def _empty_rule(draw: st.DrawFn, kind: str) -> dict[str, Any]:
    strategy = draw(st.sampled_from(["pass", "fill", "drop"]))
    if strategy != "fill":
        return {"strategy": strategy}
    value: Any
    if kind == "integer":
        value = draw(st.integers(-5, 12))
    elif kind == "double":
        value = draw(st.integers(-10, 24)) / 2
    else:
        value = draw(st.sampled_from(["n/a", "x"]))
    return {"strategy": "fill", "value": value}


@st.composite
def _range_rule(draw: st.DrawFn, kind: str) -> dict[str, Any] | None:
    if kind == "string" or draw(st.booleans()):
        return None
    scale = 2 if kind == "double" else 1
    low = draw(st.none() | st.integers(-4, 8))
    high = draw(st.none() | st.integers(low if low is not None else -4, 12))
    if low is None and high is None:
        low = 0
    rule: dict[str, Any] = {"on_violation": draw(st.sampled_from(["drop", "clamp"]))}
    if low is not None:
        rule["min"] = low / scale if scale != 1 else low
    if high is not None:
        rule["max"] = high / scale if scale != 1 else high
    return rule


@st.composite
def _column(draw: st.DrawFn, name: str, kind: str) -> dict[str, Any]:
    column: dict[str, Any] = {"name": name, "type": kind, "empty": draw(_empty_rule(kind))}
    rng = draw(_range_rule(kind))
    if rng is not None:
        column["range"] = rng
    return column


def _values(draw: st.DrawFn, n: int, raw: st.SearchStrategy[Any]) -> list[Any]:
    return draw(st.lists(raw, min_size=n, max_size=n))


@st.composite
def scenarios(draw: st.DrawFn) -> dict[str, Any]:
    """A module (parent + child) and the raw columns of its three sources."""
    on_conflict = st.sampled_from(["source_priority", "drop_all", "regenerate"])
    parent = {
        "name": "parent",
        "columns": [
            draw(_column("id", "integer")),
            draw(_column("age", "integer")),
            draw(_column("score", "double")),
            draw(_column("label", "string")),
        ],
        "primary_key": {"column": "id", "on_conflict": draw(on_conflict)},
        "merge": draw(st.sampled_from(["union", "coalesce"])),
    }
    child: dict[str, Any] = {
        "name": "child",
        "columns": [
            draw(_column("cid", "integer")),
            draw(_column("pid", "integer")),
            draw(_column("qty", "integer")),
        ],
        "foreign_keys": [
            {"column": "pid", "references_table": "parent", "references_column": "id"}
        ],
    }
    if draw(st.booleans()):
        child["primary_key"] = {"column": "cid", "on_conflict": draw(on_conflict)}
    for table in (parent, child):
        # `privetl validate` refuses a maximum on a regenerated key (new keys go above the
        # largest one): such a module never reaches cleaning
        key = table.get("primary_key")
        if key and key["on_conflict"] == "regenerate":
            for column in table["columns"]:
                if column["name"] == key["column"] and "range" in column:
                    column["range"].pop("max", None)
                    if "min" not in column["range"]:
                        del column["range"]
    low = draw(st.integers(-2, 3))
    high = low + draw(st.integers(1, 3))
    tables = (
        [child, parent] if draw(st.booleans()) else [parent, child]
    )  # dependency order, not declared order

    def parent_source() -> dict[str, list[Any]]:
        n = draw(st.integers(0, 6))
        if draw(st.integers(0, 3)) == 0:  # a typed source (native int64): the other may be text
            ints = st.none() | st.integers(-4, 14)
            return {
                "id": _values(draw, n, st.none() | st.integers(0, 6)),
                "age": _values(draw, n, ints),
                "score": _values(draw, n, DOUBLE_RAW),
                "label": _values(draw, n, STRING_RAW),
            }
        return {
            "id": _values(draw, n, KEY_RAW),
            "age": _values(draw, n, INT_RAW),
            "score": _values(draw, n, DOUBLE_RAW),
            "label": _values(draw, n, STRING_RAW),
        }

    n_child = draw(st.integers(0, 8))
    return {
        "tables": tables,
        "priorities": {"p_lo": low, "p_hi": high},
        "sources": {
            "p_lo": parent_source(),
            "p_hi": parent_source(),
            "c": {
                "cid": _values(draw, n_child, _int_raw(0, 5)),
                "pid": _values(draw, n_child, FK_RAW),
                "qty": _values(draw, n_child, INT_RAW),
            },
        },
    }


# --- the property ---------------------------------------------------------------------------


def _is_empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value.strip() == "")


def _clean(backend: Any, scenario: dict[str, Any], directory: Path) -> tuple[dict[str, int], Any]:
    prio = scenario["priorities"]
    mod = module(
        scenario["tables"],
        scripts=[
            ("p_lo", "parent", prio["p_lo"]),
            ("p_hi", "parent", prio["p_hi"]),
            ("c", "child", 0),
        ],
    )
    staged = [
        stage(
            directory, sid, "child" if sid == "c" else "parent", columns, priority=prio.get(sid, 0)
        )
        for sid, columns in scenario["sources"].items()
    ]
    inputs = Counter({"parent": 0, "child": 0})
    for s in staged:
        inputs[s.table] += s.rows
    return dict(inputs), clean_tables(backend, mod, staged)


def _check_rules(table: dict[str, Any], out: list[dict[str, Any]]) -> None:
    for column in table["columns"]:
        name = column["name"]
        values = [r[name] for r in out]
        if column["empty"]["strategy"] in ("fill", "drop"):
            assert not any(_is_empty(v) for v in values), (name, column["empty"], values)
        rng = column.get("range")
        if rng is not None:
            low, high = rng.get("min"), rng.get("max")
            outside = [
                v
                for v in values
                if v is not None
                and ((low is not None and v < low) or (high is not None and v > high))
            ]
            assert not outside, (name, rng, outside)


@SETTINGS
@given(scenario=scenarios())
def test_cleaned_output_satisfies_every_rule_and_accounts_for_every_row(
    duckdb_backend, scenario: dict[str, Any]
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        inputs, result = _clean(duckdb_backend, scenario, Path(tmp))
        out = {
            name: rows(duckdb_backend, expr, drop_stage=False)
            for name, expr in result.tables.items()
        }
        quarantine = (
            rows(duckdb_backend, result.quarantine) if result.quarantine is not None else []
        )
        # determinism: the same input cleaned again (a new run, new intermediate tables)
        _, again = _clean(duckdb_backend, scenario, Path(tmp))
        out_again = {
            name: rows(duckdb_backend, expr, drop_stage=False)
            for name, expr in again.tables.items()
        }
        quarantine_again = (
            rows(duckdb_backend, again.quarantine) if again.quarantine is not None else []
        )

    assert out == out_again
    assert quarantine == quarantine_again
    assert result.counts == again.counts

    tables = {t["name"]: t for t in scenario["tables"]}
    assert set(out) == set(tables)
    for name, table in tables.items():
        _check_rules(table, out[name])

        # every output row is one staged row, at most once
        identities = [(r["_src_id"], r["_src_row"]) for r in out[name]]
        assert len(identities) == len(set(identities))

        # primary key unique and non-null
        if "primary_key" in table:
            keys = [r[table["primary_key"]["column"]] for r in out[name]]
            assert None not in keys
            assert len(keys) == len(set(keys)), Counter(keys).most_common(3)

        # accounting: each dropped record has exactly one quarantine row of a dropping rule
        dropped = sum(1 for q in quarantine if q["table"] == name and q["rule"] in DROPPING_RULES)
        assert inputs[name] == len(out[name]) + dropped, (
            name,
            inputs[name],
            len(out[name]),
            dropped,
        )

    # every foreign key resolves against the parent's cleaned output
    parent_keys = {r["id"] for r in out["parent"]}
    dangling = [
        r["pid"] for r in out["child"] if r["pid"] is not None and r["pid"] not in parent_keys
    ]
    assert not dangling, dangling

    # rule counts are the quarantine's tally; every quarantine row names a known rule
    tally = Counter((q["table"], q["rule"], q["column"]) for q in quarantine)
    assert {(c.table, c.rule, c.column): c.rows_affected for c in result.counts} == dict(tally)
    known = DROPPING_RULES | {"cast", "empty_fill", "range_clamp", "primary_key_regenerate"}
    assert {q["rule"] for q in quarantine} <= known
