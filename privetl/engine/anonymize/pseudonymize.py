"""Pseudonymization: an identifier replaced by a keyed token that still joins.

A token is HMAC-SHA256 of the value's text under the *module key*, which is derived (HKDF)
from the anonymization secret and the module id — not from the seed: the seed is public, and
tokens should stay the same from one version of the module to the next (and one seed to the
next), so that a reader can follow a pseudonymous customer across versions; a module of its
own gets other tokens for the same values. The same value gives the same token in every
table, so a primary key and the foreign keys referencing it (both pseudonymized) join after
publication exactly as before.

The HMAC is computed by the engine, in SQL: HMAC is ``H((K ^ opad) || H((K ^ ipad) || m))``,
the two padded keys are computed here and joined to the rows from a one-row table (never
written into the SQL text), and each ``H(prefix || bytes)`` is the
engine's SHA-256 of a constant joined to a text's UTF-8 bytes or to the inner digest
(``Backend.sha256_hex``: DuckDB ``sha256`` of ``encode`` and ``||``, Spark ``sha2`` of
``CAST(_ AS BINARY)`` and ``concat``), the inner digest turned back into bytes by ``unhex``.
Each row costs two SHA-256 calls and no Python: the tables stream through the engine as for
every other rule (``bench/pseudonymize_bench.py`` measures it against a Python UDF).

Tokens: text, the first 32 hex digits of the HMAC (128 bits: for a billion distinct values
the chance of any collision is below 10^-20, so none is looked for); or, with ``keep_type``
on an integer column, an integer in [min, max] (the HMAC's first 60 bits modulo the range).
Integer tokens can collide, so every distinct value of such a column is counted against its
distinct tokens before publishing (``check_collisions``), and a collision fails the run
(``PseudonymCollision``) instead of merging two records.

A value is pseudonymized through its text (``CAST(v AS VARCHAR)``): an integer key and a
foreign key holding the same number get the same token. Nulls stay null.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir
import pyarrow as pa
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from privetl.engine.backends import Backend
from privetl.engine.errors import EngineError, PseudonymCollision
from privetl.engine.metadata import Column, ColumnType, Pseudonymize, Table

TEXT_TOKEN_DIGITS = 32
"""Hex digits of a text token: 128 bits."""
_INT_DIGITS = 15
"""Hex digits of the HMAC read as an integer token: 60 bits, a non-negative int64."""
_HEX = "0123456789abcdef"
_BLOCK = 64
"""SHA-256's block size: HMAC pads its key to it."""
INNER_PAD = "_privetl_hmac_inner_pad"
OUTER_PAD = "_privetl_hmac_outer_pad"


@dataclass(frozen=True)
class PseudonymKey:
    """The module's key for pseudonyms: HKDF-SHA256 of the anonymization secret, with the
    module id as context. ``repr`` never shows the key."""

    key: bytes = field(repr=False)
    module_id: str

    @classmethod
    def derive(cls, secret: bytes, module_id: str) -> PseudonymKey:
        """One key per (secret, module): the seed plays no part (see the module docstring)."""
        if not secret:
            raise ValueError("the anonymization secret is empty")
        key = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=b"privetl-pseudonymize", info=module_id.encode("utf-8")
        ).derive(secret)
        return cls(key=key, module_id=module_id)

    def token(self, value: str) -> str:
        """The text token of ``value``, computed in Python (what the engines compute in SQL)."""
        return hmac.new(self.key, value.encode("utf-8"), "sha256").hexdigest()[:TEXT_TOKEN_DIGITS]

    def integer_token(self, value: str, op: Pseudonymize) -> int:
        """The integer token of ``value`` under ``op``'s range, computed in Python."""
        low, high = op.token_range
        digest = hmac.new(self.key, value.encode("utf-8"), "sha256").hexdigest()
        return int(digest[:_INT_DIGITS], 16) % (high - low + 1) + low

    def pads(self) -> ir.Table:
        """HMAC's padded keys, ``K ^ ipad`` and ``K ^ opad``, as a one-row in-memory table
        (columns ``INNER_PAD``, ``OUTER_PAD``): joined to the rows rather than written into
        the SQL, whose text an engine may quote in an error message or a log — the padded
        keys give the key, and the key lets anyone compute the token of a guessed value."""
        padded = self.key.ljust(_BLOCK, b"\0")
        inner, outer = bytes(b ^ 0x36 for b in padded), bytes(b ^ 0x5C for b in padded)
        return ibis.memtable(
            pa.table({INNER_PAD: pa.array([inner], pa.binary()), OUTER_PAD: pa.array([outer], pa.binary())})
        )


@ibis.udf.scalar.builtin(name="unhex")  # type: ignore[untyped-decorator]
def _unhex(digits: str) -> dt.binary:
    """The bytes ``digits`` spell (DuckDB's and Spark's ``unhex``)."""


def hmac_hex(
    backend: Backend, inner_pad: ir.BinaryValue, outer_pad: ir.BinaryValue, text: ir.StringValue
) -> ir.StringValue:
    """HMAC-SHA256 of ``text`` (its UTF-8 bytes), as 64 lower-case hex digits:
    ``H((K ^ opad) || H((K ^ ipad) || m))`` with the padded keys of ``PseudonymKey.pads``,
    each ``H(prefix || bytes)`` the engine's own (``Backend.sha256_hex``)."""
    inner = backend.sha256_hex(inner_pad, text)
    return backend.sha256_hex(outer_pad, _unhex(inner))


