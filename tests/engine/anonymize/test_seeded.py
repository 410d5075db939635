"""Seeded randomness: the keyed hash equals a pure-Python reference of the same arithmetic,
record keys follow the documented rule, and the key never shows (DuckDB)."""

from __future__ import annotations

import hashlib
from typing import Any

import ibis
import pytest

from privetl.engine.anonymize import SeedKey, keyed_hash, record_key, uniform
from privetl.engine.anonymize.seeded import PRIME
from privetl.engine.metadata import Table

KEY = SeedKey.derive(b"secret", 42)
MASK31 = 2**31 - 1
INT64_KEYS = [
    0,
    1,
    -1,
    7,
    123_456_789_012,
    -987_654_321,
    2**31 - 1,
    2**31,
    2**62 + 5,
    2**63 - 1,
    -(2**63),
]


def reference_hash(key: SeedKey, x: int, *purpose: str) -> int:
    """The keyed hash in plain Python ints (two's complement limbs, exact modular arithmetic)."""
    a = key.coefficients(*purpose)
    limb0 = x & MASK31
    limb1 = (x >> 31) & MASK31
    limb2 = (x >> 62) & 3
    h = (a[0] * limb0 + a[1]) % PRIME
    h = (h * a[2] + limb1 * a[3]) % PRIME
    h = (h * a[4] + limb2 * a[5] + a[6]) % PRIME
    h = (h * h) % PRIME
    return (h * a[7] + a[1]) % PRIME


def md5_key(text: str) -> int:
    return int(hashlib.md5(text.encode()).hexdigest()[:15], 16)


def _hashes(backend: Any, key: SeedKey, keys: list[int], *purpose: str) -> list[int]:
    t = ibis.memtable({"k": keys}, schema={"k": "int64"})
    out = backend.con.to_pyarrow(
        t.mutate(h=keyed_hash(key, t.k, *purpose)).order_by("k")
    ).to_pylist()
    by_key = {r["k"]: r["h"] for r in out}
    return [by_key[k] for k in keys]


@pytest.mark.parametrize("purpose", [("age", "perturb", "u1"), ("zip", "permute"), ("x",)])
def test_keyed_hash_equals_the_python_reference(duckdb_backend, purpose: tuple[str, ...]) -> None:
    got = _hashes(duckdb_backend, KEY, INT64_KEYS, *purpose)
    assert got == [reference_hash(KEY, x, *purpose) for x in INT64_KEYS]
    assert all(0 <= h < PRIME for h in got)


def test_keyed_hash_of_null_is_null(duckdb_backend) -> None:
    t = ibis.memtable({"k": [None, 3]}, schema={"k": "int64"})
    out = duckdb_backend.con.to_pyarrow(
        t.mutate(h=keyed_hash(KEY, t.k, "c")).order_by("k")
    ).to_pylist()
    assert out == [{"k": 3, "h": reference_hash(KEY, 3, "c")}, {"k": None, "h": None}]


def test_coefficients_are_secret_residues_per_purpose() -> None:
    a = KEY.coefficients("age", "perturb")
    assert len(a) == 8 and all(1 <= c < PRIME for c in a)
    assert KEY.coefficients("age", "perturb") == a
    assert KEY.coefficients("age", "permute") != a
    assert KEY.coefficients("agep", "erturb") != a  # the separator keeps the parts apart
    assert len(KEY.coefficients("x", count=20)) == 20


def test_same_secret_and_seed_repeat_and_any_change_differs(duckdb_backend) -> None:
    keys = list(range(-25, 25))
    base = _hashes(duckdb_backend, KEY, keys, "c")
    assert _hashes(duckdb_backend, SeedKey.derive(b"secret", 42), keys, "c") == base
    for other in (SeedKey.derive(b"secret", 43), SeedKey.derive(b"Secret", 42)):
        changed = _hashes(duckdb_backend, other, keys, "c")
        assert changed != base
        assert sum(a != b for a, b in zip(changed, base, strict=True)) >= 45
    assert SeedKey.derive(b"secret", 42) == KEY
    assert SeedKey.derive(b"secret", 43).seed == 43


def test_derive_refuses_an_empty_secret() -> None:
    with pytest.raises(ValueError, match="secret is empty"):
        SeedKey.derive(b"", 1)


