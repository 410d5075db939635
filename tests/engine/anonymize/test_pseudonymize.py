"""Pseudonyms: the same token for the same value (in every table), keyed by the secret and the
module, HMAC-SHA256 as Python computes it, integer tokens in their range, collisions failing
the run, and every order still finding its customer in the published sample module."""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

import ibis
import pytest

from privetl.demo.engine_job import copy_sample_module
from privetl.engine.anonymize import PseudonymKey, SeedKey, anonymize_table, check_collisions
from privetl.engine.anonymize.pseudonymize import TEXT_TOKEN_DIGITS
from privetl.engine.backends import Backend
from privetl.engine.errors import PseudonymCollision
from privetl.engine.metadata import Pseudonymize, Table
from privetl.engine.publish import read_table
from privetl.engine.runner import run_module
from privetl.engine.validate import validate_document

SEED_KEY = SeedKey.derive(b"secret", 42)
KEY = PseudonymKey.derive(b"secret", "customers")


_TYPES = {"string": "string", "int64": "integer"}


def _table(rule: dict[str, Any], column_type: str = "string") -> Table:
    return Table.model_validate(
        {
            "name": "t",
            "columns": [{"name": "id", "type": "integer"}, {"name": "v", "type": _TYPES[column_type], "anonymize": rule}],
            "primary_key": {"column": "id", "on_conflict": "drop_all"},
        }
    )


def _tokens(backend: Backend, values: list[Any], rule: dict[str, Any], *, column_type: str = "string",
            key: PseudonymKey = KEY) -> list[Any]:
    data = {"id": list(range(len(values))), "v": values}
    expr = ibis.memtable(data, schema={"id": "int64", "v": column_type})
    out = anonymize_table(backend, expr, _table(rule, column_type), key=SEED_KEY, pseudonyms=key)["t"]
    rows = sorted(backend.rows(out), key=lambda r: r["id"])
    return [r["v"] for r in rows]


def test_a_token_is_the_hmac_of_the_value_under_the_module_key(duckdb_backend: Backend) -> None:
    values = ["alice@example.org", "bob", "é ü 漢字", "", None, "alice@example.org"]
    tokens = _tokens(duckdb_backend, values, {"op": "pseudonymize"})
    expected = [
        None if v is None else hmac.new(KEY.key, v.encode(), hashlib.sha256).hexdigest()[:TEXT_TOKEN_DIGITS]
        for v in values
    ]
    assert tokens == expected
    assert tokens[0] == tokens[5] and len(set(tokens[:4])) == 4  # deterministic, distinct values apart
    assert all(t is None or len(t) == 32 for t in tokens)


def test_tokens_are_keyed_by_the_secret_and_the_module_not_the_seed(duckdb_backend: Backend) -> None:
    values = ["a", "b", "c"]
    same = _tokens(duckdb_backend, values, {"op": "pseudonymize"}, key=PseudonymKey.derive(b"secret", "customers"))
    assert same == _tokens(duckdb_backend, values, {"op": "pseudonymize"})
    other_secret = _tokens(duckdb_backend, values, {"op": "pseudonymize"}, key=PseudonymKey.derive(b"other", "customers"))
    other_module = _tokens(duckdb_backend, values, {"op": "pseudonymize"}, key=PseudonymKey.derive(b"secret", "shop"))
    assert not set(same) & set(other_secret) and not set(same) & set(other_module)
    assert KEY.key.hex() not in repr(KEY) and str(KEY.key) not in repr(KEY)  # the key never reaches a log


def test_the_key_is_never_written_into_the_sql(duckdb_backend: Backend) -> None:
    """Engines quote their SQL in errors and logs: the padded keys come from a joined table."""
    expr = ibis.memtable({"id": [1], "v": ["a"]}, schema={"id": "int64", "v": "string"})
    out = anonymize_table(duckdb_backend, expr, _table({"op": "pseudonymize"}), key=SEED_KEY, pseudonyms=KEY)["t"]
    sql = duckdb_backend.compile(out).lower()
    padded = KEY.key.ljust(64, b"\0")
    for secret in (KEY.key, bytes(b ^ 0x36 for b in padded), bytes(b ^ 0x5C for b in padded)):
        assert secret.hex() not in sql and secret.hex()[:16] not in sql
    assert "sha256" in sql


def test_integer_tokens_keep_the_type_within_the_range(duckdb_backend: Backend) -> None:
    rule = {"op": "pseudonymize", "keep_type": True, "min": 100_000, "max": 999_999}
    values = [1, 2, 3, 1, None, 250]
    tokens = _tokens(duckdb_backend, values, rule, column_type="int64")
    op = Pseudonymize.model_validate(rule)
    assert tokens == [None if v is None else KEY.integer_token(str(v), op) for v in values]
    assert all(isinstance(t, int) and 100_000 <= t <= 999_999 for t in tokens if t is not None)
    assert tokens[0] == tokens[3] and len({tokens[0], tokens[1], tokens[2], tokens[5]}) == 4
    # without keep_type an integer column publishes text tokens, the same as its text's
    assert _tokens(duckdb_backend, [7], {"op": "pseudonymize"}, column_type="int64") == [KEY.token("7")]