def _hex_int(digits: ir.StringValue, count: int) -> ir.IntegerValue:
    """The first ``count`` hex digits as a non-negative int64, by per-digit arithmetic."""
    alphabet = ibis.literal(_HEX)
    value: ir.IntegerValue = ibis.literal(0, type=dt.int64)
    for i in range(count):
        # Spark's LOCATE is a 32-bit INT that Ibis types int64 (a plain cast is elided): the
        # round trip through int32 makes the sum 64-bit before it passes 2^31.
        value = value * 16 + alphabet.find(digits.substr(i, 1)).cast(dt.int32).cast(dt.int64)
    return value


def _token(value: ir.Value, digest: ir.StringValue, column: Column, op: Pseudonymize) -> ir.Value:
    """The token of ``value`` from its HMAC ``digest`` (null stays null)."""
    if op.keep_type and column.type is ColumnType.INTEGER:
        low, high = op.token_range
        token: ir.Value = _hex_int(digest, _INT_DIGITS) % (high - low + 1) + low
        return ibis.ifelse(value.isnull(), ibis.null(dt.int64), token)
    return ibis.ifelse(value.isnull(), ibis.null(dt.string), digest.substr(0, TEXT_TOKEN_DIGITS))


def with_tokens(
    backend: Backend,
    expr: ir.Table,
    tokens: Mapping[str, tuple[str, Column, Pseudonymize]],
    key: PseudonymKey,
) -> ir.Table:
    """``expr`` with column ``name`` holding the tokens of column ``source`` for every
    ``name: (source, column, rule)`` of ``tokens`` (``name == source`` replaces the values).

    Two projections: the HMACs, then the tokens read from them. An integer token reads its
    digest 15 times, and SQL engines compute an expression as often as it is written; a
    digest stored in a column of its own is computed once per row (as ``seeded.py`` does).
    """
    if not tokens:
        return expr
    keyed = expr.cross_join(key.pads())
    digests = {
        f"_privetl_digest_{name}": hmac_hex(
            backend,
            keyed[INNER_PAD],
            keyed[OUTER_PAD],
            keyed[source] if column.type is ColumnType.STRING else keyed[source].cast(dt.string),
        )
        for name, (source, column, _) in tokens.items()
    }
    t = keyed.mutate(**digests).drop(INNER_PAD, OUTER_PAD)
    t = t.mutate(
        **{
            name: _token(t[source], t[f"_privetl_digest_{name}"], column, op)
            for name, (source, column, op) in tokens.items()
        }
    )
    return t.drop(*digests)


def pseudonymized_columns(table: Table) -> list[tuple[Column, Pseudonymize]]:
    """The columns of ``table`` with a pseudonymize rule, in declared order."""
    return [(c, c.anonymize) for c in table.columns if isinstance(c.anonymize, Pseudonymize)]


def pseudonymize(backend: Backend, expr: ir.Table, table: Table, key: PseudonymKey | None) -> ir.Table:
    """``expr`` with every pseudonymized column of ``table`` replaced by its tokens."""
    rules = [(c, op) for c, op in pseudonymized_columns(table) if c.name in expr.columns]
    if not rules:
        return expr
    if key is None:
        raise EngineError(f"table {table.name!r} pseudonymizes columns, and no module key was given")
    return with_tokens(backend, expr, {c.name: (c.name, c, op) for c, op in rules}, key)


def check_collisions(
    backend: Backend,
    expr: ir.Table,
    table: Table,
    key: PseudonymKey | None,
    *,
    checked_elsewhere: frozenset[str] = frozenset(),
) -> dict[str, int]:
    """Count each integer-token column's distinct values against its distinct tokens (one
    query for all of them); ``PseudonymCollision`` names the column when two values share a
    token. Returns column -> distinct values checked (empty: nothing to check).

    ``expr`` holds the values as cleaned: every value that can be published is among them.
    ``checked_elsewhere``: columns whose values are all among a column already checked (a
    foreign key, cleaned, of a checked key): tokens that do not collide there do not here.
    """
    rules = [
        (c, op)
        for c, op in pseudonymized_columns(table)
        if op.keep_type and c.type is ColumnType.INTEGER and c.name in expr.columns and c.name not in checked_elsewhere
    ]
    if not rules or key is None:
        return {}
    t = with_tokens(
        backend,
        expr.select(*[c.name for c, _ in rules]),
        {f"_privetl_token_{c.name}": (c.name, c, op) for c, op in rules},
        key,
    )
    measures: dict[str, ir.Value] = {}
    for column, _ in rules:
        measures[f"values_{column.name}"] = t[column.name].nunique()
        measures[f"tokens_{column.name}"] = t[f"_privetl_token_{column.name}"].nunique()
    counts = backend.rows(t.aggregate(**measures))[0]
    checked: dict[str, int] = {}
    for column, op in rules:
        values, tokens = int(counts[f"values_{column.name}"] or 0), int(counts[f"tokens_{column.name}"] or 0)
        if tokens < values:
            low, high = op.token_range
            raise PseudonymCollision(
                f"table {table.name!r}, column {column.name!r}: {values:,} distinct values got only {tokens:,} "
                f"distinct integer tokens in [{low}, {high}]: publishing would merge records. Widen the range "
                "(n values in a range of R tokens meet about n^2 / 2R times) or publish text tokens "
                "(keep_type false)"
            )
        checked[column.name] = values
    return checked
