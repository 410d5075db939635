"""Seeded randomness that every engine computes alike, keyed so nobody can recompute it.

DuckDB's and Spark's own ``random()`` take no seed, and their ``hash()`` functions differ
(64-bit vs. 32-bit Murmur). So the per-record randomness of noise and shuffles is a keyed
hash of (secret key, record key, column, purpose) built from plain integer arithmetic:

- the record key becomes one int64 (the primary key itself when it is an integer, else the
  first 60 bits of the MD5 of its text — MD5 is a standard both engines implement alike; it
  only spreads the key, the secrecy comes from the coefficients below);
- the int64 is split into three limbs with bit operations (exact on every engine);
- a polynomial over the limbs with secret coefficients modulo the Mersenne prime 2^31-1,
  then a squaring round. Every product stays below 2^62, so no engine overflows (DuckDB
  raises on int64 overflow; Spark wraps or raises under ANSI mode).

The coefficients come from HMAC-SHA256 of the secret key with the column and purpose, in
Python: without the secret nobody can compute them, so the noise cannot be subtracted and a
shuffle cannot be undone from public values (seed, record keys).

SQL engines compute an expression as often as it is written: squaring an expression writes
it twice, and a uniform used twice (Laplace noise) writes the whole hash four times. So the
pipeline adds its hashes as columns with ``with_keyed_hashes``, in two projections (the
polynomial, then the squaring round over that column): each residue is computed once per
row. ``keyed_hash`` is the same function as one expression, for small inputs.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir

from privetl.engine.metadata import SOURCE_ID, SOURCE_ROW, ColumnType, Table

PRIME = 2**31 - 1
"""Modulus of the keyed hash: products of two residues fit in 62 bits."""
_MASK31 = 2**31 - 1
_HEX = "0123456789abcdef"
_HEX_DIGITS = 15
"""Hex digits of MD5 taken for a non-integer key: 60 bits, a non-negative int64."""


@dataclass(frozen=True)
class SeedKey:
    """The run's secret key for seeded operations: derived from the secret and the seed.

    ``repr`` never shows the key (it must not reach logs or reports).
    """

    key: bytes = field(repr=False)
    seed: int

    @classmethod
    def derive(cls, secret: bytes, seed: int) -> SeedKey:
        """One key per (secret, seed): the same pair repeats a run exactly, a new seed changes it."""
        if not secret:
            raise ValueError("the anonymization secret is empty")
        key = hmac.new(secret, f"privetl-seed:{int(seed)}".encode(), hashlib.sha256).digest()
        return cls(key=key, seed=int(seed))

    def coefficients(self, *purpose: str, count: int = 8) -> list[int]:
        """``count`` secret residues in [1, PRIME-1] for one (column, purpose)."""
        out: list[int] = []
        counter = 0
        label = "\x1f".join(purpose)
        while len(out) < count:
            digest = hmac.new(self.key, f"{label}\x1e{counter}".encode(), hashlib.sha256).digest()
            for i in range(0, len(digest), 4):
                value = int.from_bytes(digest[i : i + 4], "big") % PRIME
                if value and len(out) < count:
                    out.append(value)
            counter += 1
        return out


def record_key(expr: ir.Table, table: Table) -> ir.IntegerValue:
    """One int64 per record that identifies it, computed alike on every engine.

    The primary key when there is one (an integer as it is, other types through the MD5 of
    their text); else the staging identity (source id and row); else the text of the whole
    record (identical records then share their randomness, which is harmless).
    """
    if table.primary_key is not None and table.primary_key.column in expr.columns:
        column = table.column(table.primary_key.column)
        value = expr[column.name]
        if column.type is ColumnType.INTEGER:
            return value.cast(dt.int64)
        return _text_key(value.cast(dt.string))
    if SOURCE_ID in expr.columns and SOURCE_ROW in expr.columns:
        return _text_key(expr[SOURCE_ID].cast(dt.string) + ":" + expr[SOURCE_ROW].cast(dt.string))
    parts = [expr[c].cast(dt.string).fill_null("\x00") for c in expr.columns]
    text = parts[0]
    for part in parts[1:]:
        text = text + "\x1f" + part
    return _text_key(text)


def _text_key(text: ir.StringValue) -> ir.IntegerValue:
    """The first 60 bits of MD5(text) as a non-negative int64, by per-digit arithmetic."""
    digest = text.fill_null("\x00").hexdigest("md5")
    hexdigits = ibis.literal(_HEX)
    value: ir.IntegerValue = ibis.literal(0, type=dt.int64)
    for i in range(_HEX_DIGITS):
        digit = hexdigits.find(digest.substr(i, 1)).cast(dt.int64)
        value = value * 16 + digit
    return value


def _polynomial(key: SeedKey, record: ir.IntegerValue, *purpose: str) -> ir.IntegerValue:
    """The first round of the keyed hash: a polynomial in the record's limbs, mod PRIME."""
    a = [ibis.literal(c, type=dt.int64) for c in key.coefficients(*purpose)]
    x = record.cast(dt.int64)
    limb0 = x & _MASK31
    limb1 = (x >> 31) & _MASK31
    limb2 = (x >> 62) & 3
    h = (a[0] * limb0 + a[1]) % PRIME
    h = (h * a[2] + limb1 * a[3]) % PRIME
    return (h * a[4] + limb2 * a[5] + a[6]) % PRIME


def _square_round(key: SeedKey, h: ir.IntegerValue, *purpose: str) -> ir.IntegerValue:
    """The second round: square the first round's residue, then one more affine step."""
    a = key.coefficients(*purpose)
    return ((h * h) % PRIME * ibis.literal(a[7], type=dt.int64) + ibis.literal(a[1], type=dt.int64)) % PRIME


def keyed_hash(key: SeedKey, record: ir.IntegerValue, *purpose: str) -> ir.IntegerValue:
    """A residue in [0, PRIME) that looks random to anyone without ``key``."""
    return _square_round(key, _polynomial(key, record, *purpose), *purpose)


def with_keyed_hashes(
    t: ir.Table, key: SeedKey, record: str, hashes: dict[str, tuple[str, ...]]
) -> ir.Table:
    """``t`` plus one column per entry of ``hashes`` (name -> purpose): ``keyed_hash`` of
    column ``record`` for that purpose, each round computed once per row (see above)."""
    if not hashes:
        return t
    first = {f"{name}__round1": _polynomial(key, t[record], *purpose) for name, purpose in hashes.items()}
    t = t.mutate(**first)
    t = t.mutate(
        **{name: _square_round(key, t[f"{name}__round1"], *purpose) for name, purpose in hashes.items()}
    )
    return t.drop(*first)


def uniform_of(h: ir.IntegerValue) -> ir.FloatingValue:
    """The keyed hash ``h`` as a float64 in the open interval (0, 1) (see ``uniform``)."""
    return (h.cast(dt.float64) + _f(0.5)) / _f(float(PRIME))


def uniform(key: SeedKey, record: ir.IntegerValue, *purpose: str) -> ir.FloatingValue:
    """A float64 in the open interval (0, 1), uniform, from the keyed hash.

    Every operand is cast to float64 first: Spark SQL reads literals such as ``0.5`` as
    DECIMAL, which would silently change the values.
    """
    return uniform_of(keyed_hash(key, record, *purpose))


def _f(value: float) -> ir.FloatingValue:
    """A float64 literal that stays float64 on Spark."""
    return ibis.literal(value, type=dt.float64).cast(dt.float64)