def test_repr_never_shows_the_key() -> None:
    text = repr(KEY) + str(KEY)
    assert "42" in text
    assert KEY.key.hex() not in text
    assert repr(KEY.key) not in text
    assert str(list(KEY.key)) not in text
    assert "key=" not in text


def test_uniform_is_in_the_open_unit_interval(duckdb_backend) -> None:
    n = 3000
    t = ibis.memtable({"k": list(range(n))}, schema={"k": "int64"})
    out = duckdb_backend.con.to_pyarrow(t.mutate(u=uniform(KEY, t.k, "c", "u"))).to_pylist()
    values = [r["u"] for r in out]
    assert all(0.0 < u < 1.0 for u in values)
    assert abs(sum(values) / n - 0.5) < 0.03
    assert sum(u < 0.25 for u in values) / n == pytest.approx(0.25, abs=0.04)
    for r in out[:50]:
        assert r["u"] == (reference_hash(KEY, r["k"], "c", "u") + 0.5) / PRIME


def _table(pk: dict[str, str] | None, columns: list[tuple[str, str]]) -> Table:
    return Table.model_validate(
        {
            "name": "t",
            "columns": [{"name": n, "type": ty} for n, ty in columns],
            "primary_key": {"column": pk["column"], "on_conflict": "drop_all"} if pk else None,
        }
    )


def test_record_key_of_an_integer_primary_key_is_the_key(duckdb_backend) -> None:
    table = _table({"column": "id"}, [("id", "integer"), ("v", "string")])
    t = ibis.memtable(
        {"id": [5, -3, 2**62 + 5], "v": ["a", "b", "c"]}, schema={"id": "int64", "v": "string"}
    )
    out = duckdb_backend.con.to_pyarrow(t.mutate(r=record_key(t, table))).to_pylist()
    assert sorted((r["id"], r["r"]) for r in out) == sorted((i, i) for i in [5, -3, 2**62 + 5])


def test_record_key_of_a_string_primary_key_is_60_bits_of_md5(duckdb_backend) -> None:
    texts = ["alice", "", "Zoë ü 東京", "0", "a-much-longer-key-with-digits-0123456789"]
    table = _table({"column": "name"}, [("name", "string")])
    t = ibis.memtable({"name": texts}, schema={"name": "string"})
    out = duckdb_backend.con.to_pyarrow(t.mutate(r=record_key(t, table))).to_pylist()
    assert {r["name"]: r["r"] for r in out} == {s: md5_key(s) for s in texts}
    assert all(0 <= r["r"] < 2**60 for r in out)


def test_record_key_of_a_date_primary_key_hashes_its_text(duckdb_backend) -> None:
    import datetime as dtm

    table = _table({"column": "day"}, [("day", "date")])
    t = ibis.memtable({"day": [dtm.date(2024, 2, 29)]}, schema={"day": "date"})
    out = duckdb_backend.con.to_pyarrow(t.mutate(r=record_key(t, table))).to_pylist()
    assert out[0]["r"] == md5_key("2024-02-29")


def test_record_key_without_primary_key_uses_the_staging_identity(duckdb_backend) -> None:
    table = _table(None, [("v", "string")])
    t = ibis.memtable(
        {"v": ["x", "x"], "_src_id": ["s_a", "s_b"], "_src_priority": [0, 1], "_src_row": [0, 17]},
        schema={"v": "string", "_src_id": "string", "_src_priority": "int64", "_src_row": "int64"},
    )
    out = duckdb_backend.con.to_pyarrow(t.mutate(r=record_key(t, table))).to_pylist()
    assert sorted(r["r"] for r in out) == sorted([md5_key("s_a:0"), md5_key("s_b:17")])


def test_record_key_without_any_identity_hashes_the_record(duckdb_backend) -> None:
    table = _table(None, [("a", "string"), ("b", "integer")])
    t = ibis.memtable({"a": ["x", "x", None], "b": [1, 1, 2]}, schema={"a": "string", "b": "int64"})
    out = duckdb_backend.con.to_pyarrow(t.mutate(r=record_key(t, table))).to_pylist()
    by = {(r["a"], r["b"]): r["r"] for r in out}
    assert by[("x", 1)] == md5_key("x\x1f1")
    assert by[(None, 2)] == md5_key("\x00\x1f2")
    assert len({r["r"] for r in out}) == 2  # identical records share their key