def test_a_collision_of_integer_tokens_fails_instead_of_merging_records(duckdb_backend: Backend) -> None:
    table = _table({"op": "pseudonymize", "keep_type": True, "min": 1, "max": 50}, "int64")
    expr = ibis.memtable({"id": list(range(40)), "v": list(range(40))}, schema={"id": "int64", "v": "int64"})
    with pytest.raises(PseudonymCollision, match=r"column 'v': 40 distinct values got only \d+ distinct integer tokens in \[1, 50\]"):
        check_collisions(duckdb_backend, expr, table, KEY)
    wide = _table({"op": "pseudonymize", "keep_type": True}, "int64")
    assert check_collisions(duckdb_backend, expr, wide, KEY) == {"v": 40}
    assert check_collisions(duckdb_backend, expr, table, KEY, checked_elsewhere=frozenset({"v"})) == {}


def test_validate_keeps_keys_and_foreign_keys_pseudonymized_alike(tmp_path: Path) -> None:
    doc = json.loads(copy_sample_module(tmp_path / "module").read_text())
    fields = {f["@id"]: f for rs in doc["recordSet"] for f in rs["field"]}
    fields["customers/id"]["privetl:anonymize"] = {"op": "pseudonymize", "keep_type": True}
    problems = [str(p) for p in validate_document(doc)]
    assert any("customers.id is pseudonymized but orders.customer_id, which joins it, is not" in p for p in problems)
    fields["orders/customer_id"]["privetl:anonymize"] = {"op": "pseudonymize"}
    assert any("pseudonymized with different options" in str(p) for p in validate_document(doc))
    fields["orders/customer_id"]["privetl:anonymize"] = {"op": "pseudonymize", "keep_type": True}
    fields["customers/birth_date"]["privetl:anonymize"] = {"op": "pseudonymize"}
    fields["customers/name"]["privetl:anonymize"] = {"op": "pseudonymize", "keep_type": True}
    problems = [str(p) for p in validate_document(doc)]
    assert len(problems) == 2, problems
    assert any("pseudonymize applies to identifiers, string and integer columns; 'birth_date' is a date column" in p
               for p in problems)
    assert any("keep_type gives integer tokens to integer columns; 'name' is a string column" in p for p in problems)


def test_every_order_still_finds_its_customer_in_the_published_sample(tmp_path: Path) -> None:
    module = copy_sample_module(tmp_path / "module")
    doc = json.loads(module.read_text())
    fields = {f["@id"]: f for rs in doc["recordSet"] for f in rs["field"]}
    for field_id in ("customers/id", "orders/customer_id"):
        fields[field_id]["privetl:anonymize"] = {"op": "pseudonymize", "keep_type": True}
    fields["customers/email"]["privetl:anonymize"] = {"op": "pseudonymize"}
    # a transformation makes the foreign-key re-check after privacy read the customers'
    # published (tokenized) ids instead of the suppressed raw ones
    doc["privetl:transformations"] = [{"name": "same", "type": "update", "target": "orders", "sql": "SELECT * FROM orders"}]
    module.write_text(json.dumps(doc))
    report = run_module(module, out=tmp_path / "out", report_dir=tmp_path / "report", progress=False, secret=b"s")
    assert report.status == "succeeded", report.error
    # the records the sample publishes without pseudonyms (test_runner): none dropped, none merged
    assert [(t.table, t.rows_out) for t in report.tables] == [("customers", 242), ("orders", 340)]
    customers = read_table(tmp_path / "out", "customers").to_pylist()
    orders = read_table(tmp_path / "out", "orders").to_pylist()
    key = PseudonymKey.derive(b"s", "customers")
    op = Pseudonymize(keep_type=True)
    ids = {r["id"] for r in customers}
    assert len(ids) == 242 and ids <= {key.integer_token(str(i), op) for i in range(1, 261)}  # the sources' ids
    assert orders and all(o["customer_id"] in ids for o in orders)
    assert all(isinstance(r["email"], str) and len(r["email"]) == 32 for r in customers if r["email"] is not None)
    published = json.loads((tmp_path / "out" / "metadata.json").read_text())
    types = {f["@id"]: f["dataType"] for rs in published["recordSet"] for f in rs["field"]}
    assert types["customers/id"] == types["orders/customer_id"] == "sc:Integer" and types["customers/email"] == "sc:Text"


@pytest.mark.spark
@pytest.mark.slow
def test_spark_computes_the_same_tokens_as_duckdb(duckdb_backend: Backend, spark_backend: Backend) -> None:
    rule = {"op": "pseudonymize", "keep_type": True, "min": 1000, "max": 10**15}
    table = Table.model_validate(
        {
            "name": "t",
            "columns": [
                {"name": "id", "type": "integer"},
                {"name": "s", "type": "string", "anonymize": {"op": "pseudonymize"}},
                {"name": "n", "type": "integer", "anonymize": rule},
            ],
            "primary_key": {"column": "id", "on_conflict": "drop_all"},
        }
    )
    data = {"id": [0, 1, 2], "s": ["alice@example.org", "é ü 漢字", "12"], "n": [1, 2, 10**12]}
    expected = [
        {"id": i, "s": KEY.token(s), "n": KEY.integer_token(str(n), Pseudonymize.model_validate(rule))}
        for i, s, n in zip(data["id"], data["s"], data["n"], strict=True)
    ]
    for backend in (duckdb_backend, spark_backend):
        expr = ibis.memtable(data, schema={"id": "int64", "s": "string", "n": "int64"})
        out = anonymize_table(backend, expr, table, key=SEED_KEY, pseudonyms=KEY)["t"]
        assert sorted(backend.rows(out), key=lambda r: r["id"]) == expected, backend.name
